//! A storage engine the backend tests start for themselves: a child
//! process on a free loopback port, killed when dropped.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running local server.
pub struct LocalServer {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl LocalServer {
    /// Runs `command` (which must listen on `port`) and waits up to
    /// `patience` until it accepts connections; `missing` says how to
    /// install it if it cannot be run.
    pub async fn start(mut command: Command, port: u16, patience: Duration, missing: &str) -> Self {
        let child = command.stdout(Stdio::null()).spawn().expect(missing);
        let server = LocalServer { child, port };
        let step = Duration::from_millis(10);
        for _ in 0..(patience.as_millis() / step.as_millis()) {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(step).await;
        }
        panic!("{command:?} did not start listening on port {port}");
    }
}

/// A throwaway `redis-server` on a free port, with no persistence; `missing`
/// says how to install it.
pub async fn redis(missing: &str) -> LocalServer {
    let port = free_port();
    let mut command = Command::new("redis-server");
    command.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]);
    LocalServer::start(command, port, Duration::from_secs(2), missing).await
}

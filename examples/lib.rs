//! Runnable examples of pmcp-tasks; see `quickstart.rs`. This library only
//! holds what the benchmark examples share.

/// Pieces the `bench_*` examples share.
pub mod bench {
    use chrono::Utc;
    use pmcp_tasks::clock::SystemClock;
    use pmcp_tasks::domain::{TaskOutcome, TaskRecord};
    use pmcp_tasks::store::{self, OwnerQuota, TaskStore};
    use serde_json::json;
    use std::sync::Arc;

    /// One task's life on one of our stores, as a server drives it: create
    /// `record`, complete it with a result, get it, and get it again for
    /// its result (`tasks/result` reads the record again).
    pub async fn lifecycle(store: &dyn TaskStore, record: TaskRecord) {
        let owner = record.owner.clone();
        let t = create_finished(store, record).await;
        let got = store.get(&owner, &t.id, Utc::now()).await.unwrap();
        assert!(got.status.is_terminal());
        let got = store.get(&owner, &t.id, Utc::now()).await.unwrap();
        assert!(got.outcome().is_some());
    }

    /// Creates `record` and completes it with a small result (one text
    /// content); returns it as created.
    pub async fn create_finished(store: &dyn TaskStore, record: TaskRecord) -> Arc<TaskRecord> {
        let owner = record.owner.clone();
        let t = store
            .create(record, OwnerQuota::unlimited(), Utc::now())
            .await
            .unwrap();
        store::update(store, &SystemClock, &owner, &t.id, |r, now| {
            r.finish(
                TaskOutcome::result(json!({"content": [{"type": "text", "text": "done"}]})),
                now,
            )
        })
        .await
        .unwrap();
        t
    }

    /// `n` rounded, with a space between thousands: `1234567` → `1 234 567`.
    pub fn thousands(n: f64) -> String {
        let s = format!("{:.0}", n);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }

    /// Engines the benchmarks start for themselves on loopback.
    pub mod servers {
        use std::net::TcpListener as StdListener;
        use std::path::PathBuf;
        use std::process::{Child, Command, Stdio};
        use std::time::{Duration, Instant};
        use tokio::net::TcpStream;

        /// A child process killed when this goes out of scope.
        pub struct Server {
            name: &'static str,
            child: Child,
        }

        impl Drop for Server {
            fn drop(&mut self) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                eprintln!("(stopped {})", self.name);
            }
        }

        pub fn free_port() -> u16 {
            StdListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("no free loopback port")
        }

        async fn wait_for_port(port: u16, child: &mut Child) -> Result<(), String> {
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("exited at start-up ({status})"));
                }
                if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err("did not accept connections within 15 s".into())
        }

        async fn start(
            name: &'static str,
            command: &mut Command,
            port: u16,
        ) -> Result<Server, String> {
            let child = command
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start {name}: {e}"))?;
            let mut server = Server { name, child };
            wait_for_port(port, &mut server.child)
                .await
                .map_err(|e| format!("{name} {e}"))?;
            Ok(server)
        }

        pub async fn start_redis() -> Result<(Server, u16), String> {
            let port = free_port();
            let server = start(
                "redis-server",
                Command::new("redis-server").args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ]),
                port,
            )
            .await?;
            Ok((server, port))
        }

        pub async fn start_dynalite() -> Result<(Server, u16), String> {
            let cli = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../client-tests/node_modules/dynalite/cli.js");
            if !cli.exists() {
                return Err(
                    "dynalite is not installed (npm install in client-tests/, which ./scripts/test-all.sh does)"
                        .into(),
                );
            }
            let port = free_port();
            let server = start(
                "dynalite",
                Command::new("node").arg(cli).args([
                    "--port",
                    &port.to_string(),
                    "--host",
                    "127.0.0.1",
                    "--createTableMs",
                    "0",
                ]),
                port,
            )
            .await?;
            Ok((server, port))
        }
    }
}

//! Starting a server binary on a free loopback port, waiting until it says
//! it listens, reading its CPU time from /proc, and stopping it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Server {
    child: Child,
    pub pid: u32,
    pub url: String,
}

/// A port free right now on 127.0.0.1. turul binds the port itself (it
/// cannot be handed a listener or port 0), so every server is given one.
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

impl Server {
    /// Starts `binary --port P ARGS..` and waits (up to 60 s) for the line
    /// `listening on 127.0.0.1:P` on its stderr.
    pub async fn start(binary: &Path, args: &[String]) -> Result<Server, String> {
        let port = free_port()?;
        let mut child = Command::new(binary)
            .arg("--port")
            .arg(port.to_string())
            .args(args)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let pid = child.id().ok_or("the server exited at once")?;
        let mut lines = BufReader::new(child.stderr.take().ok_or("no stderr")?).lines();
        let mut said = Vec::new();
        let ready = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("listening on") {
                    return true;
                }
                said.push(line);
            }
            false
        })
        .await;
        if ready != Ok(true) {
            let _ = child.kill().await;
            let tail: Vec<_> = said.iter().rev().take(5).rev().cloned().collect();
            return Err(format!("{} never said it listens: {}", binary.display(), tail.join(" | ")));
        }
        // Keep draining its stderr so that the server never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { child, pid, url: format!("http://127.0.0.1:{port}/mcp") })
    }

    /// User plus system CPU time the server has used so far, in seconds.
    pub fn cpu_seconds(&self) -> Result<f64, String> {
        cpu_seconds_of(&format!("/proc/{}/stat", self.pid))
    }

    /// SIGTERM, then SIGKILL if it has not ended within two seconds.
    pub async fn stop(mut self) {
        // SAFETY: kill(2) on the pid of a child this process started and
        // has not reaped yet.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

/// This driver's own CPU time so far, in seconds (to see when the client,
/// on the same two cores, is the bottleneck).
pub fn own_cpu_seconds() -> Result<f64, String> {
    cpu_seconds_of("/proc/self/stat")
}

/// CPU time so far of this process's threads named `name` (from
/// /proc/self/task/TID/stat; the name is the field in parentheses).
pub fn threads_cpu_seconds(name: &str) -> Result<f64, String> {
    let tasks = std::fs::read_dir("/proc/self/task").map_err(|e| format!("/proc/self/task: {e}"))?;
    let mut total = 0.0;
    for task in tasks.flatten() {
        let path = task.path().join("stat");
        let Ok(stat) = std::fs::read_to_string(&path) else { continue };
        let named = stat.split_once('(').and_then(|(_, rest)| rest.rsplit_once(')')).map(|(comm, _)| comm);
        if named == Some(name) {
            total += cpu_seconds_of(&path.display().to_string())?;
        }
    }
    Ok(total)
}

/// utime + stime (fields 14 and 15 of /proc/PID/stat, all threads) over the
/// clock ticks per second.
fn cpu_seconds_of(path: &str) -> Result<f64, String> {
    let stat = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    // The command name may hold spaces: fields are counted after its ')'.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).ok_or("bad stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After ')', field 3 (state) is index 0, so utime (14) is index 11.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).ok_or("bad stat field");
    let total = ticks(11)? + ticks(12)?;
    Ok(total as f64 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

//! Helpers shared by the integration tests: our server binary as a real process on a free
//! port, and (through the engine's harness) a real `redis-server` to compare with.
//!
//! Like the engine's harness, the server is started under `setpriv --pdeathsig KILL` where
//! util-linux has it, so it dies with the test even if the test process aborts.

#[allow(unused_imports)]
pub use bitmapist_test_support::redis_server;

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

#[allow(unused_imports)]
pub use redis_server::{RedisServer, free_port};

/// How long the server may take to answer its first `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `bitmapist-server`, killed on drop.
pub struct Server {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    extra: Vec<String>,
    _tmp: Option<TempDir>,
}

fn setpriv() -> Option<PathBuf> {
    ["/usr/bin/setpriv", "/bin/setpriv"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Whether something on `port` answers `PING` with `+PONG` (or `-NOAUTH` when started
/// with `-requirepass`).
pub fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    matches!(stream.read(&mut buf), Ok(n) if n > 0 && (buf.starts_with(b"+PONG") || buf.starts_with(b"-NOAUTH")))
}

impl Server {
    /// Starts a server on a fresh database in a temporary directory.
    pub fn start(extra: &[&str]) -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("bitmapist-server-")
            .tempdir()
            .expect("create a temporary directory");
        let dir = tmp.path().to_path_buf();
        let mut s = Server {
            child: None,
            port: 0,
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            _tmp: Some(tmp),
        };
        s.launch();
        s
    }

    /// The database file.
    pub fn db(&self) -> PathBuf {
        self.dir.join("bitmapist.db")
    }

    fn launch(&mut self) {
        let bin = env!("CARGO_BIN_EXE_bitmapist-server");
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let log = File::create(self.dir.join("server.log")).expect("create the log");
            let mut cmd = match setpriv() {
                Some(sp) => {
                    let mut c = Command::new(sp);
                    c.args(["--pdeathsig", "KILL"]).arg(bin);
                    c
                }
                None => Command::new(bin),
            };
            cmd.arg("-addr")
                .arg(format!("127.0.0.1:{port}"))
                .arg("-db")
                .arg(self.db())
                .args(&self.extra)
                .env("BITMAPIST_LOG", "info")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the log handle"))
                .stderr(log);
            let child = cmd.spawn().expect("start bitmapist-server");
            self.child = Some(child);
            self.port = port;
            let deadline = Instant::now() + READY_TIMEOUT;
            while Instant::now() < deadline {
                if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                    break;
                }
                if answers_ping(port) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            last = self.log();
            self.kill();
        }
        panic!("bitmapist-server did not start; last log:\n{last}");
    }

    /// Starts the server again on the same database (after a kill or an exit).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A synchronous redis-rs connection.
    pub fn con(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .unwrap_or_else(|e| panic!("connect to bitmapist-server: {e}\n{}", self.log()))
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("server running")
    }

    /// Sends a signal by name (`TERM`, `USR1`...) with the `kill` command.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits for the process to exit; its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut().expect("server running");
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL (nothing saved beyond the last commit), and wait.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

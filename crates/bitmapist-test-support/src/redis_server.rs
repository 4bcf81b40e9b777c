//! Real `redis-server` processes for integration tests, one per test, on a free port.
//! The server runs in a temporary directory, saves nothing, and is killed when dropped.
//!
//! `redis-server` must be installed (`apt-get install -y redis-server`); a test that needs
//! it panics with that hint rather than skipping silently.
//!
//! The workspace forbids `unsafe` in every target, so there is no `pre_exec` +
//! `prctl(PR_SET_PDEATHSIG)`. Instead, where util-linux's `setpriv` is installed, the server
//! is started as `setpriv --pdeathsig KILL redis-server ...`, which sets the same parent-death
//! signal before `exec`: the server dies with the thread that started it even if the test
//! process aborts. Without `setpriv`, only `Drop` kills it.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a server may take to answer its first `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at starting a server (another process may grab the chosen port first).
const ATTEMPTS: usize = 5;

/// How a server listens.
#[derive(Clone, Copy)]
enum Listen<'a> {
    /// Plain TCP only.
    Plain,
    /// Plain TCP, and TLS with a self-signed certificate on another port.
    PlainAndTls,
    /// Plain TCP, and TLS with a certificate signed by a test CA on another port.
    PlainAndTlsSigned(&'a TlsFiles),
    /// TLS only (`--port 0`), with a certificate signed by a test CA; for a cluster node,
    /// the cluster bus and replication over TLS too.
    TlsOnly(&'a TlsFiles),
}

/// A test certificate authority and a server certificate it signed (for `localhost` and
/// 127.0.0.1), made with the `openssl` CLI by [`TlsFiles::create`]. The files live as long
/// as this value.
pub struct TlsFiles {
    dir: TempDir,
}

impl TlsFiles {
    /// Makes a CA (`ca.pem`), and a server key (`server.key`) and certificate
    /// (`server.pem`) signed by it, in a fresh temporary directory under `base` (None: the
    /// system's). Panics with an install hint without `openssl`.
    pub fn create(base: Option<&Path>) -> Self {
        let dir = temp_dir(base, "bitmapist-tls-");
        let openssl = find_program("openssl").unwrap_or_else(|| {
            panic!(
                "openssl not found; the TLS tests make their certificates with it: install it \
                 with `sudo apt-get install -y openssl` (Debian/Ubuntu) or `brew install openssl`"
            )
        });
        let run = |args: &[&str]| {
            let out = Command::new(&openssl)
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("run openssl");
            assert!(
                out.status.success(),
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=bitmapist test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(
            dir.path().join("server.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .expect("write the extensions file");
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ]);
        TlsFiles { dir }
    }

    /// The CA certificate (PEM): what a client must trust.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server certificate (PEM), signed by [`TlsFiles::ca`].
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    /// The server's private key (PEM).
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }
}

/// A running `redis-server`, killed on drop.
pub struct RedisServer {
    child: Child,
    port: u16,
    tls_port: Option<u16>,
    /// Listening with TLS only: `port` is the TLS port.
    tls_only: bool,
    password: Option<String>,
    dir: TempDir,
}

/// The first executable called `name` in `PATH`, /usr/bin, /usr/local/bin or /bin.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/local/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A free port no higher than 55535 whose port + 10000 (a cluster node's bus port) is
/// free too.
pub fn cluster_port() -> u16 {
    for _ in 0..1000 {
        let port = free_port();
        if port <= 55_535 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free port <= 55535 with a free bus port (port + 10000) after 1000 tries");
}

/// Whether something accepts TCP connections on `port` (a TLS-only server: its port
/// opens once it is set up).
fn accepts(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Whether something on `port` answers `PING` like Redis (`+PONG`, or `-NOAUTH` when a
/// password is required).
fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    matches!(stream.read(&mut buf), Ok(n) if n > 0 && (buf[0] == b'+' || buf[0] == b'-'))
}

/// Makes a self-signed certificate and key for `localhost`/127.0.0.1 in `dir` with the
/// `openssl` CLI; returns (cert, key).
fn make_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let openssl = find_program("openssl").unwrap_or_else(|| {
        panic!("openssl not found: install it with `apt-get install -y openssl`")
    });
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let out = Command::new(openssl)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

impl RedisServer {
    /// Starts a server with the default options.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with extra `redis-server` arguments, e.g. `["--requirepass", "secret"]`.
    pub fn start_with(extra: &[&str]) -> Self {
        Self::launch(extra, Listen::Plain)
    }

    /// Starts a Redis Cluster node (`--cluster-enabled yes`, its own `nodes.conf`) on a port
    /// no higher than 55535, so that its cluster bus port (port + 10000) exists; the bus
    /// port was free a moment ago too. `dir`: where its working directory goes (None: the
    /// system's temporary directory).
    pub fn start_cluster_node(extra: &[&str], dir: Option<&Path>) -> Self {
        let mut args = vec![
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
        ];
        args.extend_from_slice(extra);
        Self::launch_on(&args, Listen::Plain, cluster_port, dir)
    }

    /// As [`RedisServer::start_cluster_node`], listening with TLS only (`--port 0`,
    /// `--tls-port`), the cluster bus and replication over TLS (`--tls-cluster yes`,
    /// `--tls-replication yes`), with the certificate of `tls`; clients need no
    /// certificate. [`RedisServer::port`] is then the TLS port.
    pub fn start_tls_cluster_node(extra: &[&str], dir: Option<&Path>, tls: &TlsFiles) -> Self {
        let mut args = vec![
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
        ];
        args.extend_from_slice(extra);
        Self::launch_on(&args, Listen::TlsOnly(tls), cluster_port, dir)
    }

    /// Starts a server that also listens with TLS (self-signed certificate, clients need
    /// no certificate) on [`RedisServer::tls_port`].
    pub fn start_tls() -> Self {
        Self::launch(&[], Listen::PlainAndTls)
    }

    /// Starts a server that also listens with TLS on [`RedisServer::tls_port`], with the
    /// certificate of `tls` (signed by its CA); clients need no certificate.
    pub fn start_tls_signed(tls: &TlsFiles) -> Self {
        Self::launch(&[], Listen::PlainAndTlsSigned(tls))
    }

    fn launch(extra: &[&str], listen: Listen<'_>) -> Self {
        Self::launch_on(extra, listen, free_port, None)
    }

    fn launch_on(
        extra: &[&str],
        listen: Listen<'_>,
        pick_port: fn() -> u16,
        base: Option<&Path>,
    ) -> Self {
        let redis = find_program("redis-server").unwrap_or_else(|| {
            panic!(
                "redis-server not found in PATH, /usr/bin or /usr/local/bin; the Redis store \
                 tests need a real server: install it with `sudo apt-get install -y redis-server` \
                 (Debian/Ubuntu) or `brew install redis` (macOS)"
            )
        });
        let setpriv = find_program("setpriv");
        let password = extra
            .iter()
            .position(|a| *a == "--requirepass")
            .and_then(|i| extra.get(i + 1))
            .map(|p| (*p).to_string());

        let mut last_log = String::new();
        for _ in 0..ATTEMPTS {
            let dir = temp_dir(base, "bitmapist-redis-");
            let port = pick_port();
            let mut args: Vec<String> = vec![
                "--port".into(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--save".into(),
                String::new(),
                "--appendonly".into(),
                "no".into(),
                "--dir".into(),
                dir.path().display().to_string(),
            ];
            let tls_only = matches!(listen, Listen::TlsOnly(_));
            if let Listen::TlsOnly(files) = listen {
                args[1] = "0".into();
                args.extend([
                    "--tls-port".into(),
                    port.to_string(),
                    "--tls-cluster".into(),
                    "yes".into(),
                    "--tls-replication".into(),
                    "yes".into(),
                    "--tls-cert-file".into(),
                    files.cert().display().to_string(),
                    "--tls-key-file".into(),
                    files.key().display().to_string(),
                    "--tls-ca-cert-file".into(),
                    files.ca().display().to_string(),
                    "--tls-auth-clients".into(),
                    "no".into(),
                ]);
            }
            let signed = match listen {
                Listen::PlainAndTls => Some(make_certificate(dir.path())),
                Listen::PlainAndTlsSigned(files) => Some((files.cert(), files.key())),
                Listen::Plain | Listen::TlsOnly(_) => None,
            };
            let tls_port = signed.map(|(cert, key)| {
                let tls_port = free_port();
                args.extend([
                    "--tls-port".into(),
                    tls_port.to_string(),
                    "--tls-cert-file".into(),
                    cert.display().to_string(),
                    "--tls-key-file".into(),
                    key.display().to_string(),
                    "--tls-auth-clients".into(),
                    "no".into(),
                ]);
                tls_port
            });
            args.extend(extra.iter().map(|a| (*a).to_string()));

            let log_path = dir.path().join("redis.log");
            let log = File::create(&log_path).expect("create the server log");
            let mut cmd = match &setpriv {
                Some(setpriv) => {
                    let mut c = Command::new(setpriv);
                    c.args(["--pdeathsig", "KILL"]).arg(&redis);
                    c
                }
                None => Command::new(&redis),
            };
            cmd.args(&args)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the log handle"))
                .stderr(log);
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("could not start {}: {e}", redis.display()));
            let mut server = RedisServer {
                child,
                port,
                tls_port: if tls_only { Some(port) } else { tls_port },
                tls_only,
                password: password.clone(),
                dir,
            };
            if server.wait_ready() {
                return server;
            }
            last_log = server.log();
            // Dropping `server` kills it; try again on other ports.
        }
        panic!(
            "redis-server did not answer PING within {READY_TIMEOUT:?} after {ATTEMPTS} attempts; \
             last log:\n{last_log}"
        );
    }

    /// Waits until the server answers `PING`; false if it exited or timed out.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            let up = if self.tls_only {
                accepts(self.port)
            } else {
                answers_ping(self.port)
            };
            if up {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The plain-text port (the TLS port of a TLS-only cluster node).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS port, for servers made with [`RedisServer::start_tls`].
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    /// `redis://127.0.0.1:PORT` (no password, database 0).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's working directory (holds `redis.log` and any certificates).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// A plain synchronous connection to database 0 (authenticated if the server was
    /// started with `--requirepass`), for sending raw commands.
    pub fn raw_connection(&self) -> redis::Connection {
        let url = match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}", self.port),
            None => self.url(),
        };
        redis::Client::open(url)
            .and_then(|c| c.get_connection())
            .unwrap_or_else(|e| panic!("raw connection to port {}: {e}\n{}", self.port, self.log()))
    }
}

impl RedisServer {
    /// A plain synchronous connection to the server on `port` (no password), e.g. one node
    /// of a cluster.
    pub fn connection_to(port: u16) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{port}"))
            .and_then(|c| c.get_connection())
            .unwrap_or_else(|e| panic!("connection to port {port}: {e}"))
    }

    /// Pauses the server (SIGSTOP): it keeps its port and accepts connections (the kernel
    /// completes the handshake) but answers nothing, as a hung server would. Undone by
    /// [`RedisServer::resume`]; dropping a paused server kills it as usual.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Resumes a paused server (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, which: &str) {
        // The shell's built-in `kill`: no procps needed.
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("kill {which} {}", self.child.id()))
            .status()
            .unwrap_or_else(|e| panic!("sh -c 'kill {which}': {e}"));
        assert!(status.success(), "kill {which} {} failed", self.child.id());
    }

    /// Kills the server now (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh temporary directory named `prefix...` under `base` (None: the system's).
fn temp_dir(base: Option<&Path>, prefix: &str) -> TempDir {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    match base {
        Some(base) => builder.tempdir_in(base),
        None => builder.tempdir(),
    }
    .expect("create a temporary directory")
}

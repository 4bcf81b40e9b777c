//! Real Redis Clusters for integration tests: N primaries (and optionally a replica each),
//! made with `redis-cli --cluster create`, ready when every node says `cluster_state:ok`.
//!
//! Each node is a [`RedisServer`] (killed on drop, and by `setpriv --pdeathsig` if the
//! thread that started it dies). [`shared`] gives a test binary one 3-primary cluster kept
//! by a thread of its own for the whole run, so that tests (with distinct key prefixes)
//! do not each pay for a cluster; its nodes die with the test process, and their working
//! directories stay under the target directory's `tmp/`.
//!
//! `redis-server` and `redis-cli` must be installed; a test that needs them panics with an
//! install hint.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use redis::ConnectionLike;

use crate::redis_server::{RedisServer, TlsFiles};

/// How long a new cluster may take to report `cluster_state:ok` on every node.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// `cluster-node-timeout` of test clusters: a dead primary is failed over about this long
/// after it dies (Redis's default is 15 s).
pub const NODE_TIMEOUT_MS: u64 = 1000;

/// How the nodes of a [`RedisCluster`] are secured.
#[derive(Clone, Debug, Default)]
pub struct Security {
    /// `--requirepass` and `--masterauth` on every node.
    pub password: Option<String>,
    /// TLS only: clients, the cluster bus and replication over TLS, with a certificate
    /// signed by a CA made for this cluster ([`RedisCluster::ca`]).
    pub tls: bool,
}

/// A running Redis Cluster.
pub struct RedisCluster {
    /// Every node, primaries first as created; `None` once killed.
    nodes: Vec<Option<RedisServer>>,
    password: Option<String>,
    /// The CA and certificate of a TLS cluster (kept for the nodes' lifetime).
    tls: Option<TlsFiles>,
}

fn redis_cli() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/local/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join("redis-cli"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "redis-cli not found; the cluster tests need it to create clusters: install it \
                 with `sudo apt-get install -y redis-server redis-tools` (Debian/Ubuntu) or \
                 `brew install redis` (macOS)"
            )
        })
}

/// `INFO`-style `field:value` from a text reply.
fn info_field(text: &str, field: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

impl RedisCluster {
    /// A synchronous connection to one node (authenticated, over TLS trusting the
    /// cluster's CA, as the cluster requires).
    fn node_connection(&self, port: u16) -> Option<redis::Connection> {
        let auth = self
            .password
            .as_ref()
            .map(|p| format!(":{p}@"))
            .unwrap_or_default();
        let client = match &self.tls {
            None => redis::Client::open(format!("redis://{auth}127.0.0.1:{port}")).ok()?,
            Some(files) => {
                let _ = rustls::crypto::ring::default_provider().install_default();
                let root = std::fs::read(files.ca()).ok()?;
                redis::Client::build_with_tls(
                    format!("rediss://{auth}127.0.0.1:{port}"),
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(root),
                    },
                )
                .ok()?
            }
        };
        client
            .get_connection_with_timeout(Duration::from_secs(2))
            .ok()
    }

    fn text_command(&self, port: u16, cmd: &redis::Cmd) -> Option<String> {
        let mut conn = self.node_connection(port)?;
        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
        cmd.query::<String>(&mut conn).ok()
    }

    /// Starts a 3-primary cluster (no replicas) secured as `security` says.
    pub fn start_secured(security: Security) -> Self {
        Self::start_full(3, 0, None, security)
    }

    /// The CA certificate (PEM file) a client must trust, for a TLS cluster.
    pub fn ca(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(TlsFiles::ca)
    }

    /// The password of every node, if the cluster has one.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Starts `primaries` primaries with `replicas` replicas each, in a fresh temporary
    /// directory per node.
    pub fn start(primaries: usize, replicas: usize) -> Self {
        Self::start_in(primaries, replicas, None)
    }

    /// As [`RedisCluster::start`], the nodes' directories under `dir`.
    pub fn start_in(primaries: usize, replicas: usize, dir: Option<&Path>) -> Self {
        Self::start_full(primaries, replicas, dir, Security::default())
    }

    fn start_full(
        primaries: usize,
        replicas: usize,
        dir: Option<&Path>,
        security: Security,
    ) -> Self {
        let timeout = NODE_TIMEOUT_MS.to_string();
        let mut extra = vec!["--cluster-node-timeout", timeout.as_str()];
        if let Some(p) = &security.password {
            extra.extend(["--requirepass", p.as_str(), "--masterauth", p.as_str()]);
        }
        let tls = security.tls.then(|| TlsFiles::create(dir));
        let total = primaries * (1 + replicas);
        let nodes: Vec<Option<RedisServer>> = (0..total)
            .map(|_| {
                Some(match &tls {
                    Some(files) => RedisServer::start_tls_cluster_node(&extra, dir, files),
                    None => RedisServer::start_cluster_node(&extra, dir),
                })
            })
            .collect();
        let cluster = RedisCluster {
            nodes,
            password: security.password.clone(),
            tls,
        };
        let addresses: Vec<String> = cluster
            .ports()
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let mut cli = Command::new(redis_cli());
        if let Some(files) = &cluster.tls {
            cli.arg("--tls").arg("--cacert").arg(files.ca());
        }
        if let Some(p) = &cluster.password {
            cli.args(["-a", p.as_str(), "--no-auth-warning"]);
        }
        let out = cli
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.wait_healthy(READY_TIMEOUT);
        cluster
    }

    /// The ports of the nodes still running.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().flatten().map(RedisServer::port).collect()
    }

    /// `redis+cluster://127.0.0.1:P1,...` over the nodes still running; for a secured
    /// cluster `rediss+cluster://` and `:password@` as needed, without `?ca=` (see
    /// [`RedisCluster::ca`]).
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self
            .ports()
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let scheme = if self.tls.is_some() {
            "rediss+cluster"
        } else {
            "redis+cluster"
        };
        let auth = self
            .password
            .as_ref()
            .map(|p| format!(":{p}@"))
            .unwrap_or_default();
        format!("{scheme}://{auth}{}", nodes.join(","))
    }

    /// `CLUSTER NODES` as a running node sees it.
    pub fn cluster_nodes(&self) -> String {
        self.ports()
            .into_iter()
            .find_map(|p| self.text_command(p, redis::cmd("CLUSTER").arg("NODES")))
            .unwrap_or_default()
    }

    /// The ports of the primaries that own slots and are not failed, as the cluster sees it.
    pub fn primary_ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self
            .cluster_nodes()
            .lines()
            .filter(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 8 && f[2].contains("master") && !f[2].contains("fail")
            })
            .filter_map(|l| {
                let addr = l.split_whitespace().nth(1)?;
                let port = addr.split('@').next()?.rsplit(':').next()?;
                port.parse().ok()
            })
            .collect();
        ports.sort_unstable();
        ports
    }

    /// Kills the node on `port` (SIGKILL).
    pub fn kill(&mut self, port: u16) {
        for slot in &mut self.nodes {
            if slot.as_ref().is_some_and(|n| n.port() == port)
                && let Some(mut node) = slot.take()
            {
                node.kill();
            }
        }
    }

    /// Whether every running node reports `cluster_state:ok`, knows every running node,
    /// and (for replicas) is in sync with its primary.
    pub fn is_healthy(&self) -> bool {
        let alive = self.ports().len();
        self.ports().into_iter().all(|port| {
            let Some(info) = self.text_command(port, redis::cmd("CLUSTER").arg("INFO")) else {
                return false;
            };
            let known = info_field(&info, "cluster_known_nodes")
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            let Some(repl) = self.text_command(port, redis::cmd("INFO").arg("replication")) else {
                return false;
            };
            let synced = info_field(&repl, "role").as_deref() != Some("slave")
                || info_field(&repl, "master_link_status").as_deref() == Some("up");
            info_field(&info, "cluster_state").as_deref() == Some("ok") && known >= alive && synced
        })
    }

    /// Waits until [`RedisCluster::is_healthy`]; panics with the nodes' view after `limit`.
    pub fn wait_healthy(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.is_healthy() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the cluster did not become healthy within {limit:?}:\n{}",
            self.cluster_nodes()
        );
    }

    /// Waits until `port` is seen as failed and another primary serves its slots.
    pub fn wait_failover(&self, dead: u16, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let failed = self.cluster_nodes().lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 2
                    && f[1].starts_with(&format!("127.0.0.1:{dead}@"))
                    && f[2].contains("fail")
            });
            if failed && self.is_healthy() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "no failover of port {dead} within {limit:?}:\n{}",
            self.cluster_nodes()
        );
    }

    /// A synchronous cluster connection (slot-routed by redis-rs), for raw commands.
    pub fn raw_connection(&self) -> redis::cluster::ClusterConnection {
        let nodes: Vec<String> = self
            .ports()
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect();
        redis::cluster::ClusterClient::new(nodes)
            .and_then(|c| c.get_connection())
            .unwrap_or_else(|e| panic!("raw cluster connection: {e}\n{}", self.cluster_nodes()))
    }

    /// The node id of the node on `port`.
    pub fn node_id(&self, port: u16) -> String {
        self.text_command(port, redis::cmd("CLUSTER").arg("MYID"))
            .unwrap_or_else(|| panic!("CLUSTER MYID on port {port}"))
    }

    /// The port of the primary that owns `slot`, and the port of another primary.
    pub fn slot_owner_and_other(&self, slot: u16) -> (u16, u16) {
        let mut owner = None;
        for line in self.cluster_nodes().lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 9 || !f[2].contains("master") {
                continue;
            }
            let owns = f[8..].iter().any(|range| {
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                matches!((a.parse::<u16>(), b.parse::<u16>()), (Ok(a), Ok(b)) if a <= slot && slot <= b)
            });
            if owns {
                owner = f[1]
                    .split('@')
                    .next()
                    .and_then(|a| a.rsplit(':').next()?.parse().ok());
            }
        }
        let owner =
            owner.unwrap_or_else(|| panic!("no owner of slot {slot}:\n{}", self.cluster_nodes()));
        let other = self
            .primary_ports()
            .into_iter()
            .find(|p| *p != owner)
            .expect("another primary");
        (owner, other)
    }

    fn node_command(port: u16, cmd: &redis::Cmd) {
        let mut conn = RedisServer::connection_to(port);
        let _: () = cmd
            .query(&mut conn)
            .unwrap_or_else(|e| panic!("{cmd:?} on port {port}: {e}"));
    }

    /// `CLUSTER SETSLOT slot IMPORTING` on `target`, `MIGRATING` on `source`.
    pub fn set_slot_migrating(&self, slot: u16, source: u16, target: u16) {
        let (sid, tid) = (self.node_id(source), self.node_id(target));
        Self::node_command(
            target,
            redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg("IMPORTING")
                .arg(&sid),
        );
        Self::node_command(
            source,
            redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg("MIGRATING")
                .arg(&tid),
        );
    }

    /// `MIGRATE` one key from `source` to `target`.
    pub fn migrate_key(&self, source: u16, target: u16, key: &str) {
        let mut conn = RedisServer::connection_to(source);
        let reply: String = redis::cmd("MIGRATE")
            .arg("127.0.0.1")
            .arg(target)
            .arg(key)
            .arg(0)
            .arg(5000)
            .query(&mut conn)
            .unwrap_or_else(|e| panic!("MIGRATE {key}: {e}"));
        assert_eq!(reply, "OK");
    }

    /// `CLUSTER SETSLOT slot NODE target` on every running node, then waits until they agree.
    pub fn finish_migration(&self, slot: u16, target: u16) {
        let tid = self.node_id(target);
        // The target first, then the others (as redis-cli --cluster reshard does).
        let mut ports = self.ports();
        ports.sort_by_key(|p| *p != target);
        for port in ports {
            Self::node_command(
                port,
                redis::cmd("CLUSTER")
                    .arg("SETSLOT")
                    .arg(slot)
                    .arg("NODE")
                    .arg(&tid),
            );
        }
        self.wait_healthy(READY_TIMEOUT);
    }

    /// Waits until every replica has received everything its primary has (replication
    /// offsets equal), so that a failover loses nothing written before.
    pub fn wait_replicated(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let caught_up = self.ports().into_iter().all(|port| {
                let Some(repl) = self.text_command(port, redis::cmd("INFO").arg("replication"))
                else {
                    return false;
                };
                if info_field(&repl, "role").as_deref() != Some("master") {
                    return true;
                }
                let offset = info_field(&repl, "master_repl_offset");
                repl.lines()
                    .filter(|l| l.starts_with("slave") && l.contains("offset="))
                    .all(|l| {
                        l.split(',')
                            .find_map(|f| f.strip_prefix("offset="))
                            .map(str::to_string)
                            == offset
                    })
            });
            if caught_up {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("replicas did not catch up within {limit:?}");
    }

    /// Commands each running node has executed since start (or the last reset), from
    /// `INFO commandstats`, as (port, calls).
    pub fn command_counts(&self) -> Vec<(u16, u64)> {
        self.ports()
            .into_iter()
            .map(|port| {
                let stats = self
                    .text_command(port, redis::cmd("INFO").arg("commandstats"))
                    .unwrap_or_default();
                let calls = stats
                    .lines()
                    .filter_map(|l| {
                        l.split("calls=")
                            .nth(1)?
                            .split(',')
                            .next()?
                            .parse::<u64>()
                            .ok()
                    })
                    .sum();
                (port, calls)
            })
            .collect()
    }

    /// Socket reads each running node has processed since start (or the last reset), from
    /// `INFO stats` `total_reads_processed`, as (port, reads): about one per request or
    /// pipeline received, so it shows how many round trips a client made to each node.
    pub fn socket_reads(&self) -> Vec<(u16, u64)> {
        self.ports()
            .into_iter()
            .map(|port| {
                let stats = self
                    .text_command(port, redis::cmd("INFO").arg("stats"))
                    .unwrap_or_default();
                let reads = info_field(&stats, "total_reads_processed")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                (port, reads)
            })
            .collect()
    }

    /// `CONFIG RESETSTAT` on every running node.
    pub fn reset_stats(&self) {
        for port in self.ports() {
            if let Some(mut conn) = self.node_connection(port) {
                let _ = conn.req_command(redis::cmd("CONFIG").arg("RESETSTAT"));
            }
        }
    }
}

/// The target directory's `tmp/` (what Cargo calls `CARGO_TARGET_TMPDIR` for integration
/// tests), found from the running test binary (`target/<profile>/deps/<binary>`); the
/// system's temporary directory if that fails.
fn target_tmp() -> PathBuf {
    let dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(|target| target.join("tmp")))
        .unwrap_or_else(std::env::temp_dir);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// The test binary's shared 3-primary cluster (no replicas), started on first use by a
/// thread that keeps it for the rest of the run. Tests sharing it must use distinct key
/// prefixes. Returns its URL and port list.
pub fn shared() -> &'static (String, Vec<u16>) {
    static SHARED: OnceLock<(String, Vec<u16>)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("shared-redis-cluster".into())
            .spawn(move || {
                let dir = target_tmp();
                let cluster = RedisCluster::start_in(3, 0, Some(&dir));
                let _ = tx.send((cluster.url(), cluster.ports()));
                // Keep the nodes (their parent-death signal is tied to this thread) until
                // the test process exits.
                loop {
                    std::thread::park();
                }
            })
            .expect("spawn the cluster thread");
        rx.recv()
            .expect("the shared cluster failed to start (see the panic above)")
    })
}

/// A synchronous, slot-routed connection to the cluster of [`shared`].
pub fn shared_raw_connection() -> redis::cluster::ClusterConnection {
    let nodes: Vec<String> = shared()
        .1
        .iter()
        .map(|p| format!("redis://127.0.0.1:{p}"))
        .collect();
    redis::cluster::ClusterClient::new(nodes)
        .and_then(|c| c.get_connection())
        .expect("raw connection to the shared cluster")
}

//! The cluster's slot -> primary table (from `CLUSTER SLOTS`) and one multiplexed connection
//! per primary, so that a batch goes to each node as one pipeline, straight to its socket.
//!
//! The table is a snapshot: a `MOVED` reply corrects one slot at once
//! ([`Nodes::moved`]), and a connection error or `CLUSTERDOWN` makes the store ask a live
//! node for a new table ([`Nodes::refresh`]). Connections are made on first use and dropped
//! after an error, so the next use reconnects (or finds the node gone).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, ErrorKind, RedisError, RedisResult, Value};

use super::config::ClusterConfig;
use super::routing::SLOTS;

/// A node's address, as `CLUSTER SLOTS` and redirections give it.
pub(crate) type Addr = (String, u16);

/// Which primary owns each slot.
#[derive(Debug)]
pub(crate) struct SlotTable {
    /// `owner[slot]`: an index into `nodes`, if the slot is served.
    owner: Vec<Option<u16>>,
    nodes: Vec<Addr>,
    /// Grows with every table installed, so that concurrent callers refresh it once.
    pub generation: u64,
}

impl SlotTable {
    /// A table that knows no slot (every lookup misses until the first refresh).
    fn empty() -> Self {
        SlotTable {
            owner: vec![None; usize::from(SLOTS)],
            nodes: Vec::new(),
            generation: 0,
        }
    }

    /// The primary that owns `slot`, if known.
    pub fn owner(&self, slot: u16) -> Option<&Addr> {
        self.node(self.owner_index(slot)?)
    }

    /// The index (for [`SlotTable::node`]) of the primary that owns `slot`, if known.
    pub fn owner_index(&self, slot: u16) -> Option<u16> {
        *self.owner.get(usize::from(slot))?
    }

    /// The primary with index `i`.
    pub fn node(&self, i: u16) -> Option<&Addr> {
        self.nodes.get(usize::from(i))
    }

    /// The primaries that own slots.
    pub fn primaries(&self) -> &[Addr] {
        &self.nodes
    }

    /// A table from a `CLUSTER SLOTS` reply (`[[start, end, [host, port, ...], ...], ...]`)
    /// given by the node at `asked` (whose host stands in for an empty one). `None` if the
    /// reply does not have that shape.
    pub fn from_cluster_slots(reply: &Value, asked: &Addr) -> Option<Self> {
        let Value::Array(ranges) = reply else {
            return None;
        };
        let mut table = SlotTable::empty();
        for range in ranges {
            let Value::Array(fields) = range else {
                return None;
            };
            let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(primary))) =
                (fields.first(), fields.get(1), fields.get(2))
            else {
                return None;
            };
            let host = match primary.first()? {
                Value::BulkString(b) => String::from_utf8(b.clone()).ok()?,
                Value::SimpleString(s) => s.clone(),
                _ => return None,
            };
            let host = if host.is_empty() || host == "?" {
                asked.0.clone()
            } else {
                host
            };
            let port = match primary.get(1)? {
                Value::Int(p) => u16::try_from(*p).ok()?,
                _ => return None,
            };
            let index = table.index_of((host, port))?;
            let (start, end) = (usize::try_from(*start).ok()?, usize::try_from(*end).ok()?);
            for slot in table.owner.get_mut(start..=end)? {
                *slot = Some(index);
            }
        }
        Some(table)
    }

    fn index_of(&mut self, addr: Addr) -> Option<u16> {
        let i = match self.nodes.iter().position(|a| *a == addr) {
            Some(i) => i,
            None => {
                self.nodes.push(addr);
                self.nodes.len() - 1
            }
        };
        u16::try_from(i).ok()
    }
}

/// The table, the connections, and how to make one.
pub(crate) struct Nodes {
    config: ClusterConfig,
    /// The CA certificate(s) of `ca=`, read once.
    root_cert: Option<Vec<u8>>,
    table: RwLock<Arc<SlotTable>>,
    conns: Mutex<HashMap<Addr, MultiplexedConnection>>,
    /// Held while a new table is fetched, so that concurrent callers fetch it once.
    refreshing: tokio::sync::Mutex<()>,
    /// How long one request may wait for its answer.
    response_timeout: Duration,
}

impl Nodes {
    /// No table and no connection yet; call [`Nodes::refresh`] first.
    pub fn new(
        config: ClusterConfig,
        root_cert: Option<Vec<u8>>,
        response_timeout: Duration,
    ) -> Self {
        Nodes {
            config,
            root_cert,
            table: RwLock::new(Arc::new(SlotTable::empty())),
            conns: Mutex::new(HashMap::new()),
            refreshing: tokio::sync::Mutex::new(()),
            response_timeout,
        }
    }

    /// The current table.
    pub fn table(&self) -> Arc<SlotTable> {
        self.table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A `MOVED slot addr` reply: `addr` owns `slot` now (the rest of the table stays).
    pub fn moved(&self, slot: u16, addr: Addr) {
        let mut guard = self.table.write().unwrap_or_else(PoisonError::into_inner);
        let old = guard.as_ref();
        if old.owner(slot) == Some(&addr) {
            return;
        }
        let mut fresh = SlotTable {
            owner: old.owner.clone(),
            nodes: old.nodes.clone(),
            generation: old.generation + 1,
        };
        if let (Some(i), Some(entry)) =
            (fresh.index_of(addr), fresh.owner.get_mut(usize::from(slot)))
        {
            *entry = Some(i);
        }
        *guard = Arc::new(fresh);
    }

    /// The connection to `addr`, made now if there is none.
    pub async fn connection(&self, addr: &Addr) -> RedisResult<MultiplexedConnection> {
        if let Some(conn) = self
            .conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(addr)
        {
            return Ok(conn.clone());
        }
        let conn = self.connect(addr).await?;
        self.conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(addr.clone(), conn.clone());
        Ok(conn)
    }

    /// Drops the connection to `addr` after an error on it: the next use reconnects.
    pub fn forget(&self, addr: &Addr) {
        self.conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(addr);
    }

    async fn connect(&self, addr: &Addr) -> RedisResult<MultiplexedConnection> {
        let url = self.config.node_url(&addr.0, addr.1);
        let client = match &self.root_cert {
            Some(root) => Client::build_with_tls(
                url.as_str(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root.clone()),
                },
            )?,
            None => Client::open(url.as_str())?,
        };
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.config.connect_timeout()))
            .set_response_timeout(Some(self.response_timeout));
        client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    /// Fetches a new table with `CLUSTER SLOTS` from the first node that answers (the known
    /// primaries, then the seeds), unless another caller installed one after `seen`.
    pub async fn refresh(&self, seen: u64) -> RedisResult<()> {
        let _one_at_a_time = self.refreshing.lock().await;
        let current = self.table();
        if current.generation != seen {
            return Ok(());
        }
        let mut candidates: Vec<Addr> = current.primaries().to_vec();
        for seed in self.config.seeds() {
            if !candidates.contains(seed) {
                candidates.push(seed.clone());
            }
        }
        let mut last = RedisError::from((ErrorKind::Io, "no node to ask for the slot table"));
        for addr in candidates {
            let asked = async {
                let mut conn = self.connection(&addr).await?;
                redis::cmd("CLUSTER")
                    .arg("SLOTS")
                    .query_async::<Value>(&mut conn)
                    .await
            };
            let limit = self.config.connect_timeout()
                + self.response_timeout.min(self.config.connect_timeout() * 4);
            match tokio::time::timeout(limit, asked).await {
                Ok(Ok(reply)) => match SlotTable::from_cluster_slots(&reply, &addr) {
                    Some(mut table) if !table.nodes.is_empty() => {
                        table.generation = current.generation + 1;
                        *self.table.write().unwrap_or_else(PoisonError::into_inner) =
                            Arc::new(table);
                        return Ok(());
                    }
                    _ => {
                        last = RedisError::from((
                            ErrorKind::UnexpectedReturnType,
                            "CLUSTER SLOTS did not answer a slot table",
                            format!("{reply:?}"),
                        ));
                    }
                },
                Ok(Err(e)) => {
                    self.forget(&addr);
                    // A wrong password or an untrusted certificate is the same on every node.
                    if !super::worth_retrying(&e) {
                        return Err(e);
                    }
                    last = e;
                }
                Err(_) => {
                    self.forget(&addr);
                    last = RedisError::from((
                        ErrorKind::Io,
                        "timed out",
                        format!("{}:{} did not answer CLUSTER SLOTS", addr.0, addr.1),
                    ));
                }
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str, port: i64) -> Value {
        Value::Array(vec![
            Value::BulkString(host.as_bytes().to_vec()),
            Value::Int(port),
            Value::BulkString(b"id".to_vec()),
        ])
    }

    fn range(a: i64, b: i64, primary: Value) -> Value {
        Value::Array(vec![Value::Int(a), Value::Int(b), primary])
    }

    #[test]
    fn the_table_maps_every_slot_of_a_range_to_its_primary() {
        let asked = ("10.0.0.9".to_string(), 7000);
        let reply = Value::Array(vec![
            range(0, 5460, node("127.0.0.1", 7001)),
            range(5461, 16383, node("", 7002)),
        ]);
        let table = SlotTable::from_cluster_slots(&reply, &asked).expect("a table");
        assert_eq!(table.owner(0), Some(&("127.0.0.1".to_string(), 7001)));
        assert_eq!(table.owner(5460), Some(&("127.0.0.1".to_string(), 7001)));
        // An empty host is the host that was asked.
        assert_eq!(table.owner(5461), Some(&("10.0.0.9".to_string(), 7002)));
        assert_eq!(table.owner(16383), Some(&("10.0.0.9".to_string(), 7002)));
        assert_eq!(table.primaries().len(), 2);

        let partial = Value::Array(vec![range(0, 10, node("h", 1))]);
        let table = SlotTable::from_cluster_slots(&partial, &asked).expect("a table");
        assert_eq!(table.owner(11), None);
        assert!(SlotTable::from_cluster_slots(&Value::Nil, &asked).is_none());
        let beyond = Value::Array(vec![range(0, 16384, node("h", 1))]);
        assert!(SlotTable::from_cluster_slots(&beyond, &asked).is_none());
    }
}

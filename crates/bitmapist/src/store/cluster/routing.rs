//! Where a batch of single-key commands goes on a cluster: grouped by the primary that owns
//! each key's hash slot, cut into pipelines; and the primaries to `SCAN`, from `CLUSTER SLOTS`.
//!
//! Invariants:
//! - a group holds the commands of one primary in the caller's order, so writes to one key
//!   (which always lives in one slot, hence on one primary) are applied in order;
//! - a pipeline may span many slots of one primary (each command is single-key, so Redis
//!   checks each on its own), but never two primaries;
//! - when some commands of a pipeline come back redirected (`MOVED`/`ASK`) or refused for
//!   now (`TRYAGAIN`, `CLUSTERDOWN`), those and every later command of the same slot are
//!   resent, in order, after the slot table is corrected; nothing of that slot that came
//!   later is kept from the first try (see `ClusterStore::run_node`), so per-key order holds;
//! - keys get no hash tags: the slot is Redis's CRC16 of the whole key, exactly where
//!   Python bitmapist's keys land.

use std::collections::BTreeMap;

use redis::Value;

/// The commands of one primary, as indices into the caller's list, cut into pipelines.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NodeGroup {
    /// The primary, as an index into the slot table's nodes.
    pub node: u16,
    /// Pipelines to send one after the other; each is a run of command indices.
    pub pipelines: Vec<Vec<usize>>,
}

/// Hash slots in a Redis Cluster.
pub(crate) const SLOTS: u16 = 16384;

/// The hash slot of a key: CRC16 (XMODEM) modulo 16384 of the whole key, or of the part
/// between the first `{` and the next `}` when that part is not empty (Redis's hash tag
/// rule; this store adds no tags, but keys written by others may have them).
pub(crate) fn slot_of(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let hashed = bytes
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = bytes.get(open + 1..)?;
            let close = rest.iter().position(|&b| b == b'}')?;
            (close > 0).then(|| &rest[..close])
        })
        .unwrap_or(bytes);
    crc16::State::<crc16::XMODEM>::calculate(hashed) % SLOTS
}

/// Groups the commands `pending` (ascending indices; command `i` is on a key of slot
/// `slots[i]`) by the primary `owner` gives for the slot. A pipeline holds at most
/// `max_commands` commands and, unless one command alone is heavier, at most `max_weight`
/// of `weight(i)` (bytes of values for `SET`). Commands whose slot has no known owner are
/// returned apart.
pub(crate) fn group_by_node(
    slots: &[u16],
    pending: &[usize],
    owner: impl Fn(u16) -> Option<u16>,
    max_commands: usize,
    max_weight: usize,
    weight: impl Fn(usize) -> usize,
) -> (Vec<NodeGroup>, Vec<usize>) {
    let mut by_node: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    let mut unrouted = Vec::new();
    for &i in pending {
        match slots.get(i).and_then(|&slot| owner(slot)) {
            Some(node) => by_node.entry(node).or_default().push(i),
            None => unrouted.push(i),
        }
    }
    let max_commands = max_commands.max(1);
    let groups = by_node
        .into_iter()
        .map(|(node, indices)| {
            let mut pipelines: Vec<Vec<usize>> = Vec::new();
            let mut current: Vec<usize> = Vec::new();
            let mut current_weight = 0usize;
            for i in indices {
                let w = weight(i);
                if !current.is_empty()
                    && (current.len() >= max_commands
                        || current_weight.saturating_add(w) > max_weight)
                {
                    pipelines.push(std::mem::take(&mut current));
                    current_weight = 0;
                }
                current.push(i);
                current_weight = current_weight.saturating_add(w);
            }
            if !current.is_empty() {
                pipelines.push(current);
            }
            NodeGroup { node, pipelines }
        })
        .collect();
    (groups, unrouted)
}

/// The primaries that own slots, as (host, port), from a `CLUSTER SLOTS` reply:
/// `[[start, end, [host, port, id, ...], replica...], ...]`. Sorted, without duplicates.
/// `None` if the reply does not have that shape.
pub(crate) fn primaries_from_slots(reply: &Value) -> Option<Vec<(String, u16)>> {
    let Value::Array(ranges) = reply else {
        return None;
    };
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        let Value::Array(fields) = range else {
            return None;
        };
        let Some(Value::Array(primary)) = fields.get(2) else {
            return None;
        };
        let host = match primary.first()? {
            Value::BulkString(b) => String::from_utf8(b.clone()).ok()?,
            Value::SimpleString(s) => s.clone(),
            _ => return None,
        };
        let port = match primary.get(1)? {
            Value::Int(p) => u16::try_from(*p).ok()?,
            _ => return None,
        };
        out.push((host, port));
    }
    out.sort();
    out.dedup();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_redis_crc16_of_the_whole_key() {
        // Values from `CLUSTER KEYSLOT` on redis-server 7.0.
        assert_eq!(slot_of("foo"), 12182);
        assert_eq!(slot_of("bar"), 5061);
        assert_eq!(slot_of("trackist_user:logged_in_2024-12-30"), 282);
        // Hash tags: the part in braces, unless empty.
        assert_eq!(slot_of("{user1000}.following"), 3443);
        assert_eq!(slot_of("user1000"), 3443);
        assert_eq!(slot_of("a{}b"), 13694);
        assert_ne!(slot_of("a{}b"), slot_of(""));
    }

    #[test]
    fn groups_keep_order_and_respect_limits() {
        let keys = ["foo", "a", "foo", "foo", "a", "foo", "bar"];
        let slots: Vec<u16> = keys.iter().map(|k| slot_of(k)).collect();
        // foo and a on node 0, bar on node 1.
        let owner = |slot: u16| Some(u16::from(slot == slot_of("bar")));
        let all: Vec<usize> = (0..keys.len()).collect();
        let (groups, unrouted) = group_by_node(&slots, &all, owner, 4, usize::MAX, |_| 0);
        assert!(unrouted.is_empty());
        assert_eq!(
            groups,
            vec![
                // Many slots in one pipeline, in the caller's order.
                NodeGroup {
                    node: 0,
                    pipelines: vec![vec![0, 1, 2, 3], vec![4, 5]]
                },
                NodeGroup {
                    node: 1,
                    pipelines: vec![vec![6]]
                },
            ]
        );
        // Only the pending commands; a slot without an owner is set apart.
        let owner = |slot: u16| (slot != slot_of("a")).then_some(0);
        let (groups, unrouted) = group_by_node(&slots, &[1, 3, 4, 6], owner, 10, usize::MAX, |_| 0);
        assert_eq!(groups[0].pipelines, vec![vec![3, 6]]);
        assert_eq!(unrouted, vec![1, 4]);

        // Weight: a heavy command goes alone; light ones share.
        let weights = [10usize, 100, 10, 10, 1, 1];
        let (groups, _) = group_by_node(
            &[7; 6],
            &[0, 1, 2, 3, 4, 5],
            |_| Some(0),
            100,
            50,
            |i| weights[i],
        );
        assert_eq!(
            groups[0].pipelines,
            vec![vec![0], vec![1], vec![2, 3, 4, 5]]
        );
        assert!(
            group_by_node(&[], &[], |_| Some(0), 10, 10, |_| 0)
                .0
                .is_empty()
        );
    }

    #[test]
    fn primaries_come_from_cluster_slots() {
        let node = |host: &str, port: i64| {
            Value::Array(vec![
                Value::BulkString(host.as_bytes().to_vec()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let range = |a: i64, b: i64, primary: Value, replica: Value| {
            Value::Array(vec![Value::Int(a), Value::Int(b), primary, replica])
        };
        let reply = Value::Array(vec![
            range(0, 5460, node("127.0.0.1", 7001), node("127.0.0.1", 7004)),
            range(
                5461,
                10922,
                node("127.0.0.1", 7000),
                node("127.0.0.1", 7005),
            ),
            range(
                10923,
                12000,
                node("127.0.0.1", 7001),
                node("127.0.0.1", 7004),
            ),
        ]);
        assert_eq!(
            primaries_from_slots(&reply),
            Some(vec![
                ("127.0.0.1".to_string(), 7000),
                ("127.0.0.1".to_string(), 7001)
            ])
        );
        assert_eq!(primaries_from_slots(&Value::Nil), None);
        assert_eq!(
            primaries_from_slots(&Value::Array(vec![Value::Int(1)])),
            None
        );
    }
}

//! Where a batch of single-key commands goes on a cluster: grouped by the hash slot of
//! each key, cut into pipelines, and the primaries to `SCAN` read from `CLUSTER SLOTS`.
//!
//! Invariants:
//! - a group holds the commands of one slot in the caller's order, so writes to one key
//!   (which always lives in one slot) are applied in order;
//! - a pipeline never spans two slots: Redis answers `CROSSSLOT`/`MOVED` for keys of
//!   other slots, and a redirection applies to a whole pipeline, so only a one-slot
//!   pipeline can be redirected as a unit;
//! - keys get no hash tags: the slot is Redis's CRC16 of the whole key, exactly where
//!   Python bitmapist's keys land.

use std::collections::BTreeMap;

use redis::Value;
use redis::cluster_routing::{Route, SlotAddr};

/// The commands of one slot, as indices into the caller's list, cut into pipelines.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SlotGroup {
    /// The slot.
    pub slot: u16,
    /// Where to send them: the primary that owns the slot.
    pub route: Route,
    /// Pipelines to send one after the other; each is a run of command indices.
    pub pipelines: Vec<Vec<usize>>,
}

/// Hash slots in a Redis Cluster.
const SLOTS: u16 = 16384;

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

/// Groups command `i` (on `keys[i]`) by slot. A pipeline holds at most `max_commands`
/// commands and, unless one command alone is heavier, at most `max_weight` of
/// `weight(i)` (bytes of values for `SET`).
pub(crate) fn group_by_slot<K: AsRef<str>>(
    keys: &[K],
    max_commands: usize,
    max_weight: usize,
    weight: impl Fn(usize) -> usize,
) -> Vec<SlotGroup> {
    let mut by_slot: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for (i, key) in keys.iter().enumerate() {
        by_slot.entry(slot_of(key.as_ref())).or_default().push(i);
    }
    let max_commands = max_commands.max(1);
    by_slot
        .into_iter()
        .map(|(slot, indices)| {
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
            SlotGroup {
                slot,
                route: Route::new(slot, SlotAddr::Master),
                pipelines,
            }
        })
        .collect()
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
        let keys = ["foo", "a", "foo", "foo", "a", "foo"];
        let groups = group_by_slot(&keys, 2, usize::MAX, |_| 0);
        let foo = groups
            .iter()
            .find(|g| g.slot == slot_of("foo"))
            .expect("foo's slot");
        assert_eq!(foo.pipelines, vec![vec![0, 2], vec![3, 5]]);
        let a = groups
            .iter()
            .find(|g| g.slot == slot_of("a"))
            .expect("a's slot");
        assert_eq!(a.pipelines, vec![vec![1, 4]]);
        let every: usize = groups.iter().flat_map(|g| &g.pipelines).map(Vec::len).sum();
        assert_eq!(every, keys.len());

        // Weight: a heavy command goes alone; light ones share.
        let weights = [10usize, 100, 10, 10, 1, 1];
        let groups = group_by_slot(&["foo"; 6], 100, 50, |i| weights[i]);
        assert_eq!(
            groups[0].pipelines,
            vec![vec![0], vec![1], vec![2, 3, 4, 5]]
        );
        assert!(group_by_slot::<&str>(&[], 10, 10, |_| 0).is_empty());
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

//! The external-id map in the redb file: three tables beside the bitmaps, never in the
//! `bitmaps` key space, so key listings (`KEYS`, event names) never show them.
//!
//! # Tables
//!
//! - `ids_forward: (space, external) -> u32`
//! - `ids_reverse: (space, u32) -> external`
//! - `ids_next: space -> u32`, the last id handed out in `space`.
//!
//! # Invariants
//!
//! - **One transaction.** An assignment writes its forward rows, reverse rows and counter in
//!   one redb write transaction, begun and committed under the flush lock (as every write
//!   transaction of the store), with `Durability::Immediate`: the ids are returned only
//!   after the commit is on disk. A crash (kill -9, power loss) leaves all of an
//!   assignment or none of it: never a forward row without its reverse row, never an id
//!   below the counter unassigned or one above it assigned.
//! - **No id twice.** The counter is read and advanced in the same transaction as the rows
//!   it numbers, and redb allows one write transaction at a time; so concurrent callers in
//!   this process (one process owns the file) see each other's assignments. Ids found by
//!   the lock-free first look-up are final (the map is append-only).
//! - Bitmap writes do not wait for an assignment commit beyond the flush lock they share
//!   with bitmap commits.

use std::path::Path;

use redb::{ReadTransaction, ReadableTable, TableDefinition, TableError, WriteTransaction};

use super::rows::redb_err;
use super::{OpenFile, lock};
use crate::error::{Error, Result};

/// `(space, external) -> dense id`.
pub(super) const IDS_FORWARD: TableDefinition<(&str, &str), u32> =
    TableDefinition::new("ids_forward");
/// `(space, dense id) -> external`.
pub(super) const IDS_REVERSE: TableDefinition<(&str, u32), &str> =
    TableDefinition::new("ids_reverse");
/// `space -> last dense id handed out`.
pub(super) const IDS_NEXT: TableDefinition<&str, u32> = TableDefinition::new("ids_next");

/// The names of the map's tables (compaction and backups copy them).
pub(super) fn table_names() -> [&'static str; 3] {
    use redb::TableHandle;
    [IDS_FORWARD.name(), IDS_REVERSE.name(), IDS_NEXT.name()]
}

/// The ids of `external` in the commit `txn` reads; `None` for those not assigned.
pub(super) fn lookup_in(
    path: &Path,
    txn: &ReadTransaction,
    space: &str,
    external: &[String],
) -> Result<Vec<Option<u32>>> {
    let table = match txn.open_table(IDS_FORWARD) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(vec![None; external.len()]),
        Err(e) => return Err(redb_err(path, e)),
    };
    external
        .iter()
        .map(|e| {
            Ok(table
                .get((space, e.as_str()))
                .map_err(|e| redb_err(path, e))?
                .map(|v| v.value()))
        })
        .collect()
}

/// The external ids of `dense` in the commit `txn` reads; `None` for those not handed out.
pub(super) fn resolve_in(
    path: &Path,
    txn: &ReadTransaction,
    space: &str,
    dense: &[u32],
) -> Result<Vec<Option<String>>> {
    let table = match txn.open_table(IDS_REVERSE) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(vec![None; dense.len()]),
        Err(e) => return Err(redb_err(path, e)),
    };
    dense
        .iter()
        .map(|&d| {
            Ok(table
                .get((space, d))
                .map_err(|e| redb_err(path, e))?
                .map(|v| v.value().to_string()))
        })
        .collect()
}

/// Copies the map's tables (when present) from `read` into `write`.
pub(super) fn copy_ids(
    src: &Path,
    read: &ReadTransaction,
    dst: &Path,
    write: &WriteTransaction,
) -> Result<()> {
    macro_rules! copy {
        ($def:expr) => {
            match read.open_table($def) {
                Ok(from) => {
                    let mut to = write.open_table($def).map_err(|e| redb_err(dst, e))?;
                    for item in from.iter().map_err(|e| redb_err(src, e))? {
                        let (k, v) = item.map_err(|e| redb_err(src, e))?;
                        to.insert(k.value(), v.value())
                            .map_err(|e| redb_err(dst, e))?;
                    }
                }
                Err(TableError::TableDoesNotExist(_)) => {}
                Err(e) => return Err(redb_err(src, e)),
            }
        };
    }
    copy!(IDS_FORWARD);
    copy!(IDS_REVERSE);
    copy!(IDS_NEXT);
    Ok(())
}

impl OpenFile {
    /// The ids of `external` in the last commit.
    pub(super) fn lookup_ids(&self, space: &str, external: &[String]) -> Result<Vec<Option<u32>>> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        lookup_in(&self.path, &txn, space, external)
    }

    /// The external ids of `dense` in the last commit.
    pub(super) fn resolve_ids(&self, space: &str, dense: &[u32]) -> Result<Vec<Option<String>>> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        resolve_in(&self.path, &txn, space, dense)
    }

    /// The ids of `external`, assigning the next ones to those missing in one committed
    /// transaction (see the module docs).
    pub(super) fn assign_ids(&self, space: &str, external: &[String]) -> Result<Vec<u32>> {
        let known = self.lookup_ids(space, external)?;
        if let Some(all) = known.iter().copied().collect::<Option<Vec<u32>>>() {
            return Ok(all);
        }
        let path = &self.path;
        let _commit = lock(&self.flush_lock);
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(external.len());
        {
            let mut forward = txn.open_table(IDS_FORWARD).map_err(|e| self.err(e))?;
            let mut reverse = txn.open_table(IDS_REVERSE).map_err(|e| self.err(e))?;
            let mut next = txn.open_table(IDS_NEXT).map_err(|e| self.err(e))?;
            let mut last = next
                .get(space)
                .map_err(|e| redb_err(path, e))?
                .map_or(0, |v| v.value());
            let start = last;
            for (ext, known) in external.iter().zip(known) {
                if let Some(id) = known {
                    out.push(id);
                    continue;
                }
                let existing = forward
                    .get((space, ext.as_str()))
                    .map_err(|e| redb_err(path, e))?
                    .map(|v| v.value());
                let id = match existing {
                    Some(id) => id,
                    None => {
                        // Nothing of this transaction is committed when it is dropped.
                        last = last.checked_add(1).ok_or(Error::IdsExhausted)?;
                        forward
                            .insert((space, ext.as_str()), last)
                            .map_err(|e| redb_err(path, e))?;
                        reverse
                            .insert((space, last), ext.as_str())
                            .map_err(|e| redb_err(path, e))?;
                        last
                    }
                };
                out.push(id);
            }
            if last != start {
                next.insert(space, last).map_err(|e| redb_err(path, e))?;
            }
        }
        txn.commit().map_err(|e| self.err(e))?;
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(out)
    }
}

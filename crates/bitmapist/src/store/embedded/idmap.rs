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

use super::at_path::AtPath;
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
        Err(TableError::TableDoesNotExist(_)) => return Ok(vec![None; external.len()]),
        other => other.at(path)?,
    };
    external
        .iter()
        .map(|e| Ok(table.get((space, e.as_str())).at(path)?.map(|v| v.value())))
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
        Err(TableError::TableDoesNotExist(_)) => return Ok(vec![None; dense.len()]),
        other => other.at(path)?,
    };
    dense
        .iter()
        .map(|&d| {
            Ok(table
                .get((space, d))
                .at(path)?
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
                Err(TableError::TableDoesNotExist(_)) => {}
                from => {
                    let from = from.at(src)?;
                    let mut to = write.open_table($def).at(dst)?;
                    for item in from.iter().at(src)? {
                        let (k, v) = item.at(src)?;
                        to.insert(k.value(), v.value()).at(dst)?;
                    }
                }
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
        let txn = self.db.begin_read().at(&self.path)?;
        lookup_in(&self.path, &txn, space, external)
    }

    /// The external ids of `dense` in the last commit.
    pub(super) fn resolve_ids(&self, space: &str, dense: &[u32]) -> Result<Vec<Option<String>>> {
        let txn = self.db.begin_read().at(&self.path)?;
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
        let txn = self.db.begin_write().at(path)?;
        let mut out = Vec::with_capacity(external.len());
        {
            let mut forward = txn.open_table(IDS_FORWARD).at(path)?;
            let mut reverse = txn.open_table(IDS_REVERSE).at(path)?;
            let mut next = txn.open_table(IDS_NEXT).at(path)?;
            let mut last = next.get(space).at(path)?.map_or(0, |v| v.value());
            let start = last;
            for (ext, known) in external.iter().zip(known) {
                if let Some(id) = known {
                    out.push(id);
                    continue;
                }
                let existing = forward
                    .get((space, ext.as_str()))
                    .at(path)?
                    .map(|v| v.value());
                let id = match existing {
                    Some(id) => id,
                    None => {
                        // Nothing of this transaction is committed when it is dropped.
                        last = last.checked_add(1).ok_or(Error::IdsExhausted)?;
                        forward.insert((space, ext.as_str()), last).at(path)?;
                        reverse.insert((space, last), ext.as_str()).at(path)?;
                        last
                    }
                };
                out.push(id);
            }
            if last != start {
                next.insert(space, last).at(path)?;
            }
        }
        txn.commit().at(path)?;
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(out)
    }
}

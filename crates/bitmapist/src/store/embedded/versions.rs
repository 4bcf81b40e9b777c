//! Write versions and kept derived values: counts the engine computed from bitmaps, kept in
//! the file and reused for as long as the bitmaps they came from are unchanged
//! ([`Store::versions`](crate::Store::versions), [`Store::get_derived`](crate::Store::get_derived)).
//!
//! # Why
//!
//! An event page's trends read 209 day bitmaps, 1.3 GB at fifty million users, on every
//! request and after every restart, while only the windows that reach today can have
//! changed. A count over bitmaps is a function of their contents; a number that names a
//! content lets the count be kept and checked instead of recomputed.
//!
//! # How
//!
//! - `meta.write_seq`: the last write sequence number used. Every write transaction that
//!   stores or removes bitmaps takes the next one ([`WriteTables`](super::rows::WriteTables)
//!   opens with [`next_seq`]).
//! - `versions: key -> u64`: for every key in `bitmaps`, the sequence number of the write
//!   transaction that last stored it, written in that transaction; removing a key removes
//!   its version. Sequence numbers only grow (a compaction or backup copies `write_seq` and
//!   restamps every key it copies with a newer one), so a version names one content of a
//!   key for the whole life of the file, and a key absent from `bitmaps` is empty: version 0.
//! - `derived: name -> bytes`: values the engine computed, each with the versions of the
//!   keys it was computed from in its own encoding; the engine uses one only when those are
//!   the keys' versions now. Written in small transactions of their own. A name starts with
//!   the first key the value came from and U+001F: removing a key removes the values named
//!   after it in the same transaction, so a deleted or pruned day leaves nothing behind.
//!
//! # Invariants
//!
//! - Format 3 files (see `mod.rs`) keep `versions` for every key; opening a format 1 or 2
//!   file for writing stamps every key in the upgrade's transaction, so an older bitmapist
//!   (which would write bitmaps without versions) refuses the file afterwards.
//! - A store reports a version only for the content a read sees: the writable store reports
//!   none for a key with uncommitted changes (dirty or deleted in its cache), and a walk of
//!   spans ([`Store::get_serialized_spans`](crate::Store::get_serialized_spans)) reads the
//!   versions with the bitmaps while commits wait.
//! - A key in `bitmaps` without a version has none (`None`): nothing derived from it is
//!   kept or used.
//!
//! # What a crash can lose
//!
//! Versions are written in the transaction that writes the bitmaps, never apart from them.
//! Derived values are committed without waiting for the disk (`Durability::None`): a crash
//! can lose the ones written since the last commit of bitmaps; they are computed again.

use std::path::Path;

use redb::{
    Durability, ReadTransaction, ReadableTable, TableDefinition, TableError, WriteTransaction,
};

use super::at_path::AtPath;
use super::rows::redb_err;
use super::{BITMAPS, META};
use crate::error::Result;

/// Per key in `bitmaps`: the write sequence number of the transaction that last stored it.
pub(super) const VERSIONS: TableDefinition<&str, u64> = TableDefinition::new("versions");

/// Values derived from bitmaps, kept for reuse: name -> the engine's bytes.
pub(super) const DERIVED: TableDefinition<&str, &[u8]> = TableDefinition::new("derived");

/// The key of the last write sequence number in `meta`.
const WRITE_SEQ_KEY: &str = "write_seq";

/// Takes the next write sequence number in `txn` (recorded in `meta`).
pub(super) fn next_seq(path: &Path, txn: &WriteTransaction) -> Result<u64> {
    let mut meta = txn.open_table(META).at(path)?;
    let last = meta.get(WRITE_SEQ_KEY).at(path)?.map_or(0, |v| v.value());
    let seq = last + 1;
    meta.insert(WRITE_SEQ_KEY, seq).at(path)?;
    Ok(seq)
}

/// The versions of `keys` in `txn`'s snapshot: a stored version, 0 for a key the file does
/// not hold, `None` for a key held without a version.
pub(super) fn read(path: &Path, txn: &ReadTransaction, keys: &[&str]) -> Result<Vec<Option<u64>>> {
    let versions = match txn.open_table(VERSIONS) {
        Ok(t) => Some(t),
        Err(TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(redb_err(path, e)),
    };
    let bitmaps = match txn.open_table(BITMAPS) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(vec![Some(0); keys.len()]),
        Err(e) => return Err(redb_err(path, e)),
    };
    keys.iter()
        .map(|key| {
            if let Some(v) = &versions
                && let Some(version) = v.get(*key).at(path)?
            {
                return Ok(Some(version.value()));
            }
            Ok(match bitmaps.get(*key).at(path)? {
                Some(_) => None,
                None => Some(0),
            })
        })
        .collect()
}

/// The derived values kept under `names` in `txn`'s snapshot.
pub(super) fn get_derived(
    path: &Path,
    txn: &ReadTransaction,
    names: &[String],
) -> Result<Vec<Option<Vec<u8>>>> {
    let table = match txn.open_table(DERIVED) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(vec![None; names.len()]),
        Err(e) => return Err(redb_err(path, e)),
    };
    names
        .iter()
        .map(|name| {
            Ok(table
                .get(name.as_str())
                .at(path)?
                .map(|v| v.value().to_vec()))
        })
        .collect()
}

/// Keeps `entries` (name, bytes) in one transaction committed without waiting for the disk
/// (see the module docs). The caller holds the store's flush lock.
pub(super) fn put_derived(
    path: &Path,
    mut txn: WriteTransaction,
    entries: &[(String, Vec<u8>)],
) -> Result<()> {
    txn.set_durability(Durability::None).at(path)?;
    {
        let mut table = txn.open_table(DERIVED).at(path)?;
        for (name, bytes) in entries {
            table.insert(name.as_str(), bytes.as_slice()).at(path)?;
        }
    }
    txn.commit().at(path)
}

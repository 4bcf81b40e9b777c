//! Store metadata in the embedded file: small strings (the recorded time zone, the pruned
//! horizon) in a redb table of their own, `store_meta`, apart from the bitmaps, so no key
//! listing shows them.

use redb::{ReadTransaction, ReadableTable, TableDefinition, TableError, WriteTransaction};

/// Store metadata: key (`{prefix}.timezone`) -> value.
pub(super) const STORE_META: TableDefinition<&str, &str> = TableDefinition::new("store_meta");

/// Reads one value; `None` when the key, or the whole table (an older file), is missing.
pub(super) fn read(txn: &ReadTransaction, key: &str) -> Result<Option<String>, redb::Error> {
    match txn.open_table(STORE_META) {
        Ok(table) => Ok(table.get(key)?.map(|v| v.value().to_owned())),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes one value in `txn` (committed by the caller).
pub(super) fn write(txn: &WriteTransaction, key: &str, value: &str) -> Result<(), redb::Error> {
    let mut table = txn.open_table(STORE_META)?;
    table.insert(key, value)?;
    Ok(())
}

/// Copies every value from `read` into `write` (a compaction or backup keeps them).
pub(super) fn copy(read: &ReadTransaction, write: &WriteTransaction) -> Result<(), redb::Error> {
    match read.open_table(STORE_META) {
        Ok(src) => {
            let mut dst = write.open_table(STORE_META)?;
            for item in src.iter()? {
                let (key, value) = item?;
                dst.insert(key.value(), value.value())?;
            }
            Ok(())
        }
        Err(TableError::TableDoesNotExist(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

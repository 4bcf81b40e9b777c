//! What a store reports about its footprint on disk, and what a compaction or backup did.
//! Only stores with a file of their own (the embedded store) report these.

use serde::Serialize;

/// The footprint of a store's committed state.
///
/// `roaring_bytes` is the baseline the file is measured against: the sum, over every
/// stored key, of the length of the bitmap's portable roaring serialization
/// ([RoaringFormatSpec](https://github.com/RoaringBitmap/RoaringFormatSpec)) after
/// `RoaringBitmap::optimize` (run containers wherever they are smaller), which is exactly
/// what the store writes. It excludes keys, Redis lengths and the file's own structure.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StorageStats {
    /// How many keys the file holds.
    pub keys: u64,
    /// The sum of the keys' serialized roaring sizes (see above).
    pub roaring_bytes: u64,
    /// The size of the file in bytes.
    pub file_bytes: u64,
    /// Keys whose value could not be read (counted, not summed).
    pub corrupt_keys: u64,
}

/// Bytes a file may exceed `1.1 x roaring_bytes` by before [`StorageStats::worth_compacting`]:
/// redb's fixed structures, so that a small file is not rewritten at every save.
pub const COMPACT_SLACK_BYTES: u64 = 256 * 1024;

impl StorageStats {
    /// Whether the file is larger than `1.1 x roaring_bytes + COMPACT_SLACK_BYTES`, i.e. a
    /// compaction would likely reclaim space (free pages, or values written unoptimized).
    pub fn worth_compacting(&self) -> bool {
        self.file_bytes > self.roaring_bytes + self.roaring_bytes / 10 + COMPACT_SLACK_BYTES
    }

    /// `file_bytes / roaring_bytes` (0 when nothing is stored).
    pub fn ratio(&self) -> f64 {
        if self.roaring_bytes == 0 {
            0.0
        } else {
            self.file_bytes as f64 / self.roaring_bytes as f64
        }
    }
}

/// What one compaction did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompactReport {
    /// The file's size before, in bytes.
    pub before_bytes: u64,
    /// The footprint after.
    pub after: StorageStats,
    /// How long it took, in seconds.
    pub seconds: f64,
}

/// What one backup made (see `EmbeddedStore::backup_to` and `backup_file`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BackupReport {
    /// How many keys the copy holds.
    pub keys: u64,
    /// The size of the copy in bytes.
    pub bytes: u64,
    /// How long the copy took, in seconds.
    pub seconds: f64,
    /// Whether the process holding the store made it (at this process's request).
    pub by_running_process: bool,
}

//! Backups: a consistent copy of a live embedded store into a new file, while the process
//! holding the store keeps writing to it.
//!
//! # Why
//!
//! One process holds the file (redb locks it), so no other process can open it while an
//! app runs, and copying its bytes (`cp`) while the app commits can tear a commit. The
//! process holding the file is the one that can read a consistent state of it, so it makes
//! the backup; any other process asks it to.
//!
//! # How
//!
//! A backup commits what is dirty, begins one redb read transaction (a snapshot of that
//! commit; redb's commits go on beside it), and copies every table of that snapshot, rows
//! as they are (nothing decoded), into a new redb file `.DEST.backup-tmp` beside the
//! destination `DEST`. The new file is committed (with `fsync`), renamed over `DEST`, and
//! the directory is synced.
//!
//! [`backup_file`] is the entry for another process (the `bitmapist backup` command):
//! - no process holds the file: it copies the file itself, from a read-only open (a file
//!   not closed cleanly is opened for writing once, which repairs it and keeps every
//!   committed write, exactly as the app's next start would);
//! - a process holds it: it writes a request, `.NAME.backup-request` beside the store
//!   (built under a temporary name, then hard-linked into place, so that it appears whole
//!   and at most one is pending). The holder's flusher thread looks for it once per flush
//!   interval (one failed `open` while none is pending), takes it (removes it), makes the
//!   backup on a thread of its own and answers in `.NAME.backup-result-ID`, also written
//!   under a temporary name and renamed. The requester waits for the answer, and notices
//!   when the holder exits first (its lock is gone).
//!
//! # What it costs the writer
//!
//! One commit (as the flusher makes every interval), then a thread reading every live page
//! once and writing the copy. The copy takes no lock the writer needs: marks keep landing
//! in memory and commits keep completing during it. redb cannot reuse pages freed while the
//! snapshot is held, so a long backup under heavy churn grows the store's file by what
//! changed meanwhile (reused by later commits).
//!
//! # Invariants
//!
//! - `DEST` is either as it was or a complete, committed copy, never part of one: the copy
//!   is built under another name and renamed only after its commit returned.
//! - The copy holds exactly one commit of the source: every bitmap, expiry time, id-map
//!   row and metadata value as of that commit, so all of each `write` call or none of it.
//! - A table the copy does not know is refused (an error, `DEST` untouched), never dropped.
//! - One backup at a time per open store (`OpenFile::backup_lock`).
//!
//! # What a crash can lose
//!
//! Nothing of the source: a backup only reads it (after one ordinary commit). A crash
//! (kill -9, power loss) during a backup leaves `DEST` as it was, and perhaps a
//! `.DEST.backup-tmp` whose commit never completed: opening it fails (it was not closed
//! cleanly), so it cannot pass for a backup, and the next backup to `DEST` removes it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::{Database, ReadTransaction, ReadableTableMetadata};

use super::at_path::AtPath;
use super::compact::{CopyMode, copy_tables, file_len, sync_dir};
use super::{BITMAPS, EmbeddedOptions, EmbeddedStore, OpenFile, ReadOnlyEmbeddedStore, lock};
use crate::error::{Error, Result};
use crate::store::BackupReport;

/// The first line of a request file.
const REQUEST_MAGIC: &str = "bitmapist backup request v1";

/// How long [`backup_file`] waits for the process holding the file to take a request
/// (several flush intervals of the default 1 s).
pub const BACKUP_TAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// `.NAME.SUFFIX` beside `path`.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bitmapist".to_string());
    path.with_file_name(format!(".{name}.{suffix}"))
}

/// Where a backup to `dest` is built before the rename.
pub(super) fn temp_path(dest: &Path) -> PathBuf {
    beside(dest, "backup-tmp")
}

fn request_path(store: &Path) -> PathBuf {
    beside(store, "backup-request")
}

fn result_path(store: &Path, id: u64) -> PathBuf {
    beside(store, &format!("backup-result-{id}"))
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

/// Writes `text` to `path` whole: into `path.tmp`, synced, then renamed.
fn write_whole(path: &Path, text: &str) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(io(format!("writing {}", path.display())))
}

/// Copies the commit `read` (of the file at `src`) into a new database at `dest`, built
/// under [`temp_path`] and renamed over `dest` (see the module docs).
fn copy_commit(src: &Path, read: &ReadTransaction, dest: &Path) -> Result<BackupReport> {
    let started = Instant::now();
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(format!(
            "creating the backup directory {}",
            dir.display()
        )))?;
    }
    let tmp = temp_path(dest);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {
            tracing::info!(path = %tmp.display(), "removed the file of an interrupted backup")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(Error::Io {
                context: format!("removing the stale backup file {}", tmp.display()),
                source,
            });
        }
    }
    let built = (|| {
        let keys = match read.open_table(BITMAPS) {
            Ok(t) => t.len().at(src)?,
            Err(redb::TableError::TableDoesNotExist(_)) => 0,
            Err(e) => return Err(super::rows::redb_err(src, e)),
        };
        let out = Database::create(&tmp).at(&tmp)?;
        let write = out.begin_write().at(&tmp)?;
        copy_tables(src, read, &tmp, &write, CopyMode::Raw)?;
        write.commit().at(&tmp)?;
        drop(out);
        std::fs::rename(&tmp, dest).map_err(io(format!(
            "renaming the backup {} to {}",
            tmp.display(),
            dest.display()
        )))?;
        Ok(keys)
    })();
    let keys = match built {
        Ok(keys) => keys,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    // The copy is in place; a failed directory sync only weakens the durability of the
    // rename (after a power loss `DEST` may be what it was before).
    if let Err(e) = sync_dir(dest) {
        tracing::warn!(error = %e, "backup: directory sync failed");
    }
    Ok(BackupReport {
        keys,
        bytes: file_len(dest)?,
        seconds: started.elapsed().as_secs_f64(),
        by_running_process: false,
    })
}

impl OpenFile {
    /// Commits what is dirty and copies that commit to `dest` (see the module docs).
    pub(super) fn backup_to(&self, dest: &Path) -> Result<BackupReport> {
        let _one = lock(&self.backup_lock);
        self.flush()?;
        let read = self.db.begin_read().at(&self.path)?;
        copy_commit(&self.path, &read, dest)
    }
}

impl EmbeddedStore {
    /// Writes a consistent copy of the store to `dest` while writes go on: commits what is
    /// dirty, then copies that commit (bitmaps, metadata, expiry times and the id map, read
    /// in one read transaction) into a new file beside `dest`, renamed over `dest` once
    /// committed. The copy is a store file that [`EmbeddedStore::open`] reads; a failed or
    /// interrupted backup leaves `dest` as it was. Runs on Tokio's blocking pool when a
    /// runtime is present.
    pub async fn backup_to(&self, dest: &Path) -> Result<BackupReport> {
        let dest = dest.to_path_buf();
        self.blocking(move |shared| shared.backup_to(&dest)).await
    }
}

impl ReadOnlyEmbeddedStore {
    /// Copies the file's last commit to `dest`, as [`EmbeddedStore::backup_to`] does.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupReport> {
        let read = self.begin_read()?;
        copy_commit(self.path(), &read, dest)
    }
}

/// A request read from a request file.
struct Request {
    id: u64,
    dest: PathBuf,
}

fn parse_request(text: &str) -> Option<Request> {
    let mut lines = text.lines();
    if lines.next()? != REQUEST_MAGIC {
        return None;
    }
    let id = lines.next()?.strip_prefix("id ")?.parse().ok()?;
    let dest = PathBuf::from(lines.next()?.strip_prefix("to ")?);
    Some(Request { id, dest })
}

/// Takes a pending backup request for the store, if any, and serves it on a new thread.
/// Called by the flusher thread once per interval.
pub(super) fn serve_request(shared: &Arc<OpenFile>) {
    let path = request_path(&shared.path);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "backup request unreadable");
            return;
        }
    };
    if let Err(e) = std::fs::remove_file(&path) {
        tracing::warn!(path = %path.display(), error = %e, "backup request: cannot take it");
        return;
    }
    let Some(request) = parse_request(&text) else {
        tracing::warn!(path = %path.display(), "malformed backup request removed");
        return;
    };
    let thread_shared = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name("bitmapist-backup".to_string())
        .spawn(move || answer(&thread_shared, &request));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "backup request: cannot start the backup thread");
    }
}

/// Makes the requested backup and writes the answer.
fn answer(shared: &OpenFile, request: &Request) {
    let answer = match shared.backup_to(&request.dest) {
        Ok(report) => {
            tracing::info!(
                store = %shared.path.display(),
                dest = %request.dest.display(),
                keys = report.keys,
                seconds = report.seconds,
                "backup written"
            );
            format!(
                "ok\nkeys {}\nbytes {}\nseconds {}\n",
                report.keys, report.bytes, report.seconds
            )
        }
        Err(e) => {
            tracing::warn!(dest = %request.dest.display(), error = %e, "backup failed");
            format!("error\n{e}\n")
        }
    };
    let path = result_path(&shared.path, request.id);
    if let Err(e) = write_whole(&path, &answer) {
        tracing::warn!(error = %e, "backup: cannot write the answer");
    }
}

fn parse_answer(store: &Path, text: &str) -> Result<BackupReport> {
    let mut lines = text.lines();
    let bad = || Error::Io {
        context: format!(
            "reading the backup answer of the process holding {}",
            store.display()
        ),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed answer"),
    };
    match lines.next() {
        Some("ok") => {
            let mut field = |name: &str| -> Option<String> {
                Some(lines.next()?.strip_prefix(name)?.trim().to_string())
            };
            let keys = field("keys").and_then(|v| v.parse().ok()).ok_or_else(bad)?;
            let bytes = field("bytes")
                .and_then(|v| v.parse().ok())
                .ok_or_else(bad)?;
            let seconds = field("seconds")
                .and_then(|v| v.parse().ok())
                .ok_or_else(bad)?;
            Ok(BackupReport {
                keys,
                bytes,
                seconds,
                by_running_process: true,
            })
        }
        Some("error") => Err(Error::Io {
            context: format!("the process holding {} failed the backup", store.display()),
            source: std::io::Error::other(lines.collect::<Vec<_>>().join("\n")),
        }),
        _ => Err(bad()),
    }
}

/// Makes a consistent copy of the embedded store file `src` at `dest`, whether or not a
/// process has the store open (see the module docs): copies it directly when none does,
/// asks the process holding it otherwise and waits for its answer. `take_timeout` bounds
/// the wait for that process to take the request ([`BACKUP_TAKE_TIMEOUT`] is a good
/// default); the backup itself is waited for as long as the holder runs.
///
/// Refused: `dest` naming `src` itself, a missing `src`, a `dest` that is not valid UTF-8
/// (it is sent in a text request).
pub fn backup_file(src: &Path, dest: &Path, take_timeout: Duration) -> Result<BackupReport> {
    let absolute = |p: &Path| {
        std::path::absolute(p).map_err(io(format!("resolving the path {}", p.display())))
    };
    let (src, dest) = (absolute(src)?, absolute(dest)?);
    let same = match (src.canonicalize(), dest.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => src == dest,
    };
    if same {
        return Err(Error::InvalidArgument {
            name: "to",
            argument: crate::error::Argument::Other,
            reason: format!(
                "the backup destination {} is the store itself; name another file",
                dest.display()
            ),
        });
    }
    match ReadOnlyEmbeddedStore::open(&src) {
        Ok(store) => store.backup_to(&dest),
        Err(Error::NotClosedCleanly { .. }) => {
            let store = EmbeddedStore::open(&src, EmbeddedOptions::default())?;
            store.shared.backup_to(&dest)
        }
        Err(Error::AlreadyOpen { .. }) => ask_holder(&src, &dest, take_timeout),
        Err(e) => Err(e),
    }
}

/// Whether some process still holds the file `src` open for writing.
fn held(src: &Path) -> bool {
    matches!(
        ReadOnlyEmbeddedStore::open(src),
        Err(Error::AlreadyOpen { .. })
    )
}

fn ask_holder(src: &Path, dest: &Path, take_timeout: Duration) -> Result<BackupReport> {
    let Some(dest_text) = dest.to_str().filter(|d| !d.contains('\n')) else {
        return Err(Error::InvalidArgument {
            name: "to",
            argument: crate::error::Argument::Other,
            reason: format!(
                "the backup destination {} must be valid UTF-8 without line breaks to be sent to the process holding the store",
                dest.display()
            ),
        });
    };
    let id = (u64::from(std::process::id()) << 32)
        | u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0),
        );
    let request = request_path(src);
    let staged = beside(src, &format!("backup-request-{id}"));
    let text = format!("{REQUEST_MAGIC}\nid {id}\nto {dest_text}\n");
    std::fs::write(&staged, &text).map_err(io(format!("writing {}", staged.display())))?;
    let linked = std::fs::hard_link(&staged, &request);
    let _ = std::fs::remove_file(&staged);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Io {
                context: format!(
                    "asking the process holding {} for a backup: another request is pending ({}); retry when it is done, or remove that file if its requester is gone",
                    src.display(),
                    request.display()
                ),
                source: e,
            });
        }
        Err(source) => {
            return Err(Error::Io {
                context: format!("writing the backup request {}", request.display()),
                source,
            });
        }
    }

    // Wait for the holder to take the request.
    let asked = Instant::now();
    let mut last_check = Instant::now();
    while request.exists() {
        let gone = last_check.elapsed() > Duration::from_secs(1) && {
            last_check = Instant::now();
            !held(src)
        };
        if gone || asked.elapsed() > take_timeout {
            // Withdraw it unless it was taken meanwhile (then wait for the answer).
            if std::fs::read_to_string(&request).is_ok_and(|t| t == text) {
                let _ = std::fs::remove_file(&request);
                let (context, kind) = if gone {
                    (
                        format!(
                            "the process holding {} exited before taking the backup request; {} is as it was",
                            src.display(),
                            dest.display()
                        ),
                        std::io::ErrorKind::UnexpectedEof,
                    )
                } else {
                    (
                        format!(
                            "the process holding {} did not take the backup request within {} s (it runs a bitmapist without backups, or its flush thread is stuck); {} was not written",
                            src.display(),
                            take_timeout.as_secs(),
                            dest.display()
                        ),
                        std::io::ErrorKind::TimedOut,
                    )
                };
                return Err(Error::Io {
                    context,
                    source: std::io::Error::from(kind),
                });
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    // Wait for the answer while the holder runs.
    let answer = result_path(src, id);
    let mut last_check = Instant::now();
    loop {
        match std::fs::read_to_string(&answer) {
            Ok(text) => {
                let _ = std::fs::remove_file(&answer);
                return parse_answer(src, &text);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Io {
                    context: format!("reading the backup answer {}", answer.display()),
                    source,
                });
            }
        }
        if last_check.elapsed() > Duration::from_secs(1) {
            last_check = Instant::now();
            if !held(src) && !answer.exists() {
                return Err(Error::Io {
                    context: format!(
                        "the process holding {} exited before answering the backup request; {} is as it was",
                        src.display(),
                        dest.display()
                    ),
                    source: std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
                });
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_round_trip() {
        let text = format!("{REQUEST_MAGIC}\nid 42\nto /tmp/a b.redb\n");
        let r = parse_request(&text).unwrap();
        assert_eq!((r.id, r.dest), (42, PathBuf::from("/tmp/a b.redb")));
        assert!(parse_request("bitmapist backup request v0\nid 1\nto /x\n").is_none());
        assert!(parse_request(&format!("{REQUEST_MAGIC}\nid x\nto /x\n")).is_none());

        let store = Path::new("/s.redb");
        let ok = parse_answer(store, "ok\nkeys 3\nbytes 4096\nseconds 0.5\n").unwrap();
        assert_eq!((ok.keys, ok.bytes, ok.by_running_process), (3, 4096, true));
        let failed = parse_answer(store, "error\ndisk full\n").unwrap_err();
        assert!(failed.to_string().contains("disk full"), "{failed}");
        assert!(parse_answer(store, "ok\nkeys 3\n").is_err());
    }

    #[test]
    fn names_sit_beside_the_file() {
        let p = Path::new("/data/s.redb");
        assert_eq!(request_path(p), Path::new("/data/.s.redb.backup-request"));
        assert_eq!(
            result_path(p, 7),
            Path::new("/data/.s.redb.backup-result-7")
        );
        assert_eq!(temp_path(p), Path::new("/data/.s.redb.backup-tmp"));
    }
}

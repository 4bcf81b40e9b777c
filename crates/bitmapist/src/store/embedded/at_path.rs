//! redb errors wrapped once, at the embedded store's boundary, with the file they concern.
//! Every redb call ends in `.at(path)?`, which makes its error an [`Error::Embedded`].

use std::path::Path;

use crate::error::{Error, Result};

/// Turns a redb result into the crate's [`Result`], naming the file the error concerns.
pub(super) trait AtPath<T> {
    /// The error, if any, as [`Error::Embedded`] for the file at `path`.
    fn at(self, path: &Path) -> Result<T>;
}

impl<T, E: Into<redb::Error>> AtPath<T> for std::result::Result<T, E> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|e| redb_err(path, e))
    }
}

/// A redb error as [`Error::Embedded`] for the file at `path`.
pub(super) fn redb_err(path: &Path, e: impl Into<redb::Error>) -> Error {
    Error::Embedded {
        path: path.to_path_buf(),
        source: e.into(),
    }
}

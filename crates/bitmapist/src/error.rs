//! The one error type of the engine.
//! Every failure names what was wrong (the argument, the variable, the key or the store).

use std::path::PathBuf;

/// Everything that can go wrong in the engine or one of its stores.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A time group name that is not one of hours, days, weeks, months, years.
    #[error("unknown time group {0:?}: expected one of hours, days, weeks, months, years")]
    UnknownTimeGroup(String),

    /// An argument of a call was out of its allowed range or malformed.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// The argument's name (`argument`'s [`Argument::name`], or the name of an argument
        /// with no variant of its own).
        name: &'static str,
        /// Which argument, typed, for callers that answer per argument (the dashboard
        /// names its query parameter).
        argument: Argument,
        /// What is wrong with it.
        reason: String,
    },

    /// Date arithmetic left the range of representable dates.
    #[error("date out of range: {0}")]
    DateOutOfRange(String),

    /// A store URL that could not be understood.
    #[error("invalid store URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given (passwords are masked).
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A configuration variable had a value that could not be used.
    #[error("configuration variable {var}: {reason}")]
    Config {
        /// The variable's name, e.g. `BITMAPIST_TRACK_HOURLY`.
        var: String,
        /// What is wrong with its value.
        reason: String,
    },

    /// No system (named store) of that name was registered.
    #[error("unknown bitmapist system {0:?}")]
    UnknownSystem(String),

    /// The embedded store's file is held by another process.
    #[error(
        "the embedded store {} is already open in another process (only one process may open it; use Redis or bitmapist-server to share data between processes)",
        path.display()
    )]
    AlreadyOpen {
        /// The file's path.
        path: PathBuf,
    },

    /// The embedded store's file was not closed cleanly (the process that had it open for
    /// writing was killed or crashed), and a read-only open cannot make redb's repair.
    #[error(
        "the embedded store {} was not closed cleanly (the process that had it open was killed or crashed) and needs a repair, which a read-only open cannot make: open it once for writing, which repairs it and keeps every committed write (e.g. `bitmapist --store file://{} compact` as a user who may write it), then open it read-only",
        path.display(),
        path.display()
    )]
    NotClosedCleanly {
        /// The file's path.
        path: PathBuf,
    },

    /// The embedded store's database failed.
    #[error("embedded store {}: {source}", path.display())]
    Embedded {
        /// The file's path.
        path: PathBuf,
        /// What redb reported.
        #[source]
        source: redb::Error,
    },

    /// A Redis command failed or the server could not be reached.
    #[error("redis ({url}): {source}")]
    Redis {
        /// The server's URL, password masked.
        url: String,
        /// What the client reported.
        #[source]
        source: redis::RedisError,
    },

    /// A stored value could not be read as a bitmap.
    #[error("the value under key {key:?} is not a bitmap: {reason}")]
    CorruptBitmap {
        /// The key.
        key: String,
        /// Why it could not be decoded.
        reason: String,
    },

    /// A time zone name that is not an IANA zone.
    #[error(
        "unknown time zone {0:?}: expected an IANA name such as Europe/Berlin, America/New_York or UTC"
    )]
    UnknownTimeZone(String),

    /// The configured time zone differs from the one recorded in the store.
    #[error(
        "time zone mismatch: {configured} is configured but the store records {recorded} for prefix {prefix:?}; configure {recorded} (BITMAPIST_TIMEZONE, --timezone), or change the store's zone deliberately with `bitmapist timezone set {configured} --force`"
    )]
    TimeZoneMismatch {
        /// The zone this process was configured with.
        configured: String,
        /// The zone the store records.
        recorded: String,
        /// The key prefix the record belongs to.
        prefix: String,
    },

    /// A store with events but no recorded zone (written as UTC by an earlier version) was
    /// opened with another zone.
    #[error(
        "the store has events under prefix {prefix:?} but no recorded time zone: they were bucketed in UTC by an earlier version, and {configured} is configured; configure UTC, or adopt {configured} deliberately with `bitmapist timezone set {configured} --force`"
    )]
    UnrecordedTimeZone {
        /// The zone this process was configured with.
        configured: String,
        /// The key prefix.
        prefix: String,
    },

    /// An embedded store's file has a format version this bitmapist cannot read.
    #[error("embedded store {}: {reason}", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// The version the file records.
        version: u64,
        /// What to do about it (e.g. upgrade bitmapist for a newer file).
        reason: String,
    },

    /// An I/O error outside any database (e.g. a store's directory that does not exist).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Every dense id (1 to 4,294,967,295) of the external-id map is assigned.
    #[error("the external-id map is full: all 4294967295 dense ids are assigned")]
    IdsExhausted,

    /// The external-id map cannot be used on this store, or answered something unexpected.
    #[error("external-id map on {store}: {reason}")]
    IdMap {
        /// The store, password masked.
        store: String,
        /// What went wrong.
        reason: String,
    },
}

/// Errors of the external-id map (see [`IdMap`](crate::IdMap)).
impl Error {
    /// The map's error for `store`.
    pub(crate) fn id_map(store: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::IdMap {
            store: store.into(),
            reason: reason.into(),
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// [`Error::InvalidArgument`] about `argument`.
    pub(crate) fn invalid_arg(argument: Argument, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            name: argument.name(),
            argument,
            reason: reason.into(),
        }
    }

    /// [`Error::InvalidArgument`] about an argument with no [`Argument`] variant
    /// ([`Argument::Other`]), named `name`.
    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            name,
            argument: Argument::Other,
            reason: reason.into(),
        }
    }
}

/// The argument an [`Error::InvalidArgument`] is about.
///
/// ```
/// use bitmapist::{Argument, Error};
/// let err = bitmapist::Period::week(2026, 54).unwrap_err();
/// assert!(matches!(err, Error::InvalidArgument { argument: Argument::Week, .. }));
/// assert_eq!(Argument::Week.name(), "week");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Argument {
    /// A cohort's or retention table's primary event.
    Primary,
    /// A cohort's or retention table's secondary (returning) event.
    Secondary,
    /// An event combined with the primary one.
    Additional,
    /// A table's number of rows.
    Rows,
    /// A cohort table's number of columns.
    Cols,
    /// A funnel's window.
    Window,
    /// A funnel's steps.
    Steps,
    /// An event name.
    Event,
    /// A time group.
    TimeGroup,
    /// A period.
    Period,
    /// An hour of the day.
    Hour,
    /// An ISO week.
    Week,
    /// A month.
    Month,
    /// A retention average's kind.
    Average,
    /// A retention kind.
    Retention,
    /// A chain's operator.
    Op,
    /// The store's key prefix.
    KeyPrefix,
    /// The number of users of a fake-data plan.
    Users,
    /// The number of days of a fake-data plan.
    Days,
    /// A day's index in a fake-data plan.
    Index,
    /// A time zone.
    Timezone,
    /// A lifecycle's number of periods.
    Periods,
    /// A lifecycle's creation event.
    NewFrom,
    /// A lifecycle status.
    Status,
    /// A segment name or definition.
    Segment,
    /// A breakdown (a property, or segments separated by commas).
    Breakdown,
    /// A property name or value.
    Property,
    /// A page's size.
    Limit,
    /// An argument with no variant of its own; its name is in the error's `name`.
    Other,
}

impl Argument {
    /// The argument's name, as in the error message.
    pub fn name(self) -> &'static str {
        match self {
            Argument::Primary => "primary",
            Argument::Secondary => "secondary",
            Argument::Additional => "additional",
            Argument::Rows => "rows",
            Argument::Cols => "cols",
            Argument::Window => "window",
            Argument::Steps => "steps",
            Argument::Event => "event",
            Argument::TimeGroup => "time_group",
            Argument::Period => "period",
            Argument::Hour => "hour",
            Argument::Week => "week",
            Argument::Month => "month",
            Argument::Average => "average",
            Argument::Retention => "retention",
            Argument::Op => "op",
            Argument::KeyPrefix => "key_prefix",
            Argument::Users => "users",
            Argument::Days => "days",
            Argument::Index => "index",
            Argument::Timezone => "timezone",
            Argument::Periods => "periods",
            Argument::NewFrom => "new_from",
            Argument::Status => "status",
            Argument::Segment => "segment",
            Argument::Breakdown => "breakdown",
            Argument::Property => "property",
            Argument::Limit => "limit",
            Argument::Other => "argument",
        }
    }
}

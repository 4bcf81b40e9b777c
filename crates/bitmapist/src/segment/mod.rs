//! Segments: named sets of users that filter and break down every analysis.
//!
//! # Why
//!
//! Every answer the engine gives is about a population; the next question is always about
//! a part of it (*do paying users retain better?*). On bitmaps a part is one more bitmap to
//! AND with, so a segment costs one batched read, never a rescan.
//!
//! # How
//!
//! A segment name resolves, in this order, to one of three sources:
//!
//! - **a property value** `prop:value` (a name with a `:`): the unique event
//!   `{prefix}{prop}:{value}_u`, Python bitmapist's `mark_unique("plan:pro", id)` (a value
//!   nobody has is empty; a property with no value at all is an unknown segment). A
//!   property is the part before the last `:`; its values are its unique events
//!   ([`Bitmapist::property_values`]); [`Bitmapist::set_property`] moves a user to one value
//!   and clears them from the others;
//! - **a saved snapshot** ([`Bitmapist::save_segment`]): the users of a [`UserSet`](crate::UserSet) at the
//!   time of saving, kept as the unique event `bitmapist:segment:{name}`, so Python reads it
//!   as `UniqueEvents("bitmapist:segment:NAME")` (key `{prefix}bitmapist:segment:NAME_u`);
//! - **a definition** ([`Bitmapist::define_segment`], a [`SegmentDef`]), evaluated each time it
//!   is used, as of the analysis' `now` (a filtered cohort table evaluates it at the
//!   table's `now`).
//!
//! Definitions and descriptions live in one metadata value per key prefix,
//! `{prefix}.segments` (see [`Store::get_meta`](crate::Store::get_meta): a plain string key
//! on Redis and Cluster, the `store_meta` table of the embedded file, a map in memory), a
//! JSON object `{"NAME": {"description": "...", "definition": {...} | null}}`; `null` marks
//! a snapshot. A snapshot key found without a record (written by Python, or by a process
//! whose record write was lost) is still listed and used, with an empty description.
//!
//! # Definitions
//!
//! With `P_1..P_n` the `n` periods of the time group that end with the one containing
//! `now` (on the store's zone) and `E[P]` the users of `E` in `P`:
//!
//! - [`SegmentDef::Did`]: `E[P_1] ∨ … ∨ E[P_n]`;
//! - [`SegmentDef::DidNot`]: every user **not** in `Did` (the complement, see below);
//! - [`SegmentDef::FirstTime`]: `Did` minus the users of `E` in any stored period (any time
//!   group) that ends at or before `P_1`'s start: their first-ever `E` is in the window;
//! - [`SegmentDef::ActiveIn`]: the users in at least `at_least` of `E[P_1] … E[P_n]`;
//! - [`SegmentDef::Segment`]: the users of another segment (any source);
//! - [`SegmentDef::And`], [`SegmentDef::Or`], [`SegmentDef::Not`]: intersection, union,
//!   complement.
//!
//! A store has no list of "all users", so a complement is kept as what it leaves out:
//! a segment evaluates to either *the users in B* or *everyone except B*, and AND, OR and
//! NOT stay exact on that pair (`In A ∧ AllBut B = In (A ∖ B)`, …). As a filter, "everyone
//! except B" keeps the analysed users not in B. Listing one alone
//! ([`Bitmapist::segment_users`]) is [`Error::InvalidArgument`]: AND it with a segment
//! that names its users.
//!
//! # Invariants
//!
//! - Segment names (saved or defined) are 1 to 100 characters of `A-Z a-z 0-9 _ . -`: no
//!   `:` (that names a property value) and no `,` (that separates a breakdown's segments).
//! - A definition refers only to segments that exist when it is defined, and never to
//!   itself through any chain ([`Bitmapist::define_segment`] refuses a cycle); deleting a
//!   segment others refer to is refused too.
//! - Every read a filter makes is restricted to the analysed users
//!   ([`Store::get_within`](crate::Store::get_within)); evaluation is per user, so the
//!   restricted answer is exactly the unrestricted one on those users.
//!
//! # What a crash can lose
//!
//! A snapshot writes its bitmap first, then the record: a crash between them leaves the
//! snapshot listed with an empty description. The record is one value rewritten whole:
//! two processes saving or defining segments at the same instant may lose one record
//! (last writer wins; the other snapshot's bitmap stays and is still listed). Property
//! writes are Redis bit writes, durable as the store's marks are.

mod breakdown;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bitmap::Bitmap;
use crate::client::{Bitmapist, check_event};
use crate::cohort::MAX_COHORT_SIZE;
use crate::error::{Argument, Error, Result};
use crate::period::{Period, TimeGroup};
use crate::store::KeyWrite;

pub use breakdown::{Breakdown, BreakdownValue, BrokenDown};
pub(crate) use breakdown::{disjoint, filtered, per_value};

/// The event whose unique key holds the snapshot `name`: `bitmapist:segment:{name}`.
///
/// ```
/// assert_eq!(bitmapist::segment_event("trial"), "bitmapist:segment:trial");
/// ```
pub fn segment_event(name: &str) -> String {
    format!("{SNAPSHOT_PREFIX}{name}")
}

const SNAPSHOT_PREFIX: &str = "bitmapist:segment:";

/// The longest segment name.
pub const MAX_SEGMENT_NAME: usize = 100;

/// How deep definitions may refer to one another.
const MAX_DEPTH: usize = 32;

/// The metadata key of the segment records of `prefix`: `{trackist_}.segments`.
///
/// ```
/// assert_eq!(bitmapist::segments_meta_key("trackist_"), "{trackist_}.segments");
/// ```
pub fn segments_meta_key(prefix: &str) -> String {
    format!("{{{prefix}}}.segments")
}

/// A segment evaluated when used (the README's "Segments" section gives the exact definitions).
///
/// Serializes externally tagged, e.g. `{"did": {"event": "active", "time_group": "days",
/// "periods": 7}}`, `{"not": {"segment": "trial"}}`, `{"and": [...]}`; [`FromStr`] reads
/// that JSON.
///
/// ```
/// use bitmapist::{SegmentDef, TimeGroup};
/// let def = SegmentDef::did("active", TimeGroup::Days, 7).and(SegmentDef::segment("trial").not());
/// let json = serde_json::to_string(&def).unwrap();
/// assert_eq!(json.parse::<SegmentDef>()?, def);
/// # Ok::<(), bitmapist::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentDef {
    /// Did `event` in the last `periods` periods of `time_group`.
    Did {
        /// The event.
        event: String,
        /// The period size.
        time_group: TimeGroup,
        /// How many periods, the last one containing `now`.
        periods: usize,
    },
    /// Did not do `event` in the last `periods` periods (the complement of [`SegmentDef::Did`]).
    DidNot {
        /// The event.
        event: String,
        /// The period size.
        time_group: TimeGroup,
        /// How many periods, the last one containing `now`.
        periods: usize,
    },
    /// Did `event` for the first time (in its whole stored history) in the last `periods`.
    FirstTime {
        /// The event.
        event: String,
        /// The period size.
        time_group: TimeGroup,
        /// How many periods, the last one containing `now`.
        periods: usize,
    },
    /// Did `event` in at least `at_least` of the last `of` periods.
    ActiveIn {
        /// The event.
        event: String,
        /// The period size.
        time_group: TimeGroup,
        /// The fewest active periods.
        at_least: usize,
        /// How many periods, the last one containing `now`.
        of: usize,
    },
    /// The users of another segment.
    Segment(String),
    /// In every one of these.
    And(Vec<SegmentDef>),
    /// In any one of these.
    Or(Vec<SegmentDef>),
    /// Not in this one.
    Not(Box<SegmentDef>),
}

impl SegmentDef {
    /// [`SegmentDef::Did`].
    pub fn did(event: impl Into<String>, time_group: TimeGroup, periods: usize) -> Self {
        SegmentDef::Did {
            event: event.into(),
            time_group,
            periods,
        }
    }

    /// [`SegmentDef::DidNot`].
    pub fn did_not(event: impl Into<String>, time_group: TimeGroup, periods: usize) -> Self {
        SegmentDef::DidNot {
            event: event.into(),
            time_group,
            periods,
        }
    }

    /// [`SegmentDef::FirstTime`].
    pub fn first_time(event: impl Into<String>, time_group: TimeGroup, periods: usize) -> Self {
        SegmentDef::FirstTime {
            event: event.into(),
            time_group,
            periods,
        }
    }

    /// [`SegmentDef::ActiveIn`].
    pub fn active_in(
        event: impl Into<String>,
        time_group: TimeGroup,
        at_least: usize,
        of: usize,
    ) -> Self {
        SegmentDef::ActiveIn {
            event: event.into(),
            time_group,
            at_least,
            of,
        }
    }

    /// [`SegmentDef::Segment`].
    pub fn segment(name: impl Into<String>) -> Self {
        SegmentDef::Segment(name.into())
    }

    /// `self AND other`.
    pub fn and(self, other: SegmentDef) -> Self {
        match self {
            SegmentDef::And(mut all) => {
                all.push(other);
                SegmentDef::And(all)
            }
            one => SegmentDef::And(vec![one, other]),
        }
    }

    /// `self OR other`.
    pub fn or(self, other: SegmentDef) -> Self {
        match self {
            SegmentDef::Or(mut any) => {
                any.push(other);
                SegmentDef::Or(any)
            }
            one => SegmentDef::Or(vec![one, other]),
        }
    }

    /// `NOT self`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        SegmentDef::Not(Box::new(self))
    }

    /// Checks events, period counts and operand lists (not the referred segments).
    fn validate(&self) -> Result<()> {
        let periods_ok = |n: usize| {
            if (1..=MAX_COHORT_SIZE).contains(&n) {
                Ok(())
            } else {
                Err(Error::invalid_arg(
                    Argument::Segment,
                    format!("{n} periods is not in 1..={MAX_COHORT_SIZE}"),
                ))
            }
        };
        match self {
            SegmentDef::Did { event, periods, .. }
            | SegmentDef::DidNot { event, periods, .. }
            | SegmentDef::FirstTime { event, periods, .. } => {
                check_event(event)?;
                periods_ok(*periods)
            }
            SegmentDef::ActiveIn {
                event,
                at_least,
                of,
                ..
            } => {
                check_event(event)?;
                periods_ok(*of)?;
                if !(1..=*of).contains(at_least) {
                    return Err(Error::invalid_arg(
                        Argument::Segment,
                        format!("at_least {at_least} is not in 1..={of}"),
                    ));
                }
                Ok(())
            }
            SegmentDef::Segment(_) => Ok(()),
            SegmentDef::And(list) | SegmentDef::Or(list) => {
                if list.is_empty() {
                    return Err(Error::invalid_arg(
                        Argument::Segment,
                        "an and/or needs at least one operand",
                    ));
                }
                list.iter().try_for_each(SegmentDef::validate)
            }
            SegmentDef::Not(inner) => inner.validate(),
        }
    }

    /// The segment names this definition refers to directly or inside AND/OR/NOT.
    fn references(&self, out: &mut Vec<String>) {
        match self {
            SegmentDef::Segment(name) => out.push(name.clone()),
            SegmentDef::And(list) | SegmentDef::Or(list) => {
                list.iter().for_each(|d| d.references(out))
            }
            SegmentDef::Not(inner) => inner.references(out),
            _ => {}
        }
    }
}

impl FromStr for SegmentDef {
    type Err = Error;
    /// The JSON [`SegmentDef`] serializes to.
    fn from_str(s: &str) -> Result<Self> {
        serde_json::from_str(s).map_err(|e| {
            Error::invalid_arg(
                Argument::Segment,
                format!("not a segment definition ({e}); e.g. {{\"did\": {{\"event\": \"active\", \"time_group\": \"days\", \"periods\": 7}}}}"),
            )
        })
    }
}

impl fmt::Display for SegmentDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&json)
    }
}

/// Where a segment's users come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "definition")]
pub enum SegmentSource {
    /// A saved set of users, under the unique event [`segment_event`].
    Snapshot,
    /// Evaluated when used.
    Definition(SegmentDef),
}

/// A saved or defined segment, as [`Bitmapist::segments`] lists it.
///
/// Serializes as `{"name", "description", "kind": "snapshot" | "definition",
/// "definition"?}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SegmentInfo {
    /// The name.
    pub name: String,
    /// What it is, in the words of whoever saved it.
    pub description: String,
    /// Snapshot or definition.
    #[serde(flatten)]
    pub source: SegmentSource,
}

/// One record of `{prefix}.segments`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Record {
    #[serde(default)]
    description: String,
    #[serde(default)]
    definition: Option<SegmentDef>,
}

type Records = BTreeMap<String, Record>;

/// Checks a segment name (see the module's invariants).
pub(crate) fn check_segment_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_SEGMENT_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_arg(
            Argument::Segment,
            format!(
                "{name:?} is not a segment name: 1 to {MAX_SEGMENT_NAME} characters of A-Z a-z 0-9 _ . -"
            ),
        ))
    }
}

/// The users a segment has: those in a set, or everyone except a set (a complement, which
/// a store without a list of all users can only keep as what it leaves out).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Members {
    /// The users in the bitmap.
    In(Bitmap),
    /// Every user except those in the bitmap.
    AllBut(Bitmap),
}

impl Members {
    /// Intersection.
    pub(crate) fn and(&self, other: &Members) -> Members {
        match (self, other) {
            (Members::In(a), Members::In(b)) => Members::In(a.and(b)),
            (Members::In(a), Members::AllBut(b)) | (Members::AllBut(b), Members::In(a)) => {
                Members::In(a.difference(b))
            }
            (Members::AllBut(a), Members::AllBut(b)) => Members::AllBut(a.or(b)),
        }
    }

    /// Union.
    pub(crate) fn or(&self, other: &Members) -> Members {
        match (self, other) {
            (Members::In(a), Members::In(b)) => Members::In(a.or(b)),
            (Members::In(a), Members::AllBut(b)) | (Members::AllBut(b), Members::In(a)) => {
                Members::AllBut(b.difference(a))
            }
            (Members::AllBut(a), Members::AllBut(b)) => Members::AllBut(a.and(b)),
        }
    }

    /// Complement.
    pub(crate) fn not(self) -> Members {
        match self {
            Members::In(b) => Members::AllBut(b),
            Members::AllBut(b) => Members::In(b),
        }
    }

    /// `users ∧ self`.
    pub(crate) fn apply(&self, users: &Bitmap) -> Bitmap {
        match self {
            Members::In(b) => users.and(b),
            Members::AllBut(b) => users.difference(b),
        }
    }

    /// `|users ∧ self|`.
    pub(crate) fn count_in(&self, users: &Bitmap) -> u64 {
        match self {
            Members::In(b) => users.intersection_count(b),
            Members::AllBut(b) => users.count() - users.intersection_count(b),
        }
    }
}

/// `users ∧ mask`, or `users` itself without a mask.
pub(crate) fn masked<'a>(
    users: &'a Bitmap,
    mask: Option<&Members>,
) -> std::borrow::Cow<'a, Bitmap> {
    match mask {
        None => std::borrow::Cow::Borrowed(users),
        Some(m) => std::borrow::Cow::Owned(m.apply(users)),
    }
}

/// `|users ∧ mask|`.
pub(crate) fn masked_count(users: &Bitmap, mask: Option<&Members>) -> u64 {
    match mask {
        None => users.count(),
        Some(m) => m.count_in(users),
    }
}

type Eval<'a> = Pin<Box<dyn Future<Output = Result<Members>> + Send + 'a>>;

impl Bitmapist {
    async fn records(&self) -> Result<Records> {
        let key = segments_meta_key(self.layout().prefix());
        match self.store().get_meta(&key).await? {
            None => Ok(Records::new()),
            Some(json) => serde_json::from_str(&json).map_err(|e| Error::CorruptBitmap {
                key,
                reason: format!("the segment records are not valid JSON: {e}"),
            }),
        }
    }

    async fn write_records(&self, records: &Records) -> Result<()> {
        let key = segments_meta_key(self.layout().prefix());
        let json = serde_json::to_string(records).map_err(|e| {
            Error::invalid_arg(Argument::Segment, format!("cannot encode records: {e}"))
        })?;
        self.store().set_meta(&key, &json).await
    }

    /// The key of a snapshot's users.
    fn snapshot_key(&self, name: &str) -> String {
        self.layout().key(&segment_event(name), &Period::unique())
    }

    /// The names of the snapshots stored as unique events (with or without a record).
    async fn snapshot_names(&self) -> Result<Vec<String>> {
        let layout = self.layout();
        let keys = self
            .store()
            .keys(&format!("{}{SNAPSHOT_PREFIX}", layout.prefix()))
            .await?;
        Ok(keys
            .iter()
            .filter_map(|k| layout.parse(k))
            .filter(|(_, p)| p.is_unique())
            .filter_map(|(e, _)| e.strip_prefix(SNAPSHOT_PREFIX))
            .filter(|n| check_segment_name(n).is_ok())
            .map(str::to_string)
            .collect())
    }

    /// Every saved or defined segment, by name.
    pub async fn segments(&self) -> Result<Vec<SegmentInfo>> {
        let records = self.records().await?;
        let mut out: BTreeMap<String, SegmentInfo> = records
            .into_iter()
            .map(|(name, r)| {
                let source = match r.definition {
                    Some(d) => SegmentSource::Definition(d),
                    None => SegmentSource::Snapshot,
                };
                (
                    name.clone(),
                    SegmentInfo {
                        name,
                        description: r.description,
                        source,
                    },
                )
            })
            .collect();
        for name in self.snapshot_names().await? {
            out.entry(name.clone()).or_insert(SegmentInfo {
                name,
                description: String::new(),
                source: SegmentSource::Snapshot,
            });
        }
        Ok(out.into_values().collect())
    }

    /// One segment, `None` when no segment of that name is saved or defined (property
    /// values are not segments of their own: see [`Bitmapist::property_values`]).
    pub async fn segment(&self, name: &str) -> Result<Option<SegmentInfo>> {
        Ok(self.segments().await?.into_iter().find(|s| s.name == name))
    }

    /// Saves `users` as the snapshot `name` (replacing a segment of that name) with its
    /// description; returns how many users were saved. [`Bitmapist::save_segment`] is the
    /// public form (the users of a [`UserSet`](crate::UserSet)(crate::UserSet)).
    pub(crate) async fn save_snapshot(
        &self,
        name: &str,
        users: Bitmap,
        description: &str,
    ) -> Result<u64> {
        check_segment_name(name)?;
        let mut records = self.records().await?;
        self.check_not_referenced(&records, name, false)?;
        let n = users.count();
        // One whole-value replace: the old snapshot's users never mix with the new ones.
        let key = self.snapshot_key(name);
        self.store()
            .put(&[(key, Bitmap::from_bits(users.into_bits()))])
            .await?;
        records.insert(
            name.to_string(),
            Record {
                description: description.to_string(),
                definition: None,
            },
        );
        self.write_records(&records).await?;
        Ok(n)
    }

    /// Defines `name` as `def`, evaluated whenever it is used (replacing a segment of that
    /// name). Refuses unknown referred segments and cycles.
    pub async fn define_segment(
        &self,
        name: &str,
        def: SegmentDef,
        description: &str,
    ) -> Result<()> {
        check_segment_name(name)?;
        def.validate()?;
        let mut records = self.records().await?;
        let snapshots = self.snapshot_names().await?;
        let mut refs = Vec::new();
        def.references(&mut refs);
        for r in &refs {
            if r == name {
                return Err(Error::invalid_arg(
                    Argument::Segment,
                    format!("segment {name:?} cannot refer to itself"),
                ));
            }
            if r.contains(':') {
                let key = self.layout().key(r, &Period::unique());
                if self.store().get(&[key]).await?.pop().flatten().is_none() {
                    self.missing_value(r).await?;
                }
            } else if !records.contains_key(r) && !snapshots.contains(r) {
                return Err(unknown_segment(r));
            }
        }
        // A cycle through other definitions: does anything `def` reaches refer to `name`?
        let mut stack = refs;
        let mut seen = std::collections::HashSet::new();
        while let Some(r) = stack.pop() {
            if r == name {
                return Err(Error::invalid_arg(
                    Argument::Segment,
                    format!("segment {name:?} would refer to itself through {r:?}"),
                ));
            }
            if !seen.insert(r.clone()) {
                continue;
            }
            if let Some(Record {
                definition: Some(d),
                ..
            }) = records.get(&r)
            {
                d.references(&mut stack);
            }
        }
        // A snapshot of this name is replaced: its users go.
        let key = self.snapshot_key(name);
        self.store().delete(std::slice::from_ref(&key)).await?;
        records.insert(
            name.to_string(),
            Record {
                description: description.to_string(),
                definition: Some(def),
            },
        );
        self.write_records(&records).await
    }

    /// Deletes a saved or defined segment; `false` when there was none. Refuses (naming
    /// them) while other definitions refer to it.
    pub async fn delete_segment(&self, name: &str) -> Result<bool> {
        check_segment_name(name)?;
        let mut records = self.records().await?;
        self.check_not_referenced(&records, name, true)?;
        let had_record = records.remove(name).is_some();
        if had_record {
            self.write_records(&records).await?;
        }
        let had_key = self.store().delete(&[self.snapshot_key(name)]).await? > 0;
        Ok(had_record || had_key)
    }

    fn check_not_referenced(&self, records: &Records, name: &str, deleting: bool) -> Result<()> {
        let users: Vec<&String> = records
            .iter()
            .filter(|(n, r)| {
                n.as_str() != name
                    && r.definition.as_ref().is_some_and(|d| {
                        let mut refs = Vec::new();
                        d.references(&mut refs);
                        refs.iter().any(|r| r == name)
                    })
            })
            .map(|(n, _)| n)
            .collect();
        if deleting && !users.is_empty() {
            return Err(Error::invalid_arg(
                Argument::Segment,
                format!("segment {name:?} is used by {users:?}; delete or redefine those first"),
            ));
        }
        Ok(())
    }

    /// The users of segment `name` (any source) as of `now`. A segment that is a complement
    /// ("did not", NOT) lists no users on its own: [`Error::InvalidArgument`].
    pub async fn segment_users(&self, name: &str, now: DateTime<Utc>) -> Result<Bitmap> {
        match self.resolve(name, now, None, 0).await? {
            Members::In(b) => Ok(b),
            Members::AllBut(_) => Err(Error::invalid_arg(
                Argument::Segment,
                format!(
                    "segment {name:?} is everyone except a set of users (it uses \"did not\" or NOT): it filters analyses but cannot be listed alone"
                ),
            )),
        }
    }

    /// The users of segments `names` (all of them: AND) as of `now`, read restricted to
    /// `within` when given; `None` for no segment.
    pub(crate) async fn segment_filter(
        &self,
        names: &[String],
        now: DateTime<Utc>,
        within: Option<&Bitmap>,
    ) -> Result<Option<Members>> {
        let mut out: Option<Members> = None;
        for name in names {
            let m = self.resolve(name, now, within, 0).await?;
            out = Some(match out {
                None => m,
                Some(o) => o.and(&m),
            });
        }
        Ok(out)
    }

    /// One segment name's users (see the module docs for the order of sources).
    pub(crate) fn resolve<'a>(
        &'a self,
        name: &'a str,
        now: DateTime<Utc>,
        within: Option<&'a Bitmap>,
        depth: usize,
    ) -> Eval<'a> {
        Box::pin(async move {
            if depth > MAX_DEPTH {
                return Err(Error::invalid_arg(
                    Argument::Segment,
                    format!("segment {name:?}: definitions nest deeper than {MAX_DEPTH}"),
                ));
            }
            if name.contains(':') {
                let key = self.layout().key(name, &Period::unique());
                return match self.read(&[key], within).await?.pop().flatten() {
                    Some(b) => Ok(Members::In(b)),
                    None => self
                        .missing_value(name)
                        .await
                        .map(|()| Members::In(Bitmap::new())),
                };
            }
            check_segment_name(name)?;
            let record = self.records().await?.remove(name);
            let known = record.is_some();
            if let Some(def) = record.and_then(|r| r.definition) {
                return self.evaluate_def(&def, now, within, depth + 1).await;
            }
            // A snapshot, with or without its record.
            let key = self.snapshot_key(name);
            match self.read(&[key], within).await?.pop().flatten() {
                Some(b) => Ok(Members::In(b)),
                None if known => Ok(Members::In(Bitmap::new())),
                None => Err(unknown_segment(name)),
            }
        })
    }

    /// A property value `prop:value` without a key: nobody has it, which is fine for a
    /// property with other values, and an unknown segment for a property with none (most
    /// likely a misspelt name).
    async fn missing_value(&self, name: &str) -> Result<()> {
        let prop = name.rsplit_once(':').map_or(name, |(p, _)| p);
        if prop.is_empty() || self.property_values(prop).await?.is_empty() {
            return Err(unknown_segment(name));
        }
        Ok(())
    }

    /// Reads keys, restricted to `within` when given.
    async fn read(&self, keys: &[String], within: Option<&Bitmap>) -> Result<Vec<Option<Bitmap>>> {
        match within {
            None => self.store().get(keys).await,
            Some(w) => self.store().get_within(keys, w).await,
        }
    }

    /// The users of `event` in each of the `n` periods ending with the one containing `now`.
    async fn period_users(
        &self,
        event: &str,
        time_group: TimeGroup,
        n: usize,
        now: DateTime<Utc>,
        within: Option<&Bitmap>,
    ) -> Result<(Vec<Period>, Vec<Bitmap>)> {
        let periods = self.timezone().periods_up_to(time_group, now, n)?;
        let layout = self.layout();
        let per: Vec<Vec<String>> = periods.iter().map(|p| layout.keys(event, p)).collect();
        let keys: Vec<String> = per.iter().flatten().cloned().collect();
        let mut got = self.read(&keys, within).await?.into_iter();
        let users = per
            .iter()
            .map(|ks| {
                let mut b = Bitmap::new();
                for x in got.by_ref().take(ks.len()).flatten() {
                    b.or_assign(&x);
                }
                b
            })
            .collect();
        Ok((periods, users))
    }

    /// Evaluates a definition (see the module docs).
    pub(crate) fn evaluate_def<'a>(
        &'a self,
        def: &'a SegmentDef,
        now: DateTime<Utc>,
        within: Option<&'a Bitmap>,
        depth: usize,
    ) -> Eval<'a> {
        Box::pin(async move {
            Ok(match def {
                SegmentDef::Did {
                    event,
                    time_group,
                    periods,
                }
                | SegmentDef::DidNot {
                    event,
                    time_group,
                    periods,
                } => {
                    let (_, per) = self
                        .period_users(event, *time_group, *periods, now, within)
                        .await?;
                    let mut all = Bitmap::new();
                    per.iter().for_each(|b| all.or_assign(b));
                    if matches!(def, SegmentDef::Did { .. }) {
                        Members::In(all)
                    } else {
                        Members::AllBut(all)
                    }
                }
                SegmentDef::FirstTime {
                    event,
                    time_group,
                    periods,
                } => {
                    let (ps, per) = self
                        .period_users(event, *time_group, *periods, now, within)
                        .await?;
                    let mut all = Bitmap::new();
                    per.iter().for_each(|b| all.or_assign(b));
                    let before = match ps.first() {
                        Some(&first) => self.users_before(event, first, &all).await?,
                        None => Bitmap::new(),
                    };
                    Members::In(all.difference(&before))
                }
                SegmentDef::ActiveIn {
                    event,
                    time_group,
                    at_least,
                    of,
                } => {
                    let (_, per) = self
                        .period_users(event, *time_group, *of, now, within)
                        .await?;
                    let k = *at_least;
                    // reached[j]: users active in at least j + 1 of the periods so far.
                    let mut reached: Vec<Bitmap> = vec![Bitmap::new(); k];
                    for d in per.iter().filter(|d| !d.is_empty()) {
                        for j in (1..k).rev() {
                            let grown = reached[j - 1].and(d);
                            reached[j].or_assign(&grown);
                        }
                        reached[0].or_assign(d);
                    }
                    Members::In(reached.pop().unwrap_or_default())
                }
                SegmentDef::Segment(name) => self.resolve(name, now, within, depth + 1).await?,
                SegmentDef::And(list) | SegmentDef::Or(list) => {
                    let mut acc: Option<Members> = None;
                    for d in list {
                        let m = self.evaluate_def(d, now, within, depth + 1).await?;
                        acc = Some(match (acc, def) {
                            (None, _) => m,
                            (Some(a), SegmentDef::And(_)) => a.and(&m),
                            (Some(a), _) => a.or(&m),
                        });
                    }
                    acc.unwrap_or(Members::In(Bitmap::new()))
                }
                SegmentDef::Not(inner) => self
                    .evaluate_def(inner, now, within, depth + 1)
                    .await?
                    .not(),
            })
        })
    }

    /// The values of property `prop`: the unique events `prop:VALUE` (VALUE without `:`)
    /// that have users, sorted. A value whose last user moved to another one is not listed,
    /// on every store alike (Redis keeps an emptied key, the embedded file drops it).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bitmapist::Error> {
    /// let bm = bitmapist::Bitmapist::open("memory://").await?;
    /// bm.set_property("plan", "pro", 1).await?;
    /// bm.set_property("plan", "free", 2).await?;
    /// bm.set_property("plan", "free", 1).await?;
    /// assert_eq!(bm.property_values("plan").await?, ["free"]);
    /// assert_eq!(bm.segment_users("plan:free", chrono::Utc::now()).await?.count(), 2);
    /// assert_eq!(bm.segment_users("plan:pro", chrono::Utc::now()).await?.count(), 0);
    /// # Ok(()) }
    /// ```
    pub async fn property_values(&self, prop: &str) -> Result<Vec<String>> {
        check_property(prop)?;
        let layout = self.layout();
        let start = format!("{}{}:", layout.prefix(), prop);
        let keys = self.store().keys(&start).await?;
        let mut values: Vec<String> = keys
            .iter()
            .filter_map(|k| layout.parse(k))
            .filter(|(_, p)| p.is_unique())
            .filter_map(|(e, _)| e.strip_prefix(prop)?.strip_prefix(':'))
            .filter(|v| !v.is_empty() && !v.contains(':'))
            .map(str::to_string)
            .collect();
        values.sort_unstable();
        values.dedup();
        if values.is_empty() {
            return Ok(values);
        }
        let keys: Vec<String> = values
            .iter()
            .map(|v| layout.key(&format!("{prop}:{v}"), &Period::unique()))
            .collect();
        let counts = self.store().count(&keys).await?;
        Ok(values
            .into_iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|(v, _)| v)
            .collect())
    }

    /// Sets user `uid`'s value of property `prop` to `value`: marks the unique event
    /// `prop:value` and clears the user from every other value of `prop`, in one write.
    pub async fn set_property(&self, prop: &str, value: &str, uid: u32) -> Result<()> {
        self.set_properties(prop, &[(uid, value)]).await
    }

    /// Sets many users' values of `prop` at once (see [`Bitmapist::set_property`]).
    pub async fn set_properties<V: AsRef<str>>(
        &self,
        prop: &str,
        values: &[(u32, V)],
    ) -> Result<()> {
        check_property(prop)?;
        let mut by_value: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for (uid, v) in values {
            let v = v.as_ref();
            if v.is_empty() || v.contains(':') {
                return Err(Error::invalid_arg(
                    Argument::Property,
                    format!("{v:?} is not a property value: non-empty, without ':'"),
                ));
            }
            by_value.entry(v).or_default().push(*uid);
        }
        let mut existing = self.property_values(prop).await?;
        existing.extend(by_value.keys().map(|v| v.to_string()));
        existing.sort_unstable();
        existing.dedup();
        let layout = self.layout();
        let all: Vec<u32> = by_value.values().flatten().copied().collect();
        let mut writes = Vec::new();
        for v in &existing {
            let key = layout.key(&format!("{prop}:{v}"), &Period::unique());
            let mine = by_value.get(v.as_str());
            let others: Vec<u32> = match mine {
                None => all.clone(),
                Some(m) => {
                    let m: std::collections::HashSet<u32> = m.iter().copied().collect();
                    all.iter().copied().filter(|u| !m.contains(u)).collect()
                }
            };
            if !others.is_empty() {
                writes.push(KeyWrite {
                    key: key.clone(),
                    value: false,
                    offsets: others,
                });
            }
            if let Some(m) = mine {
                writes.push(KeyWrite {
                    key,
                    value: true,
                    offsets: m.clone(),
                });
            }
        }
        self.store_write(&writes).await
    }
}

fn check_property(prop: &str) -> Result<()> {
    if prop.is_empty() || prop.contains(',') {
        return Err(Error::invalid_arg(
            Argument::Property,
            format!("{prop:?} is not a property name: non-empty, without ','"),
        ));
    }
    Ok(())
}

/// The error for a name that is no segment.
pub(crate) fn unknown_segment(name: &str) -> Error {
    Error::invalid_arg(
        Argument::Segment,
        format!(
            "unknown segment {name:?}: not a saved or defined segment, nor a value of a property that has values (prop:value)"
        ),
    )
}

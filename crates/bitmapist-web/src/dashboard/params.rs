//! Query parameters of the dashboard: parsing the raw query string and validating it.
//! Every rejection names its parameter; nothing here panics on request input.
//!
//! The cohort parameters keep Flask-Bitmapist's names (`primary_event`, `secondary_event`,
//! `time_group`, `num_rows`, `num_cols`, `as_percent`, `with_replacement`), plus `now` and a
//! repeated `additional=and:EVENT` / `additional=or:EVENT` in chain order. The HTML form
//! sends its chain as paired `additional_op` / `additional_event` fields instead (a form
//! cannot join two fields into one value without JavaScript); the page redirects those to
//! the canonical `additional` form.
//!
//! Retention modes add `retention` (`first-return`, `on`, `on-or-after`; `with_replacement`
//! stays a synonym of `on`), `first_time`, `average` (`simple`, `weighted`) and
//! `complete_only` (see [`bitmapist::retention`]).

use bitmapist::{
    Average, ChainOp, ChainedEvent, CohortKind, CohortSpec, Criterion, RetentionSpec, TimeGroup,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use url::form_urlencoded;

use super::error::DashboardError;

/// The largest `num_rows` and `num_cols` the dashboard accepts.
pub const MAX_CELLS_PER_SIDE: usize = 400;
/// The most additional events one chain may have.
pub const MAX_ADDITIONAL: usize = 32;
/// The longest event name accepted, in bytes.
pub const MAX_EVENT_LEN: usize = 1024;
/// Rows and columns when the request names none.
pub const DEFAULT_SIDE: usize = 10;
/// Events per overview page when the request names none.
pub const DEFAULT_PER_PAGE: usize = 100;
/// The most events one overview page may have.
pub const MAX_PER_PAGE: usize = 500;

/// A query string as name/value pairs, in order, percent-decoded.
#[derive(Clone, Debug, Default)]
pub struct Pairs(Vec<(String, String)>);

impl Pairs {
    /// Parses `a=1&b=2` (the part after `?`); malformed escapes decode lossily.
    pub fn parse(query: Option<&str>) -> Self {
        Pairs(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The last value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` is present at all.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// A 400 naming `param`.
pub fn bad(param: &'static str, message: impl Into<String>) -> DashboardError {
    DashboardError::BadParam {
        param,
        message: message.into(),
    }
}

/// A whole number in `1..=max`, or `default` when absent or empty.
pub fn parse_count(
    param: &'static str,
    raw: Option<&str>,
    default: usize,
    max: usize,
) -> Result<usize, DashboardError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(default);
    };
    let n: usize = raw
        .parse()
        .map_err(|_| bad(param, format!("{param}: {raw:?} is not a whole number")))?;
    if !(1..=max).contains(&n) {
        return Err(bad(
            param,
            format!("{param}: {n} is not between 1 and {max}"),
        ));
    }
    Ok(n)
}

/// An HTML checkbox: `on`, `true`, `1`, `yes` are true; absent, empty, `off`, `false`,
/// `0`, `no` are false.
pub fn parse_flag(param: &'static str, raw: Option<&str>) -> Result<bool, DashboardError> {
    let Some(raw) = raw else { return Ok(false) };
    match raw.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "" | "off" | "false" | "0" | "no" => Ok(false),
        _ => Err(bad(
            param,
            format!("{param}: {raw:?} is not a checkbox value (on, true, 1, or absent)"),
        )),
    }
}

/// A time group: `days`, `weeks`, `months`, `years` (or `hours`), singular or plural;
/// `days` when absent or empty.
pub fn parse_time_group(raw: Option<&str>) -> Result<TimeGroup, DashboardError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(TimeGroup::Days),
        Some(s) => s.parse().map_err(|_| {
            bad(
                "time_group",
                format!("time_group: {s:?} is not one of days, weeks, months, years, hours"),
            )
        }),
    }
}

/// The "as of" instant: `YYYY-MM-DD` (the end of that day, UTC), RFC 3339, or
/// `YYYY-MM-DDTHH:MM[:SS]` (UTC); now when absent or empty. Handlers then read the forms
/// without an offset in the store's zone (`dashboard::zone::local_now`).
pub fn parse_now(raw: Option<&str>) -> Result<DateTime<Utc>, DashboardError> {
    let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(Utc::now());
    };
    let parsed = if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        NaiveTime::from_hms_opt(23, 59, 59).map(|t| d.and_time(t).and_utc())
    } else if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        Some(t.with_timezone(&Utc))
    } else {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
            .ok()
            .map(|t| t.and_utc())
    };
    let at = parsed.ok_or_else(|| {
        bad(
            "now",
            format!("now: {s:?} is not a date (YYYY-MM-DD) or an RFC 3339 time"),
        )
    })?;
    let year = chrono::Datelike::year(&at);
    if !(bitmapist::MIN_YEAR..=bitmapist::MAX_YEAR).contains(&year) {
        return Err(bad("now", format!("now: year {year} is out of range")));
    }
    Ok(at)
}

/// Checks an event name: not empty, not absurdly long.
pub fn check_event(param: &'static str, name: &str) -> Result<(), DashboardError> {
    if name.is_empty() {
        return Err(bad(param, format!("{param}: the event name is empty")));
    }
    if name.len() > MAX_EVENT_LEN {
        return Err(bad(
            param,
            format!("{param}: the event name is longer than {MAX_EVENT_LEN} bytes"),
        ));
    }
    Ok(())
}

/// Parses one `additional` value: `and:EVENT` or `or:EVENT`.
pub fn parse_chained(raw: &str) -> Result<ChainedEvent, DashboardError> {
    let (op, name) = raw.split_once(':').ok_or_else(|| {
        bad(
            "additional",
            format!("additional: {raw:?} is not \"and:EVENT\" or \"or:EVENT\""),
        )
    })?;
    let op: ChainOp = op.parse().map_err(|_| {
        bad(
            "additional",
            format!("additional: {raw:?} does not start with \"and:\" or \"or:\""),
        )
    })?;
    chained("additional", op, name)
}

/// One chained event from its operator and name, the name checked as `param`.
pub fn chained(
    param: &'static str,
    op: ChainOp,
    name: &str,
) -> Result<ChainedEvent, DashboardError> {
    check_event(param, name)?;
    Ok(ChainedEvent {
        name: name.to_string(),
        op,
    })
}

/// One chained event as the form shows it: the operator and the name, unvalidated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainRow {
    /// `and` or `or` (anything else is kept so that the form can show it).
    pub op: String,
    /// The event name.
    pub event: String,
}

/// The cohort parameters as sent, unvalidated: what the form shows back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CohortForm {
    /// `primary_event`, if present.
    pub primary: Option<String>,
    /// `secondary_event`, if present.
    pub secondary: Option<String>,
    /// The chain, canonical `additional` values first, then the form's pairs (rows whose
    /// event is blank are dropped).
    pub additional: Vec<ChainRow>,
    /// `additional` values that are not `op:EVENT`, kept for the error message.
    pub malformed_additional: Vec<String>,
    /// `time_group` as sent.
    pub time_group: String,
    /// `num_rows` as sent.
    pub num_rows: String,
    /// `num_cols` as sent.
    pub num_cols: String,
    /// `as_percent` as sent.
    pub as_percent: Option<String>,
    /// `with_replacement` as sent.
    pub with_replacement: Option<String>,
    /// `now` as sent.
    pub now: String,
    /// `retention` as sent.
    pub retention: Option<String>,
    /// `first_time` as sent.
    pub first_time: Option<String>,
    /// `average` as sent.
    pub average: Option<String>,
    /// `complete_only` as sent.
    pub complete_only: Option<String>,
    /// Whether the chain came (partly) as the form's pairs.
    pub has_form_pairs: bool,
}

/// A validated cohort request.
#[derive(Clone, Debug)]
pub struct CohortRequest {
    /// What the engine computes.
    pub spec: CohortSpec,
    /// Show fractions rather than counts.
    pub as_percent: bool,
    /// `now` as sent (empty: the moment of the request).
    pub now_raw: String,
    /// The retention mode: cohort kind, criterion, averages.
    pub mode: RetentionMode,
}

/// The retention mode of a request (the parts of a [`RetentionSpec`] beyond the cohort).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionMode {
    /// Recurring or first-time cohorts.
    pub kind: CohortKind,
    /// When a returning user counts.
    pub criterion: Criterion,
    /// How averages are taken.
    pub average: Average,
    /// Whether the current period is left out of the averages.
    pub complete_only: bool,
}

/// `retention`: `first-return`, `on` or `on-or-after`; absent or empty: `on` when
/// `with_replacement` is set, else `first-return`. Set together with `with_replacement`,
/// it must be `on`.
pub fn parse_criterion(
    raw: Option<&str>,
    with_replacement: bool,
) -> Result<Criterion, DashboardError> {
    let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(if with_replacement {
            Criterion::On
        } else {
            Criterion::FirstReturn
        });
    };
    let c: Criterion = s.parse().map_err(|_| {
        bad(
            "retention",
            format!("retention: {s:?} is not one of first-return, on, on-or-after"),
        )
    })?;
    if with_replacement && c != Criterion::On {
        return Err(bad(
            "retention",
            format!("retention: with_replacement means retention=on, not {c}"),
        ));
    }
    Ok(c)
}

/// `average`: `simple` or `weighted`; `simple` when absent or empty.
pub fn parse_average(raw: Option<&str>) -> Result<Average, DashboardError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Average::Simple),
        Some(s) => s.parse().map_err(|_| {
            bad(
                "average",
                format!("average: {s:?} is not one of simple, weighted"),
            )
        }),
    }
}

impl CohortForm {
    /// Reads the cohort parameters of a query.
    pub fn from_query(q: &Pairs) -> Self {
        let mut additional = Vec::new();
        let mut malformed = Vec::new();
        for raw in q.all("additional") {
            match raw.split_once(':') {
                Some((op, event)) => additional.push(ChainRow {
                    op: op.trim().to_ascii_lowercase(),
                    event: event.to_string(),
                }),
                None => malformed.push(raw.to_string()),
            }
        }
        let ops: Vec<&str> = q.all("additional_op").collect();
        let has_form_pairs = q.has("additional_op") || q.has("additional_event");
        for (i, event) in q.all("additional_event").enumerate() {
            if event.trim().is_empty() {
                continue;
            }
            let op = ops.get(i).copied().unwrap_or("and");
            additional.push(ChainRow {
                op: op.trim().to_ascii_lowercase(),
                event: event.to_string(),
            });
        }
        let text = |name: &str| q.get(name).unwrap_or("").to_string();
        CohortForm {
            primary: q.get("primary_event").map(str::to_string),
            secondary: q.get("secondary_event").map(str::to_string),
            additional,
            malformed_additional: malformed,
            time_group: text("time_group"),
            num_rows: text("num_rows"),
            num_cols: text("num_cols"),
            as_percent: q.get("as_percent").map(str::to_string),
            with_replacement: q.get("with_replacement").map(str::to_string),
            now: text("now"),
            retention: q.get("retention").map(str::to_string),
            first_time: q.get("first_time").map(str::to_string),
            average: q.get("average").map(str::to_string),
            complete_only: q.get("complete_only").map(str::to_string),
            has_form_pairs,
        }
    }

    /// The dashboard's default view, for a request that names no cohort parameter: weekly,
    /// on-or-after, as percent (a table that says something on typical data). Fields
    /// already sent are kept.
    pub fn default_view(&mut self) {
        if self.time_group.trim().is_empty() {
            self.time_group = "weeks".to_string();
        }
        if self.retention.is_none() && self.with_replacement.is_none() {
            self.retention = Some(Criterion::OnOrAfter.as_str().to_string());
        }
        if self.as_percent.is_none() {
            self.as_percent = Some("1".to_string());
        }
    }

    /// Validates every parameter; a missing event name is an error.
    pub fn validate(&self) -> Result<CohortRequest, DashboardError> {
        let primary = self
            .primary
            .as_deref()
            .ok_or_else(|| bad("primary_event", "primary_event is missing"))?;
        let secondary = self
            .secondary
            .as_deref()
            .ok_or_else(|| bad("secondary_event", "secondary_event is missing"))?;
        check_event("primary_event", primary)?;
        check_event("secondary_event", secondary)?;
        if let Some(raw) = self.malformed_additional.first() {
            return Err(bad(
                "additional",
                format!("additional: {raw:?} is not \"and:EVENT\" or \"or:EVENT\""),
            ));
        }
        if self.additional.len() > MAX_ADDITIONAL {
            return Err(bad(
                "additional",
                format!("additional: at most {MAX_ADDITIONAL} additional events"),
            ));
        }
        let additional = self
            .additional
            .iter()
            .map(|row| parse_chained(&format!("{}:{}", row.op, row.event)))
            .collect::<Result<Vec<_>, _>>()?;
        let time_group = parse_time_group(Some(&self.time_group))?;
        let rows = parse_count(
            "num_rows",
            Some(&self.num_rows),
            DEFAULT_SIDE,
            MAX_CELLS_PER_SIDE,
        )?;
        let cols = parse_count(
            "num_cols",
            Some(&self.num_cols),
            DEFAULT_SIDE,
            MAX_CELLS_PER_SIDE,
        )?;
        let as_percent = parse_flag("as_percent", self.as_percent.as_deref())?;
        let with_replacement = parse_flag("with_replacement", self.with_replacement.as_deref())?;
        let now = parse_now(Some(&self.now))?;
        let mode = RetentionMode {
            kind: if parse_flag("first_time", self.first_time.as_deref())? {
                CohortKind::FirstTime
            } else {
                CohortKind::Recurring
            },
            criterion: parse_criterion(self.retention.as_deref(), with_replacement)?,
            average: parse_average(self.average.as_deref())?,
            complete_only: parse_flag("complete_only", self.complete_only.as_deref())?,
        };
        Ok(CohortRequest {
            spec: CohortSpec::new(primary, secondary)
                .additional(additional)
                .time_group(time_group)
                .rows(rows)
                .cols(cols)
                .with_replacement(mode.criterion == Criterion::On)
                .now(now),
            as_percent,
            now_raw: self.now.trim().to_string(),
            mode,
        })
    }

    /// The canonical query string of what was sent (the form's pairs become `additional`
    /// values, blank fields are left out). Used to redirect form submissions.
    pub fn canonical_query(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if let Some(p) = &self.primary {
            s.append_pair("primary_event", p);
        }
        if let Some(p) = &self.secondary {
            s.append_pair("secondary_event", p);
        }
        for row in &self.additional {
            s.append_pair("additional", &format!("{}:{}", row.op, row.event));
        }
        for raw in &self.malformed_additional {
            s.append_pair("additional", raw);
        }
        for (name, value) in [
            ("time_group", &self.time_group),
            ("num_rows", &self.num_rows),
            ("num_cols", &self.num_cols),
        ] {
            if !value.trim().is_empty() {
                s.append_pair(name, value.trim());
            }
        }
        for (name, value) in [
            ("as_percent", &self.as_percent),
            ("with_replacement", &self.with_replacement),
            ("retention", &self.retention),
            ("first_time", &self.first_time),
            ("average", &self.average),
            ("complete_only", &self.complete_only),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                s.append_pair(name, v.trim());
            }
        }
        if !self.now.trim().is_empty() {
            s.append_pair("now", self.now.trim());
        }
        s.finish()
    }
}

impl CohortRequest {
    /// What the engine computes for this request.
    pub fn retention_spec(&self) -> RetentionSpec {
        RetentionSpec::new(self.spec.clone())
            .kind(self.mode.kind)
            .criterion(self.mode.criterion)
            .average(self.mode.average)
            .complete_only(self.mode.complete_only)
    }

    /// The canonical query string of this request, with `as_percent` set as given.
    pub fn query_string(&self, as_percent: bool) -> String {
        let spec = &self.spec;
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("primary_event", &spec.primary);
        s.append_pair("secondary_event", &spec.secondary);
        for c in &spec.additional {
            s.append_pair("additional", &format!("{}:{}", c.op, c.name));
        }
        s.append_pair("time_group", spec.time_group.as_str());
        s.append_pair("num_rows", &spec.rows.to_string());
        s.append_pair("num_cols", &spec.cols.to_string());
        if as_percent {
            s.append_pair("as_percent", "1");
        }
        // First return is the default of an explicit request: left out, as before.
        if self.mode.criterion != Criterion::FirstReturn {
            s.append_pair("retention", self.mode.criterion.as_str());
        }
        if self.mode.kind == CohortKind::FirstTime {
            s.append_pair("first_time", "1");
        }
        if self.mode.average != Average::Simple {
            s.append_pair("average", self.mode.average.as_str());
        }
        if self.mode.complete_only {
            s.append_pair("complete_only", "1");
        }
        if !self.now_raw.is_empty() {
            s.append_pair("now", &self.now_raw);
        }
        s.finish()
    }
}

/// The overview's parameters.
#[derive(Clone, Debug)]
pub struct OverviewRequest {
    /// Case-insensitive substring the event names must contain (empty: all).
    pub q: String,
    /// 1-based page.
    pub page: usize,
    /// Events per page.
    pub per_page: usize,
    /// The moment the counts are taken at.
    pub now: DateTime<Utc>,
    /// `now` as sent (empty: the moment of the request).
    pub now_raw: String,
}

impl OverviewRequest {
    /// Reads and validates `q`, `page`, `per_page` and `now`.
    pub fn from_query(q: &Pairs) -> Result<Self, DashboardError> {
        Ok(OverviewRequest {
            q: q.get("q").unwrap_or("").trim().to_string(),
            page: parse_count("page", q.get("page"), 1, usize::MAX / 2)?,
            per_page: parse_count(
                "per_page",
                q.get("per_page"),
                DEFAULT_PER_PAGE,
                MAX_PER_PAGE,
            )?,
            now: parse_now(q.get("now"))?,
            now_raw: q.get("now").unwrap_or("").trim().to_string(),
        })
    }

    /// The query string of page `page` of this listing.
    pub fn page_query(&self, page: usize) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            s.append_pair("q", &self.q);
        }
        if page > 1 {
            s.append_pair("page", &page.to_string());
        }
        if self.per_page != DEFAULT_PER_PAGE {
            s.append_pair("per_page", &self.per_page.to_string());
        }
        if !self.now_raw.is_empty() {
            s.append_pair("now", &self.now_raw);
        }
        s.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_original_names_and_the_chain() {
        let q = Pairs::parse(Some(
            "primary_event=user%3Asigned_up&secondary_event=user:logged_in\
             &additional=and:user:bought&additional=OR:user:upgraded&time_group=weeks\
             &num_rows=12&num_cols=8&as_percent=on&now=2026-11-22",
        ));
        let req = CohortForm::from_query(&q).validate().expect("valid");
        assert_eq!(req.spec.primary, "user:signed_up");
        assert_eq!(
            req.spec.additional,
            vec![
                ChainedEvent::and("user:bought"),
                ChainedEvent::or("user:upgraded")
            ]
        );
        assert_eq!(req.spec.time_group, TimeGroup::Weeks);
        assert_eq!((req.spec.rows, req.spec.cols), (12, 8));
        assert!(req.as_percent && !req.spec.with_replacement);
        assert_eq!(req.spec.now.to_rfc3339(), "2026-11-22T23:59:59+00:00");
    }

    #[test]
    fn form_pairs_become_additional_values() {
        let q = Pairs::parse(Some(
            "primary_event=a&secondary_event=b&additional_op=or&additional_event=c\
             &additional_op=and&additional_event=&now=",
        ));
        let form = CohortForm::from_query(&q);
        assert!(form.has_form_pairs);
        assert_eq!(
            form.canonical_query(),
            "primary_event=a&secondary_event=b&additional=or%3Ac"
        );
    }

    #[test]
    fn rejections_name_their_parameter() {
        let cases = [
            ("primary_event=&secondary_event=b", "primary_event"),
            ("secondary_event=b", "primary_event"),
            ("primary_event=a&secondary_event=b&num_rows=0", "num_rows"),
            ("primary_event=a&secondary_event=b&num_cols=401", "num_cols"),
            ("primary_event=a&secondary_event=b&num_cols=x", "num_cols"),
            (
                "primary_event=a&secondary_event=b&time_group=fortnights",
                "time_group",
            ),
            ("primary_event=a&secondary_event=b&now=22/11/2026", "now"),
            (
                "primary_event=a&secondary_event=b&additional=xor:c",
                "additional",
            ),
            (
                "primary_event=a&secondary_event=b&additional=c",
                "additional",
            ),
            (
                "primary_event=a&secondary_event=b&additional=and:",
                "additional",
            ),
            (
                "primary_event=a&secondary_event=b&as_percent=maybe",
                "as_percent",
            ),
        ];
        for (query, param) in cases {
            let err = CohortForm::from_query(&Pairs::parse(Some(query)))
                .validate()
                .expect_err(query);
            assert_eq!(err.param(), Some(param), "{query}");
        }
    }

    #[test]
    fn now_formats() {
        assert!(parse_now(Some("2026-11-22T13:05:00Z")).is_ok());
        assert!(parse_now(Some("2026-11-22T13:05:00+02:00")).is_ok());
        assert!(parse_now(Some("2026-11-22T13:05")).is_ok());
        assert!(parse_now(Some("2026-13-01")).is_err());
        assert!(parse_now(Some("+99999-01-01T00:00:00Z")).is_err());
    }
}

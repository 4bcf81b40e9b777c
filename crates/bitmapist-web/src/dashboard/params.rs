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
//! `complete_only` (see [`bitmapist::RetentionSpec`]).
//!
//! Invariants: a request is validated once, into a typed request ([`CohortRequest`],
//! [`OverviewRequest`]); pages show and link the validated values, never the text re-parsed.
//! A choice parameter (`time_group`, `retention`, `average`) may be absent (its default)
//! but not empty: `retention=` is a 400 naming it, like any other bad value. "As of" is
//! read in the store's zone ([`AsOf`]).

use bitmapist::{
    Average, ChainOp, ChainedEvent, CohortKind, CohortSpec, Criterion, RetentionSpec, TimeGroup,
    Zone,
};
use url::form_urlencoded;

use super::error::{DashboardError, bad};
use super::zone::AsOf;

/// The largest `num_rows` and `num_cols` the dashboard accepts: the engine's own limit.
pub const MAX_CELLS_PER_SIDE: usize = bitmapist::MAX_COHORT_SIZE;
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

    /// Every pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = &(String, String)> {
        self.0.iter()
    }

    /// Whether `name` is present at all.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// The segment filter of any page: every non-blank `segment` value, trimmed, in order
/// (several: users in all of them). Unknown names are the engine's to reject (400).
pub fn segments(q: &Pairs) -> Vec<String> {
    q.all("segment")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The breakdown of any page: `breakdown=plan` (a property) or `breakdown=trial,churned`
/// (segments), parsed by the engine's [`Breakdown`](bitmapist::Breakdown); `None` when
/// absent or blank.
pub fn breakdown(q: &Pairs) -> Result<Option<bitmapist::Breakdown>, DashboardError> {
    match q.get("breakdown").map(str::trim).filter(|b| !b.is_empty()) {
        None => Ok(None),
        Some(raw) => Ok(Some(raw.parse::<bitmapist::Breakdown>()?)),
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

/// Every time group, finest first: what the cohort page accepts.
pub const ALL_GROUPS: [TimeGroup; 5] = [
    TimeGroup::Hours,
    TimeGroup::Days,
    TimeGroup::Weeks,
    TimeGroup::Months,
    TimeGroup::Years,
];

/// A choice parameter's text: `None` when absent, a 400 naming `param` when empty.
fn choice<'a>(
    param: &'static str,
    raw: Option<&'a str>,
) -> Result<Option<&'a str>, DashboardError> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some("") => Err(bad(
            param,
            format!("{param}: the value is empty; leave the parameter out for its default"),
        )),
        Some(s) => Ok(Some(s)),
    }
}

/// A time group among `allowed` (singular or plural: `days`, `week`, ...), `default` when
/// absent; empty or another is a 400 naming `time_group`.
pub fn parse_time_group(
    raw: Option<&str>,
    allowed: &[TimeGroup],
    default: TimeGroup,
) -> Result<TimeGroup, DashboardError> {
    let Some(s) = choice("time_group", raw)? else {
        return Ok(default);
    };
    match s.parse::<TimeGroup>() {
        Ok(g) if allowed.contains(&g) => Ok(g),
        _ => {
            let names: Vec<&str> = allowed.iter().map(|g| g.as_str()).collect();
            Err(bad(
                "time_group",
                format!("time_group: {s:?} is not one of {}", names.join(", ")),
            ))
        }
    }
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

/// The operator of an `additional` value (`and`, `or`, any case), as `param`.
pub fn parse_op(param: &'static str, raw: &str, op: &str) -> Result<ChainOp, DashboardError> {
    op.trim().parse().map_err(|_| {
        bad(
            param,
            format!("{param}: {raw:?} does not start with \"and:\" or \"or:\""),
        )
    })
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
    pub time_group: Option<String>,
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
    /// The segment filter: every non-blank `segment` value, in order.
    pub segments: Vec<String>,
    /// `breakdown` as sent.
    pub breakdown: Option<String>,
}

/// A validated cohort request.
#[derive(Clone, Debug)]
pub struct CohortRequest {
    /// What the engine computes (its `now` is `as_of.at`).
    pub spec: CohortSpec,
    /// Show fractions rather than counts.
    pub as_percent: bool,
    /// "As of", in the store's zone.
    pub as_of: AsOf,
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

/// `retention`: `first-return`, `on` or `on-or-after`; absent: `on` when
/// `with_replacement` is set, else `first-return`; empty: a 400. Set together with
/// `with_replacement`, it must be `on`.
pub fn parse_criterion(
    raw: Option<&str>,
    with_replacement: bool,
) -> Result<Criterion, DashboardError> {
    let Some(s) = choice("retention", raw)? else {
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

/// `average`: `simple` or `weighted`; `simple` when absent; empty: a 400.
pub fn parse_average(raw: Option<&str>) -> Result<Average, DashboardError> {
    match choice("average", raw)? {
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
            segments: segments(q),
            breakdown: q.get("breakdown").map(str::to_string),
            primary: q.get("primary_event").map(str::to_string),
            secondary: q.get("secondary_event").map(str::to_string),
            additional,
            malformed_additional: malformed,
            time_group: q.get("time_group").map(str::to_string),
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
        if self.time_group.is_none() {
            self.time_group = Some("weeks".to_string());
        }
        if self.retention.is_none() && self.with_replacement.is_none() {
            self.retention = Some(Criterion::OnOrAfter.as_str().to_string());
        }
        if self.as_percent.is_none() {
            self.as_percent = Some("1".to_string());
        }
    }

    /// Validates every parameter, reading `now` in `zone`; a missing event name is an error.
    pub fn validate(&self, zone: Zone) -> Result<CohortRequest, DashboardError> {
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
            .map(|row| {
                let op = parse_op("additional", &row.event, &row.op)?;
                chained("additional", op, &row.event)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let time_group =
            parse_time_group(self.time_group.as_deref(), &ALL_GROUPS, TimeGroup::Days)?;
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
        let as_of = AsOf::parse("now", Some(&self.now), zone)?;
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
        let mut spec = CohortSpec::new(primary, secondary)
            .additional(additional)
            .time_group(time_group)
            .rows(rows)
            .cols(cols)
            .with_replacement(mode.criterion == Criterion::On)
            .now(as_of.at);
        for name in &self.segments {
            spec = spec.segment(name.as_str());
        }
        Ok(CohortRequest {
            spec,
            as_percent,
            as_of,
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
        if let Some(g) = self.time_group.as_deref().filter(|g| !g.trim().is_empty()) {
            s.append_pair("time_group", g.trim());
        }
        for (name, value) in [("num_rows", &self.num_rows), ("num_cols", &self.num_cols)] {
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
        for name in &self.segments {
            s.append_pair("segment", name);
        }
        if let Some(b) = self.breakdown.as_deref().filter(|b| !b.trim().is_empty()) {
            s.append_pair("breakdown", b.trim());
        }
        s.finish()
    }
}

impl CohortRequest {
    /// Every event the request names: primary, secondary, then the chain.
    pub fn events(&self) -> Vec<&str> {
        let spec = &self.spec;
        [spec.primary.as_str(), spec.secondary.as_str()]
            .into_iter()
            .chain(spec.additional.iter().map(|c| c.name.as_str()))
            .collect()
    }

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
            s.append_pair("additional", &chain_value(c));
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
        if !self.as_of.raw.is_empty() {
            s.append_pair("now", &self.as_of.raw);
        }
        for name in &spec.segments {
            s.append_pair("segment", name);
        }
        s.finish()
    }
}

/// A chained event as an `additional` value: `and:EVENT`, `or:EVENT`.
pub fn chain_value(c: &ChainedEvent) -> String {
    format!("{}:{}", c.op, c.name)
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
    /// The moment the counts are taken at, in the store's zone.
    pub as_of: AsOf,
    /// The segment filter: every count is of the users in all of them (as of `as_of`).
    pub segments: Vec<String>,
    /// The breakdown (`breakdown` as sent, trimmed) and its parse: each event's counts
    /// per value, then for the users in none.
    pub breakdown: Option<(String, bitmapist::Breakdown)>,
}

impl OverviewRequest {
    /// Reads and validates `q`, `page`, `per_page` and `now` (in `zone`).
    pub fn from_query(q: &Pairs, zone: Zone) -> Result<Self, DashboardError> {
        Ok(OverviewRequest {
            q: q.get("q").unwrap_or("").trim().to_string(),
            page: parse_count("page", q.get("page"), 1, usize::MAX / 2)?,
            per_page: parse_count(
                "per_page",
                q.get("per_page"),
                DEFAULT_PER_PAGE,
                MAX_PER_PAGE,
            )?,
            as_of: AsOf::parse("now", q.get("now"), zone)?,
            segments: segments(q),
            breakdown: breakdown(q)?
                .map(|b| (q.get("breakdown").unwrap_or("").trim().to_string(), b)),
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
        if !self.as_of.raw.is_empty() {
            s.append_pair("now", &self.as_of.raw);
        }
        for name in &self.segments {
            s.append_pair("segment", name);
        }
        if let Some((raw, _)) = &self.breakdown {
            s.append_pair("breakdown", raw);
        }
        s.finish()
    }
}

/// The users-link parameter of one breakdown value (see the module docs): `segment=plan:pro`
/// for a property's value, `segment=trial` for a segment of the list, `none_of=BREAKDOWN`
/// for the users in none (`value: None`).
pub fn value_pair(breakdown: &bitmapist::Breakdown, value: Option<&str>) -> (&'static str, String) {
    match (breakdown, value) {
        (_, None) => ("none_of", breakdown.to_string()),
        (bitmapist::Breakdown::Property(p), Some(v)) => ("segment", format!("{p}:{v}")),
        (bitmapist::Breakdown::Segments(_), Some(s)) => ("segment", s.to_string()),
    }
}

/// How one breakdown value is shown: `plan = pro`, `trial`, `in none of plan`.
pub fn value_label(breakdown: &bitmapist::Breakdown, value: Option<&str>) -> String {
    match (breakdown, value) {
        (_, None) => format!("in none of {breakdown}"),
        (bitmapist::Breakdown::Property(p), Some(v)) => format!("{p} = {v}"),
        (bitmapist::Breakdown::Segments(_), Some(s)) => s.to_string(),
    }
}

/// The query pairs, appended to a number's users link, that restrict it to one value of
/// the page's breakdown `by` (the users page's module docs): [`value_pair`], encoded.
pub fn breakdown_value_query(by: &bitmapist::Breakdown, value: Option<&str>) -> String {
    let (name, v) = value_pair(by, value);
    form_urlencoded::Serializer::new(String::new())
        .append_pair(name, &v)
        .finish()
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
        let req = CohortForm::from_query(&q)
            .validate(Zone::UTC)
            .expect("valid");
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
            ("primary_event=a&secondary_event=b&retention=", "retention"),
            ("primary_event=a&secondary_event=b&average=", "average"),
            (
                "primary_event=a&secondary_event=b&time_group=",
                "time_group",
            ),
        ];
        for (query, param) in cases {
            let err = CohortForm::from_query(&Pairs::parse(Some(query)))
                .validate(Zone::UTC)
                .expect_err(query);
            assert_eq!(err.param(), Some(param), "{query}");
        }
    }

    #[test]
    fn time_groups_among_the_allowed() {
        let weeks_months = [TimeGroup::Weeks, TimeGroup::Months];
        assert_eq!(
            parse_time_group(None, &weeks_months, TimeGroup::Weeks).ok(),
            Some(TimeGroup::Weeks)
        );
        assert_eq!(
            parse_time_group(Some("month"), &weeks_months, TimeGroup::Weeks).ok(),
            Some(TimeGroup::Months)
        );
        let e = parse_time_group(Some("days"), &weeks_months, TimeGroup::Weeks).expect_err("days");
        assert_eq!(
            e.to_string(),
            "time_group: \"days\" is not one of weeks, months"
        );
        assert!(parse_time_group(Some(" "), &ALL_GROUPS, TimeGroup::Days).is_err());
    }
}

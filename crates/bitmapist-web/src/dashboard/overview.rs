//! The events overview: every event with its counts this hour, day, week, month and year,
//! and its daily (30 days) and weekly (12 weeks) series; the page and the data behind it.
//!
//! One page of events costs two store calls whatever its size: one batched `count` of
//! every hour, day, week and month key, and one batched `get` of the twelve month keys
//! each year is read from.
//!
//! The segment filter (`segment=NAME`, repeatable: users in all of them, evaluated at the
//! page's `now`) makes every count the engine's filtered count ([`CountSpec`]: one batched
//! read of the cells' bitmaps, ANDed with the segments); it is kept in the paging, search
//! and JSON links and in each count's users link (`users?of=event&...&segment=`), so a
//! filtered count links to exactly its users. An unknown segment is the page's 400.
//!
//! The breakdown (`breakdown=plan`, or segments `breakdown=trial,churned`, as on every
//! page) adds under each event one row per value and one for the users in none, from the
//! engine's [`Bitmapist::count_by`] (one read of the cells and of the values for the whole
//! page); each per-value count links to its users with the value's parameter
//! ([`value_pair`]: `segment=plan:pro`, or `none_of=plan`). `/api/events` answers
//! `{"breakdown", "values": [{"value", "result": <the plain body>}]}`.

use askama::Template;
use bitmapist::{Bitmapist, Breakdown, BrokenDown, CountSpec, Horizon, Period, TimeGroup};
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::Serialize;
use url::form_urlencoded;

use super::DashboardState;
use super::charts::{Sparkline, sparkline};
use super::error::{DashboardError, FormPage, PageError, form_error, rendered};
use super::exchange::DashboardResponse;
use super::params::{OverviewRequest, Pairs};
use super::params::{value_label, value_pair};
use super::views::{Base, Layout};
use bitmapist::thousands;

/// Days in the daily series.
pub const DAYS: usize = 30;
/// Weeks in the weekly series.
pub const WEEKS: usize = 12;

/// How recently an event was marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alive {
    /// Marked today (or this hour).
    Today,
    /// Marked this ISO week, not today.
    ThisWeek,
    /// Not marked this week.
    Idle,
}

impl Alive {
    /// The CSS class of the status dot.
    pub fn class(self) -> &'static str {
        match self {
            Alive::Today => "dot live",
            Alive::ThisWeek => "dot recent",
            Alive::Idle => "dot idle",
        }
    }

    /// The status for people.
    pub fn text(self) -> &'static str {
        match self {
            Alive::Today => "marked today",
            Alive::ThisWeek => "marked this week, not today",
            Alive::Idle => "not marked this week",
        }
    }
}

/// Distinct users in the periods containing `now`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// This hour (only meaningful when hours are tracked).
    pub hour: u64,
    /// Today.
    pub day: u64,
    /// This ISO week.
    pub week: u64,
    /// This month.
    pub month: u64,
    /// This year (the union of its months).
    pub year: u64,
}

/// One point of a series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Point {
    /// The period's label: `2026-11-22`, `2026-W47`.
    pub period: String,
    /// The period's first day, `YYYY-MM-DD`.
    pub start: String,
    /// Distinct users in it.
    pub count: u64,
    /// The period was pruned by the store's retention policy: its count is not data.
    /// Serialized only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pruned: bool,
}

/// One event's numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventStats {
    /// The event name.
    pub name: String,
    /// How recently it was marked.
    pub alive: Alive,
    /// Counts in the current periods.
    pub counts: Counts,
    /// The last 30 days, oldest first, today last.
    pub daily: Vec<Point>,
    /// The last 12 ISO weeks, oldest first, this week last.
    pub weekly: Vec<Point>,
}

fn point(p: &Period, count: u64, horizon: &Horizon) -> Point {
    Point {
        pruned: horizon.is_pruned(p),
        period: p.label(),
        start: p
            .start()
            .map(|s| s.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        count,
    }
}

/// The periods one overview reads, relative to `now`.
struct Periods {
    hour: Period,
    days: Vec<Period>,
    weeks: Vec<Period>,
    month: Period,
    year: Period,
}

impl Periods {
    fn at(now: DateTime<Utc>, zone: bitmapist::Zone) -> Result<Self, DashboardError> {
        let day = zone.period_containing(TimeGroup::Days, now)?;
        let week = zone.period_containing(TimeGroup::Weeks, now)?;
        let back = |p: Period, n: usize| -> Result<Vec<Period>, DashboardError> {
            (0..n)
                .map(|i| {
                    let back = i64::try_from(n - 1 - i).unwrap_or(0);
                    p.offset(-back).map_err(DashboardError::from)
                })
                .collect()
        };
        Ok(Periods {
            hour: zone.period_containing(TimeGroup::Hours, now)?,
            days: back(day, DAYS)?,
            weeks: back(week, WEEKS)?,
            month: zone.period_containing(TimeGroup::Months, now)?,
            year: zone.period_containing(TimeGroup::Years, now)?,
        })
    }

    /// The columns of the counts table: the hour, the days, the weeks, the month, the year.
    fn columns(&self) -> Vec<Period> {
        let mut columns = Vec::with_capacity(self.days.len() + self.weeks.len() + 3);
        columns.push(self.hour);
        columns.extend_from_slice(&self.days);
        columns.extend_from_slice(&self.weeks);
        columns.push(self.month);
        columns.push(self.year);
        columns
    }
}

/// [`event_stats`] under the heavy-request bound (503 when it is full).
pub async fn event_stats_bounded(
    shared: &DashboardState,
    names: Vec<String>,
    now: DateTime<Utc>,
    segments: Vec<String>,
) -> Result<Vec<EventStats>, DashboardError> {
    shared
        .heavy
        .run(&shared.client, move |client| async move {
            event_stats(&client, &names, now, &segments).await
        })
        .await
}

/// The numbers of `names` as of `now`, of the users in all of `segments` (none: everyone);
/// unfiltered in two store calls.
pub async fn event_stats(
    client: &Bitmapist,
    names: &[String],
    now: DateTime<Utc>,
    segments: &[String],
) -> Result<Vec<EventStats>, DashboardError> {
    let periods = Periods::at(now, client.timezone())?;
    let spec = CountSpec::new(names.iter().cloned(), periods.columns())
        .segments(segments.to_vec())
        .now(now);
    let table = client.count(&spec).await?;
    let horizon = client.pruned_horizon().await?;
    Ok(names
        .iter()
        .zip(&table)
        .map(|(name, row)| stats_of(name, row, &periods, &horizon))
        .collect())
}

/// [`event_stats_by`] under the heavy-request bound (503 when it is full).
pub async fn event_stats_by_bounded(
    shared: &DashboardState,
    names: Vec<String>,
    now: DateTime<Utc>,
    segments: Vec<String>,
    breakdown: Breakdown,
) -> Result<BrokenDown<Vec<EventStats>>, DashboardError> {
    shared
        .heavy
        .run(&shared.client, move |client| async move {
            event_stats_by(&client, &names, now, &segments, &breakdown).await
        })
        .await
}

/// The numbers of `names` as of `now` per value of `breakdown`, then for the users in
/// none, each of the users in all of `segments`; one read of the cells and the values.
pub async fn event_stats_by(
    client: &Bitmapist,
    names: &[String],
    now: DateTime<Utc>,
    segments: &[String],
    breakdown: &Breakdown,
) -> Result<BrokenDown<Vec<EventStats>>, DashboardError> {
    let periods = Periods::at(now, client.timezone())?;
    let spec = CountSpec::new(names.iter().cloned(), periods.columns())
        .segments(segments.to_vec())
        .now(now);
    let by = client.count_by(&spec, breakdown).await?;
    let horizon = client.pruned_horizon().await?;
    Ok(BrokenDown {
        breakdown: by.breakdown,
        values: by
            .values
            .into_iter()
            .map(|v| bitmapist::BreakdownValue {
                value: v.value,
                result: names
                    .iter()
                    .zip(&v.result)
                    .map(|(name, row)| stats_of(name, row, &periods, &horizon))
                    .collect(),
            })
            .collect(),
    })
}

/// One event's numbers from its row of counts, in the order of [`Periods::columns`].
fn stats_of(name: &str, row: &[u64], periods: &Periods, horizon: &Horizon) -> EventStats {
    let (nd, nw) = (periods.days.len(), periods.weeks.len());
    let (hour, rest) = row.split_first().unwrap_or((&0, &[]));
    let (days, rest) = rest.split_at(nd.min(rest.len()));
    let (weeks, rest) = rest.split_at(nw.min(rest.len()));
    let series = |ps: &[Period], counts: &[u64]| -> Vec<Point> {
        ps.iter()
            .zip(counts)
            .map(|(p, &c)| point(p, c, horizon))
            .collect()
    };
    let counts = Counts {
        hour: *hour,
        day: days.last().copied().unwrap_or(0),
        week: weeks.last().copied().unwrap_or(0),
        month: rest.first().copied().unwrap_or(0),
        year: rest.get(1).copied().unwrap_or(0),
    };
    let alive = if counts.day > 0 || counts.hour > 0 {
        Alive::Today
    } else if counts.week > 0 {
        Alive::ThisWeek
    } else {
        Alive::Idle
    };
    EventStats {
        name: name.to_string(),
        alive,
        counts,
        daily: series(&periods.days, days),
        weekly: series(&periods.weeks, weeks),
    }
}

/// The names matching `q` (case-insensitive substring; empty matches all).
pub fn filter<'a>(names: &'a [String], q: &str) -> Vec<&'a String> {
    let q = q.to_lowercase();
    names
        .iter()
        .filter(|n| q.is_empty() || n.to_lowercase().contains(&q))
        .collect()
}

/// One page of the listing: which names, and where it sits.
pub struct Paged {
    /// The names on this page.
    pub names: Vec<String>,
    /// How many names match the search.
    pub matched: usize,
    /// How many pages there are (at least 1).
    pub pages: usize,
    /// Index of the first name shown, 0-based.
    pub offset: usize,
}

/// Filters and paginates `names` as `req` asks.
pub fn paginate(names: &[String], req: &OverviewRequest) -> Paged {
    let all = filter(names, &req.q);
    let matched = all.len();
    let pages = matched.div_ceil(req.per_page).max(1);
    let offset = req.page.saturating_sub(1).saturating_mul(req.per_page);
    let names = all
        .iter()
        .skip(offset)
        .take(req.per_page)
        .map(|s| (*s).clone())
        .collect();
    Paged {
        names,
        matched,
        pages,
        offset,
    }
}

/// A row of the overview table, formatted.
pub struct EventRow {
    /// The event name (escaped by the template).
    pub name: String,
    /// Status dot class.
    pub dot: &'static str,
    /// Status text.
    pub status: &'static str,
    /// Counts, grouped.
    pub hour: String,
    /// Today.
    pub day: String,
    /// This week.
    pub week: String,
    /// This month.
    pub month: String,
    /// This year.
    pub year: String,
    /// The page of each count's users: hour, day, week, month, year.
    pub users: [String; 5],
    /// Whether each count is zero (for muted styling): hour, day, week, month, year.
    pub zero: [bool; 5],
    /// The daily chart.
    pub daily: Sparkline,
    /// The weekly chart.
    pub weekly: Sparkline,
    /// The event's own retention table.
    pub cohort_url: String,
    /// The event's page.
    pub event_url: String,
    /// The event's JSON.
    pub api_url: String,
    /// With a breakdown: one row per value, then the users in none.
    pub values: Vec<ValueRow>,
}

/// One breakdown value's counts of an event, formatted.
pub struct ValueRow {
    /// The value, for people (`plan = pro`, `in none of plan`; escaped by the template).
    pub label: String,
    /// Counts, grouped: hour, day, week, month, year.
    pub counts: [String; 5],
    /// The page of each count's users (restricted to the value).
    pub users: [String; 5],
    /// Whether each count is zero.
    pub zero: [bool; 5],
    /// The daily chart.
    pub daily: Sparkline,
    /// The weekly chart.
    pub weekly: Sparkline,
}

/// The overview page.
#[derive(Template)]
#[template(path = "dashboard/overview.html")]
pub struct OverviewPage {
    /// Layout links.
    pub layout: Layout,
    /// "as of" for people.
    pub now_label: String,
    /// `now` as sent, kept in the search form.
    pub now_raw: String,
    /// The search.
    pub q: String,
    /// The segment filter, kept in the search form.
    pub segments: Vec<String>,
    /// The breakdown as sent (empty: none), kept in the search form.
    pub breakdown: String,
    /// Every saved or defined segment, offered in the filter field.
    pub segment_names: Vec<String>,
    /// Every event in the store.
    pub total: usize,
    /// Events matching the search.
    pub matched: usize,
    /// 1-based index of the first row shown.
    pub first: usize,
    /// 1-based index of the last row shown.
    pub last: usize,
    /// Whether to show the hour column.
    pub hourly: bool,
    /// The rows.
    pub rows: Vec<EventRow>,
    /// Previous page's URL.
    pub prev: Option<String>,
    /// Next page's URL.
    pub next: Option<String>,
    /// The current page and the page count.
    pub page: usize,
    /// Page count.
    pub pages: usize,
    /// The JSON of this listing.
    pub api_url: String,
    /// A message about bad parameters.
    pub error: Option<String>,
}

/// The users links of one event's five counts (hour, day, week, month, year): the event in
/// each period, with the filter and `extra` (a breakdown value's pair) and `now`.
fn users_links(
    base: &str,
    name: &str,
    now_raw: &str,
    segments: &[String],
    extra: Option<(&str, &str)>,
    periods: &Periods,
) -> [String; 5] {
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let mut filter = form_urlencoded::Serializer::new(String::new());
    if (!segments.is_empty() || extra.is_some()) && !now_raw.is_empty() {
        filter.append_pair("now", now_raw);
    }
    for name in segments {
        filter.append_pair("segment", name);
    }
    if let Some((k, v)) = extra {
        filter.append_pair(k, v);
    }
    let filter = filter.finish();
    let users = |p: &Period| {
        let mut suffix = String::new();
        p.write_suffix(&mut suffix);
        let sep = if filter.is_empty() { "" } else { "&" };
        format!("{base}/users?of=event&event={encoded}&period={suffix}{sep}{filter}")
    };
    let day = periods.days.last().copied().unwrap_or(periods.month);
    let week = periods.weeks.last().copied().unwrap_or(periods.month);
    [
        users(&periods.hour),
        users(&day),
        users(&week),
        users(&periods.month),
        users(&periods.year),
    ]
}

/// The daily and weekly sparklines of `s`.
fn sparklines(s: &EventStats) -> (Sparkline, Sparkline) {
    let daily: Vec<(String, u64)> = s
        .daily
        .iter()
        .map(|p| (p.period.clone(), p.count))
        .collect();
    let weekly: Vec<(String, u64)> = s
        .weekly
        .iter()
        .map(|p| (format!("{} (from {})", p.period, p.start), p.count))
        .collect();
    (
        sparkline(&daily, 4, "Daily users, last 30 days"),
        sparkline(&weekly, 8, "Weekly users, last 12 weeks"),
    )
}

/// The rows of one event's breakdown values (`by`: its numbers per value, none last).
fn value_rows(
    base: &str,
    breakdown: &Breakdown,
    by: &[(Option<String>, &EventStats)],
    now_raw: &str,
    segments: &[String],
    periods: &Periods,
) -> Vec<ValueRow> {
    by.iter()
        .map(|(value, s)| {
            let (k, v) = value_pair(breakdown, value.as_deref());
            let c = &s.counts;
            let all = [c.hour, c.day, c.week, c.month, c.year];
            let (daily, weekly) = sparklines(s);
            ValueRow {
                label: value_label(breakdown, value.as_deref()),
                counts: all.map(thousands),
                users: users_links(base, &s.name, now_raw, segments, Some((k, &v)), periods),
                zero: all.map(|n| n == 0),
                daily,
                weekly,
            }
        })
        .collect()
}

fn row(
    base: &str,
    s: &EventStats,
    now_raw: &str,
    segments: &[String],
    periods: &Periods,
) -> EventRow {
    // The filter (and the moment it is evaluated at) travel with the users links.
    let mut filter = form_urlencoded::Serializer::new(String::new());
    if !segments.is_empty() && !now_raw.is_empty() {
        filter.append_pair("now", now_raw);
    }
    for name in segments {
        filter.append_pair("segment", name);
    }
    let filter = filter.finish();
    let filter = if filter.is_empty() {
        filter
    } else {
        format!("&{filter}")
    };
    let mut cohort = form_urlencoded::Serializer::new(String::new());
    cohort.append_pair("primary_event", &s.name);
    cohort.append_pair("secondary_event", &s.name);
    let mut api = form_urlencoded::Serializer::new(String::new());
    if !now_raw.is_empty() {
        cohort.append_pair("now", now_raw);
        api.append_pair("now", now_raw);
    }
    for name in segments {
        cohort.append_pair("segment", name);
        api.append_pair("segment", name);
    }
    let api_q = api.finish();
    let encoded_name: String = form_urlencoded::byte_serialize(s.name.as_bytes()).collect();
    let c = &s.counts;
    let (daily, weekly) = sparklines(s);
    EventRow {
        name: s.name.clone(),
        dot: s.alive.class(),
        status: s.alive.text(),
        hour: thousands(c.hour),
        day: thousands(c.day),
        week: thousands(c.week),
        month: thousands(c.month),
        year: thousands(c.year),
        users: users_links(base, &s.name, now_raw, segments, None, periods),
        zero: [
            c.hour == 0,
            c.day == 0,
            c.week == 0,
            c.month == 0,
            c.year == 0,
        ],
        daily,
        weekly,
        cohort_url: format!("{base}/cohort?{}", cohort.finish()),
        event_url: format!(
            "{}{}",
            super::event_page::event_url(base, &s.name),
            filter.replacen('&', "?", 1)
        ),
        api_url: format!(
            "{base}/api/events/{}{}{}",
            encoded_name.replace('+', "%20"),
            if api_q.is_empty() { "" } else { "?" },
            api_q
        ),
        values: Vec::new(),
    }
}

impl OverviewPage {
    /// A page with no rows, no search and no message: what [`page`] fills in.
    fn empty(layout: Layout, base: &str) -> Self {
        OverviewPage {
            layout,
            now_label: String::new(),
            now_raw: String::new(),
            q: String::new(),
            segments: Vec::new(),
            breakdown: String::new(),
            segment_names: Vec::new(),
            total: 0,
            matched: 0,
            first: 0,
            last: 0,
            hourly: false,
            rows: Vec::new(),
            prev: None,
            next: None,
            page: 1,
            pages: 1,
            api_url: format!("{base}/api/events"),
            error: None,
        }
    }
}

impl FormPage for OverviewPage {
    fn show_error(&mut self, e: &DashboardError) {
        self.error = Some(e.to_string());
    }
}

/// `GET /`: the overview page. Bad parameters re-show the page with the message (400).
pub async fn page(
    shared: &DashboardState,
    base: &Base,
    query: Option<&str>,
) -> Result<DashboardResponse, PageError> {
    let pairs = Pairs::parse(query);
    let layout = Layout::new(base, "events");
    let req = match OverviewRequest::from_query(&pairs, shared.client.timezone()) {
        Ok(r) => r,
        Err(e) => {
            let mut page = OverviewPage {
                now_raw: pairs.get("now").unwrap_or("").to_string(),
                q: pairs.get("q").unwrap_or("").to_string(),
                segments: super::params::segments(&pairs),
                breakdown: pairs.get("breakdown").unwrap_or("").trim().to_string(),
                ..OverviewPage::empty(layout, &base.0)
            };
            return form_error(&mut page, e);
        }
    };
    rendered(
        StatusCode::OK,
        &listing(shared, &base.0, layout, &req).await?,
    )
}

/// The page of events `req` asks for: their rows, the counts above them and the links to
/// the neighbouring pages and the JSON.
async fn listing(
    shared: &DashboardState,
    base: &str,
    layout: Layout,
    req: &OverviewRequest,
) -> Result<OverviewPage, PageError> {
    let names = shared.names.get(&shared.client).await?;
    let paged = paginate(&names, req);
    let by = match &req.breakdown {
        None => None,
        Some((_, b)) => Some(
            event_stats_by_bounded(
                shared,
                paged.names.clone(),
                req.as_of.at,
                req.segments.clone(),
                b.clone(),
            )
            .await?,
        ),
    };
    let stats =
        event_stats_bounded(shared, paged.names, req.as_of.at, req.segments.clone()).await?;
    let hourly = shared.client.tracks_hourly() || stats.iter().any(|s| s.counts.hour > 0);
    let periods = Periods::at(req.as_of.at, shared.client.timezone())?;
    let rows: Vec<EventRow> = stats
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut r = row(base, s, &req.as_of.raw, &req.segments, &periods);
            if let (Some(by), Some((_, b))) = (&by, &req.breakdown) {
                let per: Vec<(Option<String>, &EventStats)> = by
                    .values
                    .iter()
                    .filter_map(|v| v.result.get(i).map(|st| (v.value.clone(), st)))
                    .collect();
                r.values = value_rows(base, b, &per, &req.as_of.raw, &req.segments, &periods);
                // The event's page shows the same breakdown.
                let mut q = form_urlencoded::Serializer::new(String::new());
                if req.segments.is_empty() && !req.as_of.raw.is_empty() {
                    q.append_pair("now", &req.as_of.raw);
                }
                q.append_pair("breakdown", &b.to_string());
                let sep = if r.event_url.contains('?') { '&' } else { '?' };
                r.event_url = format!("{}{sep}{}", r.event_url, q.finish());
            }
            r
        })
        .collect();
    let home = layout.home.clone();
    let page_url = |page: usize| {
        let q = req.page_query(page);
        if q.is_empty() {
            home.clone()
        } else {
            format!("{home}?{q}")
        }
    };
    let api_q = req.page_query(req.page);
    let segment_names = shared
        .client
        .segments()
        .await
        .map_err(DashboardError::from)?
        .into_iter()
        .map(|s| s.name)
        .collect();
    Ok(OverviewPage {
        segments: req.segments.clone(),
        breakdown: req
            .breakdown
            .as_ref()
            .map(|(raw, _)| raw.clone())
            .unwrap_or_default(),
        segment_names,
        now_label: req.as_of.label(shared.client.timezone()),
        now_raw: req.as_of.raw.clone(),
        q: req.q.clone(),
        total: names.len(),
        matched: paged.matched,
        first: if rows.is_empty() { 0 } else { paged.offset + 1 },
        last: paged.offset + rows.len(),
        hourly,
        prev: (req.page > 1).then(|| page_url(req.page.min(paged.pages + 1) - 1)),
        next: (req.page < paged.pages).then(|| page_url(req.page + 1)),
        page: req.page,
        pages: paged.pages,
        api_url: format!(
            "{base}/api/events{}{}",
            if api_q.is_empty() { "" } else { "?" },
            api_q
        ),
        rows,
        ..OverviewPage::empty(layout, base)
    })
}

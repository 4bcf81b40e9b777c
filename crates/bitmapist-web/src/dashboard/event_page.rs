//! The event page (`GET /events/{name}`): users per day (90 days), week (26) and month (12)
//! as SVG charts with axes, the trends (rolling DAU, WAU and MAU lines over 90 days with the
//! previous 90 days dashed beside them, and DAU/MAU), and the stickiness of the current
//! week and month; plus `GET /api/events/{name}/stickiness` for the stickiness and
//! `GET /api/trends` for the trends as JSON.
//!
//! The name is a path segment (percent-encoded); an empty or overlong one is a 400, a name
//! with no keys in the store a 404. The counts and the stickiness are computed under the
//! heavy-request bound. Everything is server-rendered: the page needs no JavaScript.
//!
//! The segment filter (`segment=NAME`, repeatable: users in all of them, evaluated at the
//! page's `now`) restricts every number of the page: the counts come from the engine's
//! filtered counting ([`CountSpec`]), the stickiness and the trends from their specs'
//! segments. The filter is kept in every link the page makes (the other analyses, the
//! JSON, and each bar's users: `users?of=event` for a period's bar, `users?of=stickiness`
//! for a stickiness bucket), so a filtered number links to exactly the users it counts.
//! An unknown segment is the page's 400 naming `segment`.
//!
//! The breakdown (`breakdown=plan`, or segments `breakdown=trial,churned`, as on every
//! page) adds a section per value, then for the users in none: the weekly and monthly
//! bars grouped by value, a table of the monthly counts with a value column, the rolling
//! WAU per value overlaid, and each current period's stickiness grouped by value with its
//! table. Every per-value count links to its users with the value's parameter
//! ([`value_pair`]: `segment=plan:pro`, or `none_of=plan`). The numbers come from the
//! engine's `count_by`, `stickiness_by` and `trends_by` (each one fetch for all values);
//! `/api/events/{name}/stickiness` takes `breakdown` too.

use askama::Template;
use bitmapist::{
    Bitmapist, CountSpec, Period, Stickiness, StickinessSpec, TimeGroup, Trends, TrendsDay,
    TrendsSpec,
};
use chrono::{DateTime, Utc};
use http::StatusCode;
use url::form_urlencoded;

use super::DashboardState;
use super::charts::{
    AxisChart, ChartOptions, GroupedChart, LineChart, Series, Unit, axis_bars, grouped_bars,
    line_chart,
};
use super::error::{ApiError, DashboardError, PageError};
use super::exchange::Answer;
use super::exchange::DashboardResponse;
use super::params::{
    MAX_CELLS_PER_SIDE, Pairs, check_event, parse_count, parse_flag, parse_time_group, segments,
};
use super::params::{value_label, value_pair};
use super::views::{Base, Layout};
use super::zone::AsOf;
use bitmapist::thousands;

/// How many days, weeks and months the page charts.
pub const DAYS: usize = 90;
/// See [`DAYS`].
pub const WEEKS: usize = 26;
/// See [`DAYS`].
pub const MONTHS: usize = 12;

/// The URL of `name`'s page under `base` (the name percent-encoded as one path segment).
pub fn event_url(base: &str, name: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    format!("{base}/events/{}", encoded.replace('+', "%20"))
}

/// The note of a bar whose period the store's retention policy pruned: shown instead of
/// its count (which is not data).
pub const PRUNED: &str = "pruned";

/// One chart's bars: (label, count), each bar's note ([`PRUNED`] or empty) and period.
type Bars = (Vec<(String, u64)>, Vec<String>, Vec<Period>);

/// The users of `name` in `segments` (all of them, as of `now`) in the `n` periods of
/// `group` up to the one containing `now`, oldest first; one batch of counts.
async fn series(
    client: &Bitmapist,
    name: &str,
    segments: &[String],
    group: TimeGroup,
    n: usize,
    now: DateTime<Utc>,
) -> Result<Bars, bitmapist::Error> {
    let last = client.period_containing(group, now)?;
    let back = i64::try_from(n.saturating_sub(1)).unwrap_or(0);
    let mut p = last.offset(-back)?;
    let mut periods = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 {
            p = p.next()?;
        }
        periods.push(p);
    }
    let counts = if segments.is_empty() {
        let keys: Vec<String> = periods
            .iter()
            .map(|p| client.layout().key(name, p))
            .collect();
        client.store().count(&keys).await?
    } else {
        let spec = CountSpec::new([name], periods.iter().copied())
            .segments(segments.to_vec())
            .now(now);
        client.count(&spec).await?.pop().unwrap_or_default()
    };
    let horizon = client.pruned_horizon().await?;
    let notes = periods
        .iter()
        .map(|p| if horizon.is_pruned(p) { PRUNED } else { "" }.to_string())
        .collect();
    let bars = periods
        .iter()
        .zip(counts)
        .map(|(p, c)| {
            let label = match group {
                TimeGroup::Weeks => format!(
                    "{} (from {})",
                    p.label(),
                    p.start()
                        .map(|s| s.format("%b %-d").to_string())
                        .unwrap_or_default()
                ),
                _ => p.label(),
            };
            (label, c)
        })
        .collect();
    Ok((bars, notes, periods))
}

/// Whether `name` is an event of the store (from the cached names list).
async fn known(shared: &DashboardState, name: &str) -> Result<bool, DashboardError> {
    let names = shared.names.get(&shared.client).await?;
    Ok(names.iter().any(|n| n == name))
}

/// A stickiness chart.
fn stickiness_chart(s: &Stickiness, what: &str) -> AxisChart {
    let series: Vec<(String, u64)> = s
        .days
        .iter()
        .enumerate()
        .map(|(k, n)| (format!("{}", k + 1), *n))
        .collect();
    let users = s.users();
    let notes = s
        .days
        .iter()
        .map(|&n| {
            if users > 0 && n > 0 {
                format!("{:.0}%", n as f64 * 100.0 / users as f64)
            } else {
                String::new()
            }
        })
        .collect();
    axis_bars(
        &series,
        &ChartOptions {
            what,
            x_title: "days active",
            last_is_now: false,
            notes,
        },
    )
}

/// One stickiness block of the page.
#[derive(Clone, Debug)]
pub struct StickinessView {
    /// "This week" / "This month".
    pub heading: String,
    /// The period's label.
    pub period: String,
    /// Users active on at least one day.
    pub users: String,
    /// The chart.
    pub chart: AxisChart,
    /// Its JSON.
    pub api_url: String,
    /// Whether the retention policy pruned some of the period's days (the block says so
    /// instead of drawing partial counts).
    pub pruned: bool,
}

/// The page's segment filter, as shown in its form.
#[derive(Clone, Debug)]
pub struct SegmentFilter {
    /// The segments the numbers are filtered by, in order.
    pub active: Vec<String>,
    /// Every saved or defined segment, offered in the field.
    pub names: Vec<String>,
    /// The page without the filter (same `now`), when filtered.
    pub clear_url: Option<String>,
}

/// The event page.
#[derive(Template)]
#[template(path = "dashboard/event.html")]
pub struct EventPage {
    /// Layout links.
    pub layout: Layout,
    /// The event.
    pub name: String,
    /// The segment filter.
    pub filter: SegmentFilter,
    /// `now` as sent, kept by the filter form.
    pub now_raw: String,
    /// This page without a query (where the filter form goes).
    pub self_url: String,
    /// "as of", for people.
    pub now_label: String,
    /// Users per day.
    pub daily: AxisChart,
    /// Users per week.
    pub weekly: AxisChart,
    /// Users per month.
    pub monthly: AxisChart,
    /// This week's and this month's stickiness.
    pub stickiness: Vec<StickinessView>,
    /// The event's own retention table.
    pub cohort_url: String,
    /// A funnel starting with this event.
    pub funnel_url: String,
    /// The event's lifecycle.
    pub lifecycle_url: String,
    /// Rolling DAU, WAU and MAU, the previous range dashed.
    pub trends: LineChart,
    /// DAU/MAU, the previous range dashed.
    pub ratio: LineChart,
    /// The trends' JSON.
    pub trends_url: String,
    /// The breakdown as sent (empty: none), kept in the form.
    pub breakdown: String,
    /// With a breakdown: the numbers per value.
    pub by: Option<EventByView>,
}

// --- breakdown ---

/// One count of a per-value table and its users.
#[derive(Clone, Debug)]
pub struct ValueCell {
    /// The count, grouped.
    pub count: String,
    /// The users it counts (restricted to the value).
    pub users: String,
    /// Whether it is zero.
    pub zero: bool,
}

/// One row of a per-value table.
#[derive(Clone, Debug)]
pub struct ValueCounts {
    /// The value, for people (`plan = pro`, `in none of plan`).
    pub label: String,
    /// Its colour class (`grp-N`, as its bars and line).
    pub class: String,
    /// Its counts.
    pub cells: Vec<ValueCell>,
}

/// One current period's stickiness per value.
#[derive(Clone, Debug)]
pub struct StickinessByView {
    /// "This week" / "This month".
    pub heading: String,
    /// The period's label.
    pub period: String,
    /// Users by days active, grouped by value.
    pub chart: GroupedChart,
    /// The table's columns: 1, 2, ... days.
    pub days: Vec<usize>,
    /// Per value, the users active on exactly that many days.
    pub rows: Vec<ValueCounts>,
}

/// The event page's breakdown section.
#[derive(Clone, Debug)]
pub struct EventByView {
    /// The breakdown, as the engine writes it.
    pub breakdown: String,
    /// Users per week, grouped by value.
    pub weekly: GroupedChart,
    /// Users per month, grouped by value.
    pub monthly: GroupedChart,
    /// The months of the table.
    pub months: Vec<String>,
    /// Per value, the users per month.
    pub rows: Vec<ValueCounts>,
    /// Rolling WAU per value, overlaid.
    pub wau: LineChart,
    /// This week's and this month's stickiness per value.
    pub stickiness: Vec<StickinessByView>,
}

/// How many weeks the breakdown's weekly bars show (fewer than the plain chart: each week
/// has one bar per value).
pub const BY_WEEKS: usize = 12;

/// What the breakdown section computes.
struct EventByData {
    weeks: Vec<Period>,
    months: Vec<Period>,
    /// Per value: the counts of the weeks, then of the months.
    counts: bitmapist::BrokenDown<Vec<Vec<u64>>>,
    week: bitmapist::BrokenDown<Stickiness>,
    month: bitmapist::BrokenDown<Stickiness>,
    trends: bitmapist::BrokenDown<Trends>,
}

/// The `n` periods of `group` up to the one containing `now`, oldest first.
fn periods_back(
    client: &Bitmapist,
    group: TimeGroup,
    n: usize,
    now: DateTime<Utc>,
) -> Result<Vec<Period>, bitmapist::Error> {
    let last = client.period_containing(group, now)?;
    (0..n)
        .map(|i| last.offset(-i64::try_from(n - 1 - i).unwrap_or(0)))
        .collect()
}

async fn compute_by(
    client: Bitmapist,
    name: String,
    segments: Vec<String>,
    breakdown: bitmapist::Breakdown,
    now: DateTime<Utc>,
) -> Result<EventByData, DashboardError> {
    let weeks = periods_back(&client, TimeGroup::Weeks, BY_WEEKS, now)?;
    let months = periods_back(&client, TimeGroup::Months, MONTHS, now)?;
    let spec = CountSpec::new([name.as_str()], weeks.iter().chain(&months).copied())
        .segments(segments.clone())
        .now(now);
    let mut trends = TrendsSpec::new(name.as_str()).days(DAYS).now(now);
    trends.segments = segments.clone();
    let (week, month) = (
        stickiness_spec(&name, &segments, TimeGroup::Weeks, now),
        stickiness_spec(&name, &segments, TimeGroup::Months, now),
    );
    // As in `compute`: each reads and counts apart, so they run concurrently.
    let (counts, week, month, trends) = tokio::try_join!(
        client.count_by(&spec, &breakdown),
        client.stickiness_by(&week, &breakdown),
        client.stickiness_by(&month, &breakdown),
        client.trends_by(&trends, &breakdown),
    )?;
    Ok(EventByData {
        weeks,
        months,
        counts,
        week,
        month,
        trends,
    })
}

/// A users link of a value's count: the period (or the time group and the days of a
/// stickiness bucket) and the value's pair.
type PeriodUsers<'a> = &'a dyn Fn(&Period, (&str, &str)) -> String;
/// See [`PeriodUsers`].
type BucketUsers<'a> = &'a dyn Fn(&str, usize, (&str, &str)) -> String;

/// The colour class of the `i`-th value (as the grouped bars give it).
fn value_class(i: usize) -> String {
    format!("grp-{}", i % super::charts::COLOURS)
}

/// The breakdown section of the page. `users(value, pair)` is the users link of a value's
/// count: `pair` names the period (`period=..`) or the bucket (`..&days=k`).
fn by_view(
    d: &EventByData,
    breakdown: &bitmapist::Breakdown,
    period_users: PeriodUsers<'_>,
    bucket_users: BucketUsers<'_>,
) -> EventByView {
    let labels: Vec<String> = d
        .counts
        .values
        .iter()
        .map(|v| value_label(breakdown, v.value.as_deref()))
        .collect();
    let pairs: Vec<(&'static str, String)> = d
        .counts
        .values
        .iter()
        .map(|v| value_pair(breakdown, v.value.as_deref()))
        .collect();
    let nw = d.weeks.len();
    let series = |range: std::ops::Range<usize>| -> Vec<(String, Vec<u64>)> {
        d.counts
            .values
            .iter()
            .zip(&labels)
            .map(|(v, l)| {
                let row = v.result.first().map(|r| r.as_slice()).unwrap_or(&[]);
                (l.clone(), row.get(range.clone()).unwrap_or(&[]).to_vec())
            })
            .collect()
    };
    // `W47`: the year is in the chart's title; a full label per group would overlap.
    let week_groups: Vec<String> = d
        .weeks
        .iter()
        .map(|p| {
            let label = p.label();
            label.rsplit('-').next().unwrap_or(&label).to_string()
        })
        .collect();
    let month_groups: Vec<String> = d.months.iter().map(Period::label).collect();
    let rows = d
        .counts
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let row = v.result.first().map(|r| r.as_slice()).unwrap_or(&[]);
            let (k, val) = (&pairs[i].0, pairs[i].1.as_str());
            ValueCounts {
                label: labels[i].clone(),
                class: value_class(i),
                cells: d
                    .months
                    .iter()
                    .zip(row.get(nw..).unwrap_or(&[]))
                    .map(|(p, &n)| ValueCell {
                        count: thousands(n),
                        users: period_users(p, (k, val)),
                        zero: n == 0,
                    })
                    .collect(),
            }
        })
        .collect();
    let x: Vec<String> = d
        .trends
        .values
        .first()
        .map(|t| t.result.days.iter().map(|d| d.day.clone()).collect())
        .unwrap_or_default();
    let classes = [
        "grp-0", "grp-1", "grp-2", "grp-3", "grp-4", "grp-5", "grp-6", "grp-7",
    ];
    let wau_series: Vec<Series> = d
        .trends
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| Series {
            name: format!("WAU, {}", value_label(breakdown, v.value.as_deref())),
            class: classes[i % classes.len()],
            values: v
                .result
                .days
                .iter()
                .map(|t| (!t.pruned.iter().any(|p| p == "wau")).then_some(t.wau as f64))
                .collect(),
            labels: x.clone(),
        })
        .collect();
    let sticky = |heading: &str, tg: &str, by: &bitmapist::BrokenDown<Stickiness>| {
        let n = by.values.first().map_or(0, |v| v.result.days.len());
        let days: Vec<usize> = (1..=n).collect();
        let groups: Vec<String> = days.iter().map(|k| format!("{k} days")).collect();
        let series: Vec<(String, Vec<u64>)> = by
            .values
            .iter()
            .map(|v| {
                (
                    value_label(breakdown, v.value.as_deref()),
                    v.result.days.clone(),
                )
            })
            .collect();
        StickinessByView {
            heading: heading.to_string(),
            period: by
                .values
                .first()
                .map(|v| format!("{} (from {})", v.result.period, v.result.start))
                .unwrap_or_default(),
            chart: grouped_bars(&groups, &series, "Users by days active, per value"),
            rows: by
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let (k, val) = value_pair(breakdown, v.value.as_deref());
                    ValueCounts {
                        label: value_label(breakdown, v.value.as_deref()),
                        class: value_class(i),
                        cells: v
                            .result
                            .days
                            .iter()
                            .enumerate()
                            .map(|(j, &c)| ValueCell {
                                count: thousands(c),
                                users: bucket_users(tg, j + 1, (k, &val)),
                                zero: c == 0,
                            })
                            .collect(),
                    }
                })
                .collect(),
            days,
        }
    };
    EventByView {
        breakdown: d.counts.breakdown.clone(),
        weekly: grouped_bars(
            &week_groups,
            &series(0..nw),
            "Users per ISO week, last 12 weeks, per value",
        ),
        monthly: grouped_bars(
            &month_groups,
            &series(nw..nw + d.months.len()),
            "Users per month, per value",
        ),
        months: month_groups,
        rows,
        wau: line_chart(&x, &wau_series, Unit::Users, "Rolling WAU per value"),
        stickiness: vec![
            sticky("This week", "weeks", &d.week),
            sticky("This month", "months", &d.month),
        ],
    }
}

// --- end breakdown ---

/// One line per measure (DAU, WAU, MAU) of `days`; the previous range's are dashed.
fn trend_series(days: &[TrendsDay], previous: bool) -> Vec<Series> {
    let labels: Vec<String> = days.iter().map(|d| d.day.clone()).collect();
    let (suffix, classes): (&str, [&'static str; 3]) = if previous {
        (
            ", previous range",
            ["ln-dau prev", "ln-wau prev", "ln-mau prev"],
        )
    } else {
        ("", ["ln-dau", "ln-wau", "ln-mau"])
    };
    type Pick = fn(&TrendsDay) -> u64;
    let measures: [(&str, &str, Pick); 3] = [
        ("DAU", "dau", |d| d.dau),
        ("WAU", "wau", |d| d.wau),
        ("MAU", "mau", |d| d.mau),
    ];
    measures
        .iter()
        .zip(classes)
        .map(|((name, key, pick), class)| Series {
            name: format!("{name}{suffix}"),
            class,
            // A window that reaches a pruned day is a gap, never a (too small) number.
            values: days
                .iter()
                .map(|d| (!d.pruned.iter().any(|p| p == key)).then(|| pick(d) as f64))
                .collect(),
            labels: labels.clone(),
        })
        .collect()
}

/// The trends charts: the actives and the DAU/MAU ratio, each with the previous range.
fn trend_charts(t: &Trends) -> (LineChart, LineChart) {
    let x: Vec<String> = t.days.iter().map(|d| d.day.clone()).collect();
    let prev = t.previous.as_deref().unwrap_or(&[]);
    let mut actives = trend_series(prev, true);
    actives.extend(trend_series(&t.days, false));
    let ratio = |days: &[TrendsDay], name: &str, class: &'static str| Series {
        name: name.to_string(),
        class,
        values: days
            .iter()
            .map(|d| d.dau_mau.filter(|_| d.pruned.is_empty()))
            .collect(),
        labels: days.iter().map(|d| d.day.clone()).collect(),
    };
    let mut ratios = Vec::new();
    if !prev.is_empty() {
        ratios.push(ratio(prev, "DAU/MAU, previous range", "ln-ratio prev"));
    }
    ratios.push(ratio(&t.days, "DAU/MAU", "ln-ratio"));
    (
        line_chart(&x, &actives, Unit::Users, "Rolling actives per day"),
        line_chart(&x, &ratios, Unit::Fraction, "DAU/MAU per day"),
    )
}

/// Everything the page computes.
struct EventData {
    daily: Bars,
    weekly: Bars,
    monthly: Bars,
    week: Stickiness,
    month: Stickiness,
    trends: Trends,
}

/// The stickiness of `name` in the week or month containing `now`, filtered by `segments`.
fn stickiness_spec(
    name: &str,
    segments: &[String],
    group: TimeGroup,
    now: DateTime<Utc>,
) -> StickinessSpec {
    segments.iter().fold(
        StickinessSpec::new(name).time_group(group).at(now),
        |spec, s| spec.segment(s.as_str()),
    )
}

async fn compute(
    client: Bitmapist,
    name: String,
    segments: Vec<String>,
    now: DateTime<Utc>,
) -> Result<EventData, DashboardError> {
    let mut trends = TrendsSpec::new(name.as_str())
        .days(DAYS)
        .compare(true)
        .now(now);
    trends.segments = segments.clone();
    let (week, month) = (
        stickiness_spec(&name, &segments, TimeGroup::Weeks, now),
        stickiness_spec(&name, &segments, TimeGroup::Months, now),
    );
    // The trends and the stickiness read and count apart: fetched concurrently.
    let (daily, weekly, monthly, week, month, trends) = tokio::try_join!(
        series(&client, &name, &segments, TimeGroup::Days, DAYS, now),
        series(&client, &name, &segments, TimeGroup::Weeks, WEEKS, now),
        series(&client, &name, &segments, TimeGroup::Months, MONTHS, now),
        client.stickiness_of(&week),
        client.stickiness_of(&month),
        client.trends(&trends),
    )?;
    Ok(EventData {
        daily,
        weekly,
        monthly,
        week,
        month,
        trends,
    })
}

/// `&segment=..` for each of `segments` (empty when none).
fn segment_query(segments: &[String]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for s in segments {
        q.append_pair("segment", s);
    }
    let q = q.finish();
    if q.is_empty() { q } else { format!("&{q}") }
}

/// `GET /events/{name}`.
pub async fn page(
    shared: &DashboardState,
    base: &Base,
    name: String,
    query: Option<&str>,
) -> Result<DashboardResponse, PageError> {
    check_event("name", &name)?;
    let pairs = Pairs::parse(query);
    let zone = shared.client.timezone();
    let as_of = AsOf::parse("now", pairs.get("now"), zone)?;
    let now = as_of.at;
    if !known(shared, &name).await? {
        return Err(PageError(DashboardError::NotFound));
    }
    let filter = segments(&pairs);
    let breakdown = super::params::breakdown(&pairs)?;
    let by_data = match &breakdown {
        None => None,
        Some(b) => {
            let (name, filter, b) = (name.clone(), filter.clone(), b.clone());
            Some(
                shared
                    .heavy
                    .run(&shared.client, move |client| {
                        compute_by(client, name, filter, b, now)
                    })
                    .await?,
            )
        }
    };
    let data = {
        let (name, filter) = (name.clone(), filter.clone());
        shared
            .heavy
            .run(&shared.client, move |client| {
                compute(client, name, filter, now)
            })
            .await?
    };
    // Before any URL serializer: they are not `Send`, and this future must be.
    let segment_names: Vec<String> = shared
        .client
        .segments()
        .await
        .map_err(DashboardError::from)?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let seg_q = segment_query(&filter);
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let now_q = if as_of.raw.is_empty() {
        String::new()
    } else {
        let mut a = form_urlencoded::Serializer::new(String::new());
        a.append_pair("now", &as_of.raw);
        format!("&{}", a.finish())
    };
    let period_users = |p: &Period| {
        let mut suffix = String::new();
        p.write_suffix(&mut suffix);
        format!(
            "{}/users?of=event&event={encoded}&period={suffix}{now_q}{seg_q}",
            base.0
        )
    };
    let chart = |(series, notes, periods): &Bars, what: &str, x_title: &str| {
        axis_bars(
            series,
            &ChartOptions {
                what,
                x_title,
                last_is_now: true,
                notes: notes.clone(),
            },
        )
        .with_links(
            series
                .iter()
                .zip(periods)
                .map(|((_, n), p)| (*n > 0).then(|| period_users(p))),
        )
    };
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("primary_event", &name);
    q.append_pair("secondary_event", &name);
    q.append_pair("time_group", "weeks");
    let mut f = form_urlencoded::Serializer::new(String::new());
    f.append_pair("step", &name);
    let mut lq = form_urlencoded::Serializer::new(String::new());
    lq.append_pair("event", &name);
    let mut tq = form_urlencoded::Serializer::new(String::new());
    tq.append_pair("event", &name);
    tq.append_pair("days", &DAYS.to_string());
    tq.append_pair("compare", "on");
    if !as_of.raw.is_empty() {
        lq.append_pair("now", &as_of.raw);
        tq.append_pair("now", &as_of.raw);
    }
    for s in &filter {
        for ser in [&mut q, &mut f, &mut lq, &mut tq] {
            ser.append_pair("segment", s);
        }
    }
    if let Some(b) = &breakdown {
        for ser in [&mut q, &mut f, &mut lq, &mut tq] {
            ser.append_pair("breakdown", &b.to_string());
        }
    }
    let at = if as_of.raw.is_empty() {
        String::new()
    } else {
        let mut a = form_urlencoded::Serializer::new(String::new());
        a.append_pair("at", &as_of.raw);
        format!("&{}", a.finish())
    };
    let by = match (&by_data, &breakdown) {
        (Some(d), Some(b)) => {
            let period_users = |p: &Period, (k, v): (&str, &str)| {
                let mut x = form_urlencoded::Serializer::new(String::new());
                x.append_pair(k, v);
                let mut u = period_users(p);
                if as_of.raw.is_empty() {
                    // The value is evaluated when the page was: keep it on the link.
                    let mut n = form_urlencoded::Serializer::new(String::new());
                    n.append_pair("now", &now.to_rfc3339());
                    u = format!("{u}&{}", n.finish());
                }
                format!("{u}&{}", x.finish())
            };
            let bucket_users = |tg: &str, days: usize, (k, v): (&str, &str)| {
                let mut x = form_urlencoded::Serializer::new(String::new());
                x.append_pair(k, v);
                let at = if at.is_empty() {
                    let mut n = form_urlencoded::Serializer::new(String::new());
                    n.append_pair("at", &now.to_rfc3339());
                    format!("&{}", n.finish())
                } else {
                    at.clone()
                };
                format!(
                    "{}/users?of=stickiness&event={encoded}&time_group={tg}{at}{seg_q}&days={days}&{}",
                    base.0,
                    x.finish()
                )
            };
            Some(by_view(d, b, &period_users, &bucket_users))
        }
        _ => None,
    };
    let api = format!("{}/api{}", base.0, event_url("", &name));
    let (trends, ratio) = trend_charts(&data.trends);
    let view = |heading: &str, s: &Stickiness, tg: &str| StickinessView {
        pruned: s.pruned,
        heading: heading.to_string(),
        period: format!("{} (from {})", s.period, s.start),
        users: thousands(s.users()),
        chart: stickiness_chart(s, &format!("Users by days active, {}", s.period)).with_links(
            s.days.iter().enumerate().map(|(k, n)| {
                (*n > 0).then(|| {
                    format!(
                        "{}/users?of=stickiness&event={encoded}&time_group={tg}{at}{seg_q}&days={}",
                        base.0,
                        k + 1
                    )
                })
            }),
        ),
        api_url: format!("{api}/stickiness?time_group={tg}{at}{seg_q}"),
    };
    let clear_url = (!filter.is_empty()).then(|| {
        format!(
            "{}{}",
            event_url(&base.0, &name),
            now_q.replacen('&', "?", 1)
        )
    });
    let page = EventPage {
        layout: Layout::new(base, "events"),
        daily: chart(&data.daily, "Users per day, last 90 days", "day"),
        weekly: chart(
            &data.weekly,
            "Users per ISO week, last 26 weeks",
            "ISO week",
        ),
        monthly: chart(&data.monthly, "Users per month, last 12 months", "month"),
        stickiness: vec![
            view("This week", &data.week, "weeks"),
            view("This month", &data.month, "months"),
        ],
        cohort_url: format!("{}/cohort?{}", base.0, q.finish()),
        funnel_url: format!("{}/funnel?{}", base.0, f.finish()),
        lifecycle_url: format!("{}/lifecycle?{}", base.0, lq.finish()),
        trends,
        ratio,
        trends_url: format!("{}/api/trends?{}", base.0, tq.finish()),
        breakdown: pairs.get("breakdown").unwrap_or("").trim().to_string(),
        by,
        now_label: as_of.label(zone),
        now_raw: as_of.raw.clone(),
        self_url: event_url(&base.0, &name),
        filter: SegmentFilter {
            active: filter,
            names: segment_names,
            clear_url,
        },
        name,
    };
    Ok(DashboardResponse::html(StatusCode::OK, page.render()?))
}

/// `GET /api/events/{name}/stickiness?time_group=weeks|months&at=&segment=&breakdown=`: the
/// engine's [`Stickiness`] as JSON (`segment` repeatable: only users in all of them; with
/// `breakdown`, the engine's `BrokenDown` of stickiness).
pub async fn stickiness_api(
    shared: &DashboardState,
    name: String,
    query: Option<&str>,
) -> Result<DashboardResponse, ApiError> {
    check_event("name", &name)?;
    let pairs = Pairs::parse(query);
    let group = parse_time_group(
        pairs.get("time_group"),
        &[TimeGroup::Weeks, TimeGroup::Months],
        TimeGroup::Weeks,
    )?;
    let at = AsOf::parse("at", pairs.get("at"), shared.client.timezone())?.at;
    if !known(shared, &name).await? {
        return Err(DashboardError::NotFound.into());
    }
    let spec = stickiness_spec(&name, &segments(&pairs), group, at);
    let by = super::params::breakdown(&pairs)?;
    let answer = shared
        .heavy
        .run(&shared.client, move |client| async move {
            Ok(match by {
                Some(by) => Answer::Broken(client.stickiness_by(&spec, &by).await?),
                None => Answer::Plain(client.stickiness_of(&spec).await?),
            })
        })
        .await?;
    Ok(answer.json())
}

/// `GET /api/trends?event=&days=&compare=&now=&segment=&breakdown=`: the engine's
/// [`Trends`] as JSON (`days` 1..=400, default 90; `compare` a checkbox value; `segment`
/// repeatable; with `breakdown`, the engine's `BrokenDown` of trends).
pub async fn trends_api(
    shared: &DashboardState,
    query: Option<&str>,
) -> Result<DashboardResponse, ApiError> {
    let pairs = Pairs::parse(query);
    let name = pairs.get("event").map(str::trim).unwrap_or("").to_string();
    check_event("event", &name)?;
    let days = parse_count("days", pairs.get("days"), DAYS, MAX_CELLS_PER_SIDE)?;
    let compare = parse_flag("compare", pairs.get("compare"))?;
    let zone = shared.client.timezone();
    let now = AsOf::parse("now", pairs.get("now"), zone)?.at;
    zone.period_containing(TimeGroup::Days, now)
        .and_then(|d| d.offset(-(days as i64 * 2 + 30)))
        .map_err(|e| {
            super::error::bad(
                "now",
                format!("now: the days leave the supported years ({e})"),
            )
        })?;
    let mut spec = TrendsSpec::new(name).days(days).compare(compare).now(now);
    spec.segments = super::params::segments(&pairs);
    let by = super::params::breakdown(&pairs)?;
    let answer = shared
        .heavy
        .run(&shared.client, move |client| async move {
            Ok(match by {
                Some(by) => Answer::Broken(client.trends_by(&spec, &by).await?),
                None => Answer::Plain(client.trends(&spec).await?),
            })
        })
        .await?;
    Ok(answer.json())
}

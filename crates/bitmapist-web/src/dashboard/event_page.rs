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

use askama::Template;
use bitmapist::{
    Bitmapist, CountSpec, Period, Stickiness, StickinessSpec, TimeGroup, Trends, TrendsDay,
    TrendsSpec,
};
use chrono::{DateTime, Utc};
use http::StatusCode;
use url::form_urlencoded;

use super::DashboardState;
use super::charts::{AxisChart, ChartOptions, LineChart, Series, Unit, axis_bars, line_chart};
use super::error::{ApiError, DashboardError, PageError};
use super::exchange::DashboardResponse;
use super::params::{
    MAX_CELLS_PER_SIDE, Pairs, check_event, parse_count, parse_flag, parse_time_group, segments,
};
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
}

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
    let at = if as_of.raw.is_empty() {
        String::new()
    } else {
        let mut a = form_urlencoded::Serializer::new(String::new());
        a.append_pair("at", &as_of.raw);
        format!("&{}", a.finish())
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

/// `GET /api/events/{name}/stickiness?time_group=weeks|months&at=&segment=`: the engine's
/// [`Stickiness`] as JSON (`segment` repeatable: only users in all of them).
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
    let s = shared
        .heavy
        .run(&shared.client, move |client| async move {
            Ok(client.stickiness_of(&spec).await?)
        })
        .await?;
    Ok(DashboardResponse::json(StatusCode::OK, &s))
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
    if let Some(by) = super::params::breakdown(&pairs)? {
        let broken = shared
            .heavy
            .run(&shared.client, move |client| async move {
                Ok(client.trends_by(&spec, &by).await?)
            })
            .await?;
        return Ok(DashboardResponse::json(StatusCode::OK, &broken));
    }
    let t = shared
        .heavy
        .run(&shared.client, move |client| async move {
            Ok(client.trends(&spec).await?)
        })
        .await?;
    Ok(DashboardResponse::json(StatusCode::OK, &t))
}

//! The funnel page (`GET /funnel`: form, bar chart, table) and its data (`GET /api/funnel`,
//! `GET /api/funnel.csv`), all from one bookmarkable set of GET parameters.
//!
//! Parameters: `step` (repeated, in order; blank ones are dropped; 2..=32 of them),
//! `time_group` (`days`, `weeks`, `months`; default days), `rows` and `window` (1..=400;
//! defaults 30 and 14), `strict` (a checkbox: the strict bound; default the lenient one),
//! `now` (as everywhere), `segment` (repeatable: only users in all of them) and
//! `breakdown` (a property, or segments separated by commas: the page then adds grouped
//! bars, one bar per value per step, a table of each value's totals and one of each
//! value's rows, from the engine's `funnel_by`, one fetch). Bad input: 400 naming the
//! parameter (the page re-shows the form with the message, through
//! [`form_error`]; the API answers `{"error", "param"}`). Funnels run under the
//! heavy-request bound.
//!
//! Every row count links to its users, `{base}/users?of=funnel&<this page's query>&row=R&step=S`;
//! a value's counts add the value
//! ([`breakdown_value_query`]). Totals are sums
//! over rows (a user may enter in several), not one set, so they are not linked.

use std::fmt::Write;
use std::sync::Arc;

use askama::Template;
use bitmapist::{Breakdown, BrokenDown, Funnel, FunnelSpec, MAX_FUNNEL_STEPS, TimeGroup, Zone};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use url::form_urlencoded;

use super::DashboardState;
use super::charts::{AxisChart, ChartOptions, GroupedChart, axis_bars, grouped_bars};
use super::error::{ApiError, DashboardError, FormPage, PageError, bad, form_error, rendered};
use super::exchange::Answer;
use super::exchange::{CSV, DashboardResponse};
use super::params::breakdown_value_query;
use super::params::{
    MAX_CELLS_PER_SIDE, Pairs, check_event, parse_count, parse_flag, parse_time_group,
};
use super::views::{Base, Layout, percent};
use super::zone::AsOf;
use bitmapist::thousands;

/// Default rows of a funnel.
pub const DEFAULT_ROWS: usize = 30;
/// Default window of a funnel.
pub const DEFAULT_WINDOW: usize = 14;
/// How many step fields the form shows at least (blank ones are ignored).
const MIN_FIELDS: usize = 4;

/// A validated funnel request.
#[derive(Clone, Debug)]
pub struct FunnelRequest {
    /// The engine's spec (its `now` is `as_of.at`).
    pub spec: FunnelSpec,
    /// "As of", in the store's zone.
    pub as_of: AsOf,
    /// The breakdown (`breakdown` as sent, trimmed) and its parse.
    pub breakdown: Option<(String, Breakdown)>,
}

/// The time groups a funnel takes.
const FUNNEL_GROUPS: [TimeGroup; 3] = [TimeGroup::Days, TimeGroup::Weeks, TimeGroup::Months];

impl FunnelRequest {
    /// Parses and checks the parameters, reading `now` in `zone`.
    pub fn from_query(q: &Pairs, zone: Zone) -> Result<Self, DashboardError> {
        let steps: Vec<String> = q
            .all("step")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        for s in &steps {
            check_event("step", s)?;
        }
        if steps.len() < 2 {
            return Err(bad(
                "step",
                format!("step: a funnel needs at least 2 steps, got {}", steps.len()),
            ));
        }
        if steps.len() > MAX_FUNNEL_STEPS {
            return Err(bad(
                "step",
                format!(
                    "step: at most {MAX_FUNNEL_STEPS} steps, got {}",
                    steps.len()
                ),
            ));
        }
        let time_group = parse_time_group(q.get("time_group"), &FUNNEL_GROUPS, TimeGroup::Days)?;
        let rows = parse_count("rows", q.get("rows"), DEFAULT_ROWS, MAX_CELLS_PER_SIDE)?;
        let window = parse_count(
            "window",
            q.get("window"),
            DEFAULT_WINDOW,
            MAX_CELLS_PER_SIDE,
        )?;
        let strict = parse_flag("strict", q.get("strict"))?;
        let as_of = AsOf::parse("now", q.get("now"), zone)?;
        let spec = FunnelSpec::new(steps)
            .time_group(time_group)
            .rows(rows)
            .window(window)
            .strict(strict)
            .now(as_of.at);
        let spec = super::params::segments(q)
            .into_iter()
            .fold(spec, |spec, s| spec.segment(s));
        spec.periods().map_err(|e| {
            bad(
                "now",
                format!("now: the rows leave the supported years ({e})"),
            )
        })?;
        let breakdown = super::params::breakdown(q)?
            .map(|b| (q.get("breakdown").unwrap_or("").trim().to_string(), b));
        Ok(FunnelRequest {
            spec,
            as_of,
            breakdown,
        })
    }

    /// The canonical query string of this request.
    pub fn query_string(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for s in &self.spec.steps {
            q.append_pair("step", s);
        }
        q.append_pair("time_group", self.spec.time_group.as_str());
        q.append_pair("rows", &self.spec.rows.to_string());
        q.append_pair("window", &self.spec.window.to_string());
        if self.spec.strict {
            q.append_pair("strict", "on");
        }
        if !self.as_of.raw.is_empty() {
            q.append_pair("now", &self.as_of.raw);
        }
        for s in &self.spec.segments {
            q.append_pair("segment", s);
        }
        if let Some((raw, _)) = &self.breakdown {
            q.append_pair("breakdown", raw);
        }
        q.finish()
    }
}

async fn compute(shared: &DashboardState, req: &FunnelRequest) -> Result<Funnel, DashboardError> {
    let spec = req.spec.clone();
    shared
        .heavy
        .run(&shared.client, move |client| async move {
            Ok(client.funnel(&spec).await?)
        })
        .await
}

/// The form as shown: what was sent, or the defaults.
#[derive(Clone, Debug)]
pub struct FunnelForm {
    /// The step fields (what was sent, blanks kept, padded to a few fields).
    pub steps: Vec<String>,
    /// `days`, `weeks` or `months`.
    pub time_group: String,
    /// Rows as sent.
    pub rows: String,
    /// Window as sent.
    pub window: String,
    /// Strict checkbox.
    pub strict: bool,
    /// "As of" as sent.
    pub now: String,
    /// The segment filter.
    pub segments: Vec<String>,
    /// The breakdown as sent (empty: none).
    pub breakdown: String,
}

/// The step fields: the steps, then blank fields up to a few.
fn step_fields(mut steps: Vec<String>) -> Vec<String> {
    let fields = (steps.len() + 1).clamp(MIN_FIELDS, MAX_FUNNEL_STEPS);
    steps.resize(fields.max(steps.len()), String::new());
    steps
}

impl FunnelForm {
    /// The form of a valid request: its validated values.
    fn from_request(req: &FunnelRequest) -> Self {
        let spec = &req.spec;
        FunnelForm {
            steps: step_fields(spec.steps.clone()),
            time_group: spec.time_group.as_str().to_string(),
            rows: spec.rows.to_string(),
            window: spec.window.to_string(),
            strict: spec.strict,
            now: req.as_of.raw.clone(),
            segments: spec.segments.clone(),
            breakdown: req
                .breakdown
                .as_ref()
                .map(|(raw, _)| raw.clone())
                .unwrap_or_default(),
        }
    }

    /// The form of a request that is not valid (or asks nothing yet): what was sent.
    fn from_query(q: &Pairs) -> Self {
        let steps = step_fields(
            q.all("step")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        );
        let text = |name: &str, default: usize| {
            q.get(name)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map_or_else(|| default.to_string(), str::to_string)
        };
        FunnelForm {
            steps,
            time_group: q
                .get("time_group")
                .map(str::trim)
                .unwrap_or("days")
                .to_string(),
            rows: text("rows", DEFAULT_ROWS),
            window: text("window", DEFAULT_WINDOW),
            strict: parse_flag("strict", q.get("strict")).unwrap_or(false),
            now: q.get("now").unwrap_or("").trim().to_string(),
            segments: super::params::segments(q),
            breakdown: q.get("breakdown").unwrap_or("").trim().to_string(),
        }
    }
}

/// One row of the page's table.
#[derive(Clone, Debug)]
pub struct RowView {
    /// The entry period.
    pub period: String,
    /// Step counts, grouped, each with the page of its users.
    pub counts: Vec<(String, String)>,
    /// Whether the window has ended.
    pub complete: bool,
    /// Whether the retention policy pruned the entry period (the cells say "pruned").
    pub pruned: bool,
}

/// The funnel page.
#[derive(Template)]
#[template(path = "dashboard/funnel.html")]
pub struct FunnelPage {
    /// Layout links.
    pub layout: Layout,
    /// Every event name, for the form's suggestions.
    pub names: Arc<Vec<String>>,
    /// The form.
    pub form: FunnelForm,
    /// What was wrong with the request.
    pub error: Option<String>,
    /// The parameter at fault.
    pub error_param: &'static str,
    /// The funnel, when one was asked for and computed.
    pub result: Option<FunnelView>,
    /// Steps that were never marked (no user reaches them).
    pub unknown: Vec<String>,
}

/// The funnel as the API answers it: the engine's [`Funnel`] and the steps never marked.
#[derive(Debug, Serialize)]
pub struct FunnelBody {
    /// `steps`, `time_group`, `window`, `strict`, `rows`, `totals`, `conversion`.
    #[serde(flatten)]
    pub funnel: Funnel,
    /// The steps that were never marked (no user reaches them).
    pub unknown_events: Vec<String>,
}

/// The steps of `req` that were never marked.
async fn unknown(
    shared: &DashboardState,
    req: &FunnelRequest,
) -> Result<Vec<String>, DashboardError> {
    let steps: Vec<&str> = req.spec.steps.iter().map(String::as_str).collect();
    Ok(shared.names.unknown(&shared.client, &steps).await?)
}

/// A computed funnel as the page shows it.
#[derive(Clone, Debug)]
pub struct FunnelView {
    /// Step names.
    pub steps: Vec<String>,
    /// Totals per step, grouped.
    pub totals: Vec<String>,
    /// Conversion per step, as percentages.
    pub conversion: Vec<String>,
    /// The rows.
    pub rows: Vec<RowView>,
    /// The chart of the totals.
    pub chart: AxisChart,
    /// "lenient" or "strict".
    pub bound: &'static str,
    /// A sentence on the window.
    pub window: String,
    /// Links: JSON, CSV, this page, the other bound.
    pub json_url: String,
    /// See `json_url`.
    pub csv_url: String,
    /// See `json_url`.
    pub permalink: String,
    /// See `json_url`.
    pub other_bound_url: String,
    /// With a breakdown: the grouped chart and one table row per value.
    pub by: Option<FunnelByView>,
}

/// A funnel broken down, as the page shows it.
#[derive(Clone, Debug)]
pub struct FunnelByView {
    /// What it is broken down by.
    pub breakdown: String,
    /// One bar per value per step.
    pub chart: GroupedChart,
    /// Per value: its name (`none`: the users in no value), its totals per step, grouped,
    /// and its overall conversion (last step over entrants).
    pub rows: Vec<(String, Vec<String>, String)>,
    /// Per value: its name and its rows per entry period, each count linking to its users
    /// within the value.
    pub periods: Vec<(String, Vec<RowView>)>,
}

/// The name a breakdown value is shown under (`None`: the users in none of the values).
fn value_name(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(none)".to_string())
}

fn by_view(
    base: &str,
    req: &FunnelRequest,
    broken: &BrokenDown<Funnel>,
    steps: &[String],
) -> FunnelByView {
    let q = req.query_string();
    let periods = match &req.breakdown {
        Some((_, by)) => broken
            .values
            .iter()
            .map(|v| {
                let value = breakdown_value_query(by, v.value.as_deref());
                let rows = row_views(&v.result, |i, step| {
                    format!("{base}/users?of=funnel&{q}&row={i}&step={step}&{value}")
                });
                (value_name(&v.value), rows)
            })
            .collect(),
        None => Vec::new(),
    };
    let groups: Vec<String> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}. {s}", i + 1))
        .collect();
    let series: Vec<(String, Vec<u64>)> = broken
        .values
        .iter()
        .map(|v| (value_name(&v.value), v.result.totals.clone()))
        .collect();
    FunnelByView {
        breakdown: broken.breakdown.clone(),
        chart: grouped_bars(&groups, &series, "Users reaching each step, per value"),
        rows: broken
            .values
            .iter()
            .map(|v| {
                let t = &v.result.totals;
                let overall = match (t.first(), t.last()) {
                    (Some(&first), Some(&last)) if first > 0 => percent(last as f64 / first as f64),
                    _ => String::new(),
                };
                (
                    value_name(&v.value),
                    t.iter().map(|&n| thousands(n)).collect(),
                    overall,
                )
            })
            .collect(),
        periods,
    }
}

/// The table rows of `f`, each count linking to its users through `href(row, step)`.
fn row_views(f: &Funnel, href: impl Fn(usize, usize) -> String) -> Vec<RowView> {
    f.rows
        .iter()
        .enumerate()
        .map(|(i, r)| RowView {
            period: r.period.clone(),
            counts: r
                .counts
                .iter()
                .enumerate()
                .map(|(step, &n)| (thousands(n), href(i, step)))
                .collect(),
            complete: r.complete,
            pruned: r.pruned,
        })
        .collect()
}

fn view(base: &str, req: &FunnelRequest, f: &Funnel) -> FunnelView {
    let series: Vec<(String, u64)> = f
        .steps
        .iter()
        .zip(&f.totals)
        .enumerate()
        .map(|(i, (s, t))| (format!("{}. {s}", i + 1), *t))
        .collect();
    let notes = f
        .conversion
        .iter()
        .map(|c| c.map(percent).unwrap_or_default())
        .collect();
    let q = req.query_string();
    let mut other = req.clone();
    other.spec.strict = !req.spec.strict;
    let unit = match f.time_group {
        TimeGroup::Weeks => "weeks",
        TimeGroup::Months => "months",
        _ => "days",
    };
    FunnelView {
        steps: f.steps.clone(),
        totals: f.totals.iter().map(|&t| thousands(t)).collect(),
        conversion: f
            .conversion
            .iter()
            .map(|c| c.map(percent).unwrap_or_default())
            .collect(),
        rows: row_views(f, |i, step| {
            format!("{base}/users?of=funnel&{q}&row={i}&step={step}")
        }),
        chart: axis_bars(
            &series,
            &ChartOptions {
                what: "Users reaching each step",
                x_title: "step",
                last_is_now: false,
                notes,
            },
        ),
        bound: if f.strict { "strict" } else { "lenient" },
        window: format!("{} {unit} from entry, {} rows", f.window, f.rows.len()),
        json_url: format!("{base}/api/funnel?{q}"),
        csv_url: format!("{base}/api/funnel.csv?{q}"),
        permalink: format!("{base}/funnel?{q}"),
        other_bound_url: format!("{base}/funnel?{}", other.query_string()),
        by: None,
    }
}

/// `GET /funnel`.
pub async fn page(
    shared: &DashboardState,
    base: &Base,
    query: Option<&str>,
) -> Result<DashboardResponse, PageError> {
    let pairs = Pairs::parse(query);
    let names = shared.names.get(&shared.client).await?;
    let mut page = FunnelPage {
        layout: Layout::new(base, "funnel"),
        names,
        form: FunnelForm::from_query(&pairs),
        error: None,
        error_param: "",
        result: None,
        unknown: Vec::new(),
    };
    // Nothing asked yet: the form alone.
    if !pairs.has("step") {
        return rendered(StatusCode::OK, &page);
    }
    let outcome = match FunnelRequest::from_query(&pairs, shared.client.timezone()) {
        Ok(req) => compute(shared, &req).await.map(|f| (req, f)),
        Err(e) => Err(e),
    };
    let (req, f) = match outcome {
        Ok(done) => done,
        Err(e) => return form_error(&mut page, e),
    };
    page.form = FunnelForm::from_request(&req);
    page.unknown = unknown(shared, &req).await?;
    let mut result = view(&base.0, &req, &f);
    if let Some((_, by)) = req.breakdown.clone() {
        let spec = req.spec.clone();
        let broken = shared
            .heavy
            .run(&shared.client, move |client| async move {
                Ok(client.funnel_by(&spec, &by).await?)
            })
            .await;
        match broken {
            Ok(b) => result.by = Some(by_view(&base.0, &req, &b, &f.steps)),
            Err(e) => return form_error(&mut page, e),
        }
    }
    page.result = Some(result);
    rendered(StatusCode::OK, &page)
}

impl FormPage for FunnelPage {
    fn show_error(&mut self, e: &DashboardError) {
        self.error = Some(e.to_string());
        self.error_param = e.param().unwrap_or("");
    }
}

/// `GET /api/funnel`: the engine's [`Funnel`] as JSON.
pub async fn api(
    shared: &DashboardState,
    query: Option<&str>,
) -> Result<DashboardResponse, ApiError> {
    let pairs = Pairs::parse(query);
    let req = FunnelRequest::from_query(&pairs, shared.client.timezone())?;
    let unknown_events = unknown(shared, &req).await?;
    let answer = match req.breakdown.clone() {
        Some((_, by)) => {
            let spec = req.spec.clone();
            Answer::Broken(
                shared
                    .heavy
                    .run(&shared.client, move |client| async move {
                        Ok(client.funnel_by(&spec, &by).await?)
                    })
                    .await?,
            )
        }
        None => Answer::Plain(compute(shared, &req).await?),
    };
    Ok(answer
        .map(|funnel| FunnelBody {
            funnel,
            unknown_events: unknown_events.clone(),
        })
        .json())
}

/// Quotes a CSV field when it holds a comma, a quote or a line break (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV text: `period,start,complete,<step 1>,...`, one line per row, then `total` and
/// `conversion` lines.
pub fn render_csv(f: &Funnel) -> String {
    let mut out = String::from("period,start,complete");
    for s in &f.steps {
        out.push(',');
        out.push_str(&field(s));
    }
    out.push_str("\r\n");
    for r in &f.rows {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "{},{},{}",
            field(&r.period),
            field(&r.start),
            r.complete
        );
        for c in &r.counts {
            let _ = write!(out, ",{c}");
        }
        out.push_str("\r\n");
    }
    out.push_str("total,,");
    for t in &f.totals {
        let _ = write!(out, ",{t}");
    }
    out.push_str("\r\nconversion,,");
    for c in &f.conversion {
        out.push(',');
        if let Some(c) = c {
            let _ = write!(out, "{c}");
        }
    }
    out.push_str("\r\n");
    out
}

/// `GET /api/funnel.csv`.
pub async fn csv(
    shared: &DashboardState,
    query: Option<&str>,
) -> Result<DashboardResponse, ApiError> {
    let req = FunnelRequest::from_query(&Pairs::parse(query), shared.client.timezone())?;
    let f = compute(shared, &req).await?;
    Ok(
        DashboardResponse::new(StatusCode::OK, CSV, render_csv(&f)).with(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"funnel.csv\""),
        ),
    )
}

//! The lifecycle page (`GET /lifecycle`: form, stacked bars, table) and its data
//! (`GET /api/lifecycle`), from one bookmarkable set of GET parameters.
//!
//! Parameters: `event` (required for a result), `time_group` (`hours`, `days`, `weeks`,
//! `months`; default weeks), `periods` (1..=400; default 12), `new_from` (a creation event;
//! blank or absent: first-ever `event`), `now` (as everywhere), `segment` (repeatable: only
//! the users in all of them), `breakdown` (a property, `plan`, or segments separated by
//! commas): the API then answers the engine's `BrokenDown` of lifecycles and the page adds
//! a table with a value column (each value's rows, then the users in none; one fetch).
//! Bad input: 400 naming the
//! parameter (the page re-shows the form with the message; the API answers `{"error",
//! "param"}`). Lifecycles run under the heavy-request bound.
//!
//! With a breakdown the page also draws one stacked chart per value (small multiples on
//! one scale, so values compare; dormant below the axis) above the value table.
//!
//! Each bar part and each table cell links to the users behind it:
//! `{base}/users?of=lifecycle&<this page's query>&row=R&status=S` (row 0 is the oldest
//! period); a value's numbers add the value
//! ([`breakdown_value_query`]). Every user string (event names, labels) is escaped by the templates.

use std::sync::Arc;

use askama::Template;
use bitmapist::{
    Breakdown, BrokenDown, Lifecycle, LifecycleSpec, LifecycleStatus, TimeGroup, Zone, thousands,
};
use http::StatusCode;
use url::form_urlencoded;

use super::DashboardState;
use super::charts::{Bar, Part, StackedChart, stacked_bars, stacked_multiples};
use super::error::{ApiError, DashboardError, FormPage, PageError, bad, form_error, rendered};
use super::exchange::Answer;
use super::exchange::DashboardResponse;
use super::params::breakdown_value_query;
use super::params::{MAX_CELLS_PER_SIDE, Pairs, check_event, parse_count, parse_time_group};
use super::views::{Base, Layout};
use super::zone::AsOf;

/// Default number of periods.
pub const DEFAULT_PERIODS: usize = 12;

/// The time groups a lifecycle takes.
const LIFECYCLE_GROUPS: [TimeGroup; 4] = [
    TimeGroup::Hours,
    TimeGroup::Days,
    TimeGroup::Weeks,
    TimeGroup::Months,
];

/// A validated lifecycle request.
#[derive(Clone, Debug)]
pub struct LifecycleRequest {
    /// The engine's spec (its `now` is `as_of.at`).
    pub spec: LifecycleSpec,
    /// "As of", in the store's zone.
    pub as_of: AsOf,
    /// The breakdown (`breakdown` as sent, trimmed) and its parse.
    pub breakdown: Option<(String, bitmapist::Breakdown)>,
}

impl LifecycleRequest {
    /// Parses and checks the parameters, reading `now` in `zone`.
    pub fn from_query(q: &Pairs, zone: Zone) -> Result<Self, DashboardError> {
        let event = q.get("event").map(str::trim).unwrap_or("");
        check_event("event", event)?;
        let new_from = q
            .get("new_from")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        if let Some(from) = &new_from {
            check_event("new_from", from)?;
        }
        let time_group =
            parse_time_group(q.get("time_group"), &LIFECYCLE_GROUPS, TimeGroup::Weeks)?;
        let periods = parse_count(
            "periods",
            q.get("periods"),
            DEFAULT_PERIODS,
            MAX_CELLS_PER_SIDE,
        )?;
        let as_of = AsOf::parse("now", q.get("now"), zone)?;
        let mut spec = LifecycleSpec::new(event)
            .time_group(time_group)
            .periods(periods)
            .new_from(new_from)
            .now(as_of.at);
        spec.segments = super::params::segments(q);
        // Periods before year 1 (a far-back `now` with many periods) are a 400, not a 503.
        zone.period_containing(time_group, as_of.at)
            .and_then(|p| p.offset(-(periods as i64)))
            .map_err(|e| {
                bad(
                    "now",
                    format!("now: the periods leave the supported years ({e})"),
                )
            })?;
        let breakdown = super::params::breakdown(q)?
            .map(|b| (q.get("breakdown").unwrap_or("").trim().to_string(), b));
        Ok(LifecycleRequest {
            spec,
            as_of,
            breakdown,
        })
    }

    /// The canonical query string of this request.
    pub fn query_string(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("event", &self.spec.event);
        q.append_pair("time_group", self.spec.time_group.as_str());
        q.append_pair("periods", &self.spec.periods.to_string());
        if let Some(from) = &self.spec.new_from {
            q.append_pair("new_from", from);
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

    /// The URL of the users behind one number: `status` in row `row`.
    pub fn users_url(&self, base: &str, row: usize, status: LifecycleStatus) -> String {
        format!(
            "{base}/users?of=lifecycle&{}&row={row}&status={}",
            self.query_string(),
            status.as_str()
        )
    }
}

async fn compute(
    shared: &DashboardState,
    req: &LifecycleRequest,
) -> Result<Lifecycle, DashboardError> {
    let spec = req.spec.clone();
    shared
        .heavy
        .run(&shared.client, move |client| async move {
            Ok(client.lifecycle(&spec).await?)
        })
        .await
}

/// The form as shown: what was sent, or the defaults.
#[derive(Clone, Debug)]
pub struct LifecycleForm {
    /// The event.
    pub event: String,
    /// `hours`, `days`, `weeks` or `months`.
    pub time_group: String,
    /// Periods as sent.
    pub periods: String,
    /// The creation event as sent (empty: first-ever).
    pub new_from: String,
    /// "As of" as sent.
    pub now: String,
    /// The segment filter.
    pub segments: Vec<String>,
    /// The breakdown as sent (empty: none).
    pub breakdown: String,
}

impl LifecycleForm {
    fn from_query(q: &Pairs) -> Self {
        let text = |name: &str| q.get(name).map(str::trim).unwrap_or("").to_string();
        let periods = text("periods");
        let time_group = text("time_group");
        LifecycleForm {
            event: text("event"),
            time_group: if time_group.is_empty() {
                "weeks".to_string()
            } else {
                time_group
            },
            periods: if periods.is_empty() {
                DEFAULT_PERIODS.to_string()
            } else {
                periods
            },
            new_from: text("new_from"),
            now: text("now"),
            segments: super::params::segments(q),
            breakdown: text("breakdown"),
        }
    }

    fn from_request(req: &LifecycleRequest) -> Self {
        LifecycleForm {
            event: req.spec.event.clone(),
            time_group: req.spec.time_group.as_str().to_string(),
            periods: req.spec.periods.to_string(),
            new_from: req.spec.new_from.clone().unwrap_or_default(),
            now: req.as_of.raw.clone(),
            segments: req.spec.segments.clone(),
            breakdown: req
                .breakdown
                .as_ref()
                .map(|(raw, _)| raw.clone())
                .unwrap_or_default(),
        }
    }
}

/// One table cell: a count and the link to its users.
#[derive(Clone, Debug)]
pub struct CellView {
    /// The count, grouped.
    pub count: String,
    /// The users behind it (none for zero).
    pub href: Option<String>,
}

/// One row of the page's table.
#[derive(Clone, Debug)]
pub struct RowView {
    /// The period's label.
    pub period: String,
    /// new, returning, resurrecting, dormant.
    pub cells: Vec<CellView>,
    /// Active users (new + returning + resurrecting).
    pub active: String,
}

/// A computed lifecycle as the page shows it.
#[derive(Clone, Debug)]
pub struct LifecycleView {
    /// The chart.
    pub chart: StackedChart,
    /// The table's rows, oldest first.
    pub rows: Vec<RowView>,
    /// What "new" means here, for people.
    pub new_means: String,
    /// Links: JSON, this page.
    pub json_url: String,
    /// See `json_url`.
    pub permalink: String,
    /// With a breakdown: its name and its values.
    pub by: Option<(String, Vec<ValueView>)>,
}

/// One breakdown value's lifecycle as the page shows it.
#[derive(Clone, Debug)]
pub struct ValueView {
    /// The value (`(none)`: the users in none of the values).
    pub name: String,
    /// Its chart, on the scale shared by every value's chart.
    pub chart: StackedChart,
    /// Its table rows, oldest first.
    pub rows: Vec<RowView>,
}

/// The table rows of `l`, each cell linking to its users through `href` (none: unlinked).
fn row_views(
    l: &Lifecycle,
    href: impl Fn(usize, LifecycleStatus) -> Option<String>,
) -> Vec<RowView> {
    l.rows
        .iter()
        .enumerate()
        .map(|(i, r)| RowView {
            period: r.period.clone(),
            // A row whose previous period was pruned says so, never its partial counts.
            cells: LifecycleStatus::ALL
                .iter()
                .map(|&s| CellView {
                    count: if r.pruned {
                        "pruned".to_string()
                    } else {
                        thousands(r.count(s))
                    },
                    href: if r.count(s) > 0 && !r.pruned {
                        href(i, s)
                    } else {
                        None
                    },
                })
                .collect(),
            active: if r.pruned {
                "pruned".to_string()
            } else {
                thousands(r.active())
            },
        })
        .collect()
}

/// The CSS class of a status's colour.
fn class(status: LifecycleStatus) -> &'static str {
    match status {
        LifecycleStatus::New => "lc-new",
        LifecycleStatus::Returning => "lc-returning",
        LifecycleStatus::Resurrecting => "lc-resurrecting",
        LifecycleStatus::Dormant => "lc-dormant",
    }
}

/// The bars of `l`, each part linking to its users through `href`.
fn bars(l: &Lifecycle, href: impl Fn(usize, LifecycleStatus) -> String) -> Vec<Bar> {
    l.rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let parts = LifecycleStatus::ALL
                .iter()
                .map(|&s| Part {
                    count: r.count(s),
                    below: s == LifecycleStatus::Dormant,
                    class: class(s),
                    name: s.as_str(),
                    href: href(i, s),
                })
                .collect();
            (r.period.clone(), parts)
        })
        .collect()
}

fn view(base: &str, req: &LifecycleRequest, l: &Lifecycle) -> LifecycleView {
    let link = |i, s| req.users_url(base, i, s);
    let q = req.query_string();
    LifecycleView {
        chart: stacked_bars(
            &bars(l, link),
            &format!("Lifecycle of {} per {}", l.event, l.time_group.unit()),
        ),
        rows: row_views(l, |i, s| Some(link(i, s))),
        new_means: match &l.new_from {
            Some(from) => format!("new = did {from} in the period"),
            None => format!("new = first-ever {} in the period", l.event),
        },
        json_url: format!("{base}/api/lifecycle?{q}"),
        permalink: format!("{base}/lifecycle?{q}"),
        by: None,
    }
}

/// Each value's chart (one shared scale) and table, every number linking to its users
/// within the value.
fn by_view(
    base: &str,
    req: &LifecycleRequest,
    broken: &BrokenDown<Lifecycle>,
) -> (String, Vec<ValueView>) {
    let Some((_, by)) = &req.breakdown else {
        return (broken.breakdown.clone(), Vec::new());
    };
    let link = |value: Option<&str>, i: usize, s: LifecycleStatus| {
        format!(
            "{}&{}",
            req.users_url(base, i, s),
            breakdown_value_query(by, value)
        )
    };
    let name = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
    let groups: Vec<(String, Vec<Bar>)> = broken
        .values
        .iter()
        .map(|v| {
            let what = format!(
                "Lifecycle of {} per {}, {} {}",
                v.result.event,
                v.result.time_group.unit(),
                broken.breakdown,
                name(&v.value)
            );
            (what, bars(&v.result, |i, s| link(v.value.as_deref(), i, s)))
        })
        .collect();
    let values = stacked_multiples(&groups)
        .into_iter()
        .zip(&broken.values)
        .map(|(chart, v)| ValueView {
            name: name(&v.value),
            chart,
            rows: row_views(&v.result, |i, s| Some(link(v.value.as_deref(), i, s))),
        })
        .collect();
    (broken.breakdown.clone(), values)
}

/// The lifecycle page.
#[derive(Template)]
#[template(path = "dashboard/lifecycle.html")]
pub struct LifecyclePage {
    /// Layout links.
    pub layout: Layout,
    /// Every event name, for the form's suggestions.
    pub names: Arc<Vec<String>>,
    /// The form.
    pub form: LifecycleForm,
    /// What was wrong with the request.
    pub error: Option<String>,
    /// The parameter at fault.
    pub error_param: &'static str,
    /// The lifecycle, when one was asked for and computed.
    pub result: Option<LifecycleView>,
    /// The statuses, for the legend and the table's header.
    pub statuses: [LifecycleStatus; 4],
}

/// `GET /lifecycle`.
pub async fn page(
    shared: &DashboardState,
    base: &Base,
    query: Option<&str>,
) -> Result<DashboardResponse, PageError> {
    let pairs = Pairs::parse(query);
    let names = shared.names.get(&shared.client).await?;
    let mut page = LifecyclePage {
        layout: Layout::new(base, "lifecycle"),
        names,
        form: LifecycleForm::from_query(&pairs),
        error: None,
        error_param: "",
        result: None,
        statuses: LifecycleStatus::ALL,
    };
    // Nothing asked yet: the form alone.
    if !pairs.has("event") {
        return rendered(StatusCode::OK, &page);
    }
    let outcome = match LifecycleRequest::from_query(&pairs, shared.client.timezone()) {
        Ok(req) => compute(shared, &req).await.map(|l| (req, l)),
        Err(e) => Err(e),
    };
    let (req, l) = match outcome {
        Ok(done) => done,
        Err(e) => return form_error(&mut page, e),
    };
    page.form = LifecycleForm::from_request(&req);
    let mut result = view(&base.0, &req, &l);
    if let Some((_, by)) = req.breakdown.clone() {
        match broken(shared, &req, by).await {
            Ok(b) => result.by = Some(by_view(&base.0, &req, &b)),
            Err(e) => return form_error(&mut page, e),
        }
    }
    page.result = Some(result);
    rendered(StatusCode::OK, &page)
}

impl FormPage for LifecyclePage {
    fn show_error(&mut self, e: &DashboardError) {
        self.error = Some(e.to_string());
        self.error_param = e.param().unwrap_or("");
    }
}

/// The lifecycle of each value of `by`, on one fetch, under the heavy-request bound.
async fn broken(
    shared: &DashboardState,
    req: &LifecycleRequest,
    by: Breakdown,
) -> Result<BrokenDown<Lifecycle>, DashboardError> {
    let spec = req.spec.clone();
    shared
        .heavy
        .run(&shared.client, move |client| async move {
            Ok(client.lifecycle_by(&spec, &by).await?)
        })
        .await
}

/// `GET /api/lifecycle`: the engine's [`Lifecycle`] as JSON (with `breakdown`: its
/// `BrokenDown`).
pub async fn api(
    shared: &DashboardState,
    query: Option<&str>,
) -> Result<DashboardResponse, ApiError> {
    let pairs = Pairs::parse(query);
    let req = LifecycleRequest::from_query(&pairs, shared.client.timezone())?;
    let answer = match req.breakdown.clone() {
        Some((_, by)) => Answer::Broken(broken(shared, &req, by).await?),
        None => Answer::Plain(compute(shared, &req).await?),
    };
    Ok(answer.json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_bad_values_name_their_parameter() {
        let q = Pairs::parse(Some(
            "event=a%26b&time_group=days&periods=5&new_from=user%3Acreated&now=2026-11-20&segment=plan%3Apro&segment=",
        ));
        let req = LifecycleRequest::from_query(&q, Zone::UTC).expect("valid");
        assert_eq!(req.spec.event, "a&b");
        assert_eq!(req.spec.new_from.as_deref(), Some("user:created"));
        assert_eq!(req.spec.segments, ["plan:pro"]);
        let again =
            LifecycleRequest::from_query(&Pairs::parse(Some(&req.query_string())), Zone::UTC)
                .expect("valid");
        assert_eq!(again.spec, req.spec);
        assert_eq!(
            req.users_url("/bm", 2, LifecycleStatus::Dormant),
            format!(
                "/bm/users?of=lifecycle&{}&row=2&status=dormant",
                req.query_string()
            )
        );
        for (query, param) in [
            ("event=", "event"),
            ("event=a&time_group=years", "time_group"),
            ("event=a&periods=0", "periods"),
            ("event=a&periods=401", "periods"),
            ("event=a&now=soon", "now"),
            (
                "event=a&periods=400&time_group=months&now=0001-02-01",
                "now",
            ),
        ] {
            let err = LifecycleRequest::from_query(&Pairs::parse(Some(query)), Zone::UTC)
                .expect_err(query);
            assert_eq!(err.param(), Some(param), "{query}");
        }
    }
}

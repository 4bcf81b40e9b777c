//! The JSON API under `/api`: the overview's and the cohort page's tables as data.
//! Same parameters as the pages; errors are `{"error", "param"}` with a 4xx/5xx status.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api` | this list, as JSON |
//! | `GET /api/events?q=&page=&per_page=&now=&segment=&breakdown=` | a page of events with counts and series (`segment`: of the users in all of them) |
//! | `GET /api/events/{name}?now=&segment=&breakdown=` | one event (name percent-encoded) |
//! | `GET /api/cohort?<cohort parameters>` | the cohort table, as the engine's `Cohort` |
//! | `GET /api/cohort.csv?<cohort parameters>` | the same as a CSV download |
//!
//! Every analysis that takes `breakdown` (events, cohort, funnel, lifecycle, stickiness,
//! trends) answers in one shape, [`Answer`]: without a breakdown, its plain body; with one,
//! the engine's `{"breakdown", "values": [{"value", "result"}]}` whose results are the plain
//! body of each value's users (the last value, `null`, the users in none).

use bitmapist::{Average, Bitmapist, Cohort, CohortSpec, Criterion, Retention};
use http::StatusCode;
use serde::Serialize;
use serde_json::json;

use super::DashboardState;
use super::error::{ApiError, DashboardError};
use super::exchange::{Answer, DashboardResponse};
use super::overview::{EventStats, event_stats_bounded, event_stats_by_bounded, paginate};
use super::params::{CohortForm, CohortRequest, OverviewRequest, Pairs, chain_value, check_event};
use super::views::Base;
use super::zone::AsOf;

/// `GET /api`: the routes, so that the API documents itself.
pub fn index(base: &Base) -> DashboardResponse {
    let b = &base.0;
    let body = json!({
        "events": format!("{b}/api/events?q=&page=1&per_page=100&now=&breakdown="),
        "event": format!("{b}/api/events/{{name}}?now=&breakdown="),
        "cohort": format!(
            "{b}/api/cohort?primary_event=&secondary_event=&additional=and:EVENT\
             &time_group=days&num_rows=10&num_cols=10&as_percent=&retention=first-return\
             &first_time=&average=simple&complete_only=&now="
        ),
        "cohort_csv": format!("{b}/api/cohort.csv?<the cohort parameters>"),
        "stickiness": format!(
            "{b}/api/events/{{name}}/stickiness?time_group=weeks&at=&breakdown="
        ),
        "funnel": format!(
            "{b}/api/funnel?step=EVENT1&step=EVENT2&time_group=days&rows=30&window=14&strict=&now="
        ),
        "funnel_csv": format!("{b}/api/funnel.csv?<the funnel parameters>"),
        "lifecycle": format!(
            "{b}/api/lifecycle?event=EVENT&time_group=weeks&periods=12&new_from=&now="
        ),
        "trends": format!("{b}/api/trends?event=EVENT&days=90&compare=&now="),
        "legacy_cohort": format!(
            "POST {b}/cohort (JSON body as Flask-Bitmapist's; ?json=1 for JSON, else an HTML fragment)"
        ),
        "parameters": {
            "time_group": "days, weeks, months, years (hours when tracked)",
            "num_rows": "1..=400 (default 10)",
            "num_cols": "1..=400 (default 10)",
            "additional": "repeated, in chain order: and:EVENT or or:EVENT",
            "as_percent": "on, true or 1; absent is false",
            "with_replacement": "on, true or 1; absent is false (the same as retention=on)",
            "retention": "first-return (default), on, on-or-after",
            "first_time": "on, true or 1: rows are first-time cohorts (first-ever primary event)",
            "average": "simple (mean of the row fractions, default) or weighted (column users over cohort users)",
            "complete_only": "on, true or 1: leave the current, incomplete period out of the averages",
            "now": "YYYY-MM-DD (end of that day) or YYYY-MM-DDTHH:MM in the store's time zone, or RFC 3339; default now"
        }
    });
    DashboardResponse::json(StatusCode::OK, &body)
}

/// A page of the events listing.
#[derive(Debug, Serialize)]
pub struct EventsBody {
    /// The moment counted at, RFC 3339.
    pub now: String,
    /// Whether the client marks hours by default.
    pub hourly: bool,
    /// Every event in the store.
    pub total: usize,
    /// Events matching `q`.
    pub matched: usize,
    /// This page, 1-based.
    pub page: usize,
    /// Events per page.
    pub per_page: usize,
    /// Page count.
    pub pages: usize,
    /// The events of this page.
    pub events: Vec<EventStats>,
}

/// `GET /api/events` (`segment`, repeatable, filters every count; `breakdown`: `{"breakdown",
/// "values": [{"value", "result": <this body for the value's users>}]}`, none last).
pub async fn events(
    shared: &DashboardState,
    query: Option<&str>,
) -> Result<DashboardResponse, ApiError> {
    let req = OverviewRequest::from_query(&Pairs::parse(query), shared.client.timezone())?;
    let names = shared.names.get(&shared.client).await?;
    let paged = paginate(&names, &req);
    let (at, segments) = (req.as_of.at, req.segments.clone());
    let answer = match req.breakdown.clone() {
        Some((_, by)) => {
            Answer::Broken(event_stats_by_bounded(shared, paged.names, at, segments, by).await?)
        }
        None => Answer::Plain(event_stats_bounded(shared, paged.names, at, segments).await?),
    };
    Ok(answer
        .map(|events| EventsBody {
            now: at.to_rfc3339(),
            hourly: shared.client.tracks_hourly(),
            total: names.len(),
            matched: paged.matched,
            page: req.page,
            per_page: req.per_page,
            pages: paged.pages,
            events,
        })
        .json())
}

/// One event, with the moment it was counted at.
#[derive(Debug, Serialize)]
pub struct EventBody {
    /// The moment counted at, RFC 3339.
    pub now: String,
    /// The event's numbers (an event with no data has zeros, not an error).
    #[serde(flatten)]
    pub event: EventStats,
}

/// `GET /api/events/{name}` (`segment`, repeatable, filters every count; `breakdown`: one
/// body per value, then for the users in none, as `/api/events`).
pub async fn event(
    shared: &DashboardState,
    name: String,
    query: Option<&str>,
) -> Result<DashboardResponse, ApiError> {
    check_event("name", &name)?;
    let pairs = Pairs::parse(query);
    let as_of = AsOf::parse("now", pairs.get("now"), shared.client.timezone())?;
    let filter = super::params::segments(&pairs);
    let names = vec![name];
    let answer = match super::params::breakdown(&pairs)? {
        Some(by) => {
            Answer::Broken(event_stats_by_bounded(shared, names, as_of.at, filter, by).await?)
        }
        None => Answer::Plain(event_stats_bounded(shared, names, as_of.at, filter).await?),
    };
    let answer = answer.try_map(|stats| {
        let event = stats.into_iter().next().ok_or(DashboardError::NotFound)?;
        Ok::<_, DashboardError>(EventBody {
            now: as_of.at.to_rfc3339(),
            event,
        })
    })?;
    Ok(answer.json())
}

/// A cohort table with the request that made it.
#[derive(Debug, Serialize)]
pub struct CohortBody {
    /// The primary event.
    pub primary_event: String,
    /// The secondary event.
    pub secondary_event: String,
    /// The chain, as `and:EVENT` / `or:EVENT`.
    pub additional: Vec<String>,
    /// Rows.
    pub num_rows: usize,
    /// Columns.
    pub num_cols: usize,
    /// Whether the page would show percentages (the body has both counts and fractions).
    pub as_percent: bool,
    /// Whether users count again in later cells.
    pub with_replacement: bool,
    /// The moment the table is drawn at, RFC 3339.
    pub now: String,
    /// When a returning user counts: `first-return`, `on`, `on-or-after`.
    pub retention: Criterion,
    /// Whether rows are first-time cohorts.
    pub first_time: bool,
    /// How the averages were taken: `simple`, `weighted`.
    pub average: Average,
    /// Whether the current period was left out of the averages.
    pub complete_only: bool,
    /// The events named that were never marked (their cells count no users).
    pub unknown_events: Vec<String>,
    /// Per row, per cell: whether the store's retention policy pruned the row's period or
    /// the cell's (the cell is not data). Absent when nothing in the table was pruned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pruned: Option<Vec<Vec<bool>>>,
    /// The table: `time_group`, `dates`, `labels`, `cohort`, `totals`, `fractions`,
    /// `averages`, `average_fractions`, `col_totals`, `total`.
    #[serde(flatten)]
    pub table: Cohort,
}

impl CohortBody {
    /// The body of `table`, computed for `req`; `unknown_events` as
    /// [`EventNames::unknown`](super::names::EventNames::unknown) found them.
    pub fn new(req: &CohortRequest, retention: Retention, unknown_events: Vec<String>) -> Self {
        let spec = &req.spec;
        CohortBody {
            primary_event: spec.primary.clone(),
            secondary_event: spec.secondary.clone(),
            additional: spec.additional.iter().map(chain_value).collect(),
            num_rows: spec.rows,
            num_cols: spec.cols,
            as_percent: req.as_percent,
            with_replacement: spec.with_replacement,
            now: spec.now.to_rfc3339(),
            retention: retention.criterion,
            first_time: retention.kind == bitmapist::CohortKind::FirstTime,
            average: retention.average,
            complete_only: retention.complete_only,
            unknown_events,
            pruned: None,
            table: retention.table,
        }
    }
}

/// Validates the cohort parameters of a query and computes the table.
pub async fn compute(
    shared: &DashboardState,
    query: Option<&str>,
) -> Result<(CohortRequest, Retention), DashboardError> {
    let form = CohortForm::from_query(&Pairs::parse(query));
    let req = form.validate(shared.client.timezone())?;
    let table = shared
        .heavy
        .retention(&shared.client, &req.retention_spec())
        .await?;
    Ok((req, table))
}

/// `GET /api/cohort`.
pub async fn cohort(
    shared: &DashboardState,
    query: Option<&str>,
) -> Result<DashboardResponse, ApiError> {
    let pairs = Pairs::parse(query);
    if let Some(by) = super::params::breakdown(&pairs)? {
        let req = CohortForm::from_query(&pairs).validate(shared.client.timezone())?;
        let spec = req.retention_spec();
        let broken = shared
            .heavy
            .run(&shared.client, move |client| async move {
                Ok(client.retention_by(&spec, &by).await?)
            })
            .await?;
        let unknown = shared.names.unknown(&shared.client, &req.events()).await?;
        return Ok(Answer::Broken(broken)
            .map(|r| CohortBody::new(&req, r, unknown.clone()))
            .json());
    }
    let (req, table) = compute(shared, query).await?;
    let unknown = shared.names.unknown(&shared.client, &req.events()).await?;
    let mut body = CohortBody::new(&req, table, unknown);
    body.pruned = pruned_cells(&shared.client, &req.spec).await?;
    Ok(Answer::Plain(body).json())
}

/// Per row, per cell of the table `spec` asks for, whether the row's period or the cell's
/// was pruned (see [`bitmapist::Horizon::is_pruned`]); `None` when none was.
pub async fn pruned_cells(
    client: &Bitmapist,
    spec: &CohortSpec,
) -> Result<Option<Vec<Vec<bool>>>, DashboardError> {
    let horizon = client.pruned_horizon().await?;
    if horizon.is_empty() {
        return Ok(None);
    }
    let last = client.period_containing(spec.time_group, spec.now)?;
    let mut rows = Vec::with_capacity(spec.rows);
    for i in 0..spec.rows {
        let back = i64::try_from(spec.rows - 1 - i).unwrap_or(0);
        let row = last.offset(-back)?;
        let row_pruned = horizon.is_pruned(&row);
        let mut cells = Vec::with_capacity(spec.cols);
        for j in 0..spec.cols {
            let cell = row.offset(i64::try_from(j).unwrap_or(0))?;
            cells.push(row_pruned || horizon.is_pruned(&cell));
        }
        rows.push(cells);
    }
    Ok(rows.iter().flatten().any(|&p| p).then_some(rows))
}

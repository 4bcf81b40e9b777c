//! Flask-Bitmapist's `POST /bitmapist/cohort`, kept so that front ends written for it work:
//! a JSON body in, the heatmap fragment out, or with `?json=1` the original's JSON keys.
//!
//! The body is read as the original read it (`json.loads(request.data)`, whatever the
//! `Content-Type`): `primary_event`, `secondary_event`, `additional_events` (`[{"name",
//! "op"}]`), `time_group` (default `days`), `num_rows` (default 20), `num_cols` (default
//! 10; at most `num_rows`, as the original caps it), `as_percent`, `with_replacement`
//! (default false), plus `now` (this crate's addition). Numbers may be JSON numbers or
//! numeric strings; flags may be booleans, numbers or checkbox strings.
//!
//! The JSON answer has the original's keys: `cohort` (counts, or fractions with
//! `as_percent`; `null` for future cells), `dates` (this crate's unambiguous labels, e.g.
//! `2026-W47`, where the original wrote `Week 47 - 23 Nov 2026`), `total` (all rows'
//! users), `row_totals`, `col_totals` (users), `averages` (column means of `cohort`'s
//! values, 0 for an empty column), `time_group`, `as_percent`, `num_rows`, `num_cols`.
//! The original's special case of `years` (always 3 rows) is not kept.

use askama::Template;
use bitmapist::{ChainOp, ChainedEvent, Cohort, CohortSpec};
use http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};

use super::DashboardState;
use super::error::{ApiError, DashboardError};
use super::exchange::{DashboardResponse, TEXT};
use super::heatmap::Heatmap;
use super::params::{
    MAX_ADDITIONAL, MAX_CELLS_PER_SIDE, Pairs, bad, chained, check_event, parse_flag, parse_now,
    parse_time_group,
};

/// The heatmap alone, as the original's `_heatmap.html`.
#[derive(Template)]
#[template(path = "dashboard/fragment.html")]
pub struct Fragment {
    /// The table.
    pub heatmap: Option<Heatmap>,
    /// Or what was wrong.
    pub error: Option<String>,
}

/// The original's JSON answer.
#[derive(Debug, Serialize, PartialEq)]
pub struct LegacyBody {
    /// Cells: counts, or fractions when `as_percent`.
    pub cohort: Vec<Vec<Option<f64>>>,
    /// Row labels.
    pub dates: Vec<String>,
    /// All rows' users.
    pub total: u64,
    /// Users per row.
    pub row_totals: Vec<u64>,
    /// Users per column.
    pub col_totals: Vec<u64>,
    /// Column means of `cohort`'s values (0 when a column has none).
    pub averages: Vec<f64>,
    /// The time group.
    pub time_group: String,
    /// Whether `cohort` holds fractions.
    pub as_percent: bool,
    /// Rows.
    pub num_rows: usize,
    /// Columns.
    pub num_cols: usize,
}

impl LegacyBody {
    /// The original's keys for `table`.
    pub fn new(table: &Cohort, as_percent: bool) -> Self {
        let cohort: Vec<Vec<Option<f64>>> = if as_percent {
            table.fractions.clone()
        } else {
            table
                .cohort
                .iter()
                .map(|r| r.iter().map(|c| c.map(|n| n as f64)).collect())
                .collect()
        };
        let averages = if as_percent {
            &table.average_fractions
        } else {
            &table.averages
        };
        LegacyBody {
            dates: table.labels.clone(),
            total: table.total,
            row_totals: table.totals.clone(),
            col_totals: table.col_totals.clone(),
            averages: averages.iter().map(|a| a.unwrap_or(0.0)).collect(),
            time_group: table.time_group.as_str().to_string(),
            as_percent,
            num_rows: cohort.len(),
            num_cols: table.col_totals.len(),
            cohort,
        }
    }
}

/// A string field; `None` when absent or null.
fn text<'a>(
    body: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, DashboardError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(bad(name, format!("{name}: expected a string, got {other}"))),
    }
}

/// A whole number given as a JSON number or a numeric string.
fn number(
    body: &Map<String, Value>,
    name: &'static str,
    default: usize,
) -> Result<usize, DashboardError> {
    let n = match body.get(name) {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::Number(n)) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Some(Value::String(s)) => s.trim().parse::<usize>().ok(),
        Some(_) => None,
    };
    let n = n.ok_or_else(|| bad(name, format!("{name}: expected a whole number")))?;
    if !(1..=MAX_CELLS_PER_SIDE).contains(&n) {
        return Err(bad(
            name,
            format!("{name}: {n} is not between 1 and {MAX_CELLS_PER_SIDE}"),
        ));
    }
    Ok(n)
}

/// A flag given as a boolean, a number or a checkbox string.
fn flag(body: &Map<String, Value>, name: &'static str) -> Result<bool, DashboardError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) => Ok(n.as_f64().is_some_and(|x| x != 0.0)),
        Some(Value::String(s)) => parse_flag(name, Some(s)),
        Some(other) => Err(bad(
            name,
            format!("{name}: expected true or false, got {other}"),
        )),
    }
}

/// Reads the original's JSON body into a spec and the percent flag.
pub fn parse_body(raw: &[u8]) -> Result<(CohortSpec, bool), DashboardError> {
    let value: Value =
        serde_json::from_slice(raw).map_err(|e| bad("body", format!("body: not JSON ({e})")))?;
    let Value::Object(body) = value else {
        return Err(bad("body", "body: expected a JSON object"));
    };
    let primary = text(&body, "primary_event")?
        .ok_or_else(|| bad("primary_event", "primary_event is missing"))?;
    let secondary = text(&body, "secondary_event")?
        .ok_or_else(|| bad("secondary_event", "secondary_event is missing"))?;
    check_event("primary_event", primary)?;
    check_event("secondary_event", secondary)?;
    let additional = match body.get("additional_events") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            if items.len() > MAX_ADDITIONAL {
                return Err(bad(
                    "additional_events",
                    format!("additional_events: at most {MAX_ADDITIONAL}"),
                ));
            }
            items
                .iter()
                .map(|item| {
                    let name = item.get("name").and_then(Value::as_str).unwrap_or("");
                    let op = item.get("op").and_then(Value::as_str).unwrap_or("and");
                    let op: ChainOp = op.parse().map_err(|_| {
                        bad(
                            "additional_events",
                            format!("additional_events: op {op:?} is not \"and\" or \"or\""),
                        )
                    })?;
                    chained("additional_events", op, name)
                })
                .collect::<Result<Vec<ChainedEvent>, _>>()?
        }
        Some(_) => {
            return Err(bad(
                "additional_events",
                "additional_events: expected a list of {\"name\", \"op\"}",
            ));
        }
    };
    let time_group = parse_time_group(text(&body, "time_group")?)?;
    let rows = number(&body, "num_rows", 20)?;
    // The original: "Columns > rows would extend into future and thus would just be empty".
    let cols = number(&body, "num_cols", 10)?.min(rows);
    let as_percent = flag(&body, "as_percent")?;
    let with_replacement = flag(&body, "with_replacement")?;
    let now = parse_now(text(&body, "now")?)?;
    Ok((
        CohortSpec::new(primary, secondary)
            .additional(additional)
            .time_group(time_group)
            .rows(rows)
            .cols(cols)
            .with_replacement(with_replacement)
            .now(now),
        as_percent,
    ))
}

/// Whether `?json=` asks for JSON (any value but empty, `0`, `false`).
fn wants_json(query: Option<&str>) -> bool {
    Pairs::parse(query)
        .get("json")
        .is_some_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

async fn table(
    shared: &DashboardState,
    body: &[u8],
) -> Result<(CohortSpec, bool, Cohort), DashboardError> {
    let (mut spec, as_percent) = parse_body(body)?;
    let raw_now = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("now").and_then(Value::as_str).map(str::to_owned));
    spec.now = super::zone::local_now(shared.client.timezone(), raw_now.as_deref(), spec.now);
    let table = shared.heavy.cohort(&shared.client, &spec).await?;
    Ok((spec, as_percent, table))
}

/// `POST /cohort`.
pub async fn post(shared: &DashboardState, query: Option<&str>, body: &[u8]) -> DashboardResponse {
    let result = table(shared, body).await;
    if wants_json(query) {
        return match result {
            Ok((_, as_percent, table)) => {
                DashboardResponse::json(StatusCode::OK, &LegacyBody::new(&table, as_percent))
            }
            Err(e) => ApiError(e).into(),
        };
    }
    let (status, fragment) = match result {
        Ok((spec, as_percent, table)) => (
            StatusCode::OK,
            Fragment {
                heatmap: Some(Heatmap::new(&spec, &table, as_percent)),
                error: None,
            },
        ),
        Err(e) => {
            if !matches!(e, DashboardError::BadParam { .. }) {
                tracing::error!(error = %e, "bitmapist dashboard: POST /cohort failed");
            }
            (
                e.status(),
                Fragment {
                    heatmap: None,
                    error: Some(e.to_string()),
                },
            )
        }
    };
    match fragment.render() {
        Ok(html) => DashboardResponse::html(status, html),
        Err(e) => DashboardResponse::new(StatusCode::INTERNAL_SERVER_ERROR, TEXT, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_like_the_original_front_end_sends() {
        let (spec, pct) = parse_body(
            br#"{"time_group": "weeks", "primary_event": "user:signed_up",
                 "secondary_event": "user:logged_in",
                 "additional_events": [{"name": "user:bought", "op": "or"}],
                 "num_rows": "12", "num_cols": 20, "as_percent": 1}"#,
        )
        .expect("valid");
        assert_eq!(spec.rows, 12);
        assert_eq!(
            spec.cols, 12,
            "columns are capped at rows, as the original does"
        );
        assert_eq!(spec.additional, vec![ChainedEvent::or("user:bought")]);
        assert!(pct);
    }

    #[test]
    fn bad_bodies_name_the_field() {
        for (body, param) in [
            (&b"not json"[..], "body"),
            (br#"[1]"#, "body"),
            (br#"{"secondary_event": "b"}"#, "primary_event"),
            (br#"{"primary_event": "", "secondary_event": "b"}"#, "primary_event"),
            (br#"{"primary_event": "a", "secondary_event": 3}"#, "secondary_event"),
            (br#"{"primary_event": "a", "secondary_event": "b", "num_rows": 0}"#, "num_rows"),
            (br#"{"primary_event": "a", "secondary_event": "b", "num_cols": -1}"#, "num_cols"),
            (br#"{"primary_event": "a", "secondary_event": "b", "time_group": "x"}"#, "time_group"),
            (br#"{"primary_event": "a", "secondary_event": "b", "additional_events": [{"name": ""}]}"#, "additional_events"),
            (br#"{"primary_event": "a", "secondary_event": "b", "additional_events": [{"name": "c", "op": "xor"}]}"#, "additional_events"),
            (br#"{"primary_event": "a", "secondary_event": "b", "now": "yesterday"}"#, "now"),
        ] {
            let err = parse_body(body).expect_err(&String::from_utf8_lossy(body));
            assert_eq!(err.param(), Some(param), "{}", String::from_utf8_lossy(body));
        }
    }
}

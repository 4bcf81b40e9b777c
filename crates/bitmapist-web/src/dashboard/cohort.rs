//! The cohort page (`GET /cohort`): the form, and the heatmap of the table it asks for.
//! The form submits as a GET URL (bookmarkable, works without JavaScript).
//!
//! - No event named: the form starts from a suggested pair (a sign-up-like and an
//!   activity-like event, else the first two names) and shows that table at once, in the
//!   default view: weekly, on-or-after, as percent (fields sent are kept).
//! - Under the heatmap, the retention curve ([`Curve`]).
//! - The form's paired `additional_op` / `additional_event` fields: a 303 redirect to the
//!   canonical URL with `additional=and:EVENT` values (blank rows dropped).
//! - With `breakdown`: one heatmap per value (the users in none last) and the values'
//!   average curves overlaid; each value's cells link to the cell's users within the value
//!   (the plain cell's link plus [`breakdown_value_query`]).
//! - Bad input: 400, the form shown again with what was sent and the message
//!   ([`form_error`]).

use std::sync::Arc;

use askama::Template;
use bitmapist::{CohortKind, TimeGroup};
use http::StatusCode;

use super::DashboardState;
use super::charts::{Curve, LineChart, Series, Unit, line_chart};
use super::error::{DashboardError, FormPage, PageError, form_error, rendered};
use super::exchange::DashboardResponse;
use super::heatmap::Heatmap;
use super::names::suggested_pair;
use super::params::breakdown_value_query;
use super::params::{
    ALL_GROUPS, ChainRow, CohortForm, CohortRequest, MAX_CELLS_PER_SIDE, Pairs, breakdown,
    parse_average, parse_criterion, parse_flag, parse_time_group,
};
use super::views::{Base, Layout};

/// The form as shown: what was sent, or the defaults.
#[derive(Clone, Debug)]
pub struct FormView {
    /// Primary event.
    pub primary: String,
    /// Secondary event.
    pub secondary: String,
    /// Additional events.
    pub additional: Vec<ChainRow>,
    /// The selected time group (`days`, ...).
    pub time_group: &'static str,
    /// Rows as sent.
    pub num_rows: String,
    /// Columns as sent.
    pub num_cols: String,
    /// Percent checkbox.
    pub as_percent: bool,
    /// "As of" as sent.
    pub now: String,
    /// Whether `now` fits a date input (empty or `YYYY-MM-DD`).
    pub now_is_date: bool,
    /// The selected criterion (`first-return`, `on`, `on-or-after`).
    pub retention: &'static str,
    /// First-time cohorts checkbox.
    pub first_time: bool,
    /// The selected averaging (`simple`, `weighted`).
    pub average: &'static str,
    /// Complete-periods-only checkbox.
    pub complete_only: bool,
    /// The segment filter (users in all of them).
    pub segments: Vec<String>,
}

impl FormView {
    /// The form of a valid request: its validated values.
    fn from_request(req: &CohortRequest) -> Self {
        let spec = &req.spec;
        FormView {
            primary: spec.primary.clone(),
            secondary: spec.secondary.clone(),
            additional: spec
                .additional
                .iter()
                .map(|c| ChainRow {
                    op: c.op.as_str().to_string(),
                    event: c.name.clone(),
                })
                .collect(),
            time_group: spec.time_group.as_str(),
            num_rows: spec.rows.to_string(),
            num_cols: spec.cols.to_string(),
            as_percent: req.as_percent,
            now_is_date: is_date(&req.as_of.raw),
            now: req.as_of.raw.clone(),
            retention: req.mode.criterion.as_str(),
            first_time: req.mode.kind == CohortKind::FirstTime,
            average: req.mode.average.as_str(),
            complete_only: req.mode.complete_only,
            segments: spec.segments.clone(),
        }
    }

    /// The form of a request that is not valid (or names no events yet): what was sent,
    /// each choice that cannot be shown falling back to its default.
    fn from_form(form: &CohortForm) -> Self {
        let with_replacement =
            parse_flag("with_replacement", form.with_replacement.as_deref()).unwrap_or(false);
        let now = form.now.trim().to_string();
        FormView {
            primary: form.primary.clone().unwrap_or_default(),
            secondary: form.secondary.clone().unwrap_or_default(),
            additional: form.additional.clone(),
            time_group: parse_time_group(form.time_group.as_deref(), &ALL_GROUPS, TimeGroup::Days)
                .map(|g| g.as_str())
                .unwrap_or("days"),
            num_rows: non_empty_or(&form.num_rows, "10"),
            num_cols: non_empty_or(&form.num_cols, "10"),
            as_percent: parse_flag("as_percent", form.as_percent.as_deref()).unwrap_or(false),
            now_is_date: is_date(&now),
            now,
            retention: parse_criterion(form.retention.as_deref(), with_replacement)
                .unwrap_or_default()
                .as_str(),
            first_time: parse_flag("first_time", form.first_time.as_deref()).unwrap_or(false),
            average: parse_average(form.average.as_deref())
                .unwrap_or_default()
                .as_str(),
            complete_only: parse_flag("complete_only", form.complete_only.as_deref())
                .unwrap_or(false),
            segments: form.segments.clone(),
        }
    }
}

/// Whether `now` fits a date input (empty or `YYYY-MM-DD`).
fn is_date(now: &str) -> bool {
    now.is_empty() || chrono::NaiveDate::parse_from_str(now, "%Y-%m-%d").is_ok()
}

fn non_empty_or(s: &str, default: &str) -> String {
    if s.trim().is_empty() {
        default.to_string()
    } else {
        s.trim().to_string()
    }
}

/// Links about the table shown.
#[derive(Clone, Debug)]
pub struct Links {
    /// This table as JSON.
    pub json: String,
    /// This table as CSV.
    pub csv: String,
    /// This page, canonical.
    pub permalink: String,
    /// The same table with counts.
    pub counts: String,
    /// The same table with percentages.
    pub percent: String,
}

impl Links {
    fn new(base: &str, req: &CohortRequest) -> Self {
        let q = req.query_string(req.as_percent);
        Links {
            json: format!("{base}/api/cohort?{q}"),
            csv: format!("{base}/api/cohort.csv?{q}"),
            permalink: format!("{base}/cohort?{q}"),
            counts: format!("{base}/cohort?{}", req.query_string(false)),
            percent: format!("{base}/cohort?{}", req.query_string(true)),
        }
    }
}

/// The cohort page.
#[derive(Template)]
#[template(path = "dashboard/cohort.html")]
pub struct CohortPage {
    /// Layout links.
    pub layout: Layout,
    /// Every event name, for the form's suggestions.
    pub names: Arc<Vec<String>>,
    /// The form.
    pub form: FormView,
    /// Whether to offer hours.
    pub hourly: bool,
    /// The largest rows/columns.
    pub max_side: usize,
    /// What was wrong with the request.
    pub error: Option<String>,
    /// The parameter at fault.
    pub error_param: &'static str,
    /// The table.
    pub heatmap: Option<Heatmap>,
    /// The retention curve under the table.
    pub curve: Option<Curve>,
    /// Links about the table.
    pub links: Option<Links>,
    /// "as of", for people.
    pub now_label: String,
    /// Whether the store has no events at all.
    pub no_events: bool,
    /// Events the request names that were never marked (their rows are zeros).
    pub unknown: Vec<String>,
    /// Every segment's name, for the filter's suggestions.
    pub segment_names: Vec<String>,
    /// The breakdown as sent (`plan`, `trial,churned`), kept in the form.
    pub breakdown: String,
    /// With a breakdown: one heatmap per value (its label), then the users in none.
    pub broken: Vec<(String, Heatmap)>,
    /// With a breakdown: each value's average retention curve, overlaid, and the legend
    /// (label, colour class).
    pub broken_curves: Option<(LineChart, Vec<(String, &'static str)>)>,
}

impl CohortPage {
    /// Sets the segment filter's suggestions.
    fn with_segments(mut self, names: &[String]) -> Self {
        self.segment_names = names.to_vec();
        self
    }

    fn new(layout: Layout, names: Arc<Vec<String>>, form: FormView, hourly: bool) -> Self {
        let hourly = hourly || form.time_group == "hours";
        CohortPage {
            layout,
            no_events: names.is_empty(),
            names,
            form,
            hourly,
            max_side: MAX_CELLS_PER_SIDE,
            error: None,
            error_param: "",
            heatmap: None,
            curve: None,
            segment_names: Vec::new(),
            breakdown: String::new(),
            broken: Vec::new(),
            broken_curves: None,
            links: None,
            now_label: String::new(),
            unknown: Vec::new(),
        }
    }
}

impl FormPage for CohortPage {
    fn show_error(&mut self, e: &DashboardError) {
        self.error = Some(e.to_string());
        self.error_param = e.param().unwrap_or("");
    }
}

/// `GET /cohort`.
pub async fn page(
    shared: &DashboardState,
    base: &Base,
    query: Option<&str>,
) -> Result<DashboardResponse, PageError> {
    let pairs = Pairs::parse(query);
    let mut form = CohortForm::from_query(&pairs);
    if form.has_form_pairs {
        let to = format!("{}/cohort?{}", base.0, form.canonical_query());
        return Ok(DashboardResponse::see_other(&to));
    }
    let names = shared.names.get(&shared.client).await?;
    let segment_names: Vec<String> = shared
        .client
        .segments()
        .await
        .map_err(DashboardError::from)?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let layout = Layout::new(base, "cohort");
    let hourly = shared.client.tracks_hourly();
    if form.primary.is_none() && form.secondary.is_none() {
        form.default_view();
    }
    if let Some((p, s)) = suggested_pair(&names) {
        form.primary.get_or_insert(p);
        form.secondary.get_or_insert(s);
    } else if form.primary.is_none() && form.secondary.is_none() {
        // An empty store and nothing asked: the form and a word on how to start.
        let form = FormView::from_form(&form);
        return rendered(
            StatusCode::OK,
            &CohortPage::new(layout, names, form, hourly).with_segments(&segment_names),
        );
    }
    let zone = shared.client.timezone();
    let req = match form.validate(zone) {
        Ok(r) => r,
        Err(e) => {
            let mut page = CohortPage::new(layout, names, FormView::from_form(&form), hourly)
                .with_segments(&segment_names);
            return form_error(&mut page, e);
        }
    };
    let mut page = CohortPage::new(layout, names, FormView::from_request(&req), hourly)
        .with_segments(&segment_names);
    let retention = match shared
        .heavy
        .retention(&shared.client, &req.retention_spec())
        .await
    {
        Ok(c) => c,
        Err(e) => return form_error(&mut page, e),
    };
    page.unknown = shared.names.unknown(&shared.client, &req.events()).await?;
    let users = format!(
        "{}/users?of=cohort&{}",
        base.0,
        req.query_string(req.as_percent)
    );
    let mut heatmap = Heatmap::new(&req.spec, &retention.table, req.as_percent);
    heatmap.link_users(&users);
    // After the links: a pruned cell has no users to list.
    let pruned = super::api::pruned_cells(&shared.client, &req.spec).await?;
    if let Some(pruned) = &pruned {
        heatmap.mark_pruned(pruned);
    }
    page.heatmap = Some(heatmap);
    page.curve = Curve::new(&retention.table, retention.average.as_str());
    page.breakdown = pairs.get("breakdown").unwrap_or("").trim().to_string();
    let by = match breakdown(&pairs) {
        Ok(by) => by,
        Err(e) => return form_error(&mut page, e),
    };
    if let Some(by) = by {
        let spec = req.retention_spec();
        let by_values = by.clone();
        let broken = shared
            .heavy
            .run(&shared.client, move |client| async move {
                Ok(client.retention_by(&spec, &by_values).await?)
            })
            .await;
        match broken {
            Ok(broken) => {
                page.broken = broken
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let label = match &v.value {
                            Some(value) => format!("{} = {value}", broken.breakdown),
                            None => format!("in none of {}", broken.breakdown),
                        };
                        let mut heatmap = Heatmap::new(&req.spec, &v.result.table, req.as_percent)
                            .with_id(format!("bm-heatmap-{}", i + 1));
                        // Each value's cells list the cell's users within the value.
                        heatmap.link_users(&format!(
                            "{users}&{}",
                            breakdown_value_query(&by, v.value.as_deref())
                        ));
                        if let Some(pruned) = &pruned {
                            heatmap.mark_pruned(pruned);
                        }
                        (label, heatmap)
                    })
                    .collect();
                page.broken_curves = overlaid_curves(&page.broken, &broken);
            }
            Err(e) => return form_error(&mut page, e),
        }
    }
    page.links = Some(Links::new(&base.0, &req));
    page.now_label = req.as_of.label(zone);
    rendered(StatusCode::OK, &page)
}

/// The colour classes of overlaid curves, one per breakdown value (cycling).
const CURVE_CLASSES: [&str; 8] = [
    "grp-0", "grp-1", "grp-2", "grp-3", "grp-4", "grp-5", "grp-6", "grp-7",
];

/// Each breakdown value's average retention (the share of its cohorts still active at
/// each lag) as one line, all in one chart; `None` when no value has a user.
fn overlaid_curves(
    labelled: &[(String, Heatmap)],
    broken: &bitmapist::BrokenDown<bitmapist::Retention>,
) -> Option<(LineChart, Vec<(String, &'static str)>)> {
    let columns = labelled.first().map(|(_, h)| h.columns.clone())?;
    if broken.values.iter().all(|v| v.result.table.total == 0) {
        return None;
    }
    let series: Vec<Series> = labelled
        .iter()
        .zip(&broken.values)
        .enumerate()
        .map(|(i, ((label, _), v))| Series {
            name: label.clone(),
            class: CURVE_CLASSES[i % CURVE_CLASSES.len()],
            values: v.result.table.average_fractions.clone(),
            labels: columns.clone(),
        })
        .collect();
    let legend = series.iter().map(|s| (s.name.clone(), s.class)).collect();
    Some((
        line_chart(
            &columns,
            &series,
            Unit::Fraction,
            "Average retention per breakdown value",
        ),
        legend,
    ))
}

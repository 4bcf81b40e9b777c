//! The users behind a number: `GET /users` (a page of ids), `GET /api/users` (the same as
//! JSON), `GET /users?...&format=csv` (every id, as CSV) and `POST /segments` (save the set
//! as a segment).
//!
//! # Why
//!
//! Every count the dashboard shows is a set of users; the next question about a number is
//! who they are. The set is named by the analysis page's own query plus which number:
//! `of=<kind>` and the cell, so a page links to its users by appending to its query.
//!
//! # How
//!
//! [`UsersQuery::from_query`] parses `of` and hands the rest to the analysis page's own
//! parser (the cohort's [`CohortForm`], [`FunnelRequest`], [`LifecycleRequest`]), so the
//! parameters mean exactly what they mean on that page, then builds the engine's
//! [`UserSet`]:
//! - `of=event`: `event`, `period` (a key suffix as Python bitmapist writes it: `2026-11-22`,
//!   `W2026-47`, `2026-11`, or a year `2026`), and the overview's and event page's segment
//!   filter (`segment`, repeatable, evaluated at `now`: the engine's [`UserSet::Within`]);
//! - `of=cohort` + `row` (0 = oldest) and `col` (a lag; without it: the row's cohort);
//! - `of=funnel` + `row`, `step` (0 = the entrants);
//! - `of=stickiness`: `event`, `time_group` (weeks, months), `at`, `days` (1-based);
//! - `of=lifecycle` + `row`, `status`;
//! - `of=segment`: `name`.
//!
//! One value of a breakdown (a per-value count of a broken-down page) names its users as
//! the plain number's set plus that value: a property value or a segment of the list is
//! one more `segment=` (a property value is a segment: `segment=plan:pro`), and the users
//! in none of the values are `none_of=BREAKDOWN` (`none_of=plan`, `none_of=trial,churned`,
//! the breakdown as the page's `breakdown=` gives it; the engine's [`UserSet::NoneOf`]),
//! evaluated at `now` (else `at`, else the current time). Both apply to every `of`, and the
//! page's title says which value the set is restricted to.
//!
//! Pages are by id (`after=ID&limit=N`, ids ascending), so a page is stable while new marks
//! arrive. External ids are shown where the handle maps them.
//!
//! # Invariants
//!
//! - The set is exactly what the number counts (the engine's [`Bitmapist::users`]).
//! - Every user-controlled string reaches the page through the template's escaping.
//! - `POST /segments` takes the new segment's name as `name` (or `segment_name`, which the
//!   page's form sends, since `name` already names the set of `of=segment`).
//! - `POST /segments` is refused (403) unless the request comes from the dashboard's own
//!   origin: an `Origin` header, when present, must name the `Host`; `Sec-Fetch-Site`, when
//!   present, must be `same-origin` or `none`.

use askama::Template;
use bitmapist::{
    Bitmapist, LifecycleStatus, Period, StickinessSpec, TimeGroup, UserSet, UsersPage,
};
use http::{HeaderMap, StatusCode, header};
use serde::Serialize;
use url::form_urlencoded;

use super::DashboardState;
use super::error::{ApiError, DashboardError, PageError, answer_error, bad, rendered};
use super::exchange::{CSV, DashboardResponse};
use super::funnel_page::FunnelRequest;
use super::lifecycle_page::LifecycleRequest;
use super::params::{CohortForm, Pairs, check_event, parse_count, parse_time_group, segments};
use super::views::{Base, Layout};
use super::zone::AsOf;

/// Ids per page when the request names no `limit`.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest `limit` of one page.
pub const MAX_LIMIT: usize = 10_000;
/// The parameters that choose a page or a format, not the set.
const PAGING: [&str; 3] = ["after", "limit", "format"];

/// A parsed users request.
#[derive(Clone, Debug)]
pub struct UsersQuery {
    /// The users.
    pub set: UserSet,
    /// What the set is, for people.
    pub title: String,
    /// The set's parameters (everything but paging), as sent, in order.
    pub set_pairs: Vec<(String, String)>,
    /// Ids greater than this one.
    pub after: Option<u32>,
    /// Ids per page.
    pub limit: usize,
    /// `format=csv`: every id, as CSV.
    pub csv: bool,
}

/// A 0-based index parameter.
fn index(q: &Pairs, name: &'static str) -> Result<usize, DashboardError> {
    let raw = q.get(name).map(str::trim).unwrap_or("");
    if raw.is_empty() {
        return Err(bad(name, format!("{name} is missing")));
    }
    raw.parse()
        .map_err(|_| bad(name, format!("{name}: {raw:?} is not a whole number")))
}

/// `period` of `of=event`: a key suffix, or a year.
fn period(raw: &str) -> Result<Period, DashboardError> {
    let raw = raw.trim();
    let year = || -> Option<Period> {
        if raw.len() == 4 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Period::year(raw.parse().ok()?).ok()
        } else {
            None
        }
    };
    Period::parse_suffix(raw).or_else(year).ok_or_else(|| {
        bad(
            "period",
            format!(
                "period: {raw:?} is not a day (2026-11-22), week (W2026-47), month (2026-11) or year (2026)"
            ),
        )
    })
}

impl UsersQuery {
    /// Parses the request (see the module docs), reading times in `zone`.
    pub fn from_query(q: &Pairs, zone: bitmapist::Zone) -> Result<Self, DashboardError> {
        let of = q.get("of").map(str::trim).unwrap_or("");
        let (set, title) = match of {
            "event" => {
                let event = q.get("event").map(str::trim).unwrap_or("");
                check_event("event", event)?;
                let period = period(q.get("period").unwrap_or(""))?;
                let mut title = format!("{event} in {}", period.label());
                let set = UserSet::Event {
                    event: event.to_string(),
                    period,
                };
                let filter = segments(q);
                if filter.is_empty() {
                    (set, title)
                } else {
                    let now = AsOf::parse("now", q.get("now"), zone)?.at;
                    title.push_str(&format!(", in {}", filter.join(" and ")));
                    (
                        UserSet::Within {
                            set: Box::new(set),
                            segments: filter,
                            now,
                        },
                        title,
                    )
                }
            }
            "cohort" => {
                let req = CohortForm::from_query(q).validate(zone)?;
                let row = index(q, "row")?;
                let spec = req.retention_spec();
                let what = format!("{} then {}", req.spec.primary, req.spec.secondary);
                if q.get("col").is_some_and(|c| !c.trim().is_empty()) {
                    let col = index(q, "col")?;
                    (
                        UserSet::CohortCell { spec, row, col },
                        format!("{what}: cohort row {row}, column {col}"),
                    )
                } else {
                    (
                        UserSet::CohortRow { spec, row },
                        format!("{what}: cohort row {row}"),
                    )
                }
            }
            "funnel" => {
                let req = FunnelRequest::from_query(q, zone)?;
                let row = index(q, "row")?;
                let step = index(q, "step")?;
                let title = format!(
                    "funnel {}: row {row}, step {}",
                    req.spec.steps.join(" → "),
                    step + 1
                );
                (
                    UserSet::FunnelStep {
                        spec: req.spec,
                        row,
                        step,
                    },
                    title,
                )
            }
            "stickiness" => {
                let event = q.get("event").map(str::trim).unwrap_or("");
                check_event("event", event)?;
                let group = parse_time_group(
                    q.get("time_group"),
                    &[TimeGroup::Weeks, TimeGroup::Months],
                    TimeGroup::Weeks,
                )?;
                let at = AsOf::parse("at", q.get("at"), zone)?;
                let days = index(q, "days")?;
                let mut spec = StickinessSpec::new(event).time_group(group).at(at.at);
                for s in segments(q) {
                    spec = spec.segment(s);
                }
                (
                    UserSet::StickinessBucket { spec, days },
                    format!(
                        "{event}: active on exactly {days} days of the {}",
                        group.as_str()
                    ),
                )
            }
            "lifecycle" => {
                let req = LifecycleRequest::from_query(q, zone)?;
                let row = index(q, "row")?;
                let raw = q.get("status").unwrap_or("").trim();
                let status: LifecycleStatus = raw.parse().map_err(|_| {
                    bad(
                        "status",
                        format!("status: {raw:?} is not new, returning, resurrecting or dormant"),
                    )
                })?;
                let title = format!(
                    "{}: {} in lifecycle row {row}",
                    req.spec.event,
                    status.as_str()
                );
                (
                    UserSet::Lifecycle {
                        spec: req.spec,
                        row,
                        status,
                    },
                    title,
                )
            }
            "segment" => {
                let name = q.get("name").map(str::trim).unwrap_or("");
                if name.is_empty() {
                    return Err(bad("name", "name: the segment's name is missing"));
                }
                (
                    UserSet::Segment(name.to_string()),
                    format!("segment {name}"),
                )
            }
            other => {
                return Err(bad(
                    "of",
                    format!(
                        "of: {other:?} is not one of event, cohort, funnel, stickiness, lifecycle, segment"
                    ),
                ));
            }
        };
        // A breakdown's "none" value: the users of the set in none of its values.
        let (set, title) = match q.get("none_of").map(str::trim).filter(|b| !b.is_empty()) {
            None => (set, title),
            Some(raw) => {
                let breakdown: bitmapist::Breakdown = raw
                    .parse()
                    .map_err(|e: bitmapist::Error| bad("none_of", format!("none_of: {e}")))?;
                let when = if q.get("now").is_some_and(|n| !n.trim().is_empty()) {
                    ("now", q.get("now"))
                } else {
                    ("at", q.get("at"))
                };
                let now = AsOf::parse(when.0, when.1, zone)?.at;
                let title = format!("{title}, in none of {breakdown}");
                (
                    UserSet::NoneOf {
                        set: Box::new(set),
                        breakdown,
                        now,
                    },
                    title,
                )
            }
        };
        let after = match q.get("after").map(str::trim).filter(|a| !a.is_empty()) {
            None => None,
            Some(raw) => Some(
                raw.parse::<u32>()
                    .map_err(|_| bad("after", format!("after: {raw:?} is not a user id")))?,
            ),
        };
        let limit = parse_count("limit", q.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)?;
        let csv = match q.get("format").map(str::trim) {
            None | Some("" | "html" | "json") => false,
            Some("csv") => true,
            Some(other) => {
                return Err(bad("format", format!("format: {other:?} is not csv")));
            }
        };
        let set_pairs = q
            .iter()
            .filter(|(k, _)| {
                !PAGING.contains(&k.as_str()) && k != "description" && k != "segment_name"
            })
            .cloned()
            .collect();
        Ok(UsersQuery {
            set,
            title,
            set_pairs,
            after,
            limit,
            csv,
        })
    }

    /// The set's query string (no paging).
    pub fn set_query(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.set_pairs {
            s.append_pair(k, v);
        }
        s.finish()
    }
}

/// One row of the page.
pub struct UserRow {
    /// The dense id.
    pub id: u32,
    /// The external id, when the handle maps them and this id has one.
    pub external: Option<String>,
}

/// The users page.
#[derive(Template)]
#[template(path = "dashboard/users.html")]
pub struct UsersPageView {
    /// Layout links.
    pub layout: Layout,
    /// What the set is.
    pub title: String,
    /// How many users it has.
    pub total: String,
    /// This page's users.
    pub rows: Vec<UserRow>,
    /// Whether external ids are shown.
    pub external: bool,
    /// The next page, if any.
    pub next: Option<String>,
    /// The first page, when this is not it.
    pub first: Option<String>,
    /// CSV of every user.
    pub csv_url: String,
    /// JSON of this page.
    pub json_url: String,
    /// The set's parameters, as hidden fields of the save form.
    pub hidden: Vec<(String, String)>,
    /// Where the save form posts.
    pub save_url: String,
    /// A message (the segment was saved, or what was wrong).
    pub message: Option<String>,
    /// Whether `message` is an error.
    pub is_error: bool,
}

async fn page_of(shared: &DashboardState, q: &UsersQuery) -> Result<UsersPage, DashboardError> {
    let (set, after, limit) = (q.set.clone(), q.after, q.limit);
    shared
        .heavy
        .run(&shared.client, move |client| async move {
            Ok(client.users_page(&set, after, limit).await?)
        })
        .await
}

/// Every user of the set as CSV: `id` (and `external` where ids are mapped).
async fn csv(shared: &DashboardState, q: &UsersQuery) -> Result<DashboardResponse, DashboardError> {
    let set = q.set.clone();
    let body = shared
        .heavy
        .run(&shared.client, move |client| async move {
            let users = client.users(&set).await?;
            let ids: Vec<u32> = users.iter().collect();
            let external = if client.id_map_enabled() {
                Some(resolve_all(&client, &ids).await?)
            } else {
                None
            };
            let mut out = String::from(if external.is_some() {
                "id,external\n"
            } else {
                "id\n"
            });
            for (i, id) in ids.iter().enumerate() {
                out.push_str(&id.to_string());
                if let Some(ext) = &external {
                    out.push(',');
                    out.push_str(&csv_field(
                        ext.get(i).cloned().flatten().as_deref().unwrap_or(""),
                    ));
                }
                out.push('\n');
            }
            Ok(out)
        })
        .await?;
    Ok(DashboardResponse::new(StatusCode::OK, CSV, body).with(
        header::CONTENT_DISPOSITION,
        http::HeaderValue::from_static("attachment; filename=\"users.csv\""),
    ))
}

/// The external ids of `ids`, resolved in batches.
async fn resolve_all(
    client: &Bitmapist,
    ids: &[u32],
) -> Result<Vec<Option<String>>, bitmapist::Error> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        out.extend(client.resolve_ids(chunk).await?);
    }
    Ok(out)
}

/// A CSV field, quoted when it holds a comma, a quote or a line break; a leading `=`, `+`,
/// `-` or `@` is prefixed with `'` so that a spreadsheet does not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn view(
    base: &Base,
    q: &UsersQuery,
    page: UsersPage,
    message: Option<String>,
    is_error: bool,
) -> UsersPageView {
    let b = &base.0;
    let set_query = q.set_query();
    let with = |extra: &str| format!("{b}/users?{set_query}{extra}");
    let external = page.external.is_some();
    let ext = page.external.unwrap_or_default();
    let rows = page
        .ids
        .iter()
        .enumerate()
        .map(|(i, &id)| UserRow {
            id,
            external: ext.get(i).cloned().flatten(),
        })
        .collect();
    UsersPageView {
        layout: Layout::new(base, "users"),
        title: q.title.clone(),
        total: bitmapist::thousands(page.total),
        rows,
        external,
        next: page
            .next_after
            .map(|a| with(&format!("&after={a}&limit={}", q.limit))),
        first: q.after.map(|_| with(&format!("&limit={}", q.limit))),
        csv_url: with("&format=csv"),
        json_url: format!(
            "{b}/api/users?{set_query}&limit={}{}",
            q.limit,
            q.after.map(|a| format!("&after={a}")).unwrap_or_default()
        ),
        hidden: q.set_pairs.clone(),
        save_url: format!("{b}/segments"),
        message,
        is_error,
    }
}

/// `GET /users`: a page of the set's users, or with `format=csv` all of them as CSV.
pub async fn page(
    shared: &DashboardState,
    base: &Base,
    query: Option<&str>,
) -> Result<DashboardResponse, PageError> {
    let q = UsersQuery::from_query(&Pairs::parse(query), shared.client.timezone())?;
    if q.csv {
        return Ok(csv(shared, &q).await?);
    }
    let users = page_of(shared, &q).await?;
    Ok(DashboardResponse::html(
        StatusCode::OK,
        view(base, &q, users, None, false).render()?,
    ))
}

/// `GET /api/users`: `{"total", "ids", "external", "next_after"}`.
pub async fn api(
    shared: &DashboardState,
    query: Option<&str>,
) -> Result<DashboardResponse, ApiError> {
    let q = UsersQuery::from_query(&Pairs::parse(query), shared.client.timezone())?;
    if q.csv {
        return Ok(csv(shared, &q).await?);
    }
    Ok(DashboardResponse::json(
        StatusCode::OK,
        &page_of(shared, &q).await?,
    ))
}

/// What `POST /segments` answers as JSON (with `Accept: application/json`).
#[derive(Serialize)]
struct Saved {
    name: String,
    users: u64,
}

/// Whether a POST comes from the dashboard's own origin (see the module docs).
pub fn same_origin(headers: &HeaderMap) -> Result<(), String> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        if site != "same-origin" && site != "none" {
            return Err(format!("a {site} request may not change the store"));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let origin_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or("");
        if host.is_empty() || origin_host != host {
            return Err(format!(
                "the request comes from {origin}, not from this dashboard's origin"
            ));
        }
    }
    Ok(())
}

/// `POST /segments` (a form: the set's query, `name`, `description`): saves the users of
/// the set as a segment snapshot, then shows the set's page with a message (or, when the
/// form came from a script asking for JSON, `{"name", "users"}`).
pub async fn save(
    shared: &DashboardState,
    base: &Base,
    headers: &HeaderMap,
    body: &[u8],
) -> DashboardResponse {
    if let Err(why) = same_origin(headers) {
        return DashboardResponse::new(StatusCode::FORBIDDEN, super::exchange::TEXT, why);
    }
    let pairs = Pairs::parse(Some(&String::from_utf8_lossy(body)));
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"));
    let outcome = async {
        // `name` also names the set of `of=segment`; there the new name is `segment_name`.
        let name = pairs
            .get("segment_name")
            .or_else(|| {
                pairs
                    .get("name")
                    .filter(|_| pairs.get("of") != Some("segment"))
            })
            .map(str::trim)
            .unwrap_or("")
            .to_string();
        if name.is_empty() {
            return Err(bad(
                "segment_name",
                "segment_name: the new segment's name is missing",
            ));
        }
        let description = pairs.get("description").unwrap_or("").trim().to_string();
        let q = UsersQuery::from_query(&pairs, shared.client.timezone())?;
        let set = q.set.clone();
        let (n, desc) = (name.clone(), description.clone());
        let users = shared
            .heavy
            .run(&shared.client, move |client| async move {
                Ok(client.save_segment(&n, &set, &desc).await?)
            })
            .await?;
        Ok::<_, DashboardError>((q, name, users))
    }
    .await;
    let (q, name, users) = match outcome {
        Ok(saved) => saved,
        Err(e) => return answer_error(e, wants_json),
    };
    if wants_json {
        return DashboardResponse::json(StatusCode::OK, &Saved { name, users });
    }
    let msg = format!(
        "Saved {} users as segment {name}.",
        bitmapist::thousands(users)
    );
    match page_of(shared, &q).await {
        Ok(page) => rendered(StatusCode::OK, &view(base, &q, page, Some(msg), false))
            .unwrap_or_else(DashboardResponse::from),
        Err(e) => PageError(e).into(),
    }
}

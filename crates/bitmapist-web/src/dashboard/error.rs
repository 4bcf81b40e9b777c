//! The dashboard's one error type and how it answers: JSON on the API, a page elsewhere.
//! Bad input is a 400 naming the parameter; a failing store or a saturated dashboard is a
//! 503 (with `Retry-After`, added by the router's header layer); nothing panics.
//!
//! The pages with a form (cohort, funnel, lifecycle; the overview and the event page the
//! same way) answer every error through one arm, [`form_error`]: an error naming a
//! parameter re-shows the page, its form and the message, with the error's status (400);
//! any other error is the small error page ([`PageError`], 503 for a store that failed).
//! Endpoints answering a page or JSON by the request's `Accept` use [`answer_error`].

use http::StatusCode;
use serde::Serialize;

use super::exchange::{DashboardResponse, TEXT};

/// Everything a dashboard request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// A query parameter or body field was missing, malformed or out of range.
    #[error("{message}")]
    BadParam {
        /// The parameter's name, as in the URL or JSON body.
        param: &'static str,
        /// What is wrong with it, for people.
        message: String,
    },
    /// The store failed (e.g. Redis is unreachable).
    #[error("the bitmapist store failed: {0}")]
    Store(#[source] bitmapist::Error),
    /// A template failed to render (a bug).
    #[error("rendering failed: {0}")]
    Render(#[from] askama::Error),
    /// No such page.
    #[error("no such page")]
    NotFound,
    /// As many heavy requests (cohort tables, funnels, event pages, overviews) as allowed
    /// are running; retry shortly.
    #[error(
        "the dashboard is busy: {limit} heavy requests (cohort tables, funnels, event pages, \
         overviews) are being computed; retry in a moment"
    )]
    Busy {
        /// How many may run at once.
        limit: usize,
    },
    /// The request's body is longer than [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES).
    #[error("the request body is longer than {limit} bytes")]
    TooLarge {
        /// The most bytes accepted.
        limit: usize,
    },
    /// A failure that is a bug (a task that panicked).
    #[error("internal error: {0}")]
    Internal(String),
}

/// A 400 naming `param`.
pub fn bad(param: &'static str, message: impl Into<String>) -> DashboardError {
    DashboardError::BadParam {
        param,
        message: message.into(),
    }
}

impl From<bitmapist::Error> for DashboardError {
    /// Engine errors caused by the request's values become 400s naming the parameter;
    /// the rest are store failures.
    fn from(e: bitmapist::Error) -> Self {
        use bitmapist::{Argument, Error as E};
        match e {
            E::UnknownTimeGroup(g) => DashboardError::BadParam {
                param: "time_group",
                message: format!("time_group: {g:?} is not one of days, weeks, months, years"),
            },
            E::DateOutOfRange(m) => DashboardError::BadParam {
                param: "now",
                message: format!("now: the table would leave the supported years ({m})"),
            },
            E::InvalidArgument {
                argument, reason, ..
            } => {
                let param = match argument {
                    Argument::Primary => "primary_event",
                    Argument::Secondary => "secondary_event",
                    Argument::Rows => "num_rows",
                    Argument::Cols => "num_cols",
                    Argument::Additional => "additional",
                    Argument::Event => "event",
                    Argument::Segment => "segment",
                    Argument::Breakdown => "breakdown",
                    Argument::Periods => "periods",
                    Argument::NewFrom => "new_from",
                    Argument::Limit => "limit",
                    Argument::Status => "status",
                    Argument::Days => "days",
                    _ => "request",
                };
                DashboardError::BadParam {
                    param,
                    message: format!("{param}: {reason}"),
                }
            }
            other => DashboardError::Store(other),
        }
    }
}

impl DashboardError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            DashboardError::BadParam { .. } => StatusCode::BAD_REQUEST,
            DashboardError::Store(_) | DashboardError::Busy { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            DashboardError::Render(_) | DashboardError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            DashboardError::NotFound => StatusCode::NOT_FOUND,
            DashboardError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    /// The parameter at fault, for a 400.
    pub fn param(&self) -> Option<&'static str> {
        match self {
            DashboardError::BadParam { param, .. } => Some(param),
            _ => None,
        }
    }

    /// Logs server-side failures (bad input is the client's business).
    pub(crate) fn log(&self) {
        match self {
            DashboardError::BadParam { .. }
            | DashboardError::NotFound
            | DashboardError::TooLarge { .. } => {}
            DashboardError::Busy { .. } => {
                tracing::warn!(error = %self, "bitmapist dashboard request refused")
            }
            _ => tracing::error!(error = %self, "bitmapist dashboard request failed"),
        }
    }
}

/// The JSON body of an API error: `{"error": "...", "param": "num_rows"}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// The parameter at fault (400 only).
    pub param: Option<&'static str>,
}

/// A [`DashboardError`] answered as JSON (the API's errors).
#[derive(Debug)]
pub struct ApiError(pub DashboardError);

impl<E: Into<DashboardError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl From<ApiError> for DashboardResponse {
    fn from(e: ApiError) -> Self {
        e.0.log();
        let body = ErrorBody {
            error: e.0.to_string(),
            param: e.0.param(),
        };
        DashboardResponse::json(e.0.status(), &body)
    }
}

/// A page that can re-show its form with an error message: [`form_error`]'s pages.
pub trait FormPage: askama::Template {
    /// Puts `e`'s message on the page and marks its parameter's field.
    fn show_error(&mut self, e: &DashboardError);
}

/// A page rendered with `status`.
pub fn rendered<P: askama::Template>(
    status: StatusCode,
    page: &P,
) -> Result<DashboardResponse, PageError> {
    Ok(DashboardResponse::html(status, page.render()?))
}

/// The one error arm of the pages with a form: an error naming a parameter (bad input,
/// whether the page's parser or the engine found it) re-shows `page` with the message and
/// the error's status (400); any other error is the small error page (a failing store or
/// a saturated dashboard: 503).
pub fn form_error<P: FormPage>(
    page: &mut P,
    e: DashboardError,
) -> Result<DashboardResponse, PageError> {
    if e.param().is_none() {
        return Err(PageError(e));
    }
    page.show_error(&e);
    rendered(e.status(), page)
}

/// An error of an endpoint that answers JSON or a page by what the request accepts:
/// `{"error", "param"}` when `json`, else the small error page.
pub fn answer_error(e: DashboardError, json: bool) -> DashboardResponse {
    if json {
        ApiError(e).into()
    } else {
        PageError(e).into()
    }
}

/// A [`DashboardError`] answered as a small HTML page (pages that cannot re-show a form).
#[derive(Debug)]
pub struct PageError(pub DashboardError);

impl<E: Into<DashboardError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl From<PageError> for DashboardResponse {
    fn from(e: PageError) -> Self {
        e.0.log();
        let status = e.0.status();
        let page = super::views::MessagePage {
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            message: e.0.to_string(),
        };
        match askama::Template::render(&page) {
            Ok(html) => DashboardResponse::html(status, html),
            Err(_) => DashboardResponse::new(status, TEXT, e.0.to_string()),
        }
    }
}

//! The cohort table as a CSV download (`GET /api/cohort.csv`), same parameters as the page.
//! One line per cohort row (`period,start,users,day 0,day 1,...`), then `average` and
//! `total` lines; counts, or fractions (0..1) with `as_percent`; future cells empty.

use std::fmt::Write;

use bitmapist::Cohort;
use http::{HeaderValue, StatusCode, header};

use super::DashboardState;
use super::api::compute;
use super::error::ApiError;
use super::exchange::{CSV, DashboardResponse};

/// Quotes a field when it holds a comma, a quote or a line break (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV text of `table`.
pub fn render(table: &Cohort, as_percent: bool) -> String {
    let cols = table.col_totals.len();
    let unit = table.time_group.unit();
    let mut out = String::from("period,start,users");
    for j in 0..cols {
        // Writing to a String cannot fail.
        let _ = write!(out, ",{unit} {j}");
    }
    out.push_str("\r\n");
    for (i, cells) in table.cohort.iter().enumerate() {
        let label = table.labels.get(i).map_or("", String::as_str);
        let start = table.dates.get(i).map_or("", String::as_str);
        let total = table.totals.get(i).copied().unwrap_or(0);
        let _ = write!(out, "{},{},{total}", field(label), field(start));
        for (j, c) in cells.iter().enumerate() {
            out.push(',');
            if as_percent {
                if let Some(Some(f)) = table.fractions.get(i).and_then(|r| r.get(j)) {
                    let _ = write!(out, "{f}");
                }
            } else if let Some(n) = c {
                let _ = write!(out, "{n}");
            }
        }
        out.push_str("\r\n");
    }
    let n = table.totals.len().max(1) as f64;
    let _ = write!(out, "average,,{}", table.total as f64 / n);
    let averages = if as_percent {
        &table.average_fractions
    } else {
        &table.averages
    };
    for a in averages {
        out.push(',');
        if let Some(a) = a {
            let _ = write!(out, "{a}");
        }
    }
    out.push_str("\r\n");
    let _ = write!(out, "total,,{}", table.total);
    for t in &table.col_totals {
        let _ = write!(out, ",{t}");
    }
    out.push_str("\r\n");
    out
}

/// A file name made of safe characters only.
fn file_name(table: &Cohort, primary: &str, secondary: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect()
    };
    let last = table.dates.last().map_or("", String::as_str);
    format!(
        "cohort-{}-{}-{}-{}.csv",
        clean(primary),
        clean(secondary),
        table.time_group.as_str(),
        clean(last)
    )
}

/// `GET /api/cohort.csv`.
pub async fn cohort(
    shared: &DashboardState,
    query: Option<&str>,
) -> Result<DashboardResponse, ApiError> {
    let (req, retention) = compute(shared, query).await?;
    let table = &retention.table;
    let body = render(table, req.as_percent);
    let disposition = format!(
        "attachment; filename=\"{}\"",
        file_name(table, &req.spec.primary, &req.spec.secondary)
    );
    let disposition = HeaderValue::from_str(&disposition)
        .unwrap_or_else(|_| HeaderValue::from_static("attachment; filename=\"cohort.csv\""));
    Ok(DashboardResponse::new(StatusCode::OK, CSV, body)
        .with(header::CONTENT_DISPOSITION, disposition))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(field("Nov 2026"), "Nov 2026");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}

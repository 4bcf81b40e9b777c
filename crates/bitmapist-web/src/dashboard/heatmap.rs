//! The cohort heatmap as the template draws it: labels, formatted cells and shade classes.
//! Shared by the cohort page and the original's `POST /cohort` fragment.
//!
//! A cell is shaded by the fraction of its row's users it holds, in eleven classes `h0`
//! (none) to `h10` on a square-root scale (`h{ceil(10 * sqrt(f))}`), so that the small
//! fractions typical of later periods stay distinguishable; no inline style is used, so
//! the page works under a strict Content-Security-Policy.

use bitmapist::{Cohort, CohortSpec};

use super::views::{mean, percent};
use bitmapist::thousands;

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// What the cell shows: a count, a percentage, or nothing.
    pub text: String,
    /// `h0`..`h10`, `future` (not yet), or `none` (a row without users).
    pub class: &'static str,
    /// The tooltip: `152 of 1,204 users (12.6%)`; empty for blank cells.
    pub title: String,
    /// The page of the users this cell counts (`None`: no link, as in the original's
    /// fragment, or an empty cell).
    pub href: Option<String>,
}

/// One cohort row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The period label (`2026-W47`).
    pub label: String,
    /// The period's first day.
    pub start: String,
    /// Users of the primary event in it, grouped.
    pub size: String,
    /// Whether the row has no users.
    pub empty: bool,
    /// The cells.
    pub cells: Vec<Cell>,
    /// The page of the row's cohort (its users).
    pub href: Option<String>,
}

/// The whole table.
#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    /// Column headings: `Day 0`, `Day 1`, ...
    pub columns: Vec<String>,
    /// The rows, oldest first.
    pub rows: Vec<Row>,
    /// Column averages (counts, or percentages when `as_percent`).
    pub averages: Vec<String>,
    /// The mean row size.
    pub average_size: String,
    /// Column totals (users).
    pub col_totals: Vec<String>,
    /// All rows' users.
    pub total: String,
    /// Whether cells show percentages.
    pub as_percent: bool,
    /// Whether no row has any user.
    pub no_data: bool,
    /// The unit, singular: `day`, `week`.
    pub unit: &'static str,
    /// The question, for the caption: primary event.
    pub primary: String,
    /// The chain in words: `user:logged_in and user:bought`.
    pub chain: String,
    /// The table's element id: `bm-heatmap`, or `bm-heatmap-K` for a breakdown's K-th
    /// value (ids are unique on a page).
    pub id: String,
}

/// The shade class of a fraction.
pub fn shade(f: f64) -> &'static str {
    const CLASSES: [&str; 11] = [
        "h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9", "h10",
    ];
    if f.is_nan() || f <= 0.0 {
        return CLASSES[0];
    }
    let bucket = (f.min(1.0).sqrt() * 10.0).ceil();
    // 1.0..=10.0 here.
    CLASSES[(bucket as usize).clamp(1, 10)]
}

/// The chain of secondary and additional events in words.
pub fn chain_text(spec: &CohortSpec) -> String {
    let mut s = spec.secondary.clone();
    for c in &spec.additional {
        s.push(' ');
        s.push_str(c.op.as_str());
        s.push(' ');
        s.push_str(&c.name);
    }
    s
}

impl Heatmap {
    /// Cells whose period (or row's period) the store's retention policy pruned say
    /// "pruned", not a count: their data is gone (`pruned[i][j]`, as
    /// [`pruned_cells`](super::api::pruned_cells) gives it).
    pub fn mark_pruned(&mut self, pruned: &[Vec<bool>]) {
        for (row, flags) in self.rows.iter_mut().zip(pruned) {
            for (cell, &p) in row.cells.iter_mut().zip(flags) {
                if p {
                    *cell = Cell {
                        text: "pruned".to_string(),
                        class: "none",
                        title: "pruned: no data kept for this period".to_string(),
                        href: None,
                    };
                }
            }
        }
    }

    /// Formats `cohort` (computed from `spec`) for display.
    pub fn new(spec: &CohortSpec, cohort: &Cohort, as_percent: bool) -> Heatmap {
        let unit = cohort.time_group.unit();
        let mut heading = unit.to_string();
        if let Some(first) = heading.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        let cols = cohort.cohort.first().map_or(spec.cols, Vec::len);
        let columns = (0..cols).map(|j| format!("{heading} {j}")).collect();
        let rows = cohort
            .cohort
            .iter()
            .enumerate()
            .map(|(i, cells)| {
                let total = cohort.totals.get(i).copied().unwrap_or(0);
                let cells = cells
                    .iter()
                    .map(|c| match c {
                        None if total == 0 => Cell {
                            text: String::new(),
                            class: "none",
                            title: String::new(),
                            href: None,
                        },
                        None => Cell {
                            text: String::new(),
                            class: "future",
                            title: String::new(),
                            href: None,
                        },
                        Some(n) => {
                            let f = *n as f64 / total as f64;
                            Cell {
                                text: if as_percent {
                                    percent(f)
                                } else {
                                    thousands(*n)
                                },
                                class: shade(f),
                                title: format!(
                                    "{} of {} users ({})",
                                    thousands(*n),
                                    thousands(total),
                                    percent(f)
                                ),
                                href: None,
                            }
                        }
                    })
                    .collect();
                Row {
                    label: cohort.labels.get(i).cloned().unwrap_or_default(),
                    start: cohort.dates.get(i).cloned().unwrap_or_default(),
                    size: thousands(total),
                    empty: total == 0,
                    href: None,
                    cells,
                }
            })
            .collect();
        let averages = if as_percent {
            cohort
                .average_fractions
                .iter()
                .map(|a| a.map(percent).unwrap_or_default())
                .collect()
        } else {
            cohort
                .averages
                .iter()
                .map(|a| a.map(mean).unwrap_or_default())
                .collect()
        };
        let n = cohort.totals.len().max(1);
        Heatmap {
            columns,
            rows,
            averages,
            average_size: mean(cohort.total as f64 / n as f64),
            col_totals: cohort.col_totals.iter().map(|t| thousands(*t)).collect(),
            total: thousands(cohort.total),
            as_percent,
            no_data: cohort.total == 0,
            unit,
            primary: spec.primary.clone(),
            chain: chain_text(spec),
            id: "bm-heatmap".to_string(),
        }
    }

    /// The same table under element id `id`.
    pub fn with_id(mut self, id: String) -> Self {
        self.id = id;
        self
    }
}

impl Heatmap {
    /// Links every row's size and every filled cell to its users: `users` is the users
    /// page's URL for this table (`{base}/users?of=cohort&<the table's query>`), to which
    /// `&row=I` (and `&col=J`) are appended.
    pub fn link_users(&mut self, users: &str) {
        for (i, row) in self.rows.iter_mut().enumerate() {
            if row.empty {
                continue;
            }
            row.href = Some(format!("{users}&row={i}"));
            for (j, cell) in row.cells.iter_mut().enumerate() {
                if !cell.title.is_empty() {
                    cell.href = Some(format!("{users}&row={i}&col={j}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shades() {
        assert_eq!(shade(0.0), "h0");
        assert_eq!(shade(f64::NAN), "h0");
        assert_eq!(shade(0.0001), "h1");
        assert_eq!(shade(0.01), "h1");
        assert_eq!(shade(0.0101), "h2");
        assert_eq!(shade(0.25), "h5");
        assert_eq!(shade(1.0), "h10");
        assert_eq!(shade(7.0), "h10");
    }
}

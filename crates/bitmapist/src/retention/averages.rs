//! Column averages of a retention table: simple or weighted, optionally complete periods only.
//! The definitions are in the [parent module's docs](super).

use super::Average;

/// The mean counts and the average fractions of every column of `cells` (rows of
/// `totals` users), as [`Average`] says. With `complete_only`, the cell of row `i` and lag
/// `j` with `i + j == cells.len() - 1` (the current period) is left out.
///
/// ```
/// use bitmapist::Average;
/// use bitmapist::column_averages;
/// let cells = vec![vec![Some(5), Some(2)], vec![Some(1), None]];
/// let totals = vec![10, 2];
/// let (_, simple) = column_averages(&cells, &totals, Average::Simple, false);
/// assert_eq!(simple[0], Some((0.5 + 0.5) / 2.0));
/// let (_, weighted) = column_averages(&cells, &totals, Average::Weighted, false);
/// assert_eq!(weighted[0], Some(6.0 / 12.0));
/// let (_, complete) = column_averages(&cells, &totals, Average::Weighted, true);
/// assert_eq!(complete, vec![Some(0.5), None]);
/// ```
pub fn column_averages(
    cells: &[Vec<Option<u64>>],
    totals: &[u64],
    average: Average,
    complete_only: bool,
) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let cols = cells.first().map_or(0, Vec::len);
    let current = cells.len().saturating_sub(1);
    let mut counts = Vec::with_capacity(cols);
    let mut fractions = Vec::with_capacity(cols);
    for j in 0..cols {
        let included: Vec<(u64, u64)> = cells
            .iter()
            .zip(totals)
            .enumerate()
            .filter(|(i, _)| !(complete_only && i + j == current))
            .filter_map(|(_, (row, &total))| {
                row.get(j)
                    .copied()
                    .flatten()
                    .filter(|_| total > 0)
                    .map(|c| (c, total))
            })
            .collect();
        if included.is_empty() {
            counts.push(None);
            fractions.push(None);
            continue;
        }
        let n = included.len() as f64;
        counts.push(Some(
            included.iter().map(|&(c, _)| c as f64).sum::<f64>() / n,
        ));
        fractions.push(Some(match average {
            Average::Simple => {
                included
                    .iter()
                    .map(|&(c, t)| c as f64 / t as f64)
                    .sum::<f64>()
                    / n
            }
            Average::Weighted => {
                let cells: u64 = included.iter().map(|&(c, _)| c).sum();
                let users: u64 = included.iter().map(|&(_, t)| t).sum();
                cells as f64 / users as f64
            }
        }));
    }
    (counts, fractions)
}

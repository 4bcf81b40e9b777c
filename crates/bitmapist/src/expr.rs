//! Expressions over event-periods: `And`, `Or`, `Xor`, `Not`, difference, nested to any depth.
//! Evaluated in memory on bitmaps fetched in one batch; nothing temporary is ever stored.
//!
//! Python bitmapist evaluates `BitOpAnd(a, b)` with Redis `BITOP` into a key named after
//! its inputs; nested operations double those names, and cohorts leave the keys behind.
//! Here an expression is plain data: collect its leaf keys ([`Expr::keys`]), fetch them at
//! once (one pipeline on Redis), then [`Expr::evaluate`] them with Redis `BITOP` semantics
//! (see [`Bitmap`]). Evaluation uses an explicit stack, so depth is bounded only by memory.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::{BitAnd, BitOr, BitXor, Not, Sub};

use crate::bitmap::Bitmap;
use crate::key::KeyLayout;
use crate::period::Period;

/// One event in one period: the leaf of every expression.
///
/// A year is read as the OR of its twelve month keys, as Python bitmapist's `YearEvents`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventPeriod {
    /// The event name, e.g. `"user:logged_in"`.
    pub event: String,
    /// The period.
    pub period: Period,
}

impl EventPeriod {
    /// `event` in `period`.
    pub fn new(event: impl Into<String>, period: Period) -> Self {
        EventPeriod {
            event: event.into(),
            period,
        }
    }
}

/// A set expression over event-periods.
///
/// Build it with the Rust operators `&` (and), `|` (or), `^` (xor), `!` (not) and `-`
/// (difference):
///
/// ```
/// use bitmapist::{Expr, Period};
///
/// let m = Period::month(2026, 11)?;
/// let active = Expr::events("user:logged_in", m);
/// let paid = Expr::events("user:paid", m);
/// let churned = Expr::events("user:cancelled", m);
/// let e = (active & paid) - churned;
/// assert_eq!(e.leaves().len(), 3);
/// # Ok::<(), bitmapist::Error>(())
/// ```
///
/// `Not` follows Redis `BITOP NOT`: it complements its operand up to the operand's length
/// in whole bytes (the length of the Redis string, which `SETBIT` grows to cover the
/// highest offset ever written and never shrinks). So `!e` contains every id below that
/// length that `e` lacks, not "every id there is"; the negation of a period with no data is
/// empty. Use a difference (`a - b`) to mean "in `a` but not in `b`".
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// The users of one event in one period.
    Events(EventPeriod),
    /// Users in every operand (`BITOP AND`).
    And(Vec<Expr>),
    /// Users in any operand (`BITOP OR`).
    Or(Vec<Expr>),
    /// Users in an odd number of operands (`BITOP XOR`).
    Xor(Vec<Expr>),
    /// The complement within the operand's length (`BITOP NOT`).
    Not(Box<Expr>),
    /// Users in the first and not in the second.
    Difference(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// The leaf `event` in `period`.
    pub fn events(event: impl Into<String>, period: Period) -> Expr {
        Expr::Events(EventPeriod::new(event, period))
    }

    /// Every leaf, left to right (with repeats).
    pub fn leaves(&self) -> Vec<&EventPeriod> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Events(ep) => out.push(ep),
                Expr::And(v) | Expr::Or(v) | Expr::Xor(v) => stack.extend(v.iter().rev()),
                Expr::Not(inner) => stack.push(inner),
                Expr::Difference(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
            }
        }
        out
    }

    /// The distinct store keys evaluation needs, in first-use order.
    pub fn keys(&self, layout: &KeyLayout) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for leaf in self.leaves() {
            for key in layout.keys(&leaf.event, &leaf.period) {
                if seen.insert(key.clone()) {
                    out.push(key);
                }
            }
        }
        out
    }

    /// Evaluates the expression on fetched bitmaps (a missing key is an empty bitmap of
    /// length 0, as in Redis).
    pub fn evaluate(&self, layout: &KeyLayout, fetched: &HashMap<String, Bitmap>) -> Bitmap {
        enum Step<'e> {
            Enter(&'e Expr),
            Exit(&'e Expr),
        }
        let empty = Bitmap::new();
        let mut values: Vec<Cow<'_, Bitmap>> = Vec::new();
        let mut stack = vec![Step::Enter(self)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Enter(Expr::Events(ep)) => {
                    values.push(leaf_value(layout, fetched, ep, &empty));
                }
                Step::Enter(e) => {
                    stack.push(Step::Exit(e));
                    match e {
                        Expr::And(v) | Expr::Or(v) | Expr::Xor(v) => {
                            stack.extend(v.iter().rev().map(Step::Enter));
                        }
                        Expr::Not(inner) => stack.push(Step::Enter(inner)),
                        Expr::Difference(a, b) => {
                            stack.push(Step::Enter(b));
                            stack.push(Step::Enter(a));
                        }
                        Expr::Events(_) => {}
                    }
                }
                Step::Exit(e) => {
                    let arity = match e {
                        Expr::And(v) | Expr::Or(v) | Expr::Xor(v) => v.len(),
                        Expr::Not(_) => 1,
                        Expr::Difference(..) => 2,
                        Expr::Events(_) => 0,
                    };
                    let args = values.split_off(values.len().saturating_sub(arity));
                    values.push(Cow::Owned(combine(e, args)));
                }
            }
        }
        values.pop().map(Cow::into_owned).unwrap_or_default()
    }
}

/// The bitmap of one leaf: its key, or the OR of a year's twelve months.
fn leaf_value<'a>(
    layout: &KeyLayout,
    fetched: &'a HashMap<String, Bitmap>,
    ep: &EventPeriod,
    empty: &'a Bitmap,
) -> Cow<'a, Bitmap> {
    match ep.period.months() {
        None => Cow::Borrowed(
            fetched
                .get(&layout.key(&ep.event, &ep.period))
                .unwrap_or(empty),
        ),
        Some(months) => {
            let mut acc = Bitmap::new();
            for m in &months {
                if let Some(b) = fetched.get(&layout.key(&ep.event, m)) {
                    acc.or_assign(b);
                }
            }
            Cow::Owned(acc)
        }
    }
}

/// Applies one operator to its evaluated operands.
fn combine(e: &Expr, args: Vec<Cow<'_, Bitmap>>) -> Bitmap {
    let mut it = args.into_iter();
    let Some(first) = it.next() else {
        return Bitmap::new();
    };
    match e {
        Expr::Not(_) => first.not(),
        Expr::Difference(..) => {
            let mut acc = first.into_owned();
            if let Some(b) = it.next() {
                acc.difference_assign(&b);
            }
            acc
        }
        Expr::And(_) | Expr::Or(_) | Expr::Xor(_) => {
            let mut acc = first.into_owned();
            for b in it {
                match e {
                    Expr::And(_) => acc.and_assign(&b),
                    Expr::Or(_) => acc.or_assign(&b),
                    _ => acc.xor_assign(&b),
                }
            }
            acc
        }
        Expr::Events(_) => first.into_owned(),
    }
}

impl From<EventPeriod> for Expr {
    fn from(ep: EventPeriod) -> Self {
        Expr::Events(ep)
    }
}

/// Joins two operands under `op`, flattening operands that already use `op`.
fn flatten(lhs: Expr, rhs: Expr, op: fn(Vec<Expr>) -> Expr, is_op: fn(&Expr) -> bool) -> Expr {
    let mut items = Vec::new();
    for side in [lhs, rhs] {
        if is_op(&side) {
            match side {
                Expr::And(v) | Expr::Or(v) | Expr::Xor(v) => items.extend(v),
                other => items.push(other),
            }
        } else {
            items.push(side);
        }
    }
    op(items)
}

impl<R: Into<Expr>> BitAnd<R> for Expr {
    type Output = Expr;
    fn bitand(self, rhs: R) -> Expr {
        flatten(self, rhs.into(), Expr::And, |e| matches!(e, Expr::And(_)))
    }
}

impl<R: Into<Expr>> BitOr<R> for Expr {
    type Output = Expr;
    fn bitor(self, rhs: R) -> Expr {
        flatten(self, rhs.into(), Expr::Or, |e| matches!(e, Expr::Or(_)))
    }
}

impl<R: Into<Expr>> BitXor<R> for Expr {
    type Output = Expr;
    fn bitxor(self, rhs: R) -> Expr {
        flatten(self, rhs.into(), Expr::Xor, |e| matches!(e, Expr::Xor(_)))
    }
}

impl<R: Into<Expr>> Sub<R> for Expr {
    type Output = Expr;
    fn sub(self, rhs: R) -> Expr {
        Expr::Difference(Box::new(self), Box::new(rhs.into()))
    }
}

impl Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }
}

/// Every key the expressions read, each once, in first-seen order.
pub(crate) fn unique_keys(exprs: &[Expr], layout: &KeyLayout) -> Vec<String> {
    let mut keys = Vec::new();
    let mut seen = HashSet::new();
    for e in exprs {
        for k in e.keys(layout) {
            if seen.insert(k.clone()) {
                keys.push(k);
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> Period {
        Period::day(chrono::NaiveDate::from_ymd_opt(2026, 1, d).expect("valid")).expect("in range")
    }

    #[test]
    fn operators_flatten_same_kind() {
        let e = Expr::events("a", day(1)) & Expr::events("b", day(1)) & Expr::events("c", day(1));
        assert!(matches!(&e, Expr::And(v) if v.len() == 3));
        let e = e | Expr::events("d", day(1));
        assert!(matches!(&e, Expr::Or(v) if v.len() == 2));
    }

    #[test]
    fn deep_nesting_evaluates_without_recursion() {
        let layout = KeyLayout::default();
        let mut fetched = HashMap::new();
        fetched.insert(
            layout.key("a", &day(1)),
            [1u32, 2].into_iter().collect::<Bitmap>(),
        );
        let mut e = Expr::events("a", day(1));
        for _ in 0..10_000 {
            e = !e;
        }
        // An even number of NOTs within the same byte length is the identity.
        assert_eq!(e.evaluate(&layout, &fetched).count(), 2);
        // Take the tower apart iteratively so that dropping it does not recurse deeply.
        while let Expr::Not(inner) = e {
            e = *inner;
        }
    }

    #[test]
    fn year_reads_twelve_months() {
        let layout = KeyLayout::default();
        let y = Period::year(2026).expect("in range");
        let e = Expr::events("a", y);
        assert_eq!(e.keys(&layout).len(), 12);
        let mut fetched = HashMap::new();
        fetched.insert(
            "trackist_a_2026-1".to_string(),
            [1u32].into_iter().collect(),
        );
        fetched.insert(
            "trackist_a_2026-12".to_string(),
            [9u32].into_iter().collect(),
        );
        fetched.insert(
            "trackist_a_2025-12".to_string(),
            [5u32].into_iter().collect(),
        );
        let got: Vec<u32> = e.evaluate(&layout, &fetched).iter().collect();
        assert_eq!(got, vec![1, 9]);
    }
}

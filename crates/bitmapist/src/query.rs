//! [`Query`]: an expression bound to a store, answering count, contains, ids, has_events.
//! Combine queries with `& | ^ ! -`; each answer is one batched fetch and in-memory work.

use std::ops::{BitAnd, BitOr, BitXor, Not, Sub};
use std::sync::Arc;

use crate::backend::Backend;
use crate::bitmap::Bitmap;
use crate::error::Result;
use crate::expr::Expr;
use crate::telemetry::QueryKind;

/// An expression over event-periods on one store. Cheap to clone.
///
/// A query on a single day, week, month or hour asks the store directly (`BITCOUNT`,
/// `GETBIT` on Redis) without fetching the bitmap; anything else fetches every leaf once
/// and evaluates in memory.
///
/// ```
/// use bitmapist::{Bitmapist, Period};
/// use chrono::{TimeZone, Utc};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let bm = Bitmapist::open("memory://").await?;
/// let t = Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap();
/// for uid in [1, 2, 3] { bm.mark_event("popcorn", uid).at(t).await?; }
/// for uid in [3, 4] { bm.mark_event("cheesepuffs", uid).at(t).await?; }
///
/// let day = Period::day(t.date_naive())?;
/// let spilled = bm.events("popcorn", day) | bm.events("cheesepuffs", day);
/// assert_eq!(spilled.ids().await?.collect::<Vec<_>>(), vec![1, 2, 3, 4]);
/// let both = bm.events("popcorn", day) & bm.events("cheesepuffs", day);
/// assert_eq!(both.count().await?, 1);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Query {
    backend: Arc<Backend>,
    expr: Expr,
}

/// The ids of a query's answer, ascending.
pub struct Ids(roaring::bitmap::IntoIter);

impl Iterator for Ids {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        self.0.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl Query {
    pub(crate) fn new(backend: Arc<Backend>, expr: Expr) -> Self {
        Query { backend, expr }
    }

    /// The store, layout and id map this query runs on.
    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The single store key this query reads, when it is one event in a period with a key
    /// of its own (not a year, not an expression).
    fn single_key(&self) -> Option<String> {
        match &self.expr {
            Expr::Events(ep) if ep.period.months().is_none() => {
                Some(self.backend.layout.key(&ep.event, &ep.period))
            }
            _ => None,
        }
    }

    /// The answer as a bitmap (with its Redis length).
    pub async fn bitmap(&self) -> Result<Bitmap> {
        let _timer = self.backend.queries.start(QueryKind::Bitmap);
        self.backend.evaluate(&self.expr).await
    }

    /// How many users are in the answer.
    pub async fn count(&self) -> Result<u64> {
        let _timer = self.backend.queries.start(QueryKind::Count);
        match self.single_key() {
            Some(key) => Ok(self
                .backend
                .store
                .count(&[key])
                .await?
                .first()
                .copied()
                .unwrap_or(0)),
            None => Ok(self.backend.evaluate(&self.expr).await?.count()),
        }
    }

    /// Whether user `uid` is in the answer.
    pub async fn contains(&self, uid: u32) -> Result<bool> {
        match self.single_key() {
            Some(key) => self.backend.store.contains(&key, uid).await,
            None => Ok(self.bitmap().await?.contains(uid)),
        }
    }

    /// The users in the answer, ascending.
    pub async fn ids(&self) -> Result<Ids> {
        Ok(Ids(self.bitmap().await?.into_bits().into_iter()))
    }

    /// Whether any user is in the answer.
    pub async fn has_events(&self) -> Result<bool> {
        Ok(self.count().await? > 0)
    }
}

macro_rules! binary_op {
    ($trait:ident, $method:ident) => {
        impl $trait<Query> for Query {
            type Output = Query;
            fn $method(self, rhs: Query) -> Query {
                Query::new(self.backend, self.expr.$method(rhs.expr))
            }
        }
        impl $trait<Expr> for Query {
            type Output = Query;
            fn $method(self, rhs: Expr) -> Query {
                Query::new(self.backend, self.expr.$method(rhs))
            }
        }
    };
}

binary_op!(BitAnd, bitand);
binary_op!(BitOr, bitor);
binary_op!(BitXor, bitxor);
binary_op!(Sub, sub);

impl Not for Query {
    type Output = Query;
    fn not(self) -> Query {
        Query::new(self.backend, !self.expr)
    }
}

impl From<Query> for Expr {
    fn from(q: Query) -> Expr {
        q.expr
    }
}

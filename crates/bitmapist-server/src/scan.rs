//! `SCAN` cursors: integers standing for "resume after this key" in sorted key order.
//! A bounded table maps each cursor the server handed out to the last key it examined.
//!
//! The guarantee: a key that exists for the whole of a scan (from cursor 0 until a reply
//! with cursor 0) is returned by it, exactly once unless the scan restarts; keys created or
//! deleted meanwhile may or may not be. A cursor the table no longer holds (the table keeps
//! the [`Cursors::capacity`] most recent; a restart of the server forgets them all) restarts
//! the scan from the beginning, so keys may then come twice, as `SCAN` allows, but none is
//! skipped. Cursors are numbered from a time-based base, so a cursor from before a restart
//! is very unlikely to name a live one.

use std::collections::{HashMap, VecDeque};

/// Where a scan resumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resume {
    /// From the first key (cursor 0).
    Start,
    /// After this key.
    After(String),
    /// From the first key again: the cursor is unknown (forgotten or never issued).
    Restart,
}

/// The cursor table (see the module docs).
#[derive(Debug)]
pub struct Cursors {
    next: u64,
    capacity: usize,
    by_id: HashMap<u64, String>,
    order: VecDeque<u64>,
}

impl Cursors {
    /// A table keeping the `capacity` most recent cursors; ids start from `base` (callers
    /// pass a time-based value).
    pub fn new(capacity: usize, base: u64) -> Self {
        Cursors {
            next: base.max(1),
            capacity: capacity.max(1),
            by_id: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// A new cursor that resumes after `last`.
    pub fn issue(&mut self, last: String) -> u64 {
        let id = self.next;
        self.next = self.next.checked_add(1).unwrap_or(1);
        if self.order.len() >= self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.by_id.remove(&old);
        }
        self.by_id.insert(id, last);
        self.order.push_back(id);
        id
    }

    /// Where cursor `id` resumes.
    pub fn resume(&self, id: u64) -> Resume {
        if id == 0 {
            return Resume::Start;
        }
        match self.by_id.get(&id) {
            Some(last) => Resume::After(last.clone()),
            None => Resume::Restart,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_resume_and_are_bounded() {
        let mut c = Cursors::new(2, 1000);
        let a = c.issue("a".into());
        let b = c.issue("b".into());
        assert_ne!(a, b);
        assert_eq!(c.resume(a), Resume::After("a".into()));
        assert_eq!(c.resume(0), Resume::Start);
        let _ = c.issue("c".into());
        assert_eq!(c.resume(a), Resume::Restart);
        assert_eq!(c.resume(b), Resume::After("b".into()));
        assert_eq!(c.resume(7), Resume::Restart);
    }
}

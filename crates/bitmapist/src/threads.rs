//! Work cut into consecutive shares, one scoped thread each: what the embedded file's
//! batched reads and the container walks of trends and stickiness share.
//!
//! **Why.** Reading many large values, or counting many containers, is bound by memory and
//! page copies, not by a lock: two cores do it in about half the time. One helper keeps the
//! share arithmetic and the panic forwarding in one place.
//!
//! **How.** At most `max` shares and no more than the machine's cores or the items; a single
//! share runs on the calling thread. A share that panics panics the caller with its payload.
//!
//! **What a crash can lose.** Nothing: this module holds no data.

/// `work` over `items` cut into up to `max` consecutive shares (no more than the cores, no
/// more than the items), each in its own scoped thread: one result per share, in order.
pub(crate) fn in_shares<I: Sync, T: Send>(
    items: &[I],
    max: usize,
    work: impl Fn(&[I]) -> T + Sync,
) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, max.max(1))
        .min(items.len().max(1));
    if threads == 1 {
        return vec![work(items)];
    }
    let share = items.len().div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(share)
            .map(|mine| scope.spawn(move || work(mine)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::in_shares;

    /// The shares cover the items once, in order, whatever the bound.
    #[test]
    fn shares_cover_the_items_in_order() {
        let items: Vec<u32> = (0..101).collect();
        for max in [0, 1, 2, 4, 200] {
            let shares = in_shares(&items, max, <[u32]>::to_vec);
            assert!(shares.len() <= max.max(1));
            assert_eq!(shares.concat(), items);
        }
        assert_eq!(in_shares(&[] as &[u32], 4, <[u32]>::len), vec![0]);
    }
}

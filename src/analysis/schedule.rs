//! Who gets the exact method first when time is short.
//!
//! The cost of an exact answer is heavily skewed across services (on the
//! realistic 10k platform the median service needs a few hundred BDD nodes,
//! a few need millions), so solving services in model order lets one heavy
//! service eat the time of thousands of light ones. Instead, every service is
//! first attempted with a small cap on BDD nodes; those over the cap are
//! retried in rounds with a cap eight times larger each time, and the last
//! round has no cap. Work wasted on failed attempts is at most about a
//! seventh of the final attempt's, and each round ends before the deadline
//! or when every service is exact. What is still not exact then gets
//! certified bounds from the caller.

use std::time::Instant;

use super::engine::Limits;

/// BDD node caps of the rounds before the last, uncapped one.
pub const CAPS: [usize; 4] = [1 << 12, 1 << 15, 1 << 18, 1 << 21];

/// Runs `attempt(i, limits)` for every `i` in `pending`, in rounds of
/// growing node caps, until it returns true (solved) for all or `deadline`
/// passes. Returns the items never solved, in their original order.
pub fn rounds(
    mut pending: Vec<usize>,
    deadline: Instant,
    mut attempt: impl FnMut(usize, &Limits) -> bool,
) -> Vec<usize> {
    let caps = CAPS.iter().map(|c| Some(*c)).chain([None]);
    for cap in caps {
        let limits = Limits::attempt(deadline, cap);
        pending.retain(|&i| Instant::now() >= deadline || !attempt(i, &limits));
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
    }
    pending
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn items_are_retried_with_larger_caps_until_solved() {
        let deadline = Instant::now() + Duration::from_secs(60);
        // Item i needs a cap of at least i << 15 nodes (item 0 fits the first round).
        let mut tries = vec![0; 4];
        let left = rounds((0..4).collect(), deadline, |i, limits| {
            tries[i] += 1;
            limits.max_nodes.is_none_or(|c| c >= i << 15)
        });
        assert!(left.is_empty());
        assert_eq!(tries, [1, 2, 3, 3]);
    }

    #[test]
    fn nothing_is_attempted_after_the_deadline() {
        let left = rounds(vec![3, 1, 2], Instant::now(), |_, _| true);
        assert_eq!(left, [3, 1, 2]);
    }
}

//! Who gets the exact method first when time is short.
//!
//! The cost of an exact answer is heavily skewed across services (on the
//! realistic 10k platform the median service needs a few hundred BDD nodes,
//! a few need millions), so solving services in model order lets one heavy
//! service eat the time of thousands of light ones. Instead, every service is
//! first attempted with a small cap on BDD nodes; those over the cap are
//! retried in rounds with a cap eight times larger each time, up to 16M
//! nodes (about 400 MB for the manager: beyond that, memory rather than time
//! is the limit, and the service gets bounds). Work wasted on failed attempts is at most about a
//! seventh of the final attempt's, and each round ends before the deadline
//! or when every service is exact. The caller runs the rounds in two parts
//! ([`FIRST_CAPS`], [`LAST_CAPS`]) with certified bounds for what is left
//! in between, so that no service is left with poor bounds because a few
//! heavy ones took the time.

use std::time::Instant;

use super::engine::{FaultGraph, Gate, Limits, NodeRef};

/// A cheap proxy for how hard each node is to solve: the number of paths
/// from it to the events below (1 for an event), in one bottom-up pass. It
/// grows with the cone and with the sharing inside it, the two things that
/// make BDDs large.
pub fn path_counts(graph: &FaultGraph) -> Vec<f64> {
    let mut paths: Vec<f64> = Vec::with_capacity(graph.len());
    for gate in graph.gates() {
        let p = match gate {
            Gate::Event(_) => 1.0,
            Gate::Const(_) => 0.0,
            Gate::And(c) | Gate::Or(c) | Gate::AtLeast { of: c, .. } => {
                c.iter().map(|c| paths[*c as usize]).sum()
            }
        };
        paths.push(p);
    }
    paths
}

/// The items sorted by the [`path_counts`] of their node, fewest first (ties
/// in their given order).
pub fn lightest_first(items: &mut [usize], node: impl Fn(usize) -> NodeRef, paths: &[f64]) {
    items.sort_by(|a, b| paths[node(*a) as usize].total_cmp(&paths[node(*b) as usize]));
}

/// BDD node caps of the first rounds: most services of a large platform
/// are solved within them.
pub const FIRST_CAPS: [usize; 3] = [1 << 12, 1 << 15, 1 << 18];

/// BDD node caps of the last rounds, for the heavy services, once every
/// service has bounds.
pub const LAST_CAPS: [usize; 2] = [1 << 21, 1 << 24];

/// Runs `attempt(i, limits)` for every `i` in `pending`, in rounds of
/// growing node caps, until it returns true (solved) for all or `deadline`
/// passes. Returns the items never solved, in their given order.
pub fn rounds(
    mut pending: Vec<usize>,
    caps: &[usize],
    deadline: Instant,
    mut attempt: impl FnMut(usize, &Limits) -> bool,
) -> Vec<usize> {
    for &cap in caps {
        let limits = Limits::attempt(deadline, Some(cap));
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
        // Item i needs a cap of at least i << 15 nodes (item 0 fits the first
        // round); item 4 needs more than the last cap.
        let mut tries = vec![0; 5];
        let caps: Vec<usize> = FIRST_CAPS.iter().chain(&LAST_CAPS).copied().collect();
        let left = rounds((0..5).collect(), &caps, deadline, |i, limits| {
            tries[i] += 1;
            let need = if i == 4 { 1 << 25 } else { i << 15 };
            limits.max_nodes.is_some_and(|c| c >= need)
        });
        assert_eq!(left, [4]);
        assert_eq!(tries, [1, 2, 3, 3, 5]);
    }

    #[test]
    fn shared_structure_weighs_more() {
        let mut g = FaultGraph::new();
        let a = g.add(Gate::Event(0));
        let b = g.add(Gate::Event(1));
        let ab = g.add(Gate::And(vec![a, b]));
        let diamond = g.add(Gate::Or(vec![ab, ab, a]));
        let paths = path_counts(&g);
        assert_eq!(paths, [1.0, 1.0, 2.0, 5.0]);
        let mut items = vec![3, 0, 2];
        lightest_first(&mut items, |i| i as NodeRef, &paths);
        assert_eq!(items, [0, 2, 3]);
        assert_eq!(diamond, 3);
    }

    #[test]
    fn nothing_is_attempted_after_the_deadline() {
        let left = rounds(vec![3, 1, 2], &FIRST_CAPS, Instant::now(), |_, _| true);
        assert_eq!(left, [3, 1, 2]);
    }
}

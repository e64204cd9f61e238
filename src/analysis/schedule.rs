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
//! (the first [`FIRST_CAPS`] of [`CAPS`], then all of them for what is
//! left) with certified bounds for the heavy services in between, so that
//! no service is left with poor bounds because a few heavy ones took the
//! time. Within a round, the services are shared among
//! worker threads ([`share`]): each thread takes the next service in the
//! lightest-first order, so the order of the work is kept, and each
//! service's result is the same whichever thread computed it.

use std::sync::atomic::{AtomicUsize, Ordering};
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

/// The number of worker threads for `requested` (0: one per core).
pub fn threads(requested: usize) -> usize {
    if requested > 0 {
        return requested;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// BDD node caps, in the order they are tried: the first three are the first
/// rounds (most services of a large platform are solved within them), the
/// last two are for the heavy services once every service has bounds.
pub const CAPS: [usize; 5] = [1 << 12, 1 << 15, 1 << 18, 1 << 21, 1 << 24];

/// How many of [`CAPS`] the first rounds try.
pub const FIRST_CAPS: usize = 3;

/// An item not solved yet, and how many caps of the ladder it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Left {
    /// The item.
    pub item: usize,
    /// The caps it was tried with, without success: `caps[..failed]`.
    pub failed: usize,
}

impl Left {
    /// An item not tried yet.
    pub fn new(item: usize) -> Self {
        Left { item, failed: 0 }
    }
}

/// A round whose cap fails this many of its first attempts (and at least
/// [`HOPELESS_AFTER`]) is cut short: its other items move on to the next
/// cap untried. An attempt costs more than its BDD (the cone is prepared
/// each time), so on a platform where the small caps fail nearly always
/// (adversarial 10k: 61 of 3,100 services within 4k nodes, 2.5 ms per
/// failed attempt) trying every service with each would use up the time.
const HOPELESS_FAILURES: f64 = 0.95;
/// See [`HOPELESS_FAILURES`].
const HOPELESS_AFTER: usize = 100;

/// How many attempts of one method were made and failed, shared among
/// worker threads: a method that fails [`HOPELESS_FAILURES`] of its first
/// attempts (at least [`HOPELESS_AFTER`]) is not worth trying on the rest.
pub struct Record {
    tried: AtomicUsize,
    failed: AtomicUsize,
    /// Whether [`Record::hopeless`] can say so.
    watching: bool,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            tried: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            watching: true,
        }
    }
}

impl Record {
    /// A record that never says the rest would fail: for attempts on items
    /// chosen because they are hard, which fail more often than not.
    pub fn never_hopeless() -> Self {
        Record {
            watching: false,
            ..Record::default()
        }
    }

    /// Makes one attempt and counts it.
    pub fn attempt<R>(&self, attempt: impl FnOnce() -> Option<R>) -> Option<R> {
        self.tried.fetch_add(1, Ordering::Relaxed);
        let result = attempt();
        if result.is_none() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Whether the attempts so far say the rest would fail too.
    pub fn hopeless(&self) -> bool {
        let (tried, failed) = (
            self.tried.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        );
        self.watching
            && tried >= HOPELESS_AFTER
            && failed as f64 >= HOPELESS_FAILURES * tried as f64
    }
}

/// What became of one item in a round.
enum Tried<R> {
    Solved(R),
    /// Over the cap, or not tried because the cap is hopeless.
    Failed,
    /// Not tried: out of time.
    Skipped,
}

/// Runs `attempt(state, i, limits)` for the items `pending`, in rounds of
/// growing node caps (`caps`, each item from the first cap it has not
/// failed), until it returns a result (solved) for all or `deadline` passes.
/// The items are shared among one thread per worker state (see [`share`]);
/// `solved(i, result)` is called on the caller's thread, in the order of
/// `pending`. A round whose cap fails nearly always is cut short (see
/// [`HOPELESS_FAILURES`]). Returns the items never solved, in their given
/// order, with the caps they failed.
pub fn rounds<S: Send, R: Send>(
    mut pending: Vec<Left>,
    caps: &[usize],
    deadline: Instant,
    workers: &mut [S],
    attempt: impl Fn(&mut S, usize, &Limits) -> Option<R> + Sync,
    mut solved: impl FnMut(usize, R),
) -> Vec<Left> {
    for (round, &cap) in caps.iter().enumerate() {
        let limits = Limits::attempt(deadline, Some(cap));
        let due: Vec<usize> = pending
            .iter()
            .filter(|l| l.failed == round)
            .map(|l| l.item)
            .collect();
        let record = Record::default();
        let mut results = share(&due, workers, |state, _, i| {
            if Instant::now() >= deadline {
                return Some(Tried::Skipped);
            }
            if record.hopeless() {
                return Some(Tried::Failed);
            }
            Some(match record.attempt(|| attempt(state, i, &limits)) {
                Some(r) => Tried::Solved(r),
                None => Tried::Failed,
            })
        })
        .into_iter();
        let mut left = Vec::with_capacity(pending.len());
        for l in pending {
            if l.failed != round {
                left.push(l);
                continue;
            }
            match results.next().flatten() {
                Some(Tried::Solved(r)) => solved(l.item, r),
                Some(Tried::Failed) => left.push(Left {
                    item: l.item,
                    failed: round + 1,
                }),
                Some(Tried::Skipped) | None => left.push(l),
            }
        }
        pending = left;
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
    }
    pending
}

/// Runs `work(state, position, item)` for every item, on one thread per
/// worker state (the caller's own thread when there is one state). Workers
/// take the items in their given order from a shared counter, so the light
/// items given first are done first whatever the number of threads; the
/// results come back in the items' order. `workers` must not be empty.
pub fn share<S: Send, R: Send>(
    items: &[usize],
    workers: &mut [S],
    work: impl Fn(&mut S, usize, usize) -> Option<R> + Sync,
) -> Vec<Option<R>> {
    if workers.len() == 1 || items.len() <= 1 {
        let state = &mut workers[0];
        return items
            .iter()
            .enumerate()
            .map(|(k, &i)| work(state, k, i))
            .collect();
    }
    let next = AtomicUsize::new(0);
    let (next, work) = (&next, &work);
    let parts: Vec<Vec<(usize, Option<R>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = workers
            .iter_mut()
            .map(|state| {
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&i) = items.get(k) else {
                            return done;
                        };
                        done.push((k, work(state, k, i)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut results: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    for (k, r) in parts.into_iter().flatten() {
        results[k] = r;
    }
    results
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
        for threads in [1, 2, 3] {
            let tries: Vec<AtomicUsize> = (0..5).map(|_| AtomicUsize::new(0)).collect();
            let mut workers = vec![(); threads];
            let mut solved = Vec::new();
            let left = rounds(
                (0..5).map(Left::new).collect(),
                &CAPS,
                deadline,
                &mut workers,
                |_, i, limits| {
                    tries[i].fetch_add(1, Ordering::Relaxed);
                    let need = if i == 4 { 1 << 25 } else { i << 15 };
                    limits
                        .max_nodes
                        .is_some_and(|c| c >= need)
                        .then_some(i * 10)
                },
                |i, r| solved.push((i, r)),
            );
            assert_eq!(left, [Left { item: 4, failed: 5 }]);
            let tries: Vec<usize> = tries.iter().map(|t| t.load(Ordering::Relaxed)).collect();
            assert_eq!(tries, [1, 2, 3, 3, 5]);
            // Reported round by round, in the order of the items.
            assert_eq!(solved, [(0, 0), (1, 10), (2, 20), (3, 30)]);
        }
    }

    #[test]
    fn rounds_resume_each_item_at_the_first_cap_it_has_not_failed() {
        let deadline = Instant::now() + Duration::from_secs(60);
        let tried: std::sync::Mutex<Vec<(usize, usize)>> = Default::default();
        let mut workers = vec![()];
        let left = rounds(
            vec![
                Left { item: 7, failed: 3 },
                Left::new(8),
                Left { item: 9, failed: 1 },
            ],
            &CAPS,
            deadline,
            &mut workers,
            |_, i, limits| {
                let cap = limits.max_nodes.unwrap_or(0);
                tried.lock().unwrap().push((i, cap));
                (cap >= CAPS[3]).then_some(())
            },
            |_, _| {},
        );
        assert!(left.is_empty());
        let tried = tried.into_inner().unwrap();
        assert_eq!(
            tried,
            [
                (8, CAPS[0]),
                (8, CAPS[1]),
                (9, CAPS[1]),
                (8, CAPS[2]),
                (9, CAPS[2]),
                (7, CAPS[3]),
                (8, CAPS[3]),
                (9, CAPS[3]),
            ]
        );
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
    fn a_cap_that_nearly_always_fails_is_given_up_for_the_next() {
        let deadline = Instant::now() + Duration::from_secs(60);
        // Nothing fits the first cap; everything fits the second.
        let at_first_cap = AtomicUsize::new(0);
        let mut workers = vec![()];
        let mut solved = 0;
        let left = rounds(
            (0..1000).map(Left::new).collect(),
            &CAPS,
            deadline,
            &mut workers,
            |_, _, limits| {
                if limits.max_nodes == Some(CAPS[0]) {
                    at_first_cap.fetch_add(1, Ordering::Relaxed);
                    None
                } else {
                    Some(())
                }
            },
            |_, _| solved += 1,
        );
        assert!(left.is_empty());
        assert_eq!(solved, 1000);
        assert_eq!(at_first_cap.load(Ordering::Relaxed), HOPELESS_AFTER);
    }

    #[test]
    fn nothing_is_attempted_after_the_deadline() {
        let mut workers = vec![(), ()];
        let pending: Vec<Left> = [3, 1, 2].map(Left::new).to_vec();
        let left = rounds(
            pending.clone(),
            &CAPS,
            Instant::now(),
            &mut workers,
            |_, _, _| Some(()),
            |_, _| panic!("nothing is attempted"),
        );
        assert_eq!(left, pending);
    }

    #[test]
    fn shared_work_comes_back_in_order_and_uses_every_worker() {
        let items: Vec<usize> = (0..1000).rev().collect();
        let mut workers = vec![0usize; 2];
        let out = share(&items, &mut workers, |count, k, i| {
            *count += 1;
            // A little work, so that both threads get some items.
            std::thread::sleep(std::time::Duration::from_micros(20));
            (i % 7 != 0).then_some((k, i * 2))
        });
        for (k, r) in out.iter().enumerate() {
            let i = items[k];
            assert_eq!(*r, (i % 7 != 0).then_some((k, i * 2)));
        }
        assert_eq!(workers.iter().sum::<usize>(), 1000);
        assert!(workers.iter().all(|&c| c > 0), "{workers:?}");
    }
}

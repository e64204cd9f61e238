//! Certified bounds for the services the exact method did not reach, from
//! their *frontier*, conditioned on the top failure domains.
//!
//! The interval pass ([`super::modules::interval_pass`]) bounds each gate
//! from its children's bounds alone, so a dependency reached by many paths
//! (a global service, the region) is counted once per path, and the upper
//! bounds of deep services grow far beyond their value. Here, for one root:
//!
//! 1. Its *frontier* is what its AND gates reach: the root is up exactly
//!    when every frontier node is up (AND is associative and idempotent),
//!    and each frontier node counts once however many paths lead to it.
//! 2. The top domain events (the region and the zones, say) are fixed in
//!    each of their states in turn, so what they share is no longer counted
//!    twice; the law of total probability puts the states back together.
//! 3. Within a state, every frontier node being up is an increasing event of
//!    the independent events left, so by Harris's inequality (the FKG
//!    inequality of product measures) they are all up at least as often as
//!    if they were independent: P(down) <= 1 - prod(1 - U(w)). And the root
//!    is down at least as often as any family of frontier nodes whose
//!    uncertain events are disjoint (independent, so 1 - prod(1 - L(w))
//!    exactly), or any one frontier node.
//! 4. A frontier node that is a quorum (or failover group) over children
//!    that are ANDs of events, no event shared between children once the
//!    top domains are fixed (a service's own replica set), is computed
//!    exactly: its children are independent. Any other quorum or group is
//!    bounded from its children's bounds (Fréchet and association, as in
//!    the interval pass), a child that is an AND by its own frontier: so
//!    the services behind a failover are not counted once per path either.
//!
//! States less likely than [`NEGLIGIBLE_STATE`], or not reached in time,
//! are not computed: their probability is added to the upper bound whole.

use std::collections::HashMap;
use std::time::Instant;

use super::engine::{any_happens, EventId, FaultGraph, Gate, NodeRef};
use super::modules::combine;

/// Most top domain events conditioned on (at most 2^this states).
pub const MAX_CONDITIONED: usize = 5;

/// States of the conditioned events less likely than this count as "down"
/// in the upper bound and "up" in the lower bound, without being computed.
pub const NEGLIGIBLE_STATE: f64 = 1e-9;

/// Most events in one exactly computed quorum node.
const MAX_QUORUM_EVENTS: usize = 256;

/// Relative allowance for rounding in the sums and products of the bounds.
const ROUNDING: f64 = 1e-12;

/// Bounds `(lower, upper)` on P(down) of each of `roots`, conditioned on the
/// states of the events `conditioned` (the first [`MAX_CONDITIONED`]). The
/// likeliest states are computed first; those not computed by `deadline`
/// count as down in the upper bounds and as up in the lower ones.
pub fn frontier_bounds(
    graph: &FaultGraph,
    q: &[f64],
    conditioned: &[EventId],
    roots: &[NodeRef],
    deadline: Instant,
) -> Vec<(f64, f64)> {
    let conditioned = &conditioned[..conditioned.len().min(MAX_CONDITIONED)];
    let Some(needed) = Needed::new(graph, roots, deadline) else {
        return vec![(0.0, 1.0); roots.len()];
    };
    let mut states: Vec<(f64, u32)> = (0u32..(1 << conditioned.len()))
        .map(|state| {
            let p = conditioned
                .iter()
                .enumerate()
                .map(|(j, &e)| {
                    let qe = q[e as usize];
                    if state >> j & 1 == 1 {
                        qe
                    } else {
                        1.0 - qe
                    }
                })
                .product::<f64>();
            (p, state)
        })
        .collect();
    states.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut lower = vec![0.0; roots.len()];
    let mut upper = vec![0.0; roots.len()];
    for (p, state) in states {
        let computed = (p >= NEGLIGIBLE_STATE && Instant::now() < deadline)
            .then(|| {
                let mut qs = q.to_vec();
                for (j, &e) in conditioned.iter().enumerate() {
                    qs[e as usize] = f64::from(state >> j & 1);
                }
                needed.bounds(graph, &qs, deadline)
            })
            .flatten();
        match computed {
            Some(bounds) => {
                for (r, &root) in roots.iter().enumerate() {
                    let (l, u) = bounds[&root];
                    lower[r] += p * l;
                    upper[r] += p * u;
                }
            }
            None => upper.iter_mut().for_each(|u| *u += p),
        }
    }
    lower
        .into_iter()
        .zip(upper)
        .map(|(l, u)| {
            (
                (l * (1.0 - ROUNDING)).max(0.0),
                (u * (1.0 + ROUNDING)).min(1.0),
            )
        })
        .collect()
}

/// The nodes whose bounds the roots need, bottom up: the roots, the
/// frontier of every AND node among them, and the children of every other
/// gate among them.
struct Needed {
    /// In increasing index order (children before parents).
    nodes: Vec<NodeRef>,
    /// The frontier of each needed AND node.
    frontiers: HashMap<NodeRef, Vec<NodeRef>>,
}

impl Needed {
    /// `None` past `deadline`.
    fn new(graph: &FaultGraph, roots: &[NodeRef], deadline: Instant) -> Option<Needed> {
        let mut seen = vec![false; graph.len()];
        let mut frontiers = HashMap::new();
        let mut mark = vec![0u32; graph.len()];
        let mut generation = 0u32;
        let mut nodes = Vec::new();
        let mut work = roots.to_vec();
        while let Some(v) = work.pop() {
            if std::mem::replace(&mut seen[v as usize], true) {
                continue;
            }
            nodes.push(v);
            match graph.gate(v) {
                Gate::And(_) => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    generation += 1;
                    let frontier = frontier(graph, v, &mut mark, generation);
                    work.extend_from_slice(&frontier);
                    frontiers.insert(v, frontier);
                }
                Gate::AtLeast { of, .. } | Gate::Or(of) => work.extend_from_slice(of),
                Gate::Event(_) | Gate::Const(_) => {}
            }
        }
        nodes.sort_unstable();
        Some(Needed { nodes, frontiers })
    }

    /// Bounds of every needed node with the events' probabilities `q`, or
    /// `None` past `deadline`.
    fn bounds(
        &self,
        graph: &FaultGraph,
        q: &[f64],
        deadline: Instant,
    ) -> Option<HashMap<NodeRef, (f64, f64)>> {
        let mut bounds: HashMap<NodeRef, (f64, f64)> = HashMap::with_capacity(self.nodes.len());
        // The uncertain events of the nodes computed exactly.
        let mut supports: HashMap<NodeRef, Vec<EventId>> = HashMap::new();
        let mut used = vec![0u32; q.len()];
        let mut generation = 0u32;
        let mut family: Vec<(f64, NodeRef)> = Vec::new();
        let mut downs = Vec::new();
        for (done, &v) in self.nodes.iter().enumerate() {
            if done % 1024 == 1023 && Instant::now() >= deadline {
                return None;
            }
            let gate = graph.gate(v);
            let b = match gate {
                Gate::And(_) => {
                    // All frontier nodes up at least as often as if they
                    // were independent (Harris). Down at least as often as
                    // any subfamily of frontier nodes with disjoint
                    // supports is (those are independent): taken greedily,
                    // likeliest first.
                    let frontier = &self.frontiers[&v];
                    let (mut low, mut log_all_up) = (0.0f64, 0.0);
                    family.clear();
                    for w in frontier {
                        let (l, u) = bounds[w];
                        low = low.max(l);
                        log_all_up += (-u.min(1.0)).ln_1p();
                        if supports.contains_key(w) {
                            family.push((l, *w));
                        }
                    }
                    family.sort_by(|a, b| b.0.total_cmp(&a.0));
                    generation += 1;
                    let mut log_none = 0.0;
                    for &(l, w) in &family {
                        let support = &supports[&w];
                        if support.iter().all(|e| used[*e as usize] != generation) {
                            support.iter().for_each(|e| used[*e as usize] = generation);
                            log_none += (-l.min(1.0)).ln_1p();
                        }
                    }
                    (low.max(-log_none.exp_m1()), -log_all_up.exp_m1())
                }
                Gate::AtLeast { of, .. } | Gate::Or(of) => match exact_quorum(graph, q, v) {
                    Some((exact, support)) => {
                        supports.insert(v, support);
                        (exact, exact)
                    }
                    None => {
                        downs.clear();
                        downs.extend(of.iter().map(|c| bounds[c]));
                        combine(gate, &downs, q)
                    }
                },
                Gate::Event(e) => {
                    let qe = q[*e as usize];
                    supports.insert(
                        v,
                        if qe > 0.0 && qe < 1.0 {
                            vec![*e]
                        } else {
                            Vec::new()
                        },
                    );
                    combine(gate, &[], q)
                }
                Gate::Const(_) => combine(gate, &[], q),
            };
            bounds.insert(v, b);
        }
        Some(bounds)
    }
}

/// The non-AND nodes that `v`'s AND gates reach (each once), with `mark`
/// and a fresh `generation` for the visit.
fn frontier(graph: &FaultGraph, v: NodeRef, mark: &mut [u32], generation: u32) -> Vec<NodeRef> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(w) = stack.pop() {
        if std::mem::replace(&mut mark[w as usize], generation) == generation {
            continue;
        }
        match graph.gate(w) {
            Gate::And(children) => stack.extend_from_slice(children),
            _ => out.push(w),
        }
    }
    out
}

/// The exact P(down) of a quorum or failover node whose children are ANDs
/// of events sharing no uncertain event (so independent), with those
/// uncertain events (its support), else `None`.
fn exact_quorum(graph: &FaultGraph, q: &[f64], v: NodeRef) -> Option<(f64, Vec<EventId>)> {
    let (k, of) = match graph.gate(v) {
        Gate::AtLeast { k, of } => (*k as usize, of.as_slice()),
        // Up when any child is up.
        Gate::Or(of) => (1, of.as_slice()),
        _ => return None,
    };
    let n = of.len();
    if k == 0 {
        return Some((0.0, Vec::new()));
    }
    if k > n {
        return Some((1.0, Vec::new()));
    }
    // Each child's uncertain events, and whether it is surely down.
    let mut seen: Vec<EventId> = Vec::new();
    let mut downs: Vec<f64> = Vec::with_capacity(n);
    for &child in of {
        let mut events: Vec<EventId> = Vec::new();
        let mut stack = vec![child];
        let mut surely_down = false;
        while let Some(c) = stack.pop() {
            match graph.gate(c) {
                Gate::And(cs) => stack.extend_from_slice(cs),
                Gate::Event(e) => match q[*e as usize] {
                    x if x >= 1.0 => surely_down = true,
                    x if x <= 0.0 => {}
                    _ => events.push(*e),
                },
                Gate::Const(up) => surely_down |= !up,
                _ => return None,
            }
            if events.len() + seen.len() > MAX_QUORUM_EVENTS {
                return None;
            }
        }
        events.sort_unstable();
        events.dedup();
        seen.extend_from_slice(&events);
        downs.push(if surely_down {
            1.0
        } else {
            any_happens(events.iter().map(|e| q[*e as usize]))
        });
    }
    seen.sort_unstable();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    // Down when at least m = n - k + 1 children are down: the distribution
    // of the number down, as sums of non-negative terms.
    let m = n - k + 1;
    let mut count = vec![0.0; n + 1];
    count[0] = 1.0;
    for (i, &d) in downs.iter().enumerate() {
        for j in (0..=i + 1).rev() {
            let stay = count[j] * (1.0 - d);
            let moved = if j > 0 { count[j - 1] * d } else { 0.0 };
            count[j] = stay + moved;
        }
    }
    Some((count[m..].iter().sum::<f64>().min(1.0), seen))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::{brute, random_graph, Rng};
    use std::time::Duration;

    /// On random DAGs (quorums, failovers, shared events, constants), the
    /// bounds contain the probability found by enumerating every state,
    /// whichever events are conditioned on.
    #[test]
    fn bounds_contain_the_brute_force_value() {
        let mut rng = Rng(0x5eed_f1a7);
        let far = Instant::now() + Duration::from_secs(600);
        for case in 0..3000 {
            let n = 1 + rng.below(10);
            let (graph, roots) = random_graph(&mut rng, n);
            let q: Vec<f64> = (0..n).map(|_| rng.prob()).collect();
            let conditioned: Vec<EventId> =
                (0..rng.below(4)).map(|_| rng.below(n) as EventId).collect();
            let mut conditioned = conditioned;
            conditioned.sort_unstable();
            conditioned.dedup();
            let bounds = frontier_bounds(&graph, &q, &conditioned, &roots, far);
            for (&root, (lo, hi)) in roots.iter().zip(bounds) {
                let exact = brute(&graph, root, &q);
                let slack = 1e-12 * exact.max(1e-300) + 1e-300;
                assert!(
                    lo <= exact + slack && exact <= hi + slack,
                    "case {case}: {exact} outside [{lo}, {hi}] (conditioned on {conditioned:?})"
                );
            }
        }
    }

    /// Out of time, every state counts as down: bounds [0, 1], still true.
    #[test]
    fn past_the_deadline_the_bounds_are_trivial_but_true() {
        let mut rng = Rng(7);
        let (graph, roots) = random_graph(&mut rng, 6);
        let q: Vec<f64> = (0..6).map(|_| rng.prob()).collect();
        let bounds = frontier_bounds(&graph, &q, &[0, 1], &roots, Instant::now());
        for (lo, hi) in bounds {
            assert_eq!(lo, 0.0);
            assert!(hi >= 1.0 - 1e-12, "{hi}");
        }
    }

    /// Two services on replica sets over three zones of one region, one
    /// requiring the other: conditioning on the region and the zones makes
    /// each replica set exact, and the bounds are the hand-computed ones.
    #[test]
    fn replica_sets_over_zones_by_hand() {
        let mut g = FaultGraph::new();
        // Events: 0 region, 1-3 zones, 4-6 replicas of a, 7-9 replicas of b.
        let ev: Vec<NodeRef> = (0..10).map(|e| g.add(Gate::Event(e))).collect();
        let zone: Vec<NodeRef> = (1..4)
            .map(|z| g.add(Gate::And(vec![ev[z], ev[0]])))
            .collect();
        let replicas = |g: &mut FaultGraph, first: usize| -> Vec<NodeRef> {
            (0..3)
                .map(|i| g.add(Gate::And(vec![ev[first + i], zone[i]])))
                .collect()
        };
        let ra = replicas(&mut g, 4);
        let a = g.add(Gate::AtLeast { k: 2, of: ra });
        let rb = replicas(&mut g, 7);
        let qb = g.add(Gate::AtLeast { k: 2, of: rb });
        let b = g.add(Gate::And(vec![qb, a]));
        let (qr, qz, qi) = (1e-5, 1e-4, 1e-3);
        let mut q = vec![qr, qz, qz, qz];
        q.extend([qi; 6]);
        let far = Instant::now() + Duration::from_secs(60);
        let got = frontier_bounds(&g, &q, &[0, 1, 2, 3], &[a, b], far);
        // a: with every zone up, down when 2 of 3 replicas are: 3 qi^2 (1 -
        // qi) + qi^3; with one zone down, when either other replica is:
        // 1 - (1 - qi)^2; with two zones or the region down, surely.
        // (Written without cancellations: 1 - (1 - x)^2 = x (2 - x).)
        let two_of_three = 3.0 * qi * qi * (1.0 - qi) + qi * qi * qi;
        let one_of_two = qi * (2.0 - qi);
        let up = (1.0 - qz).powi(3);
        let one_down = 3.0 * qz * (1.0 - qz).powi(2);
        let two_down = 3.0 * qz * qz * (1.0 - qz) + qz * qz * qz;
        let a_exact = qr + (1.0 - qr) * (up * two_of_three + one_down * one_of_two + two_down);
        let (lo, hi) = got[0];
        // a's frontier is one quorum, computed exactly in every state but
        // those below the negligible level (the region down with a zone or
        // more: under 4e-9 in all), which count as down in the upper bound
        // and up in the lower one.
        // (The hand formula has its own rounding: 1e-12 of slack.)
        let skipped = 4e-9;
        let (below, above) = (a_exact * (1.0 + 1e-12), a_exact * (1.0 - 1e-12));
        assert!(lo <= below && a_exact - lo <= skipped, "{lo} vs {a_exact}");
        assert!(hi >= above && hi - a_exact <= skipped, "{hi} vs {a_exact}");
        // b: the frontier {quorum of b, quorum of a}, independent once the
        // zones are fixed (their supports are disjoint), so both bounds are
        // exact but for the negligible states.
        let both = |x: f64| x * (2.0 - x);
        let b_exact =
            qr + (1.0 - qr) * (up * both(two_of_three) + one_down * both(one_of_two) + two_down);
        let (lo, hi) = got[1];
        assert!(
            hi >= b_exact * (1.0 - 1e-12) && hi - b_exact <= skipped,
            "{hi} vs {b_exact}"
        );
        assert!(
            lo <= b_exact * (1.0 + 1e-12) && b_exact - lo <= skipped,
            "{lo} vs {b_exact}"
        );
        let truth = brute(&g, b, &q);
        assert!(lo <= truth && truth <= hi, "{truth} outside [{lo}, {hi}]");
    }
}

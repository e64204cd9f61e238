//! Conditioning against a brute-force enumeration of every state, on random
//! small DAGs with a random set of shared events.

use std::time::Duration;

use super::*;
use crate::analysis::testing::{brute, Rng};

/// A random monotone DAG over `n` events, shaped like a platform: events
/// below `shared` are domains, combined into domain nodes; the others are
/// instances, each ANDed with a domain node or not; then random gates.
fn random_platform(rng: &mut Rng, n: usize, shared: usize) -> (FaultGraph, NodeRef) {
    let mut g = FaultGraph::new();
    let mut domains: Vec<NodeRef> = (0..shared as u32).map(|e| g.add(Gate::Event(e))).collect();
    for _ in 0..rng.below(3) {
        if domains.len() >= 2 {
            let a = domains[rng.below(domains.len())];
            let b = domains[rng.below(domains.len())];
            let gate = if rng.below(2) == 0 {
                Gate::And(vec![a, b])
            } else {
                Gate::Or(vec![a, b])
            };
            domains.push(g.add(gate));
        }
    }
    let mut nodes = Vec::new();
    for e in shared as u32..n as u32 {
        let inst = g.add(Gate::Event(e));
        nodes.push(if !domains.is_empty() && rng.below(3) > 0 {
            let d = domains[rng.below(domains.len())];
            g.add(Gate::And(vec![inst, d]))
        } else {
            inst
        });
    }
    // Perfect instances placed in a domain: the domain node itself.
    for _ in 0..rng.below(2) {
        if !domains.is_empty() {
            nodes.push(domains[rng.below(domains.len())]);
        }
    }
    if nodes.is_empty() {
        nodes.push(g.add(Gate::Const(true)));
    }
    for _ in 0..1 + rng.below(8) {
        let len = nodes.len();
        let arity = 1 + rng.below(4);
        let of: Vec<NodeRef> = (0..arity)
            .map(|_| nodes[len - 1 - rng.below(len).min(rng.below(len))])
            .collect();
        let gate = match rng.below(3) {
            0 => Gate::And(of),
            1 => Gate::Or(of),
            _ => Gate::AtLeast {
                k: 1 + rng.below(arity) as u32,
                of,
            },
        };
        nodes.push(g.add(gate));
    }
    let root = *nodes.last().expect("at least one node");
    (g, root)
}

fn far_stop() -> Stop {
    Stop {
        deadline: Instant::now() + Duration::from_secs(600),
        relative_width: 0.0,
        max_states: usize::MAX,
        give_up_when_hopeless: false,
    }
}

#[test]
fn every_state_enumerated_is_exact() {
    let mut rng = Rng(0xc0d1);
    let mut checked = 0;
    for case in 0..2000 {
        let n = 2 + rng.below(10);
        let shared = 1 + rng.below(n.min(6));
        let (g, root) = random_platform(&mut rng, n, shared);
        let q: Vec<f64> = (0..n).map(|_| rng.prob()).collect();
        let is_shared: Vec<bool> = (0..n).map(|e| e < shared).collect();
        let only = shared_only(&g, &is_shared);
        let Some(c) = bounds(&g, &q, &only, root, &Limits::none(), &far_stop()) else {
            assert!(
                only[root as usize],
                "case {case}: refused a root that is not shared-only"
            );
            continue;
        };
        let want = brute(&g, root, &q);
        match c.outcome {
            Outcome::Exact(got) => assert!(
                (got - want).abs() <= 1e-12 * want + 1e-300,
                "case {case}: {got} vs {want}\n{g:?}\n{q:?}"
            ),
            other => panic!("case {case}: every state enumerated, yet {other:?}"),
        }
        checked += 1;
    }
    assert!(checked > 1500, "only {checked} cases were conditioned");
}

#[test]
fn truncated_enumeration_bounds_the_exact_value() {
    let mut rng = Rng(0xb0b0);
    let mut strict = 0;
    for case in 0..2000 {
        let n = 3 + rng.below(9);
        let shared = 2 + rng.below(n.min(8) - 1);
        let (g, root) = random_platform(&mut rng, n, shared);
        let q: Vec<f64> = (0..n).map(|_| rng.prob()).collect();
        let is_shared: Vec<bool> = (0..n).map(|e| e < shared).collect();
        let only = shared_only(&g, &is_shared);
        let stop = Stop {
            max_states: 1 + rng.below(3),
            give_up_when_hopeless: rng.below(2) == 0,
            ..far_stop()
        };
        let Some(c) = bounds(&g, &q, &only, root, &Limits::none(), &stop) else {
            continue;
        };
        let want = brute(&g, root, &q);
        let (lo, hi) = (c.outcome.lower(), c.outcome.upper());
        assert!(
            lo <= want * (1.0 + 1e-12) + 1e-300 && want <= hi * (1.0 + 1e-12) + 1e-300,
            "case {case}: {want} outside [{lo}, {hi}]\n{g:?}\n{q:?}"
        );
        assert!(c.states <= stop.max_states);
        if !c.outcome.is_exact() {
            strict += 1;
        }
    }
    assert!(strict > 500, "only {strict} cases were truncated");
}

#[test]
fn states_come_in_non_increasing_probability_each_once() {
    let q = [0.3, 0.9, 1e-3, 0.5, 0.2];
    let mut states = States::new(&q);
    let mut down = [false; 5];
    let mut seen = std::collections::HashSet::new();
    let mut last = f64::INFINITY;
    let mut total = 0.0;
    while let Some(p) = states.next(&mut down) {
        let want: f64 = (0..5)
            .map(|e| if down[e] { q[e] } else { 1.0 - q[e] })
            .product();
        assert!((p - want).abs() <= 1e-15, "{p} vs {want} for {down:?}");
        assert!(p <= last * (1.0 + 1e-12), "{p} after {last}");
        assert!(seen.insert(down), "{down:?} twice");
        last = p;
        total += p;
    }
    assert_eq!(seen.len(), 32);
    assert!((total - 1.0).abs() < 1e-12);
}

/// A hand-derived case: two services on two racks, each rack down with
/// probability r, instances down with probability p. Service a: 2 of 3
/// instances, two on rack 1, one on rack 2; the root needs a.
#[test]
fn two_of_three_over_two_racks() {
    let (r1, r2, p) = (0.01, 0.02, 0.1);
    let mut g = FaultGraph::new();
    let rack1 = g.add(Gate::Event(0));
    let rack2 = g.add(Gate::Event(1));
    let mut inst = Vec::new();
    for (e, rack) in [(2, rack1), (3, rack1), (4, rack2)] {
        let i = g.add(Gate::Event(e));
        inst.push(g.add(Gate::And(vec![i, rack])));
    }
    let root = g.add(Gate::AtLeast { k: 2, of: inst });
    let q = [r1, r2, p, p, p];
    let only = shared_only(&g, &[true, true, false, false, false]);
    let c = bounds(&g, &q, &only, root, &Limits::none(), &far_stop()).expect("conditioned");
    // Both racks up: down when 2 or 3 of 3 instances are: 3p^2(1-p) + p^3.
    let both = 3.0 * p * p * (1.0 - p) + p * p * p;
    // Rack 1 down: only one instance can be up, fewer than 2: down.
    // Rack 2 down (rack 1 up): down unless both rack-1 instances are up.
    let only2 = 1.0 - (1.0 - p) * (1.0 - p);
    let want = (1.0 - r1) * (1.0 - r2) * both + r1 + (1.0 - r1) * r2 * only2;
    assert_eq!(c.domain_events, 2);
    assert_eq!(c.states, 4);
    let got = c.outcome.upper();
    assert!(c.outcome.is_exact(), "{:?}", c.outcome);
    assert!((got - want).abs() < 1e-15, "{got} vs {want}");
}

/// Eight racks each down 30% of the time: the states beyond the pairs weigh
/// far more than the value, so the enumeration gives up after the singles,
/// and what it returns still contains the exact value.
#[test]
fn hopeless_spread_stops_after_the_singles_with_valid_bounds() {
    let mut g = FaultGraph::new();
    let mut instances = Vec::new();
    for r in 0..8u32 {
        let rack = g.add(Gate::Event(r));
        let inst = g.add(Gate::Event(8 + r));
        instances.push(g.add(Gate::And(vec![inst, rack])));
    }
    let root = g.add(Gate::AtLeast {
        k: 6,
        of: instances,
    });
    let q: Vec<f64> = (0..16).map(|e| if e < 8 { 0.3 } else { 0.01 }).collect();
    let is_shared: Vec<bool> = (0..16).map(|e| e < 8).collect();
    let only = shared_only(&g, &is_shared);
    let stop = Stop {
        give_up_when_hopeless: true,
        ..far_stop()
    };
    let c = bounds(&g, &q, &only, root, &Limits::none(), &stop).expect("conditioned");
    assert_eq!(c.states, 9);
    let want = brute(&g, root, &q);
    assert!(
        c.outcome.lower() <= want && want <= c.outcome.upper(),
        "{want} vs {c:?}"
    );
    let all = bounds(&g, &q, &only, root, &Limits::none(), &far_stop()).expect("conditioned");
    assert_eq!(all.states, 256);
    assert!((all.outcome.upper() - want).abs() <= 1e-12 * want);
}

use std::time::{Duration, Instant};

use super::*;
use crate::analysis::testing::{brute, random_graph, Rng};

fn far() -> Limits {
    Limits::until(Instant::now() + Duration::from_secs(600))
}

fn at<'a>(graph: &'a FaultGraph, q: &'a [f64], node: NodeRef, limits: &'a Limits) -> Root<'a> {
    Root {
        graph,
        q,
        node,
        limits,
    }
}

/// Relative closeness for probabilities that may be tiny.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()) + 1e-300
}

/// Asserts that a factored root's unavailability is `want` (see [`close`]).
fn assert_unavailability(f: &Factored, want: f64) {
    let got = f.unavailability();
    assert!(close(got, want), "{got} vs {want}");
}

/// On random DAGs (shared events, duplicates, constants, degenerate
/// gates), every root factored is exactly the brute-force enumeration,
/// and so is every re-evaluation with events replaced.
#[test]
fn factored_roots_match_brute_force() {
    let mut rng = Rng(7);
    let mut factored = 0;
    let mut expanded = 0;
    let mut sloped = 0;
    for case in 0..3000 {
        let n = 1 + rng.below(9);
        let (g, roots) = random_graph(&mut rng, n);
        let q: Vec<f64> = (0..n).map(|_| rng.prob()).collect();
        let mut cache = Cache::new(&g);
        // Every unit of more than two nodes factored in turn, or none;
        // groups expanded by inclusion and exclusion, or not.
        cache.nest_above = if case % 2 == 0 { 2 } else { usize::MAX };
        cache.expand_first = case % 3 == 0;
        // The derivatives taken with each root's table, or afterwards by
        // running its elimination again: the checks below hold for both.
        cache.with_derivatives = case % 4 < 2;
        for &root in &roots {
            // Units of three variables at most, gates split past them.
            let f = if case % 5 == 1 {
                Factored::within_splitting(at(&g, &q, root, &far()), 3, true, &mut cache)
            } else {
                Factored::new(at(&g, &q, root, &far()), &mut cache)
            };
            let Some(mut f) = f else {
                continue;
            };
            factored += 1;
            expanded += usize::from(f.terms.len() > 1);
            let want = brute(&g, root, &q);
            let got = f.unavailability();
            assert!(
                close(got, want),
                "case {case} root {root}: {got:e} vs {want:e}"
            );
            // Replace one or two events' probabilities.
            let e = rng.below(n) as EventId;
            let mut overrides = vec![(e, rng.prob())];
            if rng.below(2) == 0 {
                overrides.push((rng.below(n) as EventId, rng.prob()));
                overrides.dedup_by_key(|o| o.0);
            }
            let mut q2 = q.clone();
            for &(e, p) in &overrides {
                q2[e as usize] = p;
            }
            let want = brute(&g, root, &q2);
            let got = f
                .unavailability_with(&overrides)
                .expect("the same tables eliminate again");
            // An expanded root's signed sum may cancel with other
            // probabilities (its base value is checked for that): allow
            // rounding relative to the terms' magnitude.
            let magnitude: f64 = f
                .terms
                .iter()
                .map(|(c, p)| (c * p.table_with(&overrides).expect("evaluates")[0]).abs())
                .sum();
            let rounding = 1e-13 * magnitude;
            assert!(
                (got - want).abs() <= rounding + 1e-12 * want.abs() + 1e-300,
                "case {case} root {root} with {overrides:?}: {got:e} vs {want:e}"
            );
            // The change from the derivatives: linear in one unit's table.
            assert!(
                f.terms
                    .iter()
                    .all(|(_, p)| p.derivatives.is_some() == cache.with_derivatives),
                "case {case}: derivatives taken with the tables exactly when asked"
            );
            let sensitivity = f.sensitivity().expect("the base eliminates again");
            let change = f.change(&sensitivity, &overrides).expect("evaluates");
            let base = brute(&g, root, &q);
            let scale = want.abs().max(base.abs());
            assert!(
                (change - (want - base)).abs() <= 1e-11 * scale + 10.0 * rounding + 1e-300,
                "case {case} root {root} change with {overrides:?}: {change:e} vs {:e}",
                want - base
            );
            // The slopes from the units' weighted gradients: U is linear
            // in each q_e, so dU/dq_e is U(q_e = 1) - U(q_e = 0), and the
            // change were e perfect is -q_e times it. A slope is a sum of
            // derivatives of probabilities (each at most one) that may
            // cancel: it is held to its own magnitude and an absolute
            // rounding of 1e-14; the change to the test above's bound.
            let events: Vec<EventId> = (0..n as EventId).collect();
            let slopes = f.slopes(&sensitivity, &events, 1);
            for (&e, &slope) in &slopes {
                let mut q1 = q.clone();
                q1[e as usize] = 1.0;
                let mut q0 = q.clone();
                q0[e as usize] = 0.0;
                let at_zero = brute(&g, root, &q0);
                let want = brute(&g, root, &q1) - at_zero;
                assert!(
                    (slope - want).abs() <= 1e-11 * want.abs() + 1e-14,
                    "case {case} root {root} slope of {e}: {slope:e} vs {want:e}"
                );
                let perfect = -q[e as usize] * slope;
                let scale = at_zero.max(base);
                assert!(
                    (perfect - (at_zero - base)).abs() <= 1e-11 * scale + 1e-300,
                    "case {case} root {root} {e} perfect: {perfect:e} vs {:e}",
                    at_zero - base
                );
            }
            sloped += slopes.len();
        }
    }
    assert!(sloped > 10_000, "only {sloped} slopes checked");
    assert!(factored > 8000, "only {factored} roots factored");
    assert!(expanded > 200, "only {expanded} roots expanded");
}

/// Two services in one datacenter, a failover over them, in series with
/// the datacenter itself (the example of the language's documentation):
/// 0.9999 * (1 - 0.001^2) up, and the datacenter is the one shared event.
#[test]
fn failover_over_a_shared_datacenter_by_hand() {
    let mut g = FaultGraph::new();
    let dc = g.add(Gate::Event(0));
    let x = g.add(Gate::Event(1));
    let y = g.add(Gate::Event(2));
    let xs = g.add(Gate::And(vec![x, dc]));
    let ys = g.add(Gate::And(vec![y, dc]));
    let any = g.add(Gate::Or(vec![xs, ys]));
    let root = g.add(Gate::And(vec![any, dc]));
    let q = [1e-4, 1e-3, 1e-3];
    let mut cache = Cache::new(&g);
    let f = Factored::new(at(&g, &q, root, &far()), &mut cache).expect("factors");
    let up: f64 = 0.9999 * (1.0 - 1e-6);
    let down = 1e-4 + 0.9999 * 1e-6;
    assert_unavailability(&f, down);
    assert!(close(1.0 - f.unavailability(), up));
    // The datacenter perfect: only the failover is left.
    let perfect = f.unavailability_with(&[(0, 0.0)]).expect("evaluates");
    assert!(close(perfect, 1e-6), "{perfect}");
}

/// Three 2-of-3 replica sets over the racks of three zones, each pair of
/// sets sharing racks (a cycle of racks): the elimination sums the racks
/// out and matches the enumeration of all 2^18 states and the BDD.
#[test]
fn replica_sets_over_shared_racks() {
    let mut g = FaultGraph::new();
    // Events 0..3 zones, 3..9 racks (two per zone), 9.. instances.
    let zones: Vec<NodeRef> = (0..3).map(|z| g.add(Gate::Event(z))).collect();
    let racks: Vec<NodeRef> = (0..6)
        .map(|r| {
            let e = g.add(Gate::Event(3 + r));
            g.add(Gate::And(vec![e, zones[r as usize / 2]]))
        })
        .collect();
    let mut next = 9;
    let mut sets = Vec::new();
    for placement in [[0, 2, 4], [1, 2, 5], [0, 3, 5]] {
        let instances: Vec<NodeRef> = placement
            .iter()
            .map(|&r| {
                let e = g.add(Gate::Event(next));
                next += 1;
                g.add(Gate::And(vec![e, racks[r]]))
            })
            .collect();
        sets.push(g.add(Gate::AtLeast {
            k: 2,
            of: instances,
        }));
    }
    let root = g.add(Gate::And(sets.clone()));
    let q: Vec<f64> = (0..next).map(|e| 1e-3 * (1.0 + e as f64)).collect();
    let mut cache = Cache::new(&g);
    let f = Factored::new(at(&g, &q, root, &far()), &mut cache).expect("factors");
    let want = brute(&g, root, &q);
    assert_unavailability(&f, want);
    let bdd = engine::Analysis::new(&g, root, &q, &far())
        .outcome()
        .upper();
    assert!(close(f.unavailability(), bdd));
}

/// A step wider than the limit gives up instead of building a huge table.
#[test]
fn too_wide_gives_up() {
    // 2-of-2 over a chain of shared events: each AND of (e_i, e_{i+1}) in
    // an OR with a private event, every e shared: the tables form a
    // cycle; with all events in one factor's scope the factor is too wide.
    let mut g = FaultGraph::new();
    let shared: Vec<NodeRef> = (0..(MAX_UNIT_INPUTS as u32 + 1))
        .map(|e| g.add(Gate::Event(e)))
        .collect();
    let private = g.add(Gate::Event(100));
    let mut big = shared.clone();
    big.push(private);
    let wide = g.add(Gate::AtLeast { k: 2, of: big });
    let mut parts = vec![wide];
    for (i, &s) in shared.iter().enumerate() {
        let p = g.add(Gate::Event(200 + i as u32));
        parts.push(g.add(Gate::Or(vec![s, p])));
    }
    let root = g.add(Gate::And(parts));
    let q = vec![1e-3; 300];
    let mut cache = Cache::new(&g);
    assert!(Factored::new(at(&g, &q, root, &far()), &mut cache).is_none());
}

/// A 2-of-3 group whose members share events with the rest of the root
/// spans six variables: with units of three at most it factors whole only
/// when gates other than frontier groups are split too (a gate over its
/// three members, each a unit over its two shared events), to the
/// brute-force value.
#[test]
fn a_group_over_too_many_variables_is_split() {
    let mut g = FaultGraph::new();
    let shared: Vec<NodeRef> = (0..6).map(|e| g.add(Gate::Event(e))).collect();
    let members: Vec<NodeRef> = (0..3)
        .map(|i| {
            let a = g.add(Gate::Event(6 + 2 * i));
            let b = g.add(Gate::Event(7 + 2 * i));
            let left = g.add(Gate::Or(vec![shared[2 * i as usize], a]));
            let right = g.add(Gate::Or(vec![shared[2 * i as usize + 1], b]));
            g.add(Gate::And(vec![left, right]))
        })
        .collect();
    let group = g.add(Gate::AtLeast { k: 2, of: members });
    // Under a failover with an event: the frontier node is that failover
    // (split as a frontier group), the group a cut node within it.
    let z = g.add(Gate::Event(18));
    let failover = g.add(Gate::Or(vec![group, z]));
    let mut parts = vec![failover];
    for (j, &e) in shared.iter().enumerate() {
        let own = g.add(Gate::Event(12 + j as u32));
        parts.push(g.add(Gate::Or(vec![e, own])));
    }
    let root = g.add(Gate::And(parts));
    let q: Vec<f64> = (0..19).map(|e| 1e-3 * (1.0 + e as f64 / 7.0)).collect();
    let want = brute(&g, root, &q);
    let mut cache = Cache::new(&g);
    let unsplit = Factored::within_splitting(at(&g, &q, root, &far()), 3, false, &mut cache);
    assert!(
        unsplit.is_none_or(|f| f.terms.len() > 1),
        "factors whole unsplit"
    );
    let mut cache = Cache::new(&g);
    let f = Factored::within_splitting(at(&g, &q, root, &far()), 3, true, &mut cache)
        .expect("factors split");
    assert_eq!(f.terms.len(), 1, "factored whole");
    assert_unavailability(&f, want);
}

/// A failover over two of `racks` rack events for every pair of racks
/// (each side with an event of its own, down with probability `side`),
/// all required: every rack shares a unit with every other, so the
/// elimination spans all the racks at once.
fn failover_over_every_pair_of_racks(
    racks: u32,
    rack: f64,
    side: f64,
) -> (FaultGraph, NodeRef, Vec<f64>) {
    let mut g = FaultGraph::new();
    let rack_nodes: Vec<NodeRef> = (0..racks).map(|r| g.add(Gate::Event(r))).collect();
    let mut q = vec![rack; racks as usize];
    let mut pairs = Vec::new();
    for i in 0..racks as usize {
        for j in i + 1..racks as usize {
            let mut side_on = |r: NodeRef| {
                let own = g.add(Gate::Event(q.len() as EventId));
                q.push(side);
                g.add(Gate::And(vec![own, r]))
            };
            let (a, b) = (side_on(rack_nodes[i]), side_on(rack_nodes[j]));
            pairs.push(g.add(Gate::Or(vec![a, b])));
        }
    }
    let root = g.add(Gate::And(pairs));
    (g, root, q)
}

/// The unavailability of [`failover_over_every_pair_of_racks`], derived by
/// hand: with two racks down, the root is down (the pair of them has no
/// side left); with one down, each of the `k - 1` pairs holding it needs
/// its other side up; with none, each pair needs one of its two sides. So
/// `P(up) = p^k (1 - s^2)^C(k,2) + k r p^(k-1) (1 - s)^(k-1) (1 - s^2)^(C(k,2) - (k-1))`
/// (`r` a rack down, `p = 1 - r`, `s` a side down).
fn every_pair_of_racks_by_hand(racks: u32, r: f64, s: f64) -> f64 {
    let p = 1.0 - r;
    let pairs = f64::from(racks * (racks - 1) / 2);
    let others = f64::from(racks - 1);
    let up = p.powi(racks as i32) * (1.0 - s * s).powf(pairs)
        + f64::from(racks)
            * r
            * p.powi(racks as i32 - 1)
            * (1.0 - s).powf(others)
            * (1.0 - s * s).powf(pairs - others);
    1.0 - up
}

/// A platform whose elimination is too wide (22 racks all tied together)
/// gets certified bounds by enumeration, as close as asked, around the
/// value derived by hand; with few racks it factors whole, exactly.
#[test]
fn too_wide_to_eliminate_is_bounded_by_enumeration_around_the_hand_derivation() {
    let (r, s) = (1e-3, 1e-2);
    // (what `whole_or_bounds` gives within `width`, the value by hand).
    let solve = |racks: u32, width: f64| {
        let (g, root, q) = failover_over_every_pair_of_racks(racks, r, s);
        let mut cache = Cache::new(&g);
        let stop = enumerate::Stop {
            deadline: Instant::now() + Duration::from_secs(600),
            relative_width: width,
            max_visits: u64::MAX,
        };
        let limits = far();
        let whole = Factored::whole_or_bounds(
            at(&g, &q, root, &limits),
            MAX_UNIT_INPUTS,
            &mut cache,
            &stop,
        );
        (whole, every_pair_of_racks_by_hand(racks, r, s))
    };
    for width in [1e-3, 1e-9] {
        let (whole, want) = solve(22, width);
        let Some(Whole::Bounds { lower, upper }) = whole else {
            panic!("expected bounds at width {width}");
        };
        assert!(
            lower <= want * (1.0 + 1e-12) && want <= upper * (1.0 + 1e-12),
            "[{lower:e}, {upper:e}] misses {want:e}"
        );
        assert!(
            upper - lower <= width * upper,
            "[{lower:e}, {upper:e}] wider than {width}"
        );
    }
    match solve(5, 1e-3) {
        (Some(Whole::Exact(f)), want) => assert_unavailability(&f, want),
        _ => panic!("expected an exact value"),
    }
}

/// Two 1-of-3 groups with large cones that factor and a 1-of-2 group
/// over too many shared variables to factor whole, even split: expanding
/// the two largest groups and then the third needs 7 x 7 x 3 terms (over
/// [`MAX_TERMS`]); expanding next the group whose unit stopped the first
/// attempt needs 7 x 3, and gives the brute-force value.
#[test]
fn an_expansion_takes_the_group_that_stopped_a_term_next() {
    let mut g = FaultGraph::new();
    // Each member of the large groups: one private event under a chain
    // of one-child gates (a large cone over one event).
    let large = |g: &mut FaultGraph, first_event: u32| {
        let members: Vec<NodeRef> = (0..3)
            .map(|m| {
                let mut node = g.add(Gate::Event(first_event + m));
                for _ in 0..7 {
                    node = g.add(Gate::Or(vec![node]));
                }
                node
            })
            .collect();
        g.add(Gate::Or(members))
    };
    let first = large(&mut g, 0);
    let second = large(&mut g, 3);
    // Two members, each an AND of four ORs of a shared event and a
    // private one: four variables per member.
    let shared: Vec<NodeRef> = (6..10).map(|e| g.add(Gate::Event(e))).collect();
    let private: Vec<NodeRef> = (10..14).map(|e| g.add(Gate::Event(e))).collect();
    let members: Vec<NodeRef> = (0..2)
        .map(|m| {
            let parts = (0..4)
                .map(|j| g.add(Gate::Or(vec![shared[j], private[(j + m) % 4]])))
                .collect();
            g.add(Gate::And(parts))
        })
        .collect();
    let small = g.add(Gate::Or(members));
    // The shared events in the root's other parts too, each in a failover
    // with an event of its own.
    let mut parts = vec![first, second, small];
    for (j, &s) in shared.iter().enumerate() {
        let own = g.add(Gate::Event(14 + j as u32));
        parts.push(g.add(Gate::Or(vec![s, own])));
    }
    let root = g.add(Gate::And(parts));
    let q: Vec<f64> = (0..18).map(|e| 1e-1 * (1.0 + f64::from(e) / 9.0)).collect();
    let mut cache = Cache::new(&g);
    assert!(
        Factored::whole(at(&g, &q, root, &far()), 3, &mut cache).is_none(),
        "factors whole"
    );
    let f = Factored::within_splitting(at(&g, &q, root, &far()), 3, false, &mut cache)
        .expect("factors expanded");
    assert_eq!(
        f.terms.len(),
        7 * 3,
        "the first and the small group expanded"
    );
    let want = brute(&g, root, &q);
    assert_unavailability(&f, want);
}

/// A failover pair whose members each factor with the rest of the root
/// but not together (their ORs share three events, over the limit of
/// two variables per unit): the round stops at its first term, the one
/// with both members, without factoring the two others for nothing.
#[test]
fn an_expansion_tries_its_largest_term_first() {
    let mut g = FaultGraph::new();
    let shared: Vec<NodeRef> = (0..3).map(|e| g.add(Gate::Event(e))).collect();
    let members: Vec<NodeRef> = (0..2)
        .map(|m| {
            let or = g.add(Gate::Or(shared.clone()));
            let own = g.add(Gate::Event(3 + m));
            g.add(Gate::And(vec![or, own]))
        })
        .collect();
    let pair = g.add(Gate::Or(members));
    let other = g.add(Gate::Event(5));
    let root = g.add(Gate::And(vec![pair, other]));
    let q: Vec<f64> = (0..6).map(|e| 1e-2 * f64::from(e + 1)).collect();
    let mut cache = Cache::new(&g);
    cache.expand_first = true;
    let f = Factored::within_splitting(at(&g, &q, root, &far()), 2, false, &mut cache)
        .expect("factors whole after the expansion fails");
    assert_eq!(cache.term_attempts, 1, "terms factored before the failure");
    assert_eq!(f.terms.len(), 1, "factored whole");
    let want = brute(&g, root, &q);
    assert_unavailability(&f, want);
}

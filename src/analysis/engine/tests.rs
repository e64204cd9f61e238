//! Tests of the engine: hand-computed cases, and a brute-force enumerator held against the
//! engine on thousands of random small DAGs.

use super::*;

use crate::analysis::testing::{brute, random_graph, state_prob, Rng};

/// dU/dq_e by enumeration: probability of the other events' states where e is critical.
fn brute_derivative(g: &FaultGraph, root: NodeRef, q: &[f64], e: usize) -> f64 {
    let n = q.len();
    let mut qq = q.to_vec();
    qq[e] = 1.0; // Marginalise e away: only the others' probabilities count.
    (0..1u32 << n)
        .filter(|&m| m >> e & 1 == 1)
        .filter(|&m| {
            !is_up(g, root, &|x| m >> x & 1 == 1)
                && is_up(g, root, &|x| (m & !(1 << e)) >> x & 1 == 1)
        })
        .map(|m| state_prob(&qq, n, m))
        .sum()
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs() + 1e-300
}

fn exact(o: Outcome) -> f64 {
    match o {
        Outcome::Exact(u) => u,
        other => panic!("expected an exact outcome, got {other:?}"),
    }
}

fn single(g: &FaultGraph, root: NodeRef, q: &[f64]) -> f64 {
    exact(unavailability(g, &[root], q, &Limits::none())[0])
}

#[test]
fn series_parallel_two_of_three() {
    let mut g = FaultGraph::new();
    let a = g.add(Gate::Event(0));
    let b = g.add(Gate::Event(1));
    let c = g.add(Gate::Event(2));
    let series = g.add(Gate::And(vec![a, b]));
    let parallel = g.add(Gate::Or(vec![a, b]));
    let two = g.add(Gate::AtLeast {
        k: 2,
        of: vec![a, b, c],
    });
    let q = [0.1, 0.2, 0.3];
    assert!(close(single(&g, series, &q), 0.1 + 0.2 - 0.02, 1e-15));
    assert!(close(single(&g, parallel, &q), 0.02, 1e-15));
    // Down when at least two are down.
    let want = 0.1 * 0.2 * 0.7 + 0.1 * 0.8 * 0.3 + 0.9 * 0.2 * 0.3 + 0.1 * 0.2 * 0.3;
    assert!(close(single(&g, two, &q), want, 1e-15));
}

#[test]
fn diamond() {
    // top = And(Or(a, s), Or(b, s)): down iff s down and (a or b down).
    let mut g = FaultGraph::new();
    let a = g.add(Gate::Event(0));
    let b = g.add(Gate::Event(1));
    let s = g.add(Gate::Event(2));
    let l = g.add(Gate::Or(vec![a, s]));
    let r = g.add(Gate::Or(vec![b, s]));
    let top = g.add(Gate::And(vec![l, r]));
    let q = [0.1, 0.2, 0.05];
    assert!(close(single(&g, top, &q), 0.05 * (0.1 + 0.2 - 0.02), 1e-15));
}

#[test]
fn shared_domain() {
    // x, y under a shared domain d: top = Or(And(d, x), And(d, y)).
    let mut g = FaultGraph::new();
    let d = g.add(Gate::Event(0));
    let x = g.add(Gate::Event(1));
    let y = g.add(Gate::Event(2));
    let dx = g.add(Gate::And(vec![d, x]));
    let dy = g.add(Gate::And(vec![d, y]));
    let top = g.add(Gate::Or(vec![dx, dy]));
    let q = [0.0001, 0.001, 0.001];
    let want = 0.0001 + 0.9999 * (0.001 * 0.001);
    let got = single(&g, top, &q);
    assert!(close(got, want, 1e-15), "{got} vs {want}");
    // A product of parts (as if the branches were independent) is wrong here.
    let naive = (1.0 - 0.9999 * 0.999f64).powi(2);
    assert!(!close(got, naive, 1e-3));
    let a = Analysis::new(&g, top, &q, &Limits::none());
    let imp = a.importance().unwrap();
    // dU/dq_d = 1 - qx qy; dU/dq_x = (1 - qd) qy.
    assert!(close(imp[0], 1.0 - 1e-6, 1e-15));
    assert!(close(imp[1], 0.9999 * 0.001, 1e-15));
    assert!(close(
        exact(a.unavailability_with(&[(0, 0.0)])),
        1e-6,
        1e-15
    ));
}

#[test]
fn three_of_five_keeps_relative_precision() {
    // Down when at least 3 of 5 are down: up when at least 3 are up.
    let mut g = FaultGraph::new();
    let ev: Vec<NodeRef> = (0..5).map(|e| g.add(Gate::Event(e))).collect();
    let top = g.add(Gate::AtLeast {
        k: 3,
        of: ev.clone(),
    });
    let q = 1e-4;
    let p = 1.0 - q;
    let want = 10.0 * q * q * q * p * p + 5.0 * q * q * q * q * p + q * q * q * q * q;
    let got = single(&g, top, &[q; 5]);
    assert!(close(got, want, 1e-14), "{got} vs {want}");
    assert!(close(got, 10.0 * q * q * q, 1e-3));
    // The same through a BDD: share the events with a second gate.
    let pair = g.add(Gate::And(vec![ev[0], ev[1]]));
    let top2 = g.add(Gate::Or(vec![top, pair]));
    // Down iff pair down and top down: pair down = e0 or e1 down.
    let b = brute(&g, top2, &[q; 5]);
    let got2 = single(&g, top2, &[q; 5]);
    assert!(close(got2, b, 1e-12), "{got2} vs {b}");
}

#[test]
fn tiny_values_keep_relative_precision() {
    // 1e-13: 1 - P(up) would lose it.
    let mut g = FaultGraph::new();
    let ev: Vec<NodeRef> = (0..4).map(|e| g.add(Gate::Event(e))).collect();
    let a = g.add(Gate::Or(vec![ev[0], ev[1]]));
    let b = g.add(Gate::Or(vec![ev[1], ev[2]]));
    let top = g.add(Gate::And(vec![a, b, ev[3]]));
    let q = [1e-7, 1e-7, 1e-6, 1e-13];
    let got = single(&g, top, &q);
    let want = brute(&g, top, &q);
    assert!(close(got, want, 1e-13), "{got} vs {want}");
    assert!(got > 0.99e-13);
}

#[test]
fn constants_and_degenerate_gates() {
    let mut g = FaultGraph::new();
    let a = g.add(Gate::Event(0));
    let t = g.add(Gate::Const(true));
    let f = g.add(Gate::Const(false));
    let empty_and = g.add(Gate::And(vec![]));
    let empty_or = g.add(Gate::Or(vec![]));
    let k0 = g.add(Gate::AtLeast { k: 0, of: vec![a] });
    let k_big = g.add(Gate::AtLeast {
        k: 3,
        of: vec![a, t],
    });
    let with_t = g.add(Gate::AtLeast {
        k: 2,
        of: vec![a, t, f],
    });
    let q = [0.25];
    let r = unavailability(
        &g,
        &[a, t, f, empty_and, empty_or, k0, k_big, with_t],
        &q,
        &Limits::none(),
    );
    let v: Vec<f64> = r.into_iter().map(exact).collect();
    assert_eq!(v, vec![0.25, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.25]);
    let imp = Analysis::new(&g, with_t, &q, &Limits::none())
        .importance()
        .unwrap();
    assert_eq!(imp, vec![1.0]);
}

#[test]
fn is_up_plain() {
    let mut g = FaultGraph::new();
    let a = g.add(Gate::Event(0));
    let b = g.add(Gate::Event(1));
    let c = g.add(Gate::Event(2));
    let two = g.add(Gate::AtLeast {
        k: 2,
        of: vec![a, b, c],
    });
    let top = g.add(Gate::And(vec![two, a]));
    assert!(is_up(&g, top, &|_| false));
    assert!(!is_up(&g, top, &|e| e == 0));
    assert!(is_up(&g, top, &|e| e == 1));
    assert!(!is_up(&g, top, &|e| e >= 1));
}

/// A random DAG over `n` events; returns the graph and some roots.

#[test]
fn random_dags_against_brute_force() {
    let mut rng = Rng(0x5eed);
    for case in 0..3000 {
        let n = 1 + rng.below(9);
        let (g, roots) = random_graph(&mut rng, n);
        let q: Vec<f64> = (0..n).map(|_| rng.prob()).collect();
        let batch = unavailability(&g, &roots, &q, &Limits::none());
        for (i, &root) in roots.iter().enumerate() {
            let want = brute(&g, root, &q);
            let got = exact(batch[i]);
            assert!(
                close(got, want, 1e-12),
                "case {case} root {root}: {got} vs {want}\n{g:?}\n{q:?}"
            );
            let a = Analysis::new(&g, root, &q, &Limits::none());
            assert!(
                close(exact(a.outcome()), want, 1e-12),
                "case {case}: analysis"
            );
            let imp = a.importance().expect("exact");
            for (e, &d) in imp.iter().enumerate() {
                let w = brute_derivative(&g, root, &q, e);
                assert!(
                    close(d, w, 1e-12),
                    "case {case} root {root} event {e}: dU/dq {d} vs {w}\n{g:?}\n{q:?}"
                );
            }
            // Re-evaluation with overrides.
            let e = rng.below(n) as u32;
            let v = rng.prob();
            let mut q2 = q.clone();
            q2[e as usize] = v;
            let want2 = brute(&g, root, &q2);
            let got2 = exact(a.unavailability_with(&[(e, v)]));
            assert!(
                close(got2, want2, 1e-12),
                "case {case}: with q[{e}]={v}: {got2} vs {want2}"
            );
            // The incremental re-evaluator agrees, and is back to no
            // override after each use.
            let mut re = a.reevaluator();
            let e2 = rng.below(n) as u32;
            let both = [(e, v), (e2, rng.prob())];
            for _ in 0..2 {
                assert_eq!(re.unavailability_with(&both), a.unavailability_with(&both));
                assert_eq!(re.unavailability_with(&[]), a.outcome(), "case {case}");
            }
            // Many sets over the same events: the same bits as one at a time.
            same_as_one_at_a_time(&a, &mut rng, n, case);
            weighted_derivatives_by_enumeration(&g, root, &a, &q, &mut rng, case);
            // Multilinear: U - U|q_e=0 = q_e dU/dq_e.
            let zero = exact(a.unavailability_with(&[(e, 0.0)]));
            let lhs = want - zero;
            let rhs = q[e as usize] * imp[e as usize];
            assert!(
                (lhs - rhs).abs() <= 1e-12 * want + 1e-300,
                "case {case}: {lhs} vs {rhs}"
            );
        }
    }
}

/// [`Analysis::importance_each`] over the states of one or two events set
/// to up or down, with random weights: for every other event, the weighted
/// sum of the brute-force derivatives in each state.
fn weighted_derivatives_by_enumeration(
    g: &FaultGraph,
    root: NodeRef,
    a: &Analysis,
    q: &[f64],
    rng: &mut Rng,
    case: usize,
) {
    let n = q.len();
    let mut events: Vec<EventId> = (0..1 + rng.below(2)).map(|_| rng.below(n) as u32).collect();
    events.sort_unstable();
    events.dedup();
    let states = 1usize << events.len();
    let weights: Vec<f64> = (0..states)
        .map(|k| if k == 1 { 0.0 } else { rng.unit() - 0.5 })
        .collect();
    let set_state = |k: usize| -> Vec<f64> {
        let mut qk = q.to_vec();
        for (j, &e) in events.iter().enumerate() {
            qk[e as usize] = f64::from((k >> j & 1) as u8);
        }
        qk
    };
    let got = a
        .importance_each(&events, &weights, |k, set| {
            for (j, slot) in set.iter_mut().enumerate() {
                *slot = f64::from((k >> j & 1) as u8);
            }
        })
        .expect("exact");
    for e in (0..n).filter(|e| !events.contains(&(*e as u32))) {
        let terms: Vec<f64> = (0..states)
            .map(|k| weights[k] * brute_derivative(g, root, &set_state(k), e))
            .collect();
        let want: f64 = terms.iter().sum();
        let scale: f64 = terms.iter().map(|t| t.abs()).sum();
        assert!(
            (got[e] - want).abs() <= 1e-12 * scale + 1e-300,
            "case {case} root {root} event {e} over {events:?}: {} vs {want}",
            got[e]
        );
    }
}

/// [`Analysis::unavailability_sets`] on random sets of a few random events (an event may
/// repeat) gives, bit for bit, what [`Analysis::unavailability_with`] gives for each set.
fn same_as_one_at_a_time(a: &Analysis, rng: &mut Rng, n: usize, case: usize) {
    let k = 1 + rng.below(3);
    // One event out of range, which both ignore.
    let mut events: Vec<EventId> = (0..k).map(|_| rng.below(n + 1) as u32).collect();
    events.sort_unstable();
    let sets: Vec<Vec<f64>> = (0..4)
        .map(|_| events.iter().map(|_| rng.prob()).collect())
        .collect();
    let many = a.unavailability_sets(&events, &sets);
    for (set, got) in sets.iter().zip(&many) {
        let overrides: Vec<(EventId, f64)> =
            events.iter().copied().zip(set.iter().copied()).collect();
        let want = a.unavailability_with(&overrides);
        assert_eq!(
            format!("{got:?}"),
            format!("{want:?}"),
            "case {case}: {events:?} {set:?}"
        );
    }
}

#[test]
fn random_dags_bounds_contain_exact() {
    let mut rng = Rng(0xb0b);
    let mut bounded = 0;
    for case in 0..3000 {
        let n = 2 + rng.below(9);
        let (g, roots) = random_graph(&mut rng, n);
        let q: Vec<f64> = (0..n).map(|_| rng.prob()).collect();
        let limits = Limits {
            deadline: None,
            max_nodes: Some(2 + rng.below(12)),
            attempt: rng.below(2) == 0,
        };
        let out = unavailability(&g, &roots, &q, &limits);
        for (i, &root) in roots.iter().enumerate() {
            let want = brute(&g, root, &q);
            match out[i] {
                Outcome::Exact(u) => assert!(close(u, want, 1e-12), "case {case}: {u} vs {want}"),
                Outcome::Bounds { lower, upper } => {
                    bounded += 1;
                    assert!(lower <= upper, "case {case}: {lower} > {upper}");
                    assert!(
                        lower <= want * (1.0 + 1e-12) && want * (1.0 - 1e-12) <= upper,
                        "case {case}: {want} not in [{lower}, {upper}]\n{g:?}\n{q:?}"
                    );
                }
            }
            let a = Analysis::new(&g, root, &q, &limits);
            if a.importance().is_some() {
                assert!(a.outcome().is_exact());
            }
            let e = rng.below(n) as u32;
            let v = rng.prob();
            let mut q2 = q.clone();
            q2[e as usize] = v;
            let want2 = brute(&g, root, &q2);
            let o = a.unavailability_with(&[(e, v)]);
            assert!(
                o.lower() <= want2 * (1.0 + 1e-12) && want2 * (1.0 - 1e-12) <= o.upper(),
                "case {case}: {o:?} vs {want2}"
            );
            same_as_one_at_a_time(&a, &mut rng, n, case);
        }
    }
    assert!(bounded > 100, "only {bounded} bounded outcomes");
}

#[test]
fn past_deadline_gives_certified_bounds() {
    let mut rng = Rng(42);
    let mut bounded = 0;
    for _ in 0..500 {
        let n = 4 + rng.below(7);
        let (g, roots) = random_graph(&mut rng, n);
        let q: Vec<f64> = (0..n).map(|_| rng.prob()).collect();
        let out = unavailability(&g, &roots, &q, &Limits::until(Instant::now()));
        for (i, &root) in roots.iter().enumerate() {
            let want = brute(&g, root, &q);
            if let Outcome::Bounds { .. } = out[i] {
                bounded += 1;
            }
            assert!(
                out[i].lower() <= want * (1.0 + 1e-12) && want * (1.0 - 1e-12) <= out[i].upper()
            );
        }
    }
    assert!(bounded > 10);
}

#[test]
fn bounds_are_tight_on_a_wide_shared_model() {
    // Many gates over shared events: the exact method is refused, bounds must still be useful.
    let mut g = FaultGraph::new();
    let ev: Vec<NodeRef> = (0..12).map(|e| g.add(Gate::Event(e))).collect();
    let pairs: Vec<NodeRef> = (0..12)
        .map(|i| g.add(Gate::Or(vec![ev[i], ev[(i + 1) % 12]])))
        .collect();
    let top = g.add(Gate::And(pairs));
    let q = [0.01; 12];
    let want = brute(&g, top, &q);
    let limits = Limits {
        deadline: None,
        max_nodes: Some(3),
        attempt: false,
    };
    match unavailability(&g, &[top], &q, &limits)[0] {
        Outcome::Bounds { lower, upper } => {
            assert!(lower <= want && want <= upper);
            assert!(upper <= 1.0 && lower >= 0.0);
        }
        Outcome::Exact(u) => assert!(close(u, want, 1e-12)),
    }
    assert!(close(single(&g, top, &q), want, 1e-12));
}

#[test]
fn module_of_one_root_is_not_reused_where_it_is_shared() {
    // Node 9 is a module below root 11 but its event 2 also appears elsewhere below root 10.
    let mut g = FaultGraph::new();
    for e in [0, 1, 2, 3, 4, 5, 5, 2] {
        g.add(Gate::Event(e));
    }
    g.add(Gate::Or(vec![1]));
    g.add(Gate::And(vec![6, 7, 5]));
    let r10 = g.add(Gate::And(vec![4, 9, 2, 1]));
    let r11 = g.add(Gate::AtLeast {
        k: 2,
        of: vec![9, 9, 1],
    });
    let q = [0.68, 0.0, 0.001, 0.88, 0.885, 0.9995];
    let out = unavailability(&g, &[r11, r10], &q, &Limits::none());
    assert!(close(exact(out[0]), brute(&g, r11, &q), 1e-12));
    assert!(close(exact(out[1]), brute(&g, r10, &q), 1e-12));
}

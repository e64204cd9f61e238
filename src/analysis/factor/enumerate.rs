//! Certified bounds for a factored service whose elimination is too wide
//! (see [`super`]): its variables' states enumerated depth first, most
//! probable first, a branch less probable than a threshold left open.
//!
//! Given the variables, the units are independent, so a branch whose
//! variables are all assigned contributes its probability times P(some
//! factor down), exactly. A branch cut short contributes at least its
//! probability times P(some factor already complete down) and at most its
//! whole probability: the lower bound is the sum of the first, the upper
//! bound adds the rest of the open branches' mass. The threshold falls by
//! a factor at a time until the bounds are as close as asked, the states
//! run out or the time does.
//!
//! A unit's failure probabilities are small, so the branches where few
//! variables are down hold nearly all the mass: on the realistic 100k
//! platform, a front end whose elimination would span 2^29 states gets
//! bounds within a relative 1e-9 from a few hundred thousand states.

use std::time::Instant;

use super::eliminate::{either_down, Prior};

/// When to stop refining the bounds.
pub struct Stop {
    /// No refinement starts after this.
    pub deadline: Instant,
    /// The bounds are good enough once `upper - lower <= this * upper`.
    pub relative_width: f64,
    /// Most branches visited over all refinements.
    pub max_visits: u64,
}

/// The first threshold on a branch's probability, and the factor by which
/// each refinement lowers it.
const FIRST_THRESHOLD: f64 = 1e-6;
const THRESHOLD_STEP: f64 = 1e-2;

/// Branches visited between two looks at the clock.
const CLOCK_EVERY: u64 = 1 << 12;

/// Bounds `[lower, upper]` on P(any factor down), every variable (none
/// given) distributed by `priors`; `None` when a cut variable's prior is
/// over a variable that cannot be assigned before it.
pub(super) fn bounds<'a>(
    priors: &[Prior],
    factors: impl Iterator<Item = (&'a [u32], &'a [f64])>,
    stop: &Stop,
) -> Option<(f64, f64)> {
    bounds_from(priors, factors, stop, FIRST_THRESHOLD)
}

/// [`bounds`], the first pass leaving open the branches less probable
/// than `first_threshold`.
fn bounds_from<'a>(
    priors: &[Prior],
    factors: impl Iterator<Item = (&'a [u32], &'a [f64])>,
    stop: &Stop,
    first_threshold: f64,
) -> Option<(f64, f64)> {
    let order = assignment_order(priors)?;
    let n = order.len();
    let mut position = vec![0usize; n];
    for (k, &v) in order.iter().enumerate() {
        position[v as usize] = k;
    }
    // Each factor, filed under the position of its last variable.
    let mut complete_at: Vec<Vec<(&[u32], &[f64])>> = vec![Vec::new(); n + 1];
    let mut always_down = 0.0;
    for (scope, table) in factors {
        match scope.iter().map(|&v| position[v as usize]).max() {
            Some(k) => complete_at[k].push((scope, table)),
            None => always_down = either_down(always_down, table[0]),
        }
    }
    let mut walk = Walk {
        priors,
        order: &order,
        complete_at: &complete_at,
        threshold: first_threshold,
        lower: 0.0,
        open: 0.0,
        visits: 0,
        stop,
        out_of_time: false,
    };
    let mut best = (0.0, 1.0);
    loop {
        walk.lower = 0.0;
        walk.open = 0.0;
        walk.visit(0, 0, 1.0, always_down);
        if walk.out_of_time {
            return Some(best);
        }
        let (lower, upper) = (walk.lower, (walk.lower + walk.open).min(1.0));
        best = (lower.max(best.0), upper.min(best.1));
        let exhausted = walk.open == 0.0;
        if exhausted || best.1 - best.0 <= stop.relative_width * best.1 {
            return Some(best);
        }
        walk.threshold *= THRESHOLD_STEP;
        if walk.threshold < f64::MIN_POSITIVE {
            return Some(best);
        }
    }
}

/// The variables in an order where every cut variable comes after the
/// variables its prior is over (ascending where that allows).
fn assignment_order(priors: &[Prior]) -> Option<Vec<u32>> {
    let n = priors.len();
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let before = order.len();
        for v in 0..n {
            let ready = match priors[v] {
                Prior::Given => return None,
                Prior::Event(_) => true,
                Prior::Cut(scope, _) => scope.iter().all(|&s| placed[s as usize]),
            };
            if !placed[v] && ready {
                placed[v] = true;
                order.push(v as u32);
            }
        }
        if order.len() == before {
            return None;
        }
    }
    Some(order)
}

/// One depth-first pass.
struct Walk<'a, 'p> {
    priors: &'a [Prior<'p>],
    order: &'a [u32],
    complete_at: &'a [Vec<(&'a [u32], &'a [f64])>],
    threshold: f64,
    lower: f64,
    open: f64,
    visits: u64,
    stop: &'a Stop,
    out_of_time: bool,
}

impl Walk<'_, '_> {
    /// The branch whose first `k` variables (in `order`) are assigned
    /// `state` (bit `v`: variable `v` down), with probability `mass`, in
    /// which the factors complete so far are down with probability `down`.
    fn visit(&mut self, k: usize, state: u128, mass: f64, down: f64) {
        if self.out_of_time {
            return;
        }
        self.visits += 1;
        if self.visits % CLOCK_EVERY == 0
            && (self.visits > self.stop.max_visits || Instant::now() >= self.stop.deadline)
        {
            self.out_of_time = true;
            return;
        }
        if k == self.order.len() || down == 1.0 {
            self.lower += mass * down;
            return;
        }
        if mass < self.threshold {
            self.lower += mass * down;
            self.open += mass * (1.0 - down);
            return;
        }
        let v = self.order[k];
        let q = match self.priors[v as usize] {
            Prior::Event(q) => q,
            Prior::Cut(scope, table) => table[index(scope, state)],
            Prior::Given => return,
        };
        for (bit, weight) in [(0u128, 1.0 - q), (1, q)] {
            if weight == 0.0 {
                continue;
            }
            let state = state | bit << v;
            let down = self.complete_at[k].iter().fold(down, |d, (scope, table)| {
                either_down(d, table[index(scope, state)])
            });
            self.visit(k + 1, state, mass * weight, down);
        }
    }
}

/// The index into a table over `scope` (bit `j`: `scope[j]` down) of a
/// state of all the variables.
fn index(scope: &[u32], state: u128) -> usize {
    scope
        .iter()
        .enumerate()
        .fold(0, |i, (j, &v)| i | ((state >> v & 1) as usize) << j)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::Rng;

    /// P(any factor down) by summing over every state.
    fn brute(priors: &[Prior], factors: &[(Vec<u32>, Vec<f64>)]) -> f64 {
        let n = priors.len();
        let mut total = 0.0;
        for state in 0..1u128 << n {
            let mut p = 1.0;
            for (v, prior) in priors.iter().enumerate() {
                let q = match prior {
                    Prior::Event(q) => *q,
                    Prior::Cut(scope, table) => table[index(scope, state)],
                    Prior::Given => unreachable!("no variable is given"),
                };
                p *= if state >> v & 1 == 1 { q } else { 1.0 - q };
            }
            let up: f64 = factors
                .iter()
                .map(|(scope, table)| 1.0 - table[index(scope, state)])
                .product();
            total += p * (1.0 - up);
        }
        total
    }

    #[test]
    fn bounds_contain_every_state_sum_and_close_on_it() {
        let mut rng = Rng(11);
        for case in 0..2000 {
            let n = 1 + rng.below(9);
            // Cut variables after the first few, over earlier variables.
            let mut scopes: Vec<Vec<u32>> = Vec::new();
            let mut tables: Vec<Vec<f64>> = Vec::new();
            let mut qs = Vec::new();
            for v in 0..n {
                qs.push(if rng.below(2) == 0 {
                    rng.unit() * 0.01
                } else {
                    rng.unit()
                });
                let is_cut = v >= 2 && rng.below(2) == 0;
                let scope: Vec<u32> = if is_cut {
                    (0..v as u32).filter(|_| rng.below(3) == 0).collect()
                } else {
                    Vec::new()
                };
                tables.push((0..1usize << scope.len()).map(|_| rng.unit()).collect());
                scopes.push(scope);
            }
            let priors: Vec<Prior> = (0..n)
                .map(|v| {
                    if v >= 2 && !scopes[v].is_empty() {
                        Prior::Cut(&scopes[v], &tables[v])
                    } else {
                        Prior::Event(qs[v])
                    }
                })
                .collect();
            let factors: Vec<(Vec<u32>, Vec<f64>)> = (0..1 + rng.below(5))
                .map(|_| {
                    let scope: Vec<u32> = (0..n as u32).filter(|_| rng.below(3) == 0).collect();
                    // Some factors nearly certain down given a state, so
                    // that an open branch holds nearly its whole mass.
                    let scale = [0.1, 1.0][rng.below(2)];
                    let table = (0..1usize << scope.len())
                        .map(|_| rng.unit() * scale)
                        .collect();
                    (scope, table)
                })
                .collect();
            let exact = brute(&priors, &factors);
            let iter = || factors.iter().map(|(s, t)| (s.as_slice(), t.as_slice()));
            // Loose: one pass leaving many branches open; the bounds
            // must contain it.
            let loose = Stop {
                deadline: Instant::now() + std::time::Duration::from_secs(10),
                relative_width: 1.0,
                max_visits: u64::MAX,
            };
            let threshold = [0.5, 0.1, 0.01, 1e-4][rng.below(4)];
            let (lo, hi) = bounds_from(&priors, iter(), &loose, threshold).expect("ordered");
            assert!(
                lo <= exact * (1.0 + 1e-12) + 1e-15 && exact <= hi * (1.0 + 1e-12) + 1e-15,
                "case {case}: {exact} outside [{lo}, {hi}]"
            );
            // Tight: the bounds close on it.
            let tight = Stop {
                relative_width: 1e-12,
                ..loose
            };
            let (lo, hi) = bounds(&priors, iter(), &tight).expect("ordered");
            assert!(
                (lo - exact).abs() <= 1e-12 * exact.max(1e-300) + 1e-15
                    && (hi - exact).abs() <= 1e-11 * exact.max(1e-300) + 1e-15,
                "case {case}: {exact} vs [{lo}, {hi}]"
            );
        }
    }
}

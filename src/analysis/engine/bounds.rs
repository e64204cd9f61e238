//! Certified bounds for a module whose BDD could not be built in time.
//!
//! Shannon expansion on the leaves reachable by several paths (most shared first), by iterative
//! deepening while the budget lasts. At each expansion leaf, the module is evaluated bottom-up
//! on intervals: a gate whose children share no unassigned leaf combines them exactly
//! (independence; the formulas are monotone, so interval ends map to interval ends), any other
//! gate with Fréchet bounds (valid under any dependence) tightened by the Harris-FKG
//! inequality: every gate's down-event is an increasing function of independent events, so
//! such events are positively correlated (Esary-Proschan bounds: an AND is at least the
//! product, an OR at most the independent OR). Once every shared leaf is assigned,
//! all gates have independent children and the result is exact.

use std::time::Instant;

use super::prep::{Kind, Local};
use super::tree;

/// Result of bounding a module.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bounded {
    /// Lower bound on P(down).
    pub lo: f64,
    /// Upper bound on P(down).
    pub hi: f64,
    /// Every shared leaf was expanded: `lo` and `hi` are the exact value (up to rounding).
    pub exact: bool,
}

struct Ctx<'a> {
    local: &'a Local,
    leaf: &'a [(f64, f64)],
    cand: Vec<u32>,
    /// Per expansion level, whether each gate's children are independent once the first
    /// `level` candidates are assigned.
    indep: Vec<Vec<bool>>,
    value: Vec<(f64, f64)>,
    work: u64,
    evals: u64,
    budget: u64,
    deadline: Option<Instant>,
}

struct OutOfBudget;

/// Bounds on P(down) of `local`'s top, given an interval `leaf[i]` on P(leaf i down).
pub(super) fn bound(
    local: &Local,
    leaf: &[(f64, f64)],
    deadline: Option<Instant>,
    budget: u64,
    max_depth: usize,
) -> Bounded {
    let nl = local.leaves.len();
    let ng = local.gates.len();
    let words = nl.div_ceil(64).max(1);
    // Paths from the top to every node (saturating).
    let mut paths = vec![0u64; nl + ng];
    paths[nl + ng - 1] = 1;
    for g in (0..ng).rev() {
        let p = paths[nl + g];
        for &c in &local.gates[g].1 {
            paths[c as usize] = paths[c as usize].saturating_add(p);
        }
    }
    let mut cand: Vec<u32> = (0..nl as u32).filter(|&i| paths[i as usize] >= 2).collect();
    cand.sort_by_key(|&i| std::cmp::Reverse(paths[i as usize]));
    // Leaf supports of the gates.
    let mut support = vec![0u64; ng * words];
    for g in 0..ng {
        for &c in &local.gates[g].1 {
            let c = c as usize;
            if c < nl {
                support[g * words + c / 64] |= 1 << (c % 64);
            } else {
                let cg = c - nl;
                for w in 0..words {
                    let x = support[cg * words + w];
                    support[g * words + w] |= x;
                }
            }
        }
    }
    let indep_at = |level: usize| -> Vec<bool> {
        let mut excluded = vec![0u64; words];
        for &c in &cand[..level] {
            excluded[c as usize / 64] |= 1 << (c % 64);
        }
        let mut acc = vec![0u64; words];
        (0..ng)
            .map(|g| {
                acc.iter_mut().for_each(|w| *w = 0);
                let mut ok = true;
                for &c in &local.gates[g].1 {
                    let c = c as usize;
                    for w in 0..words {
                        let s = if c < nl {
                            if c / 64 == w {
                                1u64 << (c % 64)
                            } else {
                                0
                            }
                        } else {
                            support[(c - nl) * words + w]
                        } & !excluded[w];
                        ok &= acc[w] & s == 0;
                        acc[w] |= s;
                    }
                }
                ok
            })
            .collect()
    };
    let mut ctx = Ctx {
        local,
        leaf,
        cand: cand.clone(),
        indep: vec![indep_at(0)],
        value: vec![(0.0, 0.0); nl + ng],
        work: 0,
        evals: 0,
        budget,
        deadline,
    };
    let mut assign = vec![-1i8; nl];
    let (mut lo, mut hi) = ctx.eval(&assign, 0);
    let mut best = Bounded {
        lo,
        hi,
        exact: ctx.cand.is_empty(),
    };
    let full = ctx.cand.len();
    let mut depth = 1;
    while !best.exact && lo < hi && depth <= full.min(max_depth) {
        while ctx.indep.len() <= depth {
            let level = ctx.indep.len();
            ctx.indep.push(indep_at(level));
        }
        match ctx.expand(&mut assign, 0, depth) {
            Ok((l, h)) => {
                lo = lo.max(l);
                hi = hi.min(h);
                best = Bounded {
                    lo,
                    hi,
                    exact: depth == full,
                };
            }
            Err(OutOfBudget) => break,
        }
        depth += 1;
    }
    if best.exact {
        best.hi = best.lo;
    }
    best
}

impl Ctx<'_> {
    fn expand(
        &mut self,
        assign: &mut [i8],
        level: usize,
        depth: usize,
    ) -> Result<(f64, f64), OutOfBudget> {
        if self.work > self.budget
            || (self.deadline.is_some() && self.evals & 63 == 0 && self.over())
        {
            return Err(OutOfBudget);
        }
        let (lo, hi) = self.eval(assign, level);
        if level == depth || lo >= hi {
            return Ok((lo, hi));
        }
        let v = self.cand[level] as usize;
        assign[v] = 1;
        let r1 = self.expand(assign, level + 1, depth);
        let r0 = match r1 {
            Ok(_) => {
                assign[v] = 0;
                self.expand(assign, level + 1, depth)
            }
            Err(OutOfBudget) => Err(OutOfBudget),
        };
        assign[v] = -1;
        let (r1, r0) = (r1?, r0?);
        let (ql, qh) = self.leaf[v];
        // P = q P1 + (1-q) P0 with P1 >= P0: increasing in q.
        let l = ql * r1.0 + (1.0 - ql) * r0.0;
        let h = qh * r1.1 + (1.0 - qh) * r0.1;
        Ok((l.max(lo), h.min(hi)))
    }

    fn eval(&mut self, assign: &[i8], level: usize) -> (f64, f64) {
        let local = self.local;
        let nl = local.leaves.len();
        for (i, a) in assign.iter().enumerate() {
            self.value[i] = match a {
                1 => (1.0, 1.0),
                0 => (0.0, 0.0),
                _ => self.leaf[i],
            };
        }
        let indep = &self.indep[level];
        let mut lows = Vec::new();
        let mut highs = Vec::new();
        for (g, (kind, ch)) in local.gates.iter().enumerate() {
            lows.clear();
            highs.clear();
            for &c in ch {
                let (l, h) = self.value[c as usize];
                lows.push((l, 1.0 - l));
                highs.push((h, 1.0 - h));
            }
            let v = if indep[g] {
                (tree::eval(*kind, &lows).0, tree::eval(*kind, &highs).0)
            } else {
                frechet(*kind, &lows, &highs)
            };
            self.value[nl + g] = (v.0.clamp(0.0, 1.0), v.1.clamp(0.0, 1.0));
        }
        self.evals += 1;
        self.work += local.gates.len() as u64;
        self.value[nl + local.gates.len() - 1]
    }
}

impl Ctx<'_> {
    fn over(&self) -> bool {
        self.work > self.budget || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// Bounds on "at least k of n down" from bounds on each child, valid under any positive
/// dependence (Fréchet bounds, tightened by the Harris-FKG inequality).
fn frechet(kind: Kind, lows: &[(f64, f64)], highs: &[(f64, f64)]) -> (f64, f64) {
    let n = lows.len();
    let k = match kind {
        Kind::Or => 1,
        Kind::And => n,
        Kind::AtLeast(k) => k as usize,
    };
    let mut l: Vec<f64> = lows.iter().map(|x| x.0).collect();
    let mut h: Vec<f64> = highs.iter().map(|x| x.0).collect();
    let (sl, sh): (f64, f64) = (l.iter().sum(), h.iter().sum());
    l.sort_by(|a, b| b.total_cmp(a));
    h.sort_by(|a, b| a.total_cmp(b));
    let km1 = (k - 1) as f64;
    // E[#down] <= (k-1) + (n-k+1) P(>= k); and the k likeliest all down.
    let top_k: f64 = l[..k].iter().sum();
    // The subtractions cancel: widen by their rounding error, so the bound stays certified.
    let slack = (n as f64 + 2.0) * f64::EPSILON * (sl + km1);
    let lower = ((sl - km1) / (n - k + 1) as f64).max(top_k - km1) - slack;
    let lower = lower.max(0.0);
    // Markov: P(>= k) <= E[#down]/k; and some of any n-k+1 children must be down.
    let upper = (sh / k as f64).min(h[..n - k + 1].iter().sum()).min(1.0);
    // Harris-FKG: the children's down-events are increasing functions of independent
    // variables, hence positively correlated. So all of the k likeliest are down with
    // probability at least the product (Esary-Proschan), and for an OR, all children are up
    // with probability at least the product of their up-probabilities.
    let mut fkg_lower = l[..k].iter().product::<f64>();
    if fkg_lower > 0.0 {
        fkg_lower *= 1.0 - 4.0 * (k as f64) * f64::EPSILON;
    }
    let upper = if k == 1 {
        let or_up = tree::eval(Kind::Or, highs).0 * (1.0 + 4.0 * (n as f64) * f64::EPSILON);
        upper.min(or_up)
    } else {
        upper
    };
    (lower.max(fkg_lower), upper)
}

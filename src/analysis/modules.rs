//! Global modularisation of the whole platform's graph, so that every
//! service's unavailability costs work proportional to what it does not
//! share, not to its whole dependency cone.
//!
//! A gate is a *module* when every path from anywhere in the graph to any of
//! its descendants passes through it (Dutuit & Rauzy's linear-time test on
//! depth-first visit dates). A module's unavailability is independent of
//! everything outside it, so it is computed once and stands as one fresh
//! basic event in every graph above it. A chain of services (each requiring
//! the next) is then linear instead of quadratic, and so is any tree of
//! services that share nothing.

use std::collections::HashMap;
use std::time::Instant;

use super::engine::{self, any_happens, EventId, FaultGraph, Gate, Limits, NodeRef, Outcome};

/// Visit dates of the iterative depth-first search.
struct Dates {
    first: Vec<u32>,
    second: Vec<u32>,
    last: Vec<u32>,
}

fn children(gate: &Gate) -> &[NodeRef] {
    match gate {
        Gate::And(c) | Gate::Or(c) | Gate::AtLeast { of: c, .. } => c,
        Gate::Event(_) | Gate::Const(_) => &[],
    }
}

fn visit_dates(graph: &FaultGraph) -> Dates {
    let n = graph.len();
    let mut has_parent = vec![false; n];
    for gate in graph.gates() {
        for &c in children(gate) {
            has_parent[c as usize] = true;
        }
    }
    let mut dates = Dates {
        first: vec![0; n],
        second: vec![0; n],
        last: vec![0; n],
    };
    let mut date = 0u32;
    let mut stack: Vec<(NodeRef, usize)> = Vec::new();
    for source in (0..n).filter(|i| !has_parent[*i]) {
        date += 1;
        dates.first[source] = date;
        dates.last[source] = date;
        stack.push((source as NodeRef, 0));
        while let Some((node, next)) = stack.pop() {
            let kids = children(graph.gate(node));
            if next < kids.len() {
                stack.push((node, next + 1));
                let child = kids[next] as usize;
                date += 1;
                if dates.first[child] == 0 {
                    dates.first[child] = date;
                    dates.last[child] = date;
                    stack.push((child as NodeRef, 0));
                } else {
                    dates.last[child] = date;
                }
            } else {
                date += 1;
                dates.second[node as usize] = date;
            }
        }
    }
    dates
}

/// Which gates are modules (leaves and constants are not reported).
pub fn modules(graph: &FaultGraph) -> Vec<bool> {
    let dates = visit_dates(graph);
    let n = graph.len();
    // Children have smaller indices than parents (the graph is built bottom
    // up), so one ascending pass sees every descendant first.
    let mut low = vec![u32::MAX; n];
    let mut high = vec![0u32; n];
    let mut module = vec![false; n];
    for v in 0..n {
        let kids = children(graph.gate(v as NodeRef));
        if kids.is_empty() {
            continue;
        }
        let (mut lo, mut hi) = (u32::MAX, 0u32);
        for &c in kids {
            let c = c as usize;
            lo = lo.min(dates.first[c]).min(low[c]);
            hi = hi.max(dates.last[c].max(dates.second[c])).max(high[c]);
        }
        low[v] = lo;
        high[v] = hi;
        module[v] = lo > dates.first[v] && hi < dates.second[v];
    }
    module
}

/// The platform's graph with its modules, solved on demand and remembered,
/// so that each shared module is solved once however many services sit above
/// it.
pub struct Modules<'a> {
    graph: &'a FaultGraph,
    q: &'a [f64],
    module: Vec<bool>,
    /// Solved modules (and roots that are modules); after a failed attempt,
    /// nothing is remembered, so a later attempt with larger limits retries.
    solved: HashMap<NodeRef, Outcome>,
    /// Visit marks of the walk below a root, by generation.
    mark: Vec<u32>,
    generation: u32,
}

impl<'a> Modules<'a> {
    /// Finds the modules of `graph`, whose event `e` is down with probability `q[e]`.
    pub fn new(graph: &'a FaultGraph, q: &'a [f64]) -> Self {
        Modules {
            graph,
            q,
            module: modules(graph),
            solved: HashMap::new(),
            mark: vec![0; graph.len()],
            generation: 0,
        }
    }

    /// Another view of the same graph with nothing solved yet, for another
    /// thread (the module test is not repeated).
    pub fn fresh(&self) -> Self {
        Modules {
            graph: self.graph,
            q: self.q,
            module: self.module.clone(),
            solved: HashMap::new(),
            mark: vec![0; self.graph.len()],
            generation: 0,
        }
    }

    /// Takes in what `other` (a [`Modules::fresh`] copy) solved.
    pub fn absorb(&mut self, other: Modules<'a>) {
        for (node, outcome) in other.solved {
            self.solved.entry(node).or_insert(outcome);
        }
    }

    /// The outcome of `node` if it was solved already.
    pub fn known(&self, node: NodeRef) -> Option<Outcome> {
        self.solved.get(&node).copied()
    }

    /// Solves `root` within `limits`, first solving the modules below it that
    /// are not solved yet (bottom up). With [`Limits::attempt`], only exact
    /// results are remembered, and a root above a module that is not exact
    /// gets the trivial bounds `[0, 1]` (the caller retries, or bounds it with
    /// [`Modules::interval_pass`]); otherwise bounded modules are remembered
    /// and carried into the bounds of the roots above them.
    pub fn solve(&mut self, root: NodeRef, limits: &Limits) -> Outcome {
        if let Some(o) = self.known(root) {
            return o;
        }
        let below = self.unsolved_below(root);
        let expired = || limits.deadline.is_some_and(|d| Instant::now() >= d);
        for v in below {
            if expired() {
                return self.late(root);
            }
            let o = solve(self.graph, v, self.q, &self.module, &self.solved, limits);
            if limits.attempt && !o.is_exact() {
                return Outcome::Bounds {
                    lower: 0.0,
                    upper: 1.0,
                };
            }
            self.solved.insert(v, o);
        }
        if expired() {
            return self.late(root);
        }
        let o = solve(self.graph, root, self.q, &self.module, &self.solved, limits);
        if self.module[root as usize] && (o.is_exact() || !limits.attempt) {
            self.solved.insert(root, o);
        }
        o
    }

    /// Certified bounds on every node, from the modules solved so far (see
    /// [`interval_pass`]).
    pub fn interval_pass(&self) -> Vec<(f64, f64)> {
        interval_pass(self.graph, self.q, &self.solved)
    }

    /// Bounds of `root` from one interval pass, once time has run out.
    fn late(&self, root: NodeRef) -> Outcome {
        to_outcome(self.interval_pass()[root as usize])
    }

    /// The modules strictly below `root` that are not solved yet, in
    /// ascending order (each one's own sub-modules before it).
    fn unsolved_below(&mut self, root: NodeRef) -> Vec<NodeRef> {
        self.generation += 1;
        let generation = self.generation;
        let mut below = Vec::new();
        let mut stack: Vec<NodeRef> = children(self.graph.gate(root)).to_vec();
        while let Some(v) = stack.pop() {
            let seen = &mut self.mark[v as usize];
            if *seen == generation {
                continue;
            }
            *seen = generation;
            if self.solved.contains_key(&v) {
                continue;
            }
            if self.module[v as usize] {
                below.push(v);
            }
            stack.extend_from_slice(children(self.graph.gate(v)));
        }
        below.sort_unstable();
        below
    }
}

/// The unavailability of every root, computing each module once. Once the
/// deadline has passed, every remaining root is bounded from one bottom-up
/// interval pass.
pub fn unavailability(
    graph: &FaultGraph,
    roots: &[NodeRef],
    q: &[f64],
    limits: &Limits,
) -> Vec<Outcome> {
    let mut modules = Modules::new(graph, q);
    let expired = || limits.deadline.is_some_and(|d| Instant::now() >= d);
    let mut after_deadline: Option<Vec<(f64, f64)>> = None;
    let mut out = Vec::with_capacity(roots.len());
    for &r in roots {
        let outcome = match modules.known(r) {
            Some(o) => o,
            None if after_deadline.is_some() || expired() => {
                let pass = after_deadline.get_or_insert_with(|| modules.interval_pass());
                to_outcome(pass[r as usize])
            }
            None => modules.solve(r, limits),
        };
        out.push(outcome);
    }
    out
}

fn to_outcome((lower, upper): (f64, f64)) -> Outcome {
    if lower == upper {
        Outcome::Exact(lower)
    } else {
        Outcome::Bounds { lower, upper }
    }
}

/// Certified bounds on the unavailability of every node, in one bottom-up
/// pass valid under any dependence between children (Fréchet bounds), using
/// solved modules where known. This is what services get once the time
/// allowed has run out.
pub fn interval_pass(
    graph: &FaultGraph,
    q: &[f64],
    solved: &HashMap<NodeRef, Outcome>,
) -> Vec<(f64, f64)> {
    let mut bounds: Vec<(f64, f64)> = Vec::with_capacity(graph.len());
    for v in 0..graph.len() {
        if let Some(o) = solved.get(&(v as NodeRef)) {
            bounds.push((o.lower(), o.upper()));
            continue;
        }
        let gate = graph.gate(v as NodeRef);
        // Children have smaller indices, so their bounds are known.
        let downs: Vec<(f64, f64)> = children(gate).iter().map(|c| bounds[*c as usize]).collect();
        bounds.push(combine(gate, &downs, q));
    }
    bounds
}

/// Fréchet bounds of one gate from its children's bounds.
pub(super) fn combine(gate: &Gate, downs: &[(f64, f64)], q: &[f64]) -> (f64, f64) {
    let n = downs.len() as f64;
    let sum_lo: f64 = downs.iter().map(|d| d.0).sum();
    let sum_hi: f64 = downs.iter().map(|d| d.1).sum();
    // Every gate is monotone, so the children's states are associated
    // (Esary, Proschan and Walkup, 1967): the chance that a set of children
    // are all down (or all up) is at least the product of their chances.
    match gate {
        Gate::Event(e) => (q[*e as usize], q[*e as usize]),
        Gate::Const(up) => {
            if *up {
                (0.0, 0.0)
            } else {
                (1.0, 1.0)
            }
        }
        // Down when any child is down.
        Gate::And(_) => (
            downs.iter().map(|d| d.0).fold(0.0, f64::max),
            sum_hi.min(any_happens(downs.iter().map(|d| d.1))).min(1.0),
        ),
        // Down when every child is down.
        Gate::Or(_) => {
            if downs.is_empty() {
                (1.0, 1.0)
            } else {
                (
                    frechet_lower(sum_lo, n - 1.0, n)
                        .max(downs.iter().map(|d| d.0).product::<f64>())
                        .max(0.0),
                    downs.iter().map(|d| d.1).fold(1.0, f64::min),
                )
            }
        }
        // Down when at least m = n - k + 1 children are down: with N the
        // count down, E[N] <= (m-1) + (n-m+1) P(N >= m) and
        // P(N >= m) <= E[N] / m. By association, at least as likely as the
        // m likeliest children all down, and at most as likely as not the
        // k likeliest all up.
        Gate::AtLeast { k, .. } => {
            let k = *k as f64;
            if k <= 0.0 {
                (0.0, 0.0)
            } else if k > n {
                (1.0, 1.0)
            } else {
                let m = n - k + 1.0;
                let mut lows: Vec<f64> = downs.iter().map(|d| d.0).collect();
                lows.sort_by(|a, b| b.total_cmp(a));
                let m_down: f64 = lows.iter().take(m as usize).product();
                let mut highs: Vec<f64> = downs.iter().map(|d| d.1).collect();
                highs.sort_by(f64::total_cmp);
                let not_k_up = any_happens(highs.iter().take(k as usize).copied());
                (
                    (frechet_lower(sum_lo, m - 1.0, n) / (n - m + 1.0))
                        .max(m_down)
                        .max(0.0),
                    (sum_hi / m).min(not_k_up).min(1.0),
                )
            }
        }
    }
}

/// `sum - whole`, lowered by a bound on the rounding of `n` terms around
/// `sum`, for the Fréchet lower bounds (whose true value may be tiny beside
/// the terms).
fn frechet_lower(sum: f64, whole: f64, n: f64) -> f64 {
    sum - whole - 4.0 * (n + 1.0) * f64::EPSILON * sum.max(whole)
}

/// Solves one node over the graph below it, with every module strictly
/// below it replaced by a fresh event carrying its solved unavailability.
fn solve(
    graph: &FaultGraph,
    root: NodeRef,
    q: &[f64],
    module: &[bool],
    solved: &HashMap<NodeRef, Outcome>,
    limits: &Limits,
) -> Outcome {
    let mut reduced = FaultGraph::new();
    let mut map: HashMap<NodeRef, NodeRef> = HashMap::new();
    let mut event_map: HashMap<EventId, EventId> = HashMap::new();
    // Each fresh event: (lower, upper) unavailability.
    let mut probabilities: Vec<(f64, f64)> = Vec::new();
    let mut stack: Vec<(NodeRef, bool)> = vec![(root, false)];
    while let Some((v, expanded)) = stack.pop() {
        if map.contains_key(&v) {
            continue;
        }
        if v != root && module[v as usize] {
            if let Some(outcome) = solved.get(&v) {
                let e = probabilities.len() as EventId;
                probabilities.push((outcome.lower(), outcome.upper()));
                map.insert(v, reduced.add(Gate::Event(e)));
                continue;
            }
        }
        let gate = graph.gate(v);
        let kids = children(gate);
        if !expanded && !kids.is_empty() {
            stack.push((v, true));
            stack.extend(
                kids.iter()
                    .filter(|c| !map.contains_key(c))
                    .map(|c| (*c, false)),
            );
            continue;
        }
        let remap = |c: &NodeRef| map[c];
        let new = match gate {
            Gate::Event(e) => {
                let fresh = *event_map.entry(*e).or_insert_with(|| {
                    probabilities.push((q[*e as usize], q[*e as usize]));
                    (probabilities.len() - 1) as EventId
                });
                Gate::Event(fresh)
            }
            Gate::Const(b) => Gate::Const(*b),
            Gate::And(c) => Gate::And(c.iter().map(remap).collect()),
            Gate::Or(c) => Gate::Or(c.iter().map(remap).collect()),
            Gate::AtLeast { k, of } => Gate::AtLeast {
                k: *k,
                of: of.iter().map(remap).collect(),
            },
        };
        map.insert(v, reduced.add(new));
    }
    let top = map[&root];
    let lower: Vec<f64> = probabilities.iter().map(|p| p.0).collect();
    let upper: Vec<f64> = probabilities.iter().map(|p| p.1).collect();
    let at_lower = engine::unavailability(&reduced, &[top], &lower, limits)[0];
    if lower == upper {
        return at_lower;
    }
    // Some module below is only bounded: the function is monotone in each
    // event, so evaluating at both ends bounds the result.
    let at_upper = engine::unavailability(&reduced, &[top], &upper, limits)[0];
    Outcome::Bounds {
        lower: at_lower.lower(),
        upper: at_upper.upper(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_nodes_are_modules_and_shared_ones_are_not() {
        let mut g = FaultGraph::new();
        let a = g.add(Gate::Event(0));
        let b = g.add(Gate::Event(1));
        let shared = g.add(Gate::Event(2));
        let x = g.add(Gate::And(vec![a, shared]));
        let y = g.add(Gate::And(vec![b, shared]));
        let top = g.add(Gate::Or(vec![x, y]));
        let m = modules(&g);
        assert!(m[top as usize]);
        assert!(!m[x as usize] && !m[y as usize]);
        let q = [0.1, 0.2, 0.01];
        let got = unavailability(&g, &[top, x, y], &q, &Limits::none());
        let want = engine::unavailability(&g, &[top, x, y], &q, &Limits::none());
        for (g, w) in got.iter().zip(&want) {
            assert!((g.upper() - w.upper()).abs() < 1e-15);
        }
    }

    /// The interval pass (Fréchet and association bounds) against a
    /// brute-force enumeration on random DAGs, with nothing solved.
    #[test]
    fn random_dags_interval_bounds_contain_the_exact_value() {
        use crate::analysis::testing::{brute, random_graph, Rng};
        let mut rng = Rng(0xa55);
        for case in 0..3000 {
            let n = 1 + rng.below(9);
            let (g, roots) = random_graph(&mut rng, n);
            let q: Vec<f64> = (0..n).map(|_| rng.prob()).collect();
            let pass = interval_pass(&g, &q, &HashMap::new());
            for v in 0..g.len() as NodeRef {
                let want = brute(&g, v, &q);
                let (lo, hi) = pass[v as usize];
                let slack = 1e-12 * want + 1e-300;
                assert!(
                    lo <= want + slack && want <= hi + slack,
                    "case {case} node {v}: {want} outside [{lo}, {hi}]\n{g:?}\n{q:?}"
                );
            }
            assert!(roots.iter().all(|&r| (r as usize) < g.len()));
        }
    }

    /// Association: two events both down is at least the product of their
    /// chances, where Fréchet gives 0; and a 2-of-3 quorum is down at least
    /// as often as its two likeliest members are both down.
    #[test]
    fn association_tightens_the_lower_bounds() {
        let mut g = FaultGraph::new();
        let e: Vec<NodeRef> = (0..3).map(|i| g.add(Gate::Event(i))).collect();
        let both = g.add(Gate::Or(vec![e[0], e[1]]));
        let quorum = g.add(Gate::AtLeast {
            k: 2,
            of: e.clone(),
        });
        let either = g.add(Gate::And(vec![e[0], e[1]]));
        let q = [0.1, 0.2, 0.05];
        let pass = interval_pass(&g, &q, &HashMap::new());
        assert!((pass[both as usize].0 - 0.02).abs() < 1e-15);
        // Two of three down: at least 0.2 x 0.1.
        assert!((pass[quorum as usize].0 - 0.02).abs() < 1e-15);
        // Either down: at most 1 - 0.9 x 0.8 = 0.28, not the sum 0.3.
        assert!((pass[either as usize].1 - 0.28).abs() < 1e-15);
    }

    #[test]
    fn interval_bounds_contain_the_exact_value() {
        let mut g = FaultGraph::new();
        let e: Vec<NodeRef> = (0..4).map(|i| g.add(Gate::Event(i))).collect();
        let x = g.add(Gate::And(vec![e[0], e[3]]));
        let y = g.add(Gate::And(vec![e[1], e[3]]));
        let z = g.add(Gate::AtLeast {
            k: 2,
            of: vec![e[0], e[1], e[2]],
        });
        let top = g.add(Gate::Or(vec![x, y, z]));
        let q = [0.1, 0.2, 0.3, 0.05];
        let exact = engine::unavailability(&g, &[top], &q, &Limits::none())[0].upper();
        let b = to_outcome(interval_pass(&g, &q, &HashMap::new())[top as usize]);
        assert!(b.lower() <= exact && exact <= b.upper(), "{b:?} vs {exact}");
        let past = Limits::until(Instant::now());
        let o = unavailability(&g, &[top], &q, &past)[0];
        assert!(o.lower() <= exact && exact <= o.upper());
    }

    #[test]
    fn long_chain_is_exact() {
        let mut g = FaultGraph::new();
        let mut below = g.add(Gate::Event(0));
        let mut roots = vec![below];
        let n = 5000;
        for i in 1..n {
            let e = g.add(Gate::Event(i));
            below = g.add(Gate::And(vec![e, below]));
            roots.push(below);
        }
        let q = vec![1e-4; n as usize];
        let got = unavailability(&g, &roots, &q, &Limits::none());
        let last = got.last().unwrap().upper();
        let want = -(n as f64 * (1.0 - 1e-4f64).ln()).exp_m1();
        assert!((last - want).abs() / want < 1e-9, "{last} vs {want}");
    }
}

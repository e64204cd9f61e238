//! Exact probability engine: the probability that a monotone structure function over
//! independent basic events is false (its unavailability).
//!
//! Pipeline, per root:
//! 1. [`prep`]: conversion to failure logic (gates about being DOWN), constant propagation,
//!    flattening of single-parent OR/AND chains, then modularisation (Dutuit & Rauzy): every
//!    gate whose sub-DAG shares nothing with the rest is a module, solved on its own and seen
//!    by its parent as one fresh event.
//! 2. A module that is a single gate over distinct leaves (every gate of a tree is one) is
//!    computed by a direct formula ([`tree`]); any other module by a reduced ordered BDD
//!    ([`bdd`], variable order from [`order`]).
//! 3. A module whose BDD exceeds the [`Limits`] gets certified bounds ([`bounds`]).
//!
//! Probabilities are carried as (down, up) pairs, each computed as a sum of non-negative
//! terms, so an unavailability of 1e-13 keeps its full relative precision (it is never
//! `1 - P(up)`).

mod bdd;
mod bounds;
mod ir;
mod many;
mod order;
mod prep;
#[cfg(test)]
mod tests;
mod tree;

use std::collections::HashMap;
use std::time::Instant;

pub use self::ir::{is_up, EventId, FaultGraph, Gate, NodeRef};
pub use self::tree::any_happens;

use self::bdd::{Compact, Manager};
use self::prep::{FNode, Kind, Leaf, Local};

/// Resource limits of an exact computation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Give up the exact method at this instant (three quarters of the remaining time go to
    /// the exact attempt, the rest to tightening bounds).
    pub deadline: Option<Instant>,
    /// Most BDD nodes one module may create (garbage included); without a deadline, this
    /// also scales the work spent tightening bounds.
    pub max_nodes: Option<usize>,
    /// An attempt that the caller will retry with larger limits: a module over the limits
    /// gets its one-pass bounds at once (no time spent tightening them), and the whole
    /// deadline goes to the exact method.
    pub attempt: bool,
}

impl Limits {
    /// No limit.
    pub fn none() -> Self {
        Self::default()
    }

    /// Only a deadline.
    pub fn until(deadline: Instant) -> Self {
        Limits {
            deadline: Some(deadline),
            max_nodes: None,
            attempt: false,
        }
    }

    /// An exact attempt of at most `max_nodes` BDD nodes per module (`None`: no cap) before
    /// `deadline`, to be retried with a larger cap when it fails (see [`Limits::attempt`]).
    pub fn attempt(deadline: Instant, max_nodes: Option<usize>) -> Self {
        Limits {
            deadline: Some(deadline),
            max_nodes,
            attempt: true,
        }
    }
}

/// The unavailability of one root.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// The exact probability of being down.
    Exact(f64),
    /// The exact method exceeded the limits: the exact value lies within these bounds.
    Bounds {
        /// Lower bound on the probability of being down.
        lower: f64,
        /// Upper bound on the probability of being down.
        upper: f64,
    },
}

impl Outcome {
    /// True for [`Outcome::Exact`].
    pub fn is_exact(&self) -> bool {
        matches!(self, Outcome::Exact(_))
    }

    /// The exact value, or the lower bound.
    pub fn lower(&self) -> f64 {
        match *self {
            Outcome::Exact(u) => u,
            Outcome::Bounds { lower, .. } => lower,
        }
    }

    /// What two results for the same root say together: an exact one if
    /// either is (`other` first), else the intersection of the bounds.
    pub fn tightest(self, other: Outcome) -> Outcome {
        if other.is_exact() {
            return other;
        }
        if self.is_exact() {
            return self;
        }
        let (lower, upper) = (
            self.lower().max(other.lower()),
            self.upper().min(other.upper()),
        );
        if lower == upper {
            Outcome::Exact(lower)
        } else {
            Outcome::Bounds { lower, upper }
        }
    }

    /// The exact value, or the upper bound.
    pub fn upper(&self) -> f64 {
        match *self {
            Outcome::Exact(u) => u,
            Outcome::Bounds { upper, .. } => upper,
        }
    }
}

/// Probability of being down: exact (down, up) pair, or an interval on P(down).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Prob {
    Exact(f64, f64),
    Interval(f64, f64),
}

impl Prob {
    fn interval(self) -> (f64, f64) {
        match self {
            Prob::Exact(d, _) => (d, d),
            Prob::Interval(l, h) => (l, h),
        }
    }
}

/// How a module is computed.
#[derive(Clone, Debug)]
enum Method {
    /// One gate over distinct leaves (children as leaf indices).
    Formula(Kind, Vec<u32>),
    /// A BDD over the leaves (variable i = leaf i).
    Bdd(Compact),
    /// BDD out of limits: bounds from the structure.
    Bounded(Local),
    /// Already known (from an earlier root of [`unavailability`]).
    Known(f64, f64),
    /// Not needed: inside a known module.
    Skipped,
}

#[derive(Clone, Debug)]
struct Module {
    origin: Option<NodeRef>,
    leaves: Vec<Leaf>,
    method: Method,
}

#[derive(Clone, Copy, Debug)]
enum Top {
    Const(bool),
    Leaf(u32),
    Modules,
}

/// Work budget of the bound tightening when no deadline is given.
fn bound_budget(limits: &Limits) -> u64 {
    if limits.attempt {
        return 0;
    }
    match (limits.deadline, limits.max_nodes) {
        (None, Some(n)) => (n as u64).saturating_mul(64),
        _ => u64::MAX,
    }
}

/// Depth of Shannon expansion used when re-bounding in [`Analysis::unavailability_with`].
const REBOUND_DEPTH: usize = 12;

/// Fraction of the time to the deadline given to the exact attempt.
const EXACT_SHARE: f64 = 0.75;

/// The compiled unavailability of one root: its modules, their BDDs and results. Reusable to
/// get derivatives or to re-evaluate with other event probabilities, without rebuilding.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// (down, up) of every basic event.
    probs: Vec<(f64, f64)>,
    nevents: usize,
    top: Top,
    modules: Vec<Module>,
    results: Vec<Prob>,
    budget: u64,
}

impl Analysis {
    /// Compiles and solves `root`, with `q[e]` the probability that event `e` is down.
    pub fn new(graph: &FaultGraph, root: NodeRef, q: &[f64], limits: &Limits) -> Analysis {
        Self::build(graph, root, q, &|_| None, limits)
    }

    /// `known` gives P(down) of graph nodes already solved (used only for modules, whose
    /// events appear nowhere else below the root).
    fn build(
        graph: &FaultGraph,
        root: NodeRef,
        q: &[f64],
        known: &dyn Fn(NodeRef) -> Option<(f64, f64)>,
        limits: &Limits,
    ) -> Analysis {
        let start = Instant::now();
        let share = if limits.attempt { 1.0 } else { EXACT_SHARE };
        let exact_deadline = limits
            .deadline
            .map(|d| start + d.saturating_duration_since(start).mul_f64(share));
        let prep = prep::prepare(graph, root);
        let mut a = Analysis {
            probs: q.iter().map(|&x| (x, 1.0 - x)).collect(),
            nevents: q.len(),
            top: Top::Modules,
            modules: Vec::new(),
            results: Vec::new(),
            budget: bound_budget(limits),
        };
        match prep.nodes[prep.root as usize] {
            FNode::Const(b) => a.top = Top::Const(b),
            FNode::Leaf(e) => a.top = Top::Leaf(e),
            FNode::Gate(..) => {}
        }
        if !matches!(a.top, Top::Modules) {
            return a;
        }
        let mut mgr = Manager::new(
            limits.max_nodes.unwrap_or(u32::MAX as usize - 8),
            exact_deadline,
        );
        let locals = prep::modularise(&prep);
        // Modules inside a known module need no work.
        let mut known_value: Vec<Option<(f64, f64)>> =
            locals.iter().map(|l| l.origin.and_then(known)).collect();
        let mut needed = vec![false; locals.len()];
        if let Some(last) = needed.last_mut() {
            *last = true;
        }
        for (m, local) in locals.iter().enumerate().rev() {
            if needed[m] && known_value[m].is_none() {
                for l in &local.leaves {
                    if let Leaf::Module(s) = *l {
                        needed[s as usize] = true;
                    }
                }
            }
        }
        for (m, mut local) in locals.into_iter().enumerate() {
            let origin = local.origin;
            let nl = local.leaves.len();
            let method = if !needed[m] {
                Method::Skipped
            } else if let Some((d, u)) = known_value[m].take() {
                Method::Known(d, u)
            } else if local.gates.len() == 1 && local.gates[0].1.len() == nl {
                let (kind, ch) = local.gates.pop().unwrap_or((Kind::Or, Vec::new()));
                Method::Formula(kind, ch)
            } else {
                let ord = order::order(&local);
                local.permute_leaves(&ord);
                mgr.reset();
                match build_bdd(&mut mgr, &local) {
                    Ok(root) => Method::Bdd(mgr.freeze(root)),
                    Err(bdd::Abort) => Method::Bounded(local.clone()),
                }
            };
            let module = Module {
                origin,
                leaves: local.leaves,
                method,
            };
            let p = a.evaluate(&module, &a.probs, &a.results, limits.deadline, usize::MAX);
            a.modules.push(module);
            a.results.push(p);
        }
        a
    }

    /// The unavailability of the root.
    pub fn outcome(&self) -> Outcome {
        match self.top {
            Top::Const(b) => Outcome::Exact(if b { 1.0 } else { 0.0 }),
            Top::Leaf(e) => Outcome::Exact(self.probs[e as usize].0),
            Top::Modules => to_outcome(*self.results.last().unwrap_or(&Prob::Exact(0.0, 1.0))),
        }
    }

    /// The unavailability with the probabilities of some events replaced (`(event, q)` pairs),
    /// reusing the compiled BDDs: O(size of the BDDs). Modules that were bounded are
    /// re-bounded with a shallow expansion.
    pub fn unavailability_with(&self, overrides: &[(EventId, f64)]) -> Outcome {
        let mut probs = self.probs.clone();
        for &(e, q) in overrides {
            if (e as usize) < self.nevents {
                probs[e as usize] = (q, 1.0 - q);
            }
        }
        match self.top {
            Top::Leaf(e) => return Outcome::Exact(probs[e as usize].0),
            Top::Const(_) => return self.outcome(),
            Top::Modules => {}
        }
        let mut results = Vec::with_capacity(self.modules.len());
        for m in &self.modules {
            let p = self.evaluate(m, &probs, &results, None, REBOUND_DEPTH);
            results.push(p);
        }
        to_outcome(*results.last().unwrap_or(&Prob::Exact(0.0, 1.0)))
    }

    /// True when every module is a BDD or a formula and every result is
    /// exact: then re-evaluating with other exact probabilities stays exact
    /// and needs no bounding.
    fn is_exact_bdds(&self) -> bool {
        matches!(self.top, Top::Modules)
            && !self.modules.is_empty()
            && self
                .modules
                .iter()
                .all(|m| matches!(m.method, Method::Bdd(_) | Method::Formula(..)))
            && self.results.iter().all(|r| matches!(r, Prob::Exact(..)))
    }

    /// A re-evaluator for many override sets that each touch few events:
    /// see [`Reevaluator`].
    pub fn reevaluator(&self) -> Reevaluator<'_> {
        let mut event_module = vec![u32::MAX; self.nevents];
        let mut parent = vec![u32::MAX; self.modules.len()];
        for (mi, m) in self.modules.iter().enumerate() {
            for &l in &m.leaves {
                match l {
                    Leaf::Event(e) => {
                        if let Some(slot) = event_module.get_mut(e as usize) {
                            *slot = mi as u32;
                        }
                    }
                    Leaf::Module(s) => parent[s as usize] = mi as u32,
                }
            }
        }
        Reevaluator {
            analysis: self,
            probs: self.probs.clone(),
            results: self.results.clone(),
            event_module,
            parent,
            dirty: vec![false; self.modules.len()],
            touched: Vec::new(),
            exact: self.is_exact_bdds(),
            pairs: Vec::new(),
            gate_pairs: Vec::new(),
            down: Vec::new(),
            up: Vec::new(),
        }
    }

    /// dU/dq_e for every event e (indexed by [`EventId`], zero for events not below the root),
    /// exact; `None` when the unavailability is only bounded. Since U is multilinear,
    /// `q_e * dU/dq_e` is the downtime that would vanish if event e were perfect.
    pub fn importance(&self) -> Option<Vec<f64>> {
        let mut out = vec![0.0; self.nevents];
        match self.top {
            Top::Const(_) => return Some(out),
            Top::Leaf(e) => {
                if (e as usize) < self.nevents {
                    out[e as usize] = 1.0;
                }
                return Some(out);
            }
            Top::Modules => {}
        }
        if self.results.iter().any(|r| matches!(r, Prob::Interval(..))) {
            return None;
        }
        let mut reverse = Reverse::default();
        self.reverse(&self.probs, &self.results, 1.0, &mut out, &mut reverse)?;
        Some(out)
    }

    /// Adds `seed * dU/dq_e` to `out[e]` for every event `e`, at the
    /// events' probabilities `probs` and the modules' exact `results`
    /// (computed from them), module by module from the top (reverse
    /// mode); `None` where a module is not a BDD or a formula.
    fn reverse(
        &self,
        probs: &[(f64, f64)],
        results: &[Prob],
        seed: f64,
        out: &mut [f64],
        buffers: &mut Reverse,
    ) -> Option<()> {
        let Reverse {
            scale,
            pairs,
            local,
            gate_pairs,
            gate_gradient,
            scratch,
        } = buffers;
        scale.clear();
        scale.resize(self.modules.len(), 0.0);
        if let Some(s) = scale.last_mut() {
            *s = seed;
        }
        for (mi, m) in self.modules.iter().enumerate().rev() {
            if scale[mi] == 0.0 {
                continue;
            }
            self.leaf_pairs(m, probs, results, pairs);
            local.clear();
            local.resize(m.leaves.len(), 0.0);
            match &m.method {
                Method::Formula(kind, ch) => {
                    gate_pairs.clear();
                    gate_pairs.extend(ch.iter().map(|&c| pairs[c as usize]));
                    gate_gradient.clear();
                    gate_gradient.resize(ch.len(), 0.0);
                    tree::gradient(*kind, gate_pairs, 1.0, gate_gradient);
                    for (i, &c) in ch.iter().enumerate() {
                        local[c as usize] += gate_gradient[i];
                    }
                }
                Method::Bdd(c) => c.gradient_with(pairs, 1.0, local, scratch),
                Method::Bounded(_) | Method::Known(..) | Method::Skipped => return None,
            }
            for (i, &l) in m.leaves.iter().enumerate() {
                match l {
                    Leaf::Event(e) => {
                        if let Some(slot) = out.get_mut(e as usize) {
                            *slot += scale[mi] * local[i];
                        }
                    }
                    Leaf::Module(s) => scale[s as usize] += scale[mi] * local[i],
                }
            }
        }
        Some(())
    }

    /// Total number of BDD nodes kept (for diagnostics).
    pub fn bdd_size(&self) -> usize {
        self.modules
            .iter()
            .map(|m| match &m.method {
                Method::Bdd(c) => c.len(),
                _ => 0,
            })
            .sum()
    }

    /// Number of modules (for diagnostics).
    pub fn module_count(&self) -> usize {
        self.modules.len()
    }

    fn leaf_pair(&self, l: Leaf, probs: &[(f64, f64)], results: &[Prob]) -> (f64, f64) {
        match l {
            Leaf::Event(e) => probs[e as usize],
            Leaf::Module(m) => match results[m as usize] {
                Prob::Exact(d, u) => (d, u),
                Prob::Interval(l, _) => (l, 1.0 - l),
            },
        }
    }

    fn evaluate(
        &self,
        m: &Module,
        probs: &[(f64, f64)],
        results: &[Prob],
        deadline: Option<Instant>,
        depth: usize,
    ) -> Prob {
        let leafp: Vec<Prob> = m
            .leaves
            .iter()
            .map(|&l| match l {
                Leaf::Event(e) => {
                    let (d, u) = probs[e as usize];
                    Prob::Exact(d, u)
                }
                Leaf::Module(s) => results[s as usize],
            })
            .collect();
        let exact = leafp.iter().all(|p| matches!(p, Prob::Exact(..)));
        let point = |f: &PairFn| -> Prob {
            if exact {
                let pairs: Vec<(f64, f64)> = leafp
                    .iter()
                    .map(|p| match *p {
                        Prob::Exact(d, u) => (d, u),
                        Prob::Interval(l, _) => (l, 1.0 - l),
                    })
                    .collect();
                let (d, u) = f(&pairs);
                Prob::Exact(d, u)
            } else {
                // Monotone in every leaf: evaluate at both ends.
                let lows: Vec<(f64, f64)> = leafp
                    .iter()
                    .map(|p| (p.interval().0, 1.0 - p.interval().0))
                    .collect();
                let highs: Vec<(f64, f64)> = leafp
                    .iter()
                    .map(|p| (p.interval().1, 1.0 - p.interval().1))
                    .collect();
                Prob::Interval(f(&lows).0, f(&highs).0)
            }
        };
        match &m.method {
            Method::Known(d, u) => Prob::Exact(*d, *u),
            Method::Skipped => Prob::Exact(0.0, 1.0),
            Method::Formula(kind, ch) => point(&|p: &[(f64, f64)]| {
                let c: Vec<(f64, f64)> = ch.iter().map(|&i| p[i as usize]).collect();
                tree::eval(*kind, &c)
            }),
            Method::Bdd(c) => point(&|p: &[(f64, f64)]| c.eval(p)),
            Method::Bounded(local) => {
                let iv: Vec<(f64, f64)> = leafp.iter().map(|p| p.interval()).collect();
                let b = bounds::bound(local, &iv, deadline, self.budget, depth);
                if b.exact && exact {
                    Prob::Exact(b.lo, 1.0 - b.lo)
                } else {
                    Prob::Interval(b.lo, b.hi)
                }
            }
        }
    }
}

/// Re-evaluates an [`Analysis`] with some events' probabilities replaced,
/// evaluating again only the modules above a replaced event (each event is
/// a leaf of one module, each module of one parent): the same results as
/// [`Analysis::unavailability_with`], at a fraction of the cost when the
/// overrides are few and the modules many.
pub struct Reevaluator<'a> {
    analysis: &'a Analysis,
    probs: Vec<(f64, f64)>,
    /// The results with no override; dirty entries are restored after use.
    results: Vec<Prob>,
    event_module: Vec<u32>,
    parent: Vec<u32>,
    dirty: Vec<bool>,
    touched: Vec<u32>,
    /// Every module is a BDD or a formula with an exact result, so every
    /// re-evaluation is exact too and takes the direct path.
    exact: bool,
    /// Buffers reused across evaluations.
    pairs: Vec<(f64, f64)>,
    gate_pairs: Vec<(f64, f64)>,
    down: Vec<f64>,
    up: Vec<f64>,
}

impl Reevaluator<'_> {
    /// The unavailability with `(event, q)` overrides.
    pub fn unavailability_with(&mut self, overrides: &[(EventId, f64)]) -> Outcome {
        let a = self.analysis;
        match a.top {
            Top::Const(_) | Top::Leaf(_) => return a.unavailability_with(overrides),
            Top::Modules => {}
        }
        self.touched.clear();
        for &(e, q) in overrides {
            let Some(&m) = self.event_module.get(e as usize) else {
                continue;
            };
            self.probs[e as usize] = (q, 1.0 - q);
            let mut m = m;
            while m != u32::MAX && !self.dirty[m as usize] {
                self.dirty[m as usize] = true;
                self.touched.push(m);
                m = self.parent[m as usize];
            }
        }
        self.touched.sort_unstable();
        for t in 0..self.touched.len() {
            let m = self.touched[t];
            let module = &a.modules[m as usize];
            self.results[m as usize] = if self.exact {
                a.leaf_pairs(module, &self.probs, &self.results, &mut self.pairs);
                let (d, u) = match &module.method {
                    Method::Bdd(c) => c.eval_with(&self.pairs, &mut self.down, &mut self.up),
                    Method::Formula(kind, ch) => {
                        self.gate_pairs.clear();
                        self.gate_pairs
                            .extend(ch.iter().map(|&c| self.pairs[c as usize]));
                        tree::eval(*kind, &self.gate_pairs)
                    }
                    // Not reached: an exact analysis has only these two.
                    _ => continue,
                };
                Prob::Exact(d, u)
            } else {
                a.evaluate(module, &self.probs, &self.results, None, REBOUND_DEPTH)
            };
        }
        let outcome = to_outcome(*self.results.last().unwrap_or(&Prob::Exact(0.0, 1.0)));
        // Back to no override.
        for &m in &self.touched {
            self.dirty[m as usize] = false;
            self.results[m as usize] = a.results[m as usize];
        }
        for &(e, _) in overrides {
            if let Some(p) = a.probs.get(e as usize) {
                self.probs[e as usize] = *p;
            }
        }
        outcome
    }
}

/// Buffers of [`Analysis::reverse`], kept between calls.
#[derive(Default)]
struct Reverse {
    /// By module: the derivative of the result by its P(down).
    scale: Vec<f64>,
    pairs: Vec<(f64, f64)>,
    /// By leaf of one module: the derivative of its P(down).
    local: Vec<f64>,
    gate_pairs: Vec<(f64, f64)>,
    gate_gradient: Vec<f64>,
    scratch: bdd::Scratch,
}

/// A function of the leaves' (down, up) pairs to the module's.
type PairFn<'a> = dyn Fn(&[(f64, f64)]) -> (f64, f64) + 'a;

/// Builds the BDD of a module (leaf i is variable i).
fn build_bdd(mgr: &mut Manager, local: &Local) -> Result<u32, bdd::Abort> {
    let nl = local.leaves.len();
    let mut ids = Vec::with_capacity(nl + local.gates.len());
    for i in 0..nl {
        ids.push(mgr.var(i as u32)?);
    }
    let mut ch_ids = Vec::new();
    for (kind, ch) in &local.gates {
        ch_ids.clear();
        ch_ids.extend(ch.iter().map(|&c| ids[c as usize]));
        let r = mgr.gate(*kind, &ch_ids)?;
        ids.push(r);
    }
    Ok(*ids.last().unwrap_or(&0))
}

/// Widening of certified bounds against rounding, relative.
const ROUNDING_SLACK: f64 = 1e-12;

fn to_outcome(p: Prob) -> Outcome {
    match p {
        Prob::Exact(d, _) => Outcome::Exact(d),
        Prob::Interval(l, h) => Outcome::Bounds {
            lower: (l * (1.0 - ROUNDING_SLACK)).max(0.0),
            upper: (h * (1.0 + ROUNDING_SLACK)).min(1.0),
        },
    }
}

/// The unavailability of every root: `Exact` when the limits allow, certified `Bounds`
/// otherwise. The deadline is shared by all roots; modules solved exactly for one root are
/// reused by the next ones.
pub fn unavailability(
    graph: &FaultGraph,
    roots: &[NodeRef],
    q: &[f64],
    limits: &Limits,
) -> Vec<Outcome> {
    let mut known: HashMap<NodeRef, (f64, f64)> = HashMap::new();
    let mut out = Vec::with_capacity(roots.len());
    for &root in roots {
        let a = Analysis::build(graph, root, q, &|n| known.get(&n).copied(), limits);
        out.push(a.outcome());
        for (m, r) in a.modules.iter().zip(&a.results) {
            if let (Prob::Exact(d, u), Some(o), false) =
                (*r, m.origin, matches!(m.method, Method::Skipped))
            {
                known.entry(o).or_insert((d, u));
            }
        }
    }
    out
}

//! Certified bounds by conditioning on the shared events (the failure
//! domains), for the services whose exact BDD is too large.
//!
//! Why it works where the BDD does not: on a platform whose replica sets are
//! spread over racks, a service's BDD over its domain and instance events
//! together grows with the number of racks "open" at once in the variable
//! order, which is exponential (see `BENCHMARKS.md`, "Why realistic 10k is
//! slow"). With the domain events fixed, what is left is cheap: each replica
//! set's instances are its own. So the function is compiled once with every
//! sub-function of domain events alone cut off into a fresh *stub* event (one
//! per edge, so no sharing is left between them), and then evaluated for the
//! states of the cone's domain events in decreasing order of probability,
//! each stub set to what the state makes it (certainly down or certainly up).
//!
//! Every state enumerated contributes its exact share of P(down). The states
//! left have a known total probability, and since every gate is monotone (a
//! coherent system: more domains down never brings a service up), P(down)
//! given any of them lies between its value with every domain up and its
//! value with every domain down. Hence certified bounds, whose width is the
//! probability of the states not enumerated; with every state enumerated,
//! the exact value.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

use super::engine::{any_happens, Analysis, EventId, FaultGraph, Gate, Limits, NodeRef, Outcome};

/// When to stop enumerating the states of one root.
#[derive(Clone, Copy, Debug)]
pub struct Stop {
    /// Stop at this instant.
    pub deadline: Instant,
    /// Stop once the bounds are this close, relative to the upper bound.
    pub relative_width: f64,
    /// Most states to evaluate.
    pub max_states: usize,
    /// Stop after the single deviations when the states beyond the pairs
    /// weigh too much for the bounds to get narrow (see [`HOPELESS_WIDTH`]).
    pub give_up_when_hopeless: bool,
}

/// Which graph nodes depend on domain events only (every event in their cone
/// is one of `is_shared`, and they are not constants).
pub fn shared_only(graph: &FaultGraph, is_shared: &[bool]) -> Vec<bool> {
    let mut only: Vec<bool> = Vec::with_capacity(graph.len());
    for gate in graph.gates() {
        let v = match gate {
            Gate::Event(e) => is_shared.get(*e as usize).copied().unwrap_or(false),
            Gate::Const(_) => false,
            Gate::And(c) | Gate::Or(c) | Gate::AtLeast { of: c, .. } => {
                !c.is_empty() && c.iter().all(|&c| only[c as usize])
            }
        };
        only.push(v);
    }
    only
}

/// The root's function with every shared-only child cut off into a stub.
struct Cut {
    graph: FaultGraph,
    root: NodeRef,
    /// Probability of being down of each local event (stubs: 0, all up).
    q: Vec<f64>,
    /// Per stub: its local event and the shared-only node it stands for.
    stubs: Vec<(EventId, NodeRef)>,
}

/// Copies the cone of `root` into a local graph, cutting the shared-only
/// children of the other nodes into stubs. `root` itself must not be
/// shared-only.
fn cut(graph: &FaultGraph, q: &[f64], only: &[bool], root: NodeRef) -> Cut {
    let mut out = Cut {
        graph: FaultGraph::new(),
        root: 0,
        q: Vec::new(),
        stubs: Vec::new(),
    };
    let mut local: HashMap<NodeRef, NodeRef> = HashMap::new();
    let mut events: HashMap<EventId, EventId> = HashMap::new();
    let mut stack: Vec<(NodeRef, bool)> = vec![(root, false)];
    while let Some((v, expanded)) = stack.pop() {
        if local.contains_key(&v) {
            continue;
        }
        let gate = graph.gate(v);
        let children: &[NodeRef] = match gate {
            Gate::And(c) | Gate::Or(c) | Gate::AtLeast { of: c, .. } => c,
            Gate::Event(_) | Gate::Const(_) => &[],
        };
        if !expanded {
            stack.push((v, true));
            for &c in children {
                if !only[c as usize] && !local.contains_key(&c) {
                    stack.push((c, false));
                }
            }
            continue;
        }
        let map = |c: NodeRef, out: &mut Cut| -> NodeRef {
            if only[c as usize] {
                let e = out.q.len() as EventId;
                out.q.push(0.0);
                out.stubs.push((e, c));
                out.graph.add(Gate::Event(e))
            } else {
                local[&c]
            }
        };
        let copy = match gate {
            Gate::Event(e) => {
                let next = out.q.len() as EventId;
                let le = *events.entry(*e).or_insert(next);
                if le == next {
                    out.q.push(q[*e as usize]);
                }
                Gate::Event(le)
            }
            Gate::Const(b) => Gate::Const(*b),
            Gate::And(c) => Gate::And(c.iter().map(|&c| map(c, &mut out)).collect()),
            Gate::Or(c) => Gate::Or(c.iter().map(|&c| map(c, &mut out)).collect()),
            Gate::AtLeast { k, of } => Gate::AtLeast {
                k: *k,
                of: of.iter().map(|&c| map(c, &mut out)).collect(),
            },
        };
        let node = out.graph.add(copy);
        local.insert(v, node);
    }
    out.root = local[&root];
    out
}

/// The sub-circuit of shared-only nodes below the stubs, evaluated per state
/// of its events.
struct DomainCircuit {
    /// Nodes in ascending graph order (children first).
    nodes: Vec<NodeRef>,
    /// Per node, its gate over positions in `nodes` or its event's index.
    gates: Vec<LocalGate>,
    /// The distinct events, with their probability of being down.
    q: Vec<f64>,
    /// Per stub, the position of its node.
    stub_node: Vec<usize>,
}

enum LocalGate {
    Event(usize),
    And(Vec<usize>),
    Or(Vec<usize>),
    AtLeast(u32, Vec<usize>),
}

impl DomainCircuit {
    fn new(graph: &FaultGraph, q: &[f64], stubs: &[(EventId, NodeRef)]) -> DomainCircuit {
        let mut seen: HashMap<NodeRef, usize> = HashMap::new();
        let mut stack: Vec<NodeRef> = stubs.iter().map(|s| s.1).collect();
        let mut nodes = Vec::new();
        while let Some(v) = stack.pop() {
            if seen.insert(v, 0).is_some() {
                continue;
            }
            nodes.push(v);
            if let Gate::And(c) | Gate::Or(c) | Gate::AtLeast { of: c, .. } = graph.gate(v) {
                stack.extend_from_slice(c);
            }
        }
        nodes.sort_unstable();
        for (i, v) in nodes.iter().enumerate() {
            seen.insert(*v, i);
        }
        let mut event_index: HashMap<EventId, usize> = HashMap::new();
        let mut dq = Vec::new();
        let pos = |c: &[NodeRef]| c.iter().map(|c| seen[c]).collect::<Vec<usize>>();
        let gates = nodes
            .iter()
            .map(|&v| match graph.gate(v) {
                Gate::Event(e) => {
                    let next = dq.len();
                    let i = *event_index.entry(*e).or_insert(next);
                    if i == next {
                        dq.push(q[*e as usize]);
                    }
                    LocalGate::Event(i)
                }
                Gate::And(c) => LocalGate::And(pos(c)),
                Gate::Or(c) => LocalGate::Or(pos(c)),
                Gate::AtLeast { k, of } => LocalGate::AtLeast(*k, pos(of)),
                // Constants are never shared-only.
                Gate::Const(_) => LocalGate::And(Vec::new()),
            })
            .collect();
        let stub_node = stubs.iter().map(|s| seen[&s.1]).collect();
        DomainCircuit {
            nodes,
            gates,
            q: dq,
            stub_node,
        }
    }

    /// Which stubs are down when the events with `down[i]` are down.
    fn stubs_down(&self, down: &[bool], up: &mut Vec<bool>, out: &mut Vec<usize>) {
        up.clear();
        for g in &self.gates {
            let v = match g {
                LocalGate::Event(i) => !down[*i],
                LocalGate::And(c) => c.iter().all(|&c| up[c]),
                LocalGate::Or(c) => c.iter().any(|&c| up[c]),
                LocalGate::AtLeast(k, c) => c.iter().filter(|&&c| up[c]).count() >= *k as usize,
            };
            up.push(v);
        }
        out.clear();
        out.extend(
            self.stub_node
                .iter()
                .enumerate()
                .filter(|(_, &n)| !up[n])
                .map(|(s, _)| s),
        );
        debug_assert_eq!(up.len(), self.nodes.len());
    }
}

/// A set of deviations from the most likely state, by rank, with its
/// probability.
struct Candidate {
    p: f64,
    ranks: Vec<u32>,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.p.total_cmp(&other.p) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.p.total_cmp(&other.p)
    }
}

/// The states of independent binary events in non-increasing order of
/// probability, each once: the most likely state first, then sets of
/// deviations from it (an event flipped from its likelier value), grown and
/// shifted by rank through a heap.
struct States {
    /// Event of each rank, likeliest deviation first.
    by_rank: Vec<usize>,
    /// Ratio P(deviated) / P(not deviated) of each rank, non-increasing.
    ratio: Vec<f64>,
    /// The likelier value of each event: true for down.
    base: Vec<bool>,
    p_base: f64,
    heap: BinaryHeap<Candidate>,
    started: bool,
}

impl States {
    fn new(q: &[f64]) -> States {
        let base: Vec<bool> = q.iter().map(|&q| q > 0.5).collect();
        let p_base = q.iter().map(|&q| q.max(1.0 - q)).product();
        let mut by_rank: Vec<usize> = (0..q.len()).collect();
        let ratio_of = |i: usize| q[i].min(1.0 - q[i]) / q[i].max(1.0 - q[i]);
        by_rank.sort_by(|&a, &b| ratio_of(b).total_cmp(&ratio_of(a)));
        let ratio = by_rank.iter().map(|&i| ratio_of(i)).collect();
        States {
            by_rank,
            ratio,
            base,
            p_base,
            heap: BinaryHeap::new(),
            started: false,
        }
    }

    /// True once every state has been returned.
    fn exhausted(&self) -> bool {
        self.started && self.heap.is_empty()
    }

    /// The next state: its probability and whether each event is down.
    fn next(&mut self, down: &mut [bool]) -> Option<f64> {
        let p = if !self.started {
            self.started = true;
            if !self.ratio.is_empty() && self.ratio[0] > 0.0 {
                self.heap.push(Candidate {
                    p: self.p_base * self.ratio[0],
                    ranks: vec![0],
                });
            }
            down.copy_from_slice(&self.base);
            return Some(self.p_base);
        } else {
            let c = self.heap.pop()?;
            let last = *c.ranks.last()? as usize;
            if last + 1 < self.ratio.len() && self.ratio[last + 1] > 0.0 {
                let grown_p = c.p * self.ratio[last + 1];
                let mut grown = c.ranks.clone();
                grown.push(last as u32 + 1);
                self.heap.push(Candidate {
                    p: grown_p,
                    ranks: grown,
                });
                let shifted_p = c.p / self.ratio[last] * self.ratio[last + 1];
                let mut shifted = c.ranks.clone();
                if let Some(l) = shifted.last_mut() {
                    *l = last as u32 + 1;
                }
                self.heap.push(Candidate {
                    p: shifted_p,
                    ranks: shifted,
                });
            }
            down.copy_from_slice(&self.base);
            for &r in &c.ranks {
                let e = self.by_rank[r as usize];
                down[e] = !down[e];
            }
            c.p
        };
        Some(p)
    }
}

/// Relative width that the enumeration of one root would still have after
/// every pair of deviations, beyond which it stops after the singles.
const HOPELESS_WIDTH: f64 = 0.5;

/// What conditioning gave for one root.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conditioned {
    /// The bounds (exact when every state was enumerated).
    pub outcome: Outcome,
    /// States evaluated.
    pub states: usize,
    /// Domain events in the root's cone.
    pub domain_events: usize,
}

/// Bounds on the unavailability of `root` by conditioning on the events
/// marked shared (`only` from [`shared_only`] over them). `compile` limits
/// the one compilation of the cut function; `None` when that compilation is
/// not exact (the cut function is itself too large) or the root depends on
/// shared events alone.
pub fn bounds(
    graph: &FaultGraph,
    q: &[f64],
    only: &[bool],
    root: NodeRef,
    compile: &Limits,
    stop: &Stop,
) -> Option<Conditioned> {
    if only[root as usize] {
        return None;
    }
    let cut = cut(graph, q, only, root);
    let analysis = Analysis::new(&cut.graph, cut.root, &cut.q, compile);
    if !analysis.outcome().is_exact() {
        return None;
    }
    let circuit = DomainCircuit::new(graph, q, &cut.stubs);
    let m = circuit.q.len();
    let mut overrides: Vec<(EventId, f64)> = Vec::with_capacity(cut.stubs.len());
    let mut up = Vec::with_capacity(circuit.nodes.len());
    let mut stubs_down = Vec::new();
    let mut re = analysis.reevaluator();
    let mut value = |down: &[bool], overrides: &mut Vec<(EventId, f64)>| -> (f64, f64) {
        circuit.stubs_down(down, &mut up, &mut stubs_down);
        overrides.clear();
        overrides.extend(stubs_down.iter().map(|&s| (cut.stubs[s].0, 1.0)));
        let o = re.unavailability_with(overrides);
        (o.lower(), o.upper())
    };
    // The extremes: every domain up, every domain down.
    let floor = value(&vec![false; m], &mut overrides).0;
    let ceiling = value(&vec![true; m], &mut overrides).1;
    let mut states = States::new(&circuit.q);
    let mut down = vec![false; m];
    let (mut lower, mut upper) = (0.0_f64, 0.0_f64);
    // The probability of the states left: that of the states other than the
    // likeliest one (computed without cancellation), less those enumerated,
    // with a bound on the rounding of that difference.
    let mut off_base = 0.0_f64;
    let mut count = 0usize;
    // Every state but the likeliest: some event away from its likelier value.
    let off_total = any_happens(circuit.q.iter().map(|&q| q.min(1.0 - q)));
    let left = |off_base: f64, count: usize| -> (f64, f64) {
        let left = off_total - off_base;
        let err = (count + m + 4) as f64 * f64::EPSILON * off_total;
        ((left - err).max(0.0), (left + err).max(0.0))
    };
    let bounds_now =
        |lower: f64, upper: f64, (lo, hi): (f64, f64)| (lower + lo * floor, upper + hi * ceiling);
    let lambda: f64 = states.ratio.iter().sum();
    let beyond_pairs = -(-lambda).exp_m1() - lambda * (-lambda).exp() * (1.0 + lambda / 2.0);
    while let Some(p) = states.next(&mut down) {
        let (lo, hi) = value(&down, &mut overrides);
        lower += p * lo;
        upper += p * hi;
        if count > 0 {
            off_base += p;
        }
        count += 1;
        let (l, h) = bounds_now(lower, upper, left(off_base, count));
        // Past the single deviations: if even every pair would leave a
        // width above HOPELESS_WIDTH (the states of three deviations or
        // more weigh that much, by a Poisson estimate), the time serves
        // other roots better.
        let hopeless =
            stop.give_up_when_hopeless && count == m + 1 && beyond_pairs > HOPELESS_WIDTH * h;
        if h - l <= stop.relative_width * h
            || hopeless
            || count >= stop.max_states
            || (count % 16 == 0 && Instant::now() >= stop.deadline)
        {
            break;
        }
    }
    // Every state enumerated: nothing is left.
    let remaining = if states.exhausted() {
        (0.0, 0.0)
    } else {
        left(off_base, count)
    };
    let (l, h) = bounds_now(lower, upper, remaining);
    let outcome = if l == h {
        Outcome::Exact(l.clamp(0.0, 1.0))
    } else {
        // Widened against rounding in the sums of `count` terms, as the
        // engine's bounds are.
        let slack = (2 * (count + m)) as f64 * f64::EPSILON + 1e-12;
        Outcome::Bounds {
            lower: (l * (1.0 - slack)).clamp(0.0, 1.0),
            upper: (h * (1.0 + slack)).clamp(0.0, 1.0),
        }
    };
    Some(Conditioned {
        outcome,
        states: count,
        domain_events: m,
    })
}

#[cfg(test)]
mod tests;

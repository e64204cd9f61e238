//! Many re-evaluations of one [`Analysis`] that replace the same few events' probabilities
//! (posterior draws, for instance): the modules above those events are prepared once, and per
//! set of probabilities only the BDD nodes that depend on a replaced event are computed again.

use super::prep::Leaf;
use super::{to_outcome, Analysis, EventId, Method, Outcome, Prob, Reverse, Top};

/// A module evaluated again for every set: its varying leaves reach it.
struct Dirty {
    module: usize,
    /// For a BDD: its nodes that depend on a varying leaf, and every node's probabilities
    /// (those of the other nodes stay as computed once).
    nodes: Vec<u32>,
    down: Vec<f64>,
    up: Vec<f64>,
}

impl Analysis {
    /// The unavailability under each of `sets` of probabilities for the same `events`
    /// (`sets[k][j]` is P(down) of `events[j]` in set k): to the last bit what
    /// [`Analysis::unavailability_with`] gives for each set, without copying the probability
    /// table per set, and evaluating again only the modules above an event of `events` and,
    /// in their BDDs, only the nodes above one.
    pub fn unavailability_sets(&self, events: &[EventId], sets: &[Vec<f64>]) -> Vec<Outcome> {
        self.unavailability_each(events, sets.len(), |k, set| set.copy_from_slice(&sets[k]))
    }

    /// [`Analysis::unavailability_sets`] for `count` sets made on the fly:
    /// `make(k, set)` writes set `k` (one probability per event of
    /// `events`) into `set`.
    pub fn unavailability_each(
        &self,
        events: &[EventId],
        count: usize,
        mut make: impl FnMut(usize, &mut [f64]),
    ) -> Vec<Outcome> {
        let mut set = vec![0.0; events.len()];
        if !self.is_exact_bdds() {
            // Bounded modules are re-bounded per set: nothing to share.
            return (0..count)
                .map(|k| {
                    make(k, &mut set);
                    let overrides: Vec<(EventId, f64)> =
                        events.iter().copied().zip(set.iter().copied()).collect();
                    self.unavailability_with(&overrides)
                })
                .collect();
        }
        // (position in a set, event), for the events of this analysis.
        let events: Vec<(usize, usize)> = events
            .iter()
            .enumerate()
            .map(|(j, &e)| (j, e as usize))
            .filter(|&(_, e)| e < self.nevents)
            .collect();
        let mut varying_event = vec![false; self.nevents];
        for &(_, e) in &events {
            varying_event[e] = true;
        }
        // Modules with a varying leaf, and (children first) those above them.
        let mut varying_module = vec![false; self.modules.len()];
        let mut dirty: Vec<Dirty> = Vec::new();
        let mut pairs: Vec<(f64, f64)> = Vec::new();
        let mut varying: Vec<bool> = Vec::new();
        for (mi, m) in self.modules.iter().enumerate() {
            varying.clear();
            varying.extend(m.leaves.iter().map(|&l| match l {
                Leaf::Event(e) => varying_event.get(e as usize).copied().unwrap_or(false),
                Leaf::Module(s) => varying_module[s as usize],
            }));
            if !varying.iter().any(|&v| v) {
                continue;
            }
            varying_module[mi] = true;
            let mut entry = Dirty {
                module: mi,
                nodes: Vec::new(),
                down: Vec::new(),
                up: Vec::new(),
            };
            if let Method::Bdd(c) = &m.method {
                entry.nodes = c.dependent(&varying);
                self.leaf_pairs(m, &self.probs, &self.results, &mut pairs);
                c.eval_with(&pairs, &mut entry.down, &mut entry.up);
            }
            dirty.push(entry);
        }
        let last = self.modules.len() - 1;
        let mut probs = self.probs.clone();
        let mut results = self.results.clone();
        let mut gate_pairs: Vec<(f64, f64)> = Vec::new();
        (0..count)
            .map(|k| {
                make(k, &mut set);
                for &(j, e) in &events {
                    probs[e] = (set[j], 1.0 - set[j]);
                }
                for entry in &mut dirty {
                    let m = &self.modules[entry.module];
                    self.leaf_pairs(m, &probs, &results, &mut pairs);
                    let (d, u) = match &m.method {
                        Method::Bdd(c) => c.eval_nodes(
                            &pairs,
                            &entry.nodes,
                            &mut entry.down,
                            &mut entry.up,
                            entry.module != last,
                        ),
                        Method::Formula(kind, ch) => {
                            gate_pairs.clear();
                            gate_pairs.extend(ch.iter().map(|&c| pairs[c as usize]));
                            super::tree::eval(*kind, &gate_pairs)
                        }
                        // Not reached: every module is a BDD or a formula.
                        _ => continue,
                    };
                    results[entry.module] = Prob::Exact(d, u);
                }
                to_outcome(*results.last().unwrap_or(&Prob::Exact(0.0, 1.0)))
            })
            .collect()
    }

    /// `sum over k of weights[k] * dU/dq_e` in the `weights.len()` sets
    /// made on the fly (as in [`Analysis::unavailability_each`]), for
    /// every event `e` (indexed by [`EventId`]): one forward and one
    /// reverse pass per set of nonzero weight, for all the events at once
    /// (the derivatives by the events of `events` themselves are of no
    /// use). `None` unless every module is an exact BDD or formula.
    pub fn importance_each(
        &self,
        events: &[EventId],
        weights: &[f64],
        mut make: impl FnMut(usize, &mut [f64]),
    ) -> Option<Vec<f64>> {
        let mut out = vec![0.0; self.nevents];
        match self.top {
            Top::Const(_) => return Some(out),
            Top::Leaf(e) => {
                if let Some(slot) = out.get_mut(e as usize) {
                    *slot = weights.iter().sum();
                }
                return Some(out);
            }
            Top::Modules => {}
        }
        if !self.is_exact_bdds() {
            return None;
        }
        let mut set = vec![0.0; events.len()];
        let mut probs = self.probs.clone();
        let mut results = self.results.clone();
        let (mut pairs, mut gate_pairs) = (Vec::new(), Vec::new());
        let (mut down, mut up) = (Vec::new(), Vec::new());
        let mut reverse = Reverse::default();
        for (k, &weight) in weights.iter().enumerate() {
            if weight == 0.0 {
                continue;
            }
            make(k, &mut set);
            for (&e, &q) in events.iter().zip(&set) {
                if let Some(slot) = probs.get_mut(e as usize) {
                    *slot = (q, 1.0 - q);
                }
            }
            for (mi, m) in self.modules.iter().enumerate() {
                self.leaf_pairs(m, &probs, &results, &mut pairs);
                let (d, u) = match &m.method {
                    Method::Bdd(c) => c.eval_with(&pairs, &mut down, &mut up),
                    Method::Formula(kind, ch) => {
                        gate_pairs.clear();
                        gate_pairs.extend(ch.iter().map(|&c| pairs[c as usize]));
                        super::tree::eval(*kind, &gate_pairs)
                    }
                    // Not reached: every module is a BDD or a formula.
                    _ => return None,
                };
                results[mi] = Prob::Exact(d, u);
            }
            self.reverse(&probs, &results, weight, &mut out, &mut reverse)?;
        }
        Some(out)
    }

    /// The (down, up) pairs of a module's leaves, all exact.
    pub(super) fn leaf_pairs(
        &self,
        m: &super::Module,
        probs: &[(f64, f64)],
        results: &[Prob],
        out: &mut Vec<(f64, f64)>,
    ) {
        out.clear();
        out.extend(m.leaves.iter().map(|&l| self.leaf_pair(l, probs, results)));
    }
}

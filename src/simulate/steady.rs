//! Steady-state Monte Carlo, bit-parallel: 64 trials per machine word.
//!
//! A block of trials draws, for each basic event, only the trials in which
//! it is down, by geometric skipping (one random number per failure, not per
//! trial). Then, word by word, only the nodes above a failed event are
//! re-evaluated, in ascending (topological) order, starting from the state
//! where everything is up; a node whose word comes out unchanged stops the
//! propagation. Each service's root word gives 64 up/down outcomes at once.

use super::circuit::{Circuit, Node};
use super::sampling::{skip, SimRng};

/// Trials in one block (a multiple of 64): the unit of parallel work and of
/// seeding.
pub const BLOCK_TRIALS: u64 = 1 << 18;

/// The counts of one block or of a whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Trials run.
    pub trials: u64,
    /// Trials in which each tracked root was down.
    pub down: Vec<u64>,
}

impl Counts {
    /// Adds another block's counts.
    pub fn add(&mut self, other: &Counts) {
        self.trials += other.trials;
        if self.down.len() < other.down.len() {
            self.down.resize(other.down.len(), 0);
        }
        for (a, b) in self.down.iter_mut().zip(&other.down) {
            *a += b;
        }
    }
}

/// The steady-state simulator of one circuit.
pub struct Steady<'a> {
    circuit: &'a Circuit,
    /// ln(1 - q) of each event (0 when it never fails).
    log_up: Vec<f64>,
    /// Tracked roots.
    roots: Vec<u32>,
    /// For each node, the tracked roots it is (indices into `roots`).
    root_index: Vec<Vec<u32>>,
    baseline: Vec<u64>,
}

impl<'a> Steady<'a> {
    /// A simulator of `roots` over `circuit`, with `q[e]` the probability
    /// that event `e` is down.
    pub fn new(circuit: &'a Circuit, q: &[f64], roots: &[u32]) -> Steady<'a> {
        let mut root_index = vec![Vec::new(); circuit.len()];
        for (i, &r) in roots.iter().enumerate() {
            root_index[r as usize].push(i as u32);
        }
        Steady {
            circuit,
            log_up: q
                .iter()
                .map(|&q| if q > 0.0 { (-q.min(1.0)).ln_1p() } else { 0.0 })
                .collect(),
            roots: roots.to_vec(),
            root_index,
            baseline: circuit
                .baseline
                .iter()
                .map(|&up| if up { !0 } else { 0 })
                .collect(),
        }
    }

    /// Runs `trials` trials (at most [`BLOCK_TRIALS`]) with `rng`.
    pub fn block(&self, trials: u64, rng: &mut SimRng) -> Counts {
        let trials = trials.min(BLOCK_TRIALS);
        let words = trials.div_ceil(64) as usize;
        // Failures of every event, as (trial, event), bucketed by word.
        let mut hits: Vec<(u32, u32)> = Vec::new();
        for (e, &log_up) in self.log_up.iter().enumerate() {
            if log_up == 0.0 {
                continue;
            }
            let mut at = skip(rng, log_up);
            while at < trials {
                hits.push((at as u32, e as u32));
                at = at.saturating_add(1).saturating_add(skip(rng, log_up));
            }
        }
        let mut start = vec![0u32; words + 1];
        for &(t, _) in &hits {
            start[(t >> 6) as usize + 1] += 1;
        }
        for w in 0..words {
            start[w + 1] += start[w];
        }
        let mut fill = start.clone();
        let mut sorted = vec![(0u32, 0u32); hits.len()];
        for &(t, e) in &hits {
            let slot = &mut fill[(t >> 6) as usize];
            sorted[*slot as usize] = (t, e);
            *slot += 1;
        }
        drop(hits);

        let mut counts = Counts {
            trials,
            down: vec![0; self.roots.len()],
        };
        // Roots down with everything up stay down (gates are monotone).
        for (i, &r) in self.roots.iter().enumerate() {
            if self.baseline[r as usize] == 0 {
                counts.down[i] = trials;
            }
        }
        let c = self.circuit;
        let mut values = self.baseline.clone();
        let mut touched = vec![false; c.len()];
        // Nodes waiting for evaluation, as a bit set scanned upwards: parents
        // have larger indices than children, so one upward sweep per word
        // evaluates every queued node after all its queued children.
        let mut queued = vec![0u64; c.len().div_ceil(64)];
        let mut touched_list: Vec<u32> = Vec::new();
        for w in 0..words {
            let hits = &sorted[start[w] as usize..start[w + 1] as usize];
            if hits.is_empty() {
                continue;
            }
            let mut lowest = usize::MAX;
            for &(t, e) in hits {
                let bit = 1u64 << (t & 63);
                for &node in c.event_nodes(e) {
                    if !touched[node as usize] {
                        touched[node as usize] = true;
                        touched_list.push(node);
                        for &p in c.parents(node) {
                            queued[p as usize >> 6] |= 1 << (p & 63);
                            lowest = lowest.min(p as usize >> 6);
                        }
                    }
                    values[node as usize] &= !bit;
                }
            }
            let mut slot = lowest;
            while slot < queued.len() {
                let bits = queued[slot];
                if bits == 0 {
                    slot += 1;
                    continue;
                }
                let node = (slot << 6 | bits.trailing_zeros() as usize) as u32;
                queued[slot] &= bits - 1;
                let new = self.evaluate(node, &values);
                if new == values[node as usize] {
                    continue;
                }
                values[node as usize] = new;
                if !std::mem::replace(&mut touched[node as usize], true) {
                    touched_list.push(node);
                }
                for &p in c.parents(node) {
                    queued[p as usize >> 6] |= 1 << (p & 63);
                }
            }
            for node in touched_list.drain(..) {
                let n = node as usize;
                if self.baseline[n] != 0 {
                    let down = u64::from((!values[n]).count_ones());
                    for &i in &self.root_index[n] {
                        counts.down[i as usize] += down;
                    }
                }
                values[n] = self.baseline[n];
                touched[n] = false;
            }
        }
        counts
    }

    /// The word of a gate from its children's words.
    #[inline]
    fn evaluate(&self, node: u32, values: &[u64]) -> u64 {
        let c = self.circuit;
        match c.nodes[node as usize] {
            Node::Event(_) => values[node as usize],
            Node::Const(b) => {
                if b {
                    !0
                } else {
                    0
                }
            }
            Node::Threshold { k } => {
                let children = c.children(node);
                let n = children.len() as u32;
                if k == 0 {
                    !0
                } else if k > n {
                    0
                } else if k == n {
                    children.iter().fold(!0, |acc, &x| acc & values[x as usize])
                } else if k == 1 {
                    children.iter().fold(0, |acc, &x| acc | values[x as usize])
                } else {
                    !at_least(n - k + 1, children.iter().map(|&x| !values[x as usize]))
                }
            }
        }
    }
}

/// For each of the 64 bit positions, whether at least `f` of the words have
/// that bit set: the words are added as bit-sliced counters.
fn at_least(f: u32, words: impl Iterator<Item = u64>) -> u64 {
    let mut planes = [0u64; 33];
    let mut used = 0;
    for word in words {
        let mut carry = word;
        let mut i = 0;
        while carry != 0 {
            if i == used {
                planes[i] = 0;
                used += 1;
            }
            let next = planes[i] & carry;
            planes[i] ^= carry;
            carry = next;
            i += 1;
        }
    }
    // count >= f, comparing from the most significant plane down.
    let mut greater = 0u64;
    let mut equal = !0u64;
    for b in (0..33).rev() {
        let plane = if b < used { planes[b] } else { 0 };
        if b < 32 && (f >> b) & 1 == 1 {
            equal &= plane;
        } else {
            greater |= equal & plane;
            equal &= !plane;
        }
    }
    greater | equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::engine::{FaultGraph, Gate};
    use crate::simulate::sampling::{block_rng, Stream};

    #[test]
    fn at_least_counts_bits() {
        let words = [0b1011u64, 0b0110, 0b0011, 0b1000];
        // Per bit, counts: bit0 2, bit1 3, bit2 1, bit3 2.
        assert_eq!(at_least(1, words.into_iter()) & 0xF, 0b1111);
        assert_eq!(at_least(2, words.into_iter()) & 0xF, 0b1011);
        assert_eq!(at_least(3, words.into_iter()) & 0xF, 0b0010);
        assert_eq!(at_least(4, words.into_iter()) & 0xF, 0);
        assert_eq!(at_least(1, std::iter::empty()), 0);
    }

    #[test]
    fn two_of_three_matches_its_closed_form() {
        // 2 of 3 identical components, each down with probability q: the
        // group is down with probability 3q²(1 - q) + q³.
        let mut g = FaultGraph::new();
        let events: Vec<_> = (0..3).map(|e| g.add(Gate::Event(e))).collect();
        let top = g.add(Gate::AtLeast { k: 2, of: events });
        let circuit = Circuit::new(&g, 3);
        let q = 0.05;
        let steady = Steady::new(&circuit, &[q; 3], &[top]);
        let mut total = Counts::default();
        for b in 0..8 {
            total.add(&steady.block(BLOCK_TRIALS, &mut block_rng(3, Stream::Trials, b)));
        }
        let expected = 3.0 * q * q * (1.0 - q) + q * q * q;
        let estimate = total.down[0] as f64 / total.trials as f64;
        let se = (expected * (1.0 - expected) / total.trials as f64).sqrt();
        assert!(
            (estimate - expected).abs() < 4.0 * se,
            "{estimate} vs {expected} (se {se})"
        );
    }
}

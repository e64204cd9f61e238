//! Steady-state Monte Carlo, bit-parallel: 64 trials per machine word.
//!
//! A block of trials draws, for each basic event, only the trials in which
//! it is down, by geometric skipping (one random number per failure, not per
//! trial). Then, word by word, only the nodes above a failed event are
//! re-evaluated, in ascending (topological) order, starting from the state
//! where everything is up; a node whose word comes out unchanged stops the
//! propagation. Each service's root word gives 64 up/down outcomes at once.

use super::absorb::{self, Run};
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

/// Events whose failure alone changes at least this many nodes may be
/// simulated apart (see [`Steady`]). Low enough for a rack under about a
/// hundred instances: simulated apart, it no longer keeps its instances'
/// failures from being absorbed.
pub const WIDE_WORK: usize = 64;

/// The most probability of failure, summed over the wide events, that is
/// simulated apart: it bounds the share of trials that take the separate
/// pass.
pub const WIDE_SHARE: f64 = 1.0 / 16.0;

/// The steady-state simulator of one circuit.
///
/// Each 64-trial word starts from the all-up state; the failed events of the
/// word are applied and only their parents are queued. A gate that is up
/// with everything up stays up while no more of its children have changed
/// than its *slack* (children up with everything up, minus those it needs),
/// so it is skipped without reading a child; a gate that is down with
/// everything up stays down. Almost every failure thus costs its event node
/// and one or two gates.
///
/// *Wide* events (domains: a zone under thousands of instances) would flip
/// thousands of gates in every word holding one of their failures. The
/// trials in which a wide event fails are rare (their probabilities sum to
/// at most [`WIDE_SHARE`]), so they are taken out of their words (their
/// lanes are not counted there) and gathered, 64 at a time, into words of
/// their own, where every event of theirs is applied. Each trial is still
/// counted once, with the same draws: the counts are those of a plain
/// word-by-word evaluation.
///
/// Most failures never reach a word at all: a replica's failure that a
/// k-of-n group absorbs (see [`absorb`]) is dropped when the group's members
/// fail, in that word, no more times than its slack; otherwise they are
/// all evaluated in the word.
pub struct Steady<'a> {
    circuit: &'a Circuit,
    /// ln(1 - q) of each event (0 when it never fails).
    log_up: Vec<f64>,
    /// Tracked roots.
    roots: Vec<u32>,
    /// For each node, the tracked roots it is (indices into `roots`).
    root_index: Vec<Vec<u32>>,
    baseline: Vec<u64>,
    /// Per node: how many children may change before it can change
    /// (`u32::MAX` for nodes down with everything up: they never change).
    slack: Vec<u32>,
    /// Per event: whether it is wide (simulated apart).
    wide: Vec<bool>,
    /// Every event, in index order, in runs (see [`absorb`]).
    runs: Vec<Run>,
    /// How many runs come before the last wide event's successor.
    early_runs: usize,
}

/// The per-thread state of word evaluation.
struct Scratch {
    values: Vec<u64>,
    touched: Vec<bool>,
    touched_list: Vec<u32>,
    /// Per queued node: how many of its children changed in this word, and
    /// the exclusive or of their indices (the child itself when only one
    /// changed).
    changed: Vec<(u32, u32)>,
    /// Nodes waiting for evaluation, as a bit set scanned upwards: parents
    /// have larger indices than children, so one upward sweep per word
    /// evaluates every queued node after all its queued children.
    queued: Vec<u64>,
}

impl<'a> Steady<'a> {
    /// A simulator of `roots` over `circuit`, with `q[e]` the probability
    /// that event `e` is down.
    pub fn new(circuit: &'a Circuit, q: &[f64], roots: &[u32]) -> Steady<'a> {
        let mut root_index = vec![Vec::new(); circuit.len()];
        for (i, &r) in roots.iter().enumerate() {
            root_index[r as usize].push(i as u32);
        }
        let baseline: Vec<u64> = circuit
            .baseline
            .iter()
            .map(|&up| if up { !0 } else { 0 })
            .collect();
        let slack = (0..circuit.len())
            .map(|i| match circuit.nodes[i] {
                _ if !circuit.baseline[i] => u32::MAX,
                Node::Threshold { k } => {
                    let up = circuit
                        .children(i as u32)
                        .iter()
                        .filter(|&&c| circuit.baseline[c as usize])
                        .count() as u32;
                    up - k
                }
                Node::Event(_) | Node::Const(_) => 0,
            })
            .collect();
        let mut steady = Steady {
            circuit,
            log_up: q
                .iter()
                .map(|&q| if q > 0.0 { (-q.min(1.0)).ln_1p() } else { 0.0 })
                .collect(),
            roots: roots.to_vec(),
            root_index,
            baseline,
            slack,
            wide: vec![false; q.len()],
            runs: Vec::new(),
            early_runs: 0,
        };
        // The work of each failure alone, widest first, while the share lasts.
        let mut scratch = steady.scratch();
        let mut candidates: Vec<(usize, u32)> = Vec::new();
        for (e, &log_up) in steady.log_up.iter().enumerate() {
            if log_up == 0.0 {
                continue;
            }
            let work = steady.propagate(&[(0, e as u32)], &mut scratch);
            steady.settle(0, &mut scratch, &mut []);
            if work >= WIDE_WORK {
                candidates.push((work, e as u32));
            }
        }
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        let mut share = 0.0;
        for (_, e) in candidates {
            let q = q[e as usize].min(1.0);
            if share + q > WIDE_SHARE {
                break;
            }
            share += q;
            steady.wide[e as usize] = true;
        }
        let drawn: Vec<bool> = (0..q.len())
            .map(|e| steady.log_up[e] != 0.0 && !steady.wide[e])
            .collect();
        let is_root: Vec<bool> = steady.root_index.iter().map(|r| !r.is_empty()).collect();
        steady.runs = absorb::runs(circuit, &steady.slack, &drawn, &is_root);
        let after_wide = steady.wide.iter().rposition(|&w| w).map_or(0, |e| e + 1);
        steady.early_runs = absorb::split_at(&mut steady.runs, after_wide as u32);
        steady
    }

    fn scratch(&self) -> Scratch {
        let n = self.circuit.len();
        Scratch {
            values: self.baseline.clone(),
            touched: vec![false; n],
            touched_list: Vec::new(),
            changed: vec![(0, 0); n],
            queued: vec![0; n.div_ceil(64)],
        }
    }

    /// Runs `trials` trials (at most [`BLOCK_TRIALS`]) with `rng`.
    pub fn block(&self, trials: u64, rng: &mut SimRng) -> Counts {
        let trials = trials.min(BLOCK_TRIALS);
        let words = trials.div_ceil(64) as usize;
        // Events in index order. Up to the last wide event, failures are
        // kept aside until the trials apart (those in which a wide event
        // fails) are known; such a trial goes apart with all its failures.
        let mut apart_lanes = vec![0u64; words];
        let mut hits: Vec<(u32, u32)> = Vec::new();
        let (early, late) = self.runs.split_at(self.early_runs);
        for e in early.iter().flat_map(|r| r.events.clone()) {
            let wide = self.wide[e as usize];
            self.draw(e, trials, rng, |t| {
                if wide {
                    apart_lanes[t as usize >> 6] |= 1 << (t & 63);
                }
                hits.push((t, e));
            });
        }
        let is_apart = |t: u32| apart_lanes[t as usize >> 6] >> (t & 63) & 1 == 1;
        let (mut apart, kept): (Vec<_>, Vec<_>) = hits.into_iter().partition(|&(t, _)| is_apart(t));
        hits = kept;
        // Then the rest. A failure that an absorber takes is left out of its
        // word while its group's failures there stay within its slack.
        let mut group: Vec<(u32, u32)> = Vec::new();
        // Saturating at 255, above any absorber's slack (`absorb::MAX_SLACK`).
        let mut in_word = vec![0u8; words];
        for run in late {
            let into = match run.slack {
                Some(_) => &mut group,
                None => &mut hits,
            };
            for e in run.events.clone() {
                self.draw(e, trials, rng, |t| {
                    if is_apart(t) {
                        apart.push((t, e));
                    } else {
                        into.push((t, e));
                    }
                });
            }
            if let Some(slack) = run.slack {
                for &(t, _) in &group {
                    let n = &mut in_word[t as usize >> 6];
                    *n = n.saturating_add(1);
                }
                hits.extend(
                    group
                        .iter()
                        .filter(|&&(t, _)| u32::from(in_word[t as usize >> 6]) > slack),
                );
                for (t, _) in group.drain(..) {
                    in_word[t as usize >> 6] = 0;
                }
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
        // (lane, event), by word.
        let mut sorted = vec![(0u32, 0u32); hits.len()];
        for &(t, e) in &hits {
            let slot = &mut fill[(t >> 6) as usize];
            sorted[*slot as usize] = (t & 63, e);
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
        let mut scratch = self.scratch();
        for w in 0..words {
            let hits = &sorted[start[w] as usize..start[w + 1] as usize];
            if !hits.is_empty() {
                self.propagate(hits, &mut scratch);
                self.settle(!0, &mut scratch, &mut counts.down);
            }
        }
        // The trials apart, in trial order, 64 to a word.
        apart.sort_unstable();
        let mut gathered: Vec<(u32, u32)> = Vec::new();
        let mut lane = 0u32;
        for (i, &(t, e)) in apart.iter().enumerate() {
            gathered.push((lane, e));
            if apart.get(i + 1).is_some_and(|&(next, _)| next == t) {
                continue;
            }
            lane += 1;
            if lane == 64 {
                self.propagate(&gathered, &mut scratch);
                self.settle(!0, &mut scratch, &mut counts.down);
                gathered.clear();
                lane = 0;
            }
        }
        if lane > 0 {
            self.propagate(&gathered, &mut scratch);
            self.settle((1u64 << lane) - 1, &mut scratch, &mut counts.down);
        }
        counts
    }

    /// Draws the trials below `trials` in which event `e` fails, in order
    /// (none when it never fails).
    #[inline]
    fn draw(&self, e: u32, trials: u64, rng: &mut SimRng, mut hit: impl FnMut(u32)) {
        let log_up = self.log_up[e as usize];
        if log_up == 0.0 {
            return;
        }
        let mut at = skip(rng, log_up);
        while at < trials {
            hit(at as u32);
            at = at.saturating_add(1).saturating_add(skip(rng, log_up));
        }
    }

    /// Applies the failures `hits` (lane, event) to a word in the all-up
    /// state and re-evaluates what they change; returns the number of nodes
    /// changed.
    fn propagate(&self, hits: &[(u32, u32)], s: &mut Scratch) -> usize {
        let c = self.circuit;
        let mut lowest = usize::MAX;
        for &(lane, e) in hits {
            for &node in c.event_nodes(e) {
                if !s.touched[node as usize] {
                    self.mark_changed(node, s);
                    // Its parents come after it.
                    lowest = lowest.min(node as usize >> 6);
                }
                s.values[node as usize] &= !(1 << lane);
            }
        }
        let mut slot = lowest;
        while slot < s.queued.len() {
            let bits = s.queued[slot];
            if bits == 0 {
                slot += 1;
                continue;
            }
            let node = (slot << 6 | bits.trailing_zeros() as usize) as u32;
            s.queued[slot] &= bits - 1;
            let n = node as usize;
            let (count, child) = std::mem::take(&mut s.changed[n]);
            let slack = self.slack[n];
            // Within its slack, a gate up with everything up stays up.
            if count <= slack {
                continue;
            }
            // One changed child of a gate that needs every child up (as
            // all others are): the gate follows that child.
            let new = if count == 1 && slack == 0 {
                s.values[child as usize]
            } else {
                self.evaluate(node, &s.values)
            };
            if new == s.values[n] {
                continue;
            }
            s.values[n] = new;
            // A gate is swept once per word, so this is its first change.
            self.mark_changed(node, s);
        }
        s.touched_list.len()
    }

    /// Records the first change of `node` in the word: it is listed for
    /// [`Steady::settle`], and each parent counts it and is queued.
    #[inline]
    fn mark_changed(&self, node: u32, s: &mut Scratch) {
        debug_assert!(!s.touched[node as usize]);
        s.touched[node as usize] = true;
        s.touched_list.push(node);
        for &p in self.circuit.parents(node) {
            let changed = &mut s.changed[p as usize];
            changed.0 += 1;
            changed.1 ^= node;
            s.queued[p as usize >> 6] |= 1 << (p & 63);
        }
    }

    /// Counts, in the lanes of `mask`, the tracked roots the last
    /// [`Steady::propagate`] put down, and resets the word to all-up.
    fn settle(&self, mask: u64, s: &mut Scratch, down: &mut [u64]) {
        for node in s.touched_list.drain(..) {
            let n = node as usize;
            let lanes = u64::from((!s.values[n] & self.baseline[n] & mask).count_ones());
            if lanes != 0 {
                for &i in &self.root_index[n] {
                    down[i as usize] += lanes;
                }
            }
            s.values[n] = self.baseline[n];
            s.touched[n] = false;
        }
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

    /// The counts of a block, trial by trial, with every node evaluated:
    /// the same draws as [`Steady::block`], none of its shortcuts.
    fn plain_block(
        circuit: &Circuit,
        q: &[f64],
        roots: &[u32],
        trials: u64,
        rng: &mut SimRng,
    ) -> Counts {
        let mut down_in: Vec<Vec<u32>> = vec![Vec::new(); trials as usize];
        for (e, &q) in q.iter().enumerate() {
            let log_up = if q > 0.0 { (-q).ln_1p() } else { 0.0 };
            if log_up == 0.0 {
                continue;
            }
            let mut at = skip(rng, log_up);
            while at < trials {
                down_in[at as usize].push(e as u32);
                at = at.saturating_add(1).saturating_add(skip(rng, log_up));
            }
        }
        let mut counts = Counts {
            trials,
            down: vec![0; roots.len()],
        };
        let mut up = vec![false; circuit.len()];
        let mut failed = vec![false; q.len()];
        for events in &down_in {
            for &e in events {
                failed[e as usize] = true;
            }
            for i in 0..circuit.len() {
                up[i] = match circuit.nodes[i] {
                    Node::Event(e) => !failed[e as usize],
                    Node::Const(b) => b,
                    Node::Threshold { k } => {
                        let n = circuit.children(i as u32);
                        n.iter().filter(|&&c| up[c as usize]).count() >= k as usize
                    }
                };
            }
            for (d, &r) in counts.down.iter_mut().zip(roots) {
                *d += u64::from(!up[r as usize]);
            }
            for &e in events {
                failed[e as usize] = false;
            }
        }
        counts
    }

    #[test]
    fn shortcuts_and_wide_events_keep_every_count() {
        for lead in [false, true] {
            check_every_count(lead);
        }
    }

    /// Three zones over 3 × 150 instances (each up when it and its zone
    /// are), in 2-of-3 groups across zones, 3-of-4 and any-of pairs above,
    /// and an always-down branch: the zones are wide, the groups absorb.
    /// With `lead`, a lone event (a root) comes before the zones, so it is
    /// drawn before the trials apart are known.
    fn check_every_count(lead: bool) {
        let mut g = FaultGraph::new();
        let mut q = Vec::new();
        let mut roots = Vec::new();
        if lead {
            roots.push(g.add(Gate::Event(0)));
            q.push(0.05);
        }
        let zones: Vec<_> = (0..3)
            .map(|z| g.add(Gate::Event(q.len() as u32 + z)))
            .collect();
        q.extend([0.02, 0.01, 0.03]);
        let mut groups = Vec::new();
        for i in 0..150 {
            let members: Vec<_> = (0..3)
                .map(|z| {
                    let e = g.add(Gate::Event(q.len() as u32));
                    q.push(0.002 * (1 + (i + z) % 5) as f64);
                    g.add(Gate::And(vec![e, zones[z]]))
                })
                .collect();
            groups.push(g.add(Gate::AtLeast { k: 2, of: members }));
        }
        let never = g.add(Gate::Or(vec![]));
        roots.extend(&groups);
        for chunk in groups.chunks(4) {
            roots.push(g.add(Gate::AtLeast {
                k: 3,
                of: chunk.to_vec(),
            }));
            roots.push(g.add(Gate::Or(vec![chunk[0], chunk[1]])));
            roots.push(g.add(Gate::And(vec![chunk[0], chunk[0], never])));
        }
        let top = g.add(Gate::And(roots.clone()));
        roots.push(top);
        let circuit = Circuit::new(&g, q.len());
        let steady = Steady::new(&circuit, &q, &roots);
        let skip = usize::from(lead);
        assert_eq!(steady.wide[skip..skip + 4], [true, true, true, false]);
        let absorbed = steady.runs.iter().filter(|r| r.slack == Some(1)).count();
        assert_eq!(absorbed, 150);
        assert_eq!(steady.early_runs, 1);
        // A partial last word too.
        for (b, trials) in [(0, 64 * 200), (1, 64 * 150 + 37)] {
            let fast = steady.block(trials, &mut block_rng(8, Stream::Trials, b));
            let rng = &mut block_rng(8, Stream::Trials, b);
            assert_eq!(fast, plain_block(&circuit, &q, &roots, trials, rng));
            assert!(fast.down.iter().any(|&d| d > 0 && d < trials));
        }
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

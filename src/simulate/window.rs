//! Window simulation: each basic event follows its renewal process (and its
//! drains) through one error-budget window, starting from the stationary
//! state; the services' states follow event by event.
//!
//! Every gate keeps the number of its children that are up, so a change of
//! one event updates only the gates it actually flips and their parents.

use super::circuit::{Circuit, Node};
use super::sampling::{open_unit, SimRng};
use super::timing::{Drain, EventTiming, Renewal};

/// Outages of one tracked service, summed over windows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Outages {
    /// Number of outages (one that crosses a window's edge counts in each
    /// window it touches).
    pub count: u64,
    /// Total length, seconds.
    pub total_seconds: f64,
    /// The longest, seconds (clipped to the window).
    pub longest_seconds: f64,
}

impl Outages {
    /// Adds another block's outages.
    pub fn add(&mut self, other: &Outages) {
        self.count += other.count;
        self.total_seconds += other.total_seconds;
        self.longest_seconds = self.longest_seconds.max(other.longest_seconds);
    }

    fn record(&mut self, length: f64) {
        self.count += 1;
        self.total_seconds += length;
        self.longest_seconds = self.longest_seconds.max(length);
    }
}

/// The results of a block of windows.
#[derive(Clone, Debug, Default)]
pub struct Block {
    /// Windows simulated.
    pub windows: usize,
    /// Downtime of each tracked root in each window, seconds:
    /// `downtime[root * windows + w]`.
    pub downtime: Vec<f32>,
    /// Outages of each tracked root.
    pub outages: Vec<Outages>,
}

/// The window simulator of one circuit.
pub struct WindowSim<'a> {
    circuit: &'a Circuit,
    window: f64,
    roots: Vec<u32>,
    root_index: Vec<Vec<u32>>,
    /// Children needed up, per node (1 for an event node, read from the event).
    need: Vec<u32>,
    /// Children up when every event is up.
    base_count: Vec<u32>,
}

/// Scratch space reused across the windows of a block.
struct Scratch {
    count: Vec<u32>,
    up: Vec<bool>,
    down_since: Vec<Option<f64>>,
    transitions: Vec<(f64, u32, bool)>,
    renewal: Vec<(f64, f64)>,
    drains: Vec<(f64, f64)>,
    merged: Vec<(f64, f64)>,
    stack: Vec<u32>,
}

impl<'a> WindowSim<'a> {
    /// A simulator of `roots` over windows of `window` seconds.
    pub fn new(circuit: &'a Circuit, window: f64, roots: &[u32]) -> WindowSim<'a> {
        let mut root_index = vec![Vec::new(); circuit.len()];
        for (i, &r) in roots.iter().enumerate() {
            root_index[r as usize].push(i as u32);
        }
        let mut need = Vec::with_capacity(circuit.len());
        let mut base_count = Vec::with_capacity(circuit.len());
        for (i, node) in circuit.nodes.iter().enumerate() {
            let children = circuit.children(i as u32);
            need.push(match node {
                Node::Threshold { k } => *k,
                Node::Event(_) | Node::Const(_) => 1,
            });
            base_count.push(
                children
                    .iter()
                    .filter(|&&c| circuit.baseline[c as usize])
                    .count() as u32,
            );
        }
        WindowSim {
            circuit,
            window,
            roots: roots.to_vec(),
            root_index,
            need,
            base_count,
        }
    }

    /// Simulates `windows` windows with the events' `timings`.
    pub fn block(&self, windows: usize, timings: &[EventTiming], rng: &mut SimRng) -> Block {
        let c = self.circuit;
        let mut scratch = Scratch {
            count: self.base_count.clone(),
            up: c.baseline.clone(),
            down_since: vec![None; self.roots.len()],
            transitions: Vec::new(),
            renewal: Vec::new(),
            drains: Vec::new(),
            merged: Vec::new(),
            stack: Vec::new(),
        };
        let quiet: Vec<f64> = timings
            .iter()
            .map(|t| match &t.renewal {
                Some(r) if r.up.is_exponential() => (-self.window / r.up.mean()).exp(),
                _ => 0.0,
            })
            .collect();
        let mut block = Block {
            windows,
            downtime: vec![0.0; windows * self.roots.len()],
            outages: vec![Outages::default(); self.roots.len()],
        };
        for w in 0..windows {
            scratch.transitions.clear();
            for (e, timing) in timings.iter().enumerate() {
                self.event_intervals(timing, quiet[e], rng, &mut scratch);
                for &(start, end) in &scratch.merged {
                    scratch.transitions.push((start, e as u32, true));
                    if end < self.window {
                        scratch.transitions.push((end, e as u32, false));
                    }
                }
            }
            scratch
                .transitions
                .sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            scratch.count.copy_from_slice(&self.base_count);
            scratch.up.copy_from_slice(&c.baseline);
            let mut downtime = vec![0.0f64; self.roots.len()];
            for (i, &r) in self.roots.iter().enumerate() {
                scratch.down_since[i] = (!c.baseline[r as usize]).then_some(0.0);
            }
            let transitions = std::mem::take(&mut scratch.transitions);
            for &(t, e, down) in &transitions {
                for &node in c.event_nodes(e) {
                    if scratch.up[node as usize] == down {
                        scratch.up[node as usize] = !down;
                        self.propagate(node, t, &mut scratch, &mut downtime, &mut block.outages);
                    }
                }
            }
            scratch.transitions = transitions;
            for (i, since) in scratch.down_since.iter_mut().enumerate() {
                if let Some(s) = since.take() {
                    let length = self.window - s;
                    downtime[i] += length;
                    block.outages[i].record(length);
                }
                block.downtime[i * windows + w] = downtime[i] as f32;
            }
        }
        block
    }

    /// Follows a change of `node` (already set) up through its parents.
    fn propagate(
        &self,
        node: u32,
        t: f64,
        scratch: &mut Scratch,
        downtime: &mut [f64],
        outages: &mut [Outages],
    ) {
        let c = self.circuit;
        scratch.stack.push(node);
        while let Some(n) = scratch.stack.pop() {
            let is_up = scratch.up[n as usize];
            for &i in &self.root_index[n as usize] {
                let i = i as usize;
                if is_up {
                    if let Some(s) = scratch.down_since[i].take() {
                        downtime[i] += t - s;
                        outages[i].record(t - s);
                    }
                } else if scratch.down_since[i].is_none() {
                    scratch.down_since[i] = Some(t);
                }
            }
            for &p in c.parents(n) {
                let p = p as usize;
                if is_up {
                    scratch.count[p] += 1;
                    if !scratch.up[p] && scratch.count[p] >= self.need[p] {
                        scratch.up[p] = true;
                        scratch.stack.push(p as u32);
                    }
                } else {
                    scratch.count[p] -= 1;
                    if scratch.up[p] && scratch.count[p] < self.need[p] {
                        scratch.up[p] = false;
                        scratch.stack.push(p as u32);
                    }
                }
            }
        }
    }

    /// The down intervals of one event in [0, window), sorted and disjoint,
    /// into `scratch.merged`.
    fn event_intervals(
        &self,
        timing: &EventTiming,
        quiet: f64,
        rng: &mut SimRng,
        scratch: &mut Scratch,
    ) {
        scratch.merged.clear();
        scratch.renewal.clear();
        scratch.drains.clear();
        if let Some(r) = &timing.renewal {
            renewal_intervals(r, quiet, self.window, rng, &mut scratch.renewal);
        }
        if let Some(d) = timing.drain {
            drain_intervals(d, self.window, rng, &mut scratch.drains);
        }
        match (scratch.renewal.is_empty(), scratch.drains.is_empty()) {
            (true, true) => {}
            (false, true) => scratch.merged.extend_from_slice(&scratch.renewal),
            (true, false) => scratch.merged.extend_from_slice(&scratch.drains),
            (false, false) => union(&scratch.renewal, &scratch.drains, &mut scratch.merged),
        }
    }
}

/// The down intervals of a stationary renewal process in [0, window).
/// `quiet` is e^(-window / mean up) for exponential up times (else 0): the
/// chance, given up at the start, of no failure in the window, which lets
/// the usual case cost one uniform number.
pub fn renewal_intervals(
    r: &Renewal,
    quiet: f64,
    window: f64,
    rng: &mut SimRng,
    out: &mut Vec<(f64, f64)>,
) {
    let u = open_unit(rng);
    let mut t;
    if u <= r.q {
        let end = r.down.sample_residual(rng);
        out.push((0.0, end.min(window)));
        t = end;
        if t >= window {
            return;
        }
        t += r.up.sample(rng);
    } else if r.up.is_exponential() {
        // Given up at the start, (u - q) / (1 - q) is uniform on (0, 1]: the
        // residual up time is -mean ln of it, beyond the window when it is
        // at most `quiet`.
        let v = (u - r.q) / (1.0 - r.q);
        if v <= quiet {
            return;
        }
        t = -r.up.mean() * v.ln();
    } else {
        t = r.up.sample_residual(rng);
    }
    while t < window {
        let end = t + r.down.sample(rng);
        out.push((t, end.min(window)));
        if end >= window {
            return;
        }
        t = end + r.up.sample(rng);
    }
}

/// Drains of length `length` every `every` seconds at a uniformly random
/// phase, within [0, window).
pub fn drain_intervals(d: Drain, window: f64, rng: &mut SimRng, out: &mut Vec<(f64, f64)>) {
    let mut start = open_unit(rng) * d.every - d.every;
    while start < window {
        let (a, b) = (start.max(0.0), (start + d.length).min(window));
        if b > a {
            out.push((a, b));
        }
        start += d.every;
    }
}

/// The union of two sorted lists of disjoint intervals.
fn union(a: &[(f64, f64)], b: &[(f64, f64)], out: &mut Vec<(f64, f64)>) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = if j >= b.len() || (i < a.len() && a[i].0 <= b[j].0) {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        match out.last_mut() {
            Some(last) if next.0 <= last.1 => last.1 = last.1.max(next.1),
            _ => out.push(next),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::engine::{FaultGraph, Gate};
    use crate::model::Distribution;
    use crate::simulate::sampling::{block_rng, Lifetime, Stream};

    fn renewal(q: f64, mean_down: f64) -> Renewal {
        Renewal {
            q,
            up: Lifetime::new(Distribution::Exponential, mean_down * (1.0 - q) / q),
            down: Lifetime::new(Distribution::Exponential, mean_down),
        }
    }

    #[test]
    fn unions_overlapping_intervals() {
        let mut out = Vec::new();
        union(
            &[(0.0, 2.0), (5.0, 6.0)],
            &[(1.0, 3.0), (6.0, 7.0), (9.0, 10.0)],
            &mut out,
        );
        assert_eq!(out, vec![(0.0, 3.0), (5.0, 7.0), (9.0, 10.0)]);
    }

    #[test]
    fn drains_take_their_share() {
        let mut rng = block_rng(1, Stream::Windows, 0);
        let d = Drain {
            every: 10.0,
            length: 2.0,
        };
        let mut total = 0.0;
        for _ in 0..20_000 {
            let mut out = Vec::new();
            drain_intervals(d, 25.0, &mut rng, &mut out);
            total += out.iter().map(|(a, b)| b - a).sum::<f64>();
        }
        let share = total / (20_000.0 * 25.0);
        assert!((share - 0.2).abs() < 0.003, "drained share {share}");
    }

    #[test]
    fn a_series_pair_is_down_when_either_is() {
        // Two events in series; each down 10% of the time. The pair is down
        // 1 - 0.9² = 19% of the time on average.
        let mut g = FaultGraph::new();
        let a = g.add(Gate::Event(0));
        let b = g.add(Gate::Event(1));
        let top = g.add(Gate::And(vec![a, b]));
        let circuit = Circuit::new(&g, 2);
        let timing = EventTiming {
            renewal: Some(renewal(0.1, 5.0)),
            drain: None,
            mean_down: Some(5.0),
        };
        let sim = WindowSim::new(&circuit, 100.0, &[top]);
        let mut rng = block_rng(2, Stream::Windows, 0);
        let block = sim.block(20_000, &[timing.clone(), timing], &mut rng);
        let mean = block.downtime.iter().map(|&d| d as f64).sum::<f64>() / 20_000.0;
        assert!(
            (mean / 100.0 - 0.19).abs() < 0.005,
            "fraction {}",
            mean / 100.0
        );
        assert!(block.outages[0].count > 0);
    }
}

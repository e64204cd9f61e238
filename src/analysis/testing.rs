//! Helpers of the analysis' randomized tests: a small deterministic
//! generator and the brute-force enumerator every method is held against.

use crate::analysis::engine::{is_up, FaultGraph, Gate, NodeRef};

/// Replica sets over racks of three zones, failover and quorum groups over
/// services that share dependencies, services with SLOs among them: the
/// spec the conditioned bounds and the factored detail are held against
/// the BDDs on.
pub const RACKS_AND_GROUPS: &str = r#"
domain region r { availability 99.99% }
domain zone a in r { availability 99.9% }
domain zone b in r { availability 99.9% }
domain zone c in r { availability 99.9% }
domain rack a1 in a { mtbf 90d mttr 1h }
domain rack a2 in a { mtbf 90d mttr 1h }
domain rack b1 in b { mtbf 90d mttr 1h }
domain rack c1 in c { mtbf 90d mttr 1h }
service lock { slo 99.9% availability 99.9% replicas 3 need 2 across a1, b1, c1 }
service store { slo 99.9% availability 99.5% replicas 3 need 2 across a2, b1, c1 requires lock }
service cache { availability 99% placed in a1 }
service cache2 { availability 99% placed in b1 }
service api { slo 99.9% availability 99.95% replicas 3 need 1 across a, b, c
              requires store, any(cache, cache2) }
service web { slo 99% availability 99.9% replicas 2 across a2, c1
              requires api, 2 of (lock, store, cache) }
service edge { slo 99% availability 99.9% placed in c1
               requires any(web, api), lock }
"#;

/// SplitMix64.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A probability, with the edge cases (0, 1, tiny, near 1) often.
    pub fn prob(&mut self) -> f64 {
        match self.below(10) {
            0 => 0.0,
            1 => 1.0,
            2 => 1e-6 * self.unit(),
            3 => 1.0 - 1e-3 * self.unit(),
            4 => 1e-3,
            _ => self.unit(),
        }
    }
}

/// Probability that the events in `mask` are down and the others (of `n`) up.
pub fn state_prob(q: &[f64], n: usize, mask: u32) -> f64 {
    (0..n)
        .map(|e| if mask >> e & 1 == 1 { q[e] } else { 1.0 - q[e] })
        .product()
}

/// P(root down) by enumeration of all states: a sum of non-negative terms.
pub fn brute(g: &FaultGraph, root: NodeRef, q: &[f64]) -> f64 {
    let n = q.len();
    (0..1u32 << n)
        .filter(|&m| !is_up(g, root, &|e| m >> e & 1 == 1))
        .map(|m| state_prob(q, n, m))
        .sum()
}

/// A random DAG of gates over `n` events (with duplicates, constants and
/// degenerate gates), and three roots near its top.
pub fn random_graph(rng: &mut Rng, n: usize) -> (FaultGraph, Vec<NodeRef>) {
    let mut g = FaultGraph::new();
    let mut nodes: Vec<NodeRef> = (0..n as u32).map(|e| g.add(Gate::Event(e))).collect();
    for _ in 0..rng.below(3) {
        let e = rng.below(n) as u32;
        nodes.push(g.add(Gate::Event(e)));
    }
    if rng.below(4) == 0 {
        let b = rng.below(2) == 0;
        nodes.push(g.add(Gate::Const(b)));
    }
    let gates = 1 + rng.below(14);
    for _ in 0..gates {
        let len = nodes.len();
        let arity = match rng.below(12) {
            0 => 0,
            1 => 1,
            _ => 2 + rng.below(4),
        };
        let of: Vec<NodeRef> = (0..arity)
            .map(|_| {
                // Favour recent nodes, so that the DAG is deep.
                let back = rng.below(len).min(rng.below(len));
                nodes[len - 1 - back]
            })
            .collect();
        let gate = match rng.below(3) {
            0 => Gate::And(of),
            1 => Gate::Or(of),
            _ => Gate::AtLeast {
                k: rng.below(arity + 2) as u32,
                of,
            },
        };
        nodes.push(g.add(gate));
    }
    let roots = (0..3)
        .map(|i| nodes[nodes.len() - 1 - i.min(nodes.len() - 1)])
        .collect();
    (g, roots)
}

//! The structure functions flattened for simulation: every gate as a
//! threshold over its children ("up when at least k children are up"), with
//! children and parents in compressed arrays, and each node's state when
//! every basic event is up.

use crate::analysis::engine::{FaultGraph, Gate, NodeRef};

/// What a node computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// Up when the basic event is up.
    Event(u32),
    /// Always up or always down.
    Const(bool),
    /// Up when at least `k` of its children are up (`And`: k = n, `Or`: k = 1).
    Threshold {
        /// Children needed up.
        k: u32,
    },
}

/// A [`FaultGraph`] ready for simulation. Children have smaller indices than
/// their parents, so ascending order is a topological order.
#[derive(Clone, Debug)]
pub struct Circuit {
    /// What each node computes.
    pub nodes: Vec<Node>,
    child_start: Vec<u32>,
    children: Vec<u32>,
    parent_start: Vec<u32>,
    parents: Vec<u32>,
    event_start: Vec<u32>,
    event_nodes: Vec<u32>,
    /// Each node's state when every basic event is up.
    pub baseline: Vec<bool>,
}

fn compress(lists: &[Vec<u32>]) -> (Vec<u32>, Vec<u32>) {
    let mut start = Vec::with_capacity(lists.len() + 1);
    let mut flat = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    start.push(0);
    for list in lists {
        flat.extend_from_slice(list);
        start.push(flat.len() as u32);
    }
    (start, flat)
}

impl Circuit {
    /// Flattens `graph`, whose events are numbered below `events`.
    pub fn new(graph: &FaultGraph, events: usize) -> Circuit {
        let n = graph.len();
        let mut nodes = Vec::with_capacity(n);
        let mut children: Vec<Vec<u32>> = Vec::with_capacity(n);
        let mut parents: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut event_nodes: Vec<Vec<u32>> = vec![Vec::new(); events];
        for (i, gate) in graph.gates().iter().enumerate() {
            let (node, of): (Node, &[NodeRef]) = match gate {
                Gate::Event(e) => {
                    if let Some(list) = event_nodes.get_mut(*e as usize) {
                        list.push(i as u32);
                    }
                    (Node::Event(*e), &[])
                }
                Gate::Const(b) => (Node::Const(*b), &[]),
                Gate::And(of) => (Node::Threshold { k: of.len() as u32 }, of),
                Gate::Or(of) => (Node::Threshold { k: 1 }, of),
                Gate::AtLeast { k, of } => (Node::Threshold { k: *k }, of),
            };
            for &c in of {
                parents[c as usize].push(i as u32);
            }
            nodes.push(node);
            children.push(of.to_vec());
        }
        let mut baseline = vec![false; n];
        for i in 0..n {
            baseline[i] = match nodes[i] {
                Node::Event(_) => true,
                Node::Const(b) => b,
                Node::Threshold { k } => {
                    children[i]
                        .iter()
                        .filter(|&&c| baseline[c as usize])
                        .count()
                        >= k as usize
                }
            };
        }
        let (child_start, children) = compress(&children);
        let (parent_start, parents) = compress(&parents);
        let (event_start, event_nodes) = compress(&event_nodes);
        Circuit {
            nodes,
            child_start,
            children,
            parent_start,
            parents,
            event_start,
            event_nodes,
            baseline,
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when there is no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The children of `node` (with repetitions, as in the graph).
    #[inline]
    pub fn children(&self, node: u32) -> &[u32] {
        let i = node as usize;
        &self.children[self.child_start[i] as usize..self.child_start[i + 1] as usize]
    }

    /// The parents of `node` (once per edge).
    #[inline]
    pub fn parents(&self, node: u32) -> &[u32] {
        let i = node as usize;
        &self.parents[self.parent_start[i] as usize..self.parent_start[i + 1] as usize]
    }

    /// The nodes that read basic event `event`.
    #[inline]
    pub fn event_nodes(&self, event: u32) -> &[u32] {
        let i = event as usize;
        match self.event_start.get(i + 1) {
            Some(&end) => &self.event_nodes[self.event_start[i] as usize..end as usize],
            None => &[],
        }
    }

    /// The number of basic events.
    pub fn events(&self) -> usize {
        self.event_start.len().saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_gates_into_thresholds() {
        let mut g = FaultGraph::new();
        let a = g.add(Gate::Event(0));
        let b = g.add(Gate::Event(1));
        let and = g.add(Gate::And(vec![a, b]));
        let or = g.add(Gate::Or(vec![a, b]));
        let never = g.add(Gate::Or(vec![]));
        let two = g.add(Gate::AtLeast {
            k: 2,
            of: vec![and, or, never],
        });
        let c = Circuit::new(&g, 2);
        assert_eq!(c.nodes[and as usize], Node::Threshold { k: 2 });
        assert_eq!(c.nodes[or as usize], Node::Threshold { k: 1 });
        assert_eq!(c.parents(a), &[and, or]);
        assert_eq!(c.children(two), &[and, or, never]);
        assert_eq!(c.event_nodes(1), &[b]);
        assert!(c.baseline[two as usize]);
        assert!(!c.baseline[never as usize]);
        assert_eq!(c.events(), 2);
    }
}

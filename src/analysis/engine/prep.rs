//! Preparation of one root: conversion to failure logic, simplification, flattening and
//! modularisation (Dutuit & Rauzy's linear-time algorithm).

use std::collections::HashMap;

use super::ir::{FaultGraph, Gate, NodeRef};

/// Kind of a failure-logic gate (semantics about being DOWN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Down when any child is down.
    Or,
    /// Down when all children are down.
    And,
    /// Down when at least `k` children are down (1 < k < number of children).
    AtLeast(u32),
}

/// A failure-logic node.
#[derive(Clone, Debug)]
pub(super) enum FNode {
    /// Always down (`true`) or never down (`false`).
    Const(bool),
    /// A basic event.
    Leaf(u32),
    /// A gate over earlier nodes.
    Gate(Kind, Vec<u32>),
}

/// Failure logic of one root, nodes in topological order (children first).
pub(super) struct Prep {
    pub nodes: Vec<FNode>,
    /// A graph node with the same failure function, if any.
    pub origin: Vec<Option<NodeRef>>,
    pub root: u32,
}

const NEVER: u32 = 0;
const ALWAYS: u32 = 1;

struct Builder {
    nodes: Vec<FNode>,
    leaf_node: HashMap<u32, u32>,
}

impl Builder {
    fn leaf(&mut self, id: u32) -> u32 {
        if let Some(&n) = self.leaf_node.get(&id) {
            return n;
        }
        let n = self.nodes.len() as u32;
        self.nodes.push(FNode::Leaf(id));
        self.leaf_node.insert(id, n);
        n
    }

    fn push(&mut self, node: FNode) -> u32 {
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    /// A failure gate, simplified (constants, single child, duplicates).
    fn gate(&mut self, kind: Kind, mut k: u32, children: Vec<u32>) -> u32 {
        let mut kept = Vec::with_capacity(children.len());
        match kind {
            Kind::Or => {
                for c in children {
                    if c == ALWAYS {
                        return ALWAYS;
                    }
                    if c != NEVER {
                        kept.push(c);
                    }
                }
            }
            Kind::And => {
                for c in children {
                    if c == NEVER {
                        return NEVER;
                    }
                    if c != ALWAYS {
                        kept.push(c);
                    }
                }
            }
            Kind::AtLeast(_) => {
                for c in children {
                    if c == ALWAYS {
                        k = k.saturating_sub(1);
                    } else if c != NEVER {
                        kept.push(c);
                    }
                }
                if k == 0 {
                    return ALWAYS;
                }
                if k as usize > kept.len() {
                    return NEVER;
                }
                if k == 1 {
                    return self.gate(Kind::Or, 0, kept);
                }
                if k as usize == kept.len() {
                    return self.gate(Kind::And, 0, kept);
                }
                return self.push(FNode::Gate(Kind::AtLeast(k), kept));
            }
        }
        dedup_keep_order(&mut kept);
        match kept.len() {
            0 => {
                if kind == Kind::Or {
                    NEVER
                } else {
                    ALWAYS
                }
            }
            1 => kept[0],
            _ => self.push(FNode::Gate(kind, kept)),
        }
    }
}

/// Removes duplicates, keeping the first occurrence of each.
pub(super) fn dedup_keep_order(v: &mut Vec<u32>) {
    if v.len() < 2 {
        return;
    }
    if v.len() <= 16 {
        let mut out: Vec<u32> = Vec::with_capacity(v.len());
        for &x in v.iter() {
            if !out.contains(&x) {
                out.push(x);
            }
        }
        *v = out;
    } else {
        let mut seen = std::collections::HashSet::with_capacity(v.len());
        v.retain(|x| seen.insert(*x));
    }
}

/// Converts the sub-DAG of `root` to failure logic; basic event `e` is leaf `e`.
pub(super) fn prepare(graph: &FaultGraph, root: NodeRef) -> Prep {
    let n = root as usize + 1;
    let mut reach = vec![false; n];
    reach[root as usize] = true;
    for i in (0..n).rev() {
        if !reach[i] {
            continue;
        }
        match graph.gate(i as NodeRef) {
            Gate::And(of) | Gate::Or(of) | Gate::AtLeast { of, .. } => {
                for &c in of {
                    reach[c as usize] = true;
                }
            }
            Gate::Event(_) | Gate::Const(_) => {}
        }
    }
    let mut b = Builder {
        nodes: vec![FNode::Const(false), FNode::Const(true)],
        leaf_node: HashMap::new(),
    };
    let mut map = vec![NEVER; n];
    for i in 0..n {
        if !reach[i] {
            continue;
        }
        let m = |of: &[NodeRef]| of.iter().map(|&c| map[c as usize]).collect::<Vec<u32>>();
        map[i] = match graph.gate(i as NodeRef) {
            Gate::Event(e) => b.leaf(*e),
            Gate::Const(up) => {
                if *up {
                    NEVER
                } else {
                    ALWAYS
                }
            }
            // Up when all are up: down when any is down.
            Gate::And(of) => b.gate(Kind::Or, 0, m(of)),
            // Up when any is up: down when all are down.
            Gate::Or(of) => b.gate(Kind::And, 0, m(of)),
            Gate::AtLeast { k, of } => {
                let len = of.len() as u32;
                if *k == 0 {
                    NEVER
                } else if *k > len {
                    ALWAYS
                } else {
                    let down = len - k + 1;
                    b.gate(Kind::AtLeast(down), down, m(of))
                }
            }
        };
    }
    let mut nodes = b.nodes;
    let mut origin = vec![None; nodes.len()];
    for i in 0..n {
        if reach[i] {
            origin[map[i] as usize] = Some(i as NodeRef);
        }
    }
    let root = map[root as usize];
    flatten(&mut nodes, root);
    compact(nodes, origin, root)
}

fn parent_counts(nodes: &[FNode], root: u32) -> Vec<u32> {
    let mut reach = vec![false; nodes.len()];
    let mut parents = vec![0u32; nodes.len()];
    reach[root as usize] = true;
    for i in (0..nodes.len()).rev() {
        if !reach[i] {
            continue;
        }
        if let FNode::Gate(_, ch) = &nodes[i] {
            for &c in ch {
                reach[c as usize] = true;
                parents[c as usize] += 1;
            }
        }
    }
    parents
}

/// Merges an OR (AND) child with a single parent into its OR (AND) parent.
fn flatten(nodes: &mut [FNode], root: u32) {
    let parents = parent_counts(nodes, root);
    for i in 0..nodes.len() {
        let (kind, ch) = match &nodes[i] {
            FNode::Gate(k @ (Kind::Or | Kind::And), ch) if parents[i] > 0 || i == root as usize => {
                (*k, ch)
            }
            _ => continue,
        };
        if !ch.iter().any(|&c| {
            parents[c as usize] == 1
                && matches!(&nodes[c as usize], FNode::Gate(k2, _) if *k2 == kind)
        }) {
            continue;
        }
        let mut out = Vec::with_capacity(ch.len() * 2);
        for &c in ch {
            match &nodes[c as usize] {
                FNode::Gate(k2, gc) if *k2 == kind && parents[c as usize] == 1 => {
                    out.extend_from_slice(gc)
                }
                _ => out.push(c),
            }
        }
        dedup_keep_order(&mut out);
        nodes[i] = FNode::Gate(kind, out);
    }
}

/// Keeps only the nodes reachable from the root, renumbered in topological order.
fn compact(nodes: Vec<FNode>, origin: Vec<Option<NodeRef>>, root: u32) -> Prep {
    let mut reach = vec![false; nodes.len()];
    reach[root as usize] = true;
    for i in (0..nodes.len()).rev() {
        if !reach[i] {
            continue;
        }
        if let FNode::Gate(_, ch) = &nodes[i] {
            for &c in ch {
                reach[c as usize] = true;
            }
        }
    }
    let mut map = vec![u32::MAX; nodes.len()];
    let mut out = Vec::new();
    let mut out_origin = Vec::new();
    for (i, node) in nodes.into_iter().enumerate() {
        if !reach[i] {
            continue;
        }
        map[i] = out.len() as u32;
        out_origin.push(origin[i]);
        out.push(match node {
            FNode::Gate(k, ch) => FNode::Gate(k, ch.iter().map(|&c| map[c as usize]).collect()),
            other => other,
        });
    }
    Prep {
        root: map[root as usize],
        nodes: out,
        origin: out_origin,
    }
}

/// A leaf of a module: a (pseudo-)event, or a sub-module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Leaf {
    /// A basic event.
    Event(u32),
    /// A sub-module (index into the module list).
    Module(u32),
}

/// One module: its own gates over its leaves. Child `c` of a gate is leaf `c` when
/// `c < leaves.len()`, else gate `c - leaves.len()`. The last gate is the module's top.
#[derive(Clone, Debug)]
pub(super) struct Local {
    /// A graph node computing this module's function, if any.
    pub origin: Option<NodeRef>,
    pub leaves: Vec<Leaf>,
    pub gates: Vec<(Kind, Vec<u32>)>,
}

impl Local {
    /// Renumbers the leaves: new leaf `i` is old leaf `order[i]`.
    pub fn permute_leaves(&mut self, order: &[u32]) {
        let nl = self.leaves.len() as u32;
        let mut inv = vec![0u32; order.len()];
        for (i, &o) in order.iter().enumerate() {
            inv[o as usize] = i as u32;
        }
        self.leaves = order.iter().map(|&o| self.leaves[o as usize]).collect();
        for (_, ch) in &mut self.gates {
            for c in ch.iter_mut() {
                if *c < nl {
                    *c = inv[*c as usize];
                }
            }
        }
    }
}

/// Splits the prepared DAG into modules, sub-modules first; the last one is the root's.
/// The root must be a gate.
pub(super) fn modularise(prep: &Prep) -> Vec<Local> {
    let nodes = &prep.nodes;
    let n = nodes.len();
    let children = |i: usize| -> &[u32] {
        match &nodes[i] {
            FNode::Gate(_, ch) => ch,
            _ => &[],
        }
    };
    // Visit dates: first entry, exit of the first visit, last visit.
    let (mut first, mut exit, mut last) = (vec![0u64; n], vec![0u64; n], vec![0u64; n]);
    let mut t = 0u64;
    let mut stack: Vec<(u32, usize)> = Vec::new();
    let root = prep.root as usize;
    t += 1;
    first[root] = t;
    stack.push((prep.root, 0));
    while let Some(top) = stack.last_mut() {
        let (g, i) = (top.0 as usize, top.1);
        let ch = children(g);
        if i < ch.len() {
            top.1 += 1;
            let c = ch[i] as usize;
            t += 1;
            if first[c] == 0 {
                first[c] = t;
                if matches!(nodes[c], FNode::Gate(..)) {
                    stack.push((c as u32, 0));
                } else {
                    exit[c] = t;
                    last[c] = t;
                }
            } else {
                last[c] = t;
            }
        } else {
            t += 1;
            exit[g] = t;
            last[g] = t;
            stack.pop();
        }
    }
    // Earliest and latest visit among each node's descendants (itself included).
    let (mut lo, mut hi) = (first.clone(), last.clone());
    let mut is_module = vec![false; n];
    for i in 0..n {
        let ch = children(i);
        if ch.is_empty() {
            continue;
        }
        let mut clo = u64::MAX;
        let mut chi = 0;
        for &c in ch {
            clo = clo.min(lo[c as usize]);
            chi = chi.max(hi[c as usize]);
        }
        is_module[i] = clo > first[i] && chi < exit[i];
        lo[i] = lo[i].min(clo);
        hi[i] = hi[i].max(chi);
    }
    is_module[root] = true;
    // Build the modules, in ascending order of their top node (sub-modules first).
    let mut module_of = vec![u32::MAX; n];
    let mut out = Vec::new();
    let mut local_id = vec![u32::MAX; n];
    let mut stamp = vec![u32::MAX; n];
    for m in 0..n {
        if !is_module[m] || !matches!(nodes[m], FNode::Gate(..)) {
            continue;
        }
        let mark = out.len() as u32;
        // Depth-first from the top: leaves in order of first appearance, gates collected.
        let mut leaves = Vec::new();
        let mut gate_nodes = Vec::new();
        let mut st = vec![(m as u32, 0usize)];
        stamp[m] = mark;
        while let Some(top) = st.last_mut() {
            let (g, i) = (top.0 as usize, top.1);
            let ch = children(g);
            if i < ch.len() {
                top.1 += 1;
                let c = ch[i] as usize;
                if stamp[c] == mark {
                    continue;
                }
                stamp[c] = mark;
                if let FNode::Leaf(e) = nodes[c] {
                    local_id[c] = leaves.len() as u32;
                    leaves.push(Leaf::Event(e));
                } else if is_module[c] {
                    local_id[c] = leaves.len() as u32;
                    leaves.push(Leaf::Module(module_of[c]));
                } else {
                    st.push((c as u32, 0));
                }
            } else {
                gate_nodes.push(g as u32);
                st.pop();
            }
        }
        gate_nodes.sort_unstable();
        let nl = leaves.len() as u32;
        for (j, &g) in gate_nodes.iter().enumerate() {
            local_id[g as usize] = nl + j as u32;
        }
        let gates = gate_nodes
            .iter()
            .map(|&g| match &nodes[g as usize] {
                FNode::Gate(k, ch) => (*k, ch.iter().map(|&c| local_id[c as usize]).collect()),
                _ => unreachable!(),
            })
            .collect();
        module_of[m] = out.len() as u32;
        out.push(Local {
            origin: prep.origin[m],
            leaves,
            gates,
        });
    }
    out
}

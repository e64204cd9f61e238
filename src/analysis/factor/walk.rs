//! The walks over the fault graph that shape a factoring (see [`super`]):
//! a problem's frontier, its cut nodes, each unit's cone.

use super::{Cache, Cone};
use crate::analysis::engine::{EventId, FaultGraph, Gate, NodeRef};

/// "Reached from two units or more" in the ownership pass.
const MANY: u32 = u32::MAX;

/// The children of a gate.
pub(super) fn children(gate: &Gate) -> &[NodeRef] {
    match gate {
        Gate::And(c) | Gate::Or(c) | Gate::AtLeast { of: c, .. } => c,
        Gate::Event(_) | Gate::Const(_) => &[],
    }
}

/// The frontier of the AND of `tops` in the current generation: the nodes
/// their AND gates reach (not ANDs themselves, nor constants up, nor nodes taken as
/// up), each once, ascending; cut nodes (given) reached are frontier nodes
/// that are not walked into.
pub(super) fn frontier(graph: &FaultGraph, tops: &[NodeRef], cache: &mut Cache) -> Vec<NodeRef> {
    let generation = cache.generation;
    let walk = cache.next_walk();
    let mut out = Vec::new();
    let mut stack = tops.to_vec();
    while let Some(v) = stack.pop() {
        if std::mem::replace(&mut cache.marks[v as usize].seen, walk) == walk
            || cache.marks[v as usize].up == generation
        {
            continue;
        }
        match graph.gate(v) {
            Gate::And(c) if cache.marks[v as usize].cut != generation => {
                stack.extend(c.iter().copied())
            }
            Gate::Const(true) => {}
            _ => out.push(v),
        }
    }
    out.sort_unstable();
    out
}

/// The cut nodes of a problem whose frontier `front` is marked up in the
/// cache: the gates (not events or constants) reached from two units or
/// more, where the units are the frontier nodes and the cut nodes
/// themselves; also the gate children of the frontier nodes `split`
/// (ascending; groups, which are then gates over cut inputs). Parents have
/// larger indices than children, so one descending pass sees every parent
/// of a node before the node.
pub(super) fn cut_nodes(
    graph: &FaultGraph,
    front: &[NodeRef],
    split: &[NodeRef],
    cache: &mut Cache,
) -> Vec<NodeRef> {
    let generation = cache.generation;
    let walk = cache.next_walk();
    let stopped = |cache: &Cache, c: NodeRef| {
        cache.marks[c as usize].up == generation || cache.marks[c as usize].cut == generation
    };
    let mut all = Vec::new();
    let mut stack = front.to_vec();
    while let Some(v) = stack.pop() {
        if std::mem::replace(&mut cache.marks[v as usize].seen, walk) == walk {
            continue;
        }
        all.push(v);
        if cache.marks[v as usize].cut == generation {
            // A given input: not walked into.
            continue;
        }
        for &c in children(graph.gate(v)) {
            if !stopped(cache, c) {
                stack.push(c);
            }
        }
    }
    all.sort_unstable_by(|a, b| b.cmp(a));
    for &f in front {
        cache.marks[f as usize].owner = f;
        cache.marks[f as usize].owned = generation;
    }
    let mut cuts = Vec::new();
    for &v in &all {
        let gate = graph.gate(v);
        if cache.marks[v as usize].cut == generation {
            continue;
        }
        let owner = cache.marks[v as usize].owner;
        let is_front = front.binary_search(&v).is_ok();
        let unit = if is_front {
            true
        } else if owner == MANY && !matches!(gate, Gate::Event(_) | Gate::Const(_)) {
            cuts.push(v);
            true
        } else {
            false
        };
        let pass = if unit { v } else { owner };
        for &c in children(gate) {
            if stopped(cache, c) {
                continue;
            }
            let c = c as usize;
            if unit
                && split.binary_search(&v).is_ok()
                && !matches!(graph.gate(c as NodeRef), Gate::Event(_) | Gate::Const(_))
            {
                cache.marks[c].owned = generation;
                cache.marks[c].owner = MANY;
            } else if cache.marks[c].owned != generation {
                cache.marks[c].owned = generation;
                cache.marks[c].owner = pass;
            } else if cache.marks[c].owner != pass {
                cache.marks[c].owner = MANY;
            }
        }
    }
    for &c in &cuts {
        cache.marks[c as usize].cut = generation;
    }
    cuts.sort_unstable();
    cuts
}

/// The cone of unit `top`, cut at the nodes taken as up and at the cut
/// nodes (inputs).
pub(super) fn unit_cone(graph: &FaultGraph, top: NodeRef, cache: &mut Cache) -> Cone {
    let generation = cache.generation;
    let walk = cache.next_walk();
    let mut cone = Cone {
        nodes: Vec::new(),
        up: Vec::new(),
        cuts: Vec::new(),
    };
    let mut stack = vec![top];
    while let Some(v) = stack.pop() {
        if std::mem::replace(&mut cache.marks[v as usize].seen, walk) == walk {
            continue;
        }
        if v != top {
            if cache.marks[v as usize].up == generation {
                cone.up.push(v);
                continue;
            }
            if cache.marks[v as usize].cut == generation {
                cone.cuts.push(v);
                continue;
            }
        }
        cone.nodes.push(v);
        stack.extend(children(graph.gate(v)).iter().copied());
    }
    cone.nodes.sort_unstable();
    cone.up.sort_unstable();
    cone.cuts.sort_unstable();
    cone
}

/// The events of the nodes of a cone, each once, ascending.
pub(in crate::analysis) fn cone_events(graph: &FaultGraph, nodes: &[NodeRef]) -> Vec<EventId> {
    let mut events: Vec<EventId> = nodes
        .iter()
        .filter_map(|&v| match graph.gate(v) {
            Gate::Event(e) => Some(*e),
            _ => None,
        })
        .collect();
    events.sort_unstable();
    events.dedup();
    events
}

/// Whether a frontier node is a group over services (a failover or quorum
/// whose members reach another group or replica set through their AND
/// gates), not a service's own replica set.
pub(super) fn is_group(graph: &FaultGraph, v: NodeRef) -> bool {
    let members = match graph.gate(v) {
        Gate::Or(c) | Gate::AtLeast { of: c, .. } => c,
        _ => return false,
    };
    let mut stack: Vec<NodeRef> = members.to_vec();
    while let Some(w) = stack.pop() {
        match graph.gate(w) {
            Gate::And(c) => stack.extend(c.iter().copied()),
            Gate::Or(_) | Gate::AtLeast { .. } => return true,
            Gate::Event(_) | Gate::Const(_) => {}
        }
    }
    false
}

/// The number of nodes below `v`, `v` included.
pub(super) fn cone_size(graph: &FaultGraph, v: NodeRef, cache: &mut Cache) -> usize {
    let walk = cache.next_walk();
    let mut stack = vec![v];
    let mut size = 0;
    while let Some(w) = stack.pop() {
        if std::mem::replace(&mut cache.marks[w as usize].seen, walk) != walk {
            size += 1;
            stack.extend(children(graph.gate(w)).iter().copied());
        }
    }
    size
}

//! The input of the engine: a structure function as a DAG of gates over basic events.

/// Index of a basic event (a domain, or one instance of a service).
pub type EventId = u32;

/// Index of a node in a [`FaultGraph`].
pub type NodeRef = u32;

/// A node of a structure function. Semantics are about being UP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Up when the basic event is up.
    Event(EventId),
    /// Always up (`true`) or always down (`false`).
    Const(bool),
    /// Up when all children are up (empty: up).
    And(Vec<NodeRef>),
    /// Up when at least one child is up (empty: down).
    Or(Vec<NodeRef>),
    /// Up when at least `k` children are up (`k == 0`: up; `k` > number of children: down).
    AtLeast {
        /// How many children must be up.
        k: u32,
        /// The children.
        of: Vec<NodeRef>,
    },
}

impl Gate {
    /// The same gate over other events and children: `event` renumbers
    /// its event, `child` each of its children.
    pub fn renumbered(
        &self,
        mut event: impl FnMut(EventId) -> EventId,
        child: impl FnMut(NodeRef) -> NodeRef,
    ) -> Gate {
        let children = |c: &[NodeRef]| c.iter().copied().map(child).collect();
        match self {
            Gate::Event(e) => Gate::Event(event(*e)),
            Gate::Const(b) => Gate::Const(*b),
            Gate::And(c) => Gate::And(children(c)),
            Gate::Or(c) => Gate::Or(children(c)),
            Gate::AtLeast { k, of } => Gate::AtLeast {
                k: *k,
                of: children(of),
            },
        }
    }
}

/// A structure function: gates added children first, so it is a DAG by construction.
#[derive(Clone, Debug, Default)]
pub struct FaultGraph {
    nodes: Vec<Gate>,
}

impl FaultGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a gate and returns its reference.
    ///
    /// # Panics
    /// When a child does not exist yet (children must be added before their parents).
    pub fn add(&mut self, gate: Gate) -> NodeRef {
        let id = self.nodes.len() as NodeRef;
        let check = |of: &[NodeRef]| {
            for &c in of {
                assert!(c < id, "FaultGraph::add: child {c} does not exist yet");
            }
        };
        match &gate {
            Gate::And(of) | Gate::Or(of) | Gate::AtLeast { of, .. } => check(of),
            Gate::Event(_) | Gate::Const(_) => {}
        }
        self.nodes.push(gate);
        id
    }

    /// The gate at `node`.
    pub fn gate(&self, node: NodeRef) -> &Gate {
        &self.nodes[node as usize]
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the graph has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// All gates, indexed by [`NodeRef`].
    pub fn gates(&self) -> &[Gate] {
        &self.nodes
    }
}

/// Plain evaluation: is `root` up when the events for which `down` answers true are down?
pub fn is_up(graph: &FaultGraph, root: NodeRef, down: &dyn Fn(EventId) -> bool) -> bool {
    // Children have smaller indices than parents: evaluate the reachable nodes in ascending order.
    let mut reach = vec![false; root as usize + 1];
    reach[root as usize] = true;
    for i in (0..=root as usize).rev() {
        if !reach[i] {
            continue;
        }
        match &graph.nodes[i] {
            Gate::And(of) | Gate::Or(of) | Gate::AtLeast { of, .. } => {
                for &c in of {
                    reach[c as usize] = true;
                }
            }
            Gate::Event(_) | Gate::Const(_) => {}
        }
    }
    let mut up = vec![false; root as usize + 1];
    for i in 0..=root as usize {
        if !reach[i] {
            continue;
        }
        up[i] = match &graph.nodes[i] {
            Gate::Event(e) => !down(*e),
            Gate::Const(b) => *b,
            Gate::And(of) => of.iter().all(|&c| up[c as usize]),
            Gate::Or(of) => of.iter().any(|&c| up[c as usize]),
            Gate::AtLeast { k, of } => {
                of.iter().filter(|&&c| up[c as usize]).count() >= *k as usize
            }
        };
    }
    up[root as usize]
}

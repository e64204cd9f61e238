//! The structure function of every service: the model lowered to a
//! [`FaultGraph`] over independent basic events (each domain, each instance
//! of each service that is not perfect on its own).

use crate::analysis::engine::{EventId, FaultGraph, Gate, NodeRef};
use crate::model::{DomainId, Model, Requirement, ServiceId};

/// What a basic event stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A failure domain (its own failures and maintenance drains).
    Domain(DomainId),
    /// One instance of a service (its own component).
    Instance(ServiceId, u32),
}

/// Every service's structure function in one shared graph.
#[derive(Debug)]
pub struct Structure {
    /// The gates.
    pub graph: FaultGraph,
    /// The node that is up when service `i` is up.
    pub service_nodes: Vec<NodeRef>,
    /// What each event is.
    pub events: Vec<Event>,
    /// Each event's probability of being down.
    pub q: Vec<f64>,
    /// The instance events of each service (empty when it is perfect itself).
    pub instance_events: Vec<Vec<EventId>>,
    /// The event of each domain (None when the domain is perfect).
    pub domain_events: Vec<Option<EventId>>,
}

impl Structure {
    /// Lowers a model. Services are visited dependencies first, so every
    /// child exists before its parent (the model guarantees a DAG).
    pub fn build(model: &Model) -> Structure {
        let mut s = Structure {
            graph: FaultGraph::new(),
            service_nodes: vec![NodeRef::MAX; model.services.len()],
            events: Vec::new(),
            q: Vec::new(),
            instance_events: vec![Vec::new(); model.services.len()],
            domain_events: vec![None; model.domains.len()],
        };
        let up = s.graph.add(Gate::Const(true));
        // Domain nodes: up when the domain and all its ancestors are up.
        let mut domain_nodes: Vec<Option<NodeRef>> = vec![None; model.domains.len()];
        for (i, domain) in model.domains.iter().enumerate() {
            let down = domain.down();
            if down > 0.0 {
                let e = s.events.len() as EventId;
                s.events.push(Event::Domain(DomainId(i as u32)));
                s.q.push(down);
                s.domain_events[i] = Some(e);
            }
        }
        for i in 0..model.domains.len() {
            domain_node(model, &mut s, &mut domain_nodes, DomainId(i as u32), up);
        }
        for root in 0..model.services.len() {
            if s.service_nodes[root] != NodeRef::MAX {
                continue;
            }
            // Iterative post-order over hard and group dependencies.
            let mut stack: Vec<(usize, bool)> = vec![(root, false)];
            while let Some((id, expanded)) = stack.pop() {
                if s.service_nodes[id] != NodeRef::MAX {
                    continue;
                }
                if expanded {
                    let node = service_node(model, &mut s, &domain_nodes, ServiceId(id as u32), up);
                    s.service_nodes[id] = node;
                } else {
                    stack.push((id, true));
                    let mut deps = Vec::new();
                    for r in &model.services[id].requires {
                        r.services(&mut deps);
                    }
                    for d in deps {
                        if s.service_nodes[d.0 as usize] == NodeRef::MAX {
                            stack.push((d.0 as usize, false));
                        }
                    }
                }
            }
        }
        s
    }

    /// The events below a node (its cone), each once.
    pub fn cone(&self, root: NodeRef) -> Vec<EventId> {
        let mut seen = vec![false; self.graph.len()];
        let mut events = Vec::new();
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            if std::mem::replace(&mut seen[node as usize], true) {
                continue;
            }
            match self.graph.gate(node) {
                Gate::Event(e) => events.push(*e),
                Gate::Const(_) => {}
                Gate::And(children) | Gate::Or(children) | Gate::AtLeast { of: children, .. } => {
                    stack.extend(children.iter().copied())
                }
            }
        }
        events.sort_unstable();
        events
    }
}

fn domain_node(
    model: &Model,
    s: &mut Structure,
    nodes: &mut [Option<NodeRef>],
    id: DomainId,
    up: NodeRef,
) -> NodeRef {
    if let Some(n) = nodes[id.0 as usize] {
        return n;
    }
    // The chain from this domain up to the root, built from the top down.
    let chain = model.domain_chain(id);
    let mut above = up;
    for d in chain.into_iter().rev() {
        if let Some(n) = nodes[d.0 as usize] {
            above = n;
            continue;
        }
        let node = match s.domain_events[d.0 as usize] {
            Some(e) => {
                let event = s.graph.add(Gate::Event(e));
                if above == up {
                    event
                } else {
                    s.graph.add(Gate::And(vec![event, above]))
                }
            }
            None => above,
        };
        nodes[d.0 as usize] = Some(node);
        above = node;
    }
    above
}

fn service_node(
    model: &Model,
    s: &mut Structure,
    domain_nodes: &[Option<NodeRef>],
    id: ServiceId,
    up: NodeRef,
) -> NodeRef {
    let service = model.service(id);
    let mut instance_nodes = Vec::with_capacity(service.instances.len());
    for (i, placement) in service.instances.iter().enumerate() {
        let mut parts = Vec::new();
        if service.own.down > 0.0 {
            let e = s.events.len() as EventId;
            s.events.push(Event::Instance(id, i as u32));
            s.q.push(service.own.down);
            s.instance_events[id.0 as usize].push(e);
            parts.push(s.graph.add(Gate::Event(e)));
        }
        if let Some(d) = placement {
            let node = domain_nodes[d.0 as usize].unwrap_or(up);
            if node != up {
                parts.push(node);
            }
        }
        instance_nodes.push(match parts.len() {
            0 => up,
            1 => parts[0],
            _ => s.graph.add(Gate::And(parts)),
        });
    }
    let need = service.need as usize;
    let instances = if instance_nodes.len() == 1 && need == 1 {
        instance_nodes[0]
    } else if instance_nodes.iter().all(|n| *n == up) {
        up
    } else {
        s.graph.add(Gate::AtLeast {
            k: need as u32,
            of: instance_nodes,
        })
    };
    let mut parts = vec![instances];
    for r in &service.requires {
        parts.push(requirement_node(s, r));
    }
    parts.retain(|p| *p != up);
    match parts.len() {
        0 => up,
        1 => parts[0],
        _ => s.graph.add(Gate::And(parts)),
    }
}

fn requirement_node(s: &mut Structure, r: &Requirement) -> NodeRef {
    match r {
        Requirement::Service(t, _) => s.service_nodes[t.0 as usize],
        Requirement::AtLeast { k, of, .. } => {
            let members: Vec<NodeRef> = of.iter().map(|m| requirement_node(s, m)).collect();
            s.graph.add(Gate::AtLeast { k: *k, of: members })
        }
    }
}

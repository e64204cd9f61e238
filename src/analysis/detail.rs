//! Per-service detail: who consumes the budget, what each dependency would
//! need, and single (and double) points of failure.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use super::engine::{self, EventId, FaultGraph, Gate, Limits, NodeRef};
use super::factor;
use super::required::solve_required;
use super::structure::{Event, Structure};
use super::{Options, ServiceResult};
use crate::model::{DomainId, Model, OwnForm, ServiceId};

/// A part of the platform whose perfection or failure is asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// A failure domain.
    Domain(DomainId),
    /// All instances of a service (its own component).
    Service(ServiceId),
    /// One instance of a replicated service.
    Instance(ServiceId, u32),
}

/// How much of a service's expected downtime one component causes.
#[derive(Clone, Debug, PartialEq)]
pub struct Consumer {
    /// The component.
    pub component: Component,
    /// Downtime per window that would vanish were the component perfect.
    pub downtime_seconds: f64,
    /// The same as a share of the service's expected downtime.
    pub share: f64,
}

/// The own availability a dependency would need for the SLO to hold, all
/// else fixed.
#[derive(Clone, Debug, PartialEq)]
pub struct Required {
    /// The dependency.
    pub dependency: ServiceId,
    /// Its own unavailability now.
    pub current_down: f64,
    /// The largest own unavailability that meets the SLO; `None` when the
    /// SLO is missed even were the dependency perfect.
    pub required_down: Option<f64>,
    /// With the incident form: incidents per year allowed at its detect +
    /// mitigate time.
    pub allowed_incidents_per_year: Option<f64>,
}

const YEAR_SECONDS: f64 = 365.0 * 86400.0;

/// Time of one pass over a compiled BDD (its gradient), per node, with
/// room to spare: on realistic 10k, 0.15 s for 117k nodes, 0.36 s for 254k,
/// 1.0 s for 536k (about 2 us a node on these large BDDs).
const NANOS_PER_BDD_NODE: u64 = 3000;

/// A unit of a factored service whose events are this many components
/// of their own or more gets one weighted gradient for all of them (about
/// three tabulations of its table, see [`factor::Factored::slopes`])
/// rather than one tabulation per component.
const SLOPES_AT_LEAST: usize = 4;

/// Most components in a cone for which pairs are searched.
const MAX_PAIR_CONE: usize = 60;

/// One service's structure function compiled over a compact copy of its own
/// cone (the engine's work is then proportional to the cone, not to the whole
/// platform's graph), or factored (see [`factor`]), kept for the detail.
pub struct Compiled {
    local: LocalCone,
    solver: Solver,
}

/// What computes a service's unavailability again with other event
/// probabilities.
enum Solver {
    /// A BDD over the cone, with the local id of each global event.
    Bdd {
        analysis: engine::Analysis,
        local_of: HashMap<EventId, EventId>,
    },
    /// The cone as a product of factors, with its derivatives.
    Factored(factor::Factored, factor::Sensitivity),
}

impl Compiled {
    /// Compiles and solves the service whose node is `root`, within `limits`.
    pub fn new(structure: &Structure, root: NodeRef, limits: &Limits) -> Compiled {
        let local = LocalCone::new(&structure.graph, root);
        let (compact, local_events) = local.compact(&structure.graph);
        let local_of = local_events
            .iter()
            .enumerate()
            .map(|(i, e)| (*e, i as EventId))
            .collect();
        let local_q: Vec<f64> = local_events
            .iter()
            .map(|e| structure.q[*e as usize])
            .collect();
        let analysis =
            engine::Analysis::new(&compact, (compact.len() - 1) as NodeRef, &local_q, limits);
        Compiled {
            local,
            solver: Solver::Bdd { analysis, local_of },
        }
    }

    /// A service factored by [`factor::Factored`] (exact), with its
    /// derivatives: those taken with its numbers, else from its
    /// eliminations run again; `None` if they cannot be had (they always
    /// can: the same eliminations run again).
    pub fn factored(
        structure: &Structure,
        root: NodeRef,
        mut factored: factor::Factored,
    ) -> Option<Compiled> {
        let sensitivity = factored.sensitivity()?;
        Some(Compiled {
            local: LocalCone::new(&structure.graph, root),
            solver: Solver::Factored(factored, sensitivity),
        })
    }

    /// The service's unavailability: exact, or bounds when the limits were hit.
    pub fn outcome(&self) -> engine::Outcome {
        match &self.solver {
            Solver::Bdd { analysis, .. } => analysis.outcome(),
            Solver::Factored(f, _) => engine::Outcome::Exact(f.unavailability()),
        }
    }
}

/// What one event's probability does to a service (see [`Solver::single`]).
#[derive(Clone, Copy)]
struct Single {
    /// The change of the unavailability were the event perfect (<= 0).
    perfect: f64,
    /// dU/dq of the event.
    slope: f64,
}

impl Solver {
    /// dU/dq_e for every event of the cone, when one pass gives them all.
    fn gradient(&self) -> Option<Vec<f64>> {
        match self {
            Solver::Bdd { analysis, .. } => analysis.importance(),
            Solver::Factored(..) => None,
        }
    }

    /// For one event `e` down with probability `q`: how much the
    /// unavailability changes were `e` perfect, and dU/dq_e. U is linear
    /// in q_e, so either gives the other: the slope from `gradient` (a
    /// BDD), or the change from the factored derivatives (one evaluation
    /// of the part holding `e`; a second one when `q` is 0).
    fn single(
        &self,
        gradient: Option<&[f64]>,
        slopes: &HashMap<EventId, f64>,
        e: EventId,
        q: f64,
    ) -> Option<Single> {
        if let Some(&slope) = slopes.get(&e) {
            return Some(Single {
                perfect: -q * slope,
                slope,
            });
        }
        match self {
            Solver::Bdd { local_of, .. } => {
                let l = *local_of.get(&e)? as usize;
                let slope = gradient.and_then(|g| g.get(l).copied())?;
                Some(Single {
                    perfect: -q * slope,
                    slope,
                })
            }
            Solver::Factored(f, s) => {
                let perfect = f.change(s, &[(e, 0.0)])?;
                let slope = if q > 0.0 {
                    -perfect / q
                } else {
                    f.change(s, &[(e, 1.0)])?
                };
                Some(Single { perfect, slope })
            }
        }
    }

    /// dU/dq_e for those of the events `events` (each a component of its
    /// own) that a factored service gives more cheaply together than one
    /// by one (see [`factor::Factored::slopes`]); a BDD's come from
    /// `gradient`.
    fn slopes(&self, events: &[EventId]) -> HashMap<EventId, f64> {
        match self {
            Solver::Bdd { .. } => HashMap::new(),
            Solver::Factored(f, s) => f.slopes(s, events, SLOPES_AT_LEAST),
        }
    }

    /// How much the unavailability changes with the probabilities of
    /// global events replaced (from the upper bound when the engine only
    /// bounds it).
    fn change(&self, total: f64, overrides: &[(EventId, f64)]) -> f64 {
        match self {
            Solver::Bdd { analysis, local_of } => {
                let local: Vec<(EventId, f64)> = overrides
                    .iter()
                    .filter_map(|(e, q)| local_of.get(e).map(|l| (*l, *q)))
                    .collect();
                analysis.unavailability_with(&local).upper() - total
            }
            Solver::Factored(f, s) => f.change(s, overrides).unwrap_or(1.0 - total),
        }
    }
}

/// Sets the unavailability of a compiled service and, when it is exact, its
/// detail (consumers, requirements, failure points) within `deadline`: past
/// it, the detail stops where it is and is not marked done.
pub fn fill(
    model: &Model,
    structure: &Structure,
    result: &mut ServiceResult,
    options: &Options,
    deadline: Instant,
    compiled: &Compiled,
) {
    let Compiled { local, solver } = compiled;
    result.unavailability = compiled.outcome();
    let engine::Outcome::Exact(total) = compiled.outcome() else {
        return;
    };
    // One pass over a BDD of millions of nodes takes about a second: none
    // is begun when the deadline would pass before it ends.
    let pass = match solver {
        Solver::Bdd { analysis, .. } => {
            Duration::from_nanos(analysis.bdd_size() as u64 * NANOS_PER_BDD_NODE)
        }
        Solver::Factored(..) => Duration::ZERO,
    };
    let deadline = deadline.checked_sub(pass).unwrap_or(deadline);
    if Instant::now() >= deadline {
        return;
    }
    let gradient = solver.gradient();
    if gradient.is_none() && matches!(solver, Solver::Bdd { .. }) {
        return;
    }
    let gradient = gradient.as_deref();
    let overrides_for = |events: &[EventId], q: f64| -> Vec<(EventId, f64)> {
        events.iter().map(|e| (*e, q)).collect()
    };
    let cone = local.events(&structure.graph);
    let window = model.window.seconds;

    // Group the cone's events by component.
    let mut groups: BTreeMap<Component, Vec<EventId>> = BTreeMap::new();
    for &e in &cone {
        let component = match structure.events[e as usize] {
            Event::Domain(d) => Component::Domain(d),
            Event::Instance(s, _) => Component::Service(s),
        };
        groups.entry(component).or_default().push(e);
    }

    // Who consumes the budget. The changes were each component perfect
    // are kept for the requirements below.
    let mut consumers = Vec::new();
    let single_events: Vec<EventId> = groups
        .values()
        .filter_map(|events| match events.as_slice() {
            [e] => Some(*e),
            _ => None,
        })
        .collect();
    let slopes = solver.slopes(&single_events);
    let mut singles: HashMap<EventId, Single> = HashMap::new();
    let mut perfect: HashMap<Component, f64> = HashMap::new();
    for (component, events) in &groups {
        if Instant::now() >= deadline {
            // Out of time: no detail rather than a partial one.
            return;
        }
        let single = match events.as_slice() {
            [e] => solver.single(gradient, &slopes, *e, structure.q[*e as usize]),
            _ => None,
        };
        let change = match (single, events.as_slice()) {
            (Some(single), [e]) => {
                singles.insert(*e, single);
                single.perfect
            }
            _ => solver.change(total, &overrides_for(events, 0.0)),
        };
        perfect.insert(*component, change);
        let reduction = -change;
        if reduction > 0.0 {
            consumers.push(Consumer {
                component: *component,
                downtime_seconds: reduction * window,
                share: if total > 0.0 { reduction / total } else { 0.0 },
            });
        }
    }
    consumers.sort_by(|a, b| b.downtime_seconds.total_cmp(&a.downtime_seconds));
    result.consumers = consumers;

    // Required availability per dependency.
    let service = model.service(result.id);
    if let Some((slo, _)) = service.slo {
        let mut deps = Vec::new();
        for r in &service.requires {
            r.services(&mut deps);
        }
        deps.sort();
        deps.dedup();
        for dep in deps {
            let events = &structure.instance_events[dep.0 as usize];
            if events.is_empty() || Instant::now() >= deadline {
                continue;
            }
            // Past the deadline an evaluation costs nothing (NaN), and the
            // answer it led to is dropped below with the rest of the detail.
            let at_zero = perfect.get(&Component::Service(dep)).map(|c| total + c);
            let evaluate = |q: f64| {
                if Instant::now() >= deadline {
                    return f64::NAN;
                }
                match at_zero {
                    Some(u) if q == 0.0 => u,
                    _ => total + solver.change(total, &overrides_for(events, q)),
                }
            };
            let required_down = match (
                events.as_slice(),
                events.first().and_then(|e| singles.get(e)),
            ) {
                // One instance: U is linear in its q, U(q) = U(0) + q dU/dq,
                // so the answer is exact from one evaluation.
                ([_], Some(&Single { slope, .. })) => {
                    let at_zero = evaluate(0.0);
                    if at_zero > slo.down {
                        None
                    } else if slope <= 0.0 {
                        Some(1.0)
                    } else {
                        Some(((slo.down - at_zero) / slope).min(1.0))
                    }
                }
                _ => {
                    // Every instance at the dependency's own unavailability
                    // gives the service's.
                    let q = structure.q[events[0] as usize];
                    let same = events.iter().all(|&e| structure.q[e as usize] == q);
                    solve_required(evaluate, slo.down, same.then_some((q, total)))
                }
            };
            if Instant::now() >= deadline {
                return;
            }
            let own = &model.service(dep).own;
            let allowed_incidents_per_year = match (&own.form, required_down) {
                (
                    OwnForm::Incidents {
                        detect, mitigate, ..
                    },
                    Some(q),
                ) => {
                    let each = detect.seconds + mitigate.seconds;
                    (each > 0.0).then(|| q / each * YEAR_SECONDS)
                }
                _ => None,
            };
            result.required.push(Required {
                dependency: dep,
                current_down: own.down,
                required_down,
                allowed_incidents_per_year,
            });
        }
    }

    // Single points of failure: basic events whose failure alone downs it.
    let component_of = |e: EventId| match structure.events[e as usize] {
        Event::Domain(d) => Component::Domain(d),
        Event::Instance(s, i) => {
            if model.service(s).instances.len() == 1 {
                Component::Service(s)
            } else {
                Component::Instance(s, i)
            }
        }
    };
    let singles = local.single_failures(&structure.graph);
    let mut others = Vec::new();
    for &e in &cone {
        if singles.contains(e) {
            result.single_points_of_failure.push(component_of(e));
        } else {
            others.push(e);
        }
    }
    if others.len() <= MAX_PAIR_CONE {
        'pairs: for (i, &a) in others.iter().enumerate() {
            for &b in &others[i + 1..] {
                if result.double_points_of_failure.len() >= options.max_pairs
                    || Instant::now() >= deadline
                {
                    break 'pairs;
                }
                if !local.is_up(&structure.graph, &[a, b]) {
                    result
                        .double_points_of_failure
                        .push((component_of(a), component_of(b)));
                }
            }
        }
    }
    result.detailed = true;
}

/// The nodes below one root in bottom-up order, evaluated without looking at
/// the rest of the platform's graph.
struct LocalCone {
    order: Vec<NodeRef>,
}

impl LocalCone {
    fn new(graph: &FaultGraph, root: NodeRef) -> Self {
        let mut seen = HashSet::new();
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            if seen.insert(v) {
                if let Gate::And(c) | Gate::Or(c) | Gate::AtLeast { of: c, .. } = graph.gate(v) {
                    stack.extend(c.iter().copied());
                }
            }
        }
        // Children have smaller indices than their parents.
        let mut order: Vec<NodeRef> = seen.into_iter().collect();
        order.sort_unstable();
        LocalCone { order }
    }

    /// The place of a node of the cone in `order` (a binary search: cheaper
    /// than hashing on large cones).
    fn position(&self, node: NodeRef) -> usize {
        self.order
            .binary_search(&node)
            .expect("the children of a node of the cone are in the cone")
    }

    /// The events of the cone, each once, in ascending order (as
    /// [`Structure::cone`], without a walk over the whole graph).
    fn events(&self, graph: &FaultGraph) -> Vec<EventId> {
        factor::cone_events(graph, &self.order)
    }

    /// A copy of the cone as a graph of its own (the root is its last node),
    /// with its events renumbered; returns the global id of each local event.
    fn compact(&self, graph: &FaultGraph) -> (FaultGraph, Vec<EventId>) {
        let mut out = FaultGraph::new();
        let mut events = Vec::new();
        let mut event_ids: HashMap<EventId, EventId> = HashMap::new();
        for v in &self.order {
            let gate = graph.gate(*v).renumbered(
                |e| {
                    *event_ids.entry(e).or_insert_with(|| {
                        events.push(e);
                        (events.len() - 1) as EventId
                    })
                },
                |c| self.position(c) as NodeRef,
            );
            out.add(gate);
        }
        (out, events)
    }

    /// The events whose failure alone (every other event up) takes the root down, from one
    /// bottom-up pass over the cone: a node that is up when all its children are up is down
    /// for the events that take any child down; one that needs any child up, for those that
    /// take every child down; one that needs `k` of `n` up, for those that take at least
    /// `n - k + 1` children down (a child listed twice counts twice, as in the gate).
    fn single_failures(&self, graph: &FaultGraph) -> Singles {
        let mut sets: Vec<Singles> = Vec::with_capacity(self.order.len());
        for v in &self.order {
            let (m, of): (usize, &[NodeRef]) = match graph.gate(*v) {
                Gate::Event(e) => {
                    sets.push(Singles::Some(vec![*e]));
                    continue;
                }
                Gate::Const(up) => {
                    sets.push(if *up {
                        Singles::Some(Vec::new())
                    } else {
                        Singles::All
                    });
                    continue;
                }
                // Down when any child is down.
                Gate::And(c) => (1, c),
                // Down when every child is down.
                Gate::Or(c) => (c.len(), c),
                // Down when at least n - k + 1 children are down.
                Gate::AtLeast { k, of } => {
                    if *k == 0 {
                        sets.push(Singles::Some(Vec::new()));
                        continue;
                    }
                    ((of.len() + 1).saturating_sub(*k as usize), of)
                }
            };
            let set = if m == 0 {
                Singles::All
            } else {
                let kids: Vec<&Singles> = of.iter().map(|c| &sets[self.position(*c)]).collect();
                Singles::at_least(m, &kids)
            };
            sets.push(set);
        }
        sets.pop().unwrap_or(Singles::Some(Vec::new()))
    }

    /// Whether the root is up with exactly the events in `down` down.
    fn is_up(&self, graph: &FaultGraph, down: &[EventId]) -> bool {
        let mut up = vec![false; self.order.len()];
        let child = |up: &[bool], c: &NodeRef| up[self.position(*c)];
        for (i, v) in self.order.iter().enumerate() {
            up[i] = match graph.gate(*v) {
                Gate::Event(e) => !down.contains(e),
                Gate::Const(b) => *b,
                Gate::And(c) => c.iter().all(|c| child(&up, c)),
                Gate::Or(c) => c.iter().any(|c| child(&up, c)),
                Gate::AtLeast { k, of } => {
                    of.iter().filter(|c| child(&up, c)).count() >= *k as usize
                }
            };
        }
        up.last().copied().unwrap_or(true)
    }
}

/// The events whose failure alone takes a node down.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Singles {
    /// The node is down with nothing failed, so with any one event failed.
    All,
    /// These events, sorted.
    Some(Vec<EventId>),
}

impl Singles {
    fn contains(&self, e: EventId) -> bool {
        match self {
            Singles::All => true,
            Singles::Some(v) => v.binary_search(&e).is_ok(),
        }
    }

    /// The events in at least `m` of `sets` (`m >= 1`).
    fn at_least(m: usize, sets: &[&Singles]) -> Singles {
        let all = sets.iter().filter(|s| matches!(s, Singles::All)).count();
        if all >= m {
            return Singles::All;
        }
        let mut events: Vec<EventId> = sets
            .iter()
            .filter_map(|s| match s {
                Singles::Some(v) => Some(v.iter().copied()),
                Singles::All => None,
            })
            .flatten()
            .collect();
        events.sort_unstable();
        let mut out = Vec::new();
        for run in events.chunk_by(|a, b| a == b) {
            if all + run.len() >= m {
                out.push(run[0]);
            }
        }
        Singles::Some(out)
    }
}

#[cfg(test)]
mod factored_tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::analysis::{testing, unknown, Options};
    use crate::model::load::load_text;

    /// Replica sets over racks of three zones, failover and quorum groups
    /// over services that share dependencies: the detail from the factored
    /// form (derivatives of the elimination) is the detail from one BDD of
    /// each service's cone, component by component.
    #[test]
    fn factored_detail_matches_the_bdd_detail() {
        let spec = testing::RACKS_AND_GROUPS;
        let loaded = load_text("t.nines", spec.to_string());
        let model = loaded.model.expect("the spec loads");
        let structure = Structure::build(&model);
        let options = Options::default();
        let far = Instant::now() + Duration::from_secs(600);
        let limits = Limits::until(far);
        let mut cache = factor::Cache::new(&structure.graph);
        for (i, service) in model.services.iter().enumerate() {
            let root = structure.service_nodes[i];
            let mut by_bdd = unknown(i);
            fill(
                &model,
                &structure,
                &mut by_bdd,
                &options,
                far,
                &Compiled::new(&structure, root, &limits),
            );
            let at = factor::Root {
                graph: &structure.graph,
                q: &structure.q,
                node: root,
                limits: &limits,
            };
            let factored = factor::Factored::new(at, &mut cache).expect("this spec factors");
            let compiled = Compiled::factored(&structure, root, factored).expect("derivatives");
            let mut by_factors = unknown(i);
            fill(
                &model,
                &structure,
                &mut by_factors,
                &options,
                far,
                &compiled,
            );
            let name = &service.name;
            let close = |a: f64, b: f64, what: &str| {
                assert!(
                    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-12,
                    "{name} {what}: {a:e} by BDD, {b:e} by factors"
                );
            };
            close(
                by_bdd.unavailability.upper(),
                by_factors.unavailability.upper(),
                "unavailability",
            );
            assert!(by_factors.detailed, "{name}");
            let consumers = |r: &ServiceResult| -> BTreeMap<Component, f64> {
                r.consumers
                    .iter()
                    .map(|c| (c.component, c.downtime_seconds))
                    .collect()
            };
            let (a, b) = (consumers(&by_bdd), consumers(&by_factors));
            for (component, &x) in &a {
                let y = b.get(component).copied().unwrap_or(0.0);
                close(x, y, &format!("consumer {component:?}"));
            }
            assert_eq!(by_bdd.required.len(), by_factors.required.len(), "{name}");
            for (x, y) in by_bdd.required.iter().zip(&by_factors.required) {
                assert_eq!(x.dependency, y.dependency);
                match (x.required_down, y.required_down) {
                    (Some(x), Some(y)) => close(x, y, "required"),
                    (x, y) => assert_eq!(x, y, "{name} required"),
                }
            }
            assert_eq!(
                by_bdd.single_points_of_failure,
                by_factors.single_points_of_failure
            );
        }
    }
}

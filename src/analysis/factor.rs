//! Exact unavailability of a service as a product of factors over what
//! its parts share, summed out by variable elimination.
//!
//! A service is up when every node of its *frontier* is up: what its AND
//! gates reach, each node once (see [`super::flat`]). Three facts make that
//! product cheap on platforms of replicated services:
//!
//! 1. Inside one frontier node, any other frontier node may be taken as up.
//!    Where the root is up they all are; where one is down, the lowest
//!    frontier node that is down has only up frontier nodes below it, so it
//!    is down in its substituted form too. A failover group over services
//!    then keeps only what those services do not share with the root.
//! 2. A node reached from two *units* or more (the units are the frontier
//!    nodes and these *cut* nodes themselves) becomes a variable of its
//!    own, distributed by its unit's table given the variables below it:
//!    a rack's node (the rack, its power domain, its zone and the region
//!    all up) is one variable, so a replica set placed on three racks
//!    depends on three variables, not on ten domain events. Events in the
//!    cones of two units or more are variables too. Given the variables,
//!    the units are independent.
//! 3. Each unit's probability of being down is tabulated over its
//!    variables: a small cone by the BDD engine (compiled once, evaluated
//!    for each state of its variables), a large one by factoring it in
//!    turn with its variables given (a failover group is split: its
//!    members become cut nodes). The variables are then summed out one at
//!    a time, in one of three greedy orders: a cut node before the
//!    variables its table is over, the narrowest step first (every table
//!    stays a probability); or, in any order, the step of least estimated
//!    cost first, or the step that ties together the fewest variables no
//!    table had together yet ("min-fill"), a cut node's table joining the
//!    step of the first variable it is over (the tables then carry their
//!    whole mass beside their mass down, see [`eliminate`]). The first is
//!    kept while it is cheap, else the cheapest of the three.
//!
//! The cost follows the width of the elimination (how many variables one
//! step's tables span), not the size of a BDD of the whole cone, which
//! grows with how long each domain stays open in a variable order: racks
//! tied together by the replica sets of services placed across zones give
//! BDDs of millions of nodes and eliminations of a few thousand table
//! entries. Beyond [`MAX_UNIT_INPUTS`] variables in one unit (tried with
//! smaller limits first, see [`UNIT_INPUT_LIMITS`]),
//! [`MAX_WIDTH`] in one step, or [`MAX_VARIABLES`] in all, the method gives
//! up (`None`) and the caller tries a BDD of the whole cone.
//!
//! Tables hold probabilities of being down, combined as `a + b (1 - a)`
//! (down when either is; with masses, `(m1 m2, d1 m2 + d2 (m1 - d1))`) and
//! summed out as `q d1 + (1 - q) d0`: non-negative terms only, so a tiny
//! unavailability keeps its relative precision.
//!
//! For the per-service detail, the elimination is differentiated (reverse
//! mode, through the nested factorings): the unavailability is linear in
//! each unit's table and in each event's probability, so the change made
//! by a component whose events lie in one unit is the sum of its table's
//! changes weighted by their derivatives, exact and without subtracting two
//! nearly equal unavailabilities.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::engine::{self, EventId, FaultGraph, Gate, Limits, NodeRef, Outcome};
pub use eliminate::MAX_WIDTH;
use eliminate::{eliminate, Elimination, Prior};
pub(super) use walk::cone_events;
use walk::{cone_size, cut_nodes, frontier, is_group, unit_cone};

/// Most variables one unit's table may span (2^this entries), tried in
/// turn: a root that does not factor within the first limit (a unit over
/// more variables, or an expansion into too many terms) is factored again
/// within the next. Tables of 2^12 entries suffice for nearly every
/// service; the few that need more pay for their larger tables alone
/// (on the realistic 10k platform, 9,965 services factor within 2^12,
/// 9,995 within 2^16 and 9,996 within 2^20, whose tables of 8 MB each
/// are not worth that one).
pub const UNIT_INPUT_LIMITS: [usize; 2] = [12, 16];

/// The largest of [`UNIT_INPUT_LIMITS`].
pub const MAX_UNIT_INPUTS: usize = UNIT_INPUT_LIMITS[UNIT_INPUT_LIMITS.len() - 1];

/// Most work (BDD nodes times table entries) of one unit compiled by the
/// BDD engine: past it, splitting the service's groups (see [`Factored`])
/// is cheaper.
const MAX_UNIT_WORK: usize = 1 << 22;

/// Most variables of one problem (they are tracked in 128-bit sets).
pub const MAX_VARIABLES: usize = 128;

/// A unit whose cone has more nodes than this is factored in turn (see
/// [`Body::Nested`]) before a BDD is tried.
const NEST_ABOVE: usize = 48;

/// Most levels of nesting.
const MAX_DEPTH: usize = 12;

/// Most frontier groups of one problem split (see [`Problem::new`]).
const MAX_SPLITS: usize = 8;

/// An input of a cone: a basic event, or a cut node (events sort first).
type Input = u64;

/// The tag of a cut node's [`Input`].
const CUT: Input = 1 << 32;

fn event_input(e: EventId) -> Input {
    Input::from(e)
}

fn cut_input(node: NodeRef) -> Input {
    CUT | Input::from(node)
}

/// What every problem of one root reads: the graph, the events'
/// probabilities of being down and the limits of the BDD engine.
#[derive(Clone, Copy)]
struct Source<'a> {
    graph: &'a FaultGraph,
    q: &'a [f64],
    limits: &'a Limits,
}

/// How a unit's table is computed.
enum Body {
    /// Its cone compiled by the BDD engine (cut nodes as fresh events,
    /// taken-up nodes as constants), evaluated for each state of its
    /// variables.
    Bdd {
        analysis: engine::Analysis,
        /// The inputs of the compiled cone, ascending: local event `i` is
        /// `inputs[i]`.
        inputs: Vec<Input>,
        /// The local ids of the variables, in table-bit order.
        variables: Vec<EventId>,
    },
    /// Its cone factored in turn, its variables given.
    Nested(Problem),
    /// A given input on the frontier: down exactly when it is down.
    Input,
}

/// One unit: a frontier node or a cut node, with its table.
struct Unit {
    body: Body,
    /// P(the unit's node down) in each state of its variables (bit `j` of
    /// the index: its `j`-th variable, ascending, down).
    table: Vec<f64>,
}

/// A unit's cone: its nodes (ascending, the unit's node last), the nodes
/// it reaches that are taken as up, and the cut nodes it reaches (its
/// inputs besides events).
struct Cone {
    nodes: Vec<NodeRef>,
    up: Vec<NodeRef>,
    cuts: Vec<NodeRef>,
}

impl Unit {
    /// The unit of node `top` with cone `cone`, tabulated over the inputs
    /// `variables` (every cut node of the cone among them); `None` when
    /// neither a nested factoring nor the BDD engine is exact within
    /// `limits`.
    fn new(
        source: Source,
        top: NodeRef,
        cone: &Cone,
        variables: &[Input],
        cache: &mut Cache,
        depth: usize,
    ) -> Option<Unit> {
        if cone.nodes.len() > cache.nest_above && depth < MAX_DEPTH {
            let nested = Problem::new(source, &[top], &cone.up, variables, cache, depth + 1);
            if let Some(mut problem) = nested {
                let table = std::mem::take(&mut problem.table);
                return Some(Unit {
                    body: Body::Nested(problem),
                    table,
                });
            }
        }
        Unit::compile(source, cone, variables)
    }

    /// The unit compiled by the BDD engine.
    fn compile(source: Source, cone: &Cone, variables: &[Input]) -> Option<Unit> {
        let Source { graph, q, limits } = source;
        // Events sort before cut nodes: the concatenation is ascending.
        let inputs: Vec<Input> = cone_events(graph, &cone.nodes)
            .into_iter()
            .map(event_input)
            .chain(cone.cuts.iter().map(|&c| cut_input(c)))
            .collect();
        let local_input = |i: Input| inputs.binary_search(&i).unwrap_or(0) as EventId;
        // Local graph: a constant up for the nodes taken as up, one event
        // per cut node, then the cone in ascending order (children first).
        let mut local = FaultGraph::new();
        let up = local.add(Gate::Const(true));
        let cut_nodes: Vec<NodeRef> = cone
            .cuts
            .iter()
            .map(|&c| local.add(Gate::Event(local_input(cut_input(c)))))
            .collect();
        let offset = local.len() as NodeRef;
        let place = |v: NodeRef| -> NodeRef {
            if let Ok(i) = cone.cuts.binary_search(&v) {
                cut_nodes[i]
            } else if let Ok(i) = cone.nodes.binary_search(&v) {
                offset + i as NodeRef
            } else {
                // Taken as up.
                up
            }
        };
        for &v in &cone.nodes {
            local.add(
                graph
                    .gate(v)
                    .renumbered(|e| local_input(event_input(e)), place),
            );
        }
        // A cut node's own probability is never used: it is a variable,
        // set to up or down in every state tabulated.
        let local_q: Vec<f64> = inputs
            .iter()
            .map(|&i| if i < CUT { q[i as usize] } else { 0.5 })
            .collect();
        let top = (local.len() - 1) as NodeRef;
        let analysis = engine::Analysis::new(&local, top, &local_q, limits);
        // Over the engine's limits (some module only bounded), or too much
        // work per state: each state would be bounded again, at length, for
        // nothing.
        if !analysis.outcome().is_exact()
            || (analysis.bdd_size() << variables.len()) > MAX_UNIT_WORK
        {
            return None;
        }
        let variables: Vec<EventId> = variables.iter().map(|&i| local_input(i)).collect();
        let body = Body::Bdd {
            analysis,
            inputs,
            variables,
        };
        let table = body.tabulate(&[])?;
        Some(Unit { body, table })
    }

    /// The table with the probabilities of the events `overrides` (global
    /// ids, none of them a variable of this unit) replaced; `None` if the
    /// engine is not exact.
    fn tabulate_with(&self, overrides: &[(EventId, f64)]) -> Option<Vec<f64>> {
        self.body.tabulate(overrides)
    }
}

impl Body {
    fn tabulate(&self, overrides: &[(EventId, f64)]) -> Option<Vec<f64>> {
        match self {
            Body::Input => Some(vec![0.0, 1.0]),
            Body::Nested(problem) => problem.table_with(overrides),
            Body::Bdd {
                analysis,
                inputs,
                variables,
            } => {
                let local: Vec<(EventId, f64)> = overrides
                    .iter()
                    .filter_map(|&(e, q)| {
                        inputs
                            .binary_search(&event_input(e))
                            .ok()
                            .map(|l| (l as EventId, q))
                    })
                    .collect();
                let k = variables.len();
                let mut events = variables.clone();
                events.extend(local.iter().map(|o| o.0));
                analysis
                    .unavailability_each(&events, 1 << k, |state, set| {
                        for (j, slot) in set[..k].iter_mut().enumerate() {
                            *slot = f64::from((state >> j & 1) as u8);
                        }
                        for (slot, o) in set[k..].iter_mut().zip(&local) {
                            *slot = o.1;
                        }
                    })
                    .into_iter()
                    .map(|o| match o {
                        Outcome::Exact(d) => Some(d),
                        Outcome::Bounds { .. } => None,
                    })
                    .collect()
            }
        }
    }

    /// `sum over states s of weights[s] * d table[s] / dq_e` for every
    /// event `e` private to this unit (a BDD body's events that are not
    /// its variables), by global id; `None` for other bodies or where the
    /// engine is not exact.
    fn slopes(&self, weights: &[f64]) -> Option<Vec<(EventId, f64)>> {
        let Body::Bdd {
            analysis,
            inputs,
            variables,
        } = self
        else {
            return None;
        };
        let by_local = analysis.importance_each(variables, weights, |state, set| {
            for (j, slot) in set.iter_mut().enumerate() {
                *slot = f64::from((state >> j & 1) as u8);
            }
        })?;
        let variable = |l: usize| variables.contains(&(l as EventId));
        Some(
            inputs
                .iter()
                .enumerate()
                .filter(|&(l, &i)| i < CUT && !variable(l))
                .map(|(l, &i)| (i as EventId, by_local.get(l).copied().unwrap_or(0.0)))
                .collect(),
        )
    }

    /// Whether an event is below this unit (so an override of it changes
    /// the table).
    fn has_event(&self, e: EventId) -> bool {
        match self {
            Body::Input => false,
            Body::Nested(problem) => problem.has_event(e),
            Body::Bdd { inputs, .. } => inputs.binary_search(&event_input(e)).is_ok(),
        }
    }
}

/// The key of a unit: its node, the nodes taken as up in its cone and its
/// variables (with the cut nodes among them, they decide the cone).
type Key = (NodeRef, Vec<NodeRef>, Vec<Input>);

/// Units already computed, reused by every root where the same node is a
/// unit with the same cone and variables (shared by the worker threads'
/// caches, see [`Cache::fresh`]; one set per set of event probabilities),
/// and one thread's scratch marks of the walks.
pub struct Cache {
    units: Arc<Mutex<HashMap<Key, Arc<Unit>>>>,
    /// Units whose cones have more nodes are factored in turn
    /// ([`NEST_ABOVE`]; tests lower it).
    nest_above: usize,
    /// Expand a root's groups even when it factors whole (tests).
    expand_first: bool,
    /// The terms of expanded roots factored so far (tests).
    #[cfg(test)]
    term_attempts: usize,
    /// Keep a root's problem whose elimination is too wide in `wide` (see
    /// [`Factored::whole_or_bounds`]).
    keep_wide: bool,
    wide: Option<Problem>,
    /// Take each root problem's derivatives while its elimination is at
    /// hand (see [`Factored::sensitivity`]): for the roots whose detail
    /// is wanted, where running the elimination again for them would
    /// cost as much as it did.
    pub(in crate::analysis) with_derivatives: bool,
    /// The first unit of a root problem that could not be set up (over
    /// too many variables, or not exact) since it was last cleared, before
    /// any split of it: see [`Factored::expanded`].
    failed_unit: Option<NodeRef>,
    /// Most variables of one unit in the current attempt (one of
    /// [`UNIT_INPUT_LIMITS`]).
    unit_inputs: usize,
    /// Whether any gate whose unit spans too many variables is split in
    /// the current attempt (within the last limit), or frontier groups
    /// only.
    split_gates: bool,
    /// By node of the graph, the marks of the walks (one record per node:
    /// a walk reads several marks of each node it visits).
    marks: Vec<Marks>,
    generation: u32,
    walk: u32,
}

impl Cache {
    /// An empty cache for roots of `graph`.
    pub fn new(graph: &FaultGraph) -> Cache {
        let n = graph.len();
        Cache {
            units: Arc::default(),
            nest_above: NEST_ABOVE,
            expand_first: false,
            #[cfg(test)]
            term_attempts: 0,
            keep_wide: false,
            wide: None,
            with_derivatives: false,
            failed_unit: None,
            unit_inputs: UNIT_INPUT_LIMITS[0],
            split_gates: false,
            marks: vec![Marks::default(); n],
            generation: 0,
            walk: 0,
        }
    }

    /// A cache for another worker thread: the same units, its own marks.
    pub fn fresh(&self, graph: &FaultGraph) -> Cache {
        Cache {
            units: Arc::clone(&self.units),
            ..Cache::new(graph)
        }
    }

    /// Runs `attempt` with at most `unit_inputs` variables in one unit's
    /// table, splitting any gate past them (`split_gates`) or frontier
    /// groups only, then restores the first limit.
    fn within<R>(
        &mut self,
        unit_inputs: usize,
        split_gates: bool,
        attempt: impl FnOnce(&mut Cache) -> R,
    ) -> R {
        self.unit_inputs = unit_inputs;
        self.split_gates = split_gates;
        let result = attempt(self);
        self.unit_inputs = UNIT_INPUT_LIMITS[0];
        self.split_gates = false;
        result
    }

    /// The units, whatever a panicking thread left (an entry is inserted
    /// whole or not at all).
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Unit>>> {
        self.units.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_walk(&mut self) -> u32 {
        self.walk += 1;
        self.walk
    }
}

/// The marks of one node in a [`Cache`].
#[derive(Clone, Copy, Default)]
struct Marks {
    /// Generation mark: taken as up (a frontier node of the problem, or
    /// outside it).
    up: u32,
    /// Generation mark: a cut node (of the problem, or given).
    cut: u32,
    /// Walk mark: visited in one walk.
    seen: u32,
    /// The owner of the node in the ownership pass, valid where `owned`
    /// is the current generation.
    owner: u32,
    owned: u32,
}

/// The gates a problem splits (their gate children cut, see
/// [`Problem::new`]): those split so far, ascending, and the one an
/// attempt wants split next.
#[derive(Default)]
struct Splits {
    done: Vec<NodeRef>,
    wanted: Option<NodeRef>,
}

/// The probability that a node is down, as a table over the variables it
/// is given, from the product of its frontier units.
struct Problem {
    /// The frontier units, then the cut units (in the order of the cut
    /// variables).
    units: Vec<Arc<Unit>>,
    frontier_units: usize,
    /// The variables: those given (ascending), then the events shared by
    /// two units or more (ascending), then the cut nodes (ascending).
    vars: Vec<Input>,
    given: usize,
    /// The first cut variable.
    cut_first: usize,
    /// The probability of each event variable being down.
    var_q: Vec<f64>,
    /// The variables of each unit, ascending (the bits of its table).
    scopes: Vec<Vec<u32>>,
    /// P(down) for each state of the given variables (moved to the unit
    /// where the problem is a nested unit's body: only its unit's table
    /// is read).
    table: Vec<f64>,
    /// Its derivatives, taken with its table where the cache asked for
    /// them (see [`Cache::with_derivatives`]).
    derivatives: Option<TermSensitivity>,
}

impl Problem {
    /// P(any of `tops` down) as a table over the inputs `given`
    /// (ascending), in their cones without the nodes `up` (taken as up)
    /// and the cut nodes among `given`; `None` when the variables are too
    /// many or too entangled, or a unit is not exact within `limits`.
    ///
    /// A frontier group whose unit would span too many variables is split
    /// (its gate children become cut nodes, so its unit is a gate over
    /// them and each member a unit of its own) and the problem is set up
    /// again, up to [`MAX_SPLITS`] groups.
    fn new(
        source: Source,
        tops: &[NodeRef],
        up: &[NodeRef],
        given: &[Input],
        cache: &mut Cache,
        depth: usize,
    ) -> Option<Problem> {
        let mut splits = Splits::default();
        loop {
            match Problem::attempt(source, tops, up, given, &mut splits, cache, depth) {
                Some(problem) => return Some(problem),
                None => match splits.wanted.take() {
                    Some(gate) if splits.done.len() < MAX_SPLITS => {
                        splits.done.push(gate);
                        splits.done.sort_unstable();
                    }
                    _ => return None,
                },
            }
        }
    }

    /// [`Problem::new`] with the gates `splits.done` split; on a gate not
    /// split whose unit spans too many variables (a frontier group, or any
    /// gate with [`Cache::split_gates`]), sets `splits.wanted` to it and
    /// gives `None`.
    fn attempt(
        source: Source,
        tops: &[NodeRef],
        up: &[NodeRef],
        given: &[Input],
        splits: &mut Splits,
        cache: &mut Cache,
        depth: usize,
    ) -> Option<Problem> {
        let split = &splits.done;
        let graph = source.graph;
        cache.generation += 1;
        let generation = cache.generation;
        for &v in up {
            cache.marks[v as usize].up = generation;
        }
        for &i in given.iter().filter(|&&i| i >= CUT) {
            cache.marks[(i - CUT) as usize].cut = generation;
        }
        let front = frontier(graph, tops, cache);
        // A group at the top (the frontier is the top alone, not a given
        // input) is split: its gate children are cut.
        let mut split = split.to_vec();
        if front == tops && tops.len() == 1 && cache.marks[tops[0] as usize].cut != generation {
            split = front.clone();
        }
        for &v in &front {
            cache.marks[v as usize].up = generation;
        }
        let cuts = cut_nodes(graph, &front, &split, cache);
        if given.len() + cuts.len() > MAX_VARIABLES {
            return None;
        }
        // Units: the frontier nodes (a given input among them stands for
        // itself), then the cut nodes.
        let unit_nodes: Vec<NodeRef> = front.iter().chain(&cuts).copied().collect();
        let cones: Vec<Option<Cone>> = unit_nodes
            .iter()
            .map(|&u| {
                (cache.marks[u as usize].cut != generation || cuts.binary_search(&u).is_ok())
                    .then(|| unit_cone(graph, u, cache))
            })
            .collect();
        let events: Vec<Vec<EventId>> = cones
            .iter()
            .map(|cone| {
                cone.as_ref()
                    .map_or_else(Vec::new, |c| cone_events(graph, &c.nodes))
            })
            .collect();
        // The variables: the given ones, the events (not given) in the
        // cones of two units or more, then the cut nodes.
        let mut all: Vec<EventId> = events.iter().flatten().copied().collect();
        all.sort_unstable();
        let shared: Vec<Input> = all
            .chunk_by(|a, b| a == b)
            .filter(|run| run.len() > 1)
            .map(|run| event_input(run[0]))
            .filter(|i| given.binary_search(i).is_err())
            .collect();
        let mut vars: Vec<Input> = given.to_vec();
        vars.extend(&shared);
        let cut_first = vars.len();
        vars.extend(cuts.iter().map(|&c| cut_input(c)));
        if vars.len() > MAX_VARIABLES {
            return None;
        }
        let var_of = |i: Input| -> Option<u32> {
            if let Ok(v) = given.binary_search(&i) {
                return Some(v as u32);
            }
            if let Ok(v) = shared.binary_search(&i) {
                return Some((given.len() + v) as u32);
            }
            if i >= CUT {
                return cuts
                    .binary_search(&((i - CUT) as NodeRef))
                    .ok()
                    .map(|v| (cut_first + v) as u32);
            }
            None
        };
        // Every unit's variables (by ascending input: bit `j` of its table
        // is `scope[j]`), all checked before any unit is computed.
        let mut keys: Vec<Option<Key>> = Vec::with_capacity(unit_nodes.len());
        let mut scopes = Vec::with_capacity(unit_nodes.len());
        for ((&u, cone), events) in unit_nodes.iter().zip(&cones).zip(&events) {
            let Some(cone) = cone else {
                // A given input on the frontier: down exactly when it is.
                scopes.push(vec![var_of(cut_input(u))?]);
                keys.push(None);
                continue;
            };
            let mut inputs: Vec<Input> = events
                .iter()
                .map(|&e| event_input(e))
                .chain(cone.cuts.iter().map(|&c| cut_input(c)))
                .filter(|&i| var_of(i).is_some())
                .collect();
            inputs.sort_unstable();
            if inputs.len() > cache.unit_inputs {
                // Frontier groups first; any gate within the last limit
                // (splitting is costlier than expanding the groups).
                let splits_here = match graph.gate(u) {
                    Gate::Or(_) | Gate::AtLeast { .. } => {
                        front.binary_search(&u).is_ok() || cache.split_gates
                    }
                    Gate::And(_) => cache.split_gates,
                    Gate::Event(_) | Gate::Const(_) => false,
                };
                if splits_here && split.binary_search(&u).is_err() {
                    splits.wanted = Some(u);
                }
                if depth == 0 {
                    cache.failed_unit.get_or_insert(u);
                }
                return None;
            }
            scopes.push(inputs.iter().filter_map(|&i| var_of(i)).collect());
            keys.push(Some((u, cone.up.clone(), inputs)));
        }
        let mut units = Vec::with_capacity(unit_nodes.len());
        for ((&u, cone), key) in unit_nodes.iter().zip(&cones).zip(keys) {
            let (Some(cone), Some(key)) = (cone, key) else {
                units.push(Arc::new(Unit {
                    body: Body::Input,
                    table: vec![0.0, 1.0],
                }));
                continue;
            };
            let known = cache.lock().get(&key).map(Arc::clone);
            let unit = match known {
                Some(unit) => unit,
                None => {
                    if source.limits.deadline.is_some_and(|d| Instant::now() >= d) {
                        return None;
                    }
                    let Some(unit) = Unit::new(source, u, cone, &key.2, cache, depth) else {
                        if depth == 0 {
                            cache.failed_unit.get_or_insert(u);
                        }
                        return None;
                    };
                    let unit = Arc::new(unit);
                    cache.lock().insert(key, Arc::clone(&unit));
                    unit
                }
            };
            units.push(unit);
        }
        let var_q: Vec<f64> = vars
            .iter()
            .enumerate()
            .map(|(v, &i)| {
                if v >= given.len() && i < CUT {
                    source.q[i as usize]
                } else {
                    f64::NAN
                }
            })
            .collect();
        let mut problem = Problem {
            units,
            frontier_units: front.len(),
            vars,
            given: given.len(),
            cut_first,
            var_q,
            scopes,
            table: Vec::new(),
            derivatives: None,
        };
        let tables: Vec<&[f64]> = problem.units.iter().map(|u| u.table.as_slice()).collect();
        let priors = problem.priors(&problem.var_q, &tables);
        let solved = Elimination::run(&priors, problem.given, problem.factors(&tables)).map(|e| {
            let table = e.result();
            let derivatives = (cache.with_derivatives && depth == 0)
                .then(|| problem.term_sensitivity(&e, &priors))
                .flatten();
            (table, derivatives)
        });
        drop(priors);
        drop(tables);
        match solved {
            Some((table, derivatives)) => {
                problem.table = table;
                problem.derivatives = derivatives;
            }
            None => {
                if cache.keep_wide && depth == 0 {
                    cache.wide = Some(problem);
                }
                return None;
            }
        }
        Some(problem)
    }

    /// Certified bounds on P(down) of a problem with nothing given (see
    /// [`enumerate`]).
    fn bounds(&self, stop: &enumerate::Stop) -> Option<(f64, f64)> {
        let tables: Vec<&[f64]> = self.units.iter().map(|u| u.table.as_slice()).collect();
        let priors = self.priors(&self.var_q, &tables);
        enumerate::bounds(&priors, self.factors(&tables), stop)
    }

    /// See [`Factored::largest_unit_work`].
    fn largest_unit_work(&self) -> usize {
        self.units
            .iter()
            .map(|u| match &u.body {
                Body::Input => 0,
                Body::Bdd { analysis, .. } => u.table.len() * analysis.bdd_size().max(1),
                Body::Nested(problem) => problem.largest_unit_work(),
            })
            .max()
            .unwrap_or(0)
    }

    /// Whether an event is below this problem.
    fn has_event(&self, e: EventId) -> bool {
        self.vars[self.given..self.cut_first]
            .binary_search(&event_input(e))
            .is_ok()
            || self.units.iter().any(|u| u.body.has_event(e))
    }

    /// The table with the probabilities of the events `overrides` (global
    /// ids, none of them given) replaced; `None` if the engine is inexact.
    fn table_with(&self, overrides: &[(EventId, f64)]) -> Option<Vec<f64>> {
        let mut var_q = self.var_q.clone();
        let mut private: Vec<(EventId, f64)> = Vec::new();
        for &(e, q) in overrides {
            match self.vars[self.given..self.cut_first].binary_search(&event_input(e)) {
                Ok(v) => var_q[self.given + v] = q,
                Err(_) => private.push((e, q)),
            }
        }
        let mut changed: Vec<Option<Vec<f64>>> = vec![None; self.units.len()];
        if !private.is_empty() {
            let mut mine: Vec<(EventId, f64)> = Vec::new();
            for (slot, unit) in changed.iter_mut().zip(&self.units) {
                mine.clear();
                mine.extend(private.iter().filter(|o| unit.body.has_event(o.0)));
                if !mine.is_empty() {
                    *slot = Some(unit.tabulate_with(&mine)?);
                }
            }
        }
        let tables: Vec<&[f64]> = self
            .units
            .iter()
            .zip(&changed)
            .map(|(u, c)| c.as_deref().unwrap_or(u.table.as_slice()))
            .collect();
        self.eliminate(&var_q, &tables)
    }

    /// Adds to `out` the derivatives of `sum(adjoint[s] * table[s])`
    /// with respect to the tables of its innermost units and to the
    /// probabilities of its event variables (at every level).
    fn gradient(&self, adjoint: &[f64], out: &mut TermSensitivity) -> Option<()> {
        let tables: Vec<&[f64]> = self.units.iter().map(|u| u.table.as_slice()).collect();
        let priors = self.priors(&self.var_q, &tables);
        let elimination = Elimination::run(&priors, self.given, self.factors(&tables))?;
        self.gradient_of(&elimination, &priors, adjoint, out)
    }

    /// The derivatives of its table (one entry: a root problem's), from
    /// its elimination and the priors it ran with.
    fn term_sensitivity(
        &self,
        elimination: &Elimination,
        priors: &[Prior],
    ) -> Option<TermSensitivity> {
        let mut term = TermSensitivity::default();
        self.gradient_of(elimination, priors, &[1.0], &mut term)?;
        Some(term)
    }

    /// [`Problem::gradient`] from its elimination, run with `priors`.
    fn gradient_of(
        &self,
        elimination: &Elimination,
        priors: &[Prior],
        adjoint: &[f64],
        out: &mut TermSensitivity,
    ) -> Option<()> {
        let adjoints = elimination.gradient(priors, self.frontier_units, adjoint);
        for v in self.given..self.cut_first {
            let e = self.vars[v] as EventId;
            out.events.insert(e, (self.var_q[v], adjoints.priors[v]));
        }
        let cut_adjoints = adjoints.cuts.into_iter().skip(self.cut_first);
        for (unit, adjoint) in self
            .units
            .iter()
            .zip(adjoints.tables.into_iter().chain(cut_adjoints))
        {
            match &unit.body {
                Body::Input => {}
                Body::Bdd { .. } => out.units.push((Arc::clone(unit), adjoint)),
                Body::Nested(problem) => problem.gradient(&adjoint, out)?,
            }
        }
        Some(())
    }

    /// Eliminates every variable not given, with the unit tables `tables`
    /// and the event variables' probabilities `var_q`.
    fn eliminate(&self, var_q: &[f64], tables: &[&[f64]]) -> Option<Vec<f64>> {
        let priors = self.priors(var_q, tables);
        eliminate(&priors, self.given, self.factors(tables))
    }

    /// The frontier units' (scope, table) pairs.
    fn factors<'a>(
        &'a self,
        tables: &'a [&'a [f64]],
    ) -> impl Iterator<Item = (&'a [u32], &'a [f64])> {
        self.scopes[..self.frontier_units]
            .iter()
            .zip(&tables[..self.frontier_units])
            .map(|(scope, table)| (scope.as_slice(), *table))
    }

    /// The prior of each variable.
    fn priors<'a>(&'a self, var_q: &[f64], tables: &[&'a [f64]]) -> Vec<Prior<'a>> {
        (0..self.vars.len())
            .map(|v| {
                if v < self.given {
                    Prior::Given
                } else if v < self.cut_first {
                    Prior::Event(var_q[v])
                } else {
                    let unit = self.frontier_units + (v - self.cut_first);
                    Prior::Cut(&self.scopes[unit], tables[unit])
                }
            })
            .collect()
    }
}

/// One service's root as a product of factors, ready to be evaluated
/// again with other event probabilities (for the per-service detail).
///
/// When its frontier holds failover or quorum groups over services that
/// share too much to be tabulated whole, each group is expanded by
/// inclusion and exclusion into the ANDs of its members' subsets (a group
/// `k of (a_1..a_m)` is up exactly when `sum over subsets T with |T| >= k of
/// (-1)^(|T| - k) C(|T| - 1, k - 1) [every member of T up]` is 1), so the
/// root is a signed sum of *terms*, each a plain AND of services that
/// factors; the coefficients of each group sum to one, so the root's
/// unavailability is the same signed sum of the terms' unavailabilities.
pub struct Factored {
    /// (coefficient, term).
    terms: Vec<(f64, Problem)>,
    total: f64,
}

/// What [`Factored::whole_or_bounds`] gives.
pub enum Whole {
    /// The root factored whole: its exact unavailability.
    Exact(Factored),
    /// Certified bounds on its unavailability.
    Bounds {
        /// A lower bound.
        lower: f64,
        /// An upper bound.
        upper: f64,
    },
}

/// Most terms of one expanded root.
const MAX_TERMS: usize = 64;

/// Most digits the signed sum of an expanded root may cancel: the sum of
/// the terms' absolute contributions over the result.
const MAX_CANCELLATION: f64 = 1e3;

/// One root to factor: the graph, the probability that each event is
/// down (`q[e]`, the same for every root given the same [`Cache`]), the
/// root's node and the BDD engine's limits for its units.
#[derive(Clone, Copy)]
pub struct Root<'a> {
    /// The fault graph.
    pub graph: &'a FaultGraph,
    /// By event: its probability of being down.
    pub q: &'a [f64],
    /// The root's node in `graph`.
    pub node: NodeRef,
    /// The BDD engine's limits for each unit.
    pub limits: &'a Limits,
}

impl Root<'_> {
    /// Runs `attempt` on this root with at most `unit_inputs` variables in
    /// one unit's table, splitting any gate past them where `split_gates`
    /// (else frontier groups only), see [`Cache::within`].
    fn run<R>(
        &self,
        unit_inputs: usize,
        split_gates: bool,
        cache: &mut Cache,
        attempt: impl FnOnce(Source, NodeRef, &mut Cache) -> R,
    ) -> R {
        let source = Source {
            graph: self.graph,
            q: self.q,
            limits: self.limits,
        };
        cache.within(unit_inputs, split_gates, |cache| {
            attempt(source, self.node, cache)
        })
    }
}

impl Factored {
    /// Factors `root` and computes its unavailability; `None` when the
    /// variables are too many or too entangled (see the module
    /// documentation) or a unit's BDD is over the root's limits.
    pub fn new(root: Root, cache: &mut Cache) -> Option<Factored> {
        for unit_inputs in UNIT_INPUT_LIMITS {
            let factored = Factored::within(root, unit_inputs, cache);
            if factored.is_some() || root.limits.deadline.is_some_and(|d| Instant::now() >= d) {
                return factored;
            }
        }
        None
    }

    /// [`Factored::new`] with at most `unit_inputs` variables in one
    /// unit's table (see [`UNIT_INPUT_LIMITS`]).
    pub fn within(root: Root, unit_inputs: usize, cache: &mut Cache) -> Option<Factored> {
        let split_gates = unit_inputs == MAX_UNIT_INPUTS;
        Factored::within_splitting(root, unit_inputs, split_gates, cache)
    }

    /// [`Factored::within`] for a root known not to factor whole within
    /// `unit_inputs` (see [`Factored::whole`]): its groups expanded
    /// straight away.
    pub fn expanded_within(root: Root, unit_inputs: usize, cache: &mut Cache) -> Option<Factored> {
        let split_gates = unit_inputs == MAX_UNIT_INPUTS;
        root.run(unit_inputs, split_gates, cache, Factored::expanded)
    }

    /// [`Factored::within`] without expanding the root's groups: `None`
    /// where it does not factor whole.
    pub fn whole(root: Root, unit_inputs: usize, cache: &mut Cache) -> Option<Factored> {
        let split_gates = unit_inputs == MAX_UNIT_INPUTS;
        root.run(unit_inputs, split_gates, cache, |source, node, cache| {
            Problem::new(source, &[node], &[], &[], cache, 0)
        })
        .map(Factored::single)
    }

    /// A root factored whole: one term.
    fn single(problem: Problem) -> Factored {
        let total = problem.table[0];
        Factored {
            terms: vec![(1.0, problem)],
            total,
        }
    }

    /// [`Factored::within`], splitting any gate whose unit spans too many
    /// variables or only frontier groups.
    fn within_splitting(
        root: Root,
        unit_inputs: usize,
        split_gates: bool,
        cache: &mut Cache,
    ) -> Option<Factored> {
        root.run(unit_inputs, split_gates, cache, Factored::attempt)
    }

    /// The root factored whole with at most `unit_inputs` variables in one
    /// unit's table (its groups not expanded, see [`Factored::whole`]),
    /// else certified bounds on its unavailability when an elimination
    /// step would be too wide (see [`MAX_WIDTH`]): its variables' states
    /// enumerated, most probable first, until `stop` (see [`enumerate`]).
    /// `None` when its units cannot be set up (a unit over too many
    /// variables: expanding its groups may still factor it, see
    /// [`Factored::new`]).
    pub fn whole_or_bounds(
        root: Root,
        unit_inputs: usize,
        cache: &mut Cache,
        stop: &enumerate::Stop,
    ) -> Option<Whole> {
        cache.keep_wide = true;
        let whole = Factored::whole(root, unit_inputs, cache);
        cache.keep_wide = false;
        let wide = cache.wide.take();
        match (whole, wide) {
            (Some(factored), _) => Some(Whole::Exact(factored)),
            (None, Some(problem)) => {
                let (lower, upper) = problem.bounds(stop)?;
                Some(Whole::Bounds { lower, upper })
            }
            (None, None) => None,
        }
    }

    /// The root factored whole, else with its groups expanded.
    fn attempt(source: Source, root: NodeRef, cache: &mut Cache) -> Option<Factored> {
        if cache.expand_first {
            if let Some(expanded) = Factored::expanded(source, root, cache) {
                return Some(expanded);
            }
        }
        if let Some(problem) = Problem::new(source, &[root], &[], &[], cache, 0) {
            return Some(Factored::single(problem));
        }
        Factored::expanded(source, root, cache)
    }

    /// The root with its groups expanded (see [`Factored`]): the largest
    /// group first; where a term does not factor, the group whose unit
    /// stopped it if that is a group not expanded yet, else the largest
    /// one left; until every term factors. The terms of each round are
    /// factored largest first.
    fn expanded(source: Source, root: NodeRef, cache: &mut Cache) -> Option<Factored> {
        let graph = source.graph;
        cache.generation += 1;
        let front = frontier(graph, &[root], cache);
        let mut groups: Vec<(usize, NodeRef)> = front
            .iter()
            .filter(|&&v| is_group(graph, v))
            .map(|&v| (cone_size(graph, v, cache), v))
            .collect();
        groups.sort_unstable_by(|a, b| b.cmp(a));
        let mut chosen: Vec<NodeRef> = Vec::with_capacity(groups.len());
        let mut failed = None;
        loop {
            let next = failed
                .filter(|u| !chosen.contains(u) && groups.iter().any(|g| g.1 == *u))
                .or_else(|| groups.iter().map(|g| g.1).find(|g| !chosen.contains(g)))?;
            chosen.push(next);
            let kept: Vec<NodeRef> = front
                .iter()
                .copied()
                .filter(|v| !chosen.contains(v))
                .collect();
            // Each chosen group's (coefficient, members) choices, then
            // every way of choosing one for each group.
            let mut choices: Vec<(f64, Vec<NodeRef>)> = vec![(1.0, kept)];
            for &g in &chosen {
                let expansion = expansion(graph.gate(g))?;
                if choices.len() * expansion.len() > MAX_TERMS {
                    return None;
                }
                choices = choices
                    .iter()
                    .flat_map(|(c, tops)| {
                        expansion.iter().map(move |(d, members)| {
                            let mut tops = tops.clone();
                            tops.extend(members);
                            tops.sort_unstable();
                            tops.dedup();
                            (c * d, tops)
                        })
                    })
                    .collect();
            }
            // The terms with the most nodes first: a term that does not
            // factor is nearly always one of them, and the round then
            // stops before factoring the others for nothing.
            choices.sort_by_key(|(_, tops)| std::cmp::Reverse(tops.len()));
            let mut terms = Vec::with_capacity(choices.len());
            failed = None;
            for (c, tops) in choices {
                #[cfg(test)]
                {
                    cache.term_attempts += 1;
                }
                cache.failed_unit = None;
                match Problem::new(source, &tops, &[], &[], cache, 0) {
                    Some(problem) => terms.push((c, problem)),
                    None => {
                        failed = cache.failed_unit.take();
                        break;
                    }
                }
            }
            if terms.len() < terms.capacity() {
                continue;
            }
            let total: f64 = terms.iter().map(|(c, p)| c * p.table[0]).sum();
            let magnitude: f64 = terms.iter().map(|(c, p)| (c * p.table[0]).abs()).sum();
            if !(total > 0.0 && magnitude <= MAX_CANCELLATION * total) {
                return None;
            }
            return Some(Factored { terms, total });
        }
    }

    /// The exact unavailability.
    pub fn unavailability(&self) -> f64 {
        self.total
    }

    /// The unavailability with the probabilities of some events replaced
    /// (`(event, q)` pairs, global ids); `None` if the engine is inexact.
    pub fn unavailability_with(&self, overrides: &[(EventId, f64)]) -> Option<f64> {
        let mut total = 0.0;
        for (c, problem) in &self.terms {
            total += c * problem.table_with(overrides)?[0];
        }
        Some(total)
    }

    /// The most work one re-evaluation of a unit can take: table entries
    /// times BDD nodes of the largest unit compiled by the BDD engine. The
    /// per-service detail re-evaluates the units holding each component,
    /// so this says what the detail will cost.
    pub fn largest_unit_work(&self) -> usize {
        self.terms
            .iter()
            .map(|(_, p)| p.largest_unit_work())
            .max()
            .unwrap_or(0)
            * self.terms.len()
    }

    /// The derivatives of the unavailability with respect to every
    /// innermost unit's table and every event variable's probability, for
    /// [`Factored::change`].
    ///
    /// A term whose derivatives were taken with its table (where the
    /// cache's `with_derivatives` asked for them) gives them up: its
    /// elimination is not run again.
    pub fn sensitivity(&mut self) -> Option<Sensitivity> {
        let mut terms = Vec::with_capacity(self.terms.len());
        for (_, problem) in &mut self.terms {
            let mut term = match problem.derivatives.take() {
                Some(term) => term,
                None => {
                    let mut term = TermSensitivity::default();
                    problem.gradient(&[1.0], &mut term)?;
                    term
                }
            };
            term.holders = holders_of(&term.units);
            terms.push(term);
        }
        // Each unit once, its adjoints over the terms summed with their
        // coefficients.
        let mut units: Vec<(Arc<Unit>, Vec<f64>)> = Vec::new();
        let mut place: HashMap<*const Unit, usize> = HashMap::new();
        let mut variable_slopes: HashMap<EventId, f64> = HashMap::new();
        for ((c, _), term) in self.terms.iter().zip(&terms) {
            for (unit, adjoint) in &term.units {
                let k = *place.entry(Arc::as_ptr(unit)).or_insert_with(|| {
                    units.push((Arc::clone(unit), vec![0.0; adjoint.len()]));
                    units.len() - 1
                });
                for (sum, a) in units[k].1.iter_mut().zip(adjoint) {
                    *sum += c * a;
                }
            }
            for (&e, &(_, slope)) in &term.events {
                *variable_slopes.entry(e).or_default() += c * slope;
            }
        }
        let holders = holders_of(&units);
        Some(Sensitivity {
            terms,
            units,
            holders,
            variable_slopes,
        })
    }

    /// dU/dq_e for the events `events` (each a component of its own)
    /// that lie below units holding at least `at_least` of them, from
    /// one weighted gradient of each such unit (a forward and a reverse
    /// pass per state of its variables, for all its events at once),
    /// where tabulating the unit again for each event would cost one
    /// tabulation per event. U is linear in each q_e, so the change were
    /// `e` perfect is `-q_e` times its slope, exactly. Events below
    /// fewer of them are left out (see [`Factored::change`]); so is
    /// everything where the engine is not exact.
    pub fn slopes(
        &self,
        sensitivity: &Sensitivity,
        events: &[EventId],
        at_least: usize,
    ) -> HashMap<EventId, f64> {
        let Sensitivity {
            units,
            holders,
            variable_slopes,
            ..
        } = sensitivity;
        let mut asked = vec![0usize; units.len()];
        for e in events {
            for &k in holders.get(e).map_or(&[][..], Vec::as_slice) {
                asked[k] += 1;
            }
        }
        let mut unit_slopes: HashMap<EventId, f64> = HashMap::new();
        let mut done = vec![false; units.len()];
        for (k, (unit, adjoint)) in units.iter().enumerate() {
            if asked[k] < at_least.max(1) {
                continue;
            }
            let Some(slopes) = unit.body.slopes(adjoint) else {
                continue;
            };
            for (e, slope) in slopes {
                *unit_slopes.entry(e).or_default() += slope;
            }
            done[k] = true;
        }
        events
            .iter()
            .filter_map(|&e| {
                let below = holders.get(&e).map_or(&[][..], Vec::as_slice);
                let variable = variable_slopes.get(&e).copied();
                if below.is_empty() {
                    return variable.map(|slope| (e, slope));
                }
                if !below.iter().all(|&k| done[k]) {
                    return None;
                }
                let variable = variable.unwrap_or(0.0);
                Some((e, variable + unit_slopes.get(&e).copied().unwrap_or(0.0)))
            })
            .collect()
    }

    /// How much the unavailability changes with the probabilities of the
    /// events `overrides` replaced. Each term's unavailability is linear in
    /// each unit's table and in each event's probability, so when the
    /// events are one event variable of a term, or all below one of its
    /// innermost units, the term's change is exact from `sensitivity` and
    /// that unit alone (a sum of the table's changes weighted by their
    /// derivatives, without subtracting two unavailabilities); otherwise it
    /// is evaluated in full. `None` if the engine is inexact.
    ///
    /// The terms of an expanded root share most of their units (the
    /// cache gives them the same ones): a unit is tabulated again once
    /// for all of them.
    pub fn change(&self, sensitivity: &Sensitivity, overrides: &[(EventId, f64)]) -> Option<f64> {
        let mut tabulated = Tabulated::default();
        let mut total = 0.0;
        for ((c, problem), term) in self.terms.iter().zip(&sensitivity.terms) {
            total += c * term_change(problem, term, overrides, &mut tabulated)?;
        }
        Some(total)
    }
}

/// The inclusion-exclusion expansion of a group: (coefficient, members)
/// pairs whose signed sum of "every member up" indicators is the group's;
/// `None` for a gate that is not a group, or one of more than 16 members.
fn expansion(gate: &Gate) -> Option<Vec<(f64, Vec<NodeRef>)>> {
    let (k, members) = match gate {
        Gate::Or(c) => (1usize, c),
        Gate::AtLeast { k, of } => (*k as usize, of),
        _ => return None,
    };
    let m = members.len();
    if m > 16 || k == 0 || k > m {
        return None;
    }
    // C(n, r) for the small n here.
    let choose = |n: usize, r: usize| -> f64 {
        (0..r).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
    };
    Some(
        (1u32..1 << m)
            .filter(|subset| subset.count_ones() as usize >= k)
            .map(|subset| {
                let size = subset.count_ones() as usize;
                let sign = if (size - k) % 2 == 0 { 1.0 } else { -1.0 };
                let chosen = (0..m)
                    .filter(|j| subset >> j & 1 == 1)
                    .map(|j| members[j])
                    .collect();
                (sign * choose(size - 1, k - 1), chosen)
            })
            .collect(),
    )
}

/// The units tabulated again with one set of overrides, each with its
/// new table (see [`Factored::change`]).
#[derive(Default)]
struct Tabulated(Vec<(Arc<Unit>, Vec<f64>)>);

impl Tabulated {
    /// `unit`'s table with `overrides`, computed once.
    fn table(&mut self, unit: &Arc<Unit>, overrides: &[(EventId, f64)]) -> Option<&[f64]> {
        let k = match self.0.iter().position(|(u, _)| Arc::ptr_eq(u, unit)) {
            Some(k) => k,
            None => {
                let table = unit.tabulate_with(overrides)?;
                self.0.push((Arc::clone(unit), table));
                self.0.len() - 1
            }
        };
        Some(&self.0[k].1)
    }
}

/// The change of one term's unavailability (see [`Factored::change`]),
/// its units' new tables taken from and kept in `tabulated`.
fn term_change(
    problem: &Problem,
    sensitivity: &TermSensitivity,
    overrides: &[(EventId, f64)],
    tabulated: &mut Tabulated,
) -> Option<f64> {
    if let [(e, q)] = overrides {
        if let Some(&(base, slope)) = sensitivity.events.get(e) {
            return Some((q - base) * slope);
        }
    }
    let mut holders: Vec<usize> = overrides
        .iter()
        .filter_map(|o| sensitivity.holders.get(&o.0))
        .flatten()
        .copied()
        .collect();
    holders.sort_unstable();
    holders.dedup();
    let touched: Vec<&(Arc<Unit>, Vec<f64>)> =
        holders.iter().map(|&k| &sensitivity.units[k]).collect();
    let variable = overrides
        .iter()
        .any(|o| sensitivity.events.contains_key(&o.0));
    match touched.as_slice() {
        [] if !variable => Some(0.0),
        [(unit, adjoint)] if !variable => {
            let table = tabulated.table(unit, overrides)?;
            Some(
                adjoint
                    .iter()
                    .zip(table.iter().zip(&unit.table))
                    .map(|(a, (new, old))| a * (new - old))
                    .sum(),
            )
        }
        _ => Some(problem.table_with(overrides)?[0] - problem.table[0]),
    }
}

/// By event: the units of `units` (each a BDD part with its adjoint)
/// below which it lies.
fn holders_of(units: &[(Arc<Unit>, Vec<f64>)]) -> HashMap<EventId, Vec<usize>> {
    let mut holders: HashMap<EventId, Vec<usize>> = HashMap::new();
    for (k, (unit, _)) in units.iter().enumerate() {
        if let Body::Bdd { inputs, .. } = &unit.body {
            for &i in inputs.iter().take_while(|&&i| i < CUT) {
                holders.entry(i as EventId).or_default().push(k);
            }
        }
    }
    holders
}

/// The derivatives of a factored unavailability, one set per term (see
/// [`Factored::sensitivity`]).
pub struct Sensitivity {
    terms: Vec<TermSensitivity>,
    /// Each innermost unit compiled by the BDD engine (of any term) once,
    /// with the sum over the terms of their coefficient times its
    /// derivative by entry of its table there.
    units: Vec<(Arc<Unit>, Vec<f64>)>,
    /// The units of `units` below which each event lies.
    holders: HashMap<EventId, Vec<usize>>,
    /// By event variable (of any term, at any level): the sum over the
    /// terms of their coefficient times the derivative by it.
    variable_slopes: HashMap<EventId, f64>,
}

/// The derivatives of one term's unavailability.
#[derive(Default)]
struct TermSensitivity {
    /// Each innermost unit compiled by the BDD engine, with the derivative
    /// by entry of its table.
    units: Vec<(Arc<Unit>, Vec<f64>)>,
    /// Each event variable (at any level), with its probability and the
    /// derivative by it.
    events: HashMap<EventId, (f64, f64)>,
    /// The units below which each event lies (indices into `units`).
    holders: HashMap<EventId, Vec<usize>>,
}

mod buffers;
mod eliminate;
pub mod enumerate;
#[cfg(test)]
mod tests;
mod walk;

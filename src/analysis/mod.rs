//! The numbers: structure functions of services over independent basic
//! events, their exact unavailability, budgets, who consumes them, required
//! availability per dependency and single points of failure.

pub mod condition;
pub mod detail;
pub mod engine;
pub mod factor;
pub mod factored;
pub mod flat;
pub mod modules;
pub mod required;
pub mod schedule;
pub mod structure;
#[cfg(test)]
pub(crate) mod testing;

use std::time::{Duration, Instant};

use crate::model::{DomainId, LayerId, Model, ServiceId};
use engine::Outcome;
use structure::Structure;

pub use detail::{Component, Consumer, Required};

/// Share of `max_time` kept for the work after the exact method: bounds of
/// the services left, budgets, and the caller's rendering.
const RESERVE: f64 = 0.05;

/// Share of the BDD ladder's time (what the factored services leave of the
/// exact method's) for its first rounds (small BDD caps, every service
/// left), then for the conditioned bounds of the services left; the rest
/// goes to the last rounds (the heavy services).
const FIRST_ROUNDS: f64 = 0.4;

/// Share of the exact method's time for the frontier bounds of the services
/// it leaves (see [`flat`]), at its end.
const FRONTIER: f64 = 0.03;
/// See [`FIRST_ROUNDS`].
const CONDITIONING: f64 = 0.3;

/// Share of the exact method's time for factoring every service (see
/// [`factor`]).
const FACTORED: f64 = 0.7;

/// The detail of the factored services then gets a share of the time left
/// that grows with how many of them want it against how many services
/// the BDD ladder has left (counted this many times: a service the
/// factoring left is one of the heaviest, and the detail of the factored
/// services the cheapest work), between [`DETAIL_SHARE`]'s bounds.
const LADDER_WEIGHT: usize = 20;
/// See [`LADDER_WEIGHT`].
const DETAIL_SHARE: (f64, f64) = (0.25, 0.9);

/// Relative width at which conditioned bounds are good enough.
const CONDITIONED_WIDTH: f64 = 1e-9;

/// The least time (per thread) conditioning gives a service: compiling the
/// cut function of a heavy realistic cone and evaluating its single and
/// double domain failures take tens of milliseconds (with `--max-time 60`
/// on the realistic 10k platform, the services left got about 150 ms each
/// and bounds within about 3e-5 of their value; with 10 ms each, their
/// bounds stayed near [0, 1]). With less time than this for each, the
/// lightest get it and the others none, rather than all a useless share.
const CONDITIONING_PER_SERVICE: Duration = Duration::from_millis(50);

/// Certified bounds for the services `left`, by conditioning on the failure
/// domains (see [`condition`]), sharing the time until `until` equally; a
/// service keeps the tighter of these and the bounds it already has.
fn bound_by_conditioning(
    structure: &Structure,
    left: &[usize],
    until: Instant,
    threads: usize,
    services: &mut [ServiceResult],
) {
    if left.is_empty() {
        return;
    }
    let is_domain: Vec<bool> = structure
        .events
        .iter()
        .map(|e| matches!(e, structure::Event::Domain(_)))
        .collect();
    let only = condition::shared_only(&structure.graph, &is_domain);
    let mut workers = vec![(); threads];
    let bounds = schedule::share(left, &mut workers, |_, position, i| {
        let now = Instant::now();
        if now >= until {
            return None;
        }
        // An equal share of what is left for each service not started yet,
        // `threads` of them at a time, but at least the time that gives
        // useful bounds (the lightest services first).
        let waiting = (left.len() - position).div_ceil(threads) as u32;
        let share = ((until - now) / waiting.max(1)).max(CONDITIONING_PER_SERVICE);
        let slice_end = (now + share).min(until);
        let compile =
            engine::Limits::attempt(slice_end, Some(schedule::CAPS[schedule::FIRST_CAPS - 1]));
        let stop = condition::Stop {
            deadline: slice_end,
            relative_width: CONDITIONED_WIDTH,
            max_states: usize::MAX,
            give_up_when_hopeless: true,
        };
        let root = structure.service_nodes[i];
        condition::bounds(&structure.graph, &structure.q, &only, root, &compile, &stop)
    });
    for (&i, c) in left.iter().zip(bounds) {
        if let Some(c) = c {
            services[i].unavailability = services[i].unavailability.tightest(c.outcome);
        }
    }
}

/// Which services get the detailed analysis (consumers, requirements, single
/// points of failure); every service always gets its composed availability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Services with an SLO.
    WithSlo,
    /// Every service.
    All,
    /// The named services only.
    Only(Vec<ServiceId>),
}

/// How to analyze.
#[derive(Clone, Debug)]
pub struct Options {
    /// Time allowed for the exact method before certified bounds are returned.
    pub max_time: Duration,
    /// Which services get details.
    pub detail: Detail,
    /// Most pairs of components listed as double points of failure.
    pub max_pairs: usize,
    /// Worker threads (0: one per core). Services are solved independently,
    /// so the numbers do not depend on it; with a `max_time` too short for
    /// every service, more threads make more of them exact.
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_time: Duration::from_secs(60),
            detail: Detail::WithSlo,
            max_pairs: 10,
            threads: 0,
        }
    }
}

/// The error budget of a service with an SLO, over the spec's window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    /// `(1 - slo) × window`.
    pub budget_seconds: f64,
    /// `(1 - composed) × window` (from the upper bound when not exact).
    pub expected_downtime_seconds: f64,
    /// Budget minus expected downtime (negative: overrun).
    pub slack_seconds: f64,
}

/// Everything computed for one service.
#[derive(Clone, Debug)]
pub struct ServiceResult {
    /// The service.
    pub id: ServiceId,
    /// Its probability of being down: exact, or certified bounds.
    pub unavailability: Outcome,
    /// Its budget, when it has an SLO.
    pub budget: Option<Budget>,
    /// Whether the details below were computed.
    pub detailed: bool,
    /// Components by the downtime that would vanish were each perfect, largest first.
    pub consumers: Vec<Consumer>,
    /// For each hard or group dependency, the own availability it would need.
    pub required: Vec<Required>,
    /// Components whose failure alone takes the service down.
    pub single_points_of_failure: Vec<Component>,
    /// Pairs of components (neither a single point) whose joint failure takes it down.
    pub double_points_of_failure: Vec<(Component, Component)>,
}

impl ServiceResult {
    /// The unavailability used for planning: exact, or the upper bound.
    pub fn planning_unavailability(&self) -> f64 {
        self.unavailability.upper()
    }
}

/// A layer's guarantee held against its services.
#[derive(Clone, Debug)]
pub struct LayerResult {
    /// The layer.
    pub id: LayerId,
    /// The service with the lowest composed availability, and that unavailability.
    pub weakest: Option<(ServiceId, f64)>,
    /// Whether every service composes to at least the guarantee.
    pub holds: Option<bool>,
}

/// The analysis of a whole model.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The window in seconds.
    pub window_seconds: f64,
    /// One result per service, in model order.
    pub services: Vec<ServiceResult>,
    /// One result per layer, in model order.
    pub layers: Vec<LayerResult>,
    /// Basic events in the model.
    pub event_count: usize,
    /// Wall time taken.
    pub elapsed: Duration,
}

impl Analysis {
    /// The result of one service.
    pub fn service(&self, id: ServiceId) -> &ServiceResult {
        &self.services[id.0 as usize]
    }

    /// Whether every number is exact.
    pub fn all_exact(&self) -> bool {
        self.services.iter().all(|s| s.unavailability.is_exact())
    }
}

/// The events of the top failure domains (those without a parent, then
/// their children), at most [`flat::MAX_CONDITIONED`]: the domains most
/// services share, for [`flat::frontier_bounds`].
fn top_domain_events(model: &Model, structure: &Structure) -> Vec<engine::EventId> {
    let depth = |d: &crate::model::Domain| match d.parent {
        None => 0,
        Some(p) => 1 + usize::from(model.domain(p).parent.is_some()),
    };
    let mut top: Vec<(usize, engine::EventId)> = model
        .domains
        .iter()
        .zip(&structure.domain_events)
        .filter_map(|(d, e)| e.map(|e| (depth(d), e)))
        .filter(|&(depth, _)| depth <= 1)
        .collect();
    top.sort_unstable();
    top.into_iter()
        .map(|(_, e)| e)
        .take(flat::MAX_CONDITIONED)
        .collect()
}

/// A service before anything is known of it: bounds `[0, 1]`, no detail.
fn unknown(i: usize) -> ServiceResult {
    ServiceResult {
        id: ServiceId(i as u32),
        unavailability: Outcome::Bounds {
            lower: 0.0,
            upper: 1.0,
        },
        budget: None,
        detailed: false,
        consumers: Vec::new(),
        required: Vec::new(),
        single_points_of_failure: Vec::new(),
        double_points_of_failure: Vec::new(),
    }
}

/// What an exact attempt gives one service: its whole detailed result, or
/// its exact unavailability.
enum Solved {
    Detailed(Box<ServiceResult>),
    Outcome(Outcome),
}

/// Analyzes a model.
pub fn analyze(model: &Model, options: &Options) -> Analysis {
    let start = Instant::now();
    // The exact method stops early enough to leave time for the bounds of
    // what is left and for rendering the report.
    let exact_time = options.max_time.mul_f64(1.0 - RESERVE);
    // The last share of it goes to the frontier bounds of what is left.
    let deadline = start + exact_time.mul_f64(1.0 - FRONTIER);
    let structure = Structure::build(model);
    let wanted: Vec<bool> = model
        .services
        .iter()
        .enumerate()
        .map(|(i, service)| match &options.detail {
            Detail::WithSlo => service.slo.is_some(),
            Detail::All => true,
            Detail::Only(ids) => ids.contains(&ServiceId(i as u32)),
        })
        .collect();
    let window = model.window.seconds;
    let mut services: Vec<ServiceResult> = (0..model.services.len()).map(unknown).collect();
    // Services shown in detail are solved over their own cone (the detail
    // needs the compiled function); the others through the platform's
    // modules, each shared module solved once. Light services first: see
    // `schedule`.
    let threads = schedule::threads(options.threads);
    let first = modules::Modules::new(&structure.graph, &structure.q);
    let mut workers: Vec<modules::Modules> = (1..threads).map(|_| first.fresh()).collect();
    workers.insert(0, first);
    let mut order: Vec<usize> = (0..model.services.len()).collect();
    let paths = schedule::path_counts(&structure.graph);
    schedule::lightest_first(&mut order, |i| structure.service_nodes[i], &paths);
    let attempt = |modules: &mut modules::Modules, i: usize, limits: &engine::Limits| {
        let root = structure.service_nodes[i];
        if wanted[i] {
            let compiled = detail::Compiled::new(&structure, root, limits);
            if !compiled.outcome().is_exact() {
                return None;
            }
            let mut result = unknown(i);
            detail::fill(model, &structure, &mut result, options, deadline, &compiled);
            Some(Solved::Detailed(Box::new(result)))
        } else {
            let outcome = modules.solve(root, limits);
            outcome.is_exact().then_some(Solved::Outcome(outcome))
        }
    };
    let keep = |services: &mut [ServiceResult], i: usize, solved: Solved| match solved {
        Solved::Detailed(result) => services[i] = *result,
        Solved::Outcome(outcome) => {
            services[i].unavailability = services[i].unavailability.tightest(outcome);
        }
    };
    // Every service factored first (see `factor`): exact, and cheap where
    // what the services share goes through a few failure domains. First
    // the numbers of every service, then the detail of those that want it
    // (cheapest first); the services it cannot factor then go up the BDD
    // ladder with the time left, and so does the detail of the services
    // whose parts are costly to evaluate again.
    let factored_until = start + exact_time.mul_f64(FACTORED);
    let mut factoring = factored::Factoring::new(model, &structure, options, threads);
    let factored::Left {
        unfactored,
        cheap_detail,
        costly_detail,
    } = factoring.numbers(&order, &wanted, factored_until, &mut services);
    let factored: Vec<bool> = services
        .iter()
        .map(|s| s.unavailability.is_exact())
        .collect();
    let detail_start = Instant::now().min(deadline);
    let loose = unfactored
        .iter()
        .filter(|&&i| !factored::narrow(services[i].unavailability))
        .count();
    let ladder_items = LADDER_WEIGHT * (loose + costly_detail.len());
    let detail_share = (cheap_detail.len() as f64
        / (cheap_detail.len() + ladder_items).max(1) as f64)
        .clamp(DETAIL_SHARE.0, DETAIL_SHARE.1);
    let detailed_until = detail_start + (deadline - detail_start).mul_f64(detail_share);
    factoring.detail(&cheap_detail, detailed_until, &mut services);
    let pending: Vec<schedule::Left> = unfactored
        .iter()
        .chain(&costly_detail)
        .map(|&i| schedule::Left::new(i))
        .collect();
    // The BDD ladder for the services left, in the time left: its first
    // rounds, conditioning for the heavy services, its last rounds.
    let ladder_start = Instant::now().min(deadline);
    let ladder_time = deadline - ladder_start;
    let first_deadline = ladder_start + ladder_time.mul_f64(FIRST_ROUNDS);
    let left = schedule::rounds(
        pending,
        &schedule::CAPS[..schedule::FIRST_CAPS],
        first_deadline,
        &mut workers,
        attempt,
        |i, solved| keep(&mut services, i, solved),
    );
    let conditioned_until = ladder_start + ladder_time.mul_f64(FIRST_ROUNDS + CONDITIONING);
    // The costly detail that small BDDs did not give, factored after all.
    let costly_detail: Vec<usize> = costly_detail
        .into_iter()
        .filter(|&i| !services[i].detailed)
        .collect();
    factoring.detail(&costly_detail, conditioned_until, &mut services);
    drop(factoring);
    // Certified bounds by conditioning on the failure domains for the heavy
    // services (over every cap of the first rounds) whose factors did not
    // bound them closely, before they get the rest of the time. Those not
    // tried with every cap yet are lighter: the exact method comes back to
    // them first.
    let heavy: Vec<usize> = left
        .iter()
        .filter(|l| l.failed == schedule::FIRST_CAPS)
        .filter(|l| !factored::narrow(services[l.item].unavailability))
        .map(|l| l.item)
        .collect();
    bound_by_conditioning(
        &structure,
        &heavy,
        conditioned_until,
        threads,
        &mut services,
    );
    // Exact by now and without detail to fill: done. A factored service
    // whose detail neither small BDDs nor its factors gave in time is left
    // without it: a BDD of its whole cone is larger still.
    let mut left = left;
    left.retain(|l| {
        let service = &services[l.item];
        let wants_detail = wanted[l.item] && !service.detailed && !factored[l.item];
        wants_detail || !service.unavailability.is_exact()
    });
    let left = schedule::rounds(
        left,
        &schedule::CAPS,
        deadline,
        &mut workers,
        attempt,
        |i, solved| keep(&mut services, i, solved),
    );
    // Whatever is not exact by the deadline, nor bounded closely by its
    // factors, keeps the tighter of its conditioned bounds and one interval
    // pass over the solved modules.
    let mut left = left;
    left.retain(|l| !factored::narrow(services[l.item].unavailability));
    if !left.is_empty() {
        let mut modules = workers.swap_remove(0);
        for other in workers {
            modules.absorb(other);
        }
        let pass = modules.interval_pass();
        for &schedule::Left { item: i, .. } in &left {
            let (lower, upper) = pass[structure.service_nodes[i] as usize];
            let passed = Outcome::Bounds { lower, upper };
            services[i].unavailability = passed.tightest(services[i].unavailability);
        }
        // Then the bounds from each one's frontier, conditioned on the top
        // domains.
        let roots: Vec<_> = left
            .iter()
            .map(|l| structure.service_nodes[l.item])
            .collect();
        let flat = flat::frontier_bounds(
            &structure.graph,
            &structure.q,
            &top_domain_events(model, &structure),
            &roots,
            start + exact_time,
        );
        for (l, (lower, upper)) in left.iter().zip(flat) {
            let flat = Outcome::Bounds { lower, upper };
            services[l.item].unavailability = services[l.item].unavailability.tightest(flat);
        }
    }
    for (result, service) in services.iter_mut().zip(&model.services) {
        let outcome = result.unavailability;
        result.budget = service.slo.map(|(slo, _)| {
            let budget_seconds = slo.down * window;
            let expected = outcome.upper() * window;
            Budget {
                budget_seconds,
                expected_downtime_seconds: expected,
                slack_seconds: budget_seconds - expected,
            }
        });
    }
    let layers = model
        .layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let weakest = layer
                .services
                .iter()
                .map(|s| (*s, services[s.0 as usize].planning_unavailability()))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let holds = layer
                .guarantees
                .map(|(g, _)| weakest.is_none_or(|(_, u)| u <= g.down));
            LayerResult {
                id: LayerId(i as u32),
                weakest,
                holds,
            }
        })
        .collect();
    Analysis {
        window_seconds: window,
        services,
        layers,
        event_count: structure.events.len(),
        elapsed: start.elapsed(),
    }
}

/// A human name for a component.
pub fn component_name(model: &Model, component: &Component) -> String {
    match component {
        Component::Domain(d) => {
            let domain = model.domain(*d);
            format!("{} {}", domain.kind, domain.name)
        }
        Component::Service(s) => model.service(*s).name.clone(),
        Component::Instance(s, i) => {
            let service = model.service(*s);
            match service.instances.get(*i as usize).copied().flatten() {
                Some(d) => format!("{}#{} (in {})", service.name, i + 1, model.domain(d).name),
                None => format!("{}#{}", service.name, i + 1),
            }
        }
    }
}

/// The domain ids in a component, for callers that need them.
pub fn component_domain(component: &Component) -> Option<DomainId> {
    match component {
        Component::Domain(d) => Some(*d),
        _ => None,
    }
}

#[cfg(test)]
mod conditioning_tests {
    use super::*;
    use crate::analysis::testing;
    use crate::model::load::load_text;

    /// Replica sets over racks of three zones, failover and quorum groups:
    /// the bounds by conditioning contain the exact numbers of the BDDs for
    /// every service and are as narrow as asked.
    #[test]
    fn conditioning_every_service_matches_the_exact_analysis() {
        let spec = testing::RACKS_AND_GROUPS;
        let loaded = load_text("t.nines", spec.to_string());
        let model = loaded.model.expect("the spec loads");
        let exact = analyze(&model, &Options::default());
        assert!(exact.all_exact());
        let structure = Structure::build(&model);
        let mut services: Vec<ServiceResult> = exact.services.clone();
        for s in &mut services {
            s.unavailability = Outcome::Bounds {
                lower: 0.0,
                upper: 1.0,
            };
        }
        let all: Vec<usize> = (0..model.services.len()).collect();
        let far = Instant::now() + Duration::from_secs(600);
        bound_by_conditioning(&structure, &all, far, 2, &mut services);
        for (got, want) in services.iter().zip(&exact.services) {
            let name = &model.service(got.id).name;
            let want = want.unavailability.upper();
            let (lo, hi) = (got.unavailability.lower(), got.unavailability.upper());
            assert!(
                lo <= want * (1.0 + 1e-12) && want <= hi * (1.0 + 1e-12),
                "{name}: {want} outside [{lo}, {hi}]"
            );
            assert!(
                hi - lo <= 2.0 * CONDITIONED_WIDTH * hi,
                "{name}: [{lo}, {hi}] wider than asked"
            );
        }
    }
}

#[cfg(test)]
mod thread_tests {
    use super::*;
    use crate::model::load::load_text;

    /// Every number, detail included, is the same whatever the number of
    /// worker threads (the services are shared among them differently).
    #[test]
    fn results_do_not_depend_on_the_number_of_threads() {
        let spec = include_str!("../../specs/appengine.nines");
        let loaded = load_text("appengine.nines", spec.to_string());
        let model = loaded.model.expect("the shipped spec loads");
        let run = |threads: usize| {
            let options = Options {
                detail: Detail::All,
                threads,
                ..Options::default()
            };
            let analysis = analyze(&model, &options);
            assert!(analysis.all_exact());
            format!("{:?} {:?}", analysis.services, analysis.layers)
        };
        let one = run(1);
        for threads in [2, 3, 8] {
            assert!(run(threads) == one, "{threads} threads differ from one");
        }
    }
}

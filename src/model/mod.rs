//! The resolved model: arenas of domains, layers and services with typed ids,
//! the service graph (petgraph), the domain tree and the layer DAG. Nothing
//! after this stage sees raw names for references.

pub mod fuzzy;
pub mod load;
mod resolve;

use petgraph::graph::DiGraph;

use crate::diagnostics::Span;
use crate::syntax::ast::{Evidence, LintEntry, PolicyDecl};
use crate::syntax::quantity::{Availability, Duration, Frequency, Rate};

pub use resolve::resolve;

/// Id of a domain in [`Model::domains`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainId(pub u32);
/// Id of a layer in [`Model::layers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LayerId(pub u32);
/// Id of a service in [`Model::services`]; also its node index in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId(pub u32);

/// The default error-budget window: 30 days.
pub const DEFAULT_WINDOW_SECONDS: f64 = 30.0 * 86400.0;

/// A resolved, validated spec.
#[derive(Clone, Debug)]
pub struct Model {
    /// The error-budget window.
    pub window: Duration,
    /// Failure domains, in declaration order.
    pub domains: Vec<Domain>,
    /// Layers, in declaration order.
    pub layers: Vec<Layer>,
    /// Services, in declaration order.
    pub services: Vec<Service>,
    /// Policies as written (checked and evaluated by the policy stage).
    pub policies: Vec<PolicyDecl>,
    /// `lint { }` entries of every file.
    pub lint: Vec<LintEntry>,
    /// Service graph: node `i` is service `i`; edges point from a service to
    /// what it depends on.
    pub graph: DiGraph<ServiceId, Edge>,
}

/// The kind of an edge of the service graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// A plain `requires`: down when the target is down.
    Hard,
    /// A member of an `any(...)` or `k of (...)` group.
    Group,
    /// `uses`: never counts for availability.
    Soft,
    /// A replication target.
    Replicates,
}

/// How a component's own availability was given.
#[derive(Clone, Debug, PartialEq)]
pub enum OwnForm {
    /// Not given: perfect on its own.
    Unspecified,
    /// `availability A`
    Availability(Availability),
    /// `mtbf M mttr R`
    MtbfMttr {
        /// Mean time between failures.
        mtbf: Duration,
        /// Mean time to repair.
        mttr: Duration,
    },
    /// `incidents F detect D mitigate M`
    Incidents {
        /// Incident frequency.
        frequency: Frequency,
        /// Time to detect.
        detect: Duration,
        /// Time to mitigate.
        mitigate: Duration,
    },
}

/// The shape of a distribution of durations (times between failures, repair
/// times), for simulation. Its mean comes from the own availability and its
/// time scale, so a shape never changes the steady-state availability.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Distribution {
    /// Memoryless (the default).
    #[default]
    Exponential,
    /// Weibull with this shape parameter, in [`WEIBULL_SHAPES`].
    Weibull {
        /// The shape parameter.
        shape: f64,
    },
    /// Log-normal: the logarithm has this standard deviation, in [`LOGNORMAL_SIGMAS`].
    LogNormal {
        /// The standard deviation of the logarithm.
        sigma: f64,
    },
    /// Always exactly the mean.
    Fixed,
}

/// The Weibull shapes nines accepts (below 0.1 the variance exceeds 10^5
/// times the squared mean, and the gamma function used for the scale soon
/// overflows).
pub const WEIBULL_SHAPES: std::ops::RangeInclusive<f64> = 0.1..=100.0;

/// The log-normal sigmas nines accepts (at 4 the median is e^-8 ≈ 1/3000 of
/// the mean; beyond, almost all time comes from astronomically rare draws).
pub const LOGNORMAL_SIGMAS: std::ops::RangeInclusive<f64> = 0.01..=4.0;

impl std::fmt::Display for Distribution {
    /// As written in a spec: `weibull shape 0.8`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Distribution::Exponential => f.write_str("exponential"),
            Distribution::Weibull { shape } => write!(f, "weibull shape {shape}"),
            Distribution::LogNormal { sigma } => write!(f, "lognormal sigma {sigma}"),
            Distribution::Fixed => f.write_str("fixed"),
        }
    }
}

/// A component's own steady-state availability.
#[derive(Clone, Debug, PartialEq)]
pub struct Own {
    /// The probability of being down, computed without subtracting from 1.
    pub down: f64,
    /// How it was given.
    pub form: OwnForm,
    /// The time scale of outages, when known (`mttr`, or detect + mitigate).
    pub mttr: Option<Duration>,
    /// Evidence behind an `availability`, for simulation.
    pub evidence: Option<Evidence>,
    /// The shape of times between failures (`failures ...`), for simulation.
    pub failures: Distribution,
    /// The shape of repair times (`repairs ...`), for simulation.
    pub repairs: Distribution,
    /// Where it was given.
    pub span: Option<Span>,
}

impl Own {
    /// Perfect, unspecified.
    pub fn unspecified() -> Self {
        Own {
            down: 0.0,
            form: OwnForm::Unspecified,
            mttr: None,
            evidence: None,
            failures: Distribution::Exponential,
            repairs: Distribution::Exponential,
            span: None,
        }
    }
}

/// A failure domain.
#[derive(Clone, Debug)]
pub struct Domain {
    /// Its name.
    pub name: String,
    /// Free-text kind.
    pub kind: String,
    /// Where the name is written.
    pub name_span: Span,
    /// The whole declaration.
    pub span: Span,
    /// The enclosing domain.
    pub parent: Option<DomainId>,
    /// Its own availability.
    pub own: Own,
    /// Intrusive maintenance: drained `duration` out of every `every`.
    pub maintenance: Option<Maintenance>,
    /// UPS holdup on this domain.
    pub ups_holdup: Option<Duration>,
}

/// `maintenance intrusive every P for D`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Maintenance {
    /// Period.
    pub every: Duration,
    /// Drain length.
    pub duration: Duration,
}

impl Domain {
    /// The probability that this domain alone (not its ancestors) is down:
    /// its own failures or a maintenance drain, as independent causes.
    pub fn down(&self) -> f64 {
        let m = self
            .maintenance
            .map_or(0.0, |m| m.duration.seconds / m.every.seconds);
        // 1 - (1 - own)(1 - m), without subtracting from 1.
        self.own.down + m - self.own.down * m
    }
}

/// A layer.
#[derive(Clone, Debug)]
pub struct Layer {
    /// Its name.
    pub name: String,
    /// Where the name is written.
    pub name_span: Span,
    /// The whole declaration.
    pub span: Span,
    /// Layers directly below.
    pub above: Vec<LayerId>,
    /// 0 for a bottom layer, else one more than the highest layer below.
    pub rank: u32,
    /// Its promise to the layers above.
    pub guarantees: Option<(Availability, Span)>,
    /// What it takes as given of lower layers.
    pub assumes: Vec<Assumption>,
    /// Its services.
    pub services: Vec<ServiceId>,
}

/// `assumes LAYER A`.
#[derive(Clone, Debug)]
pub struct Assumption {
    /// The layer assumed.
    pub layer: LayerId,
    /// What is assumed.
    pub value: Availability,
    /// The whole clause.
    pub span: Span,
}

/// A dependency term of a service, resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum Requirement {
    /// A service that must be up.
    Service(ServiceId, Span),
    /// At least `k` of the members must hold (`any` is k = 1).
    AtLeast {
        /// How many.
        k: u32,
        /// Members.
        of: Vec<Requirement>,
        /// Whether it was written `any(...)`.
        any: bool,
        /// The group as written.
        span: Span,
    },
}

impl Requirement {
    /// Every service named in the term.
    pub fn services(&self, out: &mut Vec<ServiceId>) {
        match self {
            Requirement::Service(s, _) => out.push(*s),
            Requirement::AtLeast { of, .. } => of.iter().for_each(|r| r.services(out)),
        }
    }

    /// Where it is written.
    pub fn span(&self) -> Span {
        match self {
            Requirement::Service(_, span) | Requirement::AtLeast { span, .. } => *span,
        }
    }
}

/// `writes { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Writes {
    /// `gated by ups`.
    pub gated: bool,
    /// `flush within`.
    pub flush_within: Option<Duration>,
    /// `reject [retryable]` present.
    pub reject: bool,
    /// Whether the refusal is retryable.
    pub retryable: bool,
    /// `after D`.
    pub retry_after: Option<Duration>,
    /// The block.
    pub span: Span,
}

/// `replicate ...`.
#[derive(Clone, Debug, PartialEq)]
pub struct Replication {
    /// Targets.
    pub to: Vec<(ServiceId, Span)>,
    /// Async or sync.
    pub mode: ReplicationMode,
    /// The clause.
    pub span: Span,
}

/// How a service replicates.
#[derive(Clone, Debug, PartialEq)]
pub enum ReplicationMode {
    /// Acknowledged locally, shipped later; lag bounded by `max_lag`.
    Async {
        /// The bound on lag.
        max_lag: Option<Duration>,
    },
    /// Acknowledged once `quorum` copies (local included) are durable.
    Sync {
        /// Copies.
        quorum: u32,
    },
}

/// `traffic R [peak F]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Traffic {
    /// Average.
    pub rate: Rate,
    /// Peak multiplier (1 when absent).
    pub peak: f64,
}

/// A service.
#[derive(Clone, Debug)]
pub struct Service {
    /// Its name.
    pub name: String,
    /// Where the name is written.
    pub name_span: Span,
    /// The whole declaration.
    pub span: Span,
    /// Its layer.
    pub layer: Option<LayerId>,
    /// Its SLO.
    pub slo: Option<(Availability, Span)>,
    /// Its own availability (each instance's).
    pub own: Own,
    /// The domain of each instance (`None`: no domain).
    pub instances: Vec<Option<DomainId>>,
    /// Instances needed up.
    pub need: u32,
    /// Hard dependencies and groups.
    pub requires: Vec<Requirement>,
    /// Soft dependencies.
    pub uses: Vec<(ServiceId, Span)>,
    /// Write contract.
    pub writes: Option<Writes>,
    /// Replication contract.
    pub replication: Option<Replication>,
    /// Recovery point objective.
    pub rpo: Option<(Duration, Span)>,
    /// Traffic.
    pub traffic: Option<Traffic>,
    /// Capacity per replica.
    pub capacity: Option<Rate>,
}

impl Model {
    /// The service with this id.
    pub fn service(&self, id: ServiceId) -> &Service {
        &self.services[id.0 as usize]
    }

    /// The domain with this id.
    pub fn domain(&self, id: DomainId) -> &Domain {
        &self.domains[id.0 as usize]
    }

    /// The layer with this id.
    pub fn layer(&self, id: LayerId) -> &Layer {
        &self.layers[id.0 as usize]
    }

    /// A service by name.
    pub fn service_named(&self, name: &str) -> Option<ServiceId> {
        self.services
            .iter()
            .position(|s| s.name == name)
            .map(|i| ServiceId(i as u32))
    }

    /// The domain and all its ancestors, innermost first.
    pub fn domain_chain(&self, id: DomainId) -> Vec<DomainId> {
        let mut chain = vec![id];
        let mut current = self.domain(id).parent;
        while let Some(p) = current {
            if chain.contains(&p) {
                break;
            }
            chain.push(p);
            current = self.domain(p).parent;
        }
        chain
    }

    /// The shortest UPS holdup over the domains of every instance (a domain's
    /// UPS covers everything inside it); `None` when some instance has none.
    pub fn holdup(&self, id: ServiceId) -> Option<Duration> {
        let service = self.service(id);
        let mut shortest: Option<Duration> = None;
        for instance in &service.instances {
            let holdup = instance.and_then(|d| {
                self.domain_chain(d)
                    .into_iter()
                    .find_map(|d| self.domain(d).ups_holdup)
            })?;
            shortest = Some(match shortest {
                Some(s) if s.seconds <= holdup.seconds => s,
                _ => holdup,
            });
        }
        shortest
    }
}

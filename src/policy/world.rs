//! What policies read: the model's relations indexed for fast member access
//! (dependents, placement domains, the services under each domain) and the
//! calculator's numbers, computed once per spec.

use std::cell::Cell;

use crate::analysis::Analysis;
use crate::diagnostics::Span;
use crate::model::{DomainId, Model, ReplicationMode, Requirement, ServiceId};

/// The model and its numbers, ready for evaluation.
pub struct World<'m> {
    /// The model.
    pub model: &'m Model,
    /// The analysis, when one was run (without it the numbers read as a
    /// service's own availability, which `check --no-analysis` documents).
    pub analysis: Option<&'m Analysis>,
    /// Plain hard dependencies of each service, with the reference's span.
    pub requires: Vec<Vec<(ServiceId, Span)>>,
    /// Members of `any(...)` / `k of (...)` groups of each service.
    pub requires_any: Vec<Vec<(ServiceId, Span)>>,
    /// Services that require each service, with the span of that reference.
    pub dependents: Vec<Vec<(ServiceId, Span)>>,
    /// The distinct domains each service's instances are placed in.
    pub placement: Vec<Vec<DomainId>>,
    /// The shortest UPS holdup over each service's instances, in seconds.
    pub holdup: Vec<Option<f64>>,
    /// Each domain and its ancestors, innermost first.
    pub chains: Vec<Vec<DomainId>>,
    /// Domains directly inside each domain.
    pub children: Vec<Vec<DomainId>>,
    /// Services with an instance in or under each domain.
    pub domain_services: Vec<Vec<ServiceId>>,
    /// Whether some number is only bounded (the calculator ran out of time).
    pub bounded: bool,
    /// Read bounded numbers at their optimistic end (to tell a finding that
    /// holds for every value in the bounds from one that is undecided).
    pub optimistic: Cell<bool>,
    /// Evaluation steps (binding combinations and quantifier iterations)
    /// taken by the policy being run.
    pub steps: Cell<u64>,
    /// Most steps one policy may take ([`MAX_STEPS`]).
    pub limit: u64,
}

/// Most evaluation steps one policy may take: a policy over every pair of
/// services of a large platform would otherwise run for hours.
pub const MAX_STEPS: u64 = 20_000_000;

impl World<'_> {
    /// Counts one step; false once the policy has used up its steps.
    pub fn step(&self) -> bool {
        let steps = self.steps.get() + 1;
        self.steps.set(steps);
        steps <= self.limit
    }

    /// Whether the policy being run has used up its steps.
    pub fn exhausted(&self) -> bool {
        self.steps.get() > self.limit
    }
}

impl<'m> World<'m> {
    /// Indexes a model and its analysis.
    pub fn new(model: &'m Model, analysis: Option<&'m Analysis>) -> World<'m> {
        let n = model.services.len();
        let mut requires = vec![Vec::new(); n];
        let mut requires_any = vec![Vec::new(); n];
        let mut dependents = vec![Vec::new(); n];
        for (i, service) in model.services.iter().enumerate() {
            for r in &service.requires {
                match r {
                    Requirement::Service(target, span) => {
                        requires[i].push((*target, *span));
                        dependents[target.0 as usize].push((ServiceId(i as u32), *span));
                    }
                    Requirement::AtLeast { .. } => {
                        let mut stack = vec![r];
                        while let Some(term) = stack.pop() {
                            match term {
                                Requirement::Service(target, span) => {
                                    requires_any[i].push((*target, *span));
                                    dependents[target.0 as usize]
                                        .push((ServiceId(i as u32), *span));
                                }
                                Requirement::AtLeast { of, .. } => stack.extend(of.iter().rev()),
                            }
                        }
                    }
                }
            }
        }
        // Each domain's chain of ancestors and nearest UPS, computed once
        // (domains are few, instances many).
        let chains: Vec<Vec<DomainId>> = (0..model.domains.len())
            .map(|d| model.domain_chain(DomainId(d as u32)))
            .collect();
        let ups: Vec<Option<f64>> = chains
            .iter()
            .map(|chain| {
                chain
                    .iter()
                    .find_map(|d| model.domain(*d).ups_holdup)
                    .map(|h| h.seconds)
            })
            .collect();
        let mut placement = Vec::with_capacity(n);
        let mut holdup = Vec::with_capacity(n);
        let mut domain_services = vec![Vec::new(); model.domains.len()];
        let mut marked = vec![u32::MAX; model.domains.len()];
        for (i, service) in model.services.iter().enumerate() {
            let mut domains: Vec<DomainId> = service.instances.iter().flatten().copied().collect();
            domains.sort_unstable();
            domains.dedup();
            for d in &domains {
                for ancestor in &chains[d.0 as usize] {
                    let slot = &mut marked[ancestor.0 as usize];
                    if *slot != i as u32 {
                        *slot = i as u32;
                        domain_services[ancestor.0 as usize].push(ServiceId(i as u32));
                    }
                }
            }
            placement.push(domains);
            // The shortest holdup over the instances; missing when one has none.
            let mut shortest: Option<f64> = None;
            let mut covered = true;
            for instance in &service.instances {
                match instance.and_then(|d| ups[d.0 as usize]) {
                    Some(h) => shortest = Some(shortest.map_or(h, |s: f64| s.min(h))),
                    None => covered = false,
                }
            }
            holdup.push(if covered { shortest } else { None });
        }
        let mut children = vec![Vec::new(); model.domains.len()];
        for (i, domain) in model.domains.iter().enumerate() {
            if let Some(parent) = domain.parent {
                children[parent.0 as usize].push(DomainId(i as u32));
            }
        }
        World {
            model,
            analysis,
            bounded: analysis.is_some_and(|a| !a.all_exact()),
            optimistic: Cell::new(false),
            steps: Cell::new(0),
            limit: MAX_STEPS,
            requires,
            requires_any,
            dependents,
            placement,
            holdup,
            chains,
            children,
            domain_services,
        }
    }

    /// The unavailability policies read as `composed`: the certified upper
    /// bound when the number is not exact, so that a rule never passes on
    /// an optimistic guess (the lower bound while [`World::optimistic`] is set).
    pub fn composed_down(&self, id: ServiceId) -> f64 {
        match self.analysis {
            Some(a) if self.optimistic.get() => a.service(id).unavailability.lower(),
            Some(a) => a.service(id).planning_unavailability(),
            None => self.model.service(id).own.down,
        }
    }

    /// Expected downtime per window, in seconds.
    pub fn downtime(&self, id: ServiceId) -> f64 {
        self.composed_down(id) * self.model.window.seconds
    }

    /// The error budget per window, in seconds, when the service has an SLO.
    pub fn budget(&self, id: ServiceId) -> Option<f64> {
        self.model
            .service(id)
            .slo
            .map(|(slo, _)| slo.down * self.model.window.seconds)
    }

    /// Async replication's bound on lag, in seconds.
    pub fn max_lag(&self, id: ServiceId) -> Option<f64> {
        match &self.model.service(id).replication.as_ref()?.mode {
            ReplicationMode::Async { max_lag } => max_lag.map(|d| d.seconds),
            ReplicationMode::Sync { .. } => None,
        }
    }

    /// Sync replication's quorum.
    pub fn quorum(&self, id: ServiceId) -> Option<u32> {
        match &self.model.service(id).replication.as_ref()?.mode {
            ReplicationMode::Sync { quorum } => Some(*quorum),
            ReplicationMode::Async { .. } => None,
        }
    }
}

//! The built-in rules that need more than the policy language: the
//! calculator's single points of failure and budget consumers, and
//! reasoning over the domain tree. Also the help that the calculator adds
//! to findings of prelude rules (the weakest link of an infeasible SLO).

use crate::analysis::{component_name, Component};
use crate::diagnostics::Diagnostic;
use crate::model::{DomainId, ServiceId};
use crate::syntax::quantity::{format_percent, human_duration, Rate};

use super::run::Violation;
use super::value::Value;
use super::world::World;

/// Findings of every Rust rule, at warning severity (levels are applied later).
pub fn check(world: &World) -> Vec<Diagnostic> {
    let platform = platform_domains(world);
    let mut out = Vec::new();
    single_points_of_failure(world, &platform, &mut out);
    replica_shares_domain(world, &platform, &mut out);
    failover_capacity(world, &mut out);
    budget_overcommitted(world, &mut out);
    out
}

/// Domains that contain every placed instance of the spec, none of them
/// directly: the platform itself (a one-region spec's region, with its
/// datacenters inside). Nothing can be placed outside them, so they are not
/// reported as shared or single points: a spec says what runs inside them.
fn platform_domains(world: &World) -> Vec<bool> {
    let model = world.model;
    let mut platform = vec![false; model.domains.len()];
    // Candidates: the ancestors of the first placed instance; each further
    // instance keeps those among its own strict ancestors.
    let mut placed = model
        .services
        .iter()
        .flat_map(|s| s.instances.iter().flatten());
    let Some(first) = placed.next() else {
        return platform;
    };
    let mut candidates: Vec<DomainId> = world.chains[first.0 as usize][1..].to_vec();
    for d in placed {
        if candidates.is_empty() {
            break;
        }
        let chain = &world.chains[d.0 as usize];
        candidates.retain(|c| chain[1..].contains(c));
    }
    for c in candidates {
        platform[c.0 as usize] = true;
    }
    platform
}

fn single_points_of_failure(world: &World, platform: &[bool], out: &mut Vec<Diagnostic>) {
    let Some(analysis) = world.analysis else {
        return;
    };
    let model = world.model;
    for (i, service) in model.services.iter().enumerate() {
        if service.slo.is_none() {
            continue;
        }
        let result = analysis.service(ServiceId(i as u32));
        let points: Vec<&Component> = result
            .single_points_of_failure
            .iter()
            .filter(|c| !matches!(c, Component::Domain(d) if platform[d.0 as usize]))
            .collect();
        if points.is_empty() {
            continue;
        }
        let names: Vec<String> = points.iter().map(|c| component_name(model, c)).collect();
        let (first, rest) = names
            .split_first()
            .map_or(("", &[][..]), |(f, r)| (f.as_str(), r));
        let message = if rest.is_empty() {
            format!("`{}` goes down whenever {first} fails", service.name)
        } else {
            format!(
                "`{}` goes down whenever any one of {} components fails: {}",
                service.name,
                names.len(),
                names.join(", ")
            )
        };
        out.push(
            Diagnostic::warning("single-point-of-failure", message)
                .at(service.name_span, "has an SLO")
                .help("replicate it across domains (`replicas N need K across ...`), or put the dependency behind `any(...)`; `lint { allow single-point-of-failure }` accepts it"),
        );
    }
}

fn replica_shares_domain(world: &World, platform: &[bool], out: &mut Vec<Diagnostic>) {
    let model = world.model;
    let fate = |id: ServiceId| -> Vec<DomainId> {
        let mut all: Vec<DomainId> = world.placement[id.0 as usize]
            .iter()
            .flat_map(|d| world.chains[d.0 as usize].iter().copied())
            .filter(|d| !platform[d.0 as usize])
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    for (i, service) in model.services.iter().enumerate() {
        let Some(replication) = &service.replication else {
            continue;
        };
        let source = fate(ServiceId(i as u32));
        for (target, span) in &replication.to {
            let shared: Vec<DomainId> = fate(*target)
                .into_iter()
                .filter(|d| source.binary_search(d).is_ok())
                .collect();
            // Report the outermost shared domain: its failure takes the most.
            let Some(outer) = shared
                .iter()
                .min_by_key(|d| world.chains[d.0 as usize].len())
                .copied()
            else {
                continue;
            };
            let domain = model.domain(outer);
            out.push(
                Diagnostic::warning(
                    "replica-shares-domain",
                    format!(
                        "`{}` replicates to `{}`, but both run in {} {}: one failure there loses the data and its copy",
                        service.name,
                        model.service(*target).name,
                        domain.kind,
                        domain.name
                    ),
                )
                .at(*span, "this replication target")
                .label(domain.name_span, "shared by both")
                .help("place the replica in a domain the source does not run in"),
            );
        }
    }
}

fn failover_capacity(world: &World, out: &mut Vec<Diagnostic>) {
    let model = world.model;
    for service in &model.services {
        let (Some(traffic), Some(capacity)) = (service.traffic, service.capacity) else {
            continue;
        };
        let peak = traffic.rate.per_second * traffic.peak;
        let per_replica = capacity.per_second;
        let replicas = service.instances.len();
        let rate = |r: f64| Rate { per_second: r }.to_string();
        if (replicas as f64) * per_replica < peak {
            out.push(
                Diagnostic::warning(
                    "failover-capacity",
                    format!(
                        "`{}` has {replicas} replicas of {} each: {} in all, below its peak of {}",
                        service.name,
                        rate(per_replica),
                        rate(replicas as f64 * per_replica),
                        rate(peak)
                    ),
                )
                .at(
                    service.name_span,
                    "cannot carry its peak even with every replica up",
                )
                .help(format!(
                    "it needs at least {} replicas",
                    (peak / per_replica).ceil()
                )),
            );
            continue;
        }
        // The single domain whose loss leaves the fewest replicas, among
        // domains that hold some but not all of them (losing all is an
        // outage, which the availability numbers already count).
        let mut lost: Vec<(DomainId, usize)> = Vec::new();
        for d in service.instances.iter().flatten() {
            for &ancestor in &world.chains[d.0 as usize] {
                match lost.iter_mut().find(|(a, _)| *a == ancestor) {
                    Some((_, n)) => *n += 1,
                    None => lost.push((ancestor, 1)),
                }
            }
        }
        let worst = lost
            .into_iter()
            .filter(|(_, n)| *n < replicas)
            .max_by_key(|(d, n)| (*n, std::cmp::Reverse(*d)));
        let Some((domain, n)) = worst else { continue };
        let left = replicas - n;
        if (left as f64) * per_replica >= peak {
            continue;
        }
        let d = model.domain(domain);
        let drained = if d.maintenance.is_some() {
            " (it is drained for intrusive maintenance)"
        } else {
            ""
        };
        out.push(
            Diagnostic::warning(
                "failover-capacity",
                format!(
                    "with {} {} down{drained}, `{}` keeps {left} of {replicas} replicas: {} for a peak of {}",
                    d.kind,
                    d.name,
                    service.name,
                    rate(left as f64 * per_replica),
                    rate(peak)
                ),
            )
            .at(service.name_span, "too little capacity after a failover")
            .label(d.name_span, format!("{n} of its replicas run here"))
            .help(format!(
                "add replicas or spread them so that any one domain down leaves {} replicas",
                (peak / per_replica).ceil()
            )),
        );
    }
}

fn budget_overcommitted(world: &World, out: &mut Vec<Diagnostic>) {
    let Some(analysis) = world.analysis else {
        return;
    };
    let model = world.model;
    for (i, service) in model.services.iter().enumerate() {
        let id = ServiceId(i as u32);
        let result = analysis.service(id);
        let (Some(budget), true) = (result.budget, result.detailed) else {
            continue;
        };
        if !result.unavailability.is_exact() {
            continue;
        }
        let own: f64 = result
            .consumers
            .iter()
            .filter(|c| matches!(c.component, Component::Service(s) | Component::Instance(s, _) if s == id))
            .map(|c| c.downtime_seconds)
            .fold(0.0, f64::max);
        let from_below = budget.expected_downtime_seconds - own;
        if from_below <= budget.budget_seconds {
            continue;
        }
        let top: Vec<String> = result
            .consumers
            .iter()
            .filter(|c| !matches!(c.component, Component::Service(s) | Component::Instance(s, _) if s == id))
            .take(3)
            .map(|c| format!("{} ({})", component_name(model, &c.component), human_duration(c.downtime_seconds)))
            .collect();
        out.push(
            Diagnostic::warning(
                "budget-overcommitted",
                format!(
                    "what `{}` stands on takes {} of downtime per window, more than its whole budget of {}: even a perfect `{}` would miss its SLO",
                    service.name,
                    human_duration(from_below),
                    human_duration(budget.budget_seconds),
                    service.name
                ),
            )
            .at(service.name_span, "its budget is spent below it")
            .help(format!("the largest consumers: {}", top.join(", "))),
        );
    }
}

/// Labels that show where a prelude rule's numbers come from.
pub fn labels_for(
    rule: &str,
    violation: &Violation,
    world: &World,
) -> Vec<(crate::diagnostics::Span, String)> {
    let model = world.model;
    let mut labels = Vec::new();
    for value in &violation.bindings {
        let layer = match (rule, value) {
            ("layer-assumption", Value::Assumption(layer, index)) => {
                model.layer(*layer).assumes.get(*index).map(|a| a.layer)
            }
            ("layer-guarantee", Value::Layer(layer, _)) => Some(*layer),
            _ => None,
        };
        if let Some(layer) = layer {
            let l = model.layer(layer);
            match l.guarantees {
                Some((_, span)) => labels.push((span, format!("what `{}` guarantees", l.name))),
                None => labels.push((l.name_span, "no `guarantees` here".to_string())),
            }
        }
    }
    labels
}

/// Help from the calculator for a finding of a prelude rule, when it has
/// something to add.
pub fn help_for(rule: &str, violation: &Violation, world: &World) -> Option<String> {
    let model = world.model;
    let analysis = world.analysis?;
    match rule {
        "slo-infeasible" => {
            let Some(Value::Service(id, _)) = violation.bindings.first() else {
                return None;
            };
            let result = analysis.service(*id);
            if !result.detailed {
                return None;
            }
            let mut help = String::new();
            if let Some(weakest) = result.consumers.first() {
                help.push_str(&format!(
                    "the weakest link is {}: it takes {} per window",
                    component_name(model, &weakest.component),
                    human_duration(weakest.downtime_seconds)
                ));
            }
            let fixes: Vec<String> = result
                .required
                .iter()
                .filter_map(|r| {
                    let need = r.required_down?;
                    let name = &model.service(r.dependency).name;
                    let mut text = format!(
                        "`{name}` at {} own (now {})",
                        format_percent(need),
                        format_percent(r.current_down)
                    );
                    if let Some(n) = r.allowed_incidents_per_year {
                        text.push_str(&format!(", i.e. at most {n:.1} incidents a year"));
                    }
                    Some(text)
                })
                .collect();
            if !fixes.is_empty() {
                if !help.is_empty() {
                    help.push_str("; ");
                }
                help.push_str(&format!(
                    "any one of these alone meets the SLO: {}",
                    fixes.join("; ")
                ));
            } else if !result.required.is_empty() {
                if !help.is_empty() {
                    help.push_str("; ");
                }
                help.push_str(
                    "no single dependency can fix it: each is impossible even if perfect",
                );
            }
            (!help.is_empty()).then_some(help)
        }
        _ => None,
    }
}

//! Input uncertainty: an availability with evidence (`observed over 90d`,
//! `observed GOOD of TOTAL`) becomes a Beta posterior on the component's
//! probability of being down, and posterior draws are propagated to the
//! composed availabilities.
//!
//! **Prior.** Jeffreys' prior, Beta(1/2, 1/2): invariant under
//! reparametrisation and the usual objective choice for a binomial
//! proportion. With `g` good and `b` bad observations the posterior on the
//! probability of being down is Beta(b + 1/2, g + 1/2).
//!
//! **Counts from a duration.** `availability A observed over D` did not count
//! anything: the downtime seen over D is a time average of an alternating
//! process whose outages last τ on average (the component's `mttr`, or the
//! default time scale). The fraction of time down over D of an alternating
//! renewal process with exponential times has variance ≈ 2 q²(1 − q)² (up +
//! down) / D = 2 τ q (1 − q) / D; a binomial proportion over n independent
//! observations has q (1 − q) / n. They agree for n = D / (2τ): so the
//! evidence counts as n observations, b = n (1 − A) bad and g = n A good.

use rand_distr::{Beta, Distribution as _};

use crate::analysis::engine::{self, EventId, Limits};
use crate::analysis::structure::{Event, Structure};
use crate::model::{Model, Own};
use crate::syntax::ast::Evidence;

use super::sampling::{block_rng, SimRng, Stream};
use super::stats::quantile;
use super::timing::time_scale;

/// The prior's pseudo-counts on each side (Jeffreys).
pub const PRIOR: f64 = 0.5;

/// A Beta posterior on a probability of being down.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Posterior {
    /// Bad observations plus the prior's.
    pub bad: f64,
    /// Good observations plus the prior's.
    pub good: f64,
}

impl Posterior {
    /// The posterior from `evidence` about an availability with probability
    /// `q` of being down and outages of mean length `tau` seconds.
    pub fn from_evidence(evidence: &Evidence, q: f64, tau: f64) -> Posterior {
        let (bad, good) = match *evidence {
            Evidence::Counts { good, total } => ((total - good.min(total)) as f64, good as f64),
            Evidence::Over(d) => {
                let n = d.seconds / (2.0 * tau);
                (n * q, n * (1.0 - q))
            }
        };
        Posterior {
            bad: bad + PRIOR,
            good: good + PRIOR,
        }
    }

    /// The posterior mean of the probability of being down.
    pub fn mean(&self) -> f64 {
        self.bad / (self.bad + self.good)
    }

    /// One draw of the probability of being down.
    pub fn draw(&self, rng: &mut SimRng) -> f64 {
        match Beta::new(self.bad, self.good) {
            Ok(beta) => beta.sample(rng),
            Err(_) => self.mean(),
        }
    }
}

/// A component whose availability is uncertain.
#[derive(Clone, Debug)]
pub struct Uncertain {
    /// For reports: the service, or `domain NAME`.
    pub name: String,
    /// Its posterior.
    pub posterior: Posterior,
    /// The basic events it drives (every instance of a service shares one
    /// draw: the uncertainty is about the service, not each copy).
    pub events: Vec<EventId>,
    /// The share of time drained by maintenance (a domain's), which
    /// combines with the drawn own failures.
    pub drained: f64,
    /// Its own availability as given (for its time behaviour).
    pub own: Own,
}

impl Uncertain {
    /// The probability that its events are down, given its own `q`.
    pub fn event_q(&self, q: f64) -> f64 {
        q + self.drained - q * self.drained
    }
}

/// The components with evidence, with their posteriors.
pub fn uncertain_components(
    model: &Model,
    structure: &Structure,
    default_mttr: f64,
) -> Vec<Uncertain> {
    let mut out: Vec<Uncertain> = Vec::new();
    let mut seen: Vec<(Event, usize)> = Vec::new();
    for (e, event) in structure.events.iter().enumerate() {
        let (own, drained, name, key) = match *event {
            Event::Domain(d) => {
                let domain = model.domain(d);
                let drained = domain
                    .maintenance
                    .map_or(0.0, |m| m.duration.seconds / m.every.seconds);
                (
                    &domain.own,
                    drained,
                    format!("domain {}", domain.name),
                    *event,
                )
            }
            Event::Instance(s, _) => {
                let service = model.service(s);
                (
                    &service.own,
                    0.0,
                    service.name.clone(),
                    Event::Instance(s, 0),
                )
            }
        };
        let Some(evidence) = &own.evidence else {
            continue;
        };
        if let Some((_, i)) = seen.iter().find(|(k, _)| *k == key) {
            out[*i].events.push(e as EventId);
            continue;
        }
        let tau = time_scale(own, default_mttr).0.unwrap_or(default_mttr);
        seen.push((key, out.len()));
        out.push(Uncertain {
            name,
            posterior: Posterior::from_evidence(evidence, own.down, tau),
            events: vec![e as EventId],
            drained,
            own: own.clone(),
        });
    }
    out
}

/// Draw `index` of every uncertain component's own probability of being
/// down (a function of the seed and the index only).
pub fn draw(components: &[Uncertain], seed: u64, index: u64) -> Vec<f64> {
    let mut rng = block_rng(seed, Stream::Posterior, index);
    components
        .iter()
        .map(|c| c.posterior.draw(&mut rng))
        .collect()
}

/// A spread of values over posterior draws.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// 5th percentile.
    pub low: f64,
    /// Median.
    pub median: f64,
    /// 95th percentile.
    pub high: f64,
}

impl Spread {
    /// The 5th, 50th and 95th percentiles of `values`.
    pub fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        Spread {
            low: quantile(&values, 0.05),
            median: quantile(&values, 0.5),
            high: quantile(&values, 0.95),
        }
    }
}

/// For each root, the spread of its unavailability over `draws` posterior
/// draws, or `None` when no uncertain component lies below it, or when the
/// exact engine could not solve it within `limits` (re-bounding every draw
/// would cost far more than the simulation). Each root is compiled once by
/// the exact engine and re-evaluated for all draws at once.
pub fn composed_spreads(
    structure: &Structure,
    components: &[Uncertain],
    roots: &[u32],
    draws: &[Vec<f64>],
    limits: &Limits,
) -> Vec<Option<Spread>> {
    use rayon::prelude::*;
    if components.is_empty() || draws.is_empty() {
        return vec![None; roots.len()];
    }
    let mut owner = vec![usize::MAX; structure.events.len()];
    for (i, c) in components.iter().enumerate() {
        for &e in &c.events {
            owner[e as usize] = i;
        }
    }
    roots
        .par_iter()
        .map(|&root| {
            let cone = structure.cone(root);
            let touched: Vec<EventId> = cone
                .into_iter()
                .filter(|&e| owner[e as usize] != usize::MAX)
                .collect();
            if touched.is_empty() {
                return None;
            }
            if limits
                .deadline
                .is_some_and(|d| std::time::Instant::now() >= d)
            {
                return None;
            }
            let compiled = engine::Analysis::new(&structure.graph, root, &structure.q, limits);
            if !compiled.outcome().is_exact() {
                return None;
            }
            let sets: Vec<Vec<f64>> = draws
                .iter()
                .map(|qs| {
                    touched
                        .iter()
                        .map(|&e| {
                            let c = owner[e as usize];
                            components[c].event_q(qs[c])
                        })
                        .collect()
                })
                .collect();
            let values = compiled
                .unavailability_sets(&touched, &sets)
                .iter()
                .map(|o| o.upper())
                .collect();
            Some(Spread::of(values))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::quantity::Duration;

    #[test]
    fn counts_give_the_jeffreys_posterior() {
        let p = Posterior::from_evidence(
            &Evidence::Counts {
                good: 990,
                total: 1000,
            },
            0.01,
            3600.0,
        );
        assert_eq!(
            p,
            Posterior {
                bad: 10.5,
                good: 990.5
            }
        );
    }

    #[test]
    fn a_duration_counts_as_d_over_two_tau_observations() {
        // 90 days, outages of 1 h: n = 90 × 24 / 2 = 1080 observations.
        let p = Posterior::from_evidence(
            &Evidence::Over(Duration::from_seconds(90.0 * 86400.0)),
            0.001,
            3600.0,
        );
        assert!((p.bad - (1.08 + 0.5)).abs() < 1e-9);
        assert!((p.good - (1078.92 + 0.5)).abs() < 1e-9);
    }

    #[test]
    fn draws_center_on_the_posterior_mean() {
        let p = Posterior {
            bad: 5.5,
            good: 1000.5,
        };
        let mut rng = block_rng(1, Stream::Posterior, 0);
        let m = (0..20_000).map(|_| p.draw(&mut rng)).sum::<f64>() / 20_000.0;
        assert!(
            (m - p.mean()).abs() < 0.03 * p.mean(),
            "{m} vs {}",
            p.mean()
        );
    }
}

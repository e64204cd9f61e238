//! How each basic event behaves in time: an alternating up/down renewal
//! process from its own availability and time scale, plus scheduled drains
//! for a domain with intrusive maintenance.

use crate::analysis::structure::{Event, Structure};
use crate::model::{Model, Own, OwnForm};

use super::sampling::Lifetime;

/// The mean repair time assumed for a component given only as an
/// availability, without `mttr`: one hour.
pub const DEFAULT_MTTR_SECONDS: f64 = 3600.0;

/// An alternating renewal process: up times and down times.
#[derive(Clone, Debug)]
pub struct Renewal {
    /// Probability of being down at a random instant: mean down / (mean up + mean down).
    pub q: f64,
    /// Times between failures.
    pub up: Lifetime,
    /// Repair times.
    pub down: Lifetime,
}

/// `maintenance intrusive every P for D`: down D out of every P.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Drain {
    /// Period P, seconds.
    pub every: f64,
    /// Length D, seconds.
    pub length: f64,
}

/// The time behaviour of one basic event.
#[derive(Clone, Debug, Default)]
pub struct EventTiming {
    /// Random failures, when it has any.
    pub renewal: Option<Renewal>,
    /// Scheduled drains, for a domain with intrusive maintenance.
    pub drain: Option<Drain>,
    /// Mean repair time, seconds (the time scale), when it has failures.
    pub mean_down: Option<f64>,
}

/// Where a component's time scale came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeScale {
    /// `mtbf` + `mttr`, `incidents`, or `mttr` beside `availability`.
    Given,
    /// Only an availability: the default mean repair time was assumed.
    Assumed,
    /// Never fails on its own.
    None,
}

/// The mean down time of a component and where it came from.
pub fn time_scale(own: &Own, default_mttr: f64) -> (Option<f64>, TimeScale) {
    if own.down <= 0.0 {
        return (None, TimeScale::None);
    }
    match (&own.form, own.mttr) {
        (OwnForm::MtbfMttr { mttr, .. }, _) => (Some(mttr.seconds), TimeScale::Given),
        (_, Some(d)) => (Some(d.seconds), TimeScale::Given),
        _ => (Some(default_mttr), TimeScale::Assumed),
    }
}

/// The renewal process of a component with probability `q` of being down and
/// mean down time `mean_down`: the mean up time keeps q = down / (up + down).
pub fn renewal(own: &Own, q: f64, mean_down: f64) -> Option<Renewal> {
    let usable = q > 0.0 && mean_down > 0.0 && mean_down.is_finite();
    if !usable {
        return None;
    }
    let q = q.min(1.0 - 1e-12);
    let mean_up = match own.form {
        OwnForm::MtbfMttr { mtbf, .. } if q == own.down => mtbf.seconds,
        _ => mean_down * (1.0 - q) / q,
    };
    Some(Renewal {
        q,
        up: Lifetime::new(own.failures, mean_up),
        down: Lifetime::new(own.repairs, mean_down),
    })
}

/// The timing of every basic event of `structure`, and the names of the
/// components whose time scale was assumed.
pub fn event_timings(
    model: &Model,
    structure: &Structure,
    default_mttr: f64,
) -> (Vec<EventTiming>, Vec<String>) {
    let mut assumed = Vec::new();
    let mut timings = Vec::with_capacity(structure.events.len());
    for event in &structure.events {
        let (own, drain, name) = match *event {
            Event::Domain(d) => {
                let domain = model.domain(d);
                let drain = domain.maintenance.map(|m| Drain {
                    every: m.every.seconds,
                    length: m.duration.seconds,
                });
                (&domain.own, drain, format!("domain {}", domain.name))
            }
            Event::Instance(s, _) => {
                let service = model.service(s);
                (&service.own, None, service.name.clone())
            }
        };
        let (mean_down, scale) = time_scale(own, default_mttr);
        if scale == TimeScale::Assumed && !assumed.contains(&name) {
            assumed.push(name);
        }
        timings.push(EventTiming {
            renewal: mean_down.and_then(|d| renewal(own, own.down, d)),
            drain,
            mean_down,
        });
    }
    (timings, assumed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load::load_text;

    #[test]
    fn time_scales_come_from_the_spec_or_the_default() {
        let text = "domain zone z { availability 99.99% maintenance intrusive every 30d for 1h }\n\
                    service a { mtbf 30d mttr 10m placed in z }\n\
                    service b { availability 99.9% mttr 5m placed in z }\n\
                    service c { availability 99.9% placed in z }\n";
        let loaded = load_text("t.nines", text.to_string());
        let model = loaded.model.expect("model");
        let structure = Structure::build(&model);
        let (timings, assumed) = event_timings(&model, &structure, 7200.0);
        assert_eq!(assumed, vec!["domain z".to_string(), "c".to_string()]);
        let by_name = |n: &str| {
            let id = model.service_named(n).expect("service");
            let e = structure.instance_events[id.0 as usize][0] as usize;
            timings[e].clone()
        };
        let a = by_name("a");
        let r = a.renewal.expect("renewal");
        assert!((r.up.mean() - 30.0 * 86400.0).abs() < 1e-6);
        assert!((r.down.mean() - 600.0).abs() < 1e-9);
        let b = by_name("b").renewal.expect("renewal");
        assert!((b.down.mean() - 300.0).abs() < 1e-9);
        assert!((b.up.mean() - 300.0 * 0.999 / 0.001).abs() < 1e-3);
        let c = by_name("c");
        assert_eq!(c.mean_down, Some(7200.0));
        let z = structure.domain_events[0].expect("domain event") as usize;
        assert_eq!(
            timings[z].drain,
            Some(Drain {
                every: 30.0 * 86400.0,
                length: 3600.0
            })
        );
    }
}

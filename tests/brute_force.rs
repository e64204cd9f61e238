//! The calculator against brute force: random small models are written as
//! nines text, loaded with `load_text`, analyzed, and every service's
//! unavailability, budget consumers, single and double points of failure are
//! compared with an independent enumeration of all 2^n states of the basic
//! events, using the semantics of "What the numbers mean" (language.md):
//!
//! - basic events: each domain that can fail (own availability, times
//!   `1 - D/P` for intrusive maintenance), each instance of each service that
//!   is not perfect on its own;
//! - an instance is up when its own component and its domain chain are up;
//! - a service is up when at least `need` of its instances are up and every
//!   `requires` target / `any(...)` / `k of (...)` group holds; `uses` never
//!   counts.
//!
//! Nothing here calls nines to compute a number: the enumerator only shares
//! the generated description with the spec text.
//!
//! `PROPTEST_CASES` sets the number of random models (default 1000).

use std::collections::BTreeSet;

use nines::analysis::{analyze, Component, Detail, Options};
use nines::model::{DomainId, Model, ServiceId};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

const MAX_EVENTS: usize = 16;
const YEAR: f64 = 365.0 * 86400.0;

// ---------------------------------------------------------------- generation

/// SplitMix64: the generator behind every random choice of one model.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    /// `count` distinct values below `n`, in random order.
    fn distinct(&mut self, n: usize, count: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            all.swap(i, self.below(i + 1));
        }
        all.truncate(count);
        all
    }
}

/// An own-availability form: its text and its probability of being down,
/// computed here from the numbers written.
#[derive(Clone, Debug)]
struct Own {
    text: String,
    q: f64,
}

fn random_own(rng: &mut Rng) -> Own {
    match rng.below(10) {
        0..=6 => {
            const AVAILABILITIES: [(&str, f64); 10] = [
                ("50%", 0.5),
                ("75%", 0.25),
                ("90%", 0.1),
                ("99%", 0.01),
                ("99.5%", 0.005),
                ("99.9%", 0.001),
                ("99.95%", 0.0005),
                ("99.99%", 0.0001),
                ("2 nines", 0.01),
                ("3 nines", 0.001),
            ];
            let (text, q) = AVAILABILITIES[rng.below(AVAILABILITIES.len())];
            Own {
                text: format!("availability {text}"),
                q,
            }
        }
        7 | 8 => {
            // mtbf M mttr R: down = R / (M + R).
            let mtbf = [
                (10.0 * 3600.0, "10h"),
                (100.0 * 3600.0, "100h"),
                (30.0 * 86400.0, "30d"),
            ][rng.below(3)];
            let mttr = [(3600.0, "1h"), (600.0, "10m"), (7200.0, "2h")][rng.below(3)];
            Own {
                text: format!("mtbf {} mttr {}", mtbf.1, mttr.1),
                q: mttr.0 / (mtbf.0 + mttr.0),
            }
        }
        _ => {
            // incidents F/y detect D mitigate M: down = F × (D + M) / year.
            let f = [2.0, 4.0, 12.0, 50.0][rng.below(4)];
            let d = [5.0, 10.0][rng.below(2)];
            let m = [20.0, 30.0, 60.0][rng.below(3)];
            Own {
                text: format!("incidents {f}/y detect {d}m mitigate {m}m"),
                q: f * (d + m) * 60.0 / YEAR,
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Dom {
    parent: Option<usize>,
    own: Option<Own>,
    /// (every days, for hours)
    maintenance: Option<(u32, u32)>,
}

impl Dom {
    /// Probability that this domain alone is down: 1 - (1 - own)(1 - D/P).
    fn q(&self) -> f64 {
        let own = self.own.as_ref().map_or(0.0, |o| o.q);
        let m = self
            .maintenance
            .map_or(0.0, |(every, hours)| hours as f64 / (every as f64 * 24.0));
        1.0 - (1.0 - own) * (1.0 - m)
    }
}

#[derive(Clone, Debug)]
enum Place {
    Nowhere,
    In(usize),
    Across(Vec<usize>),
}

#[derive(Clone, Debug)]
enum Req {
    Service(usize),
    AtLeast { k: usize, any: bool, of: Vec<Req> },
}

#[derive(Clone, Debug)]
struct Svc {
    own: Option<Own>,
    /// `None`: no `replicas` clause (one instance, need 1).
    replicas: Option<(usize, Option<usize>)>,
    place: Place,
    /// Clauses of `requires`, each a list of entries.
    requires: Vec<Vec<Req>>,
    uses: Vec<usize>,
}

impl Svc {
    fn count(&self) -> usize {
        self.replicas.map_or(1, |(n, _)| n)
    }
    fn need(&self) -> usize {
        self.replicas.and_then(|(_, k)| k).unwrap_or(1)
    }
    fn q(&self) -> f64 {
        self.own.as_ref().map_or(0.0, |o| o.q)
    }
    /// The domain of instance `i` (round-robin over `across`).
    fn domain_of(&self, i: usize) -> Option<usize> {
        match &self.place {
            Place::Nowhere => None,
            Place::In(d) => Some(*d),
            Place::Across(ds) => Some(ds[i % ds.len()]),
        }
    }
}

#[derive(Clone, Debug)]
struct Desc {
    domains: Vec<Dom>,
    services: Vec<Svc>,
    /// Declaration order of domains and services in the text.
    domain_order: Vec<usize>,
    service_order: Vec<usize>,
}

fn random_group(rng: &mut Rng, below: usize, depth: u32) -> Req {
    let n = 2 + rng.below(2.min(below - 1));
    let members = rng.distinct(below, n.min(below));
    let of: Vec<Req> = members
        .into_iter()
        .map(|m| {
            if depth == 0 && below >= 3 && rng.chance(0.15) {
                random_group(rng, below, depth + 1)
            } else {
                Req::Service(m)
            }
        })
        .collect();
    if rng.chance(0.5) {
        Req::AtLeast {
            k: 1,
            any: true,
            of,
        }
    } else {
        let k = 1 + rng.below(of.len());
        Req::AtLeast { k, any: false, of }
    }
}

fn random_desc(rng: &mut Rng) -> Desc {
    let nd = rng.below(6);
    let domains: Vec<Dom> = (0..nd)
        .map(|i| Dom {
            parent: (i > 0 && rng.chance(0.5)).then(|| rng.below(i)),
            own: (!rng.chance(0.2)).then(|| random_own(rng)),
            maintenance: rng
                .chance(0.25)
                .then(|| ([1u32, 7, 90][rng.below(3)], [1u32, 4, 12][rng.below(3)])),
        })
        .collect();
    let ns = 1 + rng.below(7);
    let mut services = Vec::with_capacity(ns);
    for j in 0..ns {
        let own = (!rng.chance(0.15)).then(|| random_own(rng));
        let replicas = if rng.chance(0.4) {
            None
        } else {
            let n = 1 + rng.below(4);
            let k = (!rng.chance(0.3)).then(|| 1 + rng.below(n));
            Some((n, k))
        };
        let place = if nd == 0 || rng.chance(0.3) {
            Place::Nowhere
        } else if replicas.is_some() && rng.chance(0.6) {
            let m = 1 + rng.below(3.min(nd));
            Place::Across(rng.distinct(nd, m))
        } else {
            Place::In(rng.below(nd))
        };
        let mut requires = Vec::new();
        if j > 0 {
            let entries = rng.below(4);
            let mut plain: Vec<usize> = rng.distinct(j, entries);
            let mut clause = Vec::new();
            for _ in 0..entries {
                if j >= 2 && rng.chance(0.4) {
                    clause.push(random_group(rng, j, 0));
                } else if let Some(s) = plain.pop() {
                    clause.push(Req::Service(s));
                }
            }
            if clause.len() >= 2 && rng.chance(0.3) {
                let rest = clause.split_off(1);
                requires.push(clause);
                requires.push(rest);
            } else if !clause.is_empty() {
                requires.push(clause);
            }
        }
        let uses = if j > 0 && rng.chance(0.25) {
            vec![rng.below(j)]
        } else {
            Vec::new()
        };
        services.push(Svc {
            own,
            replicas,
            place,
            requires,
            uses,
        });
    }
    let domain_order = rng.distinct(nd, nd);
    let service_order = rng.distinct(ns, ns);
    Desc {
        domains,
        services,
        domain_order,
        service_order,
    }
}

impl Desc {
    fn event_count(&self) -> usize {
        self.domains.iter().filter(|d| d.q() > 0.0).count()
            + self
                .services
                .iter()
                .filter(|s| s.q() > 0.0)
                .map(|s| s.count())
                .sum::<usize>()
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for &i in &self.domain_order {
            let d = &self.domains[i];
            out.push_str(&format!("domain zone d{i}"));
            if let Some(p) = d.parent {
                out.push_str(&format!(" in d{p}"));
            }
            let mut body = Vec::new();
            if let Some(o) = &d.own {
                body.push(o.text.clone());
            }
            if let Some((every, hours)) = d.maintenance {
                body.push(format!("maintenance intrusive every {every}d for {hours}h"));
            }
            if !body.is_empty() {
                out.push_str(&format!(" {{ {} }}", body.join("\n  ")));
            }
            out.push('\n');
        }
        for &j in &self.service_order {
            let s = &self.services[j];
            let mut body = Vec::new();
            if let Some(o) = &s.own {
                body.push(o.text.clone());
            }
            let across = match &s.place {
                Place::Across(ds) => Some(
                    ds.iter()
                        .map(|d| format!("d{d}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                _ => None,
            };
            if let Some((n, k)) = s.replicas {
                let mut r = format!("replicas {n}");
                if let Some(k) = k {
                    r.push_str(&format!(" need {k}"));
                }
                if let Some(a) = &across {
                    r.push_str(&format!(" across {a}"));
                }
                body.push(r);
            }
            if let Place::In(d) = s.place {
                body.push(format!("placed in d{d}"));
            }
            for clause in &s.requires {
                let entries: Vec<String> = clause.iter().map(req_text).collect();
                body.push(format!("requires {}", entries.join(", ")));
            }
            for u in &s.uses {
                body.push(format!("uses s{u}"));
            }
            out.push_str(&format!("service s{j} {{\n  {}\n}}\n", body.join("\n  ")));
        }
        out
    }
}

fn req_text(r: &Req) -> String {
    match r {
        Req::Service(s) => format!("s{s}"),
        Req::AtLeast { k, any, of } => {
            let members: Vec<String> = of.iter().map(req_text).collect();
            if *any {
                format!("any({})", members.join(", "))
            } else {
                format!("{k} of ({})", members.join(", "))
            }
        }
    }
}

// ---------------------------------------------------------------- brute force

/// A basic event of the enumeration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ev {
    Domain(usize),
    Instance(usize, usize),
}

struct Brute<'a> {
    desc: &'a Desc,
    events: Vec<Ev>,
    q: Vec<f64>,
    domain_event: Vec<Option<usize>>,
    instance_events: Vec<Vec<Option<usize>>>,
}

impl<'a> Brute<'a> {
    fn new(desc: &'a Desc) -> Self {
        let mut events = Vec::new();
        let mut q = Vec::new();
        let mut domain_event = Vec::new();
        for (i, d) in desc.domains.iter().enumerate() {
            if d.q() > 0.0 {
                domain_event.push(Some(events.len()));
                events.push(Ev::Domain(i));
                q.push(d.q());
            } else {
                domain_event.push(None);
            }
        }
        let mut instance_events = Vec::new();
        for (j, s) in desc.services.iter().enumerate() {
            let mut evs = Vec::new();
            for i in 0..s.count() {
                if s.q() > 0.0 {
                    evs.push(Some(events.len()));
                    events.push(Ev::Instance(j, i));
                    q.push(s.q());
                } else {
                    evs.push(None);
                }
            }
            instance_events.push(evs);
        }
        Brute {
            desc,
            events,
            q,
            domain_event,
            instance_events,
        }
    }

    /// Which services are up when exactly the events in `down` are down.
    fn up(&self, down: &[bool]) -> Vec<bool> {
        let is_down = |e: Option<usize>| e.is_some_and(|e| down[e]);
        let mut dom_up = vec![true; self.desc.domains.len()];
        for (i, d) in self.desc.domains.iter().enumerate() {
            // Parents have smaller indices.
            dom_up[i] = !is_down(self.domain_event[i]) && d.parent.is_none_or(|p| dom_up[p]);
        }
        let mut up = vec![false; self.desc.services.len()];
        for (j, s) in self.desc.services.iter().enumerate() {
            let instances_up = (0..s.count())
                .filter(|&i| {
                    !is_down(self.instance_events[j][i]) && s.domain_of(i).is_none_or(|d| dom_up[d])
                })
                .count();
            up[j] = instances_up >= s.need() && s.requires.iter().flatten().all(|r| holds(r, &up));
        }
        up
    }

    /// Exact unavailability of every service, as a compensated sum of the
    /// probabilities of its down states; and, for each group of events in
    /// `components`, the downtime that would vanish were those events never
    /// down: the probability of the states in which the service is down but
    /// would be up with the group's events up (a sum of non-negative terms,
    /// since the structure is monotone: no subtraction).
    fn enumerate(&self, components: &[Vec<usize>]) -> (Vec<f64>, Vec<Vec<f64>>) {
        let q = &self.q;
        let ns = self.desc.services.len();
        // Bit e of a state: event e is down. Bit j of `downs[state]`: service
        // j is down in that state.
        let states = 1usize << q.len();
        let mut downs = vec![0u32; states];
        let mut down = vec![false; q.len()];
        for (state, bits) in downs.iter_mut().enumerate() {
            for (e, d) in down.iter_mut().enumerate() {
                *d = state >> e & 1 == 1;
            }
            for (j, u) in self.up(&down).into_iter().enumerate() {
                if !u {
                    *bits |= 1 << j;
                }
            }
        }
        let masks: Vec<usize> = components
            .iter()
            .map(|events| events.iter().fold(0, |m, &e| m | 1 << e))
            .collect();
        let mut total = vec![Sum::default(); ns];
        let mut reduction = vec![vec![Sum::default(); ns]; components.len()];
        for (state, &bits) in downs.iter().enumerate() {
            if bits == 0 {
                continue;
            }
            let p: f64 = q
                .iter()
                .enumerate()
                .map(|(e, &q)| if state >> e & 1 == 1 { q } else { 1.0 - q })
                .product();
            for (j, t) in total.iter_mut().enumerate() {
                if bits >> j & 1 == 1 {
                    t.add(p);
                }
            }
            for (c, &mask) in masks.iter().enumerate() {
                // Down now, up with the component's events repaired.
                let saved = bits & !downs[state & !mask];
                for (j, r) in reduction[c].iter_mut().enumerate() {
                    if saved >> j & 1 == 1 {
                        r.add(p);
                    }
                }
            }
        }
        (
            total.iter().map(Sum::value).collect(),
            reduction
                .iter()
                .map(|r| r.iter().map(Sum::value).collect())
                .collect(),
        )
    }
}

/// Neumaier's compensated sum: 2^16 terms keep their full precision.
#[derive(Clone, Copy, Default)]
struct Sum {
    sum: f64,
    carry: f64,
}

impl Sum {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.carry += (self.sum - t) + x;
        } else {
            self.carry += (x - t) + self.sum;
        }
        self.sum = t;
    }
    fn value(&self) -> f64 {
        self.sum + self.carry
    }
}

fn holds(r: &Req, up: &[bool]) -> bool {
    match r {
        Req::Service(s) => up[*s],
        Req::AtLeast { k, of, .. } => of.iter().filter(|m| holds(m, up)).count() >= *k,
    }
}

// ---------------------------------------------------------------- comparison

fn close(a: f64, b: f64) -> bool {
    let diff = (a - b).abs();
    diff <= 1e-12 * a.abs().max(b.abs()) || diff <= 1e-15
}

fn load(text: &str) -> Model {
    let loaded = nines::model::load::load_text("random.nines", text.to_string());
    assert!(
        !loaded.has_errors(),
        "spec rejected:\n{text}\n{:#?}",
        loaded.diagnostics
    );
    loaded.model.expect("a model")
}

/// Checks one description against the calculator; panics with the spec text.
fn check(desc: &Desc) {
    let text = desc.text();
    let model = load(&text);
    let analysis = analyze(
        &model,
        &Options {
            detail: Detail::All,
            ..Default::default()
        },
    );
    let brute = Brute::new(desc);
    assert_eq!(
        analysis.event_count,
        brute.events.len(),
        "event count\n{text}"
    );
    let window = model.window.seconds;
    let sid = |j: usize| model.service_named(&format!("s{j}")).expect("service");
    let did = |i: usize| {
        DomainId(
            model
                .domains
                .iter()
                .position(|d| d.name == format!("d{i}"))
                .expect("domain") as u32,
        )
    };

    // Components, for consumers: each domain that can fail, each service
    // that is not perfect (all of its instances at once).
    let mut components: Vec<(Component, Vec<usize>)> = Vec::new();
    for (i, e) in brute.domain_event.iter().enumerate() {
        if let Some(e) = e {
            components.push((Component::Domain(did(i)), vec![*e]));
        }
    }
    for (j, evs) in brute.instance_events.iter().enumerate() {
        let evs: Vec<usize> = evs.iter().flatten().copied().collect();
        if !evs.is_empty() {
            components.push((Component::Service(sid(j)), evs));
        }
    }
    let groups: Vec<Vec<usize>> = components.iter().map(|(_, evs)| evs.clone()).collect();
    let (truth, reductions) = brute.enumerate(&groups);

    // The component of one event, as the calculator names it.
    let component_of = |e: usize| match brute.events[e] {
        Ev::Domain(i) => Component::Domain(did(i)),
        Ev::Instance(j, i) => {
            if desc.services[j].count() == 1 {
                Component::Service(sid(j))
            } else {
                Component::Instance(sid(j), i as u32)
            }
        }
    };
    let event_of = |c: &Component| -> usize {
        (0..brute.events.len())
            .find(|&e| component_of(e) == *c)
            .expect("component of an event")
    };
    let n = brute.events.len();
    let down_with = |set: &[usize]| -> Vec<bool> {
        let mut down = vec![false; n];
        for &e in set {
            down[e] = true;
        }
        brute.up(&down)
    };
    let single: Vec<Vec<bool>> = (0..n).map(|e| down_with(&[e])).collect();

    for (j, &u) in truth.iter().enumerate() {
        let id = sid(j);
        let result = analysis.service(id);
        let got = match result.unavailability {
            nines::analysis::engine::Outcome::Exact(x) => x,
            other => panic!("s{j}: not exact: {other:?}\n{text}"),
        };
        assert!(
            close(got, u),
            "s{j}: calculator {got:e}, brute force {u:e}\n{text}"
        );
        assert!(result.detailed, "s{j}: no detail\n{text}");

        // Consumers: downtime that vanishes when the component is perfect.
        // The calculator may subtract two unavailabilities for a component
        // of several events, so the tolerance also scales with U.
        for (c, (component, _)) in components.iter().enumerate() {
            let reduction = reductions[c][j];
            let listed = result
                .consumers
                .iter()
                .find(|x| x.component == *component)
                .map_or(0.0, |x| x.downtime_seconds / window);
            let diff = (listed - reduction).abs();
            assert!(
                diff <= 1e-12 * reduction + 1e-14 * u + 1e-18,
                "s{j}: consumer {component:?}: calculator {listed:e}, brute force {reduction:e}\n{text}"
            );
            if let Some(x) = result.consumers.iter().find(|x| x.component == *component) {
                assert!(
                    (x.share - reduction / u).abs() <= 1e-9,
                    "s{j}: share of {component:?}\n{text}"
                );
            }
        }
        for x in &result.consumers {
            assert!(
                components.iter().any(|(c, _)| *c == x.component),
                "s{j}: unexpected consumer {:?}\n{text}",
                x.component
            );
        }
        assert!(
            result
                .consumers
                .windows(2)
                .all(|w| w[0].downtime_seconds >= w[1].downtime_seconds),
            "s{j}: consumers not sorted\n{text}"
        );

        // Single points of failure: one event down takes the service down.
        let expected: BTreeSet<Component> = (0..n)
            .filter(|&e| !single[e][j])
            .map(component_of)
            .collect();
        let got: BTreeSet<Component> = result.single_points_of_failure.iter().copied().collect();
        assert_eq!(got, expected, "s{j}: single points of failure\n{text}");
        assert_eq!(
            got.len(),
            result.single_points_of_failure.len(),
            "s{j}: repeated single point\n{text}"
        );

        // Double points of failure: each listed pair downs it, neither alone
        // does; when fewer than the most listed, every such pair is listed.
        let mut listed = BTreeSet::new();
        for (a, b) in &result.double_points_of_failure {
            let (ea, eb) = (event_of(a), event_of(b));
            assert!(
                single[ea][j] && single[eb][j] && !down_with(&[ea, eb])[j],
                "s{j}: ({a:?}, {b:?}) is not a double point\n{text}"
            );
            listed.insert((ea.min(eb), ea.max(eb)));
        }
        if result.double_points_of_failure.len() < Options::default().max_pairs {
            for a in 0..n {
                for b in a + 1..n {
                    if single[a][j] && single[b][j] && !down_with(&[a, b])[j] {
                        assert!(
                            listed.contains(&(a, b)),
                            "s{j}: pair ({:?}, {:?}) missing\n{text}",
                            component_of(a),
                            component_of(b)
                        );
                    }
                }
            }
        }

        // Budget: none without an SLO (the random models give none).
        assert!(result.budget.is_none());
    }
}

fn desc_from_seed(seed: u64) -> Desc {
    let mut rng = Rng(seed);
    loop {
        let desc = random_desc(&mut rng);
        if desc.event_count() <= MAX_EVENTS {
            return desc;
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_models_match_brute_force(seed in any::<u64>()) {
        check(&desc_from_seed(seed));
    }
}

/// The enumerator itself, on the tour's failover example: x, y each 99.9%
/// placed in d (99.99%), top requires any(x, y): 1 - 0.9999 (1 - 0.001²).
#[test]
fn enumerator_reproduces_the_tour_example() {
    let own = |text: &str, q: f64| {
        Some(Own {
            text: text.to_string(),
            q,
        })
    };
    let svc = |own: Option<Own>, place: Place, requires: Vec<Vec<Req>>| Svc {
        own,
        replicas: None,
        place,
        requires,
        uses: Vec::new(),
    };
    let desc = Desc {
        domains: vec![Dom {
            parent: None,
            own: own("availability 99.99%", 1e-4),
            maintenance: None,
        }],
        services: vec![
            svc(own("availability 99.9%", 1e-3), Place::In(0), vec![]),
            svc(own("availability 99.9%", 1e-3), Place::In(0), vec![]),
            svc(
                None,
                Place::Nowhere,
                vec![vec![Req::AtLeast {
                    k: 1,
                    any: true,
                    of: vec![Req::Service(0), Req::Service(1)],
                }]],
            ),
        ],
        domain_order: vec![0],
        service_order: vec![2, 0, 1],
    };
    let brute = Brute::new(&desc);
    let u = brute.enumerate(&[]).0;
    let expected = 1.0 - 0.9999 * (1.0 - 0.001 * 0.001);
    assert!((u[2] - expected).abs() < 1e-15, "{} vs {expected}", u[2]);
    check(&desc);
}

/// Model ids stay what the text says (a guard on the helpers above).
#[test]
fn service_ids_follow_declaration_order() {
    let desc = desc_from_seed(7);
    let model = load(&desc.text());
    for (k, &j) in desc.service_order.iter().enumerate() {
        assert_eq!(
            model.service_named(&format!("s{j}")),
            Some(ServiceId(k as u32))
        );
    }
}

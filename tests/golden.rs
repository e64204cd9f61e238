//! Hand-derived golden cases for the calculator. Each case states its
//! derivation in a comment and computes the expected value in the test from a
//! closed form written out here (never by calling nines), using the semantics
//! of "What the numbers mean" (design/language.md): independent basic events,
//! an instance is up when its own component and its domain chain are up, a
//! service is up when `need` instances are up and every requirement holds.
//!
//! Unavailabilities are compared to 1e-12 relative.

use nines::analysis::engine::Outcome;
use nines::analysis::{analyze, Analysis, Component, Detail, Options};
use nines::model::{DomainId, Model, ServiceId};

const DAY: f64 = 86400.0;
const YEAR: f64 = 365.0 * DAY;

fn load(text: &str) -> Model {
    let loaded = nines::model::load::load_text("golden.nines", text.to_string());
    assert!(
        !loaded.has_errors(),
        "spec rejected:\n{text}\n{:#?}",
        loaded.diagnostics
    );
    loaded.model.expect("a model")
}

fn run(text: &str) -> (Model, Analysis) {
    let model = load(text);
    let analysis = analyze(
        &model,
        &Options {
            detail: Detail::All,
            ..Default::default()
        },
    );
    (model, analysis)
}

fn sid(model: &Model, name: &str) -> ServiceId {
    model
        .service_named(name)
        .unwrap_or_else(|| panic!("no service {name}"))
}

fn did(model: &Model, name: &str) -> DomainId {
    DomainId(
        model
            .domains
            .iter()
            .position(|d| d.name == name)
            .unwrap_or_else(|| panic!("no domain {name}")) as u32,
    )
}

/// The exact unavailability of a service.
fn unavail(model: &Model, analysis: &Analysis, name: &str) -> f64 {
    match analysis.service(sid(model, name)).unavailability {
        Outcome::Exact(u) => u,
        other => panic!("{name}: not exact: {other:?}"),
    }
}

#[track_caller]
fn assert_rel(got: f64, expected: f64, what: &str) {
    let tol = 1e-12 * expected.abs().max(got.abs());
    assert!(
        (got - expected).abs() <= tol,
        "{what}: got {got:e}, expected {expected:e} (diff {:e})",
        (got - expected).abs()
    );
}

/// 1 - Π(1 - q_i), expanded so nothing is subtracted from 1:
/// U_{k} = U_{k-1} + q_k (1 - U_{k-1}).
fn series(qs: &[f64]) -> f64 {
    qs.iter().fold(0.0, |u, &q| u + q * (1.0 - u))
}

#[test]
fn series_chain() {
    // c requires b, b requires a, no domains: c is up when the three own
    // components are up, so A_c = 0.999 × 0.9995 × 0.9999 and
    // U_c = 1 - A_c = q_a + q_b + q_c - q_a q_b - q_a q_c - q_b q_c + q_a q_b q_c.
    let (m, a) = run("
        service a { availability 99.9% }
        service b { availability 99.95% requires a }
        service c { availability 99.99% requires b }
    ");
    let (qa, qb, qc) = (1e-3, 5e-4, 1e-4);
    let inclusion_exclusion = qa + qb + qc - qa * qb - qa * qc - qb * qc + qa * qb * qc;
    assert_rel(unavail(&m, &a, "a"), qa, "a");
    assert_rel(unavail(&m, &a, "b"), qa + qb - qa * qb, "b");
    assert_rel(unavail(&m, &a, "c"), inclusion_exclusion, "c");
    assert_rel(
        series(&[qa, qb, qc]),
        inclusion_exclusion,
        "closed forms agree",
    );
}

#[test]
fn diamond_counts_shared_dependency_once() {
    // a requires b, c; b and c both require d. a is up iff a, b, c, d are all
    // up (d once): A_a = A_a' A_b' A_c' A_d' with primes the own parts.
    // Counting d twice (a product of the composed parts) would give
    // (1-q_a)(1-q_b)(1-q_d)(1-q_c)(1-q_d): wrong by ≈ q_d.
    let (m, a) = run("
        service d { availability 99.99% }
        service b { availability 99% requires d }
        service c { availability 99.5% requires d }
        service a { availability 99.9% requires b, c }
    ");
    let (qa, qb, qc, qd) = (1e-3, 1e-2, 5e-3, 1e-4);
    let expected = series(&[qa, qb, qc, qd]);
    assert_rel(unavail(&m, &a, "a"), expected, "diamond");
    let product_of_parts = series(&[qa, series(&[qb, qd]), series(&[qc, qd])]);
    assert!((unavail(&m, &a, "a") - product_of_parts).abs() > 0.5 * qd * (1.0 - expected));
}

#[test]
fn failover_tour_example_shared_domain() {
    // The tour: x, y each 99.9% placed in d (99.99%); top (100%) requires
    // any(x, y). top is up iff d is up and not both x and y are down:
    // A = 0.9999 × (1 - 0.001²) = 0.9998990001; U = q_d + (1 - q_d) q_x q_y.
    let (m, a) = run("
        domain datacenter d { availability 99.99% }
        service x { availability 99.9% placed in d }
        service y { availability 99.9% placed in d }
        service top { availability 100% requires any(x, y) }
    ");
    let (qd, qx) = (1e-4, 1e-3);
    let u = unavail(&m, &a, "top");
    assert_rel(u, qd + (1.0 - qd) * qx * qx, "top");
    assert_rel(1.0 - u, 0.9998990001, "composed");
    // Each of x, y alone: d and its own part in series.
    assert_rel(unavail(&m, &a, "x"), qd + qx - qd * qx, "x");
    // Not the product of the parts: 1 - (1 - 0.9989001)^2 ≈ 1.2e-6.
    let naive = (1.0 - 0.9989001f64).powi(2);
    assert!(u > 50.0 * naive);
}

#[test]
fn failover_over_shared_store() {
    // x, y each require store (99.95%); top requires any(x, y):
    // top is up iff the store is up and x or y is up:
    // U = q_s + (1 - q_s) q_x q_y, with x 99.9% and y 99%.
    let (m, a) = run("
        service store { availability 99.95% }
        service x { availability 99.9% requires store }
        service y { availability 99% requires store }
        service top { requires any(x, y) }
    ");
    let (qs, qx, qy) = (5e-4, 1e-3, 1e-2);
    assert_rel(unavail(&m, &a, "top"), qs + (1.0 - qs) * qx * qy, "top");
}

/// P(fewer than `need` of `m` independent instances up), each down with `q`:
/// Σ_{j < need} C(m, j) (1-q)^j q^(m-j).
fn fewer_than(m: u32, need: u32, q: f64) -> f64 {
    let choose = |n: u32, k: u32| (0..k).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64);
    (0..need.min(m + 1))
        .map(|j| choose(m, j) * (1.0 - q).powi(j as i32) * q.powi((m - j) as i32))
        .sum::<f64>()
}

#[test]
fn quorum_across_datacenters() {
    // replicas 5 need 3 across dc-a, dc-b, dc-c: instances 1, 4 in dc-a,
    // 2, 5 in dc-b, 3 in dc-c. Condition on the datacenters: with the set of
    // datacenters up, m = 2[a] + 2[b] + [c] instances can be up, each with
    // probability 1 - q (q = 0.001); the service is down when fewer than 3 are:
    // U = Σ_{states of a, b, c} P(state) · P(Bin(m, 1 - q) < 3).
    // States with m < 3 (at most one of a, b up and c down, or only c...) are
    // down for sure.
    let (m, a) = run("
        domain datacenter dc-a { availability 99.98% }
        domain datacenter dc-b { availability 99.99% }
        domain datacenter dc-c { availability 99.95% }
        service chubby {
          availability 99.9%
          replicas 5 need 3 across dc-a, dc-b, dc-c
        }
    ");
    let (qa, qb, qc, q) = (2e-4, 1e-4, 5e-4, 1e-3);
    let mut expected = 0.0;
    for (ua, ub, uc) in [
        (true, true, true),
        (true, true, false),
        (true, false, true),
        (false, true, true),
        (true, false, false),
        (false, true, false),
        (false, false, true),
        (false, false, false),
    ] {
        let p = |up: bool, q: f64| if up { 1.0 - q } else { q };
        let state = p(ua, qa) * p(ub, qb) * p(uc, qc);
        let slots = 2 * ua as u32 + 2 * ub as u32 + uc as u32;
        expected += state * fewer_than(slots, 3, q);
    }
    // Written out, the leading terms: all up: P(Bin(5) < 3) ≈ 10 q³;
    // c down: P(Bin(4) < 3) ≈ 4 q² ... ; a or b down: P(Bin(3) < 3) ≈ 3 q.
    assert_rel(unavail(&m, &a, "chubby"), expected, "quorum");
    // The round-robin dealing matters: dc-a holds instances 1 and 4, so it
    // and dc-b (2 and 5) each have double weight, dc-c single.
    assert_eq!(
        m.service(sid(&m, "chubby")).instances,
        vec![
            Some(did(&m, "dc-a")),
            Some(did(&m, "dc-b")),
            Some(did(&m, "dc-c")),
            Some(did(&m, "dc-a")),
            Some(did(&m, "dc-b")),
        ]
    );
}

#[test]
fn nested_domains() {
    // rack in dc in region: a service placed in rack is up iff its own part,
    // the rack, the dc and the region are up. t is placed in dc; u requires
    // s and t: the dc and the region are shared, counted once:
    // U_u = 1 - A_r A_dc A_rack A_s A_t.
    let (m, a) = run("
        domain region r { availability 99.999% }
        domain datacenter dc in r { availability 99.98% }
        domain rack rk in dc { availability 99.9% }
        service s { availability 99.99% placed in rk }
        service t { availability 99.95% placed in dc }
        service u { requires s, t }
    ");
    let (qr, qdc, qrk, qs, qt) = (1e-5, 2e-4, 1e-3, 1e-4, 5e-4);
    assert_rel(unavail(&m, &a, "s"), series(&[qr, qdc, qrk, qs]), "s");
    assert_rel(unavail(&m, &a, "t"), series(&[qr, qdc, qt]), "t");
    assert_rel(unavail(&m, &a, "u"), series(&[qr, qdc, qrk, qs, qt]), "u");
}

#[test]
fn intrusive_maintenance() {
    // The dc is down from its own failures (1e-4) or a 4h drain every 90d:
    // q = 1 - (1 - 1e-4)(1 - 4h/90d) = own + m - own·m, m = 4/(90·24).
    // A perfect service placed in it has exactly that unavailability; a child
    // domain inherits it.
    let (m, a) = run("
        domain datacenter dc {
          availability 99.99%
          maintenance intrusive every 90d for 4h
        }
        domain rack rk in dc { maintenance intrusive every 7d for 1h }
        domain rack calm in dc { maintenance in-place }
        service s { placed in dc }
        service t { placed in rk }
        service v { placed in calm }
    ");
    let own = 1e-4;
    let drain = 4.0 / (90.0 * 24.0);
    let q_dc = own + drain - own * drain;
    let q_rk = 1.0 / (7.0 * 24.0);
    assert_rel(unavail(&m, &a, "s"), q_dc, "dc");
    assert_rel(unavail(&m, &a, "t"), q_dc + q_rk - q_dc * q_rk, "rack");
    assert_rel(
        unavail(&m, &a, "v"),
        q_dc,
        "in-place maintenance costs nothing",
    );
}

#[test]
fn mtbf_mttr() {
    // mtbf 30d mttr 10m: U = mttr / (mtbf + mttr) = 600 / (2592000 + 600);
    // the documentation's worked value is 99.977%.
    let (m, a) = run("service s { mtbf 30d mttr 10m }");
    let u = unavail(&m, &a, "s");
    assert_rel(u, 600.0 / (30.0 * DAY + 600.0), "mtbf/mttr");
    assert_eq!(format!("{:.3}", 100.0 * (1.0 - u)), "99.977");
}

#[test]
fn incidents_form() {
    // incidents 4/y detect 5m mitigate 20m: U = 4 × (5m + 20m) / year
    // = 6000 s / 31536000 s; 100 minutes a year, 99.981%.
    let (m, a) = run("service s { incidents 4/y detect 5m mitigate 20m }");
    let u = unavail(&m, &a, "s");
    assert_rel(u, 4.0 * 25.0 * 60.0 / YEAR, "incidents");
    assert_rel(u * YEAR / 60.0, 100.0, "minutes a year");
    assert_eq!(format!("{:.3}", 100.0 * (1.0 - u)), "99.981");
}

#[test]
fn budgets_over_30d_and_28d() {
    // slo 99.95%, own 99.99%, alone:
    // budget = (1 - slo) × window, downtime = U × window, slack = budget - downtime.
    // 30d = 2592000 s: budget 1296 s (21.6 min), downtime 259.2 s, slack 1036.8 s.
    // 28d = 2419200 s: budget 1209.6 s, downtime 241.92 s, slack 967.68 s.
    for (window, days) in [("", 30.0), ("window 30d", 30.0), ("window 28d", 28.0)] {
        let text = format!("{window}\nservice s {{ slo 99.95% availability 99.99% }}\nservice n {{ availability 99% }}");
        let (m, a) = run(&text);
        let seconds = days * DAY;
        assert_rel(a.window_seconds, seconds, "window");
        let budget = a.service(sid(&m, "s")).budget.expect("a budget");
        assert_rel(budget.budget_seconds, 5e-4 * seconds, "budget");
        assert_rel(budget.expected_downtime_seconds, 1e-4 * seconds, "downtime");
        assert_rel(budget.slack_seconds, 4e-4 * seconds, "slack");
        assert!(
            a.service(sid(&m, "n")).budget.is_none(),
            "no SLO, no budget"
        );
    }
    let (m, a) = run("service s { slo 99.95% availability 99.99% }");
    let b = a.service(sid(&m, "s")).budget.unwrap();
    assert_rel(b.budget_seconds, 1296.0, "21.6 min");
    assert_rel(b.expected_downtime_seconds, 259.2, "downtime 30d");
    assert_rel(b.slack_seconds, 1036.8, "slack 30d");
    // Overrun: slo 99.99% with own 99.9% over 28d: slack = (1e-4 - 1e-3) × 2419200 = -2177.28 s.
    let (m, a) = run("window 28d\nservice s { slo 99.99% availability 99.9% }");
    let b = a.service(sid(&m, "s")).budget.unwrap();
    assert_rel(b.budget_seconds, 241.92, "budget 28d");
    assert_rel(b.expected_downtime_seconds, 2419.2, "downtime 28d");
    assert_rel(b.slack_seconds, -2177.28, "negative slack");
}

#[test]
fn consumers_series_and_failover() {
    // top requires a, b; a (99.9%) placed in dc (99.95%); b 99.99%, no domain.
    // U = 1 - (1-q_d)(1-q_a)(1-q_b). Making one component perfect removes
    // its factor, so the downtime it consumes is
    //   dc: q_d (1-q_a)(1-q_b), a: q_a (1-q_d)(1-q_b), b: q_b (1-q_d)(1-q_a),
    // times the window (30d). Largest first: a, dc, b.
    let (m, a) = run("
        domain datacenter dc { availability 99.95% }
        service a { availability 99.9% placed in dc }
        service b { availability 99.99% }
        service top { requires a, b }
        service x { availability 99% placed in dc }
        service y { availability 99.5% placed in dc }
        service pair { requires any(x, y) }
    ");
    let w = 30.0 * DAY;
    let (qd, qa, qb) = (5e-4, 1e-3, 1e-4);
    let u = series(&[qd, qa, qb]);
    let top = a.service(sid(&m, "top"));
    let expected = [
        (
            Component::Service(sid(&m, "a")),
            qa * (1.0 - qd) * (1.0 - qb),
        ),
        (
            Component::Domain(did(&m, "dc")),
            qd * (1.0 - qa) * (1.0 - qb),
        ),
        (
            Component::Service(sid(&m, "b")),
            qb * (1.0 - qd) * (1.0 - qa),
        ),
    ];
    assert_eq!(top.consumers.len(), 3, "{:?}", top.consumers);
    for (consumer, (component, reduction)) in top.consumers.iter().zip(expected) {
        assert_eq!(consumer.component, component);
        assert_rel(
            consumer.downtime_seconds,
            reduction * w,
            "consumer downtime",
        );
        assert_rel(consumer.share, reduction / u, "consumer share");
    }

    // pair requires any(x, y), both in dc: U = q_d + (1-q_d) q_x q_y.
    // dc perfect: U' = q_x q_y, so dc consumes q_d (1 - q_x q_y);
    // x perfect: U' = q_d, so x consumes (1-q_d) q_x q_y; likewise y.
    let (qx, qy) = (1e-2, 5e-3);
    let pair = a.service(sid(&m, "pair"));
    let find = |c: Component| {
        pair.consumers
            .iter()
            .find(|x| x.component == c)
            .unwrap_or_else(|| panic!("{c:?} missing"))
            .downtime_seconds
    };
    assert_rel(
        find(Component::Domain(did(&m, "dc"))),
        qd * (1.0 - qx * qy) * w,
        "dc",
    );
    assert_rel(
        find(Component::Service(sid(&m, "x"))),
        (1.0 - qd) * qx * qy * w,
        "x",
    );
    assert_rel(
        find(Component::Service(sid(&m, "y"))),
        (1.0 - qd) * qx * qy * w,
        "y",
    );
    assert_eq!(pair.consumers.len(), 3);
}

#[test]
fn consumers_of_a_replicated_service() {
    // r: replicas 2 need 1, 99% each, no domain; top requires r.
    // U = q² (q = 0.01); r perfect: 0, so r (both instances) consumes q²·w.
    let (m, a) = run("
        service r { availability 99% replicas 2 need 1 }
        service top { slo 99.9% requires r }
    ");
    let top = a.service(sid(&m, "top"));
    assert_eq!(top.consumers.len(), 1);
    assert_eq!(top.consumers[0].component, Component::Service(sid(&m, "r")));
    assert_rel(top.consumers[0].downtime_seconds, 1e-4 * 30.0 * DAY, "r");
    assert_rel(top.consumers[0].share, 1.0, "share");
}

#[test]
fn required_availability_series() {
    // top: slo 99.9%, own 99.95%, requires a (99.99%) and b (99.98%).
    // The SLO holds iff (1-q_top)(1-q_a)(1-q_b) ≥ 1 - 1e-3. For a, with the
    // rest fixed: 1 - q_a ≥ 0.999 / (0.9995 × 0.9998) = 0.999 / 0.9993001,
    // q_a ≤ (0.9993001 - 0.999) / 0.9993001 = 0.0003001 / 0.9993001.
    // Likewise for b: q_b ≤ 1 - 0.999 / (0.9995 × 0.9999)
    //                    = (0.99940005 - 0.999) / 0.99940005 = 0.00040005 / 0.99940005.
    let (m, a) = run("
        service a { availability 99.99% }
        service b { availability 99.98% }
        service top { slo 99.9% availability 99.95% requires a, b }
    ");
    let top = a.service(sid(&m, "top"));
    assert_eq!(top.required.len(), 2);
    let req = |name: &str| {
        top.required
            .iter()
            .find(|r| r.dependency == sid(&m, name))
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert_rel(req("a").required_down.unwrap(), 0.0003001 / 0.9993001, "a");
    assert_rel(
        req("b").required_down.unwrap(),
        0.00040005 / 0.99940005,
        "b",
    );
    assert_rel(req("a").current_down, 1e-4, "a now");
    assert_rel(req("b").current_down, 2e-4, "b now");
    assert!(req("a").allowed_incidents_per_year.is_none());
}

#[test]
fn required_availability_incidents_and_failover() {
    // top: slo 99.9%, own 99.95%, requires dep in the incident form
    // (detect 5m + mitigate 20m = 1500 s per incident). Required:
    // q ≤ 1 - 0.999/0.9995 = 0.0005/0.9995; incidents a year allowed:
    // q × year / 1500 s.
    let (m, a) = run("
        service dep { incidents 4/y detect 5m mitigate 20m }
        service top { slo 99.9% availability 99.95% requires dep }
    ");
    let r = &a.service(sid(&m, "top")).required[0];
    let q = 0.0005 / 0.9995;
    assert_rel(r.required_down.unwrap(), q, "required");
    assert_rel(
        r.allowed_incidents_per_year.unwrap(),
        q * YEAR / 1500.0,
        "incidents/y",
    );

    // pair: slo 99.9%, perfect, requires any(x, y), x 95%, y 99%, no domain:
    // U = q_x q_y ≤ 1e-3 gives q_x ≤ 1e-3 / 0.01 = 0.1, q_y ≤ 1e-3 / 0.05 = 0.02.
    let (m, a) = run("
        service x { availability 95% }
        service y { availability 99% }
        service pair { slo 99.9% requires any(x, y) }
    ");
    let pair = a.service(sid(&m, "pair"));
    let req = |name: &str| {
        pair.required
            .iter()
            .find(|r| r.dependency == sid(&m, name))
            .unwrap()
            .required_down
            .unwrap()
    };
    assert_rel(req("x"), 0.1, "x");
    assert_rel(req("y"), 0.02, "y");
}

#[test]
fn required_availability_impossible_even_if_perfect() {
    // top: slo 99.99% but its own part is 99.95%: even with dep perfect,
    // U = 5e-4 > 1e-4, so no availability of dep meets the SLO.
    let (m, a) = run("
        service dep { availability 99.99% }
        service top { slo 99.99% availability 99.95% requires dep }
    ");
    let top = a.service(sid(&m, "top"));
    assert_eq!(top.required.len(), 1);
    assert_eq!(top.required[0].dependency, sid(&m, "dep"));
    assert_eq!(top.required[0].required_down, None);
    assert_eq!(top.required[0].allowed_incidents_per_year, None);
}

#[test]
fn single_points_of_failure() {
    // r: replicas 3 need 1 across za, zb, zc, all in region reg. The region
    // alone takes every instance down: a single point of failure. One zone or
    // one instance does not (need 1 of 3). web requires r and db (one
    // instance): db is a single point of web, and so is reg.
    // q: need 2 of 2 instances in no domain: each instance is a single point.
    let (m, a) = run("
        domain region reg { availability 99.999% }
        domain zone za in reg { availability 99.9% }
        domain zone zb in reg { availability 99.9% }
        domain zone zc in reg { availability 99.9% }
        service r { availability 99% replicas 3 need 1 across za, zb, zc }
        service db { availability 99.95% }
        service web { requires r, db }
        service q { availability 99% replicas 2 need 2 }
        service lone { availability 99% replicas 2 need 1 }
    ");
    let spof = |name: &str| {
        let mut v = a.service(sid(&m, name)).single_points_of_failure.clone();
        v.sort();
        v
    };
    let reg = Component::Domain(did(&m, "reg"));
    assert_eq!(spof("r"), vec![reg]);
    let mut web = vec![reg, Component::Service(sid(&m, "db"))];
    web.sort();
    assert_eq!(spof("web"), web);
    let qs = sid(&m, "q");
    assert_eq!(
        spof("q"),
        vec![Component::Instance(qs, 0), Component::Instance(qs, 1)]
    );
    assert_eq!(spof("lone"), vec![]);
    // The two instances of lone are a double point of failure.
    let lone = a.service(sid(&m, "lone"));
    let ls = sid(&m, "lone");
    assert_eq!(
        lone.double_points_of_failure,
        vec![(Component::Instance(ls, 0), Component::Instance(ls, 1))]
    );
    // And r's unavailability: region, or all three zone-instances down:
    // U = q_reg + (1-q_reg) (1 - (1-q_z)(1-q_i))³.
    let per = series(&[1e-3, 1e-2]);
    assert_rel(unavail(&m, &a, "r"), 1e-5 + (1.0 - 1e-5) * per.powi(3), "r");
}

#[test]
fn uses_never_counts_and_perfect_is_zero() {
    // uses: soft, never counts. A service with no availability and no
    // dependency is perfect: U = 0 exactly.
    let (m, a) = run("
        service cache { availability 90% }
        service front { availability 99.9% uses cache }
        service idle { }
    ");
    assert_rel(unavail(&m, &a, "front"), 1e-3, "front");
    assert_eq!(unavail(&m, &a, "idle"), 0.0);
    assert!(a.service(sid(&m, "idle")).consumers.is_empty());
    assert!(a
        .service(sid(&m, "idle"))
        .single_points_of_failure
        .is_empty());
}

#[test]
fn k_of_n_group_of_services() {
    // front requires 2 of (a, b, c), independent, q_a = 0.01, q_b = 0.02,
    // q_c = 0.05: down when at least two are down:
    // U = q_a q_b (1-q_c) + q_a (1-q_b) q_c + (1-q_a) q_b q_c + q_a q_b q_c.
    let (m, a) = run("
        service a { availability 99% }
        service b { availability 98% }
        service c { availability 95% }
        service front { requires 2 of (a, b, c) }
    ");
    let (qa, qb, qc) = (0.01, 0.02, 0.05);
    let expected =
        qa * qb * (1.0 - qc) + qa * (1.0 - qb) * qc + (1.0 - qa) * qb * qc + qa * qb * qc;
    assert_rel(unavail(&m, &a, "front"), expected, "2 of 3");
}

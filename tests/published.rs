//! Published worked examples, reproduced to the digits printed.
//!
//! Sources:
//! - B. Treynor, M. Dahlin, V. Rau, B. Beyer, "The Calculus of Service
//!   Availability", ACM Queue 15(2), 2017 (also CACM 60(9)). Its rules: a
//!   service cannot be more available than the intersection (product) of its
//!   critical dependencies; the "rule of the extra 9"; and its incident
//!   arithmetic, unavailability = frequency × (time to detect + time to
//!   mitigate), against a 99.99% target that allows 52.56 (≈ 52.6) minutes a
//!   year. The figures below are re-derived from those rules (the paper text
//!   itself was not at hand when this file was written).
//! - Microsoft Azure guidance on composite SLAs ("Composite SLA", Azure
//!   Architecture Center / Well-Architected Framework; quoted in Microsoft Q&A
//!   question 122986, "Composite SLAs"): an App Service web app (99.95%)
//!   writing to SQL Database (99.99%) composes to 99.95% × 99.99% = 99.94%;
//!   with a fallback queue (99.9%), "database or queue" = 1.0 − (0.0001 ×
//!   0.001) = 99.99999%, and "web app and (database or queue)" = 99.95% ×
//!   99.99999% ≈ 99.95%.
//! - Azure/reliable-web-app-pattern-dotnet, assets/sla-calculation.md: a
//!   development environment of 8 services composes to 99.616%; production in
//!   one region (15 components, one of them 100%) to 99.546%; two regions,
//!   shared services 99.980% and combined 99.9779%.

use nines::analysis::engine::Outcome;
use nines::analysis::{analyze, Analysis, Detail, Options};
use nines::model::Model;

const YEAR: f64 = 365.0 * 86400.0;

fn run(text: &str) -> (Model, Analysis) {
    let loaded = nines::model::load::load_text("published.nines", text.to_string());
    assert!(
        !loaded.has_errors(),
        "spec rejected:\n{text}\n{:#?}",
        loaded.diagnostics
    );
    let model = loaded.model.expect("a model");
    let analysis = analyze(
        &model,
        &Options {
            detail: Detail::All,
            ..Default::default()
        },
    );
    (model, analysis)
}

fn unavail(model: &Model, analysis: &Analysis, name: &str) -> f64 {
    let id = model.service_named(name).expect("service");
    match analysis.service(id).unavailability {
        Outcome::Exact(u) => u,
        other => panic!("{name}: not exact: {other:?}"),
    }
}

/// A composed availability as a percentage with `digits` decimals, the way
/// the sources print them.
fn percent(u: f64, digits: usize) -> String {
    format!("{:.*}%", digits, 100.0 * (1.0 - u))
}

// ------------------------------------------------ The Calculus of Service Availability

#[test]
fn calculus_budget_of_a_99_99_target_is_52_6_minutes_a_year() {
    // (1 - 0.9999) × 365 d = 3153.6 s = 52.56 min, printed ≈ 52.6 minutes.
    let (m, a) = run("window 1y\nservice s { slo 99.99% availability 99.99% }");
    let b = a
        .service(m.service_named("s").unwrap())
        .budget
        .expect("budget");
    assert!((b.budget_seconds - 3153.6).abs() < 1e-9 * 3153.6);
    assert_eq!(format!("{:.1}", b.budget_seconds / 60.0), "52.6");
    assert_eq!(format!("{:.2}", b.budget_seconds / 60.0), "52.56");
    // A 99.99% service spends all of it: slack 0.
    assert!(b.slack_seconds.abs() < 1e-9);
}

#[test]
fn calculus_no_more_available_than_its_critical_dependencies() {
    // A 99.99% service with five critical dependencies, each 99.999% (the
    // rule of the extra 9). Perfect itself, it composes to 0.99999^5 =
    // 99.995%: below every dependency, and exactly their product. The
    // dependencies use half of the 0.01% budget (5 × 0.001%), so its own
    // part ("core") may be down at most 1 - 0.9999 / 0.99999^5 ≈ 0.005% of
    // the time, ≈ 26.28 minutes a year.
    let (m, a) = run("
        window 1y
        service d1 { availability 99.999% }
        service d2 { availability 99.999% }
        service d3 { availability 99.999% }
        service d4 { availability 99.999% }
        service d5 { availability 99.999% }
        service deps { requires d1, d2, d3, d4, d5 }
        service core { availability 99.995% }
        service svc { slo 99.99% requires core, d1, d2, d3, d4, d5 }
    ");
    let u = unavail(&m, &a, "deps");
    assert!(1.0 - u < 0.99999, "never above a dependency");
    assert!((1.0 - u - 0.99999f64.powi(5)).abs() < 1e-15);
    assert_eq!(percent(u, 3), "99.995%");
    let svc = a.service(m.service_named("svc").unwrap());
    let core = svc
        .required
        .iter()
        .find(|r| r.dependency == m.service_named("core").unwrap())
        .expect("required of core");
    let minutes = core.required_down.expect("possible") * YEAR / 60.0;
    assert_eq!(format!("{minutes:.2}"), "26.28");
    // With core at 99.995% the service meets 99.99%: 0.99995 × 0.99999^5.
    assert!(svc.budget.unwrap().slack_seconds > 0.0);
    assert_eq!(percent(unavail(&m, &a, "svc"), 4), "99.9900%");
}

#[test]
fn calculus_incidents_allowed_by_a_99_99_target() {
    // Incident form: unavailability = frequency × (detect + mitigate). With
    // 30 minutes per incident (10m + 20m), a 99.99% target (52.56 min a year)
    // allows 52.56 / 30 = 1.752 ≈ 1.75 incidents a year.
    let (m, a) = run("
        service dep { incidents 1/y detect 10m mitigate 20m }
        service svc { slo 99.99% requires dep }
    ");
    let r = &a.service(m.service_named("svc").unwrap()).required[0];
    let allowed = r.allowed_incidents_per_year.expect("incident form");
    assert!((allowed - 1.752).abs() < 1e-9);
    assert_eq!(format!("{allowed:.2}"), "1.75");
    // One incident a year of 30 minutes: 30 / 525600 down, 99.9943%.
    assert_eq!(percent(unavail(&m, &a, "dep"), 4), "99.9943%");
    // 1.75 incidents a year fit; 2 do not.
    let (m, a) = run("
        service ok { incidents 1.75/y detect 10m mitigate 20m }
        service bad { incidents 2/y detect 10m mitigate 20m }
    ");
    assert!(unavail(&m, &a, "ok") <= 1e-4);
    assert!(unavail(&m, &a, "bad") > 1e-4);
}

// ------------------------------------------------ Azure composite SLAs

#[test]
fn azure_web_app_and_sql_database() {
    // 99.95% × 99.99% = 99.94% (0.99940005).
    let (m, a) = run("
        service web { availability 99.95% }
        service sql { availability 99.99% }
        service app { requires web, sql }
    ");
    let u = unavail(&m, &a, "app");
    assert!((u - (5e-4 + 1e-4 - 5e-8)).abs() < 1e-18);
    assert_eq!(percent(u, 2), "99.94%");
}

#[test]
fn azure_fallback_queue() {
    // Database or queue (99.99% or 99.9%): 1.0 − (0.0001 × 0.001) =
    // 99.99999%; web app and (database or queue): 99.95% × 99.99999% ≈ 99.95%.
    let (m, a) = run("
        service web { availability 99.95% }
        service sql { availability 99.99% }
        service queue { availability 99.9% }
        service store { requires any(sql, queue) }
        service app { requires web, any(sql, queue) }
    ");
    let store = unavail(&m, &a, "store");
    assert!((store - 1e-7).abs() < 1e-12 * 1e-7);
    assert_eq!(percent(store, 5), "99.99999%");
    let app = unavail(&m, &a, "app");
    assert!((app - (5e-4 + 1e-7 - 5e-11)).abs() < 1e-12 * 5e-4);
    assert_eq!(percent(app, 2), "99.95%");
}

/// The regional components of the reliable web app pattern, production.
const REGIONAL: [&str; 13] = [
    "99.99%",  // AFD Private Link
    "99.95%",  // App Service
    "99.99%",  // - Private Link
    "99.9%",   // Redis Cache
    "99.99%",  // - Private Link
    "99.995%", // Azure SQL
    "99.99%",  // - Private Link
    "99.9%",   // Azure Storage
    "99.99%",  // - Private Link
    "99.99%",  // Key Vault
    "99.99%",  // - Private Link
    "99.9%",   // App Configuration
    "99.99%",  // - Private Link
];

fn regional_services(region: &str) -> String {
    let mut text = String::new();
    let mut names = Vec::new();
    for (i, a) in REGIONAL.iter().enumerate() {
        text.push_str(&format!("service {region}-c{i} {{ availability {a} }}\n"));
        names.push(format!("{region}-c{i}"));
    }
    text.push_str(&format!(
        "service {region} {{ requires {} }}\n",
        names.join(", ")
    ));
    text
}

#[test]
fn azure_reliable_web_app_development() {
    // Front Door 99.99, Entra ID 99.99, App Service 99.95, Redis 99.9,
    // SQL 99.995, Storage 99.9, Key Vault 99.99, App Configuration 99.9:
    // product 99.616%.
    let (m, a) = run("
        service fd { availability 99.99% }
        service entra { availability 99.99% }
        service app { availability 99.95% }
        service redis { availability 99.9% }
        service sql { availability 99.995% }
        service storage { availability 99.9% }
        service kv { availability 99.99% }
        service config { availability 99.9% }
        service web { requires fd, entra, app, redis, sql, storage, kv, config }
    ");
    assert_eq!(percent(unavail(&m, &a, "web"), 3), "99.616%");
}

#[test]
fn azure_reliable_web_app_production_one_and_two_regions() {
    // One region: Front Door, Entra ID (99.99% each), Private DNS (100%) and
    // the 13 regional components in series: 99.546%.
    let mut text = String::from(
        "service fd { availability 99.99% }
         service entra { availability 99.99% }
         service dns { availability 100% }
         service shared { requires fd, entra, dns }\n",
    );
    text.push_str(&regional_services("east"));
    text.push_str(&regional_services("west"));
    text.push_str(
        "service one-region { requires shared, east }
         service two-regions { requires shared, any(east, west) }
         // The document's arithmetic: its single-region figure (99.546%, which
         // already includes the shared services) used as each region.
         service doc-east { availability 99.546% }
         service doc-west { availability 99.546% }
         service doc-two { requires shared, any(doc-east, doc-west) }\n",
    );
    let (m, a) = run(&text);
    assert_eq!(percent(unavail(&m, &a, "one-region"), 3), "99.546%");
    assert_eq!(percent(unavail(&m, &a, "shared"), 3), "99.980%");
    // Shared × (1 − (1 − 0.99546)²) = 99.9779%, as printed.
    let doc = unavail(&m, &a, "doc-two");
    let shared_q = 1e-4 + 1e-4 - 1e-8;
    let regional_q = 0.00454f64;
    let expected = shared_q + (1.0 - shared_q) * regional_q * regional_q;
    assert!((doc - expected).abs() < 1e-12 * expected);
    assert_eq!(percent(doc, 4), "99.9779%");
    // Counting the shared services once (they are one Front Door and one
    // Entra ID for both regions) gives slightly more: 99.9781%.
    let exact = unavail(&m, &a, "two-regions");
    let regional_q = REGIONAL
        .iter()
        .map(|a| (100.0 - a.trim_end_matches('%').parse::<f64>().unwrap()) / 100.0)
        .fold(0.0, |u, q| u + q * (1.0 - u));
    let expected = shared_q + (1.0 - shared_q) * regional_q * regional_q;
    assert!((exact - expected).abs() < 1e-9 * expected);
    assert_eq!(percent(exact, 4), "99.9781%");
}

//! `nines simulate` held against the exact calculator and against closed
//! forms derived here (never by calling nines for the expected value), plus
//! determinism across thread counts and CLI snapshots. Every test uses a
//! fixed seed, so it is deterministic; sizes are kept small enough for a
//! debug build.

use std::process::Command;

use nines::model::Model;
use nines::simulate::output::{render_json, render_text};
use nines::simulate::{simulate, Mode, Options, Simulation};

const BIN: &str = env!("CARGO_BIN_EXE_nines");
const HOUR: f64 = 3600.0;
const DAY: f64 = 86400.0;

fn load_text(text: &str) -> Model {
    let loaded = nines::model::load::load_text("sim.nines", text.to_string());
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    loaded.model.expect("a model")
}

fn load_file(path: &str) -> Model {
    let loaded = nines::load(&[path.into()]);
    assert!(!loaded.has_errors(), "{path}: {:#?}", loaded.diagnostics);
    loaded.model.expect("a model")
}

fn run(model: &Model, options: Options) -> Simulation {
    simulate(model, &options, &|_, _| {}).expect("simulation runs")
}

/// Steady-state trials agree with the exact calculator: the exact value lies
/// in the 99.9% Clopper–Pearson interval of every service of every example
/// spec (fixed seed: the check is deterministic).
#[test]
fn trials_agree_with_the_exact_calculator_on_the_example_specs() {
    for path in [
        "specs/appengine.nines",
        "specs/payments.nines",
        "specs/startup-cloud.nines",
    ] {
        let model = load_file(path);
        let sim = run(
            &model,
            Options {
                mode: Mode::Trials(1 << 20),
                seed: 11,
                confidence: 0.999,
                ..Options::default()
            },
        );
        assert_eq!(sim.services.len(), model.services.len());
        for s in &sim.services {
            assert_eq!(s.agrees(0.0), Some(true), "{path}: {s:#?}");
        }
    }
}

/// The same on the hand-derived case of the language tour: `top` requires
/// any(x, y), both placed in d. Exact: 1 - 0.9999 (1 - 0.001²).
#[test]
fn trials_agree_with_the_tour_example() {
    let model = load_text(
        "domain zone d { availability 99.99% }\n\
         service x { availability 99.9% placed in d }\n\
         service y { availability 99.9% placed in d }\n\
         service top { availability 100% requires any(x, y) }\n",
    );
    let sim = run(
        &model,
        Options {
            mode: Mode::Trials(1 << 22),
            seed: 5,
            confidence: 0.999,
            cross_check: false,
            ..Options::default()
        },
    );
    let top = sim.services.iter().find(|s| s.name == "top").expect("top");
    let exact = 1.0 - 0.9999 * (1.0 - 0.001 * 0.001);
    assert!(
        top.interval.0 <= exact && exact <= top.interval.1,
        "{exact} outside {:?}",
        top.interval
    );
}

/// One component: its long-run fraction of time down is mttr / (mtbf + mttr)
/// whatever the shapes of its distributions (renewal-reward theorem), and
/// windows that start in the stationary state keep that fraction in every
/// window on average.
#[test]
fn one_component_is_down_mttr_over_mtbf_plus_mttr() {
    let (mtbf, mttr) = (2.0 * DAY, 6.0 * HOUR);
    let expected = mttr / (mtbf + mttr);
    for shapes in [
        "",
        "failures weibull shape 0.6\n repairs lognormal sigma 1",
        "failures weibull shape 3\n repairs fixed",
    ] {
        let model = load_text(&format!(
            "window 10d\nservice s {{ slo 99% mtbf 2d mttr 6h\n {shapes} }}\n"
        ));
        let sim = run(
            &model,
            Options {
                mode: Mode::Windows(4000),
                seed: 2,
                cross_check: false,
                ..Options::default()
            },
        );
        let s = &sim.services[0];
        assert!(
            (s.unavailability - expected).abs() < 4.0 * s.standard_error,
            "{shapes}: {} vs {expected} (se {})",
            s.unavailability,
            s.standard_error
        );
    }
}

/// P(downtime in a window ≤ b) for one exponential component, derived here.
///
/// Up times are Exp(λ), λ = 1/mtbf; down times Exp(μ), μ = 1/mttr; the
/// window [0, W] starts in the stationary state (down with probability
/// q = mttr / (mtbf + mttr)). Let a = W − b, the up time the window must
/// contain.
///
/// Starting up: the downtime D ≤ b exactly when, at the instant the
/// accumulated up time reaches a, the elapsed time a + (completed downs)
/// is at most W, i.e. the downs completed by then sum to at most b. Failures
/// happen at rate λ per unit of *up* time, so their number during the first
/// a units of up time is N ~ Poisson(λa), and the downs are N independent
/// Exp(μ): their sum is Erlang(N, μ). So
///     P(D ≤ b | up) = Σ_n Pois(n; λa) · P(Erlang(n, μ) ≤ b).
///
/// Starting down: the remaining repair R is Exp(μ) (memoryless); after it
/// the process starts up with window W − R and budget b − R, whose required
/// up time is (W − R) − (b − R) = a again. So D ≤ b exactly when
/// R + Erlang(N, μ) = Erlang(N + 1, μ) ≤ b:
///     P(D ≤ b | down) = Σ_n Pois(n; λa) · P(Erlang(n + 1, μ) ≤ b).
///
/// And P(meet) = (1 − q) P(D ≤ b | up) + q P(D ≤ b | down), with
/// P(Erlang(0) ≤ b) = 1 and P(Erlang(n, μ) ≤ b) = 1 − Σ_{k<n} e^{−μb}(μb)^k/k!.
fn p_meet_exponential(mtbf: f64, mttr: f64, window: f64, budget: f64) -> f64 {
    let (lambda, mu) = (1.0 / mtbf, 1.0 / mttr);
    let q = mttr / (mtbf + mttr);
    let a = window - budget;
    let erlang_cdf = |n: usize| -> f64 {
        if n == 0 {
            return 1.0;
        }
        let x = mu * budget;
        let mut term = (-x).exp();
        let mut below = 0.0;
        for k in 0..n {
            if k > 0 {
                term *= x / k as f64;
            }
            below += term;
        }
        1.0 - below
    };
    let mut pois = (-lambda * a).exp();
    let (mut up, mut down) = (0.0, 0.0);
    for n in 0..200 {
        if n > 0 {
            pois *= lambda * a / n as f64;
        }
        up += pois * erlang_cdf(n);
        down += pois * erlang_cdf(n + 1);
    }
    (1.0 - q) * up + q * down
}

#[test]
fn window_meeting_probability_matches_the_closed_form() {
    // mtbf 10d, mttr 4h, 30-day window, SLO 99% → budget 7.2 h.
    let model = load_text("window 30d\nservice s { slo 99% mtbf 10d mttr 4h }\n");
    let expected = p_meet_exponential(10.0 * DAY, 4.0 * HOUR, 30.0 * DAY, 0.01 * 30.0 * DAY);
    assert!(
        expected > 0.2 && expected < 0.8,
        "an informative case: {expected}"
    );
    let sim = run(
        &model,
        Options {
            mode: Mode::Windows(20_000),
            seed: 9,
            confidence: 0.999,
            cross_check: false,
            ..Options::default()
        },
    );
    let w = sim.services[0].windows.as_ref().expect("window stats");
    let (lo, hi) = w.p_meet_interval.expect("an SLO");
    assert!(
        lo <= expected && expected <= hi,
        "closed form {expected} outside [{lo}, {hi}] (estimate {:?})",
        w.p_meet
    );
}

/// Same seed, one thread or two: the same bytes, in both modes, with an
/// uncertain input (appengine's memcache is `observed over 90d`).
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let model = load_file("specs/appengine.nines");
    for mode in [Mode::Windows(300), Mode::Trials(600_000)] {
        let output = |threads| {
            let sim = run(
                &model,
                Options {
                    mode,
                    seed: 42,
                    threads,
                    draws: 20,
                    ..Options::default()
                },
            );
            (render_json(&sim), render_text(&sim))
        };
        let one = output(1);
        assert_eq!(one, output(2), "{mode:?}");
        assert!(one.0.contains("\"uncertain_inputs\": [\n    \"memcache\""));
    }
}

/// Evidence widens: a service observed over a short time has a wide
/// posterior spread around its declared availability.
#[test]
fn evidence_gives_an_interval_around_the_declared_value() {
    let model = load_text(
        "service a { slo 99% availability 99.9% observed over 30d mttr 1h }\n\
         service b { slo 99% availability 99.9% observed 999000 of 1000000 }\n",
    );
    let sim = run(
        &model,
        Options {
            mode: Mode::Trials(1 << 18),
            seed: 1,
            draws: 200,
            ..Options::default()
        },
    );
    let a = sim.services[0].spread.expect("a spread");
    let b = sim.services[1].spread.expect("a spread");
    assert!(a.low < 0.001 && 0.001 < a.high, "{a:?}");
    // A million observations pin it down far more tightly than 30 days.
    assert!(b.high - b.low < (a.high - a.low) / 10.0, "{a:?} {b:?}");
}

fn nines(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("nines runs")
}

#[test]
fn cli_window_text_snapshot() {
    let out = nines(&[
        "simulate",
        "specs/appengine.nines",
        "--windows",
        "400",
        "--seed",
        "7",
        "--draws",
        "4",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    insta::assert_snapshot!(
        "simulate_windows_text",
        String::from_utf8(out.stdout).expect("UTF-8")
    );
}

#[test]
fn cli_trials_json_snapshot_and_output_file() {
    let dir = std::env::temp_dir().join(format!("nines-simulate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("sim.json");
    let out = nines(&[
        "simulate",
        "specs/startup-cloud.nines",
        "--trials",
        "100000",
        "--seed",
        "3",
        "--format",
        "json",
        "-o",
        file.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&file).expect("written");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(json["schema"], 1);
    insta::assert_json_snapshot!("simulate_trials_json", json);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn cli_misuse_and_bad_specs() {
    let out = nines(&["simulate", "specs/appengine.nines", "--trials", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = nines(&[
        "simulate",
        "tests/cases/bad-distribution--weibull-shape.nines",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad-distribution"));
    let out = nines(&["simulate", "no/such/file.nines"]);
    assert_eq!(out.status.code(), Some(2));
    let out = nines(&[
        "simulate",
        "specs/appengine.nines",
        "--trials",
        "5",
        "--windows",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// In window mode the spread of P(meet SLO) over posterior draws is shown
/// only for services that an uncertain input reaches: elsewhere it would
/// be block sampling noise presented as input uncertainty.
#[test]
fn the_meeting_spread_is_only_for_services_with_uncertain_inputs() {
    let model = load_text(
        "service cache { availability 99.9% observed over 30d mttr 1h }\n\
         service web { slo 99% availability 99.9% mttr 1h requires cache }\n\
         service batch { slo 99% availability 99.9% mttr 1h uses cache }\n",
    );
    let sim = run(
        &model,
        Options {
            mode: Mode::Windows(2_000),
            seed: 1,
            draws: 20,
            ..Options::default()
        },
    );
    let spread_of = |name: &str| {
        let s = sim
            .services
            .iter()
            .find(|s| s.name == name)
            .expect("tracked");
        s.windows.as_ref().expect("window stats").p_meet_spread
    };
    assert!(
        spread_of("web").is_some(),
        "web requires the uncertain cache"
    );
    assert!(spread_of("batch").is_none(), "batch only uses it softly");
}

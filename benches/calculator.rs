//! Calculator benchmark: analysis (`nines::analysis::analyze`, detail for
//! services with an SLO) followed by the JSON report
//! (`nines::report::render_json`), on synthetic platforms from
//! `examples/synth.rs` (seed 1): realistic and adversarial at 1k and 10k
//! services, realistic at 100k. Parsing is done once, outside the timing.
//!
//! Targets (issue): realistic 10k fully reported in under 5 s, 100k in
//! under 60 s; adversarial never exceeds `--max-time` and reports honest
//! bounds. The adversarial cases here use a max time of 10 s.
//!
//! ```text
//! cargo bench --bench calculator
//! NINES_BENCH_SKIP_100K=1 cargo bench --bench calculator   # without 100k
//! NINES_BENCH_MAX_SERVICES=1000 cargo bench --bench calculator   # 1k only
//! NINES_BENCH_THREADS=1 cargo bench --bench calculator   # one worker thread (default: one per core)
//! ```

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use nines::analysis::{analyze, Detail, Options};

#[allow(dead_code)] // the example's command-line half is not used here
#[path = "../examples/synth.rs"]
mod synth;

fn options(max_time: Duration) -> Options {
    Options {
        max_time,
        detail: Detail::WithSlo,
        max_pairs: 10,
        threads: std::env::var("NINES_BENCH_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    }
}

fn calculator(c: &mut Criterion) {
    let mut cases = vec![
        (synth::Shape::Realistic, 1_000usize),
        (synth::Shape::Realistic, 10_000),
        (synth::Shape::Adversarial, 1_000),
        (synth::Shape::Adversarial, 10_000),
    ];
    if std::env::var_os("NINES_BENCH_SKIP_100K").is_none() {
        cases.push((synth::Shape::Realistic, 100_000));
    }
    // Setting up a case analyzes it once (outside criterion), so a filter on
    // the command line does not avoid the cost of large cases: this does.
    if let Some(max) = std::env::var("NINES_BENCH_MAX_SERVICES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        cases.retain(|&(_, services)| services <= max);
    }
    let mut group = c.benchmark_group("analyze_and_render_json");
    for (shape, services) in cases {
        let text = synth::generate(services, shape, 1);
        let loaded = nines::model::load::load_text("synth.nines", text);
        let model = loaded
            .model
            .as_ref()
            .unwrap_or_else(|| panic!("{shape:?} {services}: did not resolve"));
        let max_time = match shape {
            synth::Shape::Realistic => Duration::from_secs(60),
            synth::Shape::Adversarial => Duration::from_secs(10),
        };
        let opts = options(max_time);

        // One run outside criterion, to report exactness and to size the
        // measurement.
        let analysis = analyze(model, &opts);
        let exact = analysis.all_exact();
        let json =
            nines::report::render_json(model, &analysis, &loaded.diagnostics, &loaded.sources);
        eprintln!(
            "{shape:?} {services}: analysis {:.3} s, all exact: {exact}, json {} bytes",
            analysis.elapsed.as_secs_f64(),
            json.len()
        );
        drop(json);
        let slow = analysis.elapsed > Duration::from_secs(1);
        drop(analysis);

        group.sample_size(10);
        group.measurement_time(if slow {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(5)
        });
        let id = BenchmarkId::new(
            match shape {
                synth::Shape::Realistic => "realistic",
                synth::Shape::Adversarial => "adversarial",
            },
            services,
        );
        group.bench_function(id, |b| {
            b.iter(|| {
                let analysis = analyze(model, &opts);
                nines::report::render_json(model, &analysis, &loaded.diagnostics, &loaded.sources)
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500));
    targets = calculator
}
criterion_main!(benches);

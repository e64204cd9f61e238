//! Simulation benchmark on synthetic realistic platforms from
//! `examples/synth.rs` (seed 1), 1k and 10k services: the steady-state
//! trials of one block (262,144 trials, one thread) and one block of 32
//! windows of 30 days (one thread). Parsing and the compilation of the
//! structure functions are done once, outside the timing.
//!
//! Targets (issue 5): at least 10 million trials per second on the 1k
//! platform with both cores, and 10,000 windows of the 1k platform in under
//! 30 s. Criterion reports one thread; the CLI runs in BENCHMARKS.md use both.
//!
//! ```text
//! cargo bench --bench simulate
//! NINES_BENCH_MAX_SERVICES=1000 cargo bench --bench simulate
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nines::analysis::structure::Structure;
use nines::simulate::circuit::Circuit;
use nines::simulate::sampling::{block_rng, Stream};
use nines::simulate::steady::{Steady, BLOCK_TRIALS};
use nines::simulate::timing::{event_timings, DEFAULT_MTTR_SECONDS};
use nines::simulate::window::WindowSim;
use nines::simulate::WINDOW_BLOCK;

#[allow(dead_code)] // the example's command-line half is not used here
#[path = "../examples/synth.rs"]
mod synth;

fn simulate(c: &mut Criterion) {
    let max: usize = std::env::var("NINES_BENCH_MAX_SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let mut group = c.benchmark_group("simulate");
    group.sample_size(10);
    for services in [1_000usize, 10_000] {
        if services > max {
            continue;
        }
        let text = synth::generate(services, synth::Shape::Realistic, 1);
        let loaded = nines::model::load::load_text("synth.nines", text);
        let Some(model) = loaded.model else {
            panic!("the synthetic spec has errors");
        };
        let structure = Structure::build(&model);
        let circuit = Circuit::new(&structure.graph, structure.events.len());
        let roots = structure.service_nodes.clone();
        let steady = Steady::new(&circuit, &structure.q, &roots);
        group.throughput(Throughput::Elements(BLOCK_TRIALS));
        group.bench_with_input(BenchmarkId::new("trials", services), &(), |b, _| {
            let mut block = 0;
            b.iter(|| {
                block += 1;
                steady.block(BLOCK_TRIALS, &mut block_rng(1, Stream::Trials, block))
            })
        });
        let (timings, _) = event_timings(&model, &structure, DEFAULT_MTTR_SECONDS);
        let slo_roots: Vec<u32> = model
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| s.slo.is_some())
            .map(|(i, _)| structure.service_nodes[i])
            .collect();
        let sim = WindowSim::new(&circuit, model.window.seconds, &slo_roots);
        group.throughput(Throughput::Elements(WINDOW_BLOCK));
        group.bench_with_input(BenchmarkId::new("windows", services), &(), |b, _| {
            let mut block = 0;
            b.iter(|| {
                block += 1;
                sim.block(
                    WINDOW_BLOCK as usize,
                    &timings,
                    &mut block_rng(1, Stream::Windows, block),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, simulate);
criterion_main!(benches);

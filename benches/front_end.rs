//! Front-end benchmark: parse + resolve (`nines::model::load::load_text`) of
//! synthetic platforms of 1k, 10k and 100k services (realistic shape, seed 1),
//! generated in memory by `examples/synth.rs`.
//!
//! Target (issue): 100k services (~14 MB) checked in under 2 s with under
//! 1 GiB of memory. Memory is measured with the CLI (`/usr/bin/time -v
//! nines check`), see `BENCHMARKS.md`.
//!
//! ```text
//! cargo bench --bench front_end
//! ```

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

#[allow(dead_code)] // the example's command-line half is not used here
#[path = "../examples/synth.rs"]
mod synth;

fn front_end(c: &mut Criterion) {
    let mut group = c.benchmark_group("load_text");
    for services in [1_000usize, 10_000, 100_000] {
        let text = synth::generate(services, synth::Shape::Realistic, 1);
        // Sanity: the spec resolves without errors.
        let loaded = nines::model::load::load_text("synth.nines", text.clone());
        assert!(
            loaded.model.is_some(),
            "synthetic spec of {services} services did not resolve"
        );
        drop(loaded);

        group.throughput(Throughput::Bytes(text.len() as u64));
        if services >= 100_000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(20));
        } else if services >= 10_000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(5));
        } else {
            group.sample_size(20);
            group.measurement_time(Duration::from_secs(3));
        }
        group.bench_with_input(BenchmarkId::new("realistic", services), &text, |b, text| {
            b.iter_batched(
                || text.clone(),
                |text| nines::model::load::load_text("synth.nines", text),
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = front_end
}
criterion_main!(benches);

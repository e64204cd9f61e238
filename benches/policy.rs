//! Policy benchmark: the built-in rules and a spec's own policies evaluated
//! over synthetic platforms of 10k and 100k services (realistic shape, seed
//! 1, from `examples/synth.rs`), with the calculator's numbers computed once
//! beforehand, as `nines check` does.
//!
//! Target (issue 4): evaluating the policies of a 100k-service spec adds
//! under 1 s to `nines check`.
//!
//! ```text
//! cargo bench --bench policy
//! ```

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

// The generator has options the benchmarks do not use.
#[allow(dead_code)]
#[path = "../examples/synth.rs"]
mod synth;

/// Policies a platform team might write, exercising members, quantifiers,
/// arithmetic and message interpolation over every service.
const POLICIES: &str = r#"
policy slo-keeps-headroom warn {
  for s in services
  where has(s.budget)
  require s.downtime <= s.budget / 2
  message "{s} expects {s.downtime} of downtime per window: more than half of its {s.budget} budget"
}
policy dependencies-outlast-dependents warn {
  for s in services, d in s.requires
  where has(s.slo) and has(d.slo)
  require d.slo >= s.slo
  message "{d} promises {d.slo}, less than {s}'s {s.slo}"
}
policy spread-when-replicated warn {
  for s in services
  where s.replicas >= 3
  require count(s.domains) >= 2 and all(d in s.domains: d.availability >= 99%)
}
"#;

fn policy(c: &mut Criterion) {
    let mut group = c.benchmark_group("policy_evaluate");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for services in [10_000usize, 100_000] {
        let text = synth::generate(services, synth::Shape::Realistic, 1) + POLICIES;
        let loaded = nines::model::load::load_text("synth.nines", text);
        let model = loaded.model.as_ref().expect("the synthetic spec resolves");
        let start = Instant::now();
        let analysis = nines::analysis::analyze(model, &nines::analysis::Options::default());
        let exact = analysis
            .services
            .iter()
            .filter(|s| s.unavailability.is_exact())
            .count();
        let findings = nines::policy::evaluate(model, Some(&analysis), &loaded.sources);
        eprintln!(
            "{services} services: analysis {:.1?} ({exact} exact), {} findings",
            start.elapsed(),
            findings.len()
        );
        group.bench_with_input(BenchmarkId::from_parameter(services), &services, |b, _| {
            b.iter(|| nines::policy::evaluate(model, Some(&analysis), &loaded.sources));
        });
    }
    group.finish();
}

criterion_group!(benches, policy);
criterion_main!(benches);

//! `nines check` as a library call: load the specs, compute each model's
//! numbers, run the built-in rules and the spec's policies, and return
//! every diagnostic in one sorted list.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::analysis::{self, Options};
use crate::diagnostics;
use crate::model::load::{load, load_text, Loaded};
use crate::policy;

/// Time set aside per service for the rules and the rendering after the
/// numbers (the rules take about 4 us per service on the 100k platform, the
/// JSON report about 25; with the detail of 41k services there, 25 in all
/// left `report --max-time 60` at 60.2 s).
const AFTER_ANALYSIS_PER_SERVICE: Duration = Duration::from_micros(35);

/// What is left of `max_time` (counted from `started`) for the numbers,
/// once the rules and the rendering of `services` services are set aside.
pub fn time_for_numbers(max_time: Duration, started: Instant, services: usize) -> Duration {
    max_time.saturating_sub(started.elapsed() + AFTER_ANALYSIS_PER_SERVICE * services as u32)
}

/// Loads `paths` and adds the findings of every rule and policy of every
/// spec that resolved. `options.max_time` bounds the whole call: loading,
/// then the models' numbers, sharing what is left equally.
pub fn check(paths: &[PathBuf], options: &Options) -> Loaded {
    let started = Instant::now();
    with_findings(load(paths), options, started)
}

/// Checks one spec held in memory (imports resolve relative to `path`).
pub fn check_text(path: impl Into<PathBuf>, text: String, options: &Options) -> Loaded {
    let started = Instant::now();
    with_findings(load_text(path, text), options, started)
}

fn with_findings(mut loaded: Loaded, options: &Options, started: Instant) -> Loaded {
    let mut findings = Vec::new();
    let services: usize = loaded.models.iter().map(|m| m.services.len()).sum();
    let count = loaded.models.len();
    for (i, model) in loaded.models.iter().enumerate() {
        // The models share what is left equally.
        let options = Options {
            max_time: time_for_numbers(options.max_time, started, services) / (count - i) as u32,
            ..options.clone()
        };
        let analysis = analysis::analyze(model, &options);
        findings.extend(policy::evaluate(model, Some(&analysis), &loaded.sources));
    }
    loaded.diagnostics.extend(findings);
    diagnostics::sort(&mut loaded.diagnostics);
    loaded.diagnostics.dedup();
    loaded
}

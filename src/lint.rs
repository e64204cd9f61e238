//! `nines check` as a library call: load the specs, compute each model's
//! numbers, run the built-in rules and the spec's policies, and return
//! every diagnostic in one sorted list.

use std::path::PathBuf;

use crate::analysis::{self, Options};
use crate::diagnostics;
use crate::model::load::{load, load_text, Loaded};
use crate::policy;

/// Loads `paths` and adds the findings of every rule and policy of every
/// spec that resolved.
pub fn check(paths: &[PathBuf], options: &Options) -> Loaded {
    with_findings(load(paths), options)
}

/// Checks one spec held in memory (imports resolve relative to `path`).
pub fn check_text(path: impl Into<PathBuf>, text: String, options: &Options) -> Loaded {
    with_findings(load_text(path, text), options)
}

fn with_findings(mut loaded: Loaded, options: &Options) -> Loaded {
    let mut findings = Vec::new();
    for model in &loaded.models {
        let analysis = analysis::analyze(model, options);
        findings.extend(policy::evaluate(model, Some(&analysis), &loaded.sources));
    }
    loaded.diagnostics.extend(findings);
    diagnostics::sort(&mut loaded.diagnostics);
    loaded.diagnostics.dedup();
    loaded
}

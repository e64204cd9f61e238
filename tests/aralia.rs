//! The Aralia fault-tree benchmark (tests/data/aralia, see its README.md):
//! every model must reproduce the top service's unavailability given in
//! expected.json (six significant digits) to a relative 1e-5.
//!
//! All twenty take about 0.6 s in debug and 0.2 s in release
//! (`cargo test --release --test aralia -- --nocapture` prints each time).

use std::path::Path;
use std::time::{Duration, Instant};

use nines::analysis::engine::Outcome;
use nines::analysis::{analyze, Detail, Options};

fn data() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/aralia")
}

#[test]
fn aralia_models_reproduce_expected_unavailability() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data().join("expected.json")).expect("expected.json"),
    )
    .expect("valid json");
    let expected = expected.as_object().expect("an object");
    assert_eq!(expected.len(), 20, "twenty models");
    let mut failures = Vec::new();
    for (name, entry) in expected {
        let top = entry["top"].as_str().expect("top");
        let want = entry["unavailability"].as_f64().expect("unavailability");
        let path = data().join(format!("{name}.nines"));
        let text = std::fs::read_to_string(&path).expect("model file");
        let loaded = nines::model::load::load_text(path.clone(), text);
        assert!(!loaded.has_errors(), "{name}: {:#?}", loaded.diagnostics);
        let model = loaded.model.expect("a model");
        let id = model.service_named(top).expect("top service");
        let start = Instant::now();
        let analysis = analyze(
            &model,
            &Options {
                max_time: Duration::from_secs(120),
                detail: Detail::Only(Vec::new()),
                ..Default::default()
            },
        );
        let got = analysis.service(id).unavailability;
        eprintln!(
            "{name}: {got:?} (expected {want:e}) in {:?}",
            start.elapsed()
        );
        match got {
            Outcome::Exact(u) if (u - want).abs() <= 1e-5 * want => {}
            other => failures.push(format!("{name}: got {other:?}, expected {want:e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The copy under tests/data is complete: one model per entry.
#[test]
fn aralia_data_is_complete() {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data().join("expected.json")).unwrap())
            .unwrap();
    for name in expected.as_object().unwrap().keys() {
        assert!(data().join(format!("{name}.nines")).exists(), "{name}");
    }
    assert!(data().join("README.md").exists());
}

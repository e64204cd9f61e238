//! Data-driven diagnostics tests: every `tests/cases/*.nines` file is one
//! case whose name starts with the diagnostic code it must raise
//! (`unknown-name--did-you-mean.nines` raises `nines::unknown-name`). Each
//! case's human (no colour) and JSON renders are snapshots. Adding a case is
//! adding a file; a catalogue code without a case fails
//! `every_code_has_a_case`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use nines::analysis::Options;
use nines::diagnostics::{render_human, render_json, Severity};
use nines::explain::CATALOGUE;

/// Codes whose case cannot be a checked-in text file, each with the test
/// below that covers it.
const COVERED_ELSEWHERE: &[(&str, &str)] = &[
    ("not-utf8", "not_utf8_points_at_the_first_bad_byte"),
    // Needs millions of steps in a file, or a lowered limit: a unit test in
    // src/policy/mod.rs lowers it.
    (
        "policy-limit",
        "a_policy_over_too_many_combinations_is_stopped_with_an_error",
    ),
];

const CASES: &str = "tests/cases";

/// Specs that must not raise the rule in their name: the other half of
/// each rule's pair of cases.
const CLEAN: &str = "tests/cases/clean";

/// The case files (top level of the folder only: sub-folders hold files that
/// cases import), sorted.
fn cases() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(CASES)
        .expect("tests/cases exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "nines"))
        .collect();
    found.sort();
    found
}

/// The code a case must raise: its file stem up to `--`.
fn expected_code(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("UTF-8 name");
    stem.split("--").next().unwrap_or(stem).to_string()
}

#[test]
fn every_case_raises_its_code_and_matches_its_snapshots() {
    let known: BTreeSet<&str> = CATALOGUE.iter().map(|e| e.code).collect();
    let mut failures = Vec::new();
    for path in cases() {
        let code = expected_code(&path);
        assert!(
            known.contains(code.as_str()),
            "{}: `{code}` is not a code of the catalogue (name cases CODE--what.nines)",
            path.display()
        );
        // A relative path keeps the snapshots independent of the checkout.
        let loaded = nines::lint::check(std::slice::from_ref(&path), &Options::default());
        assert!(
            loaded.unreadable.is_empty(),
            "{}: unreadable {:?}",
            path.display(),
            loaded.unreadable
        );
        let codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code.as_str()).collect();
        if !codes.contains(&code.as_str()) {
            failures.push(format!(
                "{}: expected `{code}`, got {codes:?}",
                path.display()
            ));
        }
        // Every primary and secondary span lies inside its file, on char
        // boundaries.
        for d in &loaded.diagnostics {
            for label in d.primary.iter().chain(&d.labels) {
                let file = loaded.sources.file(label.span.file);
                let (start, end) = (label.span.start as usize, label.span.end as usize);
                assert!(
                    start <= end && end <= file.text.len() + 1,
                    "{}: span {start}..{end} outside the file in {d}",
                    path.display()
                );
            }
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("UTF-8 name");
        let human = render_human(&loaded.diagnostics, &loaded.sources, false);
        let json = render_json(&loaded.diagnostics, &loaded.sources);
        let json: serde_json::Value = serde_json::from_str(&json).expect("JSON render parses");
        insta::with_settings!({ snapshot_suffix => stem.to_string(), prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!("human", human);
            insta::assert_json_snapshot!("json", json);
        });
    }
    assert!(
        failures.is_empty(),
        "cases without their code:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_clean_case_passes_its_rule_and_matches_its_snapshots() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(CLEAN)
        .expect("tests/cases/clean exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "nines"))
        .collect();
    paths.sort();
    for path in &paths {
        let code = expected_code(path);
        assert!(
            CATALOGUE.iter().any(|e| e.code == code),
            "{}: `{code}` is not a code",
            path.display()
        );
        let loaded = nines::lint::check(std::slice::from_ref(path), &Options::default());
        let codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code.as_str()).collect();
        assert!(
            !codes.contains(&code.as_str()),
            "{}: raises `{code}`",
            path.display()
        );
        assert!(!loaded.has_errors(), "{}: errors {codes:?}", path.display());
        let stem = format!("clean-{code}");
        let human = render_human(&loaded.diagnostics, &loaded.sources, false);
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&loaded.diagnostics, &loaded.sources)).expect("JSON");
        insta::with_settings!({ snapshot_suffix => stem, prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!("human", human);
            insta::assert_json_snapshot!("json", json);
        });
    }
    // Every built-in rule has its clean case.
    for rule in nines::policy::RULES {
        assert!(
            paths.iter().any(|p| expected_code(p) == rule.name),
            "no clean case for {}",
            rule.name
        );
    }
}

#[test]
fn every_code_has_a_case() {
    let mut covered: BTreeSet<String> = cases().iter().map(|p| expected_code(p)).collect();
    covered.extend(COVERED_ELSEWHERE.iter().map(|(c, _)| c.to_string()));
    let missing: Vec<&str> = CATALOGUE
        .iter()
        .map(|e| e.code)
        .filter(|c| !covered.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "catalogue codes without a case in tests/cases: {missing:?}"
    );
}

/// A fresh temporary folder for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nines-diagnostics-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn not_utf8_points_at_the_first_bad_byte() {
    let dir = temp_dir("not-utf8");
    let path = dir.join("latin1.nines");
    let mut bytes = b"service api { availability 99.9% }\n// caf".to_vec();
    let bad = bytes.len();
    bytes.push(0xE9); // `é` in Latin-1
    bytes.extend_from_slice(b" au lait\n");
    std::fs::write(&path, &bytes).expect("write");
    let loaded = nines::load(std::slice::from_ref(&path));
    assert!(loaded.unreadable.is_empty());
    assert!(loaded.model.is_none());
    assert_eq!(loaded.diagnostics.len(), 1, "{:?}", loaded.diagnostics);
    let d = &loaded.diagnostics[0];
    assert_eq!(d.code, "not-utf8");
    assert_eq!(d.severity, Severity::Error);
    let primary = d.primary.as_ref().expect("a primary label");
    assert_eq!(primary.span.start as usize, bad);
    assert_eq!(primary.span.end as usize, bad + 1);
    assert_eq!(primary.message, "invalid byte on line 2");
    let json: serde_json::Value =
        serde_json::from_str(&render_json(&loaded.diagnostics, &loaded.sources)).expect("JSON");
    let diag = &json["diagnostics"][0];
    assert_eq!(diag["code"], "nines::not-utf8");
    assert_eq!(diag["line"], 2);
    assert_eq!(diag["column"], 7);
    let human = render_human(&loaded.diagnostics, &loaded.sources, false)
        .replace(&dir.display().to_string(), "[TMP]");
    insta::assert_snapshot!("not_utf8_human", human);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_text_reports_the_same_as_load() {
    // The in-memory entry point raises the same diagnostics for a file
    // without imports.
    for path in cases() {
        let text = std::fs::read_to_string(&path).expect("UTF-8 case");
        if text.contains("import") {
            continue;
        }
        let from_disk = nines::load(std::slice::from_ref(&path));
        let from_text = nines::model::load::load_text(path.clone(), text);
        assert_eq!(
            from_disk.diagnostics,
            from_text.diagnostics,
            "{}",
            path.display()
        );
        assert_eq!(from_disk.model.is_some(), from_text.model.is_some());
    }
}

#[test]
fn the_rules_doc_has_a_row_and_a_section_per_rule() {
    let doc = std::fs::read_to_string("docs/rules.md").expect("docs/rules.md");
    for rule in nines::policy::RULES {
        let row = format!(
            "| [`{}`](#{}) | {} |",
            rule.name,
            rule.name,
            rule.level.keyword()
        );
        assert!(doc.contains(&row), "docs/rules.md lacks the row `{row}`");
        assert!(
            doc.contains(&format!("\n## {}\n", rule.name)),
            "docs/rules.md lacks a section for {}",
            rule.name
        );
    }
}

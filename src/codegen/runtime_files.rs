//! The `nines-runtime` crate's sources, compiled into the binary so that a
//! generated service builds on its own (a user's machine has no nines
//! checkout). A test holds this list against `runtime/src/`.

/// `(path inside the runtime crate, contents)`.
pub const RUNTIME_FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../runtime/Cargo.toml")),
    ("README.md", include_str!("../../runtime/README.md")),
    ("src/lib.rs", include_str!("../../runtime/src/lib.rs")),
    ("src/config.rs", include_str!("../../runtime/src/config.rs")),
    (
        "src/counting.rs",
        include_str!("../../runtime/src/counting.rs"),
    ),
    ("src/gate.rs", include_str!("../../runtime/src/gate.rs")),
    ("src/http.rs", include_str!("../../runtime/src/http.rs")),
    ("src/log.rs", include_str!("../../runtime/src/log.rs")),
    (
        "src/metrics.rs",
        include_str!("../../runtime/src/metrics.rs"),
    ),
    ("src/node.rs", include_str!("../../runtime/src/node.rs")),
    ("src/power.rs", include_str!("../../runtime/src/power.rs")),
    ("src/store.rs", include_str!("../../runtime/src/store.rs")),
];

/// nines' own lock file: a generated project starts from the dependency
/// versions the runtime is tested with.
pub const WORKSPACE_LOCK: &str = include_str!("../../Cargo.lock");

/// The helpers of a generated project's end-to-end test (`tests/support/mod.rs`).
pub const TEST_SUPPORT: &str = include_str!("../../runtime/tests/service/support.rs");

/// The end-to-end scenarios every generated project carries (the body of
/// `tests/e2e.rs`, after the spec's facts). The runtime runs the same file
/// against its example binaries in `runtime/tests/e2e.rs`.
pub const TEST_SCENARIOS: &str = include_str!("../../runtime/tests/service/scenarios.rs");

#[cfg(test)]
mod tests {
    #[test]
    fn every_runtime_module_is_copied() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/runtime/src");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".rs"))
            .map(|n| format!("src/{n}"))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = super::RUNTIME_FILES
            .iter()
            .map(|(p, _)| p.to_string())
            .filter(|p| p.starts_with("src/"))
            .collect();
        listed.sort();
        assert_eq!(on_disk, listed);
    }
}

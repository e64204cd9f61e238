//! `nines gen`: a runnable Rust service skeleton for one service of a spec.
//!
//! The generated project is its own workspace: the service crate (a
//! `main.rs` that is a configuration literal wired from the spec's numbers)
//! and a copy of the `nines-runtime` crate, which enforces the contracts
//! (UPS write-gating, durable acknowledgements, replication, retryable
//! refusals). Names from the spec only ever reach the generated code as
//! escaped string literals or as validated crate names, so a spec cannot
//! inject code.

mod runtime_files;
mod write;

use std::time::Duration;

use crate::model::{Model, ReplicationMode, ServiceId};

pub use runtime_files::RUNTIME_FILES;
pub use write::{write_project, WriteError};

/// A file of the generated project: path relative to its root, and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Relative path (`src/main.rs`).
    pub path: String,
    /// Contents.
    pub text: String,
}

/// The contract values the generated service is wired with.
#[derive(Clone, Debug, PartialEq)]
pub struct Contract {
    /// The service's name in the spec.
    pub service: String,
    /// The Cargo package name.
    pub crate_name: String,
    /// `writes { gated by ups }`.
    pub gated: bool,
    /// `flush within` (30 s when not given).
    pub flush_within: Duration,
    /// `reject retryable after` (1 s when not given).
    pub retry_after: Duration,
    /// Shortest UPS holdup over the service's instances.
    pub holdup: Option<Duration>,
    /// `max lag` of async replication (the `rpo`, or 30 s, when not given).
    pub max_lag: Option<Duration>,
    /// `quorum` of sync replication.
    pub quorum: Option<u32>,
    /// Replication targets by name (for the README).
    pub peers: Vec<String>,
}

fn seconds(d: f64) -> Duration {
    Duration::try_from_secs_f64(d.max(0.0)).unwrap_or(Duration::MAX)
}

/// A Cargo package name from a spec name (`[a-z][a-z0-9_-]*` already is one;
/// anything else is folded to that alphabet).
pub fn crate_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "svc-");
    }
    out
}

/// The contract of one service, from the model.
pub fn contract(model: &Model, id: ServiceId) -> Contract {
    let service = model.service(id);
    let writes = service.writes.as_ref();
    let (max_lag, quorum) = match service.replication.as_ref().map(|r| &r.mode) {
        Some(ReplicationMode::Async { max_lag }) => (
            Some(seconds(
                max_lag
                    .map(|l| l.seconds)
                    .or(service.rpo.map(|(r, _)| r.seconds))
                    .unwrap_or(30.0),
            )),
            None,
        ),
        Some(ReplicationMode::Sync { quorum }) => (None, Some(*quorum)),
        None => (None, None),
    };
    Contract {
        service: service.name.clone(),
        crate_name: crate_name(&service.name),
        gated: writes.is_some_and(|w| w.gated),
        flush_within: seconds(
            writes
                .and_then(|w| w.flush_within)
                .map_or(30.0, |d| d.seconds),
        ),
        retry_after: seconds(
            writes
                .and_then(|w| w.retry_after)
                .map_or(1.0, |d| d.seconds),
        ),
        holdup: model.holdup(id).map(|h| seconds(h.seconds)),
        max_lag,
        quorum,
        peers: service
            .replication
            .iter()
            .flat_map(|r| r.to.iter().map(|(t, _)| model.service(*t).name.clone()))
            .collect(),
    }
}

fn duration_literal(d: Duration) -> String {
    format!("Duration::from_millis({})", d.as_millis())
}

/// Every file of the generated project.
pub fn generate(contract: &Contract) -> Vec<GeneratedFile> {
    let mut files = vec![
        GeneratedFile {
            path: "Cargo.toml".into(),
            text: cargo_toml(contract),
        },
        GeneratedFile {
            path: "src/main.rs".into(),
            text: main_rs(contract),
        },
        GeneratedFile {
            path: "README.md".into(),
            text: readme(contract),
        },
        GeneratedFile {
            path: "tests/e2e.rs".into(),
            text: e2e_test(contract),
        },
        GeneratedFile {
            path: "tests/support/mod.rs".into(),
            text: runtime_files::TEST_SUPPORT.to_string(),
        },
        GeneratedFile {
            // The versions nines itself is built and tested with; Cargo drops
            // the entries the service does not use on its first build.
            path: "Cargo.lock".into(),
            text: runtime_files::WORKSPACE_LOCK.to_string(),
        },
        GeneratedFile {
            path: ".gitignore".into(),
            text: "target/\n".into(),
        },
    ];
    for (path, text) in RUNTIME_FILES {
        files.push(GeneratedFile {
            path: format!("nines-runtime/{path}"),
            text: (*text).to_string(),
        });
    }
    files
}

fn cargo_toml(c: &Contract) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
rust-version = "1.89"
publish = false
description = "Generated by nines gen: the service `{name}` with its spec's contracts enforced"

[workspace]
members = [".", "nines-runtime"]

[dependencies]
nines-runtime = {{ path = "nines-runtime" }}

[dev-dependencies]
serde_json = "1"

# One optimisation unit for the service, the runtime and their dependencies
# (hyper, tokio, axum): less CPU per acknowledged write (the primary took
# about 11% less at 64 clients; BENCHMARKS.md, "gcperf3"). A panic stops
# the process instead of one task: every acknowledged write is in the
# fsynced log, which a restart replays, and the runtime catches no panic.
[profile.release]
lto = "fat"
codegen-units = 1
panic = "abort"
"#,
        name = c.crate_name
    )
}

fn main_rs(c: &Contract) -> String {
    let replication = match (c.max_lag, c.quorum) {
        (Some(lag), _) => format!(
            "Replication::Async {{\n            max_lag: {},\n        }}",
            duration_literal(lag)
        ),
        (None, Some(q)) => format!("Replication::Sync {{ quorum: {q} }}"),
        (None, None) => "Replication::None".to_string(),
    };
    let holdup = match c.holdup {
        Some(h) => format!("Some({})", duration_literal(h)),
        None => "None".to_string(),
    };
    format!(
        r#"//! The service {service:?}, generated by `nines gen` from its spec.
//!
//! Everything the spec promises is enforced by `nines-runtime` (copied into
//! `nines-runtime/`): fill in your own logic around it, keep the contract.

use nines_runtime::{{Limits, Replication, ServiceConfig}};
use std::process::ExitCode;
use std::time::Duration;

/// The contract, as the spec states it.
fn config() -> ServiceConfig {{
    ServiceConfig {{
        service: {service:?}.to_string(),
        gated: {gated},
        flush_within: {flush},
        retry_after: {retry},
        holdup: {holdup},
        replication: {replication},
        limits: Limits::default(),
        default_port: 8080,
        power_poll: Duration::from_millis(250),
        power_grace: Duration::from_secs(3),
        group_commit: true,
        peer_timeout: Duration::from_secs(2),
    }}
}}

fn main() -> ExitCode {{
    nines_runtime::run(config())
}}
"#,
        service = c.service,
        gated = c.gated,
        flush = duration_literal(c.flush_within),
        retry = duration_literal(c.retry_after),
    )
}

fn readme(c: &Contract) -> String {
    let mut contracts = Vec::new();
    contracts.push(
        "- **Durability.** A write is acknowledged only once it is in an append-only, checksummed log on disk and fsynced (group commit batches concurrent writes into one fsync). A torn tail is cut on restart."
            .to_string(),
    );
    if c.gated {
        contracts.push(format!(
            "- **UPS write-gating.** The power monitor reads `ups.status` from NUT's `upsd` (`--power nut://HOST:PORT/UPS`). On `OB` or `LB` writes are refused with `503` and `Retry-After: {}`, cached writes are flushed within {:?}{}; reads keep working. If upsd cannot be reached the gate closes after a grace period.",
            retry_after_header(c.retry_after),
            c.flush_within,
            c.holdup.map(|h| format!(" (the UPS holds {h:?})")).unwrap_or_default()
        ));
    }
    if let Some(lag) = c.max_lag {
        contracts.push(format!(
            "- **Async replication** to {}: records are shipped in order, applied once per sequence number; when a peer lags more than {lag:?} the gate closes for writes until it catches up.",
            c.peers.join(", ")
        ));
    }
    if let Some(q) = c.quorum {
        contracts.push(format!(
            "- **Sync replication** to {}: a write is acknowledged once {q} copies (the local one counts) are durable, otherwise refused as retryable, leaving no trace.",
            c.peers.join(", ")
        ));
    }
    format!(
        "# {name}\n\nGenerated by `nines gen` for the service `{name}`. Build and test:\n\n```sh\ncargo build --release\ncargo test\n```\n\nRun (writes gated on a status file; `nut://127.0.0.1:3493/ups` for a real upsd):\n\n```sh\necho OL > ups.status\nexport NINES_PEER_TOKEN=change-me\ntarget/release/{name} --data-dir data --power file:ups.status{peers}\n```\n\nIt serves `PUT/GET/DELETE /v1/kv/{{key}}`, `GET /healthz`, `GET /readyz`, `GET /metrics` and, for peers, `POST /v1/replicate` (bearer token). It listens on 127.0.0.1:8080 unless `--listen` says otherwise.\n\n## Tests\n\n`cargo test` runs `tests/e2e.rs`: this binary started as a primary and two peers on loopback and checked from outside over HTTP against each contract below (acknowledged on line power; `503` within a second of the UPS going on battery, reads still served; fail-safe when upsd is unreachable; every acknowledged write kept across `kill -9`, on the peers too; the replication rules; the peer token; size limits). The UPS is the real NUT daemon (`apt-get install nut-server nut-client`); without it a status file stands in, except under `CI=true`, where a missing daemon fails the test. `cargo clippy --all-targets -- -D warnings` is clean.\n\n## The contracts from the spec\n\n{contracts}\n\nEvery refusal is `503` with `Retry-After` and a JSON body naming the reason, with `\"retryable\": true`: the error ripples back and the client retries without losing anything.\n",
        name = c.crate_name,
        peers = if c.peers.is_empty() { "" } else { " --peer http://127.0.0.1:9101" },
        contracts = contracts.join("\n"),
    )
}

/// `Retry-After` as the runtime sends it: whole seconds, rounded up, at least 1.
fn retry_after_header(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

/// The project's end-to-end test: the spec's facts as constants, then the
/// scenarios every generated service carries (shared with the runtime's own
/// end-to-end test of its example binaries).
fn e2e_test(c: &Contract) -> String {
    let bin_env = format!("CARGO_BIN_EXE_{}", c.crate_name);
    let option = |v: Option<u64>| match v {
        Some(v) => format!("Some({v})"),
        None => "None".to_string(),
    };
    format!(
        r#"//! End to end, from outside over HTTP: this service's binary started as a
//! primary and two peers on loopback, checked against the contracts of its
//! spec (UPS write-gating with the real NUT daemon where installed,
//! durability across `kill -9`, replication, retryable refusals, the peer
//! token and size limits). Under `CI=true` every program a scenario needs must
//! be installed; elsewhere a missing `upsd` is replaced by a status file.

mod support;

/// The service under test.
const BIN: &str = env!({bin:?});
/// From the spec: `writes {{ gated by ups }}`.
const GATED: bool = {gated};
/// From the spec: `reject retryable after`, as the `Retry-After` header.
const RETRY_AFTER: &str = "{retry}";
/// From the spec: `replicate async ... max lag`, in milliseconds.
const MAX_LAG_MS: Option<u64> = {max_lag};
/// From the spec: `replicate sync ... quorum`.
const QUORUM: Option<u64> = {quorum};

{scenarios}"#,
        bin = bin_env,
        gated = c.gated,
        retry = retry_after_header(c.retry_after),
        max_lag = option(
            c.max_lag
                .map(|d| d.as_millis().min(u64::MAX as u128) as u64)
        ),
        quorum = option(c.quorum.map(u64::from)),
        scenarios = runtime_files::TEST_SCENARIOS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_crate_names_and_escaped_literals() {
        assert_eq!(crate_name("bigtable-a"), "bigtable-a");
        assert_eq!(crate_name("9x"), "svc-9x");
        let c = Contract {
            service: "evil\"); std::process::exit(1); (\"".into(),
            crate_name: crate_name("evil"),
            gated: true,
            flush_within: Duration::from_secs(45),
            retry_after: Duration::from_secs(2),
            holdup: Some(Duration::from_secs(600)),
            max_lag: Some(Duration::from_secs(30)),
            quorum: None,
            peers: vec!["b".into()],
        };
        let main = main_rs(&c);
        assert!(main.contains(r#"service: "evil\"); std::process::exit(1); (\"".to_string()"#));
        assert!(main.contains("flush_within: Duration::from_millis(45000)"));
        assert!(main.contains("max_lag: Duration::from_millis(30000)"));
    }
}

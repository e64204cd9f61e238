//! The catalogue of built-in rules: name, default level, where each is
//! written. `nines explain NAME` and `docs/rules.md` describe each one.

use crate::syntax::ast::Level;

/// Where a rule is implemented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// In the policy language, in `src/policy/prelude.nines`.
    Prelude,
    /// In Rust, in `src/policy/builtin.rs` (needs graph algorithms or the
    /// calculator's detail).
    Rust,
    /// In the front end (`src/model/resolve.rs`), raised while resolving.
    FrontEnd,
}

/// A built-in rule.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// Its name: the code of its findings and what `lint { }` names.
    pub name: &'static str,
    /// Its level unless `lint { }` says otherwise.
    pub level: Level,
    /// What it catches, in one line.
    pub summary: &'static str,
    /// Where it is implemented.
    pub written: Written,
}

const fn rule(name: &'static str, level: Level, written: Written, summary: &'static str) -> Rule {
    Rule {
        name,
        level,
        summary,
        written,
    }
}

/// Every built-in rule.
pub const RULES: &[Rule] = &[
    rule(
        "slo-infeasible",
        Level::Deny,
        Written::Prelude,
        "composed availability below the service's SLO",
    ),
    rule(
        "layer-guarantee",
        Level::Deny,
        Written::Prelude,
        "a service composes below its layer's `guarantees`",
    ),
    rule(
        "layer-assumption",
        Level::Deny,
        Written::Prelude,
        "an `assumes` above what the lower layer guarantees",
    ),
    rule(
        "extra-nine",
        Level::Warn,
        Written::Prelude,
        "a hard dependency less than one nine above the dependent's SLO",
    ),
    rule(
        "single-point-of-failure",
        Level::Warn,
        Written::Rust,
        "one component whose failure alone downs a service that has an SLO",
    ),
    rule(
        "writes-ungated",
        Level::Deny,
        Written::Prelude,
        "`writes` declared but not gated by a UPS",
    ),
    rule(
        "gated-without-ups",
        Level::Deny,
        Written::Prelude,
        "gated by ups, but some instance's domains have no UPS",
    ),
    rule(
        "flush-exceeds-holdup",
        Level::Deny,
        Written::Prelude,
        "cached writes need longer to flush than the UPS holds",
    ),
    rule(
        "reject-not-retryable",
        Level::Deny,
        Written::Prelude,
        "a gated service whose refusal is not retryable",
    ),
    rule(
        "replica-shares-domain",
        Level::Deny,
        Written::Rust,
        "a replication target that fails with the source (shares a domain)",
    ),
    rule(
        "lag-exceeds-rpo",
        Level::Deny,
        Written::Prelude,
        "`max lag` above the service's `rpo`",
    ),
    rule(
        "failover-capacity",
        Level::Warn,
        Written::Rust,
        "with one domain down, the remaining replicas cannot carry the peak",
    ),
    rule(
        "budget-overcommitted",
        Level::Warn,
        Written::Rust,
        "dependencies alone consume more than the service's budget",
    ),
    rule(
        "unused-domain",
        Level::Warn,
        Written::FrontEnd,
        "a domain on which nothing is placed",
    ),
    rule(
        "no-availability",
        Level::Warn,
        Written::FrontEnd,
        "a service with no availability of its own and no dependencies",
    ),
];

/// The built-in rule of this name.
pub fn lookup(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

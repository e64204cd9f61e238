//! `nines explain CODE`: a paragraph and an example for every diagnostic code.

/// One entry of the catalogue.
pub struct Explanation {
    /// The code, without `nines::`.
    pub code: &'static str,
    /// One line.
    pub summary: &'static str,
    /// The paragraph.
    pub text: &'static str,
    /// A spec that raises it.
    pub example: &'static str,
    /// For rules: the same spec fixed, which passes (empty for other codes).
    pub passing: &'static str,
}

/// Every code nines can emit.
pub const CATALOGUE: &[Explanation] = &[
    Explanation {
        code: "syntax",
        summary: "the text does not follow the grammar",
        text: "The spec could not be parsed at this point. The message lists what the grammar \
               expected there. Keywords (service, layer, domain, requires, any, of, in, ...) cannot \
               be used as names; names are lower case, `[a-z][a-z0-9_-]*`.",
        example: "service api { slo 99.9 }   // an availability needs `%` or `nines`",
        passing: "",
    },
    Explanation {
        code: "too-deep",
        summary: "brackets nest deeper than nines accepts",
        text: "Parentheses and braces may nest at most 64 levels, and an expression at most 128 \
               operators deep. Deeper nesting is refused \
               before parsing so that no input can exhaust the parser's stack.",
        example: "policy p { for s in services require ((((((((((...)))))))))) }",
        passing: "",
    },
    Explanation {
        code: "not-utf8",
        summary: "the file is not UTF-8 text",
        text: "Specs are UTF-8 text. The label points at the first byte that is not valid UTF-8.",
        example: "(a file saved as Latin-1 with an accented comment)",
        passing: "",
    },
    Explanation {
        code: "unknown-name",
        summary: "a reference to a domain, layer or service that is not declared",
        text: "Every name a spec refers to must be declared in the spec or a file it imports. \
               The help suggests the closest declared name, or says when the name exists as \
               another kind of thing (a domain where a service was expected).",
        example: "service web { requires chuby }   // did you mean `chubby`?",
        passing: "",
    },
    Explanation {
        code: "duplicate-name",
        summary: "two declarations share a name",
        text: "Domains, layers, services and policies each have one namespace for the whole \
               spec, across all its files. Both places are shown.",
        example: "service api { }\nservice api { }",
        passing: "",
    },
    Explanation {
        code: "duplicate-attribute",
        summary: "an attribute that may appear once appears twice",
        text: "`slo`, `replicas`, `placed in`, `writes`, `replicate`, `rpo`, `traffic`, `capacity`, \
               `mtbf`, `mttr`, a layer's `guarantees` and the spec's `window` may each be given \
               once. `requires` and `uses` accumulate.",
        example: "service api { slo 99.9% slo 99.95% }",
        passing: "",
    },
    Explanation {
        code: "dependency-cycle",
        summary: "a service requires itself, directly or through others; or a domain is inside itself",
        text: "Composition needs the hard dependencies to form a DAG. The message gives the \
               whole path of the cycle. Make one edge `uses` (soft) if it does not take the \
               service down.",
        example: "service a { requires b }\nservice b { requires a }",
        passing: "",
    },
    Explanation {
        code: "layering",
        summary: "a service depends on a service of a layer that is not below its own",
        text: "A service may require or use services of its own layer or of layers below it \
               (transitively, through `above`). Depending on a higher or unrelated layer breaks \
               the layers' handshake.",
        example: "layer low { service db { requires web } }\nlayer high above low { service web { } }",
        passing: "",
    },
    Explanation {
        code: "layer-cycle",
        summary: "layers are above each other in a cycle",
        text: "`above` declares which layers stand below; they must form a DAG, bottom first.",
        example: "layer a above b { }\nlayer b above a { }",
        passing: "",
    },
    Explanation {
        code: "out-of-range",
        summary: "a quantity outside what it can mean",
        text: "Availabilities are above 0% and at most 100% (`N nines` needs N > 0); durations \
               are finite and not negative; counts fit in 32 bits; maintenance drains for less \
               than its period; incidents leave some time up.",
        example: "service api { availability 100.5% }",
        passing: "",
    },
    Explanation {
        code: "bad-distribution",
        summary: "a failure or repair distribution with a parameter nines cannot use",
        text: "`failures` and `repairs` name the shape of the times between failures and of the \
               repair times that `nines simulate` draws; the mean always comes from the own \
               availability and its time scale (`mtbf`/`mttr`). `weibull shape K` needs \
               0.1 ≤ K ≤ 100 and `lognormal sigma S` needs 0.01 ≤ S ≤ 4. A distribution on a \
               component without an own availability shapes nothing and is refused.",
        example: "service api { mtbf 30d mttr 1h repairs lognormal sigma 0 }",
        passing: "",
    },
    Explanation {
        code: "availability-conflict",
        summary: "own availability given in two forms, or mtbf without mttr",
        text: "A component's own availability has exactly one form: `availability A`, \
               `mtbf M mttr R` (A = M / (M + R)), or `incidents F detect D mitigate M` \
               (unavailability F × (D + M)). `mttr` alone beside `availability` is allowed as a \
               time scale for simulation.",
        example: "service api { availability 99.9% mtbf 30d mttr 1h }",
        passing: "",
    },
    Explanation {
        code: "bad-quorum",
        summary: "a need, K of (...) or sync quorum that cannot be met or is zero",
        text: "`need` is between 1 and the replica count; `K of (...)` has 1 ≤ K ≤ members; a \
               sync `quorum` counts the local copy and is at most targets + 1.",
        example: "service lock { replicas 3 need 4 }",
        passing: "",
    },
    Explanation {
        code: "placement-conflict",
        summary: "a service is both `placed in` one domain and dealt `across` several",
        text: "Use `placed in D` for instances in one domain, or `replicas N across A, B, C` to \
               deal them round-robin over several domains.",
        example: "service api { replicas 2 across dc-a, dc-b placed in dc-a }",
        passing: "",
    },
    Explanation {
        code: "import-not-found",
        summary: "an imported file cannot be read",
        text: "Imports are relative to the importing file's folder.",
        example: "import \"commn.nines\"",
        passing: "",
    },
    Explanation {
        code: "import-cycle",
        summary: "files import each other in a cycle (or nest too deeply)",
        text: "A spec's files form a DAG of imports; a file may not import itself, directly or \
               indirectly. The help lists the cycle.",
        example: "// a.nines\nimport \"a.nines\"",
        passing: "",
    },
    Explanation {
        code: "policy-type",
        summary: "a policy expression that does not type-check",
        text: "Policies are type-checked before they run. Each expression has a type (bool, number, \
               availability, duration, rate, string, service, layer, domain, lists and optionals); \
               members must exist on the value they are read from, comparisons and arithmetic need \
               compatible types (a duration is never compared with an availability), and an \
               optional value (`s.slo`, `s.rpo`, `s.holdup`, ...) must be guarded by `has(...)` \
               before it is read: in `where has(x)`, or on the left of `and`.",
        example: "policy p { for s in services require s.rpo <= 1m }   // s.rpo may be missing",
        passing: "policy p { for s in services where has(s.rpo) require s.rpo <= 1m }",
    },
    Explanation {
        code: "policy-limit",
        summary: "a policy ranges over too many combinations and was stopped",
        text: "Each policy may take 20 million evaluation steps (binding combinations and \
               iterations of quantifiers). A policy over every pair or triple of services of a \
               large platform would run for hours; it is stopped, the violations found so far are \
               reported, and this error says so. Bind through members (`d in s.requires`) rather \
               than whole collections.",
        example: "policy pairs { for a in services, b in services, c in services require a != b or a == c }",
        passing: "",
    },
    Explanation {
        code: "slo-infeasible",
        summary: "a service's composed availability is below its SLO",
        text: "The composed availability (own availability, instances, domains and every hard \
               dependency, counted exactly over what they share) is what the service can deliver \
               in the long run; an SLO above it is a budget the service will overrun. The help \
               names the weakest link (the component whose perfection would save the most \
               downtime) and, for each dependency that could fix it alone, the own availability \
               it would need (as incidents a year with the incident form). Built-in, deny.",
        example: "service db { availability 99.9% }\nservice api { slo 99.95% availability 99.99% requires db }",
        passing: "service db { availability 99.99% }\nservice api { slo 99.95% availability 99.99% requires db }",
    },
    Explanation {
        code: "layer-guarantee",
        summary: "a service composes below the guarantee of its layer",
        text: "A layer's `guarantees A` promises every layer above that each of its services \
               composes to at least A. A service below it breaks the promise that the layers above \
               were built on. Built-in, deny.",
        example: "layer storage {\n  guarantees 99.99%\n  service disk { availability 99.9% }\n}",
        passing: "layer storage {\n  guarantees 99.9%\n  service disk { availability 99.9% }\n}",
    },
    Explanation {
        code: "layer-assumption",
        summary: "a layer assumes more than the layer below guarantees",
        text: "`assumes L A` is a handshake: the layer builds on L being at least A available. L \
               must declare `guarantees`, and its guarantee must be at least A; otherwise the upper \
               layer's own numbers rest on a promise nobody made. (Assuming a layer that is not \
               below is a `layering` error.) Built-in, deny.",
        example: "layer net { guarantees 99.9% }\nlayer app above net { assumes net 99.99% }",
        passing: "layer net { guarantees 99.99% }\nlayer app above net { assumes net 99.99% }",
    },
    Explanation {
        code: "extra-nine",
        summary: "a hard dependency is less than one nine better than the dependent's SLO",
        text: "A service that must meet N nines needs each hard dependency at about N+1: the \
               dependency's downtime adds to the service's own, so a dependency at the same level \
               alone spends the whole budget. Built-in, warn.",
        example: "service db { availability 99.95% }\nservice api { slo 99.9% availability 99.99% requires db }",
        passing: "service db { availability 99.995% }\nservice api { slo 99.9% availability 99.99% requires db }",
    },
    Explanation {
        code: "single-point-of-failure",
        summary: "one component whose failure alone takes down a service with an SLO",
        text: "The calculator lists every component (a domain, a dependency, the service's own \
               instance) whose failure alone takes the service down. A domain that holds every \
               instance of the spec (the platform itself, such as a one-region spec's region) is \
               not reported. Replicate across domains, or put the dependency behind `any(...)`. \
               Built-in, warn.",
        example: "service db { availability 99.99% }\nservice api { slo 99.9% availability 99.99% requires db }",
        passing: "domain zone a { availability 99.99% }\ndomain zone b { availability 99.99% }\nservice db { availability 99.99% replicas 2 need 1 across a, b }\nservice api { slo 99.9% availability 99.99% replicas 2 need 1 across a, b requires db }",
    },
    Explanation {
        code: "writes-ungated",
        summary: "`writes` declared but not gated by a UPS",
        text: "A service that caches acknowledged writes loses them if power fails before they \
               reach disk. `gated by ups` makes it stop accepting writes while on battery, so the \
               cache drains in time. Built-in, deny.",
        example: "domain power p { availability 99.9% ups holdup 5m }\nservice db { availability 99.9% placed in p writes { flush within 30s } }",
        passing: "domain power p { availability 99.9% ups holdup 5m }\nservice db { availability 99.9% placed in p writes { gated by ups flush within 30s reject retryable after 2s } }",
    },
    Explanation {
        code: "gated-without-ups",
        summary: "writes gated by a UPS, but some instance runs where there is none",
        text: "`gated by ups` only protects instances under a domain with `ups holdup`. An \
               instance placed elsewhere never learns that power is failing. Built-in, deny.",
        example: "domain power p { availability 99.9% }\nservice db { availability 99.9% placed in p writes { gated by ups reject retryable } }",
        passing: "domain power p { availability 99.9% ups holdup 5m }\nservice db { availability 99.9% placed in p writes { gated by ups reject retryable } }",
    },
    Explanation {
        code: "flush-exceeds-holdup",
        summary: "cached writes need longer to flush than the UPS holds",
        text: "When mains power is lost the service stops accepting writes and flushes what it \
               cached; that must finish before the battery runs out (the shortest holdup over the \
               domains of its instances). Built-in, deny.",
        example: "domain power p { availability 99.9% ups holdup 30s }\nservice db { availability 99.9% placed in p writes { gated by ups flush within 45s reject retryable } }",
        passing: "domain power p { availability 99.9% ups holdup 5m }\nservice db { availability 99.9% placed in p writes { gated by ups flush within 45s reject retryable } }",
    },
    Explanation {
        code: "reject-not-retryable",
        summary: "a gated service whose refusal is not retryable",
        text: "A write refused on battery must travel back to the user as a retryable error \
               (`reject retryable`, a 503 with Retry-After), so the client retries and nothing is \
               lost. A plain failure makes the client give up. Built-in, deny.",
        example: "domain power p { availability 99.9% ups holdup 5m }\nservice db { availability 99.9% placed in p writes { gated by ups reject } }",
        passing: "domain power p { availability 99.9% ups holdup 5m }\nservice db { availability 99.9% placed in p writes { gated by ups reject retryable after 2s } }",
    },
    Explanation {
        code: "replica-shares-domain",
        summary: "a replication target that fails together with its source",
        text: "A replica is there to survive the failure of the source's domain. If the target \
               runs in a domain (or under a domain) that the source also runs in, one failure \
               there loses the data and its copy. A domain that holds every instance of the spec \
               (the platform itself) does not count. Built-in, deny.",
        example: "domain datacenter a { availability 99.9% }\nservice db { availability 99.9% placed in a replicate async to copy max lag 30s }\nservice copy { availability 99.9% placed in a }\nservice web { availability 99.9% }",
        passing: "domain datacenter a { availability 99.9% }\ndomain datacenter b { availability 99.9% }\nservice db { availability 99.9% placed in a replicate async to copy max lag 30s }\nservice copy { availability 99.9% placed in b }",
    },
    Explanation {
        code: "lag-exceeds-rpo",
        summary: "asynchronous replication may lag more than the recovery point objective",
        text: "`max lag` bounds how far the replica may fall behind, which is how much data a \
               failover loses; it must not exceed the service's `rpo`. Built-in, deny.",
        example: "service copy { availability 99.9% }\nservice db { availability 99.9% replicate async to copy max lag 5m rpo 1m }",
        passing: "service copy { availability 99.9% }\nservice db { availability 99.9% replicate async to copy max lag 30s rpo 1m }",
    },
    Explanation {
        code: "failover-capacity",
        summary: "with one domain down, the remaining replicas cannot carry the peak",
        text: "`traffic R peak F` and `capacity C per replica` say what the service must carry. \
               With any one domain down (failed, or drained for intrusive maintenance) the \
               replicas left must still carry R × F; the finding names the domain whose loss \
               leaves the fewest. Built-in, warn.",
        example: "domain datacenter a { availability 99.9% }\ndomain datacenter b { availability 99.9% }\nservice web { availability 99.9% replicas 2 need 1 across a, b traffic 10k rps peak 2x capacity 15k rps per replica }",
        passing: "domain datacenter a { availability 99.9% }\ndomain datacenter b { availability 99.9% }\nservice web { availability 99.9% replicas 4 need 1 across a, b traffic 10k rps peak 2x capacity 15k rps per replica }",
    },
    Explanation {
        code: "budget-overcommitted",
        summary: "what a service stands on consumes more than its whole budget",
        text: "The downtime the service would still have were its own instances perfect (its \
               domains and dependencies) exceeds its error budget: no work on the service itself \
               can meet the SLO. The help lists the largest consumers. Built-in, warn.",
        example: "service db { availability 99.5% }\nservice api { slo 99.9% availability 99.99% requires db }",
        passing: "service db { availability 99.99% }\nservice api { slo 99.9% availability 99.99% requires db }",
    },
    Explanation {
        code: "unused-domain",
        summary: "a domain holds no service (warning)",
        text: "No service instance is placed in the domain or in any domain inside it, so it \
               affects no number. Silence with `lint { allow unused-domain }` when it is \
               declared for the record.",
        example: "domain rack r9 { availability 99.9% }",
        passing: "",
    },
    Explanation {
        code: "no-availability",
        summary: "a service states no availability of its own (warning)",
        text: "The service is taken as perfect on its own; its composed availability then comes \
               only from its domains and dependencies. State it explicitly, even as \
               `availability 100%`.",
        example: "service api { requires db }",
        passing: "",
    },
    Explanation {
        code: "unknown-rule",
        summary: "a `lint` entry names no rule or policy (warning)",
        text: "`lint { deny X  warn Y  allow Z }` sets the level of built-in rules and of the \
               spec's policies by name. A name that is neither is probably a typo; the help \
               suggests the closest one.",
        example: "lint { allow unused-domian }",
        passing: "",
    },
];

/// The catalogue entry for a code (with or without the `nines::` prefix).
pub fn lookup(code: &str) -> Option<&'static Explanation> {
    let code = code.trim().trim_start_matches("nines::");
    CATALOGUE.iter().find(|e| e.code == code)
}

/// The one-line summary of a code.
pub fn summary(code: &str) -> Option<&'static str> {
    lookup(code).map(|e| e.summary)
}

/// The text `nines explain` prints.
pub fn render(e: &Explanation) -> String {
    let indent = |text: &str| -> String { text.lines().map(|l| format!("    {l}\n")).collect() };
    let mut out = format!("nines::{}: {}\n\n{}\n", e.code, e.summary, e.text);
    if let Some(rule) = crate::policy::rules::lookup(e.code) {
        out.push_str(&format!(
            "\nA built-in rule, `{}` unless `lint {{ deny|warn|allow {} }}` says otherwise.\n",
            rule.level.keyword(),
            e.code
        ));
    }
    if e.passing.is_empty() {
        out.push_str(&format!("\nExample:\n\n{}", indent(e.example)));
    } else {
        out.push_str(&format!(
            "\nRaised by:\n\n{}\nFixed:\n\n{}",
            indent(e.example),
            indent(e.passing)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_found() {
        for e in CATALOGUE {
            assert_eq!(CATALOGUE.iter().filter(|x| x.code == e.code).count(), 1);
            assert!(lookup(&format!("nines::{}", e.code)).is_some());
        }
        assert!(lookup("no-such-code").is_none());
    }
}

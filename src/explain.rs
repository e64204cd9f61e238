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
    },
    Explanation {
        code: "too-deep",
        summary: "brackets nest deeper than nines accepts",
        text: "Parentheses and braces may nest at most 64 levels, and an expression at most 128 \
               operators deep. Deeper nesting is refused \
               before parsing so that no input can exhaust the parser's stack.",
        example: "policy p { for s in services require ((((((((((...)))))))))) }",
    },
    Explanation {
        code: "not-utf8",
        summary: "the file is not UTF-8 text",
        text: "Specs are UTF-8 text. The label points at the first byte that is not valid UTF-8.",
        example: "(a file saved as Latin-1 with an accented comment)",
    },
    Explanation {
        code: "unknown-name",
        summary: "a reference to a domain, layer or service that is not declared",
        text: "Every name a spec refers to must be declared in the spec or a file it imports. \
               The help suggests the closest declared name, or says when the name exists as \
               another kind of thing (a domain where a service was expected).",
        example: "service web { requires chuby }   // did you mean `chubby`?",
    },
    Explanation {
        code: "duplicate-name",
        summary: "two declarations share a name",
        text: "Domains, layers, services and policies each have one namespace for the whole \
               spec, across all its files. Both places are shown.",
        example: "service api { }\nservice api { }",
    },
    Explanation {
        code: "duplicate-attribute",
        summary: "an attribute that may appear once appears twice",
        text: "`slo`, `replicas`, `placed in`, `writes`, `replicate`, `rpo`, `traffic`, `capacity`, \
               `mtbf`, `mttr`, a layer's `guarantees` and the spec's `window` may each be given \
               once. `requires` and `uses` accumulate.",
        example: "service api { slo 99.9% slo 99.95% }",
    },
    Explanation {
        code: "dependency-cycle",
        summary: "a service requires itself, directly or through others; or a domain is inside itself",
        text: "Composition needs the hard dependencies to form a DAG. The message gives the \
               whole path of the cycle. Make one edge `uses` (soft) if it does not take the \
               service down.",
        example: "service a { requires b }\nservice b { requires a }",
    },
    Explanation {
        code: "layering",
        summary: "a service depends on a service of a layer that is not below its own",
        text: "A service may require or use services of its own layer or of layers below it \
               (transitively, through `above`). Depending on a higher or unrelated layer breaks \
               the layers' handshake.",
        example: "layer low { service db { requires web } }\nlayer high above low { service web { } }",
    },
    Explanation {
        code: "layer-cycle",
        summary: "layers are above each other in a cycle",
        text: "`above` declares which layers stand below; they must form a DAG, bottom first.",
        example: "layer a above b { }\nlayer b above a { }",
    },
    Explanation {
        code: "layer-assumption",
        summary: "a layer assumes more than the lower layer guarantees, or assumes a layer that is not below",
        text: "`assumes L A` is a handshake: layer L must be below, must declare `guarantees`, \
               and its guarantee must be at least A.",
        example: "layer net { guarantees 99.9% }\nlayer app above net { assumes net 99.99% }",
    },
    Explanation {
        code: "out-of-range",
        summary: "a quantity outside what it can mean",
        text: "Availabilities are above 0% and at most 100% (`N nines` needs N > 0); durations \
               are finite and not negative; counts fit in 32 bits; maintenance drains for less \
               than its period; incidents leave some time up.",
        example: "service api { availability 100.5% }",
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
    },
    Explanation {
        code: "availability-conflict",
        summary: "own availability given in two forms, or mtbf without mttr",
        text: "A component's own availability has exactly one form: `availability A`, \
               `mtbf M mttr R` (A = M / (M + R)), or `incidents F detect D mitigate M` \
               (unavailability F × (D + M)). `mttr` alone beside `availability` is allowed as a \
               time scale for simulation.",
        example: "service api { availability 99.9% mtbf 30d mttr 1h }",
    },
    Explanation {
        code: "bad-quorum",
        summary: "a need, K of (...) or sync quorum that cannot be met or is zero",
        text: "`need` is between 1 and the replica count; `K of (...)` has 1 ≤ K ≤ members; a \
               sync `quorum` counts the local copy and is at most targets + 1.",
        example: "service lock { replicas 3 need 4 }",
    },
    Explanation {
        code: "placement-conflict",
        summary: "a service is both `placed in` one domain and dealt `across` several",
        text: "Use `placed in D` for instances in one domain, or `replicas N across A, B, C` to \
               deal them round-robin over several domains.",
        example: "service api { replicas 2 across dc-a, dc-b placed in dc-a }",
    },
    Explanation {
        code: "import-not-found",
        summary: "an imported file cannot be read",
        text: "Imports are relative to the importing file's folder.",
        example: "import \"commn.nines\"",
    },
    Explanation {
        code: "import-cycle",
        summary: "files import each other in a cycle (or nest too deeply)",
        text: "A spec's files form a DAG of imports; a file may not import itself, directly or \
               indirectly. The help lists the cycle.",
        example: "// a.nines\nimport \"a.nines\"",
    },
    Explanation {
        code: "unused-domain",
        summary: "a domain holds no service (warning)",
        text: "No service instance is placed in the domain or in any domain inside it, so it \
               affects no number. Silence with `lint { allow unused-domain }` when it is \
               declared for the record.",
        example: "domain rack r9 { availability 99.9% }",
    },
    Explanation {
        code: "no-availability",
        summary: "a service states no availability of its own (warning)",
        text: "The service is taken as perfect on its own; its composed availability then comes \
               only from its domains and dependencies. State it explicitly, even as \
               `availability 100%`.",
        example: "service api { requires db }",
    },
    Explanation {
        code: "unknown-rule",
        summary: "a `lint` entry names no rule or policy (warning)",
        text: "`lint { deny X  warn Y  allow Z }` sets the level of built-in rules and of the \
               spec's policies by name. A name that is neither is probably a typo; the help \
               suggests the closest one.",
        example: "lint { allow unused-domian }",
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
    let example: String = e.example.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "nines::{}: {}\n\n{}\n\nExample:\n\n{}",
        e.code, e.summary, e.text, example
    )
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

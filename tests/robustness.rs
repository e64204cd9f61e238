//! The front end never panics, whatever the input, and the formatter is
//! idempotent and meaning-preserving: proptest over arbitrary strings and
//! over mutations of the real specs, plus explicit extreme inputs.

use std::path::{Path, PathBuf};

use nines::model::load::load_text;
use nines::model::{Model, OwnForm, Requirement};
use nines::syntax::format::format_source;
use proptest::prelude::*;
use proptest::test_runner::Config;

/// The real specs, read once.
fn specs() -> &'static [(String, String)] {
    static SPECS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    SPECS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
        let mut found: Vec<(String, String)> = std::fs::read_dir(&dir)
            .expect("specs/")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "nines"))
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("UTF-8 spec");
                (p.file_name().unwrap().to_string_lossy().into_owned(), text)
            })
            .collect();
        found.sort();
        assert!(!found.is_empty());
        found
    })
}

/// Everything the front end does with a text: parse, load (resolve, lint),
/// format, render its diagnostics.
fn exercise(text: &str) {
    let _ = nines::syntax::parse(text, 0);
    let loaded = load_text("fuzz.nines", text.to_string());
    let _ = nines::diagnostics::render_human(&loaded.diagnostics, &loaded.sources, false);
    let _ = nines::diagnostics::render_json(&loaded.diagnostics, &loaded.sources);
    if let Ok(formatted) = format_source(text) {
        check_format(text, &formatted);
    }
}

/// fmt(fmt(x)) == fmt(x), and the formatted text means the same.
fn check_format(original: &str, formatted: &str) {
    let again = format_source(formatted)
        .unwrap_or_else(|e| panic!("formatted text does not parse: {e:?}\n--- original\n{original}\n--- formatted\n{formatted}"));
    assert_eq!(
        again, formatted,
        "fmt is not idempotent\n--- original\n{original}"
    );
    let before = load_text("a.nines", original.to_string());
    let after = load_text("a.nines", formatted.to_string());
    assert_eq!(
        before.model.as_ref().map(summary),
        after.model.as_ref().map(summary),
        "formatting changed the model\n--- original\n{original}\n--- formatted\n{formatted}"
    );
    let codes = |l: &nines::Loaded| {
        l.diagnostics
            .iter()
            .map(|d| d.code.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        codes(&before),
        codes(&after),
        "formatting changed the diagnostics"
    );
}

fn requirement(model: &Model, r: &Requirement) -> String {
    match r {
        Requirement::Service(id, _) => model.service(*id).name.clone(),
        Requirement::AtLeast { k, of, any, .. } => {
            let members: Vec<String> = of.iter().map(|m| requirement(model, m)).collect();
            if *any {
                format!("any({})", members.join(", "))
            } else {
                format!("{k} of ({})", members.join(", "))
            }
        }
    }
}

/// A span-free description of a model.
fn summary(model: &Model) -> String {
    let mut out = format!("window {}\n", model.window.seconds);
    for d in &model.domains {
        out.push_str(&format!(
            "domain {} {} parent={:?} down={} {:?} maint={:?} ups={:?}\n",
            d.kind,
            d.name,
            d.parent.map(|p| &model.domain(p).name),
            d.own.down,
            own_form(&d.own.form),
            d.maintenance,
            d.ups_holdup,
        ));
    }
    for l in &model.layers {
        let above: Vec<&str> = l
            .above
            .iter()
            .map(|a| model.layer(*a).name.as_str())
            .collect();
        out.push_str(&format!(
            "layer {} above={above:?} rank={} guarantees={:?}\n",
            l.name,
            l.rank,
            l.guarantees.map(|g| g.0.down)
        ));
    }
    for s in &model.services {
        let instances: Vec<Option<&str>> = s
            .instances
            .iter()
            .map(|i| i.map(|d| model.domain(d).name.as_str()))
            .collect();
        let requires: Vec<String> = s.requires.iter().map(|r| requirement(model, r)).collect();
        let uses: Vec<&str> = s
            .uses
            .iter()
            .map(|(u, _)| model.service(*u).name.as_str())
            .collect();
        out.push_str(&format!(
            "service {} layer={:?} slo={:?} down={} {:?} mttr={:?} need={} instances={instances:?} requires={requires:?} uses={uses:?} rpo={:?} traffic={:?} capacity={:?}\n",
            s.name,
            s.layer.map(|l| &model.layer(l).name),
            s.slo.map(|x| x.0.down),
            s.own.down,
            own_form(&s.own.form),
            s.own.mttr,
            s.need,
            s.rpo.map(|r| r.0),
            s.traffic,
            s.capacity,
        ));
    }
    out.push_str(&format!("policies {}\n", model.policies.len()));
    out
}

fn own_form(form: &OwnForm) -> String {
    match form {
        OwnForm::Unspecified => "unspecified".into(),
        OwnForm::Availability(a) => format!("availability {}", a.down),
        OwnForm::MtbfMttr { mtbf, mttr } => format!("mtbf {} mttr {}", mtbf.seconds, mttr.seconds),
        OwnForm::Incidents {
            frequency,
            detect,
            mitigate,
        } => {
            format!(
                "incidents {} {} {}",
                frequency.per_second, detect.seconds, mitigate.seconds
            )
        }
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "any(",
    "of",
    "%",
    ",",
    ";",
    ".",
    ":",
    "\"",
    "\\",
    "//",
    "\n",
    " ",
    "-",
    "99999999999999999999999",
    "1e400",
    "1e400%",
    "0",
    "4 nines",
    "99.9%",
    "30d",
    "1h30m",
    "3x",
    "40k rps",
    "4/y",
    "service",
    "layer",
    "domain",
    "requires",
    "uses",
    "in",
    "above",
    "policy",
    "for",
    "require",
    "message",
    "\"{s}\"",
    "\"{\"",
    "x",
    "é",
    "\u{0}",
    "\u{200b}",
    "import \"x.nines\"",
    "replicas 3 need 2",
    "2 of (",
    "lint {",
    "window",
    "not",
    "and",
    "==",
    ">=",
];

#[derive(Clone, Debug)]
enum Mutation {
    Delete { at: usize, len: usize },
    Duplicate { at: usize, len: usize },
    Insert { at: usize, token: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 1usize..200).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Insert { at, token }),
    ]
}

fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut text = text.to_string();
    for m in mutations {
        match *m {
            Mutation::Delete { at, len } => {
                let start = boundary(&text, at);
                let end = boundary(&text, (start + len).min(text.len()));
                text.replace_range(start..end.max(start), "");
            }
            Mutation::Duplicate { at, len } => {
                let start = boundary(&text, at);
                let end = boundary(&text, (start + len).min(text.len())).max(start);
                let copy = text[start..end].to_string();
                text.insert_str(end, &copy);
            }
            Mutation::Insert { at, token } => {
                let at = boundary(&text, at);
                text.insert_str(at, TOKENS[token]);
            }
        }
    }
    text
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        exercise(&text);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(0..TOKENS.len(), 0..60)) {
        let text: Vec<&str> = tokens.iter().map(|t| TOKENS[*t]).collect();
        exercise(&text.join(" "));
    }
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn mutated_specs_never_panic(
        spec in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let specs = specs();
        let (_, text) = &specs[spec.index(specs.len())];
        exercise(&mutate(text, &mutations));
    }
}

#[test]
fn real_specs_format_idempotently_and_keep_their_meaning() {
    for (name, text) in specs() {
        let loaded = load_text(name.as_str(), text.clone());
        assert!(loaded.model.is_some(), "{name}: {:?}", loaded.diagnostics);
        let formatted = format_source(text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        check_format(text, &formatted);
        // Every comment survives formatting.
        let comments = |t: &str| {
            t.lines()
                .filter_map(|l| l.find("//").map(|i| l[i..].trim_end().to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            comments(text),
            comments(&formatted),
            "{name}: comments changed"
        );
    }
}

fn expect_code(text: &str, code: &str) {
    let loaded = load_text("extreme.nines", text.to_string());
    assert!(
        loaded.diagnostics.iter().any(|d| d.code == code),
        "expected `{code}`, got {:?}",
        loaded
            .diagnostics
            .iter()
            .map(|d| &d.code)
            .collect::<Vec<_>>()
    );
    assert!(format_source(text).is_err());
}

#[test]
fn hundred_thousand_nested_parentheses() {
    let text = format!(
        "policy p {{ for s in services require {}true{} }}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    expect_code(&text, "too-deep");
    // Unbalanced, too.
    expect_code(&"(".repeat(100_000), "too-deep");
}

#[test]
fn twenty_thousand_nested_blocks() {
    let text = format!("layer l {}{}", "{ ".repeat(20_000), "} ".repeat(20_000));
    expect_code(&text, "too-deep");
    let text = format!("service a {{ writes {} }}", "{".repeat(20_000));
    expect_code(&text, "too-deep");
}

#[test]
fn nesting_just_below_the_limit_is_a_syntax_error_not_a_crash() {
    let depth = nines::syntax::parser::MAX_NESTING - 1;
    let text = format!(
        "policy p {{ for s in services require {}true{} }}",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let loaded = load_text("deep.nines", text.clone());
    assert!(loaded.diagnostics.iter().all(|d| d.code != "too-deep"));
    exercise(&text);
}

#[test]
fn one_megabyte_line() {
    let long_name = format!("service a{} {{ availability 99.9% }}", "b".repeat(1 << 20));
    let loaded = load_text("long.nines", long_name.clone());
    assert!(loaded.model.is_some(), "{:?}", loaded.diagnostics);
    exercise(&long_name);
    let comment = format!(
        "// {}\nservice a {{ availability 99.9% }}",
        "x".repeat(1 << 20)
    );
    exercise(&comment);
    let garbage = format!("service a {{ {} }}", "% ".repeat(1 << 19));
    expect_code(&garbage, "syntax");
    let digits = format!("service a {{ availability {}% }}", "9".repeat(1 << 20));
    expect_code(&digits, "out-of-range");
}

#[test]
fn huge_numbers() {
    for text in [
        "service a { availability 1e400% }",
        "service a { availability 1e400 nines }",
        "service a { availability 99.9% mttr 1e400s }",
        "window 1e400d",
        "service a { availability 99.9% traffic 1e400k rps }",
        "service a { availability 99.9% traffic 1k rps peak 1e400x }",
        "service a { incidents 1e400/y detect 1m mitigate 1m }",
        "service a { availability 99.9% replicas 99999999999999999999 }",
        "service a { availability 99.9% replicas 4294967296 }",
        "policy p { for s in services require s.slo > 1e400 }",
    ] {
        let loaded = load_text("huge.nines", text.to_string());
        assert!(
            loaded.diagnostics.iter().any(|d| d.code == "out-of-range"),
            "{text}: {:?}",
            loaded.diagnostics
        );
        exercise(text);
    }
    // 1e-400% rounds to zero: out of range rather than a silent 0%.
    let loaded = load_text("tiny.nines", "service a { availability 1e-400% }".into());
    assert!(loaded.diagnostics.iter().any(|d| d.code == "out-of-range"));
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nines-robustness-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn a_file_that_imports_itself() {
    let dir = temp_dir("self-import");
    let file = dir.join("self.nines");
    std::fs::write(
        &file,
        "import \"self.nines\"\nservice a { availability 99.9% }\n",
    )
    .expect("write");
    let loaded = nines::load(std::slice::from_ref(&file));
    assert!(loaded.model.is_none());
    assert!(loaded.unreadable.is_empty());
    assert_eq!(
        loaded
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect::<Vec<_>>(),
        ["import-cycle"]
    );
    // Through `./` and a sub-folder and back: still the same file.
    std::fs::create_dir_all(dir.join("sub")).expect("sub");
    std::fs::write(dir.join("sub/b.nines"), "import \"../loop.nines\"\n").expect("write");
    std::fs::write(dir.join("loop.nines"), "import \"./sub/b.nines\"\n").expect("write");
    let loaded = nines::load(&[dir.join("loop.nines")]);
    assert!(
        loaded.diagnostics.iter().any(|d| d.code == "import-cycle"),
        "{:?}",
        loaded.diagnostics
    );
    // A long chain of distinct files stops at the depth limit.
    let chain = dir.join("chain");
    std::fs::create_dir_all(&chain).expect("chain");
    for i in 0..100 {
        std::fs::write(
            chain.join(format!("f{i}.nines")),
            format!("import \"f{}.nines\"\n", i + 1),
        )
        .expect("write");
    }
    std::fs::write(
        chain.join("f100.nines"),
        "service a { availability 99.9% }\n",
    )
    .expect("write");
    let loaded = nines::load(&[chain.join("f0.nines")]);
    assert!(
        loaded.diagnostics.iter().any(|d| d.code == "import-cycle"),
        "{:?}",
        loaded.diagnostics
    );
    // A folder that imports a folder is unreadable as an import.
    std::fs::write(dir.join("dir.nines"), "import \"sub\"\n").expect("write");
    let loaded = nines::load(&[dir.join("dir.nines")]);
    assert!(
        loaded
            .diagnostics
            .iter()
            .any(|d| d.code == "import-not-found"),
        "{:?}",
        loaded.diagnostics
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn long_operator_chains_are_refused_not_overflowed() {
    // No brackets, yet each builds a tree as deep as it is long.
    for text in [
        format!(
            "policy p {{ for s in services require {}true }}",
            "not ".repeat(50_000)
        ),
        format!(
            "policy p {{ for s in services require {}1 > 0 }}",
            "- ".repeat(50_000)
        ),
        format!(
            "policy p {{ for s in services require 1{} > 0 }}",
            " + 1".repeat(20_000)
        ),
        format!(
            "policy p {{ for s in services require s{} > 0 }}",
            ".a".repeat(50_000)
        ),
        format!(
            "policy p {{ for s in services require true message \"{{{}true}}\" }}",
            "not ".repeat(50_000)
        ),
    ] {
        expect_code(&text, "too-deep");
        exercise(&text);
    }
    // Just below the limit is fine.
    let depth = nines::syntax::parser::MAX_EXPR_DEPTH - 1;
    let text = format!(
        "policy p {{ for s in services require {}true }}",
        "not ".repeat(depth - 1)
    );
    let loaded = load_text("chain.nines", text);
    assert!(
        loaded.diagnostics.iter().all(|d| d.code != "too-deep"),
        "{:?}",
        loaded.diagnostics
    );
}

/// Pieces of policy expressions: members, literals and collections, some
/// well typed together, most not.
const ATOMS: &[&str] = &[
    "s",
    "d",
    "l",
    "s.composed",
    "s.slo",
    "s.budget",
    "s.downtime",
    "s.requires",
    "s.uses",
    "s.dependents",
    "s.replicas",
    "s.need",
    "s.domains",
    "s.holdup",
    "s.writes.gated",
    "s.writes.flush",
    "s.rpo",
    "s.max_lag",
    "s.traffic",
    "s.peak",
    "s.capacity",
    "s.layer",
    "s.nope",
    "d.composed",
    "d.slo",
    "l.guarantees",
    "l.services",
    "services",
    "layers",
    "domains",
    "99.9%",
    "4 nines",
    "30s",
    "1h",
    "40k rps",
    "3x",
    "2",
    "0",
    "\"x\"",
    "true",
    "false",
];

fn policy_expression() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(ATOMS).prop_map(str::to_string);
    leaf.prop_recursive(6, 48, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(
                    &["and", "or", "==", "!=", "<", "<=", ">=", "+", "-", "*", "/"][..]
                ),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("not {a}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (
                prop::sample::select(&["nines", "has", "count", "min", "max", "nope"][..]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("contains({a}, {b})")),
            (
                prop::sample::select(&["all", "any", "count", "min", "max"][..]),
                inner.clone(),
                inner
            )
                .prop_map(|(f, list, body)| format!("{f}(x in {list}: {body})")),
        ]
    })
}

/// A small platform with every kind of member present and missing.
const POLICY_PLATFORM: &str = "\
domain region r { availability 99.99% ups holdup 5m }
domain datacenter a in r { availability 99.9% }
domain datacenter b in r { availability 99.9% }
domain datacenter c in r { availability 99.99% }
layer base { guarantees 99.9%
  service db { availability 99.95% replicas 2 need 1 across a, b rpo 1m
    writes { gated by ups flush within 10s reject retryable after 1s }
    replicate async to copy max lag 30s }
  service copy { availability 99.99% placed in c }
}
layer top above base { assumes base 99.9%
  service api { slo 99.9% availability 99.99% requires db uses copy traffic 1k rps peak 2x capacity 2k rps per replica }
}
";

proptest! {
    #![proptest_config(config(256))]

    /// Random policies over a real platform: each is refused with a
    /// diagnostic or evaluated, never a panic.
    #[test]
    fn random_policies_never_panic(filter in policy_expression(), require in policy_expression(), message in policy_expression()) {
        let text = format!(
            "{POLICY_PLATFORM}policy p warn {{\n  for s in services, d in s.requires, l in layers\n  where {filter}\n  require {require}\n  message \"{{s}}: {{{message}}}\"\n}}\n"
        );
        let loaded = nines::lint::check_text("policy.nines", text, &nines::analysis::Options::default());
        let _ = nines::diagnostics::render_human(&loaded.diagnostics, &loaded.sources, false);
        let _ = nines::diagnostics::render_json(&loaded.diagnostics, &loaded.sources);
    }
}

/// Well-typed conditions: comparisons within one type, joined by `and`,
/// `or`, `not` and quantifiers, so that evaluation (not only the checker)
/// is exercised.
fn typed_condition() -> impl Strategy<Value = String> {
    const GROUPS: &[&[&str]] = &[
        &[
            "s.composed",
            "d.composed",
            "99.9%",
            "5 nines",
            "s.availability",
            "d.composed * s.composed",
        ],
        &[
            "s.downtime",
            "d.downtime",
            "30s",
            "1h",
            "s.downtime * 2",
            "d.downtime / 3",
        ],
        &[
            "s.replicas",
            "s.need",
            "count(s.requires)",
            "nines(s.composed)",
            "1.5",
            "count(x in s.uses: x.writes.gated)",
        ],
        &["s.name", "d.name", "\"db\""],
    ];
    let comparison = (
        0..GROUPS.len(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        prop::sample::select(&["==", "!=", "<", "<=", ">", ">="][..]),
    )
        .prop_map(|(g, a, b, op)| {
            let group = GROUPS[g];
            let op = if g == 3 { "==" } else { op };
            format!(
                "{} {op} {}",
                group[a.index(group.len())],
                group[b.index(group.len())]
            )
        });
    comparison.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            inner.prop_map(|a| format!("any(x in s.dependents: {a})")),
        ]
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn well_typed_policies_type_check_and_run(filter in typed_condition(), require in typed_condition()) {
        let text = format!(
            "{POLICY_PLATFORM}policy p warn {{\n  for s in services, d in s.requires\n  where {filter}\n  require {require}\n  message \"{{s}} {{d}} {{s.slo}} {{min(x in s.requires: x.composed)}}\"\n}}\n"
        );
        let loaded = nines::lint::check_text("policy.nines", text, &nines::analysis::Options::default());
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.code == "policy-type" || d.code == "unknown-name" || d.code == "syntax")
            .map(|d| format!("{d}"))
            .collect();
        prop_assert!(errors.is_empty(), "{errors:?}");
    }
}

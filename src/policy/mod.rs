//! Policies: the spec's own rules and the built-in ones, type-checked and
//! evaluated over the model and the calculator's numbers.
//!
//! Built-in rules that the language can say live in `prelude.nines`,
//! compiled into the binary and run like any user policy; the rest are in
//! [`builtin`]. Every finding is a [`Diagnostic`] whose code is the rule's
//! name, at the rule's level after `lint { }`: `deny` is an error, `warn` a
//! warning, `allow` mutes it.

pub mod builtin;
pub mod check;
pub mod eval;
pub mod rules;
pub mod run;
pub mod typed;
pub mod types;
pub mod value;
pub mod world;

use crate::analysis::Analysis;
use crate::diagnostics::{Diagnostic, Severity};
use crate::model::Model;
use crate::syntax::ast::{Item, Level, PolicyDecl};

pub use rules::{Rule, RULES};
pub use world::World;

/// The built-in rules written in the policy language.
pub const PRELUDE: &str = include_str!("prelude.nines");

/// The prelude's policies, parsed. Its text is part of the binary and a
/// test proves it parses and type-checks, so a failure here is a bug.
fn prelude_policies() -> Vec<PolicyDecl> {
    match crate::syntax::parser::parse(PRELUDE, u32::MAX) {
        Ok(file) => file
            .items
            .into_iter()
            .filter_map(|item| match item {
                Item::Policy(p) => Some(*p),
                _ => None,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The text of the file a user policy was declared in.
fn source_of<'a>(sources: &'a crate::diagnostics::SourceMap, policy: &PolicyDecl) -> &'a str {
    let file = policy.span.file;
    if (file as usize) < sources.files().len() {
        &sources.file(file).text
    } else {
        ""
    }
}

/// Type-checks and runs every policy and built-in rule over one model.
/// `analysis` gives `composed`, `budget` and `downtime` (and the Rust rules
/// that need the calculator); without it, they read as the service's own
/// numbers and those rules are skipped.
pub fn evaluate(
    model: &Model,
    analysis: Option<&Analysis>,
    sources: &crate::diagnostics::SourceMap,
) -> Vec<Diagnostic> {
    evaluate_in(&World::new(model, analysis), sources)
}

/// [`evaluate`] over a world already indexed (with its step limit).
pub fn evaluate_in(world: &World, sources: &crate::diagnostics::SourceMap) -> Vec<Diagnostic> {
    let model = world.model;
    // (level as declared, finding, undecided)
    let mut findings: Vec<(Level, Diagnostic, bool)> = Vec::new();
    let mut errors = Vec::new();
    let mut compiled = Vec::new();
    for policy in prelude_policies() {
        if let Ok(p) = check::compile(&policy, PRELUDE, true) {
            compiled.push(p);
        }
    }
    for policy in &model.policies {
        if let Some(rule) = rules::lookup(&policy.name.text) {
            errors.push(
                Diagnostic::error(
                    "duplicate-name",
                    format!("policy `{}` has the name of a built-in rule", rule.name),
                )
                .at(policy.name.span, "a built-in rule's name")
                .help(format!(
                    "rename the policy; `lint {{ deny {} }}` changes the built-in rule's level",
                    rule.name
                )),
            );
            continue;
        }
        match check::compile(policy, source_of(sources, policy), false) {
            Ok(p) => compiled.push(p),
            Err(e) => errors.push(e),
        }
    }
    for policy in &compiled {
        let outcome = run::run(policy, world);
        if outcome.stopped {
            let mut d = Diagnostic::error(
                "policy-limit",
                format!(
                    "policy `{}` was stopped after {} evaluation steps",
                    policy.name,
                    world.limit
                ),
            )
            .help("it ranges over too many combinations (every pair of services of a large platform, say): bind through members such as `d in s.requires` instead of whole collections");
            if let Some(span) = policy.declared_at {
                d = d.at(span, "this policy");
            }
            errors.push(d);
        }
        if outcome.more_undecided > 0 {
            let mut d = Diagnostic::warning(
                &policy.name,
                format!(
                    "undecided: and {} more combinations for which `{}` may or may not hold",
                    outcome.more_undecided, policy.name
                ),
            )
            .help(
                "the calculator ran out of time and only bounded their numbers; raise `--max-time` \
                 (the first undecided combinations are listed one by one above)",
            );
            if let Some(span) = policy.declared_at {
                d = d.at(span, "this policy");
            }
            findings.push((policy.level, d, true));
        }
        for violation in outcome.violations {
            let undecided = violation.undecided;
            let mut d = finding(policy, violation, world);
            if undecided {
                d.message = format!("undecided: {}", d.message);
                d.help = Some(
                    "the calculator ran out of time and only bounded these numbers: at one end of \
                     the bounds this holds, at the other it does not; raise `--max-time`"
                        .to_string(),
                );
            }
            findings.push((policy.level, d, undecided));
        }
    }
    for d in builtin::check(world) {
        let level = rules::lookup(&d.code).map_or(Level::Warn, |r| r.level);
        findings.push((level, d, false));
    }
    for (level, mut d, undecided) in findings {
        let level = model
            .lint
            .iter()
            .rev()
            .find(|e| e.rule.text == d.code)
            .map_or(level, |e| e.level);
        d.severity = match level {
            Level::Allow => continue,
            // Not known to be violated: never fail a build on it.
            Level::Deny if undecided => Severity::Warning,
            Level::Warn => Severity::Warning,
            Level::Deny => Severity::Error,
        };
        errors.push(d);
    }
    errors
}

/// The diagnostic of one violation: at the entity it is about, with a
/// label at each other bound entity and, for the spec's own policies, at
/// the requirement.
fn finding(policy: &typed::CompiledPolicy, violation: run::Violation, world: &World) -> Diagnostic {
    let model = world.model;
    let mut d = Diagnostic::warning(&policy.name, String::new());
    let subject = violation.subject();
    let subject_span = subject.and_then(|v| v.span(model));
    if let (Some(value), Some(span)) = (subject, subject_span) {
        d = d.at(span, format!("{} `{}`", value.noun(), value.display(model)));
    }
    for (binding, value) in policy.bindings.iter().zip(&violation.bindings) {
        let Some(span) = value.span(model) else {
            continue;
        };
        if Some(span) != subject_span && !d.labels.iter().any(|l| l.span == span) {
            d = d.label(
                span,
                format!("{} = {}", binding.name.text, value.display(model)),
            );
        }
    }
    for (span, label) in builtin::labels_for(&policy.name, &violation, world) {
        d = d.label(span, label);
    }
    match policy.require_at {
        Some(span) => {
            d = d.label(span, format!("required by policy `{}`", policy.name));
        }
        None => {
            let help = builtin::help_for(&policy.name, &violation, world).unwrap_or_else(|| {
                format!(
                    "`nines explain {}` says why this matters and how to fix it",
                    policy.name
                )
            });
            d = d.help(help);
        }
    }
    d.message = violation.message;
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPE_ERROR_CODE: &str = check::TYPE_ERROR;

    #[test]
    fn the_prelude_parses_and_type_checks() {
        let file = crate::syntax::parser::parse(PRELUDE, 0).expect("the prelude parses");
        let mut names = Vec::new();
        for item in &file.items {
            let Item::Policy(p) = item else {
                panic!("the prelude holds only policies")
            };
            let compiled = check::compile(p, PRELUDE, true).expect("the prelude type-checks");
            let rule = rules::lookup(&compiled.name).expect("every prelude policy is in RULES");
            assert_eq!(rule.level, compiled.level, "{}", compiled.name);
            assert_eq!(rule.written, rules::Written::Prelude, "{}", compiled.name);
            names.push(compiled.name);
        }
        for rule in RULES
            .iter()
            .filter(|r| r.written == rules::Written::Prelude)
        {
            assert!(
                names.iter().any(|n| n == rule.name),
                "{} is not in the prelude",
                rule.name
            );
        }
        assert_eq!(prelude_policies().len(), names.len());
    }

    #[test]
    fn every_rule_has_an_explanation() {
        for rule in RULES {
            assert!(
                crate::explain::lookup(rule.name).is_some(),
                "{} has no explanation",
                rule.name
            );
        }
    }

    fn codes_of(text: &str) -> Vec<String> {
        let options = crate::analysis::Options::default();
        let loaded = crate::lint::check_text("example.nines", text.to_string(), &options);
        loaded.diagnostics.iter().map(|d| d.code.clone()).collect()
    }

    /// Findings of `text` with service `api`'s number replaced by bounds.
    fn with_bounds(text: &str, lower: f64, upper: f64) -> Vec<Diagnostic> {
        let loaded = crate::model::load::load_text("bounds.nines", text.to_string());
        let model = loaded.model.expect("resolves");
        let mut analysis = crate::analysis::analyze(&model, &crate::analysis::Options::default());
        let api = model.service_named("api").expect("api");
        analysis.services[api.0 as usize].unavailability =
            crate::analysis::engine::Outcome::Bounds { lower, upper };
        evaluate(&model, Some(&analysis), &loaded.sources)
    }

    #[test]
    fn a_finding_that_bounds_cannot_decide_is_a_warning_and_says_so() {
        let spec =
            "service api { slo 99.9% availability 99.99% }\nlint { allow single-point-of-failure }";
        // Both ends below the SLO: a real violation, at deny.
        let d = with_bounds(spec, 2e-3, 3e-3);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(
            (d[0].code.as_str(), d[0].severity),
            ("slo-infeasible", Severity::Error)
        );
        assert!(!d[0].message.starts_with("undecided"));
        // The bounds straddle the SLO: undecided, a warning.
        let d = with_bounds(spec, 5e-4, 3e-3);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].severity, Severity::Warning);
        assert!(
            d[0].message.starts_with("undecided: `api` composes to"),
            "{}",
            d[0].message
        );
        // Both ends above: nothing.
        assert!(with_bounds(spec, 1e-4, 5e-4).is_empty());
        // Many undecided services: the first ones listed, the rest counted.
        let mut many = String::new();
        for i in 0..25 {
            many.push_str(&format!(
                "service api{i} {{ slo 99.9% availability 99.99% }}\n"
            ));
        }
        many.push_str("lint { allow single-point-of-failure }\n");
        let loaded = crate::model::load::load_text("many.nines", many);
        let model = loaded.model.expect("resolves");
        let mut analysis = crate::analysis::analyze(&model, &crate::analysis::Options::default());
        for s in &mut analysis.services {
            s.unavailability = crate::analysis::engine::Outcome::Bounds {
                lower: 5e-4,
                upper: 3e-3,
            };
        }
        let d = evaluate(&model, Some(&analysis), &loaded.sources);
        assert_eq!(d.len(), run::UNDECIDED_SHOWN + 1, "{d:?}");
        assert!(d.iter().all(|d| d.severity == Severity::Warning));
        assert!(
            d.iter().any(|d| d.message == format!(
                "undecided: and {} more combinations for which `slo-infeasible` may or may not hold",
                25 - run::UNDECIDED_SHOWN
            )),
            "{d:?}"
        );
        // `deny` in lint does not make an undecided finding fail the build.
        let denied = format!("{spec}\nlint {{ deny slo-infeasible }}");
        let d = with_bounds(&denied, 5e-4, 3e-3);
        assert_eq!(d[0].severity, Severity::Warning);
    }

    #[test]
    fn messages_interpolate_computed_values() {
        let spec = "service db { availability 99.9% }\n\
            service api { slo 99% availability 99.99% requires db uses db }\n\
            policy show warn { for s in services where s.name == \"api\" and has(s.slo) and has(s.budget) require false \
            message \"{nines(s.slo)}|{count(s.requires)}|{s.downtime}|{min(d in s.requires: d.composed)}|\
            {s.composed * s.composed}|{s.budget}|{contains(s.uses, s)}|{s.rpo}|{s.requires}|{-s.replicas / 4}\" }\n\
            lint { allow single-point-of-failure  allow extra-nine }";
        let loaded = crate::lint::check_text("show.nines", spec.to_string(), &Default::default());
        let shown: Vec<&str> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.code == "show")
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(shown.len(), 1, "{:?}", loaded.diagnostics);
        // Independently: api is up when both it and db are up.
        let api_down = 1.0 - 0.9999 * 0.999;
        let window = 30.0 * 86400.0;
        let squared_down = 1.0 - (1.0 - api_down) * (1.0 - api_down);
        let expected = format!(
            "2|1|{}|{}|{}|{}|false|none|db|-0.25",
            crate::syntax::quantity::human_duration(api_down * window),
            crate::syntax::quantity::format_percent(0.001),
            crate::syntax::quantity::format_percent(squared_down),
            crate::syntax::quantity::human_duration(0.01 * window),
        );
        assert_eq!(shown[0], expected);
        assert!(expected.contains("47m"), "{expected}");
    }

    #[test]
    fn a_policy_over_too_many_combinations_is_stopped_with_an_error() {
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&format!("service s{i} {{ availability 99.9% }}\n"));
        }
        text.push_str(
            "policy pairs warn { for a in services, b in services, c in services where a != b require a.name != c.name }\n",
        );
        let loaded = crate::model::load::load_text("pairs.nines", text);
        let model = loaded.model.expect("resolves");
        let mut world = World::new(&model, None);
        world.limit = 10_000;
        let d = evaluate_in(&world, &loaded.sources);
        let stopped: Vec<&Diagnostic> = d.iter().filter(|d| d.code == "policy-limit").collect();
        assert_eq!(stopped.len(), 1, "{d:?}");
        assert_eq!(stopped[0].severity, Severity::Error);
        assert!(stopped[0].primary.is_some());
        // The violations found before the stop are reported: a == c.
        let found = d.iter().filter(|d| d.code == "pairs").count();
        assert!(found > 0 && found < 40 * 39, "{found}");
        // Under the default limit it runs to the end: 40 × 39 violations.
        let d = evaluate(&model, None, &loaded.sources);
        assert_eq!(d.iter().filter(|d| d.code == "pairs").count(), 40 * 39);
        assert!(!d.iter().any(|d| d.code == "policy-limit"));
    }

    #[test]
    fn lint_levels_override_rules_and_policies() {
        let spec = "service db { availability 99.95% }\n\
                    service api { slo 99.9% availability 99.99% requires db }\n\
                    policy api-has-no-rpo warn { for s in services where s.name == \"api\" require has(s.rpo) }\n";
        let codes = |text: &str| -> Vec<(String, Severity)> {
            let loaded =
                crate::lint::check_text("levels.nines", text.to_string(), &Default::default());
            loaded
                .diagnostics
                .iter()
                .map(|d| (d.code.clone(), d.severity))
                .collect()
        };
        let base = codes(spec);
        assert!(
            base.contains(&("extra-nine".to_string(), Severity::Warning)),
            "{base:?}"
        );
        assert!(
            base.contains(&("api-has-no-rpo".to_string(), Severity::Warning)),
            "{base:?}"
        );
        let changed = codes(&format!(
            "{spec}lint {{ deny extra-nine  allow api-has-no-rpo  allow single-point-of-failure }}"
        ));
        assert_eq!(changed, vec![("extra-nine".to_string(), Severity::Error)]);
    }

    #[test]
    fn every_explained_rule_example_raises_it_and_its_fix_does_not() {
        for e in crate::explain::CATALOGUE
            .iter()
            .filter(|e| !e.passing.is_empty())
        {
            let raised = codes_of(e.example);
            assert!(
                raised.iter().any(|c| c == e.code),
                "{}: example raises {raised:?}",
                e.code
            );
            let fixed = codes_of(e.passing);
            assert!(
                !fixed.iter().any(|c| c == e.code),
                "{}: the fix still raises it",
                e.code
            );
            assert!(
                !fixed
                    .iter()
                    .any(|c| c == "syntax" || c == "unknown-name" || c == TYPE_ERROR_CODE),
                "{}: the fix has errors {fixed:?}",
                e.code
            );
        }
    }
}

//! SARIF 2.1.0 for code-scanning services (GitHub uploads it with
//! `github/codeql-action/upload-sarif`), built with the `serde-sarif` types
//! so that the shape follows the published schema.

use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, Region,
    ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif,
    Tool, ToolComponent,
};

use super::machine::location;
use super::{Diagnostic, Label, Severity, SourceMap};
use crate::syntax::ast::Level;

/// Where the project's documentation lives; rule help links point into it.
pub const DOCS_URL: &str = "https://github.com/nines-sre/nines/blob/main/docs";

/// The SARIF log of a check: one run of `nines`, its rules (every code that
/// occurs, with its description and a link to its documentation) and one
/// result per diagnostic.
pub fn render_sarif(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut codes: Vec<&str> = diagnostics.iter().map(|d| d.code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    let rules: Vec<ReportingDescriptor> = codes.iter().map(|code| rule(code)).collect();
    let results: Vec<SarifResult> = diagnostics
        .iter()
        .map(|d| result(d, codes.iter().position(|c| *c == d.code), sources))
        .collect();
    let driver = ToolComponent::builder()
        .name("nines")
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/nines-sre/nines")
        .rules(rules)
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .build();
    let log = Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

/// The metadata of one code: a built-in rule, a front-end code, or a policy
/// of the spec.
fn rule(code: &str) -> ReportingDescriptor {
    let explanation = crate::explain::lookup(code);
    let builtin = crate::policy::rules::lookup(code);
    let short = match explanation {
        Some(e) => e.summary.to_string(),
        None => format!("policy `{code}` of the spec"),
    };
    let help_uri = match (builtin, explanation) {
        (Some(_), _) => format!("{DOCS_URL}/rules.md#{code}"),
        (None, Some(_)) => format!("{DOCS_URL}/language.md#10-diagnostics"),
        (None, None) => format!("{DOCS_URL}/language.md#9-policies"),
    };
    let mut descriptor = ReportingDescriptor::builder()
        .id(format!("nines::{code}"))
        .name(code)
        .short_description(MultiformatMessageString::builder().text(short).build())
        .help_uri(help_uri)
        .build();
    if let Some(e) = explanation {
        descriptor.full_description =
            Some(MultiformatMessageString::builder().text(e.text).build());
        descriptor.help = Some(
            MultiformatMessageString::builder()
                .text(format!("Run `nines explain {code}` for examples."))
                .build(),
        );
    }
    if let Some(r) = builtin {
        let level = match r.level {
            Level::Deny => "error",
            Level::Warn => "warning",
            Level::Allow => "none",
        };
        descriptor.default_configuration = Some(
            ReportingConfiguration::builder()
                .level(serde_json::json!(level))
                .build(),
        );
    }
    descriptor
}

fn result(d: &Diagnostic, rule_index: Option<usize>, sources: &SourceMap) -> SarifResult {
    let level = match d.severity {
        Severity::Error => ResultLevel::Error,
        Severity::Warning => ResultLevel::Warning,
        Severity::Advice => ResultLevel::Note,
    };
    let text = match &d.help {
        Some(help) => format!("{}\nhelp: {help}", d.message),
        None => d.message.clone(),
    };
    let mut result = SarifResult::builder()
        .rule_id(format!("nines::{}", d.code))
        .level(level)
        .message(Message::builder().text(text).build())
        .build();
    result.rule_index = rule_index.map(|i| i as i64);
    if let Some(primary) = &d.primary {
        result.locations = Some(vec![sarif_location(primary, sources, None)]);
        if !d.labels.is_empty() {
            result.related_locations = Some(
                d.labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| sarif_location(l, sources, Some(i as i64)))
                    .collect(),
            );
        }
    }
    result
}

fn sarif_location(label: &Label, sources: &SourceMap, id: Option<i64>) -> Location {
    let (file, line, column, end_line, end_column) = location(label, sources);
    let region = Region::builder()
        .start_line(line as i64)
        .start_column(column as i64)
        .end_line(end_line as i64)
        .end_column(end_column as i64)
        .build();
    let physical = PhysicalLocation::builder()
        .artifact_location(
            ArtifactLocation::builder()
                .uri(file.replace('\\', "/"))
                .build(),
        )
        .region(region)
        .build();
    let mut location = Location::builder()
        .physical_location(physical)
        .message(Message::builder().text(label.message.clone()).build())
        .build();
    location.id = id;
    location
}

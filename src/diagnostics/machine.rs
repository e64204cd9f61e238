//! Diagnostics for machines: the stable JSON form and GitHub workflow
//! commands (SARIF is in `sarif.rs`).

use serde_json::{json, Value};

use super::{Diagnostic, Label, Severity, SourceMap};

/// Version of the JSON form; bumped on any incompatible change.
pub const JSON_SCHEMA: u32 = 1;

/// A label's file and its one-based start and end line and column.
pub(super) fn location(label: &Label, sources: &SourceMap) -> (String, usize, usize, usize, usize) {
    let file = sources.file(label.span.file);
    let (line, column) = file.line_column(label.span.start as usize);
    let (end_line, end_column) = file.line_column(label.span.end as usize);
    (file.display_name(), line, column, end_line, end_column)
}

fn label_json(label: &Label, sources: &SourceMap) -> Value {
    let (file, line, column, end_line, end_column) = location(label, sources);
    json!({
        "message": label.message,
        "file": file,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
    })
}

/// One diagnostic as the documented JSON object.
pub fn diagnostic_json(d: &Diagnostic, sources: &SourceMap) -> Value {
    let mut object = json!({
        "code": d.full_code(),
        "severity": d.severity.as_str(),
        "message": d.message,
        "help": d.help,
        "file": Value::Null,
        "line": Value::Null,
        "column": Value::Null,
        "end_line": Value::Null,
        "end_column": Value::Null,
        "labels": d.labels.iter().map(|l| label_json(l, sources)).collect::<Vec<_>>(),
    });
    if let Some(primary) = &d.primary {
        let (file, line, column, end_line, end_column) = location(primary, sources);
        object["file"] = json!(file);
        object["line"] = json!(line);
        object["column"] = json!(column);
        object["end_line"] = json!(end_line);
        object["end_column"] = json!(end_column);
        object["label"] = json!(primary.message);
    }
    object
}

/// `{"schema": 1, "diagnostics": [...]}`, pretty-printed.
pub fn render_json(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let value = json!({
        "schema": JSON_SCHEMA,
        "diagnostics": diagnostics.iter().map(|d| diagnostic_json(d, sources)).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Escapes a workflow command's message (`%`, CR, LF).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property (also `:` and `,`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands (`::error file=...,line=...::message`).
pub fn render_github(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Advice => "notice",
        };
        let mut properties = vec![format!("title={}", escape_property(&d.full_code()))];
        if let Some(primary) = &d.primary {
            let (file, line, column, end_line, end_column) = location(primary, sources);
            properties.insert(0, format!("file={}", escape_property(&file)));
            properties.insert(1, format!("line={line}"));
            properties.insert(2, format!("col={column}"));
            properties.insert(3, format!("endLine={end_line}"));
            properties.insert(4, format!("endColumn={end_column}"));
        }
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        out.push_str(&format!(
            "::{command} {}::{}\n",
            properties.join(","),
            escape_data(&message)
        ));
    }
    out
}

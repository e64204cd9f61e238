//! Diagnostics for people: miette's graphical report, one per diagnostic.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

use super::{Diagnostic, Severity, SourceMap};

/// A diagnostic prepared for miette: the primary file's source and the labels
/// that fall in it (labels in other files become notes in the help).
struct Report {
    message: String,
    code: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

fn prepare(diagnostic: &Diagnostic, sources: &SourceMap) -> Report {
    let severity = match diagnostic.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
        Severity::Advice => miette::Severity::Advice,
    };
    let mut notes = Vec::new();
    let mut labels = Vec::new();
    let mut source = None;
    if let Some(primary) = &diagnostic.primary {
        let file = sources.file(primary.span.file);
        source = Some(NamedSource::new(file.display_name(), file.text.clone()));
        let span = SourceSpan::new((primary.span.start as usize).into(), primary.span.len());
        labels.push(LabeledSpan::new_primary_with_span(
            Some(primary.message.clone()),
            span,
        ));
        for label in &diagnostic.labels {
            if label.span.file == primary.span.file {
                let span = SourceSpan::new((label.span.start as usize).into(), label.span.len());
                labels.push(LabeledSpan::new_with_span(
                    Some(label.message.clone()),
                    span,
                ));
            } else {
                let other = sources.file(label.span.file);
                let (line, column) = other.line_column(label.span.start as usize);
                notes.push(format!(
                    "{}:{line}:{column}: {}",
                    other.display_name(),
                    label.message
                ));
            }
        }
    }
    let mut help = diagnostic.help.clone();
    if !notes.is_empty() {
        let joined = notes.join("\n");
        help = Some(match help {
            Some(h) => format!("{h}\n{joined}"),
            None => joined,
        });
    }
    Report {
        message: diagnostic.message.clone(),
        code: diagnostic.full_code(),
        severity,
        help,
        source,
        labels,
    }
}

/// Renders diagnostics as miette's graphical reports (with colour when asked).
pub fn render_human(diagnostics: &[Diagnostic], sources: &SourceMap, colour: bool) -> String {
    let theme = if colour {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let report = prepare(diagnostic, sources);
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!("{diagnostic}\n"));
        }
        out.push('\n');
    }
    out
}

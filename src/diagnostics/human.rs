//! Diagnostics for people: miette's graphical report, one per diagnostic.

use std::fmt;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    NamedSource, SourceCode, SourceSpan, SpanContents,
};

use super::{Diagnostic, Severity, SourceMap};

/// A diagnostic prepared for miette: the primary file's source and the labels
/// that fall in it (labels in other files become notes in the help).
struct Report {
    message: String,
    code: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<NamedSource<IndexedSource>>,
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

/// A file's text with the offset of each line, so that finding the lines
/// around a span is a binary search rather than a scan from the start of
/// the file (which made 10,000 findings on a large spec take minutes).
#[derive(Clone)]
struct IndexedSource {
    text: Arc<String>,
    line_starts: Arc<Vec<usize>>,
}

impl IndexedSource {
    fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        IndexedSource {
            text: Arc::new(text.to_string()),
            line_starts: Arc::new(line_starts),
        }
    }
}

impl SourceCode for IndexedSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // Let miette's own reader work on the text from a few lines before
        // the span, then shift its answer back to whole-file positions.
        let line = self
            .line_starts
            .partition_point(|&start| start <= span.offset())
            .saturating_sub(1);
        let first_line = line.saturating_sub(context_lines_before);
        let base = self.line_starts.get(first_line).copied().unwrap_or(0);
        let tail = self
            .text
            .as_bytes()
            .get(base..)
            .ok_or(MietteError::OutOfBounds)?;
        let local = SourceSpan::new((span.offset() - base).into(), span.len());
        let contents = tail.read_span(&local, context_lines_before, context_lines_after)?;
        let data: &'a [u8] = contents.data();
        let shifted = SourceSpan::new(
            (contents.span().offset() + base).into(),
            contents.span().len(),
        );
        Ok(Box::new(MietteSpanContents::new(
            data,
            shifted,
            contents.line() + first_line,
            contents.column(),
            contents.line_count() + first_line,
        )))
    }
}

fn prepare(
    diagnostic: &Diagnostic,
    sources: &SourceMap,
    texts: &mut Vec<Option<IndexedSource>>,
) -> Report {
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
        // One shared copy of each file per render, not one per diagnostic:
        // a large spec with thousands of findings would copy it thousands
        // of times.
        let index = primary.span.file as usize;
        if texts.len() <= index {
            texts.resize(index + 1, None);
        }
        let text = texts[index].get_or_insert_with(|| IndexedSource::new(&file.text));
        source = Some(NamedSource::new(file.display_name(), text.clone()));
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
    let mut texts = Vec::new();
    for diagnostic in diagnostics {
        let report = prepare(diagnostic, sources, &mut texts);
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!("{diagnostic}\n"));
        }
        out.push('\n');
    }
    out
}

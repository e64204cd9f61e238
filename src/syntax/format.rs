//! `nines fmt`: one canonical layout. Blocks are printed from the AST, one
//! attribute per line, indented by two spaces; each attribute's tokens are
//! re-spaced canonically; comments are kept (a comment on its own line stays
//! before what follows it, a trailing comment stays at the end of its line);
//! at most one blank line is kept between items where the source had one.

use crate::diagnostics::{Diagnostic, Span};
use crate::syntax::ast::*;
use crate::syntax::parse;

/// Formats a spec's text; errors when it does not parse.
pub fn format_source(text: &str) -> Result<String, Vec<Diagnostic>> {
    let file = parse(text, 0)?;
    let mut printer = Printer {
        src: text,
        comments: comments(text),
        next: 0,
        out: String::new(),
        indent: 0,
    };
    printer.file(&file);
    Ok(printer.out)
}

/// A `//` comment: byte range and text (without trailing white space).
struct Comment {
    start: usize,
    end: usize,
}

fn comments(text: &str) -> Vec<Comment> {
    super::parser::comment_ranges(text)
        .into_iter()
        .map(|(start, end)| Comment { start, end })
        .collect()
}

struct Printer<'a> {
    src: &'a str,
    comments: Vec<Comment>,
    next: usize,
    out: String,
    indent: usize,
}

impl Printer<'_> {
    fn comment_text(&self, c: &Comment) -> String {
        self.src[c.start..c.end].trim_end().to_string()
    }

    fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn blank_line(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") && !self.out.ends_with("{\n") {
            self.out.push('\n');
        }
    }

    /// Whether the source has an empty line between `from` and `to`.
    fn blank_between(&self, from: usize, to: usize) -> bool {
        let gap = self.src.get(from..to).unwrap_or("");
        let mut newlines = 0;
        for line in gap.split('\n').skip(1) {
            newlines += 1;
            if line.trim().is_empty() && newlines > 0 && gap.split('\n').count() > 2 {
                return true;
            }
        }
        false
    }

    /// Prints every comment that starts before `pos` on lines of its own,
    /// keeping a blank line where the source had one.
    fn leading(&mut self, pos: usize, mut last_end: usize) -> usize {
        while self.next < self.comments.len() && self.comments[self.next].start < pos {
            let c = &self.comments[self.next];
            let (start, end) = (c.start, c.end);
            if self.blank_between(last_end, start) {
                self.blank_line();
            }
            let text = self.comment_text(&self.comments[self.next]);
            self.line(&text);
            last_end = end;
            self.next += 1;
        }
        last_end
    }

    /// Appends a comment that follows `end` on the same source line.
    fn trailing(&mut self, end: usize) {
        if let Some(c) = self.comments.get(self.next) {
            let gap = self.src.get(end..c.start).unwrap_or("\n");
            if !gap.contains('\n') && gap.trim().is_empty() {
                let text = self.comment_text(c);
                self.next += 1;
                if self.out.ends_with('\n') {
                    self.out.pop();
                }
                self.out.push_str("  ");
                self.out.push_str(&text);
                self.out.push('\n');
            }
        }
    }

    /// Prints one line for a node, with its comments around it.
    fn node_line(&mut self, span: Span, text: &str, last_end: &mut usize) {
        let start = span.start as usize;
        let before = self.leading(start, *last_end);
        if self.blank_between(before, start) {
            self.blank_line();
        }
        self.line(text);
        // Comments inside a one-line node move before the next line.
        self.trailing(span.end as usize);
        *last_end = span.end as usize;
    }

    fn open_block(&mut self, span: Span, header: &str, last_end: &mut usize) {
        let start = span.start as usize;
        let before = self.leading(start, *last_end);
        if self.blank_between(before, start) {
            self.blank_line();
        }
        self.line(&format!("{header} {{"));
        // A comment right after the opening brace stays on that line.
        let brace = self.src[start..span.end as usize]
            .find('{')
            .map(|i| start + i + 1)
            .unwrap_or(start);
        self.trailing(brace);
        *last_end = brace;
        self.indent += 1;
    }

    fn close_block(&mut self, span: Span, last_end: &mut usize) {
        let end = span.end as usize;
        let before = self.leading(end.saturating_sub(1), *last_end);
        let _ = before;
        self.indent -= 1;
        self.line("}");
        self.trailing(end);
        *last_end = end;
    }

    fn file(&mut self, file: &File) {
        let mut last_end = 0;
        let mut previous_multiline = false;
        for (i, item) in file.items.iter().enumerate() {
            let span = item.span();
            let multiline = self.item_is_block(item);
            if i > 0 && (multiline || previous_multiline) {
                // Blocks are always separated by a blank line at the top level.
                self.blank_line();
                last_end = self.leading(span.start as usize, last_end);
            }
            self.item(item, &mut last_end);
            previous_multiline = multiline;
        }
        self.leading(usize::MAX, last_end);
        while self.out.ends_with("\n\n") {
            self.out.pop();
        }
    }

    fn item_is_block(&self, item: &Item) -> bool {
        match item {
            Item::Domain(d) => !d.attrs.is_empty(),
            Item::Window(_) | Item::Import(_) => false,
            _ => true,
        }
    }

    fn item(&mut self, item: &Item, last_end: &mut usize) {
        match item {
            Item::Window(w) => self.node_line(w.span, &normalize(self.text(w.span)), last_end),
            Item::Import(i) => self.node_line(i.span, &normalize(self.text(i.span)), last_end),
            Item::Domain(d) => self.domain(d, last_end),
            Item::Layer(l) => self.layer(l, last_end),
            Item::Service(s) => self.service(s, last_end),
            Item::Policy(p) => self.policy(p, last_end),
            Item::Lint(l) => {
                if l.entries.is_empty() {
                    self.node_line(l.span, "lint {}", last_end);
                    return;
                }
                self.open_block(l.span, "lint", last_end);
                for e in &l.entries {
                    let text = format!("{} {}", e.level.keyword(), e.rule.text);
                    self.node_line(e.span, &text, last_end);
                }
                self.close_block(l.span, last_end);
            }
        }
    }

    fn text(&self, span: Span) -> &str {
        self.src
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    fn domain(&mut self, d: &DomainDecl, last_end: &mut usize) {
        let mut header = format!("domain {} {}", d.kind.text, d.name.text);
        if let Some(p) = &d.parent {
            header.push_str(&format!(" in {}", p.text));
        }
        if d.attrs.is_empty() {
            if d.has_body {
                header.push_str(" {}");
            }
            self.node_line(d.span, &header, last_end);
            return;
        }
        self.open_block(d.span, &header, last_end);
        for a in &d.attrs {
            let text = normalize(self.text(a.span));
            self.node_line(a.span, &text, last_end);
        }
        self.close_block(d.span, last_end);
    }

    fn layer(&mut self, l: &LayerDecl, last_end: &mut usize) {
        let mut header = format!("layer {}", l.name.text);
        if !l.above.is_empty() {
            let names: Vec<&str> = l.above.iter().map(|n| n.text.as_str()).collect();
            header.push_str(&format!(" above {}", names.join(", ")));
        }
        if l.items.is_empty() {
            self.node_line(l.span, &format!("{header} {{}}"), last_end);
            return;
        }
        self.open_block(l.span, &header, last_end);
        let mut previous_service = false;
        for (i, item) in l.items.iter().enumerate() {
            match item {
                LayerItem::Guarantees(g) => {
                    let span = self.clause_span(g.span, "guarantees");
                    let text = normalize(self.text(span));
                    self.node_line(span, &text, last_end);
                    previous_service = false;
                }
                LayerItem::Assumes { span, .. } => {
                    let text = normalize(self.text(*span));
                    self.node_line(*span, &text, last_end);
                    previous_service = false;
                }
                LayerItem::Service(s) => {
                    if i > 0 && (previous_service || self.is_multiline_service(s)) {
                        self.blank_line();
                        *last_end = self.leading(s.span.start as usize, *last_end);
                    }
                    self.service(s, last_end);
                    previous_service = true;
                }
            }
        }
        self.close_block(l.span, last_end);
    }

    fn is_multiline_service(&self, s: &ServiceDecl) -> bool {
        !s.attrs.is_empty()
    }

    /// The span of a clause from its keyword (searched backwards from the value).
    fn clause_span(&self, value: Span, keyword: &str) -> Span {
        let start = self.src[..value.start as usize]
            .rfind(keyword)
            .unwrap_or(value.start as usize);
        Span::new(value.file, start, value.end as usize)
    }

    fn service(&mut self, s: &ServiceDecl, last_end: &mut usize) {
        let header = format!("service {}", s.name.text);
        if s.attrs.is_empty() {
            self.node_line(s.span, &format!("{header} {{}}"), last_end);
            return;
        }
        self.open_block(s.span, &header, last_end);
        for a in &s.attrs {
            if let ServiceAttr::Writes(clauses) = &a.value {
                if clauses.is_empty() {
                    self.node_line(a.span, "writes {}", last_end);
                    continue;
                }
                self.open_block(a.span, "writes", last_end);
                for c in clauses {
                    let text = normalize(self.text(c.span));
                    self.node_line(c.span, &text, last_end);
                }
                self.close_block(a.span, last_end);
            } else {
                let text = normalize(self.text(a.span));
                self.node_line(a.span, &text, last_end);
            }
        }
        self.close_block(s.span, last_end);
    }

    fn policy(&mut self, p: &PolicyDecl, last_end: &mut usize) {
        let mut header = format!("policy {}", p.name.text);
        if let Some(level) = &p.level {
            header.push(' ');
            header.push_str(level.value.keyword());
        }
        self.open_block(p.span, &header, last_end);
        if let (Some(first), Some(last)) = (p.bindings.first(), p.bindings.last()) {
            let span = Span::new(
                first.name.span.file,
                first.name.span.start as usize,
                last.collection.span.end as usize,
            );
            let span = self.clause_span(span, "for");
            let text = normalize(self.text(span));
            self.node_line(span, &text, last_end);
        }
        if let Some(filter) = &p.filter {
            let span = self.clause_span(filter.span, "where");
            let text = normalize(self.text(span));
            self.node_line(span, &text, last_end);
        }
        let span = self.clause_span(p.require.span, "require");
        let text = normalize(self.text(span));
        self.node_line(span, &text, last_end);
        if let Some(m) = &p.message {
            let span = self.clause_span(m.span, "message");
            self.node_line(span, &format!("message {}", m.raw), last_end);
        }
        self.close_block(p.span, last_end);
    }
}

/// Re-spaces a clause's tokens: one space between words, none inside
/// brackets, `, ` after commas, calls glued to their parenthesis. Strings are
/// kept verbatim; comments inside a clause are dropped from the clause (the
/// printer emits them separately).
pub fn normalize(text: &str) -> String {
    let mut tokens: Vec<String> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
            tokens.push(chars[start..i].iter().collect());
        } else if "(),:;".contains(c) {
            tokens.push(c.to_string());
            i += 1;
        } else if "<>=!*".contains(c) || (c == '+' && !is_word_continuation(&tokens)) {
            let start = i;
            while i < chars.len() && "<>=!*+".contains(chars[i]) {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else {
            let start = i;
            let ends_word = |i: usize| {
                chars[i].is_whitespace()
                    || "(),:;<>=!*\"".contains(chars[i])
                    || (chars[i] == '/' && chars.get(i + 1) == Some(&'/'))
            };
            while i < chars.len() && !ends_word(i) {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        }
    }
    let mut out = String::new();
    for (k, token) in tokens.iter().enumerate() {
        if k > 0 {
            let previous = tokens[k - 1].as_str();
            let glue = matches!(token.as_str(), "," | ")" | ":" | ";")
                || previous == "("
                || (token == "(" && is_callee(previous));
            if !glue {
                out.push(' ');
            }
        }
        out.push_str(token);
    }
    out
}

fn is_word_continuation(tokens: &[String]) -> bool {
    // `e+5` inside a number is part of the word; handled by the word branch.
    tokens
        .last()
        .is_some_and(|t| t.ends_with('e') && t.chars().next().is_some_and(|c| c.is_ascii_digit()))
}

fn is_callee(previous: &str) -> bool {
    let first = previous.chars().next();
    first.is_some_and(|c| c.is_ascii_lowercase())
        && !matches!(
            previous,
            "of" | "and" | "or" | "not" | "in" | "require" | "where" | "for" | "requires"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_clauses() {
        assert_eq!(
            normalize("requires  a ,any( b,c ) , 2 of(d, e)"),
            "requires a, any(b, c), 2 of (d, e)"
        );
        assert_eq!(normalize("availability 4   nines"), "availability 4 nines");
        assert_eq!(
            normalize("require nines(d.composed)>=nines(s.slo)+1"),
            "require nines(d.composed) >= nines(s.slo) + 1"
        );
    }

    #[test]
    fn formats_distributions() {
        let text = "service a {\n  mtbf 30d  mttr 1h\n  failures   weibull shape   0.8\n  repairs lognormal  sigma 1.2 }\n";
        let once = format_source(text).unwrap();
        assert!(once.contains("  failures weibull shape 0.8\n"));
        assert!(once.contains("  repairs lognormal sigma 1.2\n"));
        assert_eq!(format_source(&once).unwrap(), once);
    }

    #[test]
    fn formats_and_is_idempotent() {
        let text = "// head\nwindow 30d\ndomain region r { availability 99.99% } // trailing\nlayer l { guarantees 99.9%\n service a { availability 99.9%  placed in r\n // about requires\n requires b }\nservice b {} }\n";
        let once = format_source(text).unwrap();
        let twice = format_source(&once).unwrap();
        assert_eq!(once, twice);
        assert!(once.contains("// head"));
        assert!(once.contains("// trailing"));
        assert!(once.contains("// about requires"));
        assert!(once.contains("    requires b\n"));
    }
}

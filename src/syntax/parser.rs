//! pest pairs → the typed AST, with diagnostics for what does not parse.

use pest::iterators::Pair;
use pest::Parser as _;
use pest_derive::Parser;

use super::ast::*;
use super::quantity::{self, QuantityError};
use crate::diagnostics::{Diagnostic, FileId, Span};

#[derive(Parser)]
#[grammar = "../grammar/nines.pest"]
struct NinesParser;

/// Deepest nesting of brackets accepted before parsing (bounds recursion).
pub const MAX_NESTING: usize = 64;

/// Parses one file's text. Syntax errors stop at the first; quantity errors
/// are all collected.
pub fn parse(text: &str, file: FileId) -> Result<File, Vec<Diagnostic>> {
    check_nesting(text, file)?;
    let mut pairs = NinesParser::parse(Rule::file, text)
        .map_err(|e| vec![syntax_error(e, file, text, Rule::file)])?;
    let mut builder = Builder {
        file,
        errors: Vec::new(),
        comments: comment_ranges(text),
    };
    let mut items = Vec::new();
    if let Some(root) = pairs.next() {
        for pair in root.into_inner() {
            if pair.as_rule() != Rule::EOI {
                items.push(builder.item(pair));
            }
        }
    }
    if builder.errors.is_empty() {
        Ok(File { items })
    } else {
        Err(builder.errors)
    }
}

/// Parses one expression (used for `{...}` in messages) whose text starts at
/// byte `offset` of `file`.
// The error is returned once per message interpolation, never in a hot loop;
// boxing it would only complicate every caller.
#[allow(clippy::result_large_err)]
pub fn parse_expression(text: &str, file: FileId, offset: usize) -> Result<Expr, Diagnostic> {
    let relocate = |mut d: Diagnostic| {
        for label in d.primary.iter_mut().chain(d.labels.iter_mut()) {
            label.span.start += offset as u32;
            label.span.end += offset as u32;
        }
        // The expression's text ends at the interpolation's `}`.
        d.message = d
            .message
            .replace("the end of the file", "the end of the interpolation");
        d
    };
    check_nesting(text, file).map_err(|mut d| relocate(d.remove(0)))?;
    let mut pairs = NinesParser::parse(Rule::expr_only, text)
        .map_err(|e| relocate(syntax_error(e, file, text, Rule::expr_only)))?;
    let mut builder = Builder {
        file,
        errors: Vec::new(),
        comments: comment_ranges(text),
    };
    let expr_pair = pairs
        .next()
        .and_then(|p| p.into_inner().next())
        .ok_or_else(|| Diagnostic::error("syntax", "expected an expression"))?;
    let mut expr = builder.top_expr(expr_pair);
    shift(&mut expr, offset as u32);
    match builder.errors.into_iter().next() {
        Some(mut error) => {
            if let Some(p) = &mut error.primary {
                p.span.start += offset as u32;
                p.span.end += offset as u32;
            }
            Err(error)
        }
        None => Ok(expr),
    }
}

fn shift(expr: &mut Expr, by: u32) {
    expr.span.start += by;
    expr.span.end += by;
    match &mut expr.kind {
        ExprKind::Literal(..) | ExprKind::Variable(_) => {}
        ExprKind::Member(inner, name) => {
            shift(inner, by);
            name.span.start += by;
            name.span.end += by;
        }
        ExprKind::Call(name, args) => {
            name.span.start += by;
            name.span.end += by;
            args.iter_mut().for_each(|a| shift(a, by));
        }
        ExprKind::Comprehension {
            function,
            var,
            list,
            body,
        } => {
            for n in [function, var] {
                n.span.start += by;
                n.span.end += by;
            }
            shift(list, by);
            shift(body, by);
        }
        ExprKind::Not(inner) | ExprKind::Neg(inner) => shift(inner, by),
        ExprKind::Binary(_, a, b) => {
            shift(a, by);
            shift(b, by);
        }
    }
}

/// Refuses text nested deeper than [`MAX_NESTING`] before the recursive
/// parser sees it, so that no input can exhaust the stack.
fn check_nesting(text: &str, file: FileId) -> Result<(), Vec<Diagnostic>> {
    let mut depth = 0usize;
    let mut too_deep = None;
    walk_code(
        text,
        |i, byte| {
            match byte {
                b'(' | b'{' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        too_deep = Some(i);
                        return false;
                    }
                }
                b')' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            true
        },
        |_, _| {},
    );
    match too_deep {
        Some(i) => Err(vec![Diagnostic::error(
            "too-deep",
            format!("nesting deeper than {MAX_NESTING} levels"),
        )
        .at(Span::new(file, i, i + 1), "this bracket is too deep")
        .help("flatten the expression or the blocks; no spec needs this depth")]),
        None => Ok(()),
    }
}

/// Walks the text outside strings and `//` comments: `code(offset, byte)` for
/// every byte of code (the walk stops when it returns false), and
/// `comment(start, end)` for every comment (its range ends before the
/// newline). The one lexical scan shared by the nesting check, the bracket
/// hint of syntax errors and the formatter's comment list.
pub(crate) fn walk_code(
    text: &str,
    mut code: impl FnMut(usize, u8) -> bool,
    mut comment: impl FnMut(usize, usize),
) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let start = i;
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                comment(start, i);
            }
            byte => {
                if !code(i, byte) {
                    return;
                }
            }
        }
        i += 1;
    }
}

/// What a grammar rule is called in messages.
fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of file",
        Rule::name | Rule::dep_name | Rule::variable => "a name",
        Rule::word => "a word",
        Rule::member => "a member name",
        Rule::number => "a number",
        Rule::integer => "a whole number",
        Rule::string => "a string",
        Rule::availability => "an availability (`99.9%` or `4 nines`)",
        Rule::duration => "a duration (`30s`, `10m`, `4h`, `30d`)",
        Rule::rate => "a rate (`40k rps`)",
        Rule::factor => "a factor (`3x`)",
        Rule::frequency => "a frequency (`4/y`)",
        Rule::window_decl => "`window`",
        Rule::import_decl => "`import`",
        Rule::domain_decl => "`domain`",
        Rule::layer_decl => "`layer`",
        Rule::service_decl => "`service`",
        Rule::policy_decl => "`policy`",
        Rule::lint_decl => "`lint`",
        Rule::domain_parent => "`in`",
        Rule::domain_body => "`{`",
        Rule::availability_attr => "`availability`",
        Rule::mtbf_attr => "`mtbf`",
        Rule::mttr_attr => "`mttr`",
        Rule::incidents_attr => "`incidents`",
        Rule::maintenance_attr => "`maintenance`",
        Rule::ups_attr => "`ups`",
        Rule::evidence => "`observed`",
        Rule::failures_attr => "`failures`",
        Rule::repairs_attr => "`repairs`",
        Rule::dist_exponential | Rule::dist_weibull | Rule::dist_lognormal | Rule::dist_fixed => {
            "a distribution (`exponential`, `weibull shape K`, `lognormal sigma S`, `fixed`)"
        }
        Rule::layer_above => "`above`",
        Rule::guarantees_attr => "`guarantees`",
        Rule::assumes_attr => "`assumes`",
        Rule::slo_attr => "`slo`",
        Rule::replicas_attr => "`replicas`",
        Rule::replicas_need => "`need`",
        Rule::replicas_across => "`across`",
        Rule::placed_attr => "`placed in`",
        Rule::requires_attr => "`requires`",
        Rule::uses_attr => "`uses`",
        Rule::writes_attr => "`writes`",
        Rule::replicate_attr => "`replicate`",
        Rule::rpo_attr => "`rpo`",
        Rule::traffic_attr => "`traffic`",
        Rule::capacity_attr => "`capacity`",
        Rule::any_group => "`any(...)`",
        Rule::k_of_group => "`K of (...)`",
        Rule::gated_attr => "`gated by ups`",
        Rule::flush_attr => "`flush within`",
        Rule::reject_attr => "`reject`",
        Rule::retryable => "`retryable`",
        Rule::replicate_async => "`async`",
        Rule::replicate_sync => "`sync`",
        Rule::name_list => "a list of names",
        Rule::severity => "`deny`, `warn` or `allow`",
        Rule::for_clause => "`for`",
        Rule::where_clause => "`where`",
        Rule::require_clause => "`require`",
        Rule::message_clause => "`message`",
        Rule::lint_entry => "a lint entry (`deny NAME`)",
        Rule::expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::cmp_expr
        | Rule::add_expr
        | Rule::mul_expr
        | Rule::neg_expr
        | Rule::postfix
        | Rule::call
        | Rule::boolean => "an expression",
        Rule::or_op | Rule::and_op => "`and` or `or`",
        Rule::not_op => "`not`",
        Rule::cmp_op => "a comparison",
        Rule::add_op | Rule::mul_op | Rule::neg_op => "an operator",
        Rule::comprehension => "`x in list: condition`",
        Rule::binding => "a binding (`x in services`)",
        Rule::keyword => "a keyword",
        _ => "something else",
    }
}

/// Where parsing got furthest and the punctuation expected there (pest
/// reports only rules, not literal tokens such as `}` or `)`). Parses again
/// with pest's error detail on, so only failing input pays for it.
fn expected_punctuation(text: &str, rule: Rule) -> Option<(usize, Vec<String>)> {
    pest::set_error_detail(true);
    let result = NinesParser::parse(rule, text);
    pest::set_error_detail(false);
    let attempts = result.err()?.parse_attempts()?;
    let mut tokens: Vec<String> = attempts
        .expected_tokens()
        .iter()
        .map(|t| t.to_string())
        .filter(|t| !t.is_empty() && t.chars().all(|c| "{}(),:".contains(c)))
        .map(|t| format!("`{t}`"))
        .collect();
    tokens.sort();
    tokens.dedup();
    Some((attempts.max_position, tokens))
}

fn syntax_error(
    error: pest::error::Error<Rule>,
    file: FileId,
    text: &str,
    rule: Rule,
) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let (mut start, mut end) = match error.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let error_start = start;
    let mut extra: Vec<String> = Vec::new();
    if let Some((furthest, tokens)) = expected_punctuation(text, rule) {
        if furthest > start && !tokens.is_empty() {
            // A missing `)` or `}` after a complete name: the punctuation
            // position is the real place of the error.
            start = furthest;
            end = furthest;
            extra = tokens;
        } else if furthest == start {
            extra = tokens;
        }
    }
    // Point at the offending token rather than at a zero-width position.
    let token_end = text
        .get(start..)
        .map(|rest| {
            let len = rest
                .char_indices()
                .find(|(_, c)| c.is_whitespace())
                .map(|(i, _)| i)
                .unwrap_or(rest.len());
            start + len.max(rest.chars().next().map_or(0, char::len_utf8))
        })
        .unwrap_or(start);
    let end = end.max(token_end);
    let found = text
        .get(start..end)
        .filter(|s| !s.is_empty())
        .map(|s| format!("`{}`", s.chars().take(30).collect::<String>()))
        .unwrap_or_else(|| "the end of the file".to_string());
    let (message, label) = match error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut expected: Vec<&str> = if extra.is_empty() || start == error_start {
                positives.iter().map(|r| describe(*r)).collect()
            } else {
                Vec::new()
            };
            expected.extend(extra.iter().map(String::as_str));
            expected.sort();
            expected.dedup();
            let list = match expected.len() {
                0 => "something else".to_string(),
                1 => expected[0].to_string(),
                n => format!("{} or {}", expected[..n - 1].join(", "), expected[n - 1]),
            };
            (
                format!("expected {list}, found {found}"),
                format!("expected {list}"),
            )
        }
        ErrorVariant::CustomError { message } => (message.clone(), message),
    };
    let at_end = start >= text.len();
    let (start, end) = if at_end {
        // A zero-width label after the last byte is not shown: point just
        // after the last token instead.
        let last = last_token_end(text);
        (last, last)
    } else {
        (start, end)
    };
    let mut d = Diagnostic::error("syntax", message).at(Span::new(file, start, end), label);
    if found.starts_with("`") && text.get(start..end).is_some_and(is_keyword_like) {
        d = d.help("keywords cannot be used as names; `nines explain syntax` lists them");
    }
    if at_end {
        if let Some((open, bracket)) = unclosed_bracket(text) {
            d = d.label(
                Span::new(file, open, open + 1),
                format!("this `{bracket}` is never closed"),
            );
        }
    }
    d
}

/// The end of the text without trailing white space and comments.
fn last_token_end(text: &str) -> usize {
    let comments = comment_ranges(text);
    let bytes = text.as_bytes();
    let mut end = text.len();
    while end > 0 {
        if bytes[end - 1].is_ascii_whitespace() {
            end -= 1;
        } else if let Ok(i) = comments.binary_search_by_key(&end, |c| c.1) {
            end = comments[i].0;
        } else {
            break;
        }
    }
    end
}

/// The innermost `{` or `(` (outside strings and comments) left open at the
/// end of the text.
fn unclosed_bracket(text: &str) -> Option<(usize, char)> {
    let mut open = Vec::new();
    walk_code(
        text,
        |i, byte| {
            match byte {
                b'(' | b'{' => open.push((i, byte as char)),
                b')' | b'}' => {
                    open.pop();
                }
                _ => {}
            }
            true
        },
        |_, _| {},
    );
    open.pop()
}

fn is_keyword_like(word: &str) -> bool {
    NinesParser::parse(Rule::keyword, word).is_ok_and(|p| p.as_str() == word)
}

struct Builder {
    file: FileId,
    errors: Vec<Diagnostic>,
    /// Byte ranges of the text's `//` comments, in order.
    comments: Vec<(usize, usize)>,
}

/// The byte ranges of `//` comments (outside strings), in order; a range
/// ends before the newline.
pub(crate) fn comment_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    walk_code(text, |_, _| true, |start, end| found.push((start, end)));
    found
}

impl Builder {
    /// A pair's span without the white space and comments that pest's
    /// implicit skipping leaves at its end when a trailing optional or
    /// repeated part matched nothing (`availability 99.9%   // note`).
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        let text = pair.as_str().as_bytes();
        let start = s.start();
        let mut end = s.end();
        while end > start {
            if text[end - start - 1].is_ascii_whitespace() {
                end -= 1;
                continue;
            }
            match self.comments.binary_search_by_key(&end, |c| c.1) {
                Ok(i) if self.comments[i].0 >= start => end = self.comments[i].0,
                _ => break,
            }
        }
        Span::new(self.file, start, end)
    }

    fn name(&self, pair: Pair<Rule>) -> Name {
        Name {
            text: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn names(&self, pair: Pair<Rule>) -> Vec<Name> {
        pair.into_inner().map(|p| self.name(p)).collect()
    }

    fn quantity<T>(
        &mut self,
        pair: &Pair<Rule>,
        parse: fn(&str) -> Result<T, QuantityError>,
        fallback: T,
    ) -> T {
        match parse(pair.as_str()) {
            Ok(v) => v,
            Err(e) => {
                let span = self.span(pair);
                self.errors.push(
                    Diagnostic::error("out-of-range", e.message.clone())
                        .at(span, "this quantity")
                        .help(e.help),
                );
                fallback
            }
        }
    }

    fn availability(&mut self, pair: &Pair<Rule>) -> quantity::Availability {
        self.quantity(
            pair,
            quantity::parse_availability,
            quantity::Availability::PERFECT,
        )
    }

    fn duration(&mut self, pair: &Pair<Rule>) -> quantity::Duration {
        self.quantity(
            pair,
            quantity::parse_duration,
            quantity::Duration::from_seconds(0.0),
        )
    }

    fn integer(&mut self, pair: &Pair<Rule>) -> Spanned<u64> {
        let span = self.span(pair);
        let value = match pair.as_str().parse::<u64>() {
            Ok(v) if v <= u32::MAX as u64 => v,
            _ => {
                self.errors.push(
                    Diagnostic::error("out-of-range", format!("`{}` is too large", pair.as_str()))
                        .at(span, "this number")
                        .help(format!("counts are at most {}", u32::MAX)),
                );
                0
            }
        };
        Spanned { value, span }
    }

    fn item(&mut self, pair: Pair<Rule>) -> Item {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::window_decl => {
                let inner = first(pair);
                let value = self.duration(&inner);
                Item::Window(Spanned { value, span })
            }
            Rule::import_decl => {
                let value = self.string(first(pair));
                Item::Import(Spanned { value, span })
            }
            Rule::domain_decl => Item::Domain(self.domain(pair)),
            Rule::layer_decl => Item::Layer(self.layer(pair)),
            Rule::service_decl => Item::Service(self.service(pair)),
            Rule::policy_decl => Item::Policy(Box::new(self.policy(pair))),
            Rule::lint_decl => Item::Lint(self.lint(pair)),
            rule => unreachable_rule(rule),
        }
    }

    fn string(&mut self, pair: Pair<Rule>) -> String {
        let inner = pair.as_str();
        let inner = &inner[1..inner.len().saturating_sub(1).max(1)];
        unescape(inner)
    }

    fn domain(&mut self, pair: Pair<Rule>) -> DomainDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let kind = self.name(inner.next().expect("grammar: kind"));
        let name = self.name(inner.next().expect("grammar: name"));
        let mut parent = None;
        let mut attrs = Vec::new();
        let mut has_body = false;
        for part in inner {
            match part.as_rule() {
                Rule::domain_parent => parent = Some(self.name(first(part))),
                Rule::domain_body => {
                    has_body = true;
                    for attr in part.into_inner() {
                        let attr_span = self.span(&attr);
                        let value = match attr.as_rule() {
                            Rule::maintenance_attr => {
                                let m = first(attr);
                                if m.as_rule() == Rule::maintenance_intrusive {
                                    let mut d = m.into_inner();
                                    let every = d.next().expect("grammar: every");
                                    let every = self.duration(&every);
                                    let down = d.next().expect("grammar: for");
                                    let down = self.duration(&down);
                                    DomainAttr::Maintenance(Some((every, down)))
                                } else {
                                    DomainAttr::Maintenance(None)
                                }
                            }
                            Rule::ups_attr => DomainAttr::UpsHoldup(self.duration(&first(attr))),
                            _ => DomainAttr::Reliability(self.reliability(attr)),
                        };
                        attrs.push(Spanned {
                            value,
                            span: attr_span,
                        });
                    }
                }
                rule => unreachable_rule(rule),
            }
        }
        DomainDecl {
            kind,
            name,
            parent,
            attrs,
            has_body,
            span,
        }
    }

    fn reliability(&mut self, pair: Pair<Rule>) -> Reliability {
        match pair.as_rule() {
            Rule::availability_attr => {
                let mut inner = pair.into_inner();
                let value = self.availability(&inner.next().expect("grammar: value"));
                let evidence = inner.next().map(|e| {
                    let span = self.span(&e);
                    let kind = first(e);
                    let value = if kind.as_rule() == Rule::evidence_window {
                        Evidence::Over(self.duration(&first(kind)))
                    } else {
                        let mut counts = kind.into_inner();
                        let good = self.integer(&counts.next().expect("grammar: good")).value;
                        let total = self.integer(&counts.next().expect("grammar: total")).value;
                        Evidence::Counts { good, total }
                    };
                    Spanned { value, span }
                });
                Reliability::Availability { value, evidence }
            }
            Rule::mtbf_attr => Reliability::Mtbf(self.duration(&first(pair))),
            Rule::mttr_attr => Reliability::Mttr(self.duration(&first(pair))),
            Rule::failures_attr => Reliability::Failures(self.distribution(first(pair))),
            Rule::repairs_attr => Reliability::Repairs(self.distribution(first(pair))),
            Rule::incidents_attr => {
                let mut inner = pair.into_inner();
                let f = inner.next().expect("grammar: frequency");
                let frequency = self.quantity(
                    &f,
                    quantity::parse_frequency,
                    quantity::Frequency {
                        per_second: 0.0,
                        count: 0.0,
                        period: 1.0,
                    },
                );
                let detect = self.duration(&inner.next().expect("grammar: detect"));
                let mitigate = self.duration(&inner.next().expect("grammar: mitigate"));
                Reliability::Incidents {
                    frequency,
                    detect,
                    mitigate,
                }
            }
            rule => unreachable_rule(rule),
        }
    }

    /// A plain number; one too large for `f64` becomes infinite, and the
    /// model stage reports it where the number must be finite.
    fn number(&self, pair: &Pair<Rule>) -> f64 {
        pair.as_str().parse::<f64>().unwrap_or(f64::NAN)
    }

    fn distribution(&mut self, pair: Pair<Rule>) -> Distribution {
        let rule = pair.as_rule();
        let parameter = |b: &mut Self, pair: Pair<Rule>| {
            let number = first(pair);
            Spanned {
                value: b.number(&number),
                span: b.span(&number),
            }
        };
        match rule {
            Rule::dist_exponential => Distribution::Exponential,
            Rule::dist_fixed => Distribution::Fixed,
            Rule::dist_weibull => Distribution::Weibull {
                shape: parameter(self, pair),
            },
            Rule::dist_lognormal => Distribution::LogNormal {
                sigma: parameter(self, pair),
            },
            rule => unreachable_rule(rule),
        }
    }

    fn layer(&mut self, pair: Pair<Rule>) -> LayerDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.name(inner.next().expect("grammar: name"));
        let mut above = Vec::new();
        let mut items = Vec::new();
        for part in inner {
            match part.as_rule() {
                Rule::layer_above => above = self.names(first(part)),
                Rule::guarantees_attr => {
                    let value_pair = first(part);
                    let value = self.availability(&value_pair);
                    let span = self.span(&value_pair);
                    items.push(LayerItem::Guarantees(Spanned { value, span }));
                }
                Rule::assumes_attr => {
                    let clause_span = self.span(&part);
                    let mut a = part.into_inner();
                    let layer = self.name(a.next().expect("grammar: layer"));
                    let value_pair = a.next().expect("grammar: value");
                    let value = self.availability(&value_pair);
                    let value_span = self.span(&value_pair);
                    items.push(LayerItem::Assumes {
                        layer,
                        value: Spanned {
                            value,
                            span: value_span,
                        },
                        span: clause_span,
                    });
                }
                Rule::service_decl => items.push(LayerItem::Service(self.service(part))),
                rule => unreachable_rule(rule),
            }
        }
        LayerDecl {
            name,
            above,
            items,
            span,
        }
    }

    fn dependency(&mut self, pair: Pair<Rule>) -> Dependency {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::dep_name => Dependency::Service(self.name(first(pair))),
            Rule::any_group => Dependency::Any(
                pair.into_inner().map(|p| self.dependency(p)).collect(),
                span,
            ),
            Rule::k_of_group => {
                let mut inner = pair.into_inner();
                let k = self.integer(&inner.next().expect("grammar: k"));
                let of = inner.map(|p| self.dependency(p)).collect();
                Dependency::AtLeast { k, of, span }
            }
            rule => unreachable_rule(rule),
        }
    }

    fn service(&mut self, pair: Pair<Rule>) -> ServiceDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.name(inner.next().expect("grammar: name"));
        let mut attrs = Vec::new();
        for attr in inner {
            let attr_span = self.span(&attr);
            let value = match attr.as_rule() {
                Rule::slo_attr => ServiceAttr::Slo(self.availability(&first(attr))),
                Rule::availability_attr
                | Rule::mtbf_attr
                | Rule::mttr_attr
                | Rule::failures_attr
                | Rule::repairs_attr
                | Rule::incidents_attr => ServiceAttr::Reliability(self.reliability(attr)),
                Rule::replicas_attr => {
                    let mut parts = attr.into_inner();
                    let count = self.integer(&parts.next().expect("grammar: count"));
                    let mut need = None;
                    let mut across = Vec::new();
                    for part in parts {
                        match part.as_rule() {
                            Rule::replicas_need => need = Some(self.integer(&first(part))),
                            Rule::replicas_across => across = self.names(first(part)),
                            rule => unreachable_rule(rule),
                        }
                    }
                    ServiceAttr::Replicas {
                        count,
                        need,
                        across,
                    }
                }
                Rule::placed_attr => ServiceAttr::PlacedIn(self.name(first(attr))),
                Rule::requires_attr => {
                    ServiceAttr::Requires(attr.into_inner().map(|p| self.dependency(p)).collect())
                }
                Rule::uses_attr => ServiceAttr::Uses(self.names(first(attr))),
                Rule::writes_attr => {
                    let mut clauses = Vec::new();
                    for clause in attr.into_inner() {
                        let span = self.span(&clause);
                        let value = match clause.as_rule() {
                            Rule::gated_attr => WriteAttr::GatedByUps,
                            Rule::flush_attr => {
                                WriteAttr::FlushWithin(self.duration(&first(clause)))
                            }
                            Rule::reject_attr => {
                                let mut retryable = false;
                                let mut after = None;
                                for part in clause.into_inner() {
                                    match part.as_rule() {
                                        Rule::retryable => retryable = true,
                                        _ => after = Some(self.duration(&part)),
                                    }
                                }
                                WriteAttr::Reject { retryable, after }
                            }
                            rule => unreachable_rule(rule),
                        };
                        clauses.push(Spanned { value, span });
                    }
                    ServiceAttr::Writes(clauses)
                }
                Rule::replicate_attr => {
                    let mode = first(attr);
                    let is_async = mode.as_rule() == Rule::replicate_async;
                    let mut parts = mode.into_inner();
                    let to = self.names(parts.next().expect("grammar: targets"));
                    if is_async {
                        let max_lag = parts.next().map(|p| Spanned {
                            value: self.duration(&p),
                            span: self.span(&p),
                        });
                        ServiceAttr::Replicate(Replicate::Async { to, max_lag })
                    } else {
                        let quorum = self.integer(&parts.next().expect("grammar: quorum"));
                        ServiceAttr::Replicate(Replicate::Sync { to, quorum })
                    }
                }
                Rule::rpo_attr => ServiceAttr::Rpo(self.duration(&first(attr))),
                Rule::traffic_attr => {
                    let mut parts = attr.into_inner();
                    let r = parts.next().expect("grammar: rate");
                    let rate =
                        self.quantity(&r, quantity::parse_rate, quantity::Rate { per_second: 0.0 });
                    let peak = parts
                        .next()
                        .map(|p| self.quantity(&p, quantity::parse_factor, quantity::Factor(1.0)));
                    ServiceAttr::Traffic { rate, peak }
                }
                Rule::capacity_attr => {
                    let r = first(attr);
                    ServiceAttr::Capacity(self.quantity(
                        &r,
                        quantity::parse_rate,
                        quantity::Rate { per_second: 0.0 },
                    ))
                }
                rule => unreachable_rule(rule),
            };
            attrs.push(Spanned {
                value,
                span: attr_span,
            });
        }
        ServiceDecl { name, attrs, span }
    }

    fn level(&self, pair: &Pair<Rule>) -> Level {
        match pair.as_str().trim() {
            "deny" => Level::Deny,
            "allow" => Level::Allow,
            _ => Level::Warn,
        }
    }

    fn policy(&mut self, pair: Pair<Rule>) -> PolicyDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.name(inner.next().expect("grammar: name"));
        let mut level = None;
        let mut bindings = Vec::new();
        let mut filter = None;
        let mut require = None;
        let mut message = None;
        for part in inner {
            match part.as_rule() {
                Rule::severity => {
                    level = Some(Spanned {
                        value: self.level(&part),
                        span: self.span(&part),
                    })
                }
                Rule::for_clause => {
                    for binding in part.into_inner() {
                        let mut b = binding.into_inner();
                        let name = self.name(b.next().expect("grammar: name"));
                        let collection = self.top_expr(b.next().expect("grammar: collection"));
                        bindings.push(Binding { name, collection });
                    }
                }
                Rule::where_clause => filter = Some(self.top_expr(first(part))),
                Rule::require_clause => require = Some(self.top_expr(first(part))),
                Rule::message_clause => message = Some(self.message(first(part))),
                rule => unreachable_rule(rule),
            }
        }
        let require = require.unwrap_or(Expr {
            kind: ExprKind::Literal(Literal::Bool(true), "true".into()),
            span,
        });
        PolicyDecl {
            name,
            level,
            bindings,
            filter,
            require,
            message,
            span,
        }
    }

    fn message(&mut self, pair: Pair<Rule>) -> Message {
        let span = self.span(&pair);
        let raw = pair.as_str().to_string();
        let body_start = pair.as_span().start() + 1;
        let body = &raw[1..raw.len() - 1];
        let mut parts = Vec::new();
        let mut text = String::new();
        let bytes = body.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if i + 1 < bytes.len() => {
                    let (c, width) = escape_char(&body[i + 1..]);
                    text.push_str(&c);
                    i += 1 + width;
                }
                b'{' => {
                    let close = body[i + 1..].find('}').map(|j| i + 1 + j);
                    match close {
                        Some(close) => {
                            if !text.is_empty() {
                                parts.push(MessagePart::Text(std::mem::take(&mut text)));
                            }
                            let source = &body[i + 1..close];
                            match parse_expression(source, self.file, body_start + i + 1) {
                                Ok(expr) => parts.push(MessagePart::Expr(expr)),
                                Err(e) => self.errors.push(e),
                            }
                            i = close + 1;
                        }
                        None => {
                            self.errors.push(
                                Diagnostic::error(
                                    "syntax",
                                    "`{` without a closing `}` in a message",
                                )
                                .at(
                                    Span::new(self.file, body_start + i, body_start + i + 1),
                                    "this `{` opens an interpolation",
                                )
                                .help("close it with `}`, or write `\\{` for a literal brace"),
                            );
                            i += 1;
                        }
                    }
                }
                _ => {
                    let c = body[i..].chars().next().unwrap_or(' ');
                    text.push(c);
                    i += c.len_utf8();
                }
            }
        }
        if !text.is_empty() {
            parts.push(MessagePart::Text(text));
        }
        Message { parts, raw, span }
    }

    fn lint(&mut self, pair: Pair<Rule>) -> LintDecl {
        let span = self.span(&pair);
        let entries = pair
            .into_inner()
            .map(|entry| {
                let entry_span = self.span(&entry);
                let mut e = entry.into_inner();
                let level = self.level(&e.next().expect("grammar: level"));
                let rule = self.name(e.next().expect("grammar: rule"));
                LintEntry {
                    level,
                    rule,
                    span: entry_span,
                }
            })
            .collect();
        LintDecl { entries, span }
    }

    /// A whole expression (a clause, a binding's collection, an
    /// interpolation). Operator chains build the tree without recursion, but
    /// whatever walks it later recurses: a tree deeper than
    /// [`MAX_EXPR_DEPTH`] is refused, and taken apart without recursion.
    fn top_expr(&mut self, pair: Pair<Rule>) -> Expr {
        let expr = self.expr(pair);
        if expr_depth(&expr) <= MAX_EXPR_DEPTH {
            return expr;
        }
        let span = expr.span;
        self.errors.push(
            Diagnostic::error(
                "too-deep",
                format!("expression nested deeper than {MAX_EXPR_DEPTH} levels"),
            )
            .at(span, "this expression is too deep")
            .help("split the expression; no policy needs this depth"),
        );
        dismantle(expr);
        Expr {
            kind: ExprKind::Literal(Literal::Bool(true), "true".into()),
            span,
        }
    }

    fn expr(&mut self, mut pair: Pair<Rule>) -> Expr {
        // Levels of the precedence ladder without an operator add nothing:
        // step down them in a loop, so that a parenthesis costs one call of
        // this function rather than ten.
        while matches!(
            pair.as_rule(),
            Rule::expr
                | Rule::or_expr
                | Rule::and_expr
                | Rule::not_expr
                | Rule::cmp_expr
                | Rule::add_expr
                | Rule::mul_expr
                | Rule::neg_expr
        ) {
            let mut inner = pair.clone().into_inner();
            match (inner.next(), inner.next()) {
                (Some(only), None) => pair = only,
                _ => break,
            }
        }
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => self.expr(first(pair)),
            Rule::or_expr | Rule::and_expr | Rule::add_expr | Rule::mul_expr | Rule::cmp_expr => {
                let mut inner = pair.into_inner();
                let mut left = self.expr(inner.next().expect("grammar: operand"));
                while let Some(op) = inner.next() {
                    let op = match op.as_str().trim() {
                        "or" => BinaryOp::Or,
                        "and" => BinaryOp::And,
                        "==" => BinaryOp::Eq,
                        "!=" => BinaryOp::Ne,
                        "<" => BinaryOp::Lt,
                        "<=" => BinaryOp::Le,
                        ">" => BinaryOp::Gt,
                        ">=" => BinaryOp::Ge,
                        "+" => BinaryOp::Add,
                        "-" => BinaryOp::Sub,
                        "*" => BinaryOp::Mul,
                        _ => BinaryOp::Div,
                    };
                    let right = self.expr(inner.next().expect("grammar: operand"));
                    let span = left.span.to(right.span);
                    left = Expr {
                        kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
                        span,
                    };
                }
                left
            }
            Rule::not_expr | Rule::neg_expr => {
                let parts: Vec<Pair<Rule>> = pair.into_inner().collect();
                let mut iter = parts.into_iter().rev();
                let mut expr = self.expr(iter.next().expect("grammar: operand"));
                for op in iter {
                    let span = self.span(&op).to(expr.span);
                    let kind = if op.as_rule() == Rule::not_op {
                        ExprKind::Not(Box::new(expr))
                    } else {
                        ExprKind::Neg(Box::new(expr))
                    };
                    expr = Expr { kind, span };
                }
                expr
            }
            Rule::postfix => {
                let mut inner = pair.into_inner();
                let mut expr = self.expr(inner.next().expect("grammar: primary"));
                // A parenthesized primary: the span includes the parentheses.
                expr.span = expr.span.to(Span::new(
                    self.file,
                    span.start as usize,
                    span.start as usize,
                ));
                if inner.peek().is_none() {
                    expr.span = span;
                }
                for member in inner {
                    let name = self.name(member);
                    let span = expr.span.to(name.span);
                    expr = Expr {
                        kind: ExprKind::Member(Box::new(expr), name),
                        span,
                    };
                }
                expr
            }
            Rule::variable => Expr {
                kind: ExprKind::Variable(pair.as_str().to_string()),
                span,
            },
            Rule::call => {
                let mut inner = pair.into_inner();
                let function = self.name(inner.next().expect("grammar: function"));
                let args: Vec<Pair<Rule>> = inner.collect();
                if args.len() == 1 && args[0].as_rule() == Rule::comprehension {
                    let mut c = args.into_iter().next().expect("one").into_inner();
                    let var = self.name(c.next().expect("grammar: var"));
                    let list = self.expr(c.next().expect("grammar: list"));
                    let body = self.expr(c.next().expect("grammar: body"));
                    Expr {
                        kind: ExprKind::Comprehension {
                            function,
                            var,
                            list: Box::new(list),
                            body: Box::new(body),
                        },
                        span,
                    }
                } else {
                    let args = args.into_iter().map(|a| self.expr(a)).collect();
                    Expr {
                        kind: ExprKind::Call(function, args),
                        span,
                    }
                }
            }
            _ => {
                let text = pair.as_str().to_string();
                let literal = self.literal(&pair);
                Expr {
                    kind: ExprKind::Literal(literal, text),
                    span,
                }
            }
        }
    }

    fn literal(&mut self, pair: &Pair<Rule>) -> Literal {
        match pair.as_rule() {
            Rule::availability => Literal::Availability(self.availability(pair)),
            Rule::duration => Literal::Duration(self.duration(pair)),
            Rule::rate => Literal::Rate(self.quantity(
                pair,
                quantity::parse_rate,
                quantity::Rate { per_second: 0.0 },
            )),
            Rule::factor => {
                Literal::Factor(self.quantity(pair, quantity::parse_factor, quantity::Factor(1.0)))
            }
            Rule::string => Literal::String(self.string(pair.clone())),
            Rule::boolean => Literal::Bool(pair.as_str() == "true"),
            _ => match pair.as_str().parse::<f64>() {
                Ok(n) if n.is_finite() => Literal::Number(n),
                _ => {
                    let span = self.span(pair);
                    self.errors.push(
                        Diagnostic::error(
                            "out-of-range",
                            format!("`{}` is not a finite number", pair.as_str()),
                        )
                        .at(span, "this number"),
                    );
                    Literal::Number(0.0)
                }
            },
        }
    }
}

/// Deepest expression tree accepted (bounds the recursion of every stage
/// that walks expressions).
pub const MAX_EXPR_DEPTH: usize = 128;

/// The depth of an expression tree, without recursion.
fn expr_depth(expr: &Expr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(expr, 1usize)];
    while let Some((e, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match &e.kind {
            ExprKind::Literal(..) | ExprKind::Variable(_) => {}
            ExprKind::Member(inner, _) | ExprKind::Not(inner) | ExprKind::Neg(inner) => {
                stack.push((inner, depth + 1))
            }
            ExprKind::Call(_, args) => stack.extend(args.iter().map(|a| (a, depth + 1))),
            ExprKind::Comprehension { list, body, .. } => {
                stack.push((list, depth + 1));
                stack.push((body, depth + 1));
            }
            ExprKind::Binary(_, a, b) => {
                stack.push((a, depth + 1));
                stack.push((b, depth + 1));
            }
        }
    }
    deepest
}

/// Drops an expression tree of any depth without recursion.
fn dismantle(expr: Expr) {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e.kind {
            ExprKind::Literal(..) | ExprKind::Variable(_) => {}
            ExprKind::Member(inner, _) | ExprKind::Not(inner) | ExprKind::Neg(inner) => {
                stack.push(*inner)
            }
            ExprKind::Call(_, args) => stack.extend(args),
            ExprKind::Comprehension { list, body, .. } => {
                stack.push(*list);
                stack.push(*body);
            }
            ExprKind::Binary(_, a, b) => {
                stack.push(*a);
                stack.push(*b);
            }
        }
    }
}

fn first(pair: Pair<Rule>) -> Pair<Rule> {
    pair.into_inner()
        .next()
        .expect("grammar guarantees an inner pair")
}

fn unreachable_rule(rule: Rule) -> ! {
    unreachable!("the grammar does not produce {rule:?} here")
}

/// Resolves a string literal's escapes (`\"`, `\\`, `\n`, `\t`, `\{`, `\}`);
/// an unknown escape stands for itself.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text.as_bytes()[i] == b'\\' && i + 1 < text.len() {
            let (c, width) = escape_char(&text[i + 1..]);
            out.push_str(&c);
            i += 1 + width;
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn escape_char(rest: &str) -> (String, usize) {
    let c = rest.chars().next().unwrap_or('\\');
    let resolved = match c {
        'n' => "\n".to_string(),
        't' => "\t".to_string(),
        other => other.to_string(),
    };
    (resolved, c.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_service() {
        let file = parse(
            "layer l { service a { slo 99.9% replicas 3 need 2 across x, y requires b, any(c, d), 2 of (e, f, g) } }",
            0,
        )
        .unwrap();
        assert_eq!(file.items.len(), 1);
    }

    #[test]
    fn keywords_are_not_names() {
        let errors = parse("service service { }", 0).unwrap_err();
        assert_eq!(errors[0].code, "syntax");
    }

    #[test]
    fn deep_nesting_is_a_diagnostic() {
        let text = format!(
            "policy p {{ for s in services require {}1{} }}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let errors = parse(&text, 0).unwrap_err();
        assert_eq!(errors[0].code, "too-deep");
    }

    #[test]
    fn message_interpolation() {
        let file = parse(
            r#"policy p warn { for s in services require true message "a {s.name} b \{c\}" }"#,
            0,
        )
        .unwrap();
        let Item::Policy(p) = &file.items[0] else {
            panic!()
        };
        let m = p.message.as_ref().unwrap();
        assert_eq!(m.parts.len(), 3);
        assert_eq!(m.parts[2], MessagePart::Text(" b {c}".into()));
    }
}

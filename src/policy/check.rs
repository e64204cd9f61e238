//! The type checker: resolves every name of a policy, gives every
//! expression a type, and refuses what cannot be evaluated meaningfully
//! (unknown members, a duration compared with an availability, an optional
//! read without `has(...)`). Errors point at the expression, with the types
//! involved and a "did you mean" where a close name exists.

// A type error ends the checking of its policy: it is returned once per
// policy, never in a loop, and boxing it would clutter every place that
// builds one.
#![allow(clippy::result_large_err)]

use crate::diagnostics::{Diagnostic, Span};
use crate::model::fuzzy;
use crate::syntax::ast::{BinaryOp, Expr, ExprKind, Level, Literal, MessagePart, PolicyDecl};

use super::typed::{
    CompiledPolicy, Constant, Fold, Function, Global, TBinding, TExpr, TKind, TMessagePart,
};
use super::types::{globals, members_of, Type};

/// The code of every type error in a policy.
pub const TYPE_ERROR: &str = "policy-type";

const FUNCTIONS: &[&str] = &[
    "nines", "has", "count", "min", "max", "contains", "all", "any",
];

/// Type-checks one policy. `builtin` policies get no spans into a user file.
pub fn compile(
    policy: &PolicyDecl,
    source_text: &str,
    builtin: bool,
) -> Result<CompiledPolicy, Diagnostic> {
    let mut checker = Checker::default();
    let mut bindings = Vec::new();
    for binding in &policy.bindings {
        let collection = checker.expr(&binding.collection)?;
        let element = match &collection.ty {
            Type::List(t) => (**t).clone(),
            other => return Err(type_error(
                binding.collection.span,
                format!(
                    "`for {} in ...` needs a list, and this is {}",
                    binding.name.text,
                    article(other)
                ),
                format!("this is {}", article(other)),
            )
            .help(
                "range over `services`, `layers`, `domains`, or a list member such as `s.requires`",
            )),
        };
        let slot = checker.bind(&binding.name.text, element);
        bindings.push(TBinding {
            name: binding.name.clone(),
            slot,
            collection,
        });
    }
    let filter = match &policy.filter {
        Some(e) => Some(checker.condition(e, "where")?),
        None => None,
    };
    let facts_before = checker.facts.len();
    if let Some(e) = &policy.filter {
        checker.facts.extend(facts_when(e, true));
    }
    let require = checker.condition(&policy.require, "require")?;
    // The message is shown when `require` fails: the filter's facts hold,
    // the requirement's do not. Optionals print as `none` when missing.
    let message = match &policy.message {
        Some(m) => {
            let mut parts = Vec::new();
            for part in &m.parts {
                parts.push(match part {
                    MessagePart::Text(t) => TMessagePart::Text(t.clone()),
                    // The interpolated value itself may be missing
                    // (it prints as `none`); what it is computed from may not.
                    MessagePart::Expr(e) => TMessagePart::Expr(checker.expr(e)?),
                });
            }
            Some(parts)
        }
        None => None,
    };
    checker.facts.truncate(facts_before);
    let require_text = source_text
        .get(policy.require.span.start as usize..policy.require.span.end as usize)
        .unwrap_or("the requirement")
        .to_string();
    Ok(CompiledPolicy {
        name: policy.name.text.clone(),
        level: policy.level.as_ref().map_or(Level::Deny, |l| l.value),
        bindings,
        filter,
        require,
        message,
        require_text,
        slots: checker.slots,
        declared_at: (!builtin).then_some(policy.name.span),
        require_at: (!builtin).then_some(policy.require.span),
    })
}

#[derive(Default)]
struct Checker {
    /// Names in scope, innermost last: (name, slot, type).
    scope: Vec<(String, usize, Type)>,
    /// Slots allocated.
    slots: usize,
    /// Expressions known present (their keys), from `has(...)` guards.
    facts: Vec<String>,
}

impl Checker {
    fn bind(&mut self, name: &str, ty: Type) -> usize {
        let slot = self.slots;
        self.slots += 1;
        // A new binding hides facts about an outer variable of the same name.
        self.facts.retain(|key| !mentions(key, name));
        self.scope.push((name.to_string(), slot, ty));
        slot
    }

    fn condition(&mut self, e: &Expr, clause: &str) -> Result<TExpr, Diagnostic> {
        let typed = self.expr(e)?;
        if typed.ty != Type::Bool {
            return Err(type_error(
                e.span,
                format!(
                    "`{clause}` needs a condition, and this is {}",
                    article(&typed.ty)
                ),
                format!("this is {}", article(&typed.ty)),
            )
            .help(match typed.ty {
                Type::Optional(_) => "test whether it is present with `has(...)`".to_string(),
                _ => "compare it with something, e.g. `s.composed >= 99.9%`".to_string(),
            }));
        }
        Ok(typed)
    }

    fn expr(&mut self, e: &Expr) -> Result<TExpr, Diagnostic> {
        let typed = self.expr_raw(e)?;
        Ok(self.narrow(e, typed))
    }

    /// An optional expression under a `has(...)` guard reads as its value.
    fn narrow(&self, e: &Expr, typed: TExpr) -> TExpr {
        if let Type::Optional(inner) = &typed.ty {
            if let Some(key) = key_of(e) {
                if self.facts.contains(&key) {
                    let ty = (**inner).clone();
                    let span = typed.span;
                    return TExpr {
                        kind: TKind::Unwrap(Box::new(typed)),
                        ty,
                        span,
                    };
                }
            }
        }
        typed
    }

    /// An operand that must not be missing.
    fn present(&mut self, e: &Expr) -> Result<TExpr, Diagnostic> {
        let typed = self.expr(e)?;
        if let Type::Optional(inner) = &typed.ty {
            let text = key_of(e).unwrap_or_else(|| "it".to_string());
            return Err(type_error(
                e.span,
                format!("`{text}` may be missing (its type is {})", typed.ty),
                format!("{} when present", article(inner)),
            )
            .help(format!(
                "guard it: `where has({text}) ...` or `has({text}) and ...`"
            )));
        }
        Ok(typed)
    }

    fn expr_raw(&mut self, e: &Expr) -> Result<TExpr, Diagnostic> {
        let span = e.span;
        let node = |kind: TKind, ty: Type| TExpr { kind, ty, span };
        match &e.kind {
            ExprKind::Literal(literal, _) => {
                let (constant, ty) = match literal {
                    Literal::Number(n) => (Constant::Number(*n), Type::Number),
                    Literal::Factor(f) => (Constant::Number(f.0), Type::Number),
                    Literal::Availability(a) => {
                        (Constant::Availability(a.down), Type::Availability)
                    }
                    Literal::Duration(d) => (Constant::Duration(d.seconds), Type::Duration),
                    Literal::Rate(r) => (Constant::Rate(r.per_second), Type::Rate),
                    Literal::String(s) => (Constant::String(s.clone()), Type::String),
                    Literal::Bool(b) => (Constant::Bool(*b), Type::Bool),
                };
                Ok(node(TKind::Constant(constant), ty))
            }
            ExprKind::Variable(name) => {
                if let Some((_, slot, ty)) = self.scope.iter().rev().find(|(n, _, _)| n == name) {
                    return Ok(node(TKind::Local(*slot), ty.clone()));
                }
                for (global, ty) in globals() {
                    if global == name {
                        let g = match global {
                            "services" => Global::Services,
                            "layers" => Global::Layers,
                            _ => Global::Domains,
                        };
                        return Ok(node(TKind::Global(g), ty));
                    }
                }
                let known: Vec<String> = self
                    .scope
                    .iter()
                    .map(|(n, _, _)| n.clone())
                    .chain(globals().iter().map(|(n, _)| n.to_string()))
                    .collect();
                let mut d = Diagnostic::error("unknown-name", format!("no variable `{name}` here"))
                    .at(span, "not bound");
                d = match fuzzy::closest(name, known.iter().map(String::as_str)) {
                    Some(close) => d.help(format!("did you mean `{close}`?")),
                    None => d.help("bind it with `for NAME in ...`, or or range over `services`, `layers` or `domains`"),
                };
                Err(d)
            }
            ExprKind::Member(object, member) => {
                let target = self.present(object)?;
                let members = members_of(&target.ty);
                match members.iter().find(|m| m.name == member.text) {
                    Some(info) => Ok(node(
                        TKind::Member(Box::new(target), info.member),
                        (info.ty)(),
                    )),
                    None if members.is_empty() => Err(type_error(
                        member.span,
                        format!("{} has no members", article(&target.ty)),
                        format!("`.{}` on {}", member.text, article(&target.ty)),
                    )),
                    None => {
                        let mut d = type_error(
                            member.span,
                            format!("{} has no member `{}`", article(&target.ty), member.text),
                            "unknown member",
                        );
                        let names = members.iter().map(|m| m.name);
                        d = match fuzzy::closest(&member.text, names) {
                            Some(close) => d.help(format!("did you mean `{close}`?")),
                            None => d.help(format!(
                                "{} has: {}",
                                article(&target.ty),
                                members
                                    .iter()
                                    .map(|m| m.name)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )),
                        };
                        Err(d)
                    }
                }
            }
            ExprKind::Call(function, args) => self.call(e, &function.text, function.span, args),
            ExprKind::Comprehension {
                function,
                var,
                list,
                body,
            } => {
                let fold = match function.text.as_str() {
                    "all" => Fold::All,
                    "any" => Fold::Any,
                    "count" => Fold::Count,
                    "min" => Fold::Min,
                    "max" => Fold::Max,
                    other => {
                        return Err(type_error(
                            function.span,
                            format!("`{other}(x in list: ...)` is not a function"),
                            "only all, any, count, min and max bind a name",
                        )
                        .help("write `all(x in list: cond)`, `any(...)`, `count(x in list: cond)`, `min(x in list: value)` or `max(...)`"))
                    }
                };
                let list = self.present(list)?;
                let Type::List(element) = &list.ty else {
                    return Err(type_error(
                        list.span,
                        format!(
                            "`{}` ranges over a list, and this is {}",
                            function.text,
                            article(&list.ty)
                        ),
                        format!("this is {}", article(&list.ty)),
                    ));
                };
                let element = (**element).clone();
                let scope_len = self.scope.len();
                let facts = self.facts.clone();
                let slot = self.bind(&var.text, element);
                let body = match fold {
                    Fold::All | Fold::Any | Fold::Count => self.condition(body, &function.text),
                    Fold::Min | Fold::Max => self.present(body).and_then(|b| {
                        if b.ty.is_ordered() {
                            Ok(b)
                        } else {
                            Err(type_error(
                                b.span,
                                format!("`{}` needs a number, availability, duration or rate, and this is {}", function.text, article(&b.ty)),
                                format!("this is {}", article(&b.ty)),
                            ))
                        }
                    }),
                };
                self.scope.truncate(scope_len);
                self.facts = facts;
                let body = body?;
                let ty = match fold {
                    Fold::All | Fold::Any => Type::Bool,
                    Fold::Count => Type::Number,
                    // An empty list has no smallest or largest value.
                    Fold::Min | Fold::Max => body.ty.clone().optional(),
                };
                Ok(node(
                    TKind::Fold {
                        fold,
                        slot,
                        list: Box::new(list),
                        body: Box::new(body),
                    },
                    ty,
                ))
            }
            ExprKind::Not(inner) => {
                let typed = self.present(inner)?;
                if typed.ty != Type::Bool {
                    return Err(type_error(
                        inner.span,
                        format!(
                            "`not` needs a condition, and this is {}",
                            article(&typed.ty)
                        ),
                        format!("this is {}", article(&typed.ty)),
                    ));
                }
                Ok(node(TKind::Not(Box::new(typed)), Type::Bool))
            }
            ExprKind::Neg(inner) => {
                let typed = self.present(inner)?;
                match typed.ty {
                    Type::Number | Type::Duration | Type::Rate => {
                        let ty = typed.ty.clone();
                        Ok(node(TKind::Neg(Box::new(typed)), ty))
                    }
                    _ => Err(type_error(
                        inner.span,
                        format!("cannot negate {}", article(&typed.ty)),
                        format!("this is {}", article(&typed.ty)),
                    )),
                }
            }
            ExprKind::Binary(op, left, right) => self.binary(e, *op, left, right),
        }
    }

    fn binary(
        &mut self,
        e: &Expr,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
    ) -> Result<TExpr, Diagnostic> {
        let span = e.span;
        let l = self.present(left)?;
        let r = match op {
            // The right side of `and` is read where the left holds, of `or`
            // where it does not: a guard on the left narrows the right.
            BinaryOp::And | BinaryOp::Or => {
                let before = self.facts.len();
                self.facts.extend(facts_when(left, op == BinaryOp::And));
                let r = self.present(right);
                self.facts.truncate(before);
                r?
            }
            _ => self.present(right)?,
        };
        let mismatch = |what: &str, help: &str| {
            type_error(
                span,
                format!("cannot {what} {} and {}", article(&l.ty), article(&r.ty)),
                format!("{} {} {}", l.ty, op.symbol(), r.ty),
            )
            .label(l.span, article(&l.ty))
            .label(r.span, article(&r.ty))
            .help(help.to_string())
        };
        let ty = match op {
            BinaryOp::And | BinaryOp::Or => {
                if l.ty != Type::Bool || r.ty != Type::Bool {
                    return Err(mismatch(
                        &format!("combine with `{}`", op.symbol()),
                        "both sides of `and` / `or` must be conditions",
                    ));
                }
                Type::Bool
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                let comparable = l.ty == r.ty
                    && !matches!(l.ty, Type::List(_) | Type::Optional(_) | Type::Writes | Type::Assumption);
                if !comparable {
                    return Err(mismatch("compare", &comparison_help(&l.ty, &r.ty)));
                }
                Type::Bool
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                if l.ty != r.ty || !l.ty.is_ordered() {
                    return Err(mismatch("order", &comparison_help(&l.ty, &r.ty)));
                }
                Type::Bool
            }
            BinaryOp::Add | BinaryOp::Sub => match (&l.ty, &r.ty) {
                (Type::Number, Type::Number) => Type::Number,
                (Type::Duration, Type::Duration) => Type::Duration,
                (Type::Rate, Type::Rate) => Type::Rate,
                (Type::Availability, Type::Availability) => {
                    return Err(mismatch(
                        &format!("apply `{}` to", op.symbol()),
                        "availabilities compose by `*` (in series); compare nines with `nines(a) + 1`",
                    ))
                }
                _ => {
                    return Err(mismatch(
                        &format!("apply `{}` to", op.symbol()),
                        "add numbers to numbers, durations to durations, rates to rates",
                    ))
                }
            },
            BinaryOp::Mul => match (&l.ty, &r.ty) {
                (Type::Number, Type::Number) => Type::Number,
                (Type::Duration, Type::Number) | (Type::Number, Type::Duration) => Type::Duration,
                (Type::Rate, Type::Number) | (Type::Number, Type::Rate) => Type::Rate,
                (Type::Availability, Type::Availability) => Type::Availability,
                _ => {
                    return Err(mismatch(
                        "multiply",
                        "scale a duration or a rate by a number; multiply availabilities to put them in series",
                    ))
                }
            },
            BinaryOp::Div => match (&l.ty, &r.ty) {
                (Type::Number, Type::Number) => Type::Number,
                (Type::Duration, Type::Number) => Type::Duration,
                (Type::Rate, Type::Number) => Type::Rate,
                (Type::Duration, Type::Duration) | (Type::Rate, Type::Rate) => Type::Number,
                _ => {
                    return Err(mismatch(
                        "divide",
                        "divide a duration or a rate by a number, or two of the same kind for a ratio",
                    ))
                }
            },
        };
        Ok(TExpr {
            kind: TKind::Binary(op, Box::new(l), Box::new(r)),
            ty,
            span,
        })
    }

    fn call(
        &mut self,
        e: &Expr,
        name: &str,
        name_span: Span,
        args: &[Expr],
    ) -> Result<TExpr, Diagnostic> {
        let span = e.span;
        let arity = |n: usize| -> Result<(), Diagnostic> {
            if args.len() == n {
                Ok(())
            } else {
                Err(type_error(
                    span,
                    format!(
                        "`{name}` takes {n} argument{}, not {}",
                        if n == 1 { "" } else { "s" },
                        args.len()
                    ),
                    "here",
                ))
            }
        };
        let (function, ty, typed) = match name {
            "nines" => {
                arity(1)?;
                let a = self.present(&args[0])?;
                expect(&a, &Type::Availability, "`nines` takes an availability")?;
                (Function::Nines, Type::Number, vec![a])
            }
            "has" => {
                arity(1)?;
                // The argument is read as written: never narrowed.
                let a = self.expr_raw(&args[0])?;
                if !matches!(a.ty, Type::Optional(_)) {
                    return Err(type_error(
                        args[0].span,
                        format!("`has` tests an optional value, and this is {}, never missing", article(&a.ty)),
                        format!("{} is always present", article(&a.ty)),
                    )
                    .help("drop the `has(...)`: optional members are slo, budget, holdup, rpo, max_lag, quorum, traffic, peak, capacity, guarantees, parent, ups, layer, writes.flush, writes.retry_after, min(...) and max(...)"));
                }
                (Function::Has, Type::Bool, vec![a])
            }
            "count" => {
                arity(1)?;
                let a = self.present(&args[0])?;
                if !matches!(a.ty, Type::List(_)) {
                    return Err(type_error(
                        args[0].span,
                        format!("`count` takes a list, and this is {}", article(&a.ty)),
                        format!("this is {}", article(&a.ty)),
                    ));
                }
                (Function::Count, Type::Number, vec![a])
            }
            "min" | "max" => {
                arity(1)?;
                let a = self.present(&args[0])?;
                let element = match &a.ty {
                    Type::List(t) if t.is_ordered() => (**t).clone(),
                    other => {
                        return Err(type_error(
                            args[0].span,
                            format!("`{name}` takes a list of numbers, availabilities, durations or rates, and this is {}", article(other)),
                            format!("this is {}", article(other)),
                        ))
                    }
                };
                let f = if name == "min" {
                    Function::Min
                } else {
                    Function::Max
                };
                // An empty list has no smallest element.
                (f, element.optional(), vec![a])
            }
            "contains" => {
                arity(2)?;
                let list = self.present(&args[0])?;
                let item = self.present(&args[1])?;
                match &list.ty {
                    Type::List(t) if **t == item.ty => {}
                    _ => {
                        return Err(type_error(
                            span,
                            format!(
                                "`contains` takes a list and an element of it, not {} and {}",
                                article(&list.ty),
                                article(&item.ty)
                            ),
                            "here",
                        ))
                    }
                }
                (Function::Contains, Type::Bool, vec![list, item])
            }
            "all" | "any" => {
                return Err(type_error(
                    span,
                    format!("`{name}` binds a name: `{name}(x in list: cond)`"),
                    "no `x in list:` here",
                ))
            }
            other => {
                let mut d = type_error(
                    name_span,
                    format!("no function `{other}`"),
                    "unknown function",
                );
                d = match fuzzy::closest(other, FUNCTIONS.iter().copied()) {
                    Some(close) => d.help(format!("did you mean `{close}`?")),
                    None => d.help(format!("the functions are {}", FUNCTIONS.join(", "))),
                };
                return Err(d);
            }
        };
        Ok(TExpr {
            kind: TKind::Call(function, typed),
            ty,
            span,
        })
    }
}

fn expect(e: &TExpr, ty: &Type, what: &str) -> Result<(), Diagnostic> {
    if &e.ty == ty {
        Ok(())
    } else {
        Err(type_error(
            e.span,
            format!("{what}, and this is {}", article(&e.ty)),
            format!("this is {}", article(&e.ty)),
        ))
    }
}

fn type_error(span: Span, message: String, label: impl Into<String>) -> Diagnostic {
    Diagnostic::error(TYPE_ERROR, message).at(span, label)
}

fn comparison_help(l: &Type, r: &Type) -> String {
    match (l, r) {
        (Type::Availability, Type::Number) | (Type::Number, Type::Availability) => {
            "write the availability as a percentage (`99.9%`), or compare nines: `nines(a) >= 3`".into()
        }
        (Type::Optional(_), _) | (_, Type::Optional(_)) => "guard the optional value with `has(...)`".into(),
        _ if l == r => format!("{} values can be tested with `==` and `!=` only", l),
        _ => "compare values of the same kind: availabilities with availabilities, durations with durations".into(),
    }
}

/// "a duration", "an availability", "a list of service".
fn article(ty: &Type) -> String {
    let text = ty.to_string();
    let vowel = text.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {text}", if vowel { "an" } else { "a" })
}

/// The key under which `has(e)` records that `e` is present: the path of
/// names and members, with `min`/`max` calls around it.
fn key_of(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Variable(name) => Some(name.clone()),
        ExprKind::Member(object, member) => Some(format!("{}.{}", key_of(object)?, member.text)),
        ExprKind::Call(f, args) if args.len() == 1 && matches!(f.text.as_str(), "min" | "max") => {
            Some(format!("{}({})", f.text, key_of(&args[0])?))
        }
        ExprKind::Comprehension {
            function,
            var,
            list,
            body,
        } if matches!(function.text.as_str(), "min" | "max") => Some(format!(
            "{}({} in {}: {})",
            function.text,
            var.text,
            key_of(list)?,
            key_of(body)?
        )),
        _ => None,
    }
}

/// Whether a key reads the variable `name` anywhere.
fn mentions(key: &str, name: &str) -> bool {
    key.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .any(|token| token == name)
}

/// The expressions known present when `e` evaluates to `value`.
fn facts_when(e: &Expr, value: bool) -> Vec<String> {
    match &e.kind {
        ExprKind::Call(f, args) if f.text == "has" && args.len() == 1 && value => {
            key_of(&args[0]).into_iter().collect()
        }
        ExprKind::Not(inner) => facts_when(inner, !value),
        ExprKind::Binary(BinaryOp::And, l, r) if value => {
            let mut facts = facts_when(l, true);
            facts.extend(facts_when(r, true));
            facts
        }
        ExprKind::Binary(BinaryOp::Or, l, r) if !value => {
            let mut facts = facts_when(l, false);
            facts.extend(facts_when(r, false));
            facts
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ast::Item;

    fn compile_text(text: &str) -> Result<CompiledPolicy, Diagnostic> {
        let file = crate::syntax::parser::parse(text, 0).expect("parses");
        let Item::Policy(p) = &file.items[0] else {
            panic!("not a policy")
        };
        compile(p, text, false)
    }

    fn error_of(text: &str) -> Diagnostic {
        compile_text(text).expect_err("a type error")
    }

    #[test]
    fn the_design_examples_type_check() {
        compile_text(
            "policy a warn { for s in services, d in s.requires where has(s.slo) \
             require nines(d.composed) >= nines(s.slo) + 1 message \"{d} {d.composed} {s.slo}\" }",
        )
        .expect("checks");
        compile_text(
            "policy b { for s in services where s.writes.gated and has(s.writes.flush) and has(s.holdup) \
             require s.writes.flush <= s.holdup }",
        )
        .expect("checks");
    }

    #[test]
    fn an_optional_needs_has() {
        let d = error_of("policy p { for s in services require s.rpo <= 1m }");
        assert_eq!(d.code, TYPE_ERROR);
        assert!(d.message.contains("may be missing"), "{}", d.message);
        assert!(d.help.as_deref().unwrap_or("").contains("has(s.rpo)"));
    }

    #[test]
    fn guards_narrow_through_and_or_and_not() {
        compile_text("policy p { for s in services require has(s.rpo) and s.rpo <= 1m }")
            .expect("and");
        compile_text("policy p { for s in services require not has(s.rpo) or s.rpo <= 1m }")
            .expect("or");
        compile_text(
            "policy p { for s in services where not (not has(s.rpo)) require s.rpo <= 1m }",
        )
        .expect("double not");
        // `or` does not make the left's facts hold on the right.
        error_of("policy p { for s in services require has(s.rpo) or s.rpo <= 1m }");
    }

    #[test]
    fn a_rebinding_forgets_the_outer_facts() {
        let d = error_of(
            "policy p { for s in services where has(s.rpo) require all(s in s.uses: s.rpo < 1m) }",
        );
        assert!(d.message.contains("may be missing"));
    }

    #[test]
    fn a_duration_is_not_an_availability() {
        let d = error_of("policy p { for s in services require s.downtime <= 99.9% }");
        assert!(
            d.message
                .contains("cannot order a duration and an availability"),
            "{}",
            d.message
        );
        assert_eq!(d.labels.len(), 2);
    }

    #[test]
    fn unknown_members_suggest_the_closest() {
        let d = error_of("policy p { for s in services require s.composd >= 99% }");
        assert_eq!(d.help.as_deref(), Some("did you mean `composed`?"));
        let d = error_of("policy p { for s in servces require true }");
        assert_eq!(d.code, "unknown-name");
        assert_eq!(d.help.as_deref(), Some("did you mean `services`?"));
    }

    #[test]
    fn arithmetic_follows_units() {
        compile_text(
            "policy p { for s in services where has(s.budget) require s.downtime * 2 <= s.budget }",
        )
        .expect("scale");
        compile_text(
            "policy p { for s in services where has(s.traffic) require s.traffic / 2 <= 1k rps }",
        )
        .expect("rate");
        error_of("policy p { for s in services require s.downtime + 1 <= 1h }");
        error_of("policy p { for s in services require s.composed + s.composed >= 99% }");
    }

    #[test]
    fn min_and_max_may_be_missing() {
        let d = error_of(
            "policy p { for s in services require min(d in s.requires: d.composed) >= 99% }",
        );
        assert!(d.message.contains("may be missing"), "{}", d.message);
        compile_text(
            "policy p { for s in services \
             require has(min(d in s.requires: d.composed)) and min(d in s.requires: d.composed) >= 99% }",
        )
        .expect("guarded");
        error_of("policy p { for s in services require min(s.requires) >= 99% }");
        compile_text(
            "policy p { for s in services require count(d in s.requires: has(d.slo)) <= 3 }",
        )
        .expect("count with a condition");
    }

    #[test]
    fn has_of_a_present_value_is_refused() {
        let d = error_of("policy p { for s in services require has(s.composed) }");
        assert!(d.message.contains("never missing"));
    }

    #[test]
    fn keys_and_roots() {
        assert!(mentions("s.writes.flush", "s"));
        assert!(mentions("min(d in s.requires: d.composed)", "s"));
        assert!(!mentions("min(d in s.requires: d.composed)", "x"));
        assert!(!mentions("sx.rpo", "s"));
    }
}

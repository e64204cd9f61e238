//! The evaluator: runs a typed expression against the [`World`]. Types were
//! checked, so every operation meets the values it expects; a missing value
//! that slipped through propagates as `Missing` and fails comparisons
//! rather than panicking.

use std::cmp::Ordering;
use std::rc::Rc;

use crate::model::{DomainId, LayerId, ServiceId};
use crate::syntax::ast::BinaryOp;

use super::typed::{Constant, Fold, Function, Global, TExpr, TKind};
use super::types::{Member, Type};
use super::value::Value;
use super::world::World;

/// Evaluates `e` with the bound variables in `env` (indexed by slot).
pub fn eval(world: &World, env: &mut Vec<Value>, e: &TExpr) -> Value {
    match &e.kind {
        TKind::Constant(c) => match c {
            Constant::Bool(b) => Value::Bool(*b),
            Constant::Number(x) => Value::Number(*x),
            Constant::Availability(x) => Value::Availability(*x),
            Constant::Duration(x) => Value::Duration(*x),
            Constant::Rate(x) => Value::Rate(*x),
            Constant::String(s) => Value::String(Rc::from(s.as_str())),
        },
        TKind::Local(slot) => env.get(*slot).cloned().unwrap_or(Value::Missing),
        TKind::Global(g) => global(world, *g),
        TKind::Member(object, member) => {
            let object = eval(world, env, object);
            self::member(world, &object, *member)
        }
        TKind::Unwrap(inner) => eval(world, env, inner),
        TKind::Call(function, args) => call(world, env, *function, args),
        TKind::Fold {
            fold,
            slot,
            list,
            body,
        } => {
            let Value::List(items) = eval(world, env, list) else {
                return Value::Missing;
            };
            if env.len() <= *slot {
                env.resize(*slot + 1, Value::Missing);
            }
            let mut count = 0u64;
            let mut best: Option<Value> = None;
            for item in items.iter() {
                if !world.step() {
                    return Value::Missing;
                }
                env[*slot] = item.clone();
                let value = eval(world, env, body);
                match fold {
                    Fold::All if !value.truthy() => return Value::Bool(false),
                    Fold::Any if value.truthy() => return Value::Bool(true),
                    Fold::Count if value.truthy() => count += 1,
                    Fold::Min | Fold::Max => {
                        let wanted = if *fold == Fold::Min {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        };
                        let better = match &best {
                            None => true,
                            Some(b) => compare(&value, b) == Some(wanted),
                        };
                        if better && !matches!(value, Value::Missing) {
                            best = Some(value);
                        }
                    }
                    _ => {}
                }
            }
            match fold {
                Fold::All => Value::Bool(true),
                Fold::Any => Value::Bool(false),
                Fold::Count => Value::Number(count as f64),
                Fold::Min | Fold::Max => best.unwrap_or(Value::Missing),
            }
        }
        TKind::Not(inner) => match eval(world, env, inner) {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Missing,
        },
        TKind::Neg(inner) => match eval(world, env, inner) {
            Value::Number(x) => Value::Number(-x),
            Value::Duration(x) => Value::Duration(-x),
            Value::Rate(x) => Value::Rate(-x),
            _ => Value::Missing,
        },
        TKind::Binary(op, l, r) => binary(world, env, *op, l, r, &e.ty),
    }
}

fn global(world: &World, g: Global) -> Value {
    let model = world.model;
    match g {
        Global::Services => Value::List(
            model
                .services
                .iter()
                .enumerate()
                .map(|(i, s)| Value::Service(ServiceId(i as u32), s.name_span))
                .collect(),
        ),
        Global::Layers => Value::List(
            model
                .layers
                .iter()
                .enumerate()
                .map(|(i, l)| Value::Layer(LayerId(i as u32), l.name_span))
                .collect(),
        ),
        Global::Domains => Value::List(
            model
                .domains
                .iter()
                .enumerate()
                .map(|(i, d)| Value::Domain(DomainId(i as u32), d.name_span))
                .collect(),
        ),
    }
}

fn optional(value: Option<Value>) -> Value {
    value.unwrap_or(Value::Missing)
}

fn services(world: &World, refs: &[(ServiceId, crate::diagnostics::Span)]) -> Value {
    let _ = world;
    Value::List(
        refs.iter()
            .map(|(id, span)| Value::Service(*id, *span))
            .collect(),
    )
}

fn member(world: &World, object: &Value, member: Member) -> Value {
    let model = world.model;
    match *object {
        Value::Service(id, _) | Value::Writes(id) => {
            let i = id.0 as usize;
            let s = model.service(id);
            let writes = s.writes.as_ref();
            match member {
                Member::ServiceName => Value::String(Rc::from(s.name.as_str())),
                Member::ServiceLayer => {
                    optional(s.layer.map(|l| Value::Layer(l, model.layer(l).name_span)))
                }
                Member::Slo => optional(s.slo.map(|(a, _)| Value::Availability(a.down))),
                Member::OwnAvailability => Value::Availability(s.own.down),
                Member::Composed => Value::Availability(world.composed_down(id)),
                Member::Budget => optional(world.budget(id).map(Value::Duration)),
                Member::Downtime => Value::Duration(world.downtime(id)),
                Member::Requires => services(world, &world.requires[i]),
                Member::RequiresAny => services(world, &world.requires_any[i]),
                Member::Uses => services(world, &s.uses),
                Member::Dependents => services(world, &world.dependents[i]),
                Member::Replicas => Value::Number(s.instances.len() as f64),
                Member::Need => Value::Number(f64::from(s.need)),
                Member::ServiceDomains => Value::List(
                    world.placement[i]
                        .iter()
                        .map(|d| Value::Domain(*d, model.domain(*d).name_span))
                        .collect(),
                ),
                Member::Holdup => optional(world.holdup[i].map(Value::Duration)),
                Member::Writes => Value::Writes(id),
                Member::ReplicatesTo => match &s.replication {
                    Some(r) => services(world, &r.to),
                    None => Value::List(Rc::from(Vec::new())),
                },
                Member::MaxLag => optional(world.max_lag(id).map(Value::Duration)),
                Member::Quorum => optional(world.quorum(id).map(|q| Value::Number(f64::from(q)))),
                Member::Rpo => optional(s.rpo.map(|(d, _)| Value::Duration(d.seconds))),
                Member::Traffic => optional(s.traffic.map(|t| Value::Rate(t.rate.per_second))),
                Member::Peak => {
                    optional(s.traffic.map(|t| Value::Rate(t.rate.per_second * t.peak)))
                }
                Member::Capacity => optional(s.capacity.map(|c| Value::Rate(c.per_second))),
                Member::WritesDeclared => Value::Bool(writes.is_some()),
                Member::WritesGated => Value::Bool(writes.is_some_and(|w| w.gated)),
                Member::WritesFlush => optional(
                    writes
                        .and_then(|w| w.flush_within)
                        .map(|d| Value::Duration(d.seconds)),
                ),
                Member::WritesRetryable => {
                    Value::Bool(writes.is_some_and(|w| w.reject && w.retryable))
                }
                Member::WritesRetryAfter => optional(
                    writes
                        .and_then(|w| w.retry_after)
                        .map(|d| Value::Duration(d.seconds)),
                ),
                _ => Value::Missing,
            }
        }
        Value::Layer(id, _) => {
            let l = model.layer(id);
            match member {
                Member::LayerName => Value::String(Rc::from(l.name.as_str())),
                Member::Rank => Value::Number(f64::from(l.rank)),
                Member::Guarantees => {
                    optional(l.guarantees.map(|(a, _)| Value::Availability(a.down)))
                }
                Member::LayerServices => Value::List(
                    l.services
                        .iter()
                        .map(|s| Value::Service(*s, model.service(*s).name_span))
                        .collect(),
                ),
                Member::Below => Value::List(
                    l.above
                        .iter()
                        .map(|b| Value::Layer(*b, model.layer(*b).name_span))
                        .collect(),
                ),
                Member::Assumes => Value::List(
                    (0..l.assumes.len())
                        .map(|index| Value::Assumption(id, index))
                        .collect(),
                ),
                _ => Value::Missing,
            }
        }
        Value::Assumption(layer, index) => {
            let Some(a) = model.layer(layer).assumes.get(index) else {
                return Value::Missing;
            };
            match member {
                Member::AssumedLayer => Value::Layer(a.layer, a.span),
                Member::AssumedValue => Value::Availability(a.value.down),
                _ => Value::Missing,
            }
        }
        Value::Domain(id, _) => {
            let d = model.domain(id);
            let i = id.0 as usize;
            match member {
                Member::DomainName => Value::String(Rc::from(d.name.as_str())),
                Member::Kind => Value::String(Rc::from(d.kind.as_str())),
                Member::DomainAvailability => Value::Availability(d.down()),
                Member::Parent => optional(
                    d.parent
                        .map(|p| Value::Domain(p, model.domain(p).name_span)),
                ),
                Member::Children => Value::List(
                    world.children[i]
                        .iter()
                        .map(|c| Value::Domain(*c, model.domain(*c).name_span))
                        .collect(),
                ),
                Member::Ups => optional(d.ups_holdup.map(|h| Value::Duration(h.seconds))),
                Member::DomainServices => Value::List(
                    world.domain_services[i]
                        .iter()
                        .map(|s| Value::Service(*s, model.service(*s).name_span))
                        .collect(),
                ),
                _ => Value::Missing,
            }
        }
        _ => Value::Missing,
    }
}

fn call(world: &World, env: &mut Vec<Value>, function: Function, args: &[TExpr]) -> Value {
    let mut values = args.iter().map(|a| eval(world, env, a));
    let first = values.next().unwrap_or(Value::Missing);
    match function {
        Function::Nines => match first {
            // −log10(1 − a) = −log10(down), infinite for 100%.
            Value::Availability(down) => Value::Number(-down.log10()),
            _ => Value::Missing,
        },
        Function::Has => Value::Bool(!matches!(first, Value::Missing)),
        Function::Count => match first {
            Value::List(items) => Value::Number(items.len() as f64),
            _ => Value::Missing,
        },
        Function::Min | Function::Max => {
            let Value::List(items) = first else {
                return Value::Missing;
            };
            let wanted = if function == Function::Min {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            let mut best: Option<&Value> = None;
            for item in items.iter() {
                if best.is_none_or(|b| compare(item, b) == Some(wanted)) {
                    best = Some(item);
                }
            }
            best.cloned().unwrap_or(Value::Missing)
        }
        Function::Contains => {
            let item = values.next().unwrap_or(Value::Missing);
            match first {
                Value::List(items) => Value::Bool(items.iter().any(|x| equal(x, &item))),
                _ => Value::Missing,
            }
        }
    }
}

fn binary(
    world: &World,
    env: &mut Vec<Value>,
    op: BinaryOp,
    l: &TExpr,
    r: &TExpr,
    ty: &Type,
) -> Value {
    let left = eval(world, env, l);
    match op {
        BinaryOp::And => {
            if !left.truthy() {
                return Value::Bool(false);
            }
            return Value::Bool(eval(world, env, r).truthy());
        }
        BinaryOp::Or => {
            if left.truthy() {
                return Value::Bool(true);
            }
            return Value::Bool(eval(world, env, r).truthy());
        }
        _ => {}
    }
    let right = eval(world, env, r);
    match op {
        BinaryOp::Eq => Value::Bool(equal(&left, &right)),
        BinaryOp::Ne => Value::Bool(!equal(&left, &right) && !is_missing(&left, &right)),
        BinaryOp::Lt => Value::Bool(compare(&left, &right) == Some(Ordering::Less)),
        BinaryOp::Le => Value::Bool(matches!(
            compare(&left, &right),
            Some(Ordering::Less | Ordering::Equal)
        )),
        BinaryOp::Gt => Value::Bool(compare(&left, &right) == Some(Ordering::Greater)),
        BinaryOp::Ge => Value::Bool(matches!(
            compare(&left, &right),
            Some(Ordering::Greater | Ordering::Equal)
        )),
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
            let (Some(a), Some(b)) = (left.magnitude(), right.magnitude()) else {
                return Value::Missing;
            };
            if *ty == Type::Availability {
                // Two availabilities in series: up when both are up.
                return Value::Availability(a + b - a * b);
            }
            let x = match op {
                BinaryOp::Add => a + b,
                BinaryOp::Sub => a - b,
                BinaryOp::Mul => a * b,
                _ => a / b,
            };
            match ty {
                Type::Duration => Value::Duration(x),
                Type::Rate => Value::Rate(x),
                _ => Value::Number(x),
            }
        }
        BinaryOp::And | BinaryOp::Or => Value::Missing,
    }
}

fn is_missing(a: &Value, b: &Value) -> bool {
    matches!(a, Value::Missing) || matches!(b, Value::Missing)
}

/// Equality of two values of one type (entities by identity).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Service(x, _), Value::Service(y, _)) => x == y,
        (Value::Layer(x, _), Value::Layer(y, _)) => x == y,
        (Value::Domain(x, _), Value::Domain(y, _)) => x == y,
        _ => compare(a, b) == Some(Ordering::Equal),
    }
}

/// Order of two numeric values of one type. Availabilities order by how
/// available they are: more unavailability is less.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Availability(x), Value::Availability(y)) => y.partial_cmp(x),
        (Value::Number(x), Value::Number(y))
        | (Value::Duration(x), Value::Duration(y))
        | (Value::Rate(x), Value::Rate(y)) => x.partial_cmp(y),
        _ => None,
    }
}

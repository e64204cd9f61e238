//! The typed form of a policy: names resolved to slots and members, every
//! node carrying its type. The type checker builds it, the evaluator runs it.

use crate::diagnostics::Span;
use crate::syntax::ast::{BinaryOp, Level, Name};

use super::types::{Member, Type};

/// A global collection or value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Global {
    /// Every service.
    Services,
    /// Every layer.
    Layers,
    /// Every domain.
    Domains,
}

/// A literal, evaluated once by the checker.
#[derive(Clone, Debug, PartialEq)]
pub enum Constant {
    /// `true` / `false`
    Bool(bool),
    /// A number or factor.
    Number(f64),
    /// An availability, as unavailability.
    Availability(f64),
    /// Seconds.
    Duration(f64),
    /// Requests per second.
    Rate(f64),
    /// Text.
    String(String),
}

/// A built-in function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// `nines(a)`
    Nines,
    /// `has(x)`
    Has,
    /// `count(list)`
    Count,
    /// `min(list)`
    Min,
    /// `max(list)`
    Max,
    /// `contains(list, x)`
    Contains,
}

/// What a comprehension computes over its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fold {
    /// The condition holds for every element (true on an empty list).
    All,
    /// The condition holds for some element (false on an empty list).
    Any,
    /// How many elements the condition holds for.
    Count,
    /// The smallest value of the body (missing on an empty list).
    Min,
    /// The largest value of the body (missing on an empty list).
    Max,
}

/// A typed expression.
#[derive(Clone, Debug)]
pub struct TExpr {
    /// What it computes.
    pub kind: TKind,
    /// Its type.
    pub ty: Type,
    /// Where it is written.
    pub span: Span,
}

/// The forms of typed expressions.
#[derive(Clone, Debug)]
pub enum TKind {
    /// A literal.
    Constant(Constant),
    /// A bound variable, by slot.
    Local(usize),
    /// A global.
    Global(Global),
    /// `e.member`
    Member(Box<TExpr>, Member),
    /// An optional known present (under `has(...)`).
    Unwrap(Box<TExpr>),
    /// A call.
    Call(Function, Vec<TExpr>),
    /// `all(x in list: body)`, `any(...)`, `count(...)`, `min(...)`, `max(...)`.
    Fold {
        /// Which fold.
        fold: Fold,
        /// The slot of the bound name.
        slot: usize,
        /// The list.
        list: Box<TExpr>,
        /// The condition.
        body: Box<TExpr>,
    },
    /// `not e`
    Not(Box<TExpr>),
    /// `-e`
    Neg(Box<TExpr>),
    /// `a and b`, `a or b`, comparisons and arithmetic; the operand types
    /// were checked, the node's type is the result.
    Binary(BinaryOp, Box<TExpr>, Box<TExpr>),
}

/// A message piece, typed.
#[derive(Clone, Debug)]
pub enum TMessagePart {
    /// Literal text.
    Text(String),
    /// An interpolated expression.
    Expr(TExpr),
}

/// A binding, typed: the slot it fills and the list it ranges over.
#[derive(Clone, Debug)]
pub struct TBinding {
    /// The name as written.
    pub name: Name,
    /// Its slot.
    pub slot: usize,
    /// The list.
    pub collection: TExpr,
}

/// A type-checked policy, ready to run.
#[derive(Clone, Debug)]
pub struct CompiledPolicy {
    /// Its name (the code of its findings).
    pub name: String,
    /// The level it was declared with (before `lint`).
    pub level: Level,
    /// Bindings in order.
    pub bindings: Vec<TBinding>,
    /// `where`
    pub filter: Option<TExpr>,
    /// `require`
    pub require: TExpr,
    /// The message, when written.
    pub message: Option<Vec<TMessagePart>>,
    /// The `require` clause's text, for the default message.
    pub require_text: String,
    /// How many slots the bindings and quantifiers use.
    pub slots: usize,
    /// The policy's name in its file (`None` for built-in rules, whose
    /// source the user does not have).
    pub declared_at: Option<Span>,
    /// The `require` expression in its file (`None` for built-in rules).
    pub require_at: Option<Span>,
}

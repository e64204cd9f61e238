//! The typed syntax tree of one `.nines` file. Every node keeps its span;
//! names are still strings here (the model stage resolves them).

use crate::diagnostics::Span;
use crate::syntax::quantity::{Availability, Duration, Factor, Frequency, Rate};

/// A name as written, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    /// The text of the name.
    pub text: String,
    /// Where it stands.
    pub span: Span,
}

/// A value with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it stands.
    pub span: Span,
}

/// One parsed file.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    /// Top-level items in source order.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `window 30d`
    Window(Spanned<Duration>),
    /// `import "path"`
    Import(Spanned<String>),
    /// `domain KIND NAME [in PARENT] { ... }`
    Domain(DomainDecl),
    /// `layer NAME [above ...] { ... }`
    Layer(LayerDecl),
    /// A service outside any layer.
    Service(ServiceDecl),
    /// `policy NAME [severity] { ... }` (boxed: by far the largest item)
    Policy(Box<PolicyDecl>),
    /// `lint { deny x  warn y  allow z }`
    Lint(LintDecl),
}

impl Item {
    /// The span of the whole item.
    pub fn span(&self) -> Span {
        match self {
            Item::Window(w) => w.span,
            Item::Import(i) => i.span,
            Item::Domain(d) => d.span,
            Item::Layer(l) => l.span,
            Item::Service(s) => s.span,
            Item::Policy(p) => p.span,
            Item::Lint(l) => l.span,
        }
    }
}

/// Evidence behind an availability, for simulation's uncertainty.
#[derive(Clone, Debug, PartialEq)]
pub enum Evidence {
    /// `observed over 90d`
    Over(Duration),
    /// `observed GOOD of TOTAL`
    Counts {
        /// Good events.
        good: u64,
        /// All events.
        total: u64,
    },
}

/// Attributes shared by domains and services: how often the thing is down.
#[derive(Clone, Debug, PartialEq)]
pub enum Reliability {
    /// `availability 99.9% [observed ...]`
    Availability {
        /// The availability.
        value: Availability,
        /// Optional evidence.
        evidence: Option<Spanned<Evidence>>,
    },
    /// `mtbf 30d`
    Mtbf(Duration),
    /// `mttr 10m`
    Mttr(Duration),
    /// `incidents 4/y detect 5m mitigate 20m`
    Incidents {
        /// How often incidents happen.
        frequency: Frequency,
        /// Time to detect each.
        detect: Duration,
        /// Time to mitigate each, once detected.
        mitigate: Duration,
    },
    /// `failures weibull shape 0.8`: the shape of times between failures.
    Failures(Distribution),
    /// `repairs lognormal sigma 1`: the shape of repair times.
    Repairs(Distribution),
}

/// The shape of a distribution of durations, for simulation. Its mean comes
/// from elsewhere (`mtbf`, `mttr`, or the own availability and its time
/// scale), so a shape never changes the steady-state availability.
#[derive(Clone, Debug, PartialEq)]
pub enum Distribution {
    /// `exponential` (the default): memoryless.
    Exponential,
    /// `weibull shape K`: K < 1 infant mortality, K > 1 wear-out.
    Weibull {
        /// The shape parameter K, as written.
        shape: Spanned<f64>,
    },
    /// `lognormal sigma S`: the standard deviation of the logarithm.
    LogNormal {
        /// The parameter S, as written.
        sigma: Spanned<f64>,
    },
    /// `fixed`: always exactly the mean.
    Fixed,
}

/// `domain KIND NAME [in PARENT] { ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct DomainDecl {
    /// Free-text kind (`region`, `datacenter`, `power`, ...).
    pub kind: Name,
    /// The domain's name.
    pub name: Name,
    /// The enclosing domain.
    pub parent: Option<Name>,
    /// Attributes in source order.
    pub attrs: Vec<Spanned<DomainAttr>>,
    /// Whether the declaration had a `{ }` body.
    pub has_body: bool,
    /// The whole declaration.
    pub span: Span,
}

/// An attribute of a domain.
#[derive(Clone, Debug, PartialEq)]
pub enum DomainAttr {
    /// availability, mtbf, mttr or incidents.
    Reliability(Reliability),
    /// `maintenance in-place` (None) or `maintenance intrusive every P for D`.
    Maintenance(Option<(Duration, Duration)>),
    /// `ups holdup 10m`
    UpsHoldup(Duration),
}

/// `layer NAME [above A, B] { ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct LayerDecl {
    /// The layer's name.
    pub name: Name,
    /// Layers it stands above.
    pub above: Vec<Name>,
    /// Guarantees, assumptions and services in source order.
    pub items: Vec<LayerItem>,
    /// The whole declaration.
    pub span: Span,
}

/// Something inside a layer.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerItem {
    /// `guarantees 99.99%`
    Guarantees(Spanned<Availability>),
    /// `assumes LAYER 99.99%`
    Assumes {
        /// The layer assumed.
        layer: Name,
        /// What is assumed of it.
        value: Spanned<Availability>,
        /// The whole clause.
        span: Span,
    },
    /// A service of the layer.
    Service(ServiceDecl),
}

/// `service NAME { ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceDecl {
    /// The service's name.
    pub name: Name,
    /// Attributes in source order.
    pub attrs: Vec<Spanned<ServiceAttr>>,
    /// The whole declaration.
    pub span: Span,
}

/// A dependency term of `requires`.
#[derive(Clone, Debug, PartialEq)]
pub enum Dependency {
    /// A service by name.
    Service(Name),
    /// `any(a, b)`: up while one is up.
    Any(Vec<Dependency>, Span),
    /// `k of (a, b, c)`: up while k are up.
    AtLeast {
        /// How many must be up.
        k: Spanned<u64>,
        /// The members.
        of: Vec<Dependency>,
        /// The whole group.
        span: Span,
    },
}

impl Dependency {
    /// The span of the term.
    pub fn span(&self) -> Span {
        match self {
            Dependency::Service(n) => n.span,
            Dependency::Any(_, span) | Dependency::AtLeast { span, .. } => *span,
        }
    }
}

/// `replicate async|sync ...`
#[derive(Clone, Debug, PartialEq)]
pub enum Replicate {
    /// `replicate async to X, Y [max lag D]`
    Async {
        /// Targets.
        to: Vec<Name>,
        /// Bound on lag (the RPO this replication provides).
        max_lag: Option<Spanned<Duration>>,
    },
    /// `replicate sync to X, Y quorum Q`
    Sync {
        /// Targets.
        to: Vec<Name>,
        /// Copies (local included) durable before acknowledgement.
        quorum: Spanned<u64>,
    },
}

/// One clause of a `writes { }` block.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteAttr {
    /// `gated by ups`
    GatedByUps,
    /// `flush within 45s`
    FlushWithin(Duration),
    /// `reject [retryable] [after D]`
    Reject {
        /// Whether the refusal tells the client to retry.
        retryable: bool,
        /// When to retry.
        after: Option<Duration>,
    },
}

/// An attribute of a service.
#[derive(Clone, Debug, PartialEq)]
pub enum ServiceAttr {
    /// `slo 99.95%`
    Slo(Availability),
    /// availability, mtbf, mttr or incidents.
    Reliability(Reliability),
    /// `replicas N [need K] [across D, ...]`
    Replicas {
        /// Instances.
        count: Spanned<u64>,
        /// Instances needed up.
        need: Option<Spanned<u64>>,
        /// Domains the instances are dealt over.
        across: Vec<Name>,
    },
    /// `placed in D`
    PlacedIn(Name),
    /// `requires a, any(b, c), 2 of (d, e, f)`
    Requires(Vec<Dependency>),
    /// `uses a, b`
    Uses(Vec<Name>),
    /// `writes { ... }`
    Writes(Vec<Spanned<WriteAttr>>),
    /// `replicate ...`
    Replicate(Replicate),
    /// `rpo 1m`
    Rpo(Duration),
    /// `traffic 40k rps [peak 3x]`
    Traffic {
        /// Average traffic.
        rate: Rate,
        /// Peak multiplier.
        peak: Option<Factor>,
    },
    /// `capacity 80k rps per replica`
    Capacity(Rate),
}

/// Severity of a policy or lint entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Reported, exit code unchanged.
    Warn,
    /// An error: exit code 1.
    Deny,
    /// Not reported.
    Allow,
}

impl Level {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Level::Warn => "warn",
            Level::Deny => "deny",
            Level::Allow => "allow",
        }
    }
}

/// `policy NAME [level] { for ... where ... require ... message ... }`
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyDecl {
    /// The policy's name.
    pub name: Name,
    /// Its default level (warn when absent).
    pub level: Option<Spanned<Level>>,
    /// `for x in C, y in E`
    pub bindings: Vec<Binding>,
    /// `where E`
    pub filter: Option<Expr>,
    /// `require E`
    pub require: Expr,
    /// `message "..."`
    pub message: Option<Message>,
    /// The whole declaration.
    pub span: Span,
}

/// `x in E`
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    /// The bound name.
    pub name: Name,
    /// What it ranges over.
    pub collection: Expr,
}

/// A message with `{expr}` interpolations.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Literal text and expressions, in order.
    pub parts: Vec<MessagePart>,
    /// The string literal as written (for the formatter).
    pub raw: String,
    /// The whole string literal.
    pub span: Span,
}

/// A piece of a message.
#[derive(Clone, Debug, PartialEq)]
pub enum MessagePart {
    /// Literal text (escapes resolved).
    Text(String),
    /// An interpolated expression.
    Expr(Expr),
}

/// `lint { deny x  warn y }`
#[derive(Clone, Debug, PartialEq)]
pub struct LintDecl {
    /// Entries in source order.
    pub entries: Vec<LintEntry>,
    /// The whole block.
    pub span: Span,
}

/// One entry of a lint block.
#[derive(Clone, Debug, PartialEq)]
pub struct LintEntry {
    /// The level set.
    pub level: Level,
    /// The rule or policy named.
    pub rule: Name,
    /// The whole entry.
    pub span: Span,
}

/// A literal quantity in an expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A plain number.
    Number(f64),
    /// `99.9%`, `4 nines`
    Availability(Availability),
    /// `30s`
    Duration(Duration),
    /// `40k rps`
    Rate(Rate),
    /// `3x`
    Factor(Factor),
    /// `"text"`
    String(String),
    /// `true` / `false`
    Bool(bool),
}

/// Binary operators, loosest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }

    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div => 6,
        }
    }
}

/// An expression of the policy language.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it stands.
    pub span: Span,
}

/// The forms of expressions.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A literal, with its source text (the formatter writes it as written).
    Literal(Literal, String),
    /// A bound name or a collection (`services`).
    Variable(String),
    /// `a.b`
    Member(Box<Expr>, Name),
    /// `f(a, b)`
    Call(Name, Vec<Expr>),
    /// `f(x in list: cond)`
    Comprehension {
        /// `all` or `any`.
        function: Name,
        /// The bound name.
        var: Name,
        /// The list.
        list: Box<Expr>,
        /// The condition.
        body: Box<Expr>,
    },
    /// `not e`
    Not(Box<Expr>),
    /// `-e`
    Neg(Box<Expr>),
    /// `a op b`
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
}

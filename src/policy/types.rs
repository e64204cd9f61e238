//! The types of the policy language and the members of each entity: the
//! schema that the type checker resolves names against.

use std::fmt;

/// A type of the policy language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    /// `true` / `false`.
    Bool,
    /// A plain number (also `3x` factors and counts).
    Number,
    /// An availability (`99.9%`); arithmetic keeps it exact as unavailability.
    Availability,
    /// A duration (`30s`).
    Duration,
    /// A request rate (`40k rps`).
    Rate,
    /// Text.
    String,
    /// A service.
    Service,
    /// A layer.
    Layer,
    /// A failure domain.
    Domain,
    /// A layer's `assumes L A` clause.
    Assumption,
    /// A service's `writes { }` contract.
    Writes,
    /// A list of values of one type.
    List(Box<Type>),
    /// A value that may be missing: read it only under `has(...)`.
    Optional(Box<Type>),
}

impl Type {
    /// A list of `self`.
    pub fn list(self) -> Type {
        Type::List(Box::new(self))
    }

    /// `self`, possibly missing.
    pub fn optional(self) -> Type {
        Type::Optional(Box::new(self))
    }

    /// Whether values of this type can be ordered with `<`.
    pub fn is_ordered(&self) -> bool {
        matches!(
            self,
            Type::Number | Type::Availability | Type::Duration | Type::Rate
        )
    }

    /// Whether values of this type are entities that print as their name.
    pub fn is_entity(&self) -> bool {
        matches!(self, Type::Service | Type::Layer | Type::Domain)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => write!(f, "bool"),
            Type::Number => write!(f, "number"),
            Type::Availability => write!(f, "availability"),
            Type::Duration => write!(f, "duration"),
            Type::Rate => write!(f, "rate"),
            Type::String => write!(f, "string"),
            Type::Service => write!(f, "service"),
            Type::Layer => write!(f, "layer"),
            Type::Domain => write!(f, "domain"),
            Type::Assumption => write!(f, "assumption"),
            Type::Writes => write!(f, "writes"),
            Type::List(t) => write!(f, "list of {t}"),
            Type::Optional(t) => write!(f, "optional {t}"),
        }
    }
}

/// A member of an entity, resolved by the type checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member {
    // --- service ---
    /// Its name.
    ServiceName,
    /// Its layer.
    ServiceLayer,
    /// Its SLO.
    Slo,
    /// Its own availability (each instance's; 100% when not given).
    OwnAvailability,
    /// Its composed availability.
    Composed,
    /// Its error budget over the window.
    Budget,
    /// Its expected downtime over the window.
    Downtime,
    /// Plain hard dependencies.
    Requires,
    /// Services named in `any(...)` and `k of (...)` groups.
    RequiresAny,
    /// Soft dependencies.
    Uses,
    /// Services that require it (hard or in a group).
    Dependents,
    /// Number of instances.
    Replicas,
    /// Instances needed up.
    Need,
    /// The distinct domains its instances are placed in.
    ServiceDomains,
    /// The shortest UPS holdup over its instances' domains.
    Holdup,
    /// Its write contract.
    Writes,
    /// Replication targets.
    ReplicatesTo,
    /// Async replication's bound on lag.
    MaxLag,
    /// Sync replication's quorum.
    Quorum,
    /// Recovery point objective.
    Rpo,
    /// Average traffic.
    Traffic,
    /// Peak traffic (average × peak factor).
    Peak,
    /// Capacity per replica.
    Capacity,
    // --- writes ---
    /// `writes { }` is declared at all.
    WritesDeclared,
    /// `gated by ups`.
    WritesGated,
    /// `flush within`.
    WritesFlush,
    /// The refusal is retryable.
    WritesRetryable,
    /// `reject ... after D`.
    WritesRetryAfter,
    // --- layer ---
    /// Its name.
    LayerName,
    /// 0 at the bottom.
    Rank,
    /// Its promise upwards.
    Guarantees,
    /// Its services.
    LayerServices,
    /// The layers it is directly above.
    Below,
    /// Its `assumes` clauses.
    Assumes,
    // --- assumption ---
    /// The layer assumed.
    AssumedLayer,
    /// The availability assumed.
    AssumedValue,
    // --- domain ---
    /// Its name.
    DomainName,
    /// Its free-text kind.
    Kind,
    /// Its own availability, maintenance drains included.
    DomainAvailability,
    /// The enclosing domain.
    Parent,
    /// The domains directly inside it.
    Children,
    /// Its UPS holdup.
    Ups,
    /// Services with an instance in it or in a domain inside it.
    DomainServices,
}

/// One row of the schema: a member name, what it resolves to, its type and
/// what it means (for `nines explain` and the docs).
pub struct MemberInfo {
    /// The name written after `.`.
    pub name: &'static str,
    /// The resolved member.
    pub member: Member,
    /// A constructor of its type.
    pub ty: fn() -> Type,
}

macro_rules! members {
    ($($name:literal => $member:ident : $ty:expr),* $(,)?) => {
        &[$(MemberInfo { name: $name, member: Member::$member, ty: || $ty }),*]
    };
}

const SERVICE: &[MemberInfo] = members![
    "name" => ServiceName: Type::String,
    "layer" => ServiceLayer: Type::Layer.optional(),
    "slo" => Slo: Type::Availability.optional(),
    "availability" => OwnAvailability: Type::Availability,
    "composed" => Composed: Type::Availability,
    "budget" => Budget: Type::Duration.optional(),
    "downtime" => Downtime: Type::Duration,
    "requires" => Requires: Type::Service.list(),
    "requires_any" => RequiresAny: Type::Service.list(),
    "uses" => Uses: Type::Service.list(),
    "dependents" => Dependents: Type::Service.list(),
    "replicas" => Replicas: Type::Number,
    "need" => Need: Type::Number,
    "domains" => ServiceDomains: Type::Domain.list(),
    "holdup" => Holdup: Type::Duration.optional(),
    "writes" => Writes: Type::Writes,
    "replicates_to" => ReplicatesTo: Type::Service.list(),
    "max_lag" => MaxLag: Type::Duration.optional(),
    "quorum" => Quorum: Type::Number.optional(),
    "rpo" => Rpo: Type::Duration.optional(),
    "traffic" => Traffic: Type::Rate.optional(),
    "peak" => Peak: Type::Rate.optional(),
    "capacity" => Capacity: Type::Rate.optional(),
];

const WRITES: &[MemberInfo] = members![
    "declared" => WritesDeclared: Type::Bool,
    "gated" => WritesGated: Type::Bool,
    "flush" => WritesFlush: Type::Duration.optional(),
    "retryable" => WritesRetryable: Type::Bool,
    "retry_after" => WritesRetryAfter: Type::Duration.optional(),
];

const LAYER: &[MemberInfo] = members![
    "name" => LayerName: Type::String,
    "rank" => Rank: Type::Number,
    "guarantees" => Guarantees: Type::Availability.optional(),
    "services" => LayerServices: Type::Service.list(),
    "below" => Below: Type::Layer.list(),
    "assumes" => Assumes: Type::Assumption.list(),
];

const ASSUMPTION: &[MemberInfo] = members![
    "layer" => AssumedLayer: Type::Layer,
    "value" => AssumedValue: Type::Availability,
];

const DOMAIN: &[MemberInfo] = members![
    "name" => DomainName: Type::String,
    "kind" => Kind: Type::String,
    "availability" => DomainAvailability: Type::Availability,
    "parent" => Parent: Type::Domain.optional(),
    "children" => Children: Type::Domain.list(),
    "ups" => Ups: Type::Duration.optional(),
    "services" => DomainServices: Type::Service.list(),
];

/// The members of a type (empty for types without members).
pub fn members_of(ty: &Type) -> &'static [MemberInfo] {
    match ty {
        Type::Service => SERVICE,
        Type::Writes => WRITES,
        Type::Layer => LAYER,
        Type::Assumption => ASSUMPTION,
        Type::Domain => DOMAIN,
        _ => &[],
    }
}

/// The global names every policy can use, with their types.
pub fn globals() -> [(&'static str, Type); 3] {
    [
        ("services", Type::Service.list()),
        ("layers", Type::Layer.list()),
        ("domains", Type::Domain.list()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_unique_per_type() {
        for ty in [
            Type::Service,
            Type::Writes,
            Type::Layer,
            Type::Assumption,
            Type::Domain,
        ] {
            let names: Vec<&str> = members_of(&ty).iter().map(|m| m.name).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), names.len(), "{ty}");
        }
    }

    #[test]
    fn types_print_as_users_read_them() {
        assert_eq!(Type::Duration.optional().to_string(), "optional duration");
        assert_eq!(Type::Service.list().to_string(), "list of service");
    }
}

//! Values of the policy language at run time, and how a message prints them.

use std::rc::Rc;

use crate::diagnostics::Span;
use crate::model::{DomainId, LayerId, Model, ServiceId};
use crate::syntax::quantity::{format_percent, human_duration, Rate};

/// A value. Entities carry the span they were reached through (the
/// reference in a `requires`, or their declaration), so that a finding
/// points at the right place.
#[derive(Clone, Debug)]
pub enum Value {
    /// An optional that is not there (prints as `none`).
    Missing,
    /// `true` / `false`
    Bool(bool),
    /// A number.
    Number(f64),
    /// An availability, as unavailability.
    Availability(f64),
    /// Seconds.
    Duration(f64),
    /// Requests per second.
    Rate(f64),
    /// Text.
    String(Rc<str>),
    /// A service and where it was reached.
    Service(ServiceId, Span),
    /// A layer and where it was reached.
    Layer(LayerId, Span),
    /// A domain and where it was reached.
    Domain(DomainId, Span),
    /// The `index`-th `assumes` of a layer.
    Assumption(LayerId, usize),
    /// A service's write contract.
    Writes(ServiceId),
    /// A list.
    List(Rc<[Value]>),
}

impl Value {
    /// The number inside a numeric value (seconds, requests per second,
    /// unavailability), if it is one.
    pub fn magnitude(&self) -> Option<f64> {
        match self {
            Value::Number(x) | Value::Duration(x) | Value::Rate(x) | Value::Availability(x) => {
                Some(*x)
            }
            _ => None,
        }
    }

    /// The boolean inside, `false` for anything else.
    pub fn truthy(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    /// Where this value stands in the spec, when it is an entity.
    pub fn span(&self, model: &Model) -> Option<Span> {
        match self {
            Value::Service(_, span) | Value::Layer(_, span) | Value::Domain(_, span) => Some(*span),
            Value::Assumption(layer, index) => {
                model.layer(*layer).assumes.get(*index).map(|a| a.span)
            }
            Value::Writes(id) => model.service(*id).writes.as_ref().map(|w| w.span),
            _ => None,
        }
    }

    /// What kind of thing a finding about this value is about.
    pub fn noun(&self) -> &'static str {
        match self {
            Value::Service(..) => "service",
            Value::Layer(..) => "layer",
            Value::Domain(..) => "domain",
            Value::Assumption(..) => "assumption",
            Value::Writes(..) => "write contract",
            _ => "value",
        }
    }

    /// The value as a message shows it: entities by name, availabilities as
    /// percentages, durations in human units.
    pub fn display(&self, model: &Model) -> String {
        match self {
            Value::Missing => "none".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Number(x) => format_number(*x),
            Value::Availability(down) => format_percent(*down),
            Value::Duration(seconds) => human_duration(*seconds),
            Value::Rate(r) => Rate { per_second: *r }.to_string(),
            Value::String(s) => s.to_string(),
            Value::Service(id, _) => model.service(*id).name.clone(),
            Value::Layer(id, _) => model.layer(*id).name.clone(),
            Value::Domain(id, _) => model.domain(*id).name.clone(),
            Value::Assumption(layer, index) => match model.layer(*layer).assumes.get(*index) {
                Some(a) => format!(
                    "{} {}",
                    model.layer(a.layer).name,
                    format_percent(a.value.down)
                ),
                None => "none".to_string(),
            },
            Value::Writes(id) => format!("the writes of {}", model.service(*id).name),
            Value::List(items) => items
                .iter()
                .map(|v| v.display(model))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// A number as people write it: integers without a fraction, others with
/// up to four significant decimals.
pub fn format_number(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 { "infinity" } else { "-infinity" }.to_string();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    let text = format!("{x:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn numbers_print_plainly() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(4.30103), "4.301");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(f64::INFINITY), "infinity");
    }
}

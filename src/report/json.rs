//! The JSON report (`docs/report-json.md`, schema 1).

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::{json, Value};

use crate::analysis::engine::Outcome;
use crate::analysis::{component_name, Analysis, Component, ServiceResult};
use crate::diagnostics::{Diagnostic, SourceMap};
use crate::model::Model;

/// Version of the JSON report.
pub const SCHEMA: u32 = 1;

fn component_json(model: &Model, component: &Component) -> Value {
    let (kind, name) = match component {
        Component::Domain(d) => ("domain", model.domain(*d).name.clone()),
        Component::Service(s) => ("service", model.service(*s).name.clone()),
        Component::Instance(s, _) => ("instance", model.service(*s).name.clone()),
    };
    let mut value = json!({"kind": kind, "name": name, "label": component_name(model, component)});
    if let Component::Instance(_, i) = component {
        value["instance"] = json!(i + 1);
    }
    value
}

/// One service's entry.
fn service_json(model: &Model, analysis: &Analysis, r: &ServiceResult) -> Value {
    let s = model.service(r.id);
    let u = r.unavailability;
    let mut v = json!({
        "name": s.name,
        "layer": s.layer.map(|l| model.layer(l).name.clone()),
        "exact": u.is_exact(),
        "composed": 1.0 - u.upper(),
        "unavailability": u.upper(),
        "nines": if u.upper() > 0.0 { json!(-u.upper().log10()) } else { Value::Null },
        "slo": s.slo.map(|(a, _)| 1.0 - a.down),
        "budget_seconds": r.budget.map(|b| b.budget_seconds),
        "expected_downtime_seconds": r.budget.map(|b| b.expected_downtime_seconds)
            .unwrap_or(u.upper() * analysis.window_seconds),
        "slack_seconds": r.budget.map(|b| b.slack_seconds),
        "meets_slo": r.budget.map(|b| b.slack_seconds >= 0.0),
        "detailed": r.detailed,
    });
    if let Outcome::Bounds { lower, upper } = u {
        v["bounds"] = json!({
            "composed": [1.0 - upper, 1.0 - lower],
            "unavailability": [lower, upper],
        });
    }
    if r.detailed {
        v["consumers"] = Value::Array(
            r.consumers
                .iter()
                .map(|c| {
                    let mut x = component_json(model, &c.component);
                    x["downtime_seconds"] = json!(c.downtime_seconds);
                    x["share"] = json!(c.share);
                    x
                })
                .collect(),
        );
        v["required"] = Value::Array(
            r.required
                .iter()
                .map(|q| {
                    json!({
                        "dependency": model.service(q.dependency).name,
                        "current": 1.0 - q.current_down,
                        "required": q.required_down.map(|d| 1.0 - d),
                        "required_unavailability": q.required_down,
                        "possible": q.required_down.is_some(),
                        "allowed_incidents_per_year": q.allowed_incidents_per_year,
                    })
                })
                .collect(),
        );
        v["single_points_of_failure"] = Value::Array(
            r.single_points_of_failure
                .iter()
                .map(|c| component_json(model, c))
                .collect(),
        );
        v["double_points_of_failure"] = Value::Array(
            r.double_points_of_failure
                .iter()
                .map(|(a, b)| json!([component_json(model, a), component_json(model, b)]))
                .collect(),
        );
    }
    v
}

/// The services, rendered one at a time while they are written, so that a
/// report of 100k services never holds all of them as JSON values at once.
struct Services<'a> {
    model: &'a Model,
    analysis: &'a Analysis,
}

impl Serialize for Services<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.analysis.services.len()))?;
        for r in &self.analysis.services {
            seq.serialize_element(&service_json(self.model, self.analysis, r))?;
        }
        seq.end()
    }
}

/// The whole report; keys in the sorted order of a `serde_json` object.
struct Report<'a> {
    services: Services<'a>,
    layers: Value,
    findings: Value,
}

impl Serialize for Report<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let analysis = self.services.analysis;
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("exact", &analysis.all_exact())?;
        map.serialize_entry("findings", &self.findings)?;
        map.serialize_entry("layers", &self.layers)?;
        map.serialize_entry("schema", &SCHEMA)?;
        map.serialize_entry("services", &self.services)?;
        map.serialize_entry("window_seconds", &analysis.window_seconds)?;
        map.end()
    }
}

/// Renders the analysis (and any findings) as JSON.
pub fn render_json(
    model: &Model,
    analysis: &Analysis,
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
) -> String {
    let layers: Vec<Value> = analysis
        .layers
        .iter()
        .map(|l| {
            let layer = model.layer(l.id);
            json!({
                "name": layer.name,
                "rank": layer.rank,
                "guarantees": layer.guarantees.map(|(g, _)| 1.0 - g.down),
                "weakest_service": l.weakest.map(|(s, _)| model.service(s).name.clone()),
                "weakest_composed": l.weakest.map(|(_, u)| 1.0 - u),
                "holds": l.holds,
            })
        })
        .collect();
    let report = Report {
        services: Services { model, analysis },
        layers: Value::Array(layers),
        findings: diagnostics
            .iter()
            .map(|d| crate::diagnostics::diagnostic_json(d, sources))
            .collect(),
    };
    let mut bytes = Vec::new();
    // Writing to memory fails only if a value cannot be serialized, which
    // plain numbers, strings and arrays always can.
    let _ = serde_json::to_writer_pretty(&mut bytes, &report);
    bytes.push(b'\n');
    String::from_utf8(bytes).unwrap_or_default()
}

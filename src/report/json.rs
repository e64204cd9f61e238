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

/// A component as written: its kind, its name and its human label (and the
/// instance's number, for an instance). Fields in sorted order, as every
/// object of the report.
#[derive(Serialize)]
struct ComponentEntry<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    instance: Option<u32>,
    kind: &'static str,
    label: String,
    name: &'a str,
}

fn component_entry<'a>(model: &'a Model, component: &Component) -> ComponentEntry<'a> {
    let (kind, name, instance) = match component {
        Component::Domain(d) => ("domain", &model.domain(*d).name, None),
        Component::Service(s) => ("service", &model.service(*s).name, None),
        Component::Instance(s, i) => ("instance", &model.service(*s).name, Some(i + 1)),
    };
    ComponentEntry {
        instance,
        kind,
        label: component_name(model, component),
        name,
    }
}

/// One row of a service's budget consumers.
#[derive(Serialize)]
struct ConsumerEntry<'a> {
    downtime_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance: Option<u32>,
    kind: &'static str,
    label: String,
    name: &'a str,
    share: f64,
}

/// One dependency's required availability.
#[derive(Serialize)]
struct RequiredEntry<'a> {
    allowed_incidents_per_year: Option<f64>,
    current: f64,
    dependency: &'a str,
    possible: bool,
    required: Option<f64>,
    required_unavailability: Option<f64>,
}

/// Certified bounds of a service that is not exact.
#[derive(Serialize)]
struct BoundsEntry {
    composed: [f64; 2],
    unavailability: [f64; 2],
}

/// One service's entry; the detail only where the service has one.
#[derive(Serialize)]
struct ServiceEntry<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    bounds: Option<BoundsEntry>,
    budget_seconds: Option<f64>,
    composed: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumers: Option<Vec<ConsumerEntry<'a>>>,
    detailed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    double_points_of_failure: Option<Vec<[ComponentEntry<'a>; 2]>>,
    exact: bool,
    expected_downtime_seconds: f64,
    layer: Option<&'a str>,
    meets_slo: Option<bool>,
    name: &'a str,
    nines: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    required: Option<Vec<RequiredEntry<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    single_points_of_failure: Option<Vec<ComponentEntry<'a>>>,
    slack_seconds: Option<f64>,
    slo: Option<f64>,
    unavailability: f64,
}

/// One service's entry, written straight from its result (no JSON value
/// tree: a 100k report holds a few hundred megabytes of text).
fn service_entry<'a>(model: &'a Model, analysis: &Analysis, r: &ServiceResult) -> ServiceEntry<'a> {
    let s = model.service(r.id);
    let u = r.unavailability;
    let bounds = match u {
        Outcome::Bounds { lower, upper } => Some(BoundsEntry {
            composed: [1.0 - upper, 1.0 - lower],
            unavailability: [lower, upper],
        }),
        Outcome::Exact(_) => None,
    };
    ServiceEntry {
        bounds,
        budget_seconds: r.budget.map(|b| b.budget_seconds),
        composed: 1.0 - u.upper(),
        consumers: r.detailed.then(|| {
            r.consumers
                .iter()
                .map(|c| {
                    let ComponentEntry {
                        instance,
                        kind,
                        label,
                        name,
                    } = component_entry(model, &c.component);
                    ConsumerEntry {
                        downtime_seconds: c.downtime_seconds,
                        instance,
                        kind,
                        label,
                        name,
                        share: c.share,
                    }
                })
                .collect()
        }),
        detailed: r.detailed,
        double_points_of_failure: r.detailed.then(|| {
            r.double_points_of_failure
                .iter()
                .map(|(a, b)| [component_entry(model, a), component_entry(model, b)])
                .collect()
        }),
        exact: u.is_exact(),
        expected_downtime_seconds: r
            .budget
            .map(|b| b.expected_downtime_seconds)
            .unwrap_or(u.upper() * analysis.window_seconds),
        layer: s.layer.map(|l| model.layer(l).name.as_str()),
        meets_slo: r.budget.map(|b| b.slack_seconds >= 0.0),
        name: &s.name,
        nines: (u.upper() > 0.0).then(|| -u.upper().log10()),
        required: r.detailed.then(|| {
            r.required
                .iter()
                .map(|q| RequiredEntry {
                    allowed_incidents_per_year: q.allowed_incidents_per_year,
                    current: 1.0 - q.current_down,
                    dependency: &model.service(q.dependency).name,
                    possible: q.required_down.is_some(),
                    required: q.required_down.map(|d| 1.0 - d),
                    required_unavailability: q.required_down,
                })
                .collect()
        }),
        single_points_of_failure: r.detailed.then(|| {
            r.single_points_of_failure
                .iter()
                .map(|c| component_entry(model, c))
                .collect()
        }),
        slack_seconds: r.budget.map(|b| b.slack_seconds),
        slo: s.slo.map(|(a, _)| 1.0 - a.down),
        unavailability: u.upper(),
    }
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
            seq.serialize_element(&service_entry(self.model, self.analysis, r))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{analyze, testing, Options};
    use crate::model::load::load_text;

    /// Every object's keys in sorted order, a service with bounds written
    /// with both ends, a detailed one with its consumers and requirements,
    /// and the detail left out where there is none.
    #[test]
    fn services_are_written_with_sorted_keys_bounds_and_detail() {
        let loaded = load_text("t.nines", testing::RACKS_AND_GROUPS.to_string());
        let model = loaded.model.expect("the spec loads");
        let mut analysis = analyze(&model, &Options::default());
        let bounded = model.service_named("edge").expect("edge").0 as usize;
        analysis.services[bounded].unavailability = Outcome::Bounds {
            lower: 1e-4,
            upper: 2e-4,
        };
        let bare = model.service_named("cache").expect("cache").0 as usize;
        assert!(!analysis.services[bare].detailed, "cache has no SLO");
        let text = render_json(&model, &analysis, &[], &loaded.sources);
        let report: Value = serde_json::from_str(&text).expect("valid JSON");
        // Sorted keys: the text is as serde_json writes a parsed object
        // (whose maps sort their keys).
        assert_eq!(json!({"b": 1, "a": 2}).to_string(), r#"{"a":2,"b":1}"#);
        assert_eq!(
            serde_json::to_string_pretty(&report).expect("serializes") + "\n",
            text
        );
        let service = |name: &str| {
            report["services"]
                .as_array()
                .and_then(|s| s.iter().find(|s| s["name"] == name))
                .cloned()
                .expect("service written")
        };
        let edge = service("edge");
        assert_eq!(edge["exact"], false);
        assert_eq!(edge["bounds"]["unavailability"], json!([1e-4, 2e-4]));
        assert_eq!(edge["bounds"]["composed"], json!([1.0 - 2e-4, 1.0 - 1e-4]));
        assert_eq!(edge["unavailability"], json!(2e-4));
        let api = service("api");
        assert_eq!(api["exact"], true);
        assert!(api.get("bounds").is_none());
        let consumers = api["consumers"].as_array().expect("consumers");
        assert!(!consumers.is_empty());
        for c in consumers {
            assert!(c["downtime_seconds"].is_number() && c["share"].is_number());
            assert_eq!(c["instance"].is_number(), c["kind"] == "instance");
        }
        let required = api["required"].as_array().expect("required");
        assert!(required.iter().any(|q| q["dependency"] == "store"));
        let cache = service("cache");
        assert_eq!(cache["detailed"], false);
        for key in ["consumers", "required", "single_points_of_failure"] {
            assert!(cache.get(key).is_none(), "{key} without detail");
        }
    }
}

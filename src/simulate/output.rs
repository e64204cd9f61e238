//! Renderers of a [`Simulation`]: text for a terminal, JSON for machines
//! (`docs/simulate-json.md`, schema 1). Nothing is computed here beyond
//! formatting, and nothing depends on the wall clock, so the same seed
//! renders the same bytes.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::stats::Bin;
use super::uncertainty::{Spread, PRIOR};
use super::{Mode, ServiceSimulation, Simulation};
use crate::report::nines_text;
use crate::syntax::quantity::{format_duration, format_percent, human_duration};

/// Version of the JSON output.
pub const SCHEMA: u32 = 1;

/// Standard errors of slack allowed, beyond the confidence interval, before
/// an estimate is said to disagree with the exact value.
pub const AGREEMENT_SLACK: f64 = 1.0;

fn count_text(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn probability_text(p: f64) -> String {
    format!("{:.2}%", p * 100.0)
}

fn header(sim: &Simulation) -> String {
    let mut out = String::new();
    let what = match sim.mode {
        Mode::Trials(n) => format!("{} steady-state trials", count_text(n)),
        Mode::Windows(n) => format!(
            "{} windows of {}",
            count_text(n),
            format_duration(sim.window_seconds)
        ),
    };
    let _ = writeln!(
        out,
        "nines simulate: {what}, seed {}, {} basic events",
        sim.seed, sim.events
    );
    if !sim.assumed_time_scale.is_empty() {
        let names = name_list(&sim.assumed_time_scale, 12);
        let _ = writeln!(
            out,
            "time scale: {} component(s) give only an availability; assumed mean repair time {} \
             (--default-mttr): {}",
            sim.assumed_time_scale.len(),
            format_duration(sim.default_mttr),
            names
        );
    }
    if !sim.uncertain.is_empty() {
        let _ = writeln!(
            out,
            "uncertain inputs: {} ({} posterior draws, Jeffreys prior Beta({PRIOR}, {PRIOR}))",
            name_list(&sim.uncertain, 12),
            sim.draws
        );
        let missing = sim.services.iter().filter(|s| s.spread.is_none()).count();
        if missing > 0 {
            let _ = writeln!(
                out,
                "uncertainty: no posterior interval for {missing} service(s) (none of their inputs is \
                 uncertain, or the exact calculator did not solve them within --max-time)"
            );
        }
    }
    out
}

/// The first `max` names, and how many more.
fn name_list(names: &[String], max: usize) -> String {
    let shown = names[..names.len().min(max)].join(", ");
    if names.len() > max {
        format!("{shown} and {} more", names.len() - max)
    } else {
        shown
    }
}

fn spread_text(s: &Spread) -> String {
    format!("[{}, {}]", format_percent(s.high), format_percent(s.low))
}

fn exact_text(s: &ServiceSimulation) -> (String, String) {
    match s.exact {
        None => ("-".to_string(), "-".to_string()),
        Some(exact) => {
            let text = crate::report::availability_text(&exact);
            let verdict = match s.agrees(AGREEMENT_SLACK) {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            (text, verdict.to_string())
        }
    }
}

/// The text output.
pub fn render_text(sim: &Simulation) -> String {
    let mut out = header(sim);
    let confidence = format!("{}%", sim.confidence * 100.0);
    match sim.mode {
        Mode::Trials(_) => {
            let _ = writeln!(out);
            let mut rows = vec![vec![
                "service".to_string(),
                "availability".to_string(),
                "std. error".to_string(),
                format!("{confidence} interval"),
                "exact".to_string(),
                "agrees".to_string(),
            ]];
            if !sim.uncertain.is_empty() {
                rows[0].push("90% posterior".to_string());
            }
            for s in &sim.services {
                let (exact, agrees) = exact_text(s);
                let mut row = vec![
                    s.name.clone(),
                    format_percent(s.unavailability),
                    format!("{:.2e}", s.standard_error),
                    format!(
                        "[{}, {}]",
                        format_percent(s.interval.1),
                        format_percent(s.interval.0)
                    ),
                    exact,
                    agrees,
                ];
                if !sim.uncertain.is_empty() {
                    row.push(s.spread.as_ref().map_or("-".to_string(), spread_text));
                }
                rows.push(row);
            }
            out.push_str(&table(&rows));
        }
        Mode::Windows(_) => {
            for s in &sim.services {
                let _ = writeln!(out);
                window_text(&mut out, sim, s, &confidence);
            }
        }
    }
    out
}

fn window_text(out: &mut String, sim: &Simulation, s: &ServiceSimulation, confidence: &str) {
    let Some(w) = &s.windows else { return };
    match (s.slo, w.budget_seconds) {
        (Some(slo), Some(budget)) => {
            let _ = writeln!(
                out,
                "{}  slo {} (budget {} per {})",
                s.name,
                format_percent(slo),
                human_duration(budget),
                format_duration(sim.window_seconds)
            );
        }
        _ => {
            let _ = writeln!(out, "{}  (no slo)", s.name);
        }
    }
    let (exact, agrees) = exact_text(s);
    let _ = writeln!(
        out,
        "  availability     {} ± {:.2e} ({} nines; exact {exact}, agrees: {agrees})",
        format_percent(s.unavailability),
        s.standard_error,
        nines_text(s.unavailability),
    );
    if let Some(spread) = &s.spread {
        let _ = writeln!(
            out,
            "  uncertainty      90% of posterior draws compose to {}",
            spread_text(spread)
        );
    }
    let _ = writeln!(
        out,
        "  downtime/window  mean {}  p50 {}  p90 {}  p99 {}  max {}",
        human_duration(w.mean),
        human_duration(w.p50),
        human_duration(w.p90),
        human_duration(w.p99),
        human_duration(w.max)
    );
    if let (Some(p), Some((lo, hi))) = (w.p_meet, w.p_meet_interval) {
        let _ = writeln!(
            out,
            "  P(meet SLO)      {} [{}, {}] ({confidence} Clopper-Pearson)",
            probability_text(p),
            probability_text(lo),
            probability_text(hi)
        );
    }
    if let Some(spread) = &w.p_meet_spread {
        let _ = writeln!(
            out,
            "                   90% of posterior draws: [{}, {}]",
            probability_text(spread.low),
            probability_text(spread.high)
        );
    }
    let windows = match sim.mode {
        Mode::Windows(n) => n.max(1) as f64,
        Mode::Trials(_) => 1.0,
    };
    let o = &w.outages;
    if o.count == 0 {
        let _ = writeln!(out, "  outages          none");
    } else {
        let _ = writeln!(
            out,
            "  outages          {:.3} per window, mean {}, longest {}",
            o.count as f64 / windows,
            human_duration(o.total_seconds / o.count as f64),
            human_duration(o.longest_seconds)
        );
    }
    let _ = writeln!(out, "  downtime per window:");
    histogram_text(out, &w.histogram, w.budget_seconds);
}

fn histogram_text(out: &mut String, bins: &[Bin], budget: Option<f64>) {
    const WIDTH: f64 = 40.0;
    let most = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1) as f64;
    let labels: Vec<String> = bins
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if i == 0 {
                "0".to_string()
            } else {
                format!("{} - {}", human_duration(b.low), human_duration(b.high))
            }
        })
        .collect();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for (b, label) in bins.iter().zip(&labels) {
        let bar = "█".repeat(((b.count as f64 / most) * WIDTH).ceil() as usize);
        let over = match budget {
            Some(budget) if b.low >= budget && b.high > 0.0 => "  over budget",
            Some(budget) if b.high > budget && b.low < budget => "  budget inside",
            _ => "",
        };
        let _ = writeln!(
            out,
            "    {label:>label_width$} │{bar} {}{over}",
            count_text(b.count)
        );
    }
}

fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|x| x.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, x)| format!("{x:<w$}", w = widths[c]))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

fn spread_json(s: &Spread) -> Value {
    json!({"p05": s.low, "median": s.median, "p95": s.high})
}

/// The JSON output (`docs/simulate-json.md`).
pub fn render_json(sim: &Simulation) -> String {
    let services: Vec<Value> = sim
        .services
        .iter()
        .map(|s| {
            let mut v = json!({
                "name": s.name,
                "slo": s.slo.map(|d| 1.0 - d),
                "availability": 1.0 - s.unavailability,
                "unavailability": s.unavailability,
                "standard_error": s.standard_error,
                "interval": {"unavailability": [s.interval.0, s.interval.1]},
                "exact": s.exact.map(|e| json!({
                    "unavailability": e.upper(),
                    "lower": e.lower(),
                    "is_exact": e.is_exact(),
                    "agrees": s.agrees(AGREEMENT_SLACK),
                })),
                "uncertainty": s.spread.as_ref().map(|sp| json!({"unavailability": spread_json(sp)})),
            });
            if let Some(w) = &s.windows {
                v["budget_seconds"] = json!(w.budget_seconds);
                v["downtime_seconds"] = json!({
                    "mean": w.mean, "p50": w.p50, "p90": w.p90, "p99": w.p99, "max": w.max,
                });
                v["windows_met"] = json!(w.met);
                v["p_meet_slo"] = json!(w.p_meet);
                v["p_meet_slo_interval"] = json!(w.p_meet_interval.map(|(a, b)| [a, b]));
                v["p_meet_slo_spread"] = json!(w.p_meet_spread.as_ref().map(spread_json));
                v["outages"] = json!({
                    "count": w.outages.count,
                    "total_seconds": w.outages.total_seconds,
                    "mean_seconds": if w.outages.count > 0 {
                        json!(w.outages.total_seconds / w.outages.count as f64)
                    } else {
                        Value::Null
                    },
                    "longest_seconds": w.outages.longest_seconds,
                });
                v["histogram"] = Value::Array(
                    w.histogram
                        .iter()
                        .map(|b| json!({"low_seconds": b.low, "high_seconds": b.high, "count": b.count}))
                        .collect(),
                );
            }
            v
        })
        .collect();
    let (mode, trials, windows) = match sim.mode {
        Mode::Trials(n) => ("trials", Some(n), None),
        Mode::Windows(n) => ("windows", None, Some(n)),
    };
    let doc = json!({
        "schema": SCHEMA,
        "mode": mode,
        "seed": sim.seed,
        "trials": trials,
        "windows": windows,
        "window_seconds": sim.window_seconds,
        "confidence": sim.confidence,
        "events": sim.events,
        "default_mttr_seconds": sim.default_mttr,
        "assumed_time_scale": sim.assumed_time_scale,
        "uncertain_inputs": sim.uncertain,
        "draws": sim.draws,
        "prior": {"kind": "beta", "alpha": PRIOR, "beta": PRIOR},
        "services": services,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}

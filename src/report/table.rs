//! Text and Markdown reports: the same tables, two layouts.

use crate::analysis::{component_name, Analysis, ServiceResult};
use crate::diagnostics::{Diagnostic, SourceMap};
use crate::model::{Model, ServiceId};
use crate::syntax::quantity::{format_duration, format_percent, human_duration};

use super::{availability_text, nines_text};

/// Which services a report shows in detail.
fn detailed<'a>(analysis: &'a Analysis, only: &[ServiceId]) -> Vec<&'a ServiceResult> {
    analysis
        .services
        .iter()
        .filter(|r| only.contains(&r.id))
        .collect()
}

fn summary_rows(model: &Model, analysis: &Analysis) -> Vec<[String; 9]> {
    analysis
        .services
        .iter()
        .map(|r| {
            let s = model.service(r.id);
            let weakest = r
                .consumers
                .first()
                .map(|c| component_name(model, &c.component))
                .unwrap_or_else(|| {
                    if r.detailed {
                        "none".into()
                    } else {
                        String::new()
                    }
                });
            [
                s.name.clone(),
                s.layer
                    .map(|l| model.layer(l).name.clone())
                    .unwrap_or_default(),
                s.slo
                    .map(|(a, _)| format_percent(a.down))
                    .unwrap_or_else(|| "-".into()),
                availability_text(&r.unavailability),
                nines_text(r.planning_unavailability()),
                r.budget
                    .map(|b| human_duration(b.budget_seconds))
                    .unwrap_or_else(|| "-".into()),
                human_duration(r.planning_unavailability() * analysis.window_seconds),
                r.budget
                    .map(|b| {
                        if b.slack_seconds >= 0.0 {
                            human_duration(b.slack_seconds)
                        } else {
                            format!("over by {}", human_duration(-b.slack_seconds))
                        }
                    })
                    .unwrap_or_else(|| "-".into()),
                weakest,
            ]
        })
        .collect()
}

const HEADERS: [&str; 9] = [
    "SERVICE",
    "LAYER",
    "SLO",
    "COMPOSED",
    "NINES",
    "BUDGET",
    "DOWNTIME",
    "SLACK",
    "WEAKEST LINK",
];

/// ANSI styles for a terminal.
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// `text` in `style` when colour is on.
fn paint(colour: bool, style: &str, text: &str) -> String {
    if colour && !text.is_empty() {
        format!("{style}{text}{RESET}")
    } else {
        text.to_string()
    }
}

/// The style of a summary cell: slack green when it holds, red when over.
fn cell_style(column: usize, cell: &str) -> Option<&'static str> {
    match column {
        7 if cell.starts_with("over by") => Some(RED),
        7 if cell != "-" => Some(GREEN),
        _ => None,
    }
}

fn aligned(rows: &[[String; 9]], colour: bool) -> String {
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>, header: bool| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            let numeric = (2..8).contains(&i);
            // Padding is computed on the plain text; styles wrap the cell.
            let shown = match (header, cell_style(i, cell)) {
                (true, _) => paint(colour, BOLD, cell),
                (false, Some(style)) => paint(colour, style, cell),
                (false, None) => cell.to_string(),
            };
            if numeric {
                out.push_str(&" ".repeat(pad));
                out.push_str(&shown);
            } else {
                out.push_str(&shown);
                if i + 1 < cells.len() {
                    out.push_str(&" ".repeat(pad));
                }
            }
            if i + 1 < cells.len() {
                out.push_str("  ");
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(HEADERS.to_vec(), true);
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect(), false));
    }
    out
}

fn findings_lines(diagnostics: &[Diagnostic], sources: &SourceMap) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| {
            let place = d
                .primary
                .as_ref()
                .map(|p| {
                    let f = sources.file(p.span.file);
                    let (line, column) = f.line_column(p.span.start as usize);
                    format!("{}:{line}:{column}: ", f.display_name())
                })
                .unwrap_or_default();
            format!("{place}{}[{}]: {}", d.severity.as_str(), d.code, d.message)
        })
        .collect()
}

fn detail_text(model: &Model, analysis: &Analysis, r: &ServiceResult, markdown: bool) -> String {
    let s = model.service(r.id);
    let mut out = String::new();
    let window = analysis.window_seconds;
    if markdown {
        out.push_str(&format!("\n### {}\n\n", s.name));
    } else {
        out.push_str(&format!(
            "\n{}\n{}\n",
            s.name,
            "=".repeat(s.name.chars().count())
        ));
    }
    out.push_str(&format!(
        "composed availability {} ({} nines), expected downtime {} per {}\n",
        availability_text(&r.unavailability),
        nines_text(r.planning_unavailability()),
        human_duration(r.planning_unavailability() * window),
        format_duration(window)
    ));
    if !r.unavailability.is_exact() {
        out.push_str(
            "the exact method ran out of time: these are certified bounds, not estimates\n",
        );
    }
    if !r.detailed {
        return out;
    }
    let bullet = if markdown { "- " } else { "  " };
    out.push_str(
        "\nwho consumes the budget (downtime per window that would vanish were it perfect):\n",
    );
    if markdown {
        out.push('\n');
    }
    for c in r.consumers.iter().take(15) {
        out.push_str(&format!(
            "{bullet}{:>12}  {:>5.1}%  {}\n",
            human_duration(c.downtime_seconds),
            c.share * 100.0,
            component_name(model, &c.component)
        ));
    }
    if r.consumers.len() > 15 {
        out.push_str(&format!(
            "{bullet}... and {} more\n",
            r.consumers.len() - 15
        ));
    }
    if !r.required.is_empty() {
        out.push_str("\nrequired own availability per dependency for the SLO, all else fixed:\n");
        if markdown {
            out.push('\n');
        }
        for q in &r.required {
            let name = &model.service(q.dependency).name;
            let need = match q.required_down {
                None => "impossible even if perfect".to_string(),
                Some(d) if d >= 1.0 => "any (the SLO holds even if it is always down)".to_string(),
                Some(d) => {
                    let mut text = format!("at least {}", format_percent(d));
                    if let Some(n) = q.allowed_incidents_per_year {
                        text.push_str(&format!(" (at most {n:.1} incidents a year)"));
                    }
                    text
                }
            };
            out.push_str(&format!(
                "{bullet}{name}: now {}, needs {need}\n",
                format_percent(q.current_down)
            ));
        }
    }
    out.push_str("\nsingle points of failure: ");
    if r.single_points_of_failure.is_empty() {
        out.push_str("none\n");
    } else {
        let names: Vec<String> = r
            .single_points_of_failure
            .iter()
            .map(|c| component_name(model, c))
            .collect();
        out.push_str(&names.join(", "));
        out.push('\n');
    }
    if !r.double_points_of_failure.is_empty() {
        out.push_str("pairs that fail it together: ");
        let names: Vec<String> = r
            .double_points_of_failure
            .iter()
            .map(|(a, b)| {
                format!(
                    "{} + {}",
                    component_name(model, a),
                    component_name(model, b)
                )
            })
            .collect();
        out.push_str(&names.join(", "));
        out.push('\n');
    }
    out
}

fn layers_lines(model: &Model, analysis: &Analysis) -> Vec<String> {
    analysis
        .layers
        .iter()
        .filter_map(|l| {
            let layer = model.layer(l.id);
            let (g, _) = layer.guarantees?;
            let (weakest, u) = l.weakest?;
            Some(format!(
                "{}: guarantees {}, weakest service {} composes to {}: {}",
                layer.name,
                format_percent(g.down),
                model.service(weakest).name,
                format_percent(u),
                if l.holds == Some(true) {
                    "holds"
                } else {
                    "BROKEN"
                }
            ))
        })
        .collect()
}

/// The terminal report; `colour` adds ANSI styles (for a terminal only).
pub fn render_text(
    model: &Model,
    analysis: &Analysis,
    only: &[ServiceId],
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    colour: bool,
) -> String {
    let mut out = format!(
        "window {}  ·  {} services  ·  {} basic events  ·  {}\n\n",
        format_duration(analysis.window_seconds),
        model.services.len(),
        analysis.event_count,
        if analysis.all_exact() {
            "exact"
        } else {
            "some results are bounds"
        }
    );
    let rows = summary_rows(model, analysis);
    let rows: Vec<[String; 9]> = if only.is_empty() {
        rows
    } else {
        rows.into_iter()
            .enumerate()
            .filter(|(i, _)| only.contains(&ServiceId(*i as u32)))
            .map(|(_, r)| r)
            .collect()
    };
    out.push_str(&aligned(&rows, colour));
    section(
        &mut out,
        "\nlayer handshakes\n",
        layers_lines(model, analysis),
        |l| format!("  {l}\n"),
    );
    for r in detailed(analysis, only) {
        out.push_str(&detail_text(model, analysis, r, false));
    }
    section(
        &mut out,
        "\nfindings\n",
        findings_lines(diagnostics, sources),
        |f| {
            let style = if f.contains(": error[") { RED } else { YELLOW };
            format!("  {}\n", paint(colour, style, f))
        },
    );
    out
}

/// Appends a titled list when it has lines.
fn section(out: &mut String, title: &str, lines: Vec<String>, line: impl Fn(&str) -> String) {
    if lines.is_empty() {
        return;
    }
    out.push_str(title);
    for l in &lines {
        out.push_str(&line(l));
    }
}

/// The Markdown report, for a pull-request comment.
pub fn render_markdown(
    model: &Model,
    analysis: &Analysis,
    only: &[ServiceId],
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
) -> String {
    let mut out = format!(
        "## nines report\n\nWindow {}, {} services, {}.\n\n",
        format_duration(analysis.window_seconds),
        model.services.len(),
        if analysis.all_exact() {
            "all numbers exact"
        } else {
            "some numbers are certified bounds"
        }
    );
    out.push_str(&format!("| {} |\n", HEADERS.join(" | ")));
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (i, row) in summary_rows(model, analysis).into_iter().enumerate() {
        if !only.is_empty() && !only.contains(&ServiceId(i as u32)) {
            continue;
        }
        let mut cells = row.map(|c| c.replace('|', "\\|"));
        cells[0] = format!("`{}`", cells[0]);
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    section(
        &mut out,
        "\n**Layer handshakes**\n\n",
        layers_lines(model, analysis),
        |l| format!("- {l}\n"),
    );
    for r in detailed(analysis, only) {
        out.push_str(&detail_text(model, analysis, r, true));
    }
    section(
        &mut out,
        "\n**Findings**\n\n",
        findings_lines(diagnostics, sources),
        |f| format!("- `{f}`\n"),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_wraps_cells_without_moving_the_columns() {
        let row = |slack: &str| -> [String; 9] {
            [
                "api", "app", "99.9%", "99.95%", "3.30", "43m", "21m", slack, "db",
            ]
            .map(String::from)
        };
        let rows = [row("21m"), row("over by 5m")];
        let plain = aligned(&rows, false);
        let coloured = aligned(&rows, true);
        assert!(!plain.contains('\x1b'));
        assert!(coloured.contains(&format!("{GREEN}21m{RESET}")));
        assert!(coloured.contains(&format!("{RED}over by 5m{RESET}")));
        let strip = |t: &str| -> String {
            let mut out = String::new();
            let mut skipping = false;
            for c in t.chars() {
                match c {
                    '\x1b' => skipping = true,
                    'm' if skipping => skipping = false,
                    _ if skipping => {}
                    _ => out.push(c),
                }
            }
            out
        };
        assert_eq!(strip(&coloured), plain);
    }
}

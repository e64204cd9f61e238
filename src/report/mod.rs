//! Renderers of an [`Analysis`](crate::analysis::Analysis): text for a
//! terminal, Markdown for a pull request, JSON for machines. No computation
//! happens here beyond formatting.

mod json;
mod table;

pub use json::render_json;
pub use table::{render_markdown, render_text};

use crate::analysis::engine::Outcome;
use crate::syntax::quantity::format_percent;

/// `99.9987%`, or `[99.98%, 99.99%]` for bounds.
pub fn availability_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Exact(u) => format_percent(*u),
        Outcome::Bounds { lower, upper } => {
            format!("[{}, {}]", format_percent(*upper), format_percent(*lower))
        }
    }
}

/// Nines of an unavailability: `4.88`, `∞` when perfect.
pub fn nines_text(down: f64) -> String {
    if down <= 0.0 {
        "∞".to_string()
    } else {
        format!("{:.2}", -down.log10())
    }
}

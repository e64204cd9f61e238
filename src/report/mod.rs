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
            let (low, high) = (format_percent(*upper), format_percent(*lower));
            if low != high || *lower <= 0.0 || *upper >= 1.0 {
                return format!("[{low}, {high}]");
            }
            // Both ends print alike: give them the digits that tell them
            // apart, each rounded outwards so the printed interval still
            // contains the exact value.
            let (pct_low, pct_high) = (100.0 * (1.0 - upper), 100.0 * (1.0 - lower));
            let first = ((-(100.0 * upper).log10()).ceil() as i32 + 1).clamp(0, 15);
            for digits in first..=15 {
                let scale = 10f64.powi(digits);
                let (a, b) = ((pct_low * scale).floor(), (pct_high * scale).ceil());
                if a != b || digits == 15 {
                    let d = digits as usize;
                    return format!("[{:.*}%, {:.*}%]", d, a / scale, d, b / scale);
                }
            }
            format!("[{low}, {high}]")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_bounds_get_the_digits_that_tell_them_apart() {
        // Both ends round to 99.9958%: the low end is rounded down instead.
        let o = Outcome::Bounds {
            lower: 4.241e-5,
            upper: 4.249e-5,
        };
        assert_eq!(availability_text(&o), "[99.9957%, 99.9958%]");
        // Outward rounding of ends that fall on a digit keeps them apart.
        let on_digits = Outcome::Bounds {
            lower: 4.0e-5,
            upper: 5.0e-5,
        };
        assert_eq!(availability_text(&on_digits), "[99.995%, 99.996%]");
        let wide = Outcome::Bounds {
            lower: 1e-4,
            upper: 1e-2,
        };
        assert_eq!(availability_text(&wide), "[99%, 99.99%]");
        assert_eq!(availability_text(&Outcome::Exact(1e-3)), "99.9%");
    }
}

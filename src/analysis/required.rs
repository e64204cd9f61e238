//! The own unavailability a dependency may have for a service to meet its
//! SLO, all else fixed: the root of a growing polynomial.

/// The least own unavailability tried: below it, a requirement is reported
/// as 0 (perfection).
const FLOOR: f64 = 1e-18;

/// Steps in a row that may each leave more than half the bracket's log
/// width before a bisection is forced.
const SLOW_STEPS: usize = 3;

/// The largest own unavailability `q` with `evaluate(q) <= target`, for an
/// `evaluate` that grows with `q` (a polynomial: the composed unavailability
/// as a function of the dependency's own); `None` when even `q = 0` misses
/// it. `known` is a point `(q, evaluate(q))` the caller already has (the
/// dependency's current unavailability and the service's): it starts the
/// bracket without an evaluation.
///
/// Illinois false position on the logarithms of `q` and of
/// `evaluate(q) - evaluate(0)`: over a replica set that polynomial is
/// close to a power of `q` (`C q^r` where `r` replicas must fail), a
/// straight line in those coordinates, so a few evaluations reach full
/// precision (false position on `q` itself took 21 to 62 on the realistic
/// platforms, bisection in log space 67). After [`SLOW_STEPS`] steps in a
/// row that each leave more than half the bracket's logarithmic width, a
/// bisection in log space follows, so convergence is guaranteed. The interpolation only picks where to
/// evaluate: the bracket moves on the sign of `evaluate(q) - target`
/// alone, and the answer is its feasible end once it is within a few ulps.
pub fn solve_required(
    evaluate: impl Fn(f64) -> f64,
    target: f64,
    known: Option<(f64, f64)>,
) -> Option<f64> {
    let base = evaluate(0.0);
    if base > target {
        return None;
    }
    let (mut low, mut high) = (None, None);
    if let Some((q, value)) = known.filter(|&(q, v)| q > FLOOR && q < 1.0 && !v.is_nan()) {
        if value <= target {
            low = Some((q, value));
        } else {
            high = Some((q, value));
        }
    }
    let (mut b, fb) = match high {
        Some(point) => point,
        None => {
            let value = evaluate(1.0);
            if value <= target {
                return Some(1.0);
            }
            (1.0, value)
        }
    };
    let (mut a, fa) = match low {
        Some(point) => point,
        None => {
            let value = evaluate(FLOOR);
            if value > target {
                return Some(0.0);
            }
            (FLOOR, value)
        }
    };
    // The residual in log coordinates: negative where feasible, -inf where
    // the value does not exceed `base` (rounding at tiny `q`).
    let goal = (target - base).ln();
    let residual = |value: f64| {
        if value > base {
            (value - base).ln() - goal
        } else {
            f64::NEG_INFINITY
        }
    };
    let (mut ra, mut rb) = (residual(fa), residual(fb));
    // Which end moved last (Illinois: halve the other end's residual when
    // the same end moves twice, so that a stuck end moves too).
    let mut side = 0i8;
    // Steps in a row that did not halve the bracket's log width.
    let mut slow = 0;
    for _ in 0..400 {
        if b - a <= 4.0 * f64::EPSILON * b {
            break;
        }
        let (la, lb) = (a.ln(), b.ln());
        let width = lb - la;
        let interpolated = if slow < SLOW_STEPS && ra.is_finite() && rb.is_finite() && rb > ra {
            (la + width * (-ra / (rb - ra))).exp()
        } else {
            f64::NAN
        };
        let bisection = !interpolated.is_finite();
        let x = if bisection {
            // A bisection in log space.
            (a * b).sqrt()
        } else {
            // At least a few ulps from either end: an end already at the
            // root (to the last bit) would otherwise draw every step to
            // itself, and the other end would move a bit at a time.
            let step = 2.0 * f64::EPSILON * b;
            interpolated.clamp(a + step, b - step)
        };
        let fx = evaluate(x);
        if fx <= target {
            (a, ra) = (x, residual(fx).min(0.0));
            if side == -1 {
                rb *= 0.5;
            }
            side = -1;
        } else {
            (b, rb) = (x, residual(fx).max(0.0));
            if side == 1 {
                ra *= 0.5;
            }
            side = 1;
        }
        slow = if !bisection && (b / a).ln() > 0.5 * width {
            slow + 1
        } else {
            0
        };
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::solve_required;

    #[test]
    fn finds_linear_root() {
        // U(q) = 1e-4 + 0.5 q; target 1e-3 → q = 1.8e-3.
        let q = solve_required(|q| 1e-4 + 0.5 * q, 1e-3, None).unwrap();
        assert!((q - 1.8e-3).abs() < 1e-12);
        assert_eq!(solve_required(|q| 2e-3 + q, 1e-3, None), None);
        // Feasible even at q = 1; infeasible at every q > 0.
        assert_eq!(solve_required(|q| 1e-4 * q, 1e-3, None), Some(1.0));
        assert_eq!(solve_required(|q| 1e-3 + q, 1e-3, None), Some(0.0));
    }

    /// U(q) for a service over 1-of-n, 2-of-3 and 3-of-5 replica sets of
    /// one dependency, with some other unavailability in series, and a
    /// target.
    fn polynomials() -> [(&'static dyn Fn(f64) -> f64, f64); 5] {
        [
            (&|q: f64| 1e-5 + q.powi(3), 1e-4),
            (&|q: f64| 1e-6 + 3.0 * q * q * (1.0 - q) + q.powi(3), 1e-4),
            (
                &|q: f64| 1e-7 + 10.0 * q.powi(3) * (1.0 - q).powi(2) + q.powi(5),
                1e-5,
            ),
            (&|q: f64| 2e-4 + 0.9 * q, 3e-4),
            // A power law mixed with a linear part.
            (&|q: f64| 1e-9 + 1e-6 * q + 0.3 * q * q, 1e-6),
        ]
    }

    /// The root by 200 bisections in log space.
    fn bisected(u: &dyn Fn(f64) -> f64, target: f64) -> f64 {
        let (mut lo, mut hi) = (-18.0f64, 0.0f64);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if u(10f64.powf(mid)) <= target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        10f64.powf(lo)
    }

    #[test]
    fn matches_log_bisection_on_polynomials_in_few_evaluations() {
        for (u, target) in polynomials() {
            let want = bisected(u, target);
            // Started from nothing, from a feasible point and from an
            // infeasible one.
            for known in [None, Some((want * 0.1, u(want * 0.1))), Some((0.5, u(0.5)))] {
                let count = Cell::new(0);
                let counted = |q: f64| {
                    count.set(count.get() + 1);
                    u(q)
                };
                let got = solve_required(counted, target, known).unwrap();
                assert!(u(got) <= target);
                assert!((got - want).abs() <= 1e-13 * want, "{got:e} vs {want:e}");
                assert!(count.get() <= 13, "{} evaluations", count.get());
            }
        }
    }
}

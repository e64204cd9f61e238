//! Statistics of simulation results: binomial confidence intervals,
//! quantiles, histograms.

use statrs::distribution::{Beta, ContinuousCDF};

/// The Clopper–Pearson interval of a binomial proportion with `k` successes
/// in `n` trials at `confidence` (e.g. 0.95): exact, never narrower than it
/// should be, from quantiles of Beta distributions.
pub fn clopper_pearson(k: u64, n: u64, confidence: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let alpha = 1.0 - confidence;
    let (k, n) = (k.min(n) as f64, n as f64);
    let lower = if k == 0.0 {
        0.0
    } else {
        beta_quantile(k, n - k + 1.0, alpha / 2.0).unwrap_or(0.0)
    };
    let upper = if k == n {
        1.0
    } else {
        beta_quantile(k + 1.0, n - k, 1.0 - alpha / 2.0).unwrap_or(1.0)
    };
    (lower, upper)
}

/// The `p`-quantile of Beta(a, b), by bisection on statrs' Beta CDF
/// (statrs' own inverse does not terminate for some large parameters).
/// The search halves the ratio hi/lo rather than the difference once lo is
/// positive, so tiny quantiles (1e-9 with n = 10^9) keep their digits.
pub fn beta_quantile(a: f64, b: f64, p: f64) -> Option<f64> {
    let beta = Beta::new(a, b).ok()?;
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    // Bracket from above: shrink hi by 16 until the CDF falls below p.
    while hi > 1e-300 && beta.cdf(hi / 16.0) >= p {
        hi /= 16.0;
    }
    if hi > 1e-300 {
        lo = hi / 16.0;
    }
    for _ in 0..200 {
        let mid = if lo > 0.0 { (lo * hi).sqrt() } else { hi / 2.0 };
        if mid <= lo || mid >= hi {
            break;
        }
        if beta.cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    Some((lo + hi) / 2.0)
}

/// The `p`-quantile (0 ≤ p ≤ 1) of sorted values, interpolating linearly
/// between order statistics (Hyndman and Fan's type 7). NaN when empty.
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// Mean and standard error of the mean.
pub fn mean_and_error(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, f64::NAN);
    }
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// One bar of a histogram: values in `[low, high]` (the first bar holds the
/// exact zeros only).
#[derive(Clone, Debug, PartialEq)]
pub struct Bin {
    /// Lower edge.
    pub low: f64,
    /// Upper edge.
    pub high: f64,
    /// Values in the bin.
    pub count: u64,
}

/// A histogram of non-negative sorted values: one bin for exact zeros, then
/// `bins` equal bins up to the largest value.
pub fn histogram(sorted: &[f64], bins: usize) -> Vec<Bin> {
    let zeros = sorted.iter().take_while(|&&v| v <= 0.0).count();
    let max = sorted.last().copied().unwrap_or(0.0);
    let mut out = vec![Bin {
        low: 0.0,
        high: 0.0,
        count: zeros as u64,
    }];
    if max <= 0.0 || bins == 0 {
        return out;
    }
    let width = max / bins as f64;
    for b in 0..bins {
        out.push(Bin {
            low: b as f64 * width,
            high: (b + 1) as f64 * width,
            count: 0,
        });
    }
    for &v in &sorted[zeros..] {
        let b = ((v / width) as usize).min(bins - 1);
        out[b + 1].count += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clopper_pearson_matches_known_values() {
        // Known values: 0 of 10 at 95% → [0, 0.3085]; 5 of 10 → [0.1871, 0.8129].
        let (lo, hi) = clopper_pearson(0, 10, 0.95);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.308_5).abs() < 1e-4, "{hi}");
        let (lo, hi) = clopper_pearson(5, 10, 0.95);
        assert!((lo - 0.187_1).abs() < 1e-4 && (hi - 0.812_9).abs() < 1e-4);
        assert_eq!(clopper_pearson(10, 10, 0.95).1, 1.0);
        // Large n with few successes: the upper bound of 0 of n is
        // 1 - (α/2)^(1/n) ≈ 3.689 / n, and 3 of 10^9 stays near 3e-9.
        let (_, hi) = clopper_pearson(0, 1_000_000_000, 0.95);
        assert!((hi * 1e9 - 3.689).abs() < 0.01, "{hi}");
        let (lo, hi) = clopper_pearson(3, 1_000_000_000, 0.95);
        assert!(
            lo > 0.5e-9 && lo < 1e-9 && hi > 8e-9 && hi < 9.5e-9,
            "{lo} {hi}"
        );
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert!((quantile(&v, 0.5) - 2.5).abs() < 1e-12);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn histogram_separates_zeros() {
        let h = histogram(&[0.0, 0.0, 1.0, 2.0, 10.0], 5);
        assert_eq!(h[0].count, 2);
        assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), 5);
        assert_eq!(h.last().map(|b| b.count), Some(1));
    }
}

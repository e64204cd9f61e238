//! Random numbers for simulation: one seedable generator per block of work,
//! durations drawn from mean-preserving distributions (with the stationary
//! start of an alternating renewal process), and geometric skipping.

use rand::{Rng, RngCore, SeedableRng};
use rand_distr::{Distribution as _, Gamma, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::model::Distribution;

/// The generator of every simulation.
pub type SimRng = Xoshiro256PlusPlus;

/// Independent streams of one seed, so that adding draws to one kind of work
/// never shifts another's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Steady-state trials.
    Trials = 1,
    /// Windows.
    Windows = 2,
    /// Posterior draws of uncertain inputs.
    Posterior = 3,
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator of block `block` of `stream` under `seed`: a function of the
/// three only, so results do not depend on which thread runs the block.
pub fn block_rng(seed: u64, stream: Stream, block: u64) -> SimRng {
    let key = splitmix(splitmix(seed) ^ splitmix((stream as u64) << 56 ^ block));
    SimRng::seed_from_u64(key)
}

/// A uniform number in (0, 1]: never zero, so that its logarithm is finite.
#[inline]
pub fn open_unit(rng: &mut SimRng) -> f64 {
    ((rng.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A distribution of durations with a given mean, ready to draw from.
#[derive(Clone, Debug)]
pub struct Lifetime {
    mean: f64,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Exponential,
    Weibull {
        inverse_shape: f64,
        scale: f64,
        /// Gamma(1 + 1/k, 1): the length-biased draw's core.
        biased: Gamma<f64>,
    },
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    Fixed,
}

impl Lifetime {
    /// `distribution` scaled to `mean` seconds (`mean` > 0 and finite, and the
    /// parameter in the ranges the model checks).
    pub fn new(distribution: Distribution, mean: f64) -> Lifetime {
        let kind = match distribution {
            Distribution::Exponential => Kind::Exponential,
            Distribution::Fixed => Kind::Fixed,
            Distribution::Weibull { shape } => {
                let inverse_shape = 1.0 / shape;
                let scale = mean / statrs::function::gamma::gamma(1.0 + inverse_shape);
                match Gamma::new(1.0 + inverse_shape, 1.0) {
                    Ok(biased) if scale.is_finite() && scale > 0.0 => Kind::Weibull {
                        inverse_shape,
                        scale,
                        biased,
                    },
                    // Outside the checked range only: keep the mean.
                    _ => Kind::Exponential,
                }
            }
            Distribution::LogNormal { sigma } => Kind::LogNormal {
                mu: mean.ln() - sigma * sigma / 2.0,
                sigma,
            },
        };
        Lifetime { mean, kind }
    }

    /// The mean, in seconds.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Whether this is the exponential distribution (memoryless).
    pub fn is_exponential(&self) -> bool {
        matches!(self.kind, Kind::Exponential)
    }

    /// One duration.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        match &self.kind {
            Kind::Exponential => -self.mean * open_unit(rng).ln(),
            Kind::Weibull {
                inverse_shape,
                scale,
                ..
            } => scale * (-open_unit(rng).ln()).powf(*inverse_shape),
            Kind::LogNormal { mu, sigma } => {
                let z: f64 = rng.sample(StandardNormal);
                (mu + sigma * z).exp()
            }
            Kind::Fixed => self.mean,
        }
    }

    /// The remaining duration of the interval that covers a random instant
    /// of a stationary process: the covering interval is length-biased
    /// (density x f(x) / mean), and the instant falls uniformly inside it.
    ///
    /// Length-biased forms: exponential → Gamma(2, mean), so the residual is
    /// again exponential; Weibull(k, λ) → λ G^(1/k) with G ~ Gamma(1 + 1/k, 1);
    /// log-normal(μ, σ) → log-normal(μ + σ², σ); fixed → itself.
    pub fn sample_residual(&self, rng: &mut SimRng) -> f64 {
        let covering = match &self.kind {
            Kind::Exponential => return self.sample(rng),
            Kind::Weibull {
                inverse_shape,
                scale,
                biased,
            } => scale * biased.sample(rng).powf(*inverse_shape),
            Kind::LogNormal { mu, sigma } => {
                let z: f64 = rng.sample(StandardNormal);
                (mu + sigma * sigma + sigma * z).exp()
            }
            Kind::Fixed => self.mean,
        };
        covering * open_unit(rng)
    }
}

/// Geometric skipping: the number of failures-free trials before the next
/// trial in which an event of probability `q` happens, given
/// `log_up = ln(1 - q)` (negative). `u64::MAX` when `q` is zero.
#[inline]
pub fn skip(rng: &mut SimRng, log_up: f64) -> u64 {
    if log_up == 0.0 {
        return u64::MAX;
    }
    let gap = open_unit(rng).ln() / log_up;
    if gap >= 1.8e19 {
        u64::MAX
    } else {
        gap as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_of(f: impl Fn(&mut SimRng) -> f64, n: usize) -> f64 {
        let mut rng = block_rng(7, Stream::Trials, 0);
        (0..n).map(|_| f(&mut rng)).sum::<f64>() / n as f64
    }

    #[test]
    fn streams_and_blocks_differ_and_repeat() {
        let a = block_rng(1, Stream::Trials, 0).next_u64();
        assert_eq!(a, block_rng(1, Stream::Trials, 0).next_u64());
        assert_ne!(a, block_rng(1, Stream::Trials, 1).next_u64());
        assert_ne!(a, block_rng(1, Stream::Windows, 0).next_u64());
        assert_ne!(a, block_rng(2, Stream::Trials, 0).next_u64());
    }

    #[test]
    fn every_shape_keeps_its_mean() {
        for d in [
            Distribution::Exponential,
            Distribution::Weibull { shape: 0.7 },
            Distribution::Weibull { shape: 3.0 },
            Distribution::LogNormal { sigma: 0.8 },
            Distribution::Fixed,
        ] {
            let life = Lifetime::new(d, 10.0);
            let m = mean_of(|r| life.sample(r), 200_000);
            assert!((m - 10.0).abs() < 0.15, "{d}: mean {m}");
        }
    }

    #[test]
    fn residuals_have_the_equilibrium_mean() {
        // The residual of a stationary renewal process has mean E[X²] / (2 E[X]).
        // Weibull(k = 2): E[X²] / E[X]² = Γ(2) / Γ(1.5)² = 4/π.
        let life = Lifetime::new(Distribution::Weibull { shape: 2.0 }, 10.0);
        let expected = 10.0 * (4.0 / std::f64::consts::PI) / 2.0;
        let m = mean_of(|r| life.sample_residual(r), 200_000);
        assert!(
            (m - expected).abs() < 0.1,
            "weibull residual {m} vs {expected}"
        );
        // Log-normal: E[X²] / E[X]² = exp(σ²).
        let life = Lifetime::new(Distribution::LogNormal { sigma: 0.5 }, 10.0);
        let expected = 10.0 * 0.25f64.exp() / 2.0;
        let m = mean_of(|r| life.sample_residual(r), 200_000);
        assert!(
            (m - expected).abs() < 0.1,
            "lognormal residual {m} vs {expected}"
        );
        // Fixed: half the length.
        let life = Lifetime::new(Distribution::Fixed, 10.0);
        let m = mean_of(|r| life.sample_residual(r), 100_000);
        assert!((m - 5.0).abs() < 0.05);
    }

    #[test]
    fn skips_are_geometric() {
        let q: f64 = 0.01;
        let log_up = (-q).ln_1p();
        let m = mean_of(|r| skip(r, log_up) as f64, 200_000);
        // Mean of failures before the first success: (1 - q) / q = 99.
        assert!((m - 99.0).abs() < 1.0, "mean skip {m}");
        let mut rng = block_rng(1, Stream::Trials, 0);
        assert_eq!(skip(&mut rng, 0.0), u64::MAX);
    }
}

//! A small deterministic generator for the analysis' randomized tests.

/// SplitMix64.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A probability, with the edge cases (0, 1, tiny, near 1) often.
    pub fn prob(&mut self) -> f64 {
        match self.below(10) {
            0 => 0.0,
            1 => 1.0,
            2 => 1e-6 * self.unit(),
            3 => 1.0 - 1e-3 * self.unit(),
            4 => 1e-3,
            _ => self.unit(),
        }
    }
}

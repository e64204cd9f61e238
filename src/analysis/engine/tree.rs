//! Direct formulas for one gate over independent children, on (down, up) pairs: every result is
//! a sum of non-negative terms, so tiny probabilities keep their relative precision.

use super::prep::Kind;

/// The probability that at least one of independent events happens, given
/// each one's probability, as `-expm1(sum ln(1 - p))`: no cancellation when
/// the probabilities are tiny.
pub fn any_happens(p: impl Iterator<Item = f64>) -> f64 {
    let log_none: f64 = p.map(|p| (-p.min(1.0)).ln_1p()).sum();
    -log_none.exp_m1()
}

/// (P(down), P(up)) of a gate whose children are independent with (down, up) `p`.
pub(super) fn eval(kind: Kind, p: &[(f64, f64)]) -> (f64, f64) {
    match kind {
        Kind::Or => {
            let (mut d, mut u) = (0.0, 1.0);
            for &(di, ui) in p {
                d += u * di;
                u *= ui;
            }
            (d, u)
        }
        Kind::And => {
            let (mut d, mut u) = (1.0, 0.0);
            for &(di, ui) in p {
                u += d * ui;
                d *= di;
            }
            (d, u)
        }
        Kind::AtLeast(k) => {
            let k = k as usize;
            // c[j]: exactly j children down so far, c[k]: at least k.
            let mut c = vec![0.0; k + 1];
            c[0] = 1.0;
            for &(di, ui) in p {
                c[k] += c[k - 1] * di;
                for j in (1..k).rev() {
                    c[j] = c[j] * ui + c[j - 1] * di;
                }
                c[0] *= ui;
            }
            (c[k], c[..k].iter().sum())
        }
    }
}

/// `out[i] += scale * d P(down) / d q_i` for a gate over independent children.
pub(super) fn gradient(kind: Kind, p: &[(f64, f64)], scale: f64, out: &mut [f64]) {
    let n = p.len();
    match kind {
        Kind::Or | Kind::And => {
            // Product of the others' up (Or) or down (And) probabilities.
            let pick = |i: usize| if kind == Kind::Or { p[i].1 } else { p[i].0 };
            let mut suffix = vec![1.0; n + 1];
            for i in (0..n).rev() {
                suffix[i] = suffix[i + 1] * pick(i);
            }
            let mut prefix = 1.0;
            for i in 0..n {
                out[i] += scale * prefix * suffix[i + 1];
                prefix *= pick(i);
            }
        }
        Kind::AtLeast(k) => {
            // Derivative: P(exactly k-1 of the others down); exact counts 0..k-1 before and after.
            let k = k as usize;
            let step = |c: &mut Vec<f64>, (di, ui): (f64, f64)| {
                for j in (1..k).rev() {
                    c[j] = c[j] * ui + c[j - 1] * di;
                }
                c[0] *= ui;
            };
            let mut suffix = vec![vec![0.0; k]; n + 1];
            suffix[n][0] = 1.0;
            for i in (0..n).rev() {
                let mut c = suffix[i + 1].clone();
                step(&mut c, p[i]);
                suffix[i] = c;
            }
            let mut prefix = vec![0.0; k];
            prefix[0] = 1.0;
            for i in 0..n {
                let s = &suffix[i + 1];
                let x: f64 = (0..k).map(|j| prefix[j] * s[k - 1 - j]).sum();
                out[i] += scale * x;
                step(&mut prefix, p[i]);
            }
        }
    }
}

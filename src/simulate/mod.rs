//! `nines simulate`: Monte Carlo answers the exact calculator cannot give.
//!
//! - **Windows** ([`Mode::Windows`]): every basic event follows an
//!   alternating up/down renewal process through one error-budget window at
//!   a time; per service, the distribution of downtime per window, the
//!   probability of meeting the SLO, and outages.
//! - **Trials** ([`Mode::Trials`]): steady-state samples of every event,
//!   64 trials per machine word, as a cross-check of the exact calculator
//!   and for models past its limits.
//! - **Uncertainty**: availabilities with evidence become Beta posteriors,
//!   propagated into intervals.
//!
//! Work is split into fixed blocks, each seeded from (seed, block index) and
//! combined in block order, so results depend on the seed only, never on
//! the number of threads.

pub mod absorb;
pub mod circuit;
pub mod output;
pub mod sampling;
pub mod stats;
pub mod steady;
pub mod timing;
pub mod uncertainty;
pub mod window;

use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::analysis::engine::{Limits, Outcome};
use crate::analysis::structure::Structure;
use crate::analysis::{self, Detail};
use crate::model::{Model, ServiceId};

use circuit::Circuit;
use sampling::{block_rng, Stream};
use stats::Bin;
use uncertainty::{Spread, Uncertain};
use window::Outages;

/// What to simulate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// This many steady-state trials.
    Trials(u64),
    /// This many error-budget windows.
    Windows(u64),
}

/// How to simulate.
#[derive(Clone, Debug)]
pub struct Options {
    /// Trials or windows.
    pub mode: Mode,
    /// The seed: same seed, same results.
    pub seed: u64,
    /// Worker threads (0: one per core). Results do not depend on it.
    pub threads: usize,
    /// Mean repair time, seconds, of components given only as an availability.
    pub default_mttr: f64,
    /// Posterior draws for input uncertainty.
    pub draws: usize,
    /// Confidence level of intervals (e.g. 0.95).
    pub confidence: f64,
    /// Time allowed to the exact calculator for the cross-check and the
    /// uncertainty propagation.
    pub max_time: Duration,
    /// Whether to run the exact calculator as a cross-check.
    pub cross_check: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Windows(10_000),
            seed: 1,
            threads: 0,
            default_mttr: timing::DEFAULT_MTTR_SECONDS,
            draws: 100,
            confidence: 0.95,
            max_time: Duration::from_secs(10),
            cross_check: true,
        }
    }
}

/// Windows per block when no input is uncertain.
pub const WINDOW_BLOCK: u64 = 32;

/// Fewest windows simulated under one posterior draw (fewer draws are used
/// when the windows do not suffice).
pub const MIN_WINDOWS_PER_DRAW: u64 = 100;

/// Most downtime values kept in memory (4 bytes each).
pub const MAX_KEPT_VALUES: u64 = 500_000_000;

/// Why a simulation could not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimulateError {
    /// The run would keep more values than memory allows.
    TooLarge(String),
    /// The thread pool could not be built.
    Threads(String),
}

impl std::fmt::Display for SimulateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimulateError::TooLarge(m) | SimulateError::Threads(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SimulateError {}

/// Downtime per window of one service.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowStats {
    /// The error budget, seconds, when the service has an SLO.
    pub budget_seconds: Option<f64>,
    /// Mean downtime per window, seconds.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// The worst window.
    pub max: f64,
    /// Windows within budget.
    pub met: Option<u64>,
    /// The fraction of windows within budget.
    pub p_meet: Option<f64>,
    /// Its Clopper–Pearson interval.
    pub p_meet_interval: Option<(f64, f64)>,
    /// With uncertain inputs: its spread over posterior draws.
    pub p_meet_spread: Option<Spread>,
    /// Outages over all windows.
    pub outages: Outages,
    /// A histogram of downtime per window.
    pub histogram: Vec<Bin>,
}

/// The simulation of one service.
#[derive(Clone, Debug)]
pub struct ServiceSimulation {
    /// The service.
    pub id: ServiceId,
    /// Its name.
    pub name: String,
    /// Its SLO, as a probability of being down.
    pub slo: Option<f64>,
    /// The estimated probability of being down.
    pub unavailability: f64,
    /// The standard error of that estimate.
    pub standard_error: f64,
    /// A confidence interval on it.
    pub interval: (f64, f64),
    /// The exact calculator's answer, when cross-checked.
    pub exact: Option<Outcome>,
    /// Window mode: downtime per window.
    pub windows: Option<WindowStats>,
    /// With uncertain inputs: the spread of the composed unavailability.
    pub spread: Option<Spread>,
}

impl ServiceSimulation {
    /// Whether the exact value (or either bound) lies within the estimate's
    /// confidence interval widened by `slack` standard errors; `None`
    /// without an exact value.
    pub fn agrees(&self, slack: f64) -> Option<bool> {
        let exact = self.exact?;
        let (lo, hi) = self.interval;
        let margin = slack * self.standard_error;
        Some(exact.upper() >= lo - margin && exact.lower() <= hi + margin)
    }
}

/// The results of `nines simulate`.
#[derive(Clone, Debug)]
pub struct Simulation {
    /// What was simulated.
    pub mode: Mode,
    /// The seed.
    pub seed: u64,
    /// The spec's window, seconds.
    pub window_seconds: f64,
    /// Confidence of the intervals.
    pub confidence: f64,
    /// The mean repair time assumed where none is given, seconds.
    pub default_mttr: f64,
    /// Components given only as an availability (the default time scale applies).
    pub assumed_time_scale: Vec<String>,
    /// Components with evidence (uncertain inputs).
    pub uncertain: Vec<String>,
    /// Posterior draws used (0 without uncertain inputs).
    pub draws: usize,
    /// Basic events simulated.
    pub events: usize,
    /// One entry per reported service, in model order.
    pub services: Vec<ServiceSimulation>,
    /// Wall time.
    pub elapsed: Duration,
}

/// Simulates `model`. `progress(done, total)` is called as blocks of work
/// complete (from worker threads).
pub fn simulate(
    model: &Model,
    options: &Options,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Simulation, SimulateError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
        .map_err(|e| SimulateError::Threads(e.to_string()))?;
    pool.install(|| run(model, options, progress))
}

fn run(
    model: &Model,
    options: &Options,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Simulation, SimulateError> {
    let start = Instant::now();
    let structure = Structure::build(model);
    let circuit = Circuit::new(&structure.graph, structure.events.len());
    let (timings, assumed) = timing::event_timings(model, &structure, options.default_mttr);
    let components = uncertainty::uncertain_components(model, &structure, options.default_mttr);
    let draws_wanted = if components.is_empty() {
        0
    } else {
        options.draws.max(2)
    };
    let draws: Vec<Vec<f64>> = (0..draws_wanted as u64)
        .map(|d| uncertainty::draw(&components, options.seed, d))
        .collect();
    let window = model.window.seconds;
    let confidence = options.confidence;

    let tracked: Vec<ServiceId> = match options.mode {
        Mode::Trials(_) => (0..model.services.len() as u32).map(ServiceId).collect(),
        Mode::Windows(_) => {
            let with_slo: Vec<ServiceId> = (0..model.services.len() as u32)
                .map(ServiceId)
                .filter(|s| model.service(*s).slo.is_some())
                .collect();
            if with_slo.is_empty() {
                (0..model.services.len() as u32).map(ServiceId).collect()
            } else {
                with_slo
            }
        }
    };
    let roots: Vec<u32> = tracked
        .iter()
        .map(|s| structure.service_nodes[s.0 as usize])
        .collect();

    let mut services: Vec<ServiceSimulation> = tracked
        .iter()
        .map(|&id| {
            let s = model.service(id);
            ServiceSimulation {
                id,
                name: s.name.clone(),
                slo: s.slo.map(|(a, _)| a.down),
                unavailability: 0.0,
                standard_error: 0.0,
                interval: (0.0, 1.0),
                exact: None,
                windows: None,
                spread: None,
            }
        })
        .collect();

    match options.mode {
        Mode::Trials(n) => {
            let steady = steady::Steady::new(&circuit, &structure.q, &roots);
            let blocks = n.div_ceil(steady::BLOCK_TRIALS);
            let counts: Vec<steady::Counts> = (0..blocks)
                .into_par_iter()
                .map(|b| {
                    let trials = (n - b * steady::BLOCK_TRIALS).min(steady::BLOCK_TRIALS);
                    let counts =
                        steady.block(trials, &mut block_rng(options.seed, Stream::Trials, b));
                    progress(1, blocks);
                    counts
                })
                .collect();
            let mut total = steady::Counts {
                trials: 0,
                down: vec![0; roots.len()],
            };
            for c in &counts {
                total.add(c);
            }
            for (i, s) in services.iter_mut().enumerate() {
                let k = total.down[i];
                let p = k as f64 / total.trials.max(1) as f64;
                s.unavailability = p;
                s.standard_error = (p * (1.0 - p) / total.trials.max(1) as f64).sqrt();
                s.interval = stats::clopper_pearson(k, total.trials, confidence);
            }
        }
        Mode::Windows(n) => {
            let kept = n.saturating_mul(roots.len() as u64);
            if kept > MAX_KEPT_VALUES {
                return Err(SimulateError::TooLarge(format!(
                    "{n} windows of {} services keep {kept} downtimes, more than {MAX_KEPT_VALUES}; \
                     simulate fewer windows",
                    roots.len()
                )));
            }
            windows(
                &circuit,
                &timings,
                &components,
                &draws,
                &roots,
                window,
                n,
                options,
                progress,
                &mut services,
            );
            // The spread over posterior draws means something only for a
            // service that some uncertain input reaches; elsewhere it would
            // be the blocks' sampling noise shown as uncertainty.
            let uncertain: Vec<bool> = {
                let mut marked = vec![false; structure.events.len()];
                for c in &components {
                    for &e in &c.events {
                        marked[e as usize] = true;
                    }
                }
                marked
            };
            for (s, &root) in services.iter_mut().zip(&roots) {
                let reached = structure.cone(root).iter().any(|&e| uncertain[e as usize]);
                if let (false, Some(w)) = (reached, s.windows.as_mut()) {
                    w.p_meet_spread = None;
                }
            }
        }
    }

    let deadline = Instant::now() + options.max_time;
    if !components.is_empty() {
        let spreads = uncertainty::composed_spreads(
            &structure,
            &components,
            &roots,
            &draws,
            &Limits::until(deadline),
        );
        for (s, spread) in services.iter_mut().zip(spreads) {
            s.spread = spread;
        }
    }
    if options.cross_check {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let exact = analysis::analyze(
            model,
            &analysis::Options {
                max_time: remaining.max(Duration::from_millis(100)),
                detail: Detail::Only(Vec::new()),
                ..Default::default()
            },
        );
        for s in &mut services {
            s.exact = Some(exact.service(s.id).unavailability);
        }
    }
    Ok(Simulation {
        mode: options.mode,
        seed: options.seed,
        window_seconds: window,
        confidence,
        default_mttr: options.default_mttr,
        assumed_time_scale: assumed,
        uncertain: components.iter().map(|c| c.name.clone()).collect(),
        draws: draws.len(),
        events: structure.events.len(),
        services,
        elapsed: start.elapsed(),
    })
}

/// The window mode: blocks of windows (one posterior draw per block when
/// inputs are uncertain), then statistics per tracked service.
#[allow(clippy::too_many_arguments)] // one call site; the pieces are the run's state
fn windows(
    circuit: &Circuit,
    timings: &[timing::EventTiming],
    components: &[Uncertain],
    draws: &[Vec<f64>],
    roots: &[u32],
    window: f64,
    n: u64,
    options: &Options,
    progress: &(dyn Fn(u64, u64) + Sync),
    services: &mut [ServiceSimulation],
) {
    let sim = window::WindowSim::new(circuit, window, roots);
    // Block b covers windows bounds[b]..bounds[b + 1].
    let blocks = if draws.is_empty() {
        n.div_ceil(WINDOW_BLOCK)
    } else {
        (draws.len() as u64).min(n / MIN_WINDOWS_PER_DRAW).max(1)
    };
    let bounds: Vec<u64> = if draws.is_empty() {
        (0..=blocks).map(|b| (b * WINDOW_BLOCK).min(n)).collect()
    } else {
        (0..=blocks).map(|b| n * b / blocks).collect()
    };
    let results: Vec<window::Block> = (0..blocks)
        .into_par_iter()
        .map(|b| {
            let count = (bounds[b as usize + 1] - bounds[b as usize]) as usize;
            let mut rng = block_rng(options.seed, Stream::Windows, b);
            let block = match draws.get(b as usize) {
                Some(qs) => {
                    let mut drawn = timings.to_vec();
                    for (c, q) in components.iter().zip(qs) {
                        for &e in &c.events {
                            let t = &mut drawn[e as usize];
                            t.renewal = t.mean_down.and_then(|d| timing::renewal(&c.own, *q, d));
                        }
                    }
                    sim.block(count, &drawn, &mut rng)
                }
                None => sim.block(count, timings, &mut rng),
            };
            progress(1, blocks);
            block
        })
        .collect();
    let z = statrs::distribution::ContinuousCDF::inverse_cdf(
        &statrs::distribution::Normal::standard(),
        0.5 + options.confidence / 2.0,
    );
    for (i, s) in services.iter_mut().enumerate() {
        let mut values: Vec<f64> = Vec::with_capacity(n as usize);
        let mut outages = Outages::default();
        let mut per_draw: Vec<f64> = Vec::new();
        let budget = s.slo.map(|down| down * window);
        for block in &results {
            let slice = &block.downtime[i * block.windows..(i + 1) * block.windows];
            if let (Some(budget), false) = (budget, draws.is_empty()) {
                let met = slice.iter().filter(|&&d| (d as f64) <= budget).count();
                per_draw.push(met as f64 / block.windows.max(1) as f64);
            }
            values.extend(slice.iter().map(|&d| d as f64));
            outages.add(&block.outages[i]);
        }
        let fractions: Vec<f64> = values.iter().map(|d| d / window).collect();
        let (mean_fraction, error) = stats::mean_and_error(&fractions);
        s.unavailability = mean_fraction;
        s.standard_error = if error.is_nan() { 0.0 } else { error };
        s.interval = (
            (mean_fraction - z * s.standard_error).max(0.0),
            (mean_fraction + z * s.standard_error).min(1.0),
        );
        values.sort_by(f64::total_cmp);
        let met = budget.map(|b| values.iter().filter(|&&d| d <= b).count() as u64);
        s.windows = Some(WindowStats {
            budget_seconds: budget,
            mean: mean_fraction * window,
            p50: stats::quantile(&values, 0.5),
            p90: stats::quantile(&values, 0.9),
            p99: stats::quantile(&values, 0.99),
            max: values.last().copied().unwrap_or(0.0),
            met,
            p_meet: met.map(|m| m as f64 / n.max(1) as f64),
            p_meet_interval: met.map(|m| stats::clopper_pearson(m, n, options.confidence)),
            p_meet_spread: (!per_draw.is_empty()).then(|| Spread::of(per_draw)),
            outages,
            histogram: stats::histogram(&values, 10),
        });
    }
}

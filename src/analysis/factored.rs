//! The first phase of [`super::analyze`]: every service factored (see
//! [`super::factor`]), its number first, then its detail, the worker
//! threads sharing one set of computed parts.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::engine::{Limits, Outcome};
use super::factor::{enumerate, Cache, Factored, Root, Whole, MAX_UNIT_INPUTS, UNIT_INPUT_LIMITS};
use super::structure::Structure;
use super::{detail, schedule, unknown, Options, ServiceResult};
use crate::model::Model;

/// Most BDD nodes of one part of a factored service: its parts are small
/// where factoring pays.
const PART_NODES: usize = 1 << 15;

/// A factored service whose largest part takes more work than this to
/// evaluate again (table entries times BDD nodes, see
/// [`Factored::largest_unit_work`]) tries small BDDs for its detail first:
/// each component inside that part costs one such evaluation. Above what
/// the realistic 10k platform reaches (at most 2.9 million; 100k: all but
/// a few, up to 10.7 million), where the factored detail is the cheaper
/// (on 10k, with 2^18 here, 16 services went to the BDD ladder for 0.7 to
/// 0.9 s where factoring their detail costs 0.2 to 0.5 s); below what
/// pays on the adversarial platforms (10k at `--max-time 10`: 412 to 431
/// services exact without a limit, 438 to 451 with this one).
const CHEAP_DETAIL_WORK: usize = 1 << 22;

/// How close the bounds by enumeration of a service that does not factor
/// are taken (`upper - lower` at most this share of `upper`): well below
/// what a report prints, and each decade closer costs about twice the
/// time (on the realistic 100k platform, 1,728 such services take 13 s
/// at 1e-3, 25 s at 1e-4 and 56 s at 1e-5 on one thread).
pub const BOUNDS_WIDTH: f64 = 1e-3;

/// Share of the time left after factoring every service whole for
/// expanding the groups of those that do not (the lightest first); those
/// it does not reach get bounds first (see [`Factoring::numbers`]). On the
/// realistic 100k platform at `--max-time 60`, alternating runs: in session
/// 13, 0.4 left 774-809 services bounded and 2,091-2,575 exact SLO services
/// without detail, 0.6 690-721 and 1,550-1,565, 0.8 638-808 and
/// 1,798-2,372; since the wanted services' derivatives are taken with
/// their numbers (session 15, three runs each), 0.6 764-819 and 23-61, 0.8
/// 684-758 and 14-34.
const EXPANSION_SHARE: f64 = 0.8;

/// Most time of one service's bounds by enumeration.
const BOUNDS_TIME: Duration = Duration::from_secs(1);

/// What became of one service in one pass of [`Factoring::numbers`].
enum Tried<R> {
    Solved(R),
    Failed,
    /// Not tried: out of time, or the pass gave up.
    Skipped,
}

/// Whether an outcome is exact or bounds within [`BOUNDS_WIDTH`].
pub fn narrow(outcome: Outcome) -> bool {
    outcome.upper() - outcome.lower() <= BOUNDS_WIDTH * outcome.upper()
}

/// The factoring of one platform's services.
pub struct Factoring<'a> {
    model: &'a Model,
    structure: &'a Structure,
    options: &'a Options,
    /// One cache per worker thread, sharing their computed parts.
    caches: Vec<Cache>,
    /// By service: its factoring, kept from [`Factoring::numbers`] for
    /// its detail.
    kept: Vec<Option<Factored>>,
}

/// What [`Factoring::numbers`] leaves to the caller.
pub struct Left {
    /// The services that do not factor.
    pub unfactored: Vec<usize>,
    /// The factored services that want a detail, cheapest first.
    pub cheap_detail: Vec<usize>,
    /// The factored services that want a detail whose parts are costly to
    /// evaluate again (the BDD ladder's small caps may do better).
    pub costly_detail: Vec<usize>,
}

impl<'a> Factoring<'a> {
    /// A factoring with one cache per worker thread.
    pub fn new(
        model: &'a Model,
        structure: &'a Structure,
        options: &'a Options,
        threads: usize,
    ) -> Self {
        let first = Cache::new(&structure.graph);
        let mut caches: Vec<Cache> = (1..threads)
            .map(|_| first.fresh(&structure.graph))
            .collect();
        caches.insert(0, first);
        Factoring {
            model,
            structure,
            options,
            caches,
            kept: (0..structure.service_nodes.len()).map(|_| None).collect(),
        }
    }

    /// Runs `attempt` for the services `items` (shared among the threads)
    /// until `until`, or until nearly every attempt fails where `record`
    /// watches (see [`schedule::Record`]).
    fn pass<R: Send>(
        &mut self,
        items: &[usize],
        until: Instant,
        record: &schedule::Record,
        attempt: impl Fn(&mut Cache, &Structure, usize) -> Option<R> + Sync,
    ) -> Vec<Tried<R>> {
        let structure = self.structure;
        let tried = schedule::share(items, &mut self.caches, |cache, _, i| {
            if Instant::now() >= until || record.hopeless() {
                return None;
            }
            Some(match record.attempt(|| attempt(cache, structure, i)) {
                Some(solved) => Tried::Solved(solved),
                None => Tried::Failed,
            })
        });
        tried
            .into_iter()
            .map(|t| t.unwrap_or(Tried::Skipped))
            .collect()
    }

    /// Factors the services `order` (in that order, shared among the
    /// threads) until `until`, setting the unavailability of those that
    /// factor, in passes from the cheapest method to the costliest:
    ///
    /// 1. every service factored whole within the first of
    ///    [`UNIT_INPUT_LIMITS`] (nearly all of a realistic platform);
    /// 2. the others with their groups expanded (within each of the
    ///    limits, see [`Factored::within`]), in a share of the time left
    ///    ([`EXPANSION_SHARE`]);
    /// 3. those not factored yet whole within the last limit, or where
    ///    an elimination step would be too wide, certified bounds by
    ///    enumeration ([`Factored::whole_or_bounds`], within
    ///    [`BOUNDS_WIDTH`]): a few milliseconds each, where expanding the
    ///    groups of one costs tens;
    /// 4. those the second pass did not reach, expanded after all in the
    ///    time left (the ones without bounds first, then those that want
    ///    a detail).
    ///
    /// A platform where nearly every service shares too much to factor
    /// whole (replicas dealt over random domains) stops the first pass
    /// once nearly every attempt of it fails and skips the others (the
    /// BDD ladder does better there: on the adversarial 10k platform, 466
    /// services exact in 10 s against 407 with the later passes);
    /// elsewhere, the few services left to the later passes are all tried.
    pub fn numbers(
        &mut self,
        order: &[usize],
        wanted: &[bool],
        until: Instant,
        services: &mut [ServiceResult],
    ) -> Left {
        let mut exact: Vec<Option<Factored>> = (0..services.len()).map(|_| None).collect();
        let first = schedule::Record::default();
        let whole = self.pass(order, until, &first, |cache, structure, i| {
            let limits = Limits::attempt(until, Some(PART_NODES));
            let inputs = UNIT_INPUT_LIMITS[0];
            deriving(cache, wanted[i], |cache| {
                Factored::whole(root_of(structure, i, &limits), inputs, cache)
            })
        });
        let mut rest = Vec::new();
        let mut not_whole = vec![false; services.len()];
        for (&i, tried) in order.iter().zip(whole) {
            match tried {
                Tried::Solved(factored) => exact[i] = Some(factored),
                Tried::Failed => {
                    not_whole[i] = true;
                    rest.push(i);
                }
                Tried::Skipped => rest.push(i),
            }
        }
        // Where the first pass gave up, the BDD ladder gets the time;
        // elsewhere the few services left are all tried.
        if first.hopeless() {
            rest.clear();
        }
        let later = schedule::Record::never_hopeless;
        // Within each limit; straight to the expansion within the first
        // where the first pass found the root not to factor whole.
        let expand = |cache: &mut Cache, structure: &Structure, i: usize| {
            let limits = Limits::attempt(until, Some(PART_NODES));
            let root = root_of(structure, i, &limits);
            deriving(cache, wanted[i], |cache| {
                UNIT_INPUT_LIMITS
                    .iter()
                    .enumerate()
                    .find_map(|(k, &inputs)| {
                        if k == 0 && not_whole[i] {
                            Factored::expanded_within(root, inputs, cache)
                        } else {
                            Factored::within(root, inputs, cache)
                        }
                    })
            })
        };
        let now = Instant::now();
        let expanded_until = now
            + until
                .saturating_duration_since(now)
                .mul_f64(EXPANSION_SHARE);
        let expanded = self.pass(&rest, expanded_until, &later(), expand);
        let mut to_bound = Vec::new();
        let mut unexpanded = Vec::new();
        for (&i, tried) in rest.iter().zip(expanded) {
            match tried {
                Tried::Solved(factored) => exact[i] = Some(factored),
                Tried::Failed => to_bound.push(i),
                Tried::Skipped => {
                    to_bound.push(i);
                    unexpanded.push(i);
                }
            }
        }
        let bounded = self.pass(&to_bound, until, &later(), |cache, structure, i| {
            let limits = Limits::attempt(until, Some(PART_NODES));
            let stop = enumerate::Stop {
                deadline: until.min(Instant::now() + BOUNDS_TIME),
                relative_width: BOUNDS_WIDTH,
                max_visits: u64::MAX,
            };
            let root = root_of(structure, i, &limits);
            Factored::whole_or_bounds(root, MAX_UNIT_INPUTS, cache, &stop)
        });
        for (&i, tried) in to_bound.iter().zip(bounded) {
            match tried {
                Tried::Solved(Whole::Exact(factored)) => exact[i] = Some(factored),
                Tried::Solved(Whole::Bounds { lower, upper }) => {
                    let bounds = Outcome::Bounds { lower, upper };
                    services[i].unavailability = services[i].unavailability.tightest(bounds);
                }
                Tried::Failed | Tried::Skipped => {}
            }
        }
        // Those without bounds first, then those that want a detail.
        unexpanded.retain(|&i| exact[i].is_none());
        unexpanded.sort_by_key(|&i| (narrow(services[i].unavailability), !wanted[i]));
        let expanded = self.pass(&unexpanded, until, &later(), expand);
        for (&i, tried) in unexpanded.iter().zip(expanded) {
            if let Tried::Solved(factored) = tried {
                exact[i] = Some(factored);
            }
        }
        let mut unfactored = Vec::new();
        let mut to_detail = Vec::new();
        for &i in order {
            match exact[i].take() {
                Some(factored) => {
                    services[i].unavailability = Outcome::Exact(factored.unavailability());
                    if wanted[i] {
                        to_detail.push((factored.largest_unit_work(), i));
                        self.kept[i] = Some(factored);
                    }
                }
                None => unfactored.push(i),
            }
        }
        to_detail.sort_unstable();
        let (cheap, costly): (Vec<_>, Vec<_>) = to_detail
            .into_iter()
            .partition(|&(work, _)| work <= CHEAP_DETAIL_WORK);
        Left {
            unfactored,
            cheap_detail: cheap.into_iter().map(|(_, i)| i).collect(),
            costly_detail: costly.into_iter().map(|(_, i)| i).collect(),
        }
    }

    /// The detail of the factored services `items` (shared among the
    /// threads, each service's factoring taken from
    /// [`Factoring::numbers`]) until `until`; a service not reached, or
    /// whose detail the deadline cuts short, keeps its number without
    /// detail.
    pub fn detail(&mut self, items: &[usize], until: Instant, services: &mut [ServiceResult]) {
        let Factoring {
            model,
            structure,
            options,
            ..
        } = *self;
        // Each slot is taken once, by the thread given its item.
        let slots: Vec<Mutex<Option<Factored>>> = items
            .iter()
            .map(|&i| Mutex::new(self.kept[i].take()))
            .collect();
        let results = schedule::share(items, &mut self.caches, |cache, k, i| {
            if Instant::now() >= until {
                return None;
            }
            let root = structure.service_nodes[i];
            let kept = slots[k].lock().unwrap_or_else(|e| e.into_inner()).take();
            let factored = match kept {
                Some(factored) => factored,
                None => {
                    let limits = Limits::attempt(until, Some(PART_NODES));
                    Factored::new(root_of(structure, i, &limits), cache)?
                }
            };
            let compiled = detail::Compiled::factored(structure, root, factored)?;
            let mut result = unknown(i);
            detail::fill(model, structure, &mut result, options, until, &compiled);
            Some(result)
        });
        for (&i, result) in items.iter().zip(results) {
            if let Some(result) = result {
                services[i] = result;
            }
        }
    }
}

/// Runs `attempt` taking the derivatives of its root problems with their
/// tables where `wanted` (the service's detail will need them, see
/// [`Cache::with_derivatives`]).
fn deriving<R>(cache: &mut Cache, wanted: bool, attempt: impl FnOnce(&mut Cache) -> R) -> R {
    cache.with_derivatives = wanted;
    let result = attempt(cache);
    cache.with_derivatives = false;
    result
}

/// Service `i`'s root in `structure`, factored within `limits`.
fn root_of<'a>(structure: &'a Structure, i: usize, limits: &'a Limits) -> Root<'a> {
    Root {
        graph: &structure.graph,
        q: &structure.q,
        node: structure.service_nodes[i],
        limits,
    }
}

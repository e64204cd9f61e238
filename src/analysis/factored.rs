//! The first phase of [`super::analyze`]: every service factored (see
//! [`super::factor`]), its number first, then its detail, the worker
//! threads sharing one set of computed parts.

use std::sync::Mutex;
use std::time::Instant;

use super::engine::{Limits, Outcome};
use super::factor::{Cache, Factored, UNIT_INPUT_LIMITS};
use super::structure::Structure;
use super::{detail, schedule, unknown, Options, ServiceResult};
use crate::model::Model;

/// Most BDD nodes of one part of a factored service: its parts are small
/// where factoring pays.
const PART_NODES: usize = 1 << 15;

/// A factored service whose largest part takes more work than this to
/// evaluate again (table entries times BDD nodes, see
/// [`Factored::largest_unit_work`]) tries small BDDs for its detail first:
/// each component inside that part costs one such evaluation.
const CHEAP_DETAIL_WORK: usize = 1 << 18;

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

    fn factor(
        structure: &Structure,
        cache: &mut Cache,
        i: usize,
        unit_inputs: usize,
        until: Instant,
    ) -> Option<Factored> {
        let root = structure.service_nodes[i];
        let limits = Limits::attempt(until, Some(PART_NODES));
        Factored::within(
            &structure.graph,
            &structure.q,
            root,
            &limits,
            unit_inputs,
            cache,
        )
    }

    /// Factors the services `order` (in that order, shared among the
    /// threads) until `until`, setting the exact unavailability of those
    /// that factor: every service within the first of
    /// [`UNIT_INPUT_LIMITS`], then those that did not within the next (the
    /// larger tables cost most where they fail too). A platform where
    /// nearly every service shares too much to factor (replicas dealt over
    /// random domains) stops trying early.
    pub fn numbers(
        &mut self,
        order: &[usize],
        wanted: &[bool],
        until: Instant,
        services: &mut [ServiceResult],
    ) -> Left {
        let structure = self.structure;
        let mut factored: Vec<Option<_>> = order.iter().map(|_| None).collect();
        for unit_inputs in UNIT_INPUT_LIMITS {
            let positions: Vec<usize> = (0..order.len())
                .filter(|&k| factored[k].is_none())
                .collect();
            let items: Vec<usize> = positions.iter().map(|&k| order[k]).collect();
            let record = schedule::Record::default();
            let pass = schedule::share(&items, &mut self.caches, |cache, _, i| {
                if Instant::now() >= until || record.hopeless() {
                    return None;
                }
                record
                    .attempt(|| Self::factor(structure, cache, i, unit_inputs, until))
                    .map(|f| {
                        let numbers = (f.unavailability(), f.largest_unit_work());
                        (numbers, wanted[i].then_some(f))
                    })
            });
            for (k, solved) in positions.into_iter().zip(pass) {
                factored[k] = solved;
            }
        }
        let mut unfactored = Vec::new();
        let mut to_detail = Vec::new();
        for (&i, solved) in order.iter().zip(factored) {
            match solved {
                Some(((unavailability, work), kept)) => {
                    services[i].unavailability = Outcome::Exact(unavailability);
                    if wanted[i] {
                        to_detail.push((work, i));
                    }
                    self.kept[i] = kept;
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
                    Factored::new(&structure.graph, &structure.q, root, &limits, cache)?
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

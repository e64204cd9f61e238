//! Variable elimination over the tables of a factored service (see
//! [`super`]): the product of the units' tables, every variable not given
//! summed out with its prior, and the derivatives of the result by reverse
//! mode.

use std::borrow::Cow;

use super::buffers;

/// Most variables one elimination step may span (it evaluates 2^this
/// states).
pub const MAX_WIDTH: usize = 20;

/// How a variable of the elimination is distributed.
#[derive(Clone, Copy)]
pub(super) enum Prior<'a> {
    /// Given by the caller: never summed out.
    Given,
    /// An event: down with this probability.
    Event(f64),
    /// A cut node: down with the probability its unit's table gives for
    /// the state of these variables.
    Cut(&'a [u32], &'a [f64]),
}

/// A table over some variables (in any order), by state (bit `j`:
/// `vars[j]` down): the probability mass, over the variables summed into it, of the
/// states where one of its factors is down, and where that is not one
/// everywhere, the whole mass.
///
/// Tables are *normalized* (whole mass one, `mass` is `None`, `values` are
/// P(down)) until a variable in the scope of a cut variable's prior is
/// summed out before the cut variable: the prior (mass P(cut state |
/// scope), nothing down) then joins that step, and the tables it passes
/// into carry their mass until the cut variable is summed out.
struct Table<'a> {
    vars: Vec<u32>,
    mask: u128,
    /// The mass of the states where a factor is down (a factor's own
    /// table borrowed).
    values: Cow<'a, [f64]>,
    /// The whole mass (`None`: one in every state).
    mass: Option<Vec<f64>>,
    /// The cut variables whose prior this table holds and that are not
    /// summed out yet (`mass` is `None` exactly when there are none).
    open: u128,
    /// The cut variable whose prior this table is, as it was given.
    prior_of: Option<u32>,
}

/// `a` or `b` down, for independent `a` and `b` given as P(down).
pub(super) fn either_down(a: f64, b: f64) -> f64 {
    a + b * (1.0 - a)
}

/// Two independent (mass, down mass) pairs multiplied: the down mass of
/// the product is the whole mass less the mass where both are up, as a
/// sum of non-negative terms.
fn combine((m1, d1): (f64, f64), (m2, d2): (f64, f64)) -> (f64, f64) {
    (m1 * m2, d1 * m2 + d2 * (m1 - d1))
}

fn mask_of(vars: &[u32]) -> u128 {
    vars.iter().fold(0u128, |m, &v| m | 1 << v)
}

/// One elimination, kept for its gradient: every table (the factors
/// first, then the cut priors that joined a step early and each step's
/// result), the steps, and the tables left over the given variables.
pub(super) struct Elimination<'a> {
    tables: Vec<Table<'a>>,
    steps: Vec<Step>,
    live: Vec<usize>,
    given: usize,
}

/// One step: the tables over variable `v` (spanning `union`) multiplied,
/// `v` summed out with its prior, giving table `out`.
struct Step {
    inputs: Vec<usize>,
    v: u32,
    union: u128,
    out: usize,
    /// Whether `v` is a cut variable whose prior weighs this step (it is
    /// among the inputs when it joined an earlier step).
    own_prior: bool,
}

/// How the two states of a variable summed out are weighed.
#[derive(Clone, Copy)]
enum Weight<'a> {
    /// An event down with this probability.
    Event(f64),
    /// A cut variable down with the probability its unit's table (over
    /// `scope`) gives.
    Cut(&'a [u32], &'a [f64]),
    /// Both by one: the variable's prior is among the tables.
    One,
}

/// P(any factor down) as a table over the given variables `0..given`,
/// every other variable summed out of the product of the `factors`
/// (scope, table) with its prior; `None` when a step spans more than
/// [`MAX_WIDTH`] variables.
pub(super) fn eliminate<'a>(
    priors: &[Prior],
    given: usize,
    factors: impl Iterator<Item = (&'a [u32], &'a [f64])>,
) -> Option<Vec<f64>> {
    Elimination::run(priors, given, factors).map(|e| e.result())
}

impl<'a> Elimination<'a> {
    /// Runs the elimination (see [`eliminate`]) in the cheapest of the
    /// [`ORDERS`]: each cut variable summed out before the variables of
    /// its prior, which keeps every table normalized, and, when that
    /// order is costly, any order.
    pub(super) fn run(
        priors: &[Prior],
        given: usize,
        factors: impl Iterator<Item = (&'a [u32], &'a [f64])>,
    ) -> Option<Elimination<'a>> {
        Elimination::run_in(priors, given, factors, &ORDERS)
    }

    /// [`Elimination::run`] with the plan chosen among `orders` (see
    /// [`choose`]).
    fn run_in(
        priors: &[Prior],
        given: usize,
        factors: impl Iterator<Item = (&'a [u32], &'a [f64])>,
        orders: &[Order],
    ) -> Option<Elimination<'a>> {
        let tables: Vec<Table> = factors
            .map(|(scope, values)| Table {
                vars: scope.to_vec(),
                mask: mask_of(scope),
                values: Cow::Borrowed(values),
                mass: None,
                open: 0,
                prior_of: None,
            })
            .collect();
        // Each cut variable's prior as a table over it and its scope.
        let prior_mask: Vec<u128> = priors
            .iter()
            .enumerate()
            .map(|(v, p)| match p {
                Prior::Given | Prior::Event(_) => 0,
                Prior::Cut(scope, _) => mask_of(scope) | 1 << v,
            })
            .collect();
        let factor_masks: Vec<u128> = tables.iter().map(|t| t.mask).collect();
        let plan = choose(&prior_mask, &factor_masks, given, orders)?;
        let mut e = Elimination {
            live: (0..tables.len()).collect(),
            tables,
            steps: Vec::new(),
            given,
        };
        for step in plan.steps {
            let PlannedStep {
                v,
                union,
                own_prior,
                mut joining,
            } = step;
            while joining != 0 {
                let c = joining.trailing_zeros();
                joining &= joining - 1;
                if let Prior::Cut(scope, table) = priors[c as usize] {
                    e.live.push(e.tables.len());
                    e.tables.push(prior_table(c, scope, table));
                }
            }
            let (inputs, others): (Vec<usize>, Vec<usize>) = e
                .live
                .iter()
                .partition(|&&t| e.tables[t].mask >> v & 1 == 1);
            let with: Vec<&Table> = inputs.iter().map(|&t| &e.tables[t]).collect();
            let weight = step_weight(priors[v as usize], own_prior);
            let table = sum_out(&with, v, weight, union);
            let out = e.tables.len();
            e.tables.push(table);
            e.live = others;
            e.live.push(out);
            e.steps.push(Step {
                inputs,
                v,
                union,
                out,
                own_prior,
            });
        }
        Some(e)
    }

    /// P(down) for each state of the given variables (every table left is
    /// normalized: each cut variable is summed out with its prior).
    pub(super) fn result(&self) -> Vec<f64> {
        // The tables over no variable first, combined once.
        let given: Vec<u32> = (0..self.given as u32).collect();
        let mut constant = 0.0;
        let mut lookups = Vec::new();
        for &t in &self.live {
            let table = &self.tables[t];
            if table.vars.is_empty() {
                constant = either_down(constant, table.values[0]);
            } else {
                lookups.push((&table.values, indexer_of(&table.vars, &given)));
            }
        }
        (0..1usize << self.given)
            .map(|state| {
                lookups.iter().fold(constant, |d, (values, indexer)| {
                    either_down(d, values[indexer.index(state)])
                })
            })
            .collect()
    }

    /// The derivatives of `sum(adjoint[s] * result[s])` with respect to
    /// every entry of the first `factors` tables, to every event prior and
    /// to every entry of every cut prior's table (by variable).
    pub(super) fn gradient(&self, priors: &[Prior], factors: usize, adjoint: &[f64]) -> Adjoints {
        let mut down_adj: Vec<Vec<f64>> = self
            .tables
            .iter()
            .map(|t| buffers::zeros(t.values.len()))
            .collect();
        let mut mass_adj: Vec<Option<Vec<f64>>> = self
            .tables
            .iter()
            .map(|t| t.mass.as_ref().map(|m| buffers::zeros(m.len())))
            .collect();
        let mut prior_adj = vec![0.0; priors.len()];
        let mut cut_adj: Vec<Vec<f64>> = priors
            .iter()
            .map(|p| match p {
                Prior::Cut(_, table) => vec![0.0; table.len()],
                _ => Vec::new(),
            })
            .collect();
        // The result: either_down over the live (normalized) tables.
        let given: Vec<u32> = (0..self.given as u32).collect();
        let live_indexers: Vec<Indexer> = self
            .live
            .iter()
            .map(|&t| indexer_of(&self.tables[t].vars, &given))
            .collect();
        let mut pairs: Vec<(f64, f64)> = Vec::new();
        let mut others: Vec<(f64, f64)> = Vec::new();
        let mut indices: Vec<usize> = Vec::new();
        for (state, &g) in adjoint.iter().enumerate() {
            if g == 0.0 {
                continue;
            }
            indices.clear();
            indices.extend(live_indexers.iter().map(|x| x.index(state)));
            pairs.clear();
            pairs.extend(
                self.live
                    .iter()
                    .zip(&indices)
                    .map(|(&t, &i)| (1.0, self.tables[t].values[i])),
            );
            combined_others(&pairs, &mut others);
            for (k, &(m, d)) in others.iter().enumerate() {
                down_adj[self.live[k]][indices[k]] += g * (m - d);
            }
        }
        for step in self.steps.iter().rev() {
            let all = bits(step.union);
            let at = all.iter().position(|&x| x == step.v).unwrap_or(0);
            let inputs: Vec<&Table> = step.inputs.iter().map(|&t| &self.tables[t]).collect();
            let input_indexers: Vec<Indexer> =
                inputs.iter().map(|t| indexer_of(&t.vars, &all)).collect();
            let weight = step_weight(priors[step.v as usize], step.own_prior);
            let weight_indexer = match weight {
                Weight::Cut(scope, _) => indexer_of(scope, &all),
                _ => indexer_of(&[], &all),
            };
            let low_mask = (1usize << at) - 1;
            let out_down = std::mem::take(&mut down_adj[step.out]);
            let out_mass = mass_adj[step.out].take();
            if out_mass.is_none() && inputs.iter().all(|t| t.mass.is_none()) {
                let normalized = NormalizedStep {
                    inputs: &inputs,
                    indexers: &input_indexers,
                    weight,
                    weight_indexer: &weight_indexer,
                    at,
                };
                let mut adjoints: Vec<Vec<f64>> = step
                    .inputs
                    .iter()
                    .map(|&t| std::mem::take(&mut down_adj[t]))
                    .collect();
                let slope_adj = match weight {
                    Weight::Event(_) => std::slice::from_mut(&mut prior_adj[step.v as usize]),
                    Weight::Cut(..) => &mut cut_adj[step.v as usize][..],
                    Weight::One => &mut [][..],
                };
                normalized.gradient(&out_down, &mut adjoints, slope_adj);
                for (&t, adjoint) in step.inputs.iter().zip(adjoints) {
                    down_adj[t] = adjoint;
                }
                buffers::give_back(out_down);
                continue;
            }
            for (s, &g_down) in out_down.iter().enumerate() {
                let g_mass = out_mass.as_ref().map_or(0.0, |m| m[s]);
                if g_down == 0.0 && g_mass == 0.0 {
                    continue;
                }
                let state = (s & low_mask) | (s & !low_mask) << 1;
                let (q, weight_index) = match weight {
                    Weight::Event(q) => (q, 0),
                    Weight::Cut(_, table) => {
                        let i = weight_indexer.index(state);
                        (table[i], i)
                    }
                    Weight::One => (f64::NAN, 0),
                };
                let mut weight_adj = [0.0; 2];
                for (b, adj_at_b) in weight_adj.iter_mut().enumerate() {
                    let w = match weight {
                        Weight::One => 1.0,
                        _ if b == 1 => q,
                        _ => 1.0 - q,
                    };
                    let full = state | b << at;
                    indices.clear();
                    indices.extend(input_indexers.iter().map(|x| x.index(full)));
                    pairs.clear();
                    pairs.extend(
                        inputs
                            .iter()
                            .zip(&indices)
                            .map(|(t, &i)| (t.mass.as_ref().map_or(1.0, |m| m[i]), t.values[i])),
                    );
                    let (m, d) = pairs.iter().fold((1.0, 0.0), |a, &p| combine(a, p));
                    *adj_at_b = g_mass * m + g_down * d;
                    if w == 0.0 {
                        continue;
                    }
                    combined_others(&pairs, &mut others);
                    for (k, &(m, d)) in others.iter().enumerate() {
                        let t = step.inputs[k];
                        down_adj[t][indices[k]] += w * g_down * (m - d);
                        if let Some(adj) = mass_adj[t].as_mut() {
                            adj[indices[k]] += w * (g_mass * m + g_down * d);
                        }
                    }
                }
                let slope = weight_adj[1] - weight_adj[0];
                match weight {
                    Weight::One => {}
                    Weight::Event(_) => prior_adj[step.v as usize] += slope,
                    Weight::Cut(..) => cut_adj[step.v as usize][weight_index] += slope,
                }
            }
            buffers::give_back(out_down);
            out_mass.into_iter().for_each(buffers::give_back);
        }
        // The cut priors that joined a step early: their mass is
        // P(cut down | scope) where the cut variable is down, one less
        // that where it is up.
        for (t, adj) in self.tables.iter().zip(&mass_adj) {
            let (Some(c), Some(adj)) = (t.prior_of, adj) else {
                continue;
            };
            let at = t.vars.iter().position(|&x| x == c).unwrap_or(0);
            let low_mask = (1usize << at) - 1;
            for (s, slot) in cut_adj[c as usize].iter_mut().enumerate() {
                let state = (s & low_mask) | (s & !low_mask) << 1;
                *slot += adj[state | 1 << at] - adj[state];
            }
        }
        for adj in down_adj
            .drain(factors..)
            .chain(mass_adj.into_iter().flatten())
        {
            buffers::give_back(adj);
        }
        Adjoints {
            tables: down_adj,
            priors: prior_adj,
            cuts: cut_adj,
        }
    }
}

impl Drop for Elimination<'_> {
    /// The tables' buffers kept for the next elimination of this thread.
    fn drop(&mut self) {
        for table in self.tables.drain(..) {
            if let Cow::Owned(values) = table.values {
                buffers::give_back(values);
            }
            table.mass.into_iter().for_each(buffers::give_back);
        }
    }
}

/// One step of an elimination whose tables are all normalized (see
/// [`Table`]), for [`Elimination::gradient`]: its result is
/// `w0 D0 + w1 D1` in each state, where `Db` is P(any input down) with
/// the variable summed out in state `b` and the weights are its prior's.
struct NormalizedStep<'a> {
    inputs: &'a [&'a Table<'a>],
    indexers: &'a [Indexer],
    weight: Weight<'a>,
    weight_indexer: &'a Indexer,
    /// The place of the variable summed out among the step's variables.
    at: usize,
}

impl NormalizedStep<'_> {
    /// Adds the derivatives of `sum(out_adjoint[s] * result[s])` by each
    /// input's entries to `adjoints` (by input) and by the prior of the
    /// variable summed out to `slopes` (its event's one slot, or its cut
    /// table's entries). The derivative of `Db` by one input's P(down) is
    /// the probability that every other input is up, a product of
    /// prefixes and suffixes; `Db` itself is combined as the elimination
    /// did, so the prior's slope `D1 - D0` loses nothing to rounding.
    fn gradient(&self, out_adjoint: &[f64], adjoints: &mut [Vec<f64>], slopes: &mut [f64]) {
        let count = self.inputs.len();
        let low_mask = (1usize << self.at) - 1;
        let mut indices = vec![0usize; count];
        let mut down = vec![0.0; count];
        let mut up_before = vec![0.0; count];
        for (s, &g) in out_adjoint.iter().enumerate() {
            if g == 0.0 {
                continue;
            }
            let state = (s & low_mask) | (s & !low_mask) << 1;
            let (q, weight_index) = match self.weight {
                Weight::Event(q) => (q, 0),
                Weight::Cut(_, table) => {
                    let i = self.weight_indexer.index(state);
                    (table[i], i)
                }
                Weight::One => (f64::NAN, 0),
            };
            let mut either = [0.0; 2];
            for (b, either_b) in either.iter_mut().enumerate() {
                let full = state | b << self.at;
                let mut acc = 0.0;
                for (j, (indexer, table)) in self.indexers.iter().zip(self.inputs).enumerate() {
                    let i = indexer.index(full);
                    indices[j] = i;
                    down[j] = table.values[i];
                    acc = either_down(acc, down[j]);
                }
                *either_b = acc;
                let w = match self.weight {
                    Weight::One => 1.0,
                    _ if b == 1 => q,
                    _ => 1.0 - q,
                };
                if w == 0.0 {
                    continue;
                }
                let mut up = 1.0;
                for (slot, &d) in up_before.iter_mut().zip(&down) {
                    *slot = up;
                    up *= 1.0 - d;
                }
                let g_w = g * w;
                let mut up_after = 1.0;
                for j in (0..count).rev() {
                    adjoints[j][indices[j]] += g_w * up_before[j] * up_after;
                    up_after *= 1.0 - down[j];
                }
            }
            if let Some(slot) = slopes.get_mut(weight_index) {
                *slot += g * (either[1] - either[0]);
            }
        }
    }
}

/// A plan costing at most this much (table entries times inputs, over
/// every step) is not compared with another order.
const CHEAP_PLAN: f64 = (1u64 << 16) as f64;

/// The orders a plan may follow, the first kept while it is cheap.
const ORDERS: [Order; 3] = [Order::Narrowest, Order::Cheapest, Order::LeastFill];

/// How [`plan`] picks the next variable to sum out.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Order {
    /// The step spanning the fewest variables, a cut variable before
    /// every variable of its prior's scope: its prior weighs its own step
    /// and every table stays normalized.
    Narrowest,
    /// The step of least estimated cost ([`step_cost`]), in any order,
    /// the priors of the cut variables over the variable summed out
    /// joining its step (the narrowest alone often leaves many wide steps).
    Cheapest,
    /// As `Cheapest`, but first the step that ties together the fewest
    /// pairs of variables no table had together yet (the "min-fill"
    /// heuristic of variable elimination), which keeps later steps
    /// narrow where the variables form long chains of overlapping scopes.
    LeastFill,
}

/// The plan of the first of `orders` if it costs at most [`CHEAP_PLAN`],
/// else the cheapest of them all; `None` when every one has a step too
/// wide.
fn choose(
    prior_mask: &[u128],
    factor_masks: &[u128],
    given: usize,
    orders: &[Order],
) -> Option<Plan> {
    let mut best: Option<Plan> = None;
    for (k, &order) in orders.iter().enumerate() {
        if let Some(p) = plan(prior_mask, factor_masks, given, order) {
            if k == 0 && p.cost <= CHEAP_PLAN {
                return Some(p);
            }
            if best.as_ref().is_none_or(|b| p.cost < b.cost) {
                best = Some(p);
            }
        }
    }
    best
}

/// How much one pair of variables tied together by a step weighs
/// against the step's cost in [`Order::LeastFill`]: above any step's
/// cost, so the fill decides and the cost breaks ties.
const FILL_WEIGHT: f64 = (1u64 << 40) as f64;

/// The work of a step spanning `span` variables over `inputs` tables,
/// twice over tables that carry their mass.
fn step_cost(span: u32, inputs: usize, massive: bool) -> f64 {
    let per_entry = inputs as f64 * if massive { 2.0 } else { 1.0 };
    per_entry * (1u64 << (span - 1)) as f64
}

/// The order of an elimination, planned on the variables' sets alone.
struct Plan {
    steps: Vec<PlannedStep>,
    /// The table entries each step computes, times its inputs (twice for
    /// a step over tables that carry their mass), summed.
    cost: f64,
}

/// One step of a [`Plan`] (variables that no table mentions are left
/// out: their prior sums to one).
struct PlannedStep {
    v: u32,
    union: u128,
    own_prior: bool,
    /// The cut variables whose untouched priors join this step.
    joining: u128,
}

/// A planned table: (its variables, its open cut variables, see [`Table`]).
type Scope = (u128, u128);

/// Plans the elimination of every variable from `given` on, over factors
/// with the variable sets `factor_masks`, the cut variables' priors over
/// `prior_mask` (zero for the others), greedily in `order`. `None` when
/// a step spans more than [`MAX_WIDTH`] variables.
fn plan(prior_mask: &[u128], factor_masks: &[u128], given: usize, order: Order) -> Option<Plan> {
    let ordered = order == Order::Narrowest;
    let below = |n: usize| {
        if n >= 128 {
            u128::MAX
        } else {
            (1u128 << n) - 1
        }
    };
    let mut live: Vec<Scope> = factor_masks.iter().map(|&m| (m, 0)).collect();
    let mut left: u128 = below(prior_mask.len()) & !below(given);
    let mut untouched: u128 = prior_mask
        .iter()
        .enumerate()
        .filter(|(_, &m)| m != 0)
        .fold(0u128, |a, (v, _)| a | 1 << v);
    let mut plan = Plan {
        steps: Vec::new(),
        cost: 0.0,
    };
    let mut over: Vec<(u128, u128, usize)> = vec![(0, 0, 0); prior_mask.len()];
    while left != 0 {
        // In order, the variables of a prior still to be summed out wait.
        let mut waiting = 0u128;
        if ordered {
            let mut rest = left & untouched;
            while rest != 0 {
                let c = rest.trailing_zeros();
                rest &= rest - 1;
                waiting |= prior_mask[c as usize] & !(1u128 << c);
            }
        }
        // For the least fill: by variable, those sharing a table (or an
        // untouched prior) with it.
        let mut neighbours = [0u128; 128];
        if order == Order::LeastFill {
            let priors = bits(untouched).into_iter().map(|c| prior_mask[c as usize]);
            for m in live.iter().map(|t| t.0).chain(priors) {
                let mut xs = m;
                while xs != 0 {
                    let x = xs.trailing_zeros();
                    xs &= xs - 1;
                    neighbours[x as usize] |= m;
                }
            }
        }
        // By variable: the union of the live tables and of the untouched
        // priors of the other variables over it, their open cut
        // variables and their number (what a step over it multiplies),
        // in one pass over the tables rather than one per variable.
        over.fill((0, 0, 0));
        for &(mask, open) in &live {
            let mut xs = mask;
            while xs != 0 {
                let x = xs.trailing_zeros() as usize;
                xs &= xs - 1;
                let slot = &mut over[x];
                slot.0 |= mask;
                slot.1 |= open;
                slot.2 += 1;
            }
        }
        let mut priors = untouched;
        while priors != 0 {
            let c = priors.trailing_zeros();
            priors &= priors - 1;
            let mask = prior_mask[c as usize];
            let mut xs = mask & !(1u128 << c);
            while xs != 0 {
                let x = xs.trailing_zeros() as usize;
                xs &= xs - 1;
                let slot = &mut over[x];
                slot.0 |= mask;
                slot.1 |= 1 << c;
                slot.2 += 1;
            }
        }
        // (score, variable, span, union) of the best step.
        let mut best: Option<(f64, u32, u32, u128)> = None;
        let mut rest = left & !waiting;
        while rest != 0 {
            let v = rest.trailing_zeros();
            rest &= rest - 1;
            let (mut union, open, inputs) = over[v as usize];
            if union == 0 {
                // No table left over it: its prior sums to one.
                best = Some((0.0, v, 0, 0));
                break;
            }
            if untouched >> v & 1 == 1 {
                union |= prior_mask[v as usize];
            }
            let union = union | 1 << v;
            let span = union.count_ones();
            let score = match order {
                Order::Narrowest => f64::from(span),
                Order::Cheapest => step_cost(span, inputs, open & !(1u128 << v) != 0),
                Order::LeastFill => {
                    // Pairs of the new table's variables that no table
                    // (nor untouched prior) has together yet.
                    let rest = union & !(1u128 << v);
                    let mut fill = 0u32;
                    let mut xs = rest;
                    while xs != 0 {
                        let x = xs.trailing_zeros();
                        xs &= xs - 1;
                        fill += (rest & !neighbours[x as usize] & !(1u128 << x)).count_ones();
                    }
                    let cost = step_cost(span, inputs, open & !(1u128 << v) != 0);
                    f64::from(fill) * FILL_WEIGHT + cost
                }
            };
            if best.is_none_or(|b| score < b.0) {
                best = Some((score, v, span, union));
            }
        }
        let (_, v, span, union) = best?;
        left &= !(1u128 << v);
        let own_prior = untouched >> v & 1 == 1;
        untouched &= !(1u128 << v);
        if union == 0 {
            continue;
        }
        if span as usize > MAX_WIDTH {
            return None;
        }
        let mut joining = 0u128;
        let mut rest = untouched;
        while rest != 0 {
            let c = rest.trailing_zeros();
            rest &= rest - 1;
            if prior_mask[c as usize] >> v & 1 == 1 {
                joining |= 1 << c;
                live.push((prior_mask[c as usize], 1 << c));
            }
        }
        untouched &= !joining;
        let (inputs, others): (Vec<Scope>, Vec<Scope>) =
            live.iter().partition(|t| t.0 >> v & 1 == 1);
        let open = inputs.iter().fold(0u128, |o, t| o | t.1);
        plan.cost += step_cost(span, inputs.len(), open & !(1u128 << v) != 0);
        live = others;
        live.push((union & !(1u128 << v), open & !(1u128 << v)));
        plan.steps.push(PlannedStep {
            v,
            union,
            own_prior,
            joining,
        });
    }
    Some(plan)
}

/// How a step summing out a variable with prior `prior` weighs its two
/// states (`own_prior`: a cut variable's prior is untouched).
fn step_weight(prior: Prior, own_prior: bool) -> Weight {
    match prior {
        Prior::Event(q) => Weight::Event(q),
        Prior::Cut(scope, table) if own_prior => Weight::Cut(scope, table),
        Prior::Cut(..) | Prior::Given => Weight::One,
    }
}

/// The prior of cut variable `c` (down with probability `table` over
/// `scope`, in the table's bit order) as a table over its scope, then
/// `c`: mass P(c's state | scope), nothing down.
fn prior_table(c: u32, scope: &[u32], table: &[f64]) -> Table<'static> {
    let mut vars = scope.to_vec();
    vars.push(c);
    let at = scope.len();
    let mass = (0..1usize << vars.len())
        .map(|i| {
            let down = table[i & ((1 << at) - 1)];
            if i >> at & 1 == 1 {
                down
            } else {
                1.0 - down
            }
        })
        .collect();
    Table {
        values: Cow::Owned(buffers::zeros(1 << vars.len())),
        mask: mask_of(&vars),
        vars,
        mass: Some(mass),
        open: 1 << c,
        prior_of: Some(c),
    }
}

/// What [`Elimination::gradient`] gives.
pub(super) struct Adjoints {
    /// By factor, by entry.
    pub(super) tables: Vec<Vec<f64>>,
    /// By variable: d/dq of an event variable (0 for the others).
    pub(super) priors: Vec<f64>,
    /// By variable: by entry of a cut variable's prior table (empty for
    /// the others).
    pub(super) cuts: Vec<Vec<f64>>,
}

/// For each `i`, every pair but `x[i]` combined (see [`combine`]), into
/// `out`.
fn combined_others(x: &[(f64, f64)], out: &mut Vec<(f64, f64)>) {
    out.clear();
    out.resize(x.len(), (1.0, 0.0));
    let mut prefix = (1.0, 0.0);
    for (o, &p) in out.iter_mut().zip(x) {
        *o = prefix;
        prefix = combine(prefix, p);
    }
    let mut suffix = (1.0, 0.0);
    for (o, &p) in out.iter_mut().zip(x).rev() {
        *o = combine(*o, suffix);
        suffix = combine(suffix, p);
    }
}

/// The indexer of a table over `vars` (any order) from a state over
/// `all` (ascending; every one of `vars` among them).
fn indexer_of(vars: &[u32], all: &[u32]) -> Indexer {
    let mut bit_of = vec![0u32; all.len()];
    for (j, x) in vars.iter().enumerate() {
        if let Ok(p) = all.binary_search(x) {
            bit_of[p] = 1 << j;
        }
    }
    Indexer::from_bits(&bit_of)
}

/// The product of `tables` (all over variable `v`; with `v`'s prior they
/// span `union`) with `v` summed out, weighed by `weight`.
///
/// The loop runs over the states of the result, high bits outside: each
/// table's index is its part for the high bits, fixed for the inner loop,
/// or-ed with its part for the low bits, and the same index with `v`'s bit
/// set gives the state where `v` is down.
fn sum_out(tables: &[&Table], v: u32, weight: Weight, union: u128) -> Table<'static> {
    let vars: Vec<u32> = bits(union & !(1u128 << v));
    let width = vars.len();
    let state_bit = |x: u32| vars.binary_search(&x).unwrap_or(0);
    let normalized = tables.iter().all(|t| t.mass.is_none());
    // A normalized table over every variable of the step, ascending (as
    // every step's result is), leads: its index is computed, not looked up.
    let mut tables = tables.to_vec();
    let full = |t: &Table| t.mask == union && t.vars.windows(2).all(|w| w[0] < w[1]);
    let lead = match tables.iter().position(|t| full(t)) {
        Some(k) if normalized => {
            tables.swap(0, k);
            Some((union & ((1u128 << v) - 1)).count_ones() as usize)
        }
        _ => None,
    };
    // Each table's indexer over a state of `vars`, and the bit of `v` in
    // its index.
    let lookups: Vec<(Indexer, usize)> = tables
        .iter()
        .map(|t| {
            let mut bit_of = vec![0u32; width];
            let mut v_bit = 0;
            for (j, &x) in t.vars.iter().enumerate() {
                if x == v {
                    v_bit = 1 << j;
                } else {
                    bit_of[state_bit(x)] = 1 << j;
                }
            }
            (Indexer::from_bits(&bit_of), v_bit)
        })
        .collect();
    let open = tables.iter().fold(0u128, |o, t| o | t.open) & !(1u128 << v);
    let step = Lookups {
        tables: &tables,
        lookups: &lookups,
        lead,
        width,
        normalized,
    };
    let weights = match weight {
        Weight::Event(q) => Weights::Fixed(1.0 - q, q),
        Weight::One => Weights::Fixed(1.0, 1.0),
        // A cut variable's prior is over variables other than itself.
        Weight::Cut(scope, table) => Weights::Cut(indexer_of(scope, &vars), table),
    };
    let (values, mass) = fill(&step, &weights);
    Table {
        mask: union & !(1u128 << v),
        vars,
        values: Cow::Owned(values),
        // With no cut variable's prior open, the mass sums to one.
        mass: match mass {
            Some(mass) if open == 0 => {
                buffers::give_back(mass);
                None
            }
            mass => mass,
        },
        open,
        prior_of: None,
    }
}

/// The tables of one step of [`sum_out`], how each is indexed from a
/// state of the result, and the step's shape.
struct Lookups<'a> {
    tables: &'a [&'a Table<'a>],
    /// By table: its indexer and the bit of the variable summed out.
    lookups: &'a [(Indexer, usize)],
    /// Where the first table is over every variable of the step in
    /// ascending order (and all are normalized): the position of the
    /// variable summed out among them.
    lead: Option<usize>,
    width: usize,
    normalized: bool,
}

/// How [`fill`] weighs the two states of the variable summed out.
enum Weights<'a> {
    /// The same (up, down) weights in every state.
    Fixed(f64, f64),
    /// A cut variable's prior: down with probability `table[i]`, where
    /// the indexer gives `i` from the state of the step's result.
    Cut(Indexer, &'a [f64]),
}

impl Weights<'_> {
    /// The (up, down) weights of each state of the block `high`, in
    /// order, to `each` with the state's place in the block.
    #[inline]
    fn block(&self, high: usize, block: usize, mut each: impl FnMut(usize, f64, f64)) {
        match self {
            Weights::Fixed(w0, w1) => (0..block).for_each(|low| each(low, *w0, *w1)),
            Weights::Cut(indexer, table) => {
                let part = indexer.high[high] as usize;
                for (low, &low_index) in indexer.low[..block].iter().enumerate() {
                    let q = table[low_index as usize | part];
                    each(low, 1.0 - q, q);
                }
            }
        }
    }
}

/// The loop of [`sum_out`] over the `2^width` states of its result:
/// `weights` weighs `v` up and down in each state; with every table
/// normalized the P(down) are combined directly and there is no mass.
///
/// The states are taken a block of `2^LOW_BITS` at a time (one value of
/// the high bits), table by table within the block: each table's lookups
/// for the block are independent of each other, where the lookups of one
/// state, table after table, form one chain of dependent operations
/// (each state still combines its tables in the same order, so the
/// result is the same to the bit).
fn fill(step: &Lookups, weights: &Weights) -> (Vec<f64>, Option<Vec<f64>>) {
    let Lookups {
        tables,
        lookups,
        lead,
        width,
        normalized,
    } = *step;
    let low_bits = width.min(LOW_BITS);
    let block = 1usize << low_bits;
    let states = 1usize << width;
    let mut values = buffers::zeros(states);
    let mut mass = buffers::zeros(if normalized { 0 } else { states });
    // Per state of the block, `v` up then down: P(down), or (mass, down
    // mass) where a table is not normalized.
    let mut down = vec![(0.0, 0.0); block];
    let mut pairs = vec![((1.0, 0.0), (1.0, 0.0)); if normalized { 0 } else { block }];
    // The lead's state `s` is at `s + (s & !below)`, where `v` is up, and
    // `lead_block` further where it is down.
    let skip = usize::from(lead.is_some());
    let (below, lead_block) = lead.map_or((0, 0), |at| ((1usize << at) - 1, 1usize << at));
    for high in 0..states >> low_bits {
        let base = high << low_bits;
        if normalized {
            match lead {
                Some(_) => {
                    let first = &tables[0].values;
                    for (low, d) in down.iter_mut().enumerate() {
                        let state = base | low;
                        let i = state + (state & !below);
                        *d = (first[i], first[i + lead_block]);
                    }
                }
                None => down.fill((0.0, 0.0)),
            }
            for (t, (indexer, v_bit)) in tables.iter().zip(lookups).skip(skip) {
                let part = indexer.high[high] as usize;
                let values = &t.values[..];
                for (d, &low_index) in down.iter_mut().zip(&indexer.low) {
                    let i = low_index as usize | part;
                    d.0 = either_down(d.0, values[i]);
                    d.1 = either_down(d.1, values[i | v_bit]);
                }
            }
            let out = &mut values[base..base + block];
            weights.block(high, block, |low, w0, w1| {
                let (d0, d1) = down[low];
                out[low] = w0 * d0 + w1 * d1;
            });
        } else {
            pairs.fill(((1.0, 0.0), (1.0, 0.0)));
            for (t, (indexer, v_bit)) in tables.iter().zip(lookups) {
                let part = indexer.high[high] as usize;
                let m = |i: usize| t.mass.as_ref().map_or(1.0, |m| m[i]);
                for ((a0, a1), &low_index) in pairs.iter_mut().zip(&indexer.low) {
                    let i = low_index as usize | part;
                    *a0 = combine(*a0, (m(i), t.values[i]));
                    *a1 = combine(*a1, (m(i | v_bit), t.values[i | v_bit]));
                }
            }
            let out = &mut values[base..base + block];
            let out_mass = &mut mass[base..base + block];
            weights.block(high, block, |low, w0, w1| {
                let (a0, a1) = pairs[low];
                out[low] = w0 * a0.1 + w1 * a1.1;
                out_mass[low] = w0 * a0.0 + w1 * a1.0;
            });
        }
    }
    (values, (!normalized).then_some(mass))
}

/// Bits of a state an [`Indexer`] looks up in its first table.
const LOW_BITS: usize = 10;

/// A table's index from a state of a step's variables, by two lookups
/// (the state's low and high bits) instead of one test per variable.
struct Indexer {
    low: Vec<u32>,
    high: Vec<u32>,
    low_bits: u32,
}

impl Indexer {
    /// For a table whose index has the bits `bit_of[b]` where bit `b` of
    /// the state is set (0 where the table does not have that variable).
    fn from_bits(bit_of: &[u32]) -> Indexer {
        let width = bit_of.len();
        let low_bits = width.min(LOW_BITS);
        // Each entry from the one without its lowest set bit.
        let part = |from: usize, bits: usize| -> Vec<u32> {
            let mut out = vec![0u32; 1 << bits];
            for chunk in 1..out.len() {
                let lowest = chunk.trailing_zeros() as usize;
                out[chunk] = out[chunk & (chunk - 1)] | bit_of[from + lowest];
            }
            out
        };
        Indexer {
            low: part(0, low_bits),
            high: part(low_bits, width - low_bits),
            low_bits: low_bits as u32,
        }
    }

    #[inline]
    fn index(&self, state: usize) -> usize {
        let low = state & ((1 << self.low_bits) - 1);
        (self.low[low] | self.high[state >> self.low_bits]) as usize
    }
}

/// The set bits of a mask, ascending.
fn bits(mut mask: u128) -> Vec<u32> {
    let mut out = Vec::with_capacity(mask.count_ones() as usize);
    while mask != 0 {
        out.push(mask.trailing_zeros());
        mask &= mask - 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::Rng;

    /// A random elimination problem: `given` variables, then events, then
    /// cut variables whose prior is over variables below them; factors
    /// over random scopes.
    struct Case {
        given: usize,
        event_q: Vec<f64>,
        cuts: Vec<(Vec<u32>, Vec<f64>)>,
        factors: Vec<(Vec<u32>, Vec<f64>)>,
    }

    impl Case {
        fn random(rng: &mut Rng) -> Case {
            let given = rng.below(3);
            let events = rng.below(4);
            let cuts = rng.below(4);
            let n = given + events + cuts;
            // Scopes in any order, as a problem's units list theirs.
            let scope_below = |rng: &mut Rng, top: usize| -> Vec<u32> {
                let mut scope: Vec<u32> = (0..top as u32).filter(|_| rng.below(3) == 0).collect();
                for i in (1..scope.len()).rev() {
                    scope.swap(i, rng.below(i + 1));
                }
                scope
            };
            let table = |rng: &mut Rng, len: usize| -> Vec<f64> {
                (0..1usize << len).map(|_| rng.prob()).collect()
            };
            let event_q = (0..events).map(|_| rng.prob()).collect();
            let cuts = (given + events..n)
                .map(|c| {
                    let scope = scope_below(rng, c);
                    let t = table(rng, scope.len());
                    (scope, t)
                })
                .collect();
            let factors = (0..1 + rng.below(5))
                .map(|_| {
                    let scope = scope_below(rng, n);
                    let t = table(rng, scope.len());
                    (scope, t)
                })
                .collect();
            Case {
                given,
                event_q,
                cuts,
                factors,
            }
        }

        fn priors(&self) -> Vec<Prior<'_>> {
            let mut priors = vec![Prior::Given; self.given];
            priors.extend(self.event_q.iter().map(|&q| Prior::Event(q)));
            priors.extend(self.cuts.iter().map(|(s, t)| Prior::Cut(s, t)));
            priors
        }

        fn eliminate(&self) -> Option<Vec<f64>> {
            let factors = self
                .factors
                .iter()
                .map(|(s, t)| (s.as_slice(), t.as_slice()));
            eliminate(&self.priors(), self.given, factors)
        }

        fn eliminate_in(&self, order: Order) -> Option<Vec<f64>> {
            let factors = self
                .factors
                .iter()
                .map(|(s, t)| (s.as_slice(), t.as_slice()));
            Elimination::run_in(&self.priors(), self.given, factors, &[order]).map(|e| e.result())
        }

        /// P(down) for each given state, by every state of the others.
        fn brute(&self) -> Vec<f64> {
            let n = self.given + self.event_q.len() + self.cuts.len();
            let index = |x: usize, scope: &[u32]| -> usize {
                scope
                    .iter()
                    .enumerate()
                    .fold(0, |i, (j, &v)| i | (x >> v & 1) << j)
            };
            (0..1usize << self.given)
                .map(|g| {
                    let mut down = 0.0;
                    for rest in 0..1usize << (n - self.given) {
                        let x = g | rest << self.given;
                        let mut p = 1.0;
                        for (k, &q) in self.event_q.iter().enumerate() {
                            let bit = x >> (self.given + k) & 1;
                            p *= if bit == 1 { q } else { 1.0 - q };
                        }
                        let first_cut = self.given + self.event_q.len();
                        for (k, (scope, t)) in self.cuts.iter().enumerate() {
                            let q = t[index(x, scope)];
                            p *= if x >> (first_cut + k) & 1 == 1 {
                                q
                            } else {
                                1.0 - q
                            };
                        }
                        let up: f64 = self
                            .factors
                            .iter()
                            .map(|(scope, t)| 1.0 - t[index(x, scope)])
                            .product();
                        down += p * (1.0 - up);
                    }
                    down
                })
                .collect()
        }
    }

    /// Any order of summing out (cut variables before or after the
    /// variables of their priors) gives the enumeration over every state.
    #[test]
    fn elimination_matches_every_state() {
        let mut rng = Rng(11);
        for case in 0..4000 {
            let c = Case::random(&mut rng);
            let brute = c.brute();
            let planned = ORDERS.map(|order| (format!("{order:?}"), c.eliminate_in(order)));
            let chosen = [("chosen".to_string(), c.eliminate())];
            for (order, got) in planned.iter().chain(&chosen) {
                let got = got.as_ref().expect("small problems eliminate");
                for (g, (a, b)) in got.iter().zip(&brute).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-12 * b.abs().max(1e-300) + 1e-15,
                        "case {case} order {order} given state {g}: {a:e} vs {b:e}"
                    );
                }
            }
        }
    }

    /// The result is linear in each table entry and each prior, so the
    /// gradient predicts a change of one entry exactly.
    #[test]
    fn gradient_predicts_changes() {
        let mut rng = Rng(12);
        for case in 0..1500 {
            let c = Case::random(&mut rng);
            let priors = c.priors();
            let factors = c.factors.iter().map(|(s, t)| (s.as_slice(), t.as_slice()));
            // Every order in turn: the steps differ (normalized tables or
            // tables with their mass).
            let order = ORDERS[case % ORDERS.len()];
            let elimination =
                Elimination::run_in(&priors, c.given, factors, &[order]).expect("eliminates");
            let base = elimination.result();
            let adjoint: Vec<f64> = (0..base.len()).map(|_| rng.unit()).collect();
            let weighed = |r: &[f64]| -> f64 { r.iter().zip(&adjoint).map(|(a, b)| a * b).sum() };
            let adj = elimination.gradient(&priors, c.factors.len(), &adjoint);
            // Away from one: a table that is down for sure stops a product.
            let step = |x: f64| if x > 0.5 { -1e-3 } else { 1e-3 };
            let check = |changed: &Case, h: f64, slope: f64, what: &str| {
                let moved = weighed(&changed.eliminate().expect("eliminates")) - weighed(&base);
                assert!(
                    (moved - h * slope).abs() <= 1e-9 * (moved.abs() + h.abs()),
                    "case {case} {what}: {moved:e} vs {:e}",
                    h * slope
                );
            };
            for (f, entries) in adj.tables.iter().enumerate() {
                for (i, &slope) in entries.iter().enumerate() {
                    let mut changed = c.clone_case();
                    let h = step(c.factors[f].1[i]);
                    changed.factors[f].1[i] += h;
                    check(&changed, h, slope, &format!("factor {f} entry {i}"));
                }
            }
            for (k, _) in c.event_q.iter().enumerate() {
                let mut changed = c.clone_case();
                let h = step(c.event_q[k]);
                changed.event_q[k] += h;
                check(&changed, h, adj.priors[c.given + k], &format!("event {k}"));
            }
            let first_cut = c.given + c.event_q.len();
            for (k, (_, t)) in c.cuts.iter().enumerate() {
                for (i, &entry) in t.iter().enumerate() {
                    let mut changed = c.clone_case();
                    let h = step(entry);
                    changed.cuts[k].1[i] += h;
                    let slope = adj.cuts[first_cut + k][i];
                    check(&changed, h, slope, &format!("cut {k} entry {i}"));
                }
            }
        }
    }

    impl Case {
        fn clone_case(&self) -> Case {
            Case {
                given: self.given,
                event_q: self.event_q.clone(),
                cuts: self.cuts.clone(),
                factors: self.factors.clone(),
            }
        }
    }
}

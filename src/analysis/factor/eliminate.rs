//! Variable elimination over the tables of a factored service (see
//! [`super`]): the product of the units' tables, every variable not given
//! summed out with its prior, and the derivatives of the result by reverse
//! mode.

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

/// A table over some variables (ascending), P(down) by state (bit `j`:
/// `vars[j]` down).
struct Table {
    vars: Vec<u32>,
    mask: u128,
    values: Vec<f64>,
}

/// `a` or `b` down, for independent `a` and `b` given as P(down).
fn either_down(a: f64, b: f64) -> f64 {
    a + b * (1.0 - a)
}

fn mask_of(vars: &[u32]) -> u128 {
    vars.iter().fold(0u128, |m, &v| m | 1 << v)
}

/// One elimination, kept for its gradient: every table (the factors
/// first, then each step's result), the steps, and the tables left over
/// the given variables.
pub(super) struct Elimination {
    tables: Vec<Table>,
    steps: Vec<Step>,
    live: Vec<usize>,
    given: usize,
}

/// One step: the tables over variable `v` (with its prior, spanning
/// `union`) multiplied, `v` summed out, giving table `out`.
struct Step {
    inputs: Vec<usize>,
    v: u32,
    union: u128,
    out: usize,
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

impl Elimination {
    /// Runs the elimination (see [`eliminate`]).
    ///
    /// A cut variable's prior is conditioned on variables of its own
    /// scope, so it is summed out before them (it is *eligible* once no
    /// variable left has it in its prior's scope); among the eligible
    /// variables, the one whose step spans the fewest variables goes
    /// first. A variable that no factor mentions any more is dropped (its
    /// prior sums to one).
    pub(super) fn run<'a>(
        priors: &[Prior],
        given: usize,
        factors: impl Iterator<Item = (&'a [u32], &'a [f64])>,
    ) -> Option<Elimination> {
        let tables: Vec<Table> = factors
            .map(|(scope, values)| Table {
                vars: scope.to_vec(),
                mask: mask_of(scope),
                values: values.to_vec(),
            })
            .collect();
        let mut e = Elimination {
            live: (0..tables.len()).collect(),
            tables,
            steps: Vec::new(),
            given,
        };
        let prior_mask: Vec<u128> = priors
            .iter()
            .map(|p| match p {
                Prior::Given | Prior::Event(_) => 0,
                Prior::Cut(scope, _) => mask_of(scope),
            })
            .collect();
        let below = |n: usize| {
            if n >= 128 {
                u128::MAX
            } else {
                (1u128 << n) - 1
            }
        };
        let mut left: u128 = below(priors.len()) & !below(given);
        while left != 0 {
            // Variables in the scope of a prior still to be summed out wait.
            let mut waiting = 0u128;
            let mut rest = left;
            while rest != 0 {
                let v = rest.trailing_zeros();
                rest &= rest - 1;
                waiting |= prior_mask[v as usize];
            }
            let mut best: Option<(u32, u32, u128)> = None;
            let mut rest = left & !waiting;
            while rest != 0 {
                let v = rest.trailing_zeros();
                rest &= rest - 1;
                let union = e
                    .live
                    .iter()
                    .map(|&t| e.tables[t].mask)
                    .filter(|m| m >> v & 1 == 1)
                    .fold(0u128, |a, m| a | m);
                if union == 0 {
                    // No factor left over it: its prior sums to one.
                    best = Some((v, 0, 0));
                    break;
                }
                let union = union | prior_mask[v as usize] | 1 << v;
                let span = union.count_ones();
                if best.is_none_or(|(_, w, _)| span < w) {
                    best = Some((v, span, union));
                }
            }
            let (v, span, union) = best?;
            left &= !(1u128 << v);
            if union == 0 {
                continue;
            }
            if span as usize > MAX_WIDTH {
                return None;
            }
            let (inputs, others): (Vec<usize>, Vec<usize>) = e
                .live
                .iter()
                .partition(|&&t| e.tables[t].mask >> v & 1 == 1);
            let with: Vec<&Table> = inputs.iter().map(|&t| &e.tables[t]).collect();
            let table = sum_out(&with, v, priors[v as usize], union);
            let out = e.tables.len();
            e.tables.push(table);
            e.live = others;
            e.live.push(out);
            e.steps.push(Step {
                inputs,
                v,
                union,
                out,
            });
        }
        Some(e)
    }

    /// Where the live tables' variables sit in a state of the given ones.
    fn live_places(&self) -> Vec<Vec<usize>> {
        self.live
            .iter()
            .map(|&t| self.tables[t].vars.iter().map(|&v| v as usize).collect())
            .collect()
    }

    /// P(down) for each state of the given variables.
    fn result(&self) -> Vec<f64> {
        let places = self.live_places();
        (0..1usize << self.given)
            .map(|state| {
                self.live.iter().zip(&places).fold(0.0, |d, (&t, place)| {
                    either_down(d, self.tables[t].values[gather(state, place)])
                })
            })
            .collect()
    }

    /// The derivatives of `sum(adjoint[s] * result[s])` with respect to
    /// every entry of the first `factors` tables, to every event prior and
    /// to every entry of every cut prior's table (by variable).
    pub(super) fn gradient(&self, priors: &[Prior], factors: usize, adjoint: &[f64]) -> Adjoints {
        let mut table_adj: Vec<Vec<f64>> = self
            .tables
            .iter()
            .map(|t| vec![0.0; t.values.len()])
            .collect();
        let mut prior_adj = vec![0.0; priors.len()];
        let mut cut_adj: Vec<Vec<f64>> = priors
            .iter()
            .map(|p| match p {
                Prior::Cut(_, table) => vec![0.0; table.len()],
                _ => Vec::new(),
            })
            .collect();
        // The result: either_down over the live tables.
        let live_places = self.live_places();
        let mut ups: Vec<f64> = Vec::new();
        for (state, &g) in adjoint.iter().enumerate() {
            if g == 0.0 {
                continue;
            }
            let indices: Vec<usize> = live_places.iter().map(|p| gather(state, p)).collect();
            ups.clear();
            ups.extend(
                self.live
                    .iter()
                    .zip(&indices)
                    .map(|(&t, &i)| 1.0 - self.tables[t].values[i]),
            );
            for (k, others) in products_of_others(&ups).into_iter().enumerate() {
                table_adj[self.live[k]][indices[k]] += g * others;
            }
        }
        for step in self.steps.iter().rev() {
            let all = bits(step.union);
            let at = all.iter().position(|&x| x == step.v).unwrap_or(0);
            let inputs: Vec<&Table> = step.inputs.iter().map(|&t| &self.tables[t]).collect();
            let input_places: Vec<Vec<usize>> =
                inputs.iter().map(|t| places(&t.vars, &all)).collect();
            let prior = priors[step.v as usize];
            let prior_places = match prior {
                Prior::Cut(scope, _) => places(scope, &all),
                _ => Vec::new(),
            };
            let low_mask = (1usize << at) - 1;
            let out_adj = std::mem::take(&mut table_adj[step.out]);
            for (s, &g) in out_adj.iter().enumerate() {
                if g == 0.0 {
                    continue;
                }
                let state = (s & low_mask) | (s & !low_mask) << 1;
                let (q, prior_index) = match prior {
                    Prior::Given => (0.0, 0),
                    Prior::Event(q) => (q, 0),
                    Prior::Cut(_, table) => {
                        let i = gather(state, &prior_places);
                        (table[i], i)
                    }
                };
                let mut joint = [0.0; 2];
                for (b, weight) in [(0usize, 1.0 - q), (1, q)] {
                    let full = state | b << at;
                    let indices: Vec<usize> =
                        input_places.iter().map(|p| gather(full, p)).collect();
                    ups.clear();
                    ups.extend(inputs.iter().zip(&indices).map(|(t, &i)| 1.0 - t.values[i]));
                    joint[b] = inputs
                        .iter()
                        .zip(&indices)
                        .fold(0.0, |d, (t, &i)| either_down(d, t.values[i]));
                    if weight != 0.0 {
                        for (k, others) in products_of_others(&ups).into_iter().enumerate() {
                            table_adj[step.inputs[k]][indices[k]] += g * weight * others;
                        }
                    }
                }
                let slope = joint[1] - joint[0];
                match prior {
                    Prior::Given => {}
                    Prior::Event(_) => prior_adj[step.v as usize] += g * slope,
                    Prior::Cut(..) => cut_adj[step.v as usize][prior_index] += g * slope,
                }
            }
        }
        table_adj.truncate(factors);
        Adjoints {
            tables: table_adj,
            priors: prior_adj,
            cuts: cut_adj,
        }
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

/// For each `i`, the product of every `x[j]` but `x[i]`.
fn products_of_others(x: &[f64]) -> Vec<f64> {
    let mut out = vec![1.0; x.len()];
    let mut prefix = 1.0;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = prefix;
        prefix *= v;
    }
    let mut suffix = 1.0;
    for (o, &v) in out.iter_mut().zip(x).rev() {
        *o *= suffix;
        suffix *= v;
    }
    out
}

/// Where each of `vars` sits among `all` (both ascending).
fn places(vars: &[u32], all: &[u32]) -> Vec<usize> {
    vars.iter()
        .map(|x| all.iter().position(|y| y == x).unwrap_or(0))
        .collect()
}

/// The index into a table over variables at `places` of a state over all.
fn gather(state: usize, places: &[usize]) -> usize {
    places
        .iter()
        .enumerate()
        .fold(0usize, |i, (j, &p)| i | (state >> p & 1) << j)
}

/// The product of `tables` (all over variable `v`; with `v`'s prior they
/// span `union`) with `v` summed out.
fn sum_out(tables: &[&Table], v: u32, prior: Prior, union: u128) -> Table {
    let all: Vec<u32> = bits(union);
    let at = all.iter().position(|&x| x == v).unwrap_or(0);
    let vars: Vec<u32> = all.iter().copied().filter(|&x| x != v).collect();
    let indexers: Vec<Indexer> = tables
        .iter()
        .map(|t| Indexer::new(&places(&t.vars, &all), all.len()))
        .collect();
    let prior_indexer = match prior {
        Prior::Cut(scope, _) => Some(Indexer::new(&places(scope, &all), all.len())),
        Prior::Given | Prior::Event(_) => None,
    };
    let joint = |state: usize| -> f64 {
        let mut d = 0.0;
        for (t, indexer) in tables.iter().zip(&indexers) {
            d = either_down(d, t.values[indexer.index(state)]);
            if d >= 1.0 {
                break;
            }
        }
        d
    };
    let low_mask = (1usize << at) - 1;
    let values = (0..1usize << vars.len())
        .map(|s| {
            let state = (s & low_mask) | (s & !low_mask) << 1;
            let q = match (prior, &prior_indexer) {
                (Prior::Event(q), _) => q,
                (Prior::Cut(_, table), Some(indexer)) => table[indexer.index(state)],
                _ => 0.0,
            };
            let (up, down) = (joint(state), joint(state | 1 << at));
            (1.0 - q) * up + q * down
        })
        .collect();
    Table {
        mask: union & !(1u128 << v),
        vars,
        values,
    }
}

/// A table's index from a state of a step's variables, by two lookups
/// (the state's low and high bits) instead of one test per variable.
struct Indexer {
    low: Vec<u32>,
    high: Vec<u32>,
    low_bits: u32,
}

impl Indexer {
    /// For a table whose variable `j` is bit `places[j]` of a state of
    /// `width` bits.
    fn new(places: &[usize], width: usize) -> Indexer {
        let low_bits = width.min(10) as u32;
        // The table bit of each state bit (0 where the table does not
        // have that variable).
        let mut bit_of = vec![0u32; width];
        for (j, &p) in places.iter().enumerate() {
            bit_of[p] = 1 << j;
        }
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
            low: part(0, low_bits as usize),
            high: part(low_bits as usize, width - low_bits as usize),
            low_bits,
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

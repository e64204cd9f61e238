//! Running a compiled policy: every combination of its bindings for which
//! `where` holds and `require` does not becomes a [`Violation`].

use std::rc::Rc;

use super::eval::eval;
use super::typed::{CompiledPolicy, TMessagePart};
use super::value::Value;
use super::world::World;

/// One combination of bindings for which a policy does not hold.
#[derive(Clone, Debug)]
pub struct Violation {
    /// The bound values, in binding order (their names are the policy's).
    pub bindings: Vec<Value>,
    /// The message, interpolated (or the default one).
    pub message: String,
    /// The calculator only bounded some number, and at the bounds'
    /// optimistic end the policy holds: whether it is violated is not known.
    pub undecided: bool,
}

impl Violation {
    /// The value the finding is about: the innermost bound entity.
    pub fn subject(&self) -> Option<&Value> {
        self.bindings
            .iter()
            .rev()
            .find(|v| !matches!(v, Value::List(_)) && v.noun() != "value")
    }
}

/// What running a policy found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The combinations that violate it.
    pub violations: Vec<Violation>,
    /// Whether it was stopped after [`super::world::MAX_STEPS`] steps (the
    /// violations are then those found so far).
    pub stopped: bool,
    /// Undecided combinations beyond the first [`UNDECIDED_SHOWN`], counted
    /// but not listed (when the calculator ran out of time on a large
    /// platform they can number in the hundred thousands, and each says the
    /// same: raise `--max-time`).
    pub more_undecided: usize,
}

/// Undecided combinations listed one by one per policy.
pub const UNDECIDED_SHOWN: usize = 10;

/// Runs a policy over the world.
pub fn run(policy: &CompiledPolicy, world: &World) -> Outcome {
    world.steps.set(0);
    let mut violations = Vec::new();
    let mut tally = Tally::default();
    let mut env: Vec<Value> = vec![Value::Missing; policy.slots];
    // An odometer over the bindings: lists[i] is what binding i ranges over
    // given the values bound before it; index[i] the position in it.
    let depth = policy.bindings.len();
    if depth == 0 {
        return Outcome::default();
    }
    let mut lists: Vec<Rc<[Value]>> = Vec::with_capacity(depth);
    let mut index: Vec<usize> = Vec::with_capacity(depth);
    let list_of = |env: &mut Vec<Value>, level: usize| -> Rc<[Value]> {
        match eval(world, env, &policy.bindings[level].collection) {
            Value::List(items) => items,
            _ => Rc::from(Vec::new()),
        }
    };
    lists.push(list_of(&mut env, 0));
    index.push(0);
    while let Some(level) = lists.len().checked_sub(1) {
        let position = index[level];
        if position >= lists[level].len() {
            lists.pop();
            index.pop();
            if let Some(i) = index.last_mut() {
                *i += 1;
            }
            continue;
        }
        if !world.step() {
            break;
        }
        env[policy.bindings[level].slot] = lists[level][position].clone();
        if level + 1 < depth {
            let next = list_of(&mut env, level + 1);
            lists.push(next);
            index.push(0);
            continue;
        }
        let found = violations.len();
        check_one(policy, world, &mut env, &mut violations, &mut tally);
        if world.exhausted() {
            // The last combination's answer is not trustworthy: it was cut.
            violations.truncate(found);
            break;
        }
        index[level] += 1;
    }
    Outcome {
        violations,
        stopped: world.exhausted(),
        more_undecided: tally.more_undecided,
    }
}

/// Undecided combinations seen so far.
#[derive(Default)]
struct Tally {
    shown_undecided: usize,
    more_undecided: usize,
}

fn check_one(
    policy: &CompiledPolicy,
    world: &World,
    env: &mut Vec<Value>,
    out: &mut Vec<Violation>,
    tally: &mut Tally,
) {
    if let Some(filter) = &policy.filter {
        if !eval(world, env, filter).truthy() {
            return;
        }
    }
    if eval(world, env, &policy.require).truthy() {
        return;
    }
    let undecided = world.bounded && {
        world.optimistic.set(true);
        let holds = policy
            .filter
            .as_ref()
            .is_some_and(|f| !eval(world, env, f).truthy())
            || eval(world, env, &policy.require).truthy();
        world.optimistic.set(false);
        holds
    };
    if undecided {
        if tally.shown_undecided >= UNDECIDED_SHOWN {
            tally.more_undecided += 1;
            return;
        }
        tally.shown_undecided += 1;
    }
    let bindings: Vec<Value> = policy
        .bindings
        .iter()
        .map(|b| env[b.slot].clone())
        .collect();
    let message = match &policy.message {
        Some(parts) => {
            let mut text = String::with_capacity(160);
            for part in parts {
                match part {
                    TMessagePart::Text(t) => text.push_str(t),
                    TMessagePart::Expr(e) => {
                        text.push_str(&eval(world, env, e).display(world.model))
                    }
                }
            }
            text
        }
        None => {
            let names: Vec<String> = policy
                .bindings
                .iter()
                .zip(&bindings)
                .map(|(b, value)| format!("{} = {}", b.name.text, value.display(world.model)))
                .collect();
            format!(
                "`{}` does not hold for {}",
                policy.require_text,
                names.join(", ")
            )
        }
    };
    out.push(Violation {
        bindings,
        message,
        undecided,
    });
}

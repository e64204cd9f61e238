//! Failures that a k-of-n group absorbs, found before any trial runs.
//!
//! Most failed events of a steady-state word are replicas: the event node,
//! its `And` with its placement (which does not change outside the trials
//! simulated apart) and a k-of-n group that loses one member and stays up.
//! Such a failure changes nothing a root can see. This module finds, for
//! each event, whether its failures can only reach the rest of the circuit
//! through one such group, its *absorber*: then, in a word where the group's
//! members fail no more times than its slack, their failures can be left out
//! of the word altogether.

use std::ops::Range;

use super::circuit::{Circuit, Node};

/// The largest slack of an absorber: a word's failures in a group are
/// counted in a byte that saturates at 255, which must stay above it.
pub const MAX_SLACK: u32 = 254;

/// A run of consecutive events drawn together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    /// The events, in drawing order.
    pub events: Range<u32>,
    /// For events absorbed by one group: how many of their failures the
    /// group absorbs in a word (its slack). `None`: every failure is
    /// evaluated.
    pub slack: Option<u32>,
}

/// The events that are not wide, in index order, as runs: each absorber's
/// members form one run of their own, the other events runs of `None`.
///
/// `slack` is per node (as in `Steady`), `drawn[e]` whether event `e` is
/// drawn in the main pass (it can fail and is not wide), `is_root[n]`
/// whether node `n` is counted.
pub fn runs(circuit: &Circuit, slack: &[u32], drawn: &[bool], is_root: &[bool]) -> Vec<Run> {
    let n = circuit.len();
    // Nodes whose word can change in the main pass.
    let mut may_change = vec![false; n];
    for i in 0..n {
        may_change[i] = slack[i] != u32::MAX
            && match circuit.nodes[i] {
                Node::Event(e) => drawn.get(e as usize).copied().unwrap_or(false),
                Node::Const(_) => false,
                Node::Threshold { .. } => circuit
                    .children(i as u32)
                    .iter()
                    .any(|&c| may_change[c as usize]),
            };
    }
    // Each drawn event's absorber: the group above a chain of single-parent
    // nodes, each of which has no other child that can change.
    let mut absorber = vec![u32::MAX; drawn.len()];
    // Per node, how many of its children are such chain ends.
    let mut ends = vec![0u32; n];
    for (e, &d) in drawn.iter().enumerate() {
        if !d {
            continue;
        }
        let &[mut at] = circuit.event_nodes(e as u32) else {
            continue;
        };
        while let (false, &[parent]) = (is_root[at as usize], circuit.parents(at)) {
            let p = parent as usize;
            let others_fixed = || {
                circuit
                    .children(parent)
                    .iter()
                    .all(|&c| c == at || !may_change[c as usize])
            };
            match slack[p] {
                0 if others_fixed() => at = parent,
                s if (1..=MAX_SLACK).contains(&s) => {
                    absorber[e] = parent;
                    ends[p] += 1;
                    break;
                }
                _ => break,
            }
        }
    }
    // A group absorbs only when every child of it that can change is such a
    // chain end, and its members are consecutive events.
    let mut first = vec![u32::MAX; n];
    let mut members = vec![0u32; n];
    for (e, &a) in absorber.iter().enumerate() {
        if a != u32::MAX {
            let a = a as usize;
            first[a] = first[a].min(e as u32);
            members[a] += 1;
        }
    }
    let valid = |a: u32| {
        let a = a as usize;
        let changing = circuit
            .children(a as u32)
            .iter()
            .filter(|&&c| may_change[c as usize])
            .count() as u32;
        changing == ends[a]
            && absorber
                .get(first[a] as usize..(first[a] + members[a]) as usize)
                .is_some_and(|run| run.iter().all(|&b| b as usize == a))
    };
    let mut runs: Vec<Run> = Vec::new();
    let mut e = 0u32;
    while (e as usize) < drawn.len() {
        let a = absorber[e as usize];
        if a != u32::MAX && first[a as usize] == e && valid(a) {
            let end = e + members[a as usize];
            runs.push(Run {
                events: e..end,
                slack: Some(slack[a as usize]),
            });
            e = end;
            continue;
        }
        match runs.last_mut() {
            Some(last) if last.slack.is_none() && last.events.end == e => last.events.end += 1,
            _ => runs.push(Run {
                events: e..e + 1,
                slack: None,
            }),
        }
        e += 1;
    }
    runs
}

/// Makes every run with an event below `at` a run of `None` (absorbing a
/// group takes all its members), cut at `at`; returns how many runs lie
/// below `at`. The events drawn before the last wide one cannot be
/// absorbed: the trials apart are not all known when they are drawn.
pub fn split_at(runs: &mut Vec<Run>, at: u32) -> usize {
    let mut below = 0;
    let mut i = 0;
    while i < runs.len() && runs[i].events.start < at {
        if runs[i].events.end > at {
            let rest = at..runs[i].events.end;
            runs[i].events.end = at;
            runs.insert(
                i + 1,
                Run {
                    events: rest,
                    slack: None,
                },
            );
        }
        runs[i].slack = None;
        below = i + 1;
        i += 1;
    }
    below
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::engine::{FaultGraph, Gate};

    #[test]
    fn groups_of_replicas_absorb_and_others_do_not() {
        let mut g = FaultGraph::new();
        let zone = g.add(Gate::Event(0));
        // Events 1-3: replicas placed in the zone, 2 of 3 needed.
        let replicas: Vec<_> = (1..4)
            .map(|e| {
                let event = g.add(Gate::Event(e));
                g.add(Gate::And(vec![event, zone]))
            })
            .collect();
        let group = g.add(Gate::AtLeast { k: 2, of: replicas });
        // Event 4: a lone instance, itself a root.
        let lone = g.add(Gate::Event(4));
        // Events 5-7: a 1-of-2 group whose second child has two events.
        let a = g.add(Gate::Event(5));
        let b = g.add(Gate::Event(6));
        let c = g.add(Gate::Event(7));
        let pair = g.add(Gate::And(vec![b, c]));
        let either = g.add(Gate::Or(vec![a, pair]));
        let top = g.add(Gate::And(vec![group, lone, either]));
        let circuit = Circuit::new(&g, 8);
        // Each node's slack, as `Steady` computes it: the two groups can
        // lose one child, every other node none.
        let slack: Vec<u32> = (0..circuit.len() as u32)
            .map(|n| u32::from(n == group || n == either))
            .collect();
        // The zone is wide (not drawn).
        let drawn = [false, true, true, true, true, true, true, true];
        let mut is_root = vec![false; circuit.len()];
        for r in [lone, top] {
            is_root[r as usize] = true;
        }
        let mut runs = runs(&circuit, &slack, &drawn, &is_root);
        let run = |events: Range<u32>, slack| Run { events, slack };
        assert_eq!(runs, [run(0..1, None), run(1..4, Some(1)), run(4..8, None)]);
        // Below the last wide event, nothing is absorbed.
        assert_eq!(split_at(&mut runs, 2), 2);
        assert_eq!(
            runs,
            [
                run(0..1, None),
                run(1..2, None),
                run(2..4, None),
                run(4..8, None)
            ]
        );
    }

    #[test]
    fn a_slack_past_what_a_byte_counts_is_not_absorbed() {
        for (members, absorbed) in [(255, true), (256, false)] {
            let mut g = FaultGraph::new();
            let events: Vec<_> = (0..members).map(|e| g.add(Gate::Event(e))).collect();
            let any = g.add(Gate::Or(events));
            let circuit = Circuit::new(&g, members as usize);
            let slack: Vec<u32> = (0..circuit.len() as u32)
                .map(|n| if n == any { members - 1 } else { 0 })
                .collect();
            let drawn = vec![true; members as usize];
            let is_root: Vec<bool> = (0..circuit.len() as u32).map(|n| n == any).collect();
            let slack_of = absorbed.then_some(members - 1);
            assert_eq!(
                runs(&circuit, &slack, &drawn, &is_root),
                [Run {
                    events: 0..members,
                    slack: slack_of
                }]
            );
        }
    }
}

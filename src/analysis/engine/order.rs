//! Static variable order of a module's BDD.

use super::prep::Local;

/// The BDD variable order of `local`'s leaves: `order[i]` is the leaf tested i-th.
///
/// Depth-first order of first appearance from the module's top, children visited in their
/// given order: that is the order in which [`super::prep::modularise`] lists the leaves, so
/// this is the identity. Measured on the Aralia set (total BDD nodes over the 20 models):
/// 43,617 with this order, 57,716 when visiting smaller children (or leaves) first, 1,133,561
/// when visiting larger children first.
pub(super) fn order(local: &Local) -> Vec<u32> {
    (0..local.leaves.len() as u32).collect()
}

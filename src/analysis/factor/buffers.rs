//! Table buffers kept for reuse by the same thread.
//!
//! An elimination step of a wide service fills tables of millions of
//! entries, and its gradient as many adjoints, and drops them a moment
//! later. Fresh from the allocator, each such buffer is memory the kernel
//! maps and zeroes page by page on first touch; a buffer kept here is
//! memory already mapped.

use std::cell::RefCell;

/// Buffers of fewer entries are left to the allocator (its small pages
/// are reused anyway).
const KEEP_FROM: usize = 1 << 12;

/// Most entries kept by one thread (256 MiB).
const KEEP_AT_MOST: usize = 1 << 25;

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// One thread's kept buffers, by size: `by_size[b]` holds buffers of at
/// least `2^b` entries (and fewer than `2^(b+1)`), so a buffer is found
/// without a search.
struct Pool {
    by_size: [Vec<Vec<f64>>; usize::BITS as usize],
    /// The capacity of every kept buffer, summed.
    entries: usize,
}

impl Default for Pool {
    fn default() -> Pool {
        Pool {
            by_size: std::array::from_fn(|_| Vec::new()),
            entries: 0,
        }
    }
}

impl Pool {
    /// A kept buffer of at least `len` entries.
    fn take(&mut self, len: usize) -> Option<Vec<f64>> {
        // The least `b` with `2^b >= len`.
        let b = len.next_power_of_two().trailing_zeros() as usize;
        let buffer = self.by_size.get_mut(b)?.pop()?;
        self.entries -= buffer.capacity();
        Some(buffer)
    }

    /// Keeps `buffer` if there is room.
    fn keep(&mut self, buffer: Vec<f64>) {
        let capacity = buffer.capacity();
        if self.entries + capacity <= KEEP_AT_MOST {
            self.entries += capacity;
            // The greatest `b` with `2^b <= capacity`.
            let b = capacity.ilog2() as usize;
            self.by_size[b].push(buffer);
        }
    }
}

/// A buffer of `len` zeros.
pub(super) fn zeros(len: usize) -> Vec<f64> {
    if len >= KEEP_FROM {
        // A thread tearing down its locals has no pool left.
        let kept = POOL.try_with(|p| p.borrow_mut().take(len));
        if let Ok(Some(mut buffer)) = kept {
            buffer.clear();
            buffer.resize(len, 0.0);
            return buffer;
        }
    }
    vec![0.0; len]
}

/// Keeps `buffer` for a later [`zeros`] of this thread, if it is large
/// and there is room.
pub(super) fn give_back(buffer: Vec<f64>) {
    let capacity = buffer.capacity();
    if capacity < KEEP_FROM {
        return;
    }
    // A thread tearing down its locals drops the buffer instead.
    let _ = POOL.try_with(|p| p.borrow_mut().keep(buffer));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_reused_zeroed() {
        let mut buffer = zeros(KEEP_FROM * 2);
        buffer.iter_mut().for_each(|x| *x = 7.0);
        let address = buffer.as_ptr();
        give_back(buffer);
        // Any length up to its capacity, down to half of it, finds it.
        let again = zeros(KEEP_FROM + 1);
        assert_eq!(again.as_ptr(), address);
        assert_eq!(again.len(), KEEP_FROM + 1);
        assert!(again.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn small_buffers_are_left_to_the_allocator() {
        give_back(vec![1.0; KEEP_FROM - 1]);
        POOL.with(|p| {
            let pool = p.borrow();
            let mut kept = pool.by_size.iter().flatten();
            assert!(kept.all(|b| b.capacity() >= KEEP_FROM));
        });
    }

    #[test]
    fn a_thread_keeps_at_most_its_share() {
        for _ in 0..(KEEP_AT_MOST / KEEP_FROM) * 2 {
            give_back(Vec::with_capacity(KEEP_FROM));
        }
        POOL.with(|p| assert!(p.borrow().entries <= KEEP_AT_MOST));
    }
}

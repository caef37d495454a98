//! Buffers for the bytes of messages read, given back when a message is freed and reused for
//! the next responses a read takes in (or header blocks it copies out of them).
//!
//! Why: a streaming read allocates every message on its reading thread and the host frees it
//! on its own thread, in bursts (a batch at a time). glibc's malloc hands memory freed that way
//! back to the system (it trims an arena whose free top grows past a threshold it adjusts to
//! the program's allocations) and faults it in again for the next batch: measured on the
//! benchmark at 20 ms round trip, 10,000 to 20,000 page faults per 5,000 messages and about 8%
//! of the read's CPU, which a buffer that stays in use does not cost. A library cannot set the
//! host's malloc options, so it keeps the memory warm itself, within a fixed budget.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

/// Most bytes of buffers a pool keeps (those given back past it are freed): what a read at
/// 20 ms round trip has between its reading thread and the host (a batch being read, one
/// ready, the one the host works on: 4 MB each). Measured on the benchmark: with 8 MB, 10% of
/// the bytes still went to new buffers after the first 8 MB; with 16 MB none did.
const POOL_BYTES: usize = 16 * 1024 * 1024;

/// Buffers smaller than this are not kept: malloc serves them from its bins without trimming.
const SMALLEST_KEPT: usize = 4 * 1024;

/// Buffers larger than this are not kept: rare, and one would take much of the budget.
const LARGEST_KEPT: usize = 1024 * 1024;

/// Buffers kept for reuse, shared by a session's reading threads and the messages it hands out
/// (which give their buffer back when freed, on whatever thread, also after the session ended).
/// Buffers are kept only while a read runs ([`BufferPool::keep`] to [`BufferPool::release`]):
/// an idle session holds none.
#[derive(Debug, Default)]
pub struct BufferPool {
    shelf: Mutex<Shelf>,
}

#[derive(Debug, Default)]
struct Shelf {
    /// Empty buffers by capacity.
    by_capacity: BTreeMap<usize, Vec<Vec<u8>>>,
    /// Sum of their capacities.
    bytes: usize,
    /// Buffers given back are kept (a read runs).
    keeping: bool,
}

impl BufferPool {
    pub fn new() -> Arc<BufferPool> {
        Arc::new(BufferPool::default())
    }

    /// A copy of `bytes`, in a kept buffer when one fits (at most twice as large: a message
    /// kept long, as get_all's are, never holds more than that, and only the pool's budget of
    /// such buffers is ever handed out without coming back).
    pub fn copy_of(&self, bytes: &[u8]) -> Vec<u8> {
        let mut buffer = self.buffer(bytes.len());
        buffer.extend_from_slice(bytes);
        buffer
    }

    /// An empty buffer for at least `capacity` bytes: a kept one when one fits (at most twice
    /// as large, as for [`BufferPool::copy_of`]), else a new one.
    pub fn buffer(&self, capacity: usize) -> Vec<u8> {
        self.take(capacity)
            .unwrap_or_else(|| Vec::with_capacity(capacity))
    }

    fn take(&self, len: usize) -> Option<Vec<u8>> {
        if len < SMALLEST_KEPT / 2 {
            return None;
        }
        let mut shelf = self.shelf.lock().ok()?;
        let fits = len..=len.saturating_mul(2);
        let (&capacity, _) = shelf.by_capacity.range(fits).next()?;
        let same = shelf.by_capacity.get_mut(&capacity)?;
        let buffer = same.pop()?;
        if same.is_empty() {
            shelf.by_capacity.remove(&capacity);
        }
        shelf.bytes -= capacity;
        Some(buffer)
    }

    /// Keeps `buffer` (emptied) for a later copy, unless its size is not worth keeping or the
    /// pool is full.
    pub fn give_back(&self, mut buffer: Vec<u8>) {
        let capacity = buffer.capacity();
        if !(SMALLEST_KEPT..=LARGEST_KEPT).contains(&capacity) {
            return;
        }
        let Ok(mut shelf) = self.shelf.lock() else {
            return;
        };
        if !shelf.keeping || shelf.bytes + capacity > POOL_BYTES {
            return;
        }
        buffer.clear();
        shelf.bytes += capacity;
        shelf.by_capacity.entry(capacity).or_default().push(buffer);
    }

    /// Keeps the buffers given back from now on (a read starts).
    pub fn keep(&self) {
        if let Ok(mut shelf) = self.shelf.lock() {
            shelf.keeping = true;
        }
    }

    /// Frees the buffers kept, and those given back from now on (a read ended).
    pub fn release(&self) {
        if let Ok(mut shelf) = self.shelf.lock() {
            *shelf = Shelf::default();
        }
    }

    /// Bytes of buffers kept.
    #[cfg(test)]
    pub(crate) fn kept_bytes(&self) -> usize {
        self.shelf.lock().map(|s| s.bytes).unwrap_or(0)
    }
}

/// Where a message gives its buffer back when freed: a pool that may be gone by then.
#[derive(Debug, Clone, Default)]
pub struct ReturnTo(Weak<BufferPool>);

impl ReturnTo {
    pub fn pool(pool: &Arc<BufferPool>) -> ReturnTo {
        ReturnTo(Arc::downgrade(pool))
    }

    /// Gives `buffer` back to the pool if it still exists.
    pub fn give_back(&self, buffer: Vec<u8>) {
        if let Some(pool) = self.0.upgrade() {
            pool.give_back(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_serves_a_copy_that_fits() {
        let pool = BufferPool::new();
        pool.keep();
        let first = pool.copy_of(&[7; 10_000]);
        let address = first.as_ptr();
        pool.give_back(first);
        assert!(pool.kept_bytes() >= 10_000);
        // Up to twice smaller than the buffer: reused, holding only the new bytes.
        let second = pool.copy_of(&[9; 6_000]);
        assert_eq!(second.as_ptr(), address);
        assert_eq!(second, vec![9; 6_000]);
        assert_eq!(pool.kept_bytes(), 0);
        pool.give_back(second);
        // Larger than the buffer, or less than half of it: a new buffer.
        let (larger, smaller) = (pool.copy_of(&[1; 12_000]), pool.copy_of(&[1; 4_000]));
        assert_ne!(larger.as_ptr(), address);
        assert_ne!(smaller.as_ptr(), address);
        assert!(pool.kept_bytes() >= 10_000);
    }

    #[test]
    fn the_pool_keeps_no_more_than_its_budget_and_no_odd_sizes() {
        let pool = BufferPool::new();
        pool.keep();
        pool.give_back(Vec::with_capacity(SMALLEST_KEPT - 1));
        pool.give_back(Vec::with_capacity(LARGEST_KEPT + 1));
        assert_eq!(pool.kept_bytes(), 0);
        for _ in 0..(POOL_BYTES / LARGEST_KEPT + 3) {
            pool.give_back(Vec::with_capacity(LARGEST_KEPT));
        }
        assert!(pool.kept_bytes() <= POOL_BYTES);
        assert!(pool.kept_bytes() >= POOL_BYTES - LARGEST_KEPT);
    }

    #[test]
    fn a_released_pool_keeps_nothing_until_a_read_starts_again() {
        let pool = BufferPool::new();
        pool.give_back(Vec::with_capacity(10_000));
        assert_eq!(pool.kept_bytes(), 0, "kept before any read");
        pool.keep();
        pool.give_back(Vec::with_capacity(10_000));
        assert_eq!(pool.kept_bytes(), 10_000);
        pool.release();
        assert_eq!(pool.kept_bytes(), 0, "freed when the read ends");
        pool.give_back(Vec::with_capacity(10_000));
        assert_eq!(pool.kept_bytes(), 0, "kept after the read");
    }

    #[test]
    fn a_buffer_given_back_after_its_pool_is_gone_is_freed() {
        let pool = BufferPool::new();
        let to = ReturnTo::pool(&pool);
        drop(pool);
        to.give_back(vec![0; 10_000]);
    }
}

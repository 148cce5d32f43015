//! Per-item CPU work of one batch spread over the machine's cores.
//!
//! A write is CPU first (parse, validate, canonical form, hashes, signing) and a commit last, and
//! only the commit is serialised. One TAXII connection posting envelopes of 500 would otherwise
//! use one core of the machine's while the others wait for the next envelope. These helpers split
//! a batch into contiguous chunks, one per available core, on scoped threads, and give the results
//! back in the input's order. Small batches stay on the caller's thread: a thread costs more than
//! checking a few dozen objects.
//!
//! No I/O and no pool: scoped threads end with the call, so nothing outlives a request and a
//! panic in one item is resumed on the caller's thread as if the work had run there.

use std::num::NonZeroUsize;
use std::thread;

/// Below this many items per thread, the work stays on fewer threads.
const MIN_ITEMS_PER_THREAD: usize = 32;

/// How many threads `len` items are worth, at most one per available core.
fn threads_for(len: usize) -> usize {
    let cores = thread::available_parallelism().map(NonZeroUsize::get).unwrap_or(1);
    (len / MIN_ITEMS_PER_THREAD).clamp(1, cores)
}

/// `items.into_iter().map(f).collect()`, over several threads when the batch is large enough.
pub fn map<T, R, F>(items: Vec<T>, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync,
{
    map_with(items, || (), |(), item| f(item))
}

/// [`map`] with a per-thread state made by `init` (a random generator, a scratch buffer), so that
/// no state is shared between threads.
pub fn map_with<T, R, S, I, F>(items: Vec<T>, init: I, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, T) -> R + Sync,
{
    let threads = threads_for(items.len());
    if threads <= 1 {
        let mut state = init();
        return items.into_iter().map(|item| f(&mut state, item)).collect();
    }
    let per_thread = items.len().div_ceil(threads);
    let mut chunks: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut rest = items.into_iter();
    loop {
        let chunk: Vec<T> = rest.by_ref().take(per_thread).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(chunk);
    }
    let (init, f) = (&init, &f);
    thread::scope(|scope| {
        // The first chunk runs here: one thread fewer to start.
        let mut chunks = chunks.into_iter();
        let first = chunks.next().unwrap_or_default();
        let handles: Vec<_> = chunks
            .map(|chunk| {
                scope.spawn(move || {
                    let mut state = init();
                    chunk.into_iter().map(|item| f(&mut state, item)).collect::<Vec<R>>()
                })
            })
            .collect();
        let mut state = init();
        let mut out: Vec<R> = first.into_iter().map(|item| f(&mut state, item)).collect();
        for handle in handles {
            match handle.join() {
                Ok(part) => out.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_input_order_at_every_size() {
        for len in [0, 1, 31, 32, 64, 65, 500, 1001] {
            let items: Vec<usize> = (0..len).collect();
            let out = map(items, |i| i * 3);
            assert_eq!(out, (0..len).map(|i| i * 3).collect::<Vec<_>>(), "len {len}");
        }
    }

    #[test]
    fn each_thread_has_its_own_state() {
        // Each state counts the items its thread saw; the counts add up to the batch.
        let out = map_with(
            (0..1000).collect::<Vec<u32>>(),
            || 0u32,
            |seen, item| {
                *seen += 1;
                (item, *seen)
            },
        );
        assert_eq!(out.iter().map(|(i, _)| *i).collect::<Vec<_>>(), (0..1000).collect::<Vec<_>>());
        // Within one thread's chunk the count rises by one; a restart at 1 marks a new thread.
        let starts = out.iter().filter(|(_, seen)| *seen == 1).count();
        assert_eq!(starts, threads_for(1000));
    }

    #[test]
    fn large_batches_use_more_than_one_thread_where_there_are_cores() {
        let cores = thread::available_parallelism().map(NonZeroUsize::get).unwrap_or(1);
        assert_eq!(threads_for(10), 1);
        assert_eq!(threads_for(10_000), cores);
        let ids = map((0..1000).collect::<Vec<u32>>(), |_| thread::current().id());
        let distinct: std::collections::BTreeSet<String> = ids.iter().map(|id| format!("{id:?}")).collect();
        assert_eq!(distinct.len(), cores.min(1000 / MIN_ITEMS_PER_THREAD));
    }

    #[test]
    fn a_panic_in_one_item_reaches_the_caller() {
        let result = std::panic::catch_unwind(|| {
            map((0..1000).collect::<Vec<u32>>(), |i| {
                assert!(i != 900, "item 900");
                i
            })
        });
        assert!(result.is_err());
    }
}

//! A parallel map over the available cores, keeping input order: loading, checking and writing
//! hundreds of small files is CPU- and syscall-bound (bench/check.sh, bench/emit.sh count wall
//! time). Items are small and similar in size, so equal contiguous chunks balance well enough
//! and no work-stealing crate is needed; below 16 items no thread is spawned.

/// Applies `f` to every item on up to `available_parallelism()` scoped threads; the results
/// come back in the order of `items`.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 16 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let items: Vec<u32> = (0..1000).collect();
        let got = super::par_map(&items, |i| i * 2);
        assert_eq!(got, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }
}

//! The 64-bit keys seen more than once among many, in memory that does not grow with their
//! number: the plan reader's check that no (region, seller SKU) is written twice, over plans of
//! tens of millions of operations.
//!
//! Keys gather in a buffer of at most [`RUN`] keys. A full buffer is sorted and written to an
//! anonymous temporary file as a run; at the end the runs are merged, a block of each at a time,
//! and a key met twice in the merge is repeated. A plan of fewer than [`RUN`] operations never
//! touches the disk. Where no temporary file can be made (a read-only TMPDIR), the keys are kept
//! in a set in memory instead, as before runs existed: the same answer, in memory that grows.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

/// Keys held in memory before a run is written: 4 MiB.
const RUN: usize = 1 << 19;

/// The keys read from the file at a time per run, in the merge, at most (64 KiB) and at least.
const BLOCK_MAX: usize = 1 << 13;
const BLOCK_MIN: usize = 1 << 8;
/// The merge's read buffers together, in keys (4 MiB), shared out among the runs.
const MERGE_KEYS: usize = 1 << 19;

pub(super) struct Repeats {
    buf: Vec<u64>,
    /// Runs written: the file, and each run's length in keys (in file order).
    file: Option<File>,
    runs: Vec<u64>,
    /// Keys repeated within one run (found when it is sorted), or in memory.
    found: HashSet<u64>,
    /// Every key, when no temporary file could be made.
    all: Option<HashSet<u64>>,
    /// Keys held in memory before a run is written (tests write small runs).
    run: usize,
}

#[cfg(test)]
thread_local! {
    /// Tests: the run length of a default `Repeats` (plans of a few operations spill), a
    /// temporary file that cannot be made, and one that cannot be written.
    pub(super) static TEST_RUN: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    pub(super) static TEST_NO_TMP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    pub(super) static TEST_FULL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Default for Repeats {
    fn default() -> Self {
        #[cfg(test)]
        if let Some(run) = TEST_RUN.with(|r| r.get()) {
            return Repeats::with_run(run);
        }
        Repeats::with_run(RUN)
    }
}

impl Repeats {
    pub(super) fn with_run(run: usize) -> Self {
        Repeats {
            buf: Vec::new(),
            file: None,
            runs: Vec::new(),
            found: HashSet::new(),
            all: None,
            run: run.max(1),
        }
    }

    pub(super) fn push(&mut self, key: u64) -> io::Result<()> {
        if let Some(all) = &mut self.all {
            if !all.insert(key) {
                self.found.insert(key);
            }
            return Ok(());
        }
        self.buf.push(key);
        if self.buf.len() >= self.run {
            self.spill()?;
        }
        Ok(())
    }

    /// Sorts the buffer, notes the keys it repeats, and writes each key once as a run.
    fn spill(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            match new_file() {
                Ok(f) => self.file = Some(f),
                Err(_) => {
                    // No temporary file at all: nothing was spilled yet, keep every key here.
                    let mut all = HashSet::with_capacity(self.buf.len() * 2);
                    for k in self.buf.drain(..) {
                        if !all.insert(k) {
                            self.found.insert(k);
                        }
                    }
                    self.all = Some(all);
                    self.buf = Vec::new();
                    return Ok(());
                }
            }
        }
        #[cfg(test)]
        if TEST_FULL.with(|f| f.get()) {
            return Err(io::Error::other("no space left on device (test)"));
        }
        let unique = sort_unique(&mut self.buf, &mut self.found);
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut w = BufWriter::with_capacity(1 << 16, file);
        for k in &self.buf[..unique] {
            w.write_all(&k.to_le_bytes())?;
        }
        w.flush()?;
        self.runs.push(unique as u64);
        self.buf.clear();
        Ok(())
    }

    /// Every key pushed more than once.
    pub(super) fn repeated(mut self) -> io::Result<HashSet<u64>> {
        if self.all.is_some() {
            return Ok(self.found);
        }
        if self.file.is_none() {
            sort_unique(&mut self.buf, &mut self.found);
            return Ok(self.found);
        }
        if !self.buf.is_empty() {
            self.spill()?;
        }
        self.buf = Vec::new();
        let Some(file) = self.file.take() else {
            return Ok(self.found);
        };
        let block = (MERGE_KEYS / self.runs.len()).clamp(BLOCK_MIN, BLOCK_MAX);
        let mut cursors = Vec::with_capacity(self.runs.len());
        let mut start = 0u64;
        for &len in &self.runs {
            cursors.push(Cursor {
                next: start,
                end: start + len,
                keys: Vec::with_capacity(block),
                at: 0,
            });
            start += len;
        }
        let mut heap = BinaryHeap::with_capacity(cursors.len());
        let mut bytes = vec![0u8; block * 8];
        for (i, c) in cursors.iter_mut().enumerate() {
            if let Some(k) = c.pop(&file, &mut bytes)? {
                heap.push(Reverse((k, i)));
            }
        }
        let mut last = None;
        while let Some(Reverse((k, i))) = heap.pop() {
            if last == Some(k) {
                self.found.insert(k);
            }
            last = Some(k);
            if let Some(next) = cursors[i].pop(&file, &mut bytes)? {
                heap.push(Reverse((next, i)));
            }
        }
        Ok(self.found)
    }
}

fn new_file() -> io::Result<File> {
    #[cfg(test)]
    if TEST_NO_TMP.with(|f| f.get()) {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no TMPDIR (test)"));
    }
    tempfile::tempfile()
}

/// Sorts `keys`, adds the ones that occur more than once to `found`, and moves one of each to
/// the front: returns how many that is.
fn sort_unique(keys: &mut [u64], found: &mut HashSet<u64>) -> usize {
    keys.sort_unstable();
    let mut unique = 0;
    for i in 0..keys.len() {
        if unique > 0 && keys[unique - 1] == keys[i] {
            found.insert(keys[i]);
        } else {
            keys[unique] = keys[i];
            unique += 1;
        }
    }
    unique
}

/// One run in the merge: the keys `next..end` (in keys from the file's start) still to read,
/// and a block read ahead.
struct Cursor {
    next: u64,
    end: u64,
    keys: Vec<u64>,
    at: usize,
}

impl Cursor {
    fn pop(&mut self, mut file: &File, bytes: &mut [u8]) -> io::Result<Option<u64>> {
        if self.at == self.keys.len() {
            let n = ((self.end - self.next) as usize).min(bytes.len() / 8);
            if n == 0 {
                return Ok(None);
            }
            // The runs share one file: every read says where it starts.
            file.seek(SeekFrom::Start(self.next * 8))?;
            file.read_exact(&mut bytes[..n * 8])?;
            self.keys.clear();
            self.keys.extend(bytes[..n * 8].chunks_exact(8).map(|b| {
                let mut k = [0u8; 8];
                k.copy_from_slice(b);
                u64::from_le_bytes(k)
            }));
            self.next += n as u64;
            self.at = 0;
        }
        let k = self.keys[self.at];
        self.at += 1;
        Ok(Some(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(keys: &[u64]) -> HashSet<u64> {
        let mut seen = HashSet::new();
        keys.iter().copied().filter(|k| !seen.insert(*k)).collect()
    }

    fn repeated(keys: &[u64], run: usize) -> HashSet<u64> {
        let mut r = Repeats::with_run(run);
        for &k in keys {
            r.push(k).unwrap();
        }
        r.repeated().unwrap()
    }

    #[test]
    fn repeats_within_a_run_across_runs_and_in_the_last_partial_run_are_found() {
        // Runs of 3: [5, 1, 5] [2, 9, 1] [7, 7].
        let keys = [5, 1, 5, 2, 9, 1, 7, 7];
        assert_eq!(repeated(&keys, 3), HashSet::from([5, 1, 7]));
        assert_eq!(repeated(&keys, 100), HashSet::from([5, 1, 7]));
        assert_eq!(
            repeated(&[u64::MAX, 0, u64::MAX], 1),
            HashSet::from([u64::MAX])
        );
        assert!(repeated(&[], 1).is_empty());
        assert!(repeated(&[3, 2, 1], 1).is_empty());
    }

    #[test]
    fn without_a_temporary_file_the_keys_are_kept_in_memory_with_the_same_answer() {
        let keys = [5, 1, 5, 2, 9, 1, 7, 7, 9];
        TEST_NO_TMP.with(|f| f.set(true));
        let got = repeated(&keys, 2);
        TEST_NO_TMP.with(|f| f.set(false));
        assert_eq!(got, HashSet::from([5, 1, 7, 9]));
    }

    #[test]
    fn many_runs_read_in_small_blocks_agree_with_a_set() {
        // More runs than MERGE_KEYS / BLOCK_MIN would share: every block is the smallest.
        let keys: Vec<u64> = (0..20_000u64).map(|i| (i * 7919) % 15_013).collect();
        assert_eq!(repeated(&keys, 7), reference(&keys));
    }

    proptest! {
        #[test]
        fn the_repeated_keys_are_a_sets_repeats(
            keys in proptest::collection::vec(0u64..64, 0..300),
            run in 1usize..40,
        ) {
            prop_assert_eq!(repeated(&keys, run), reference(&keys));
        }
    }
}

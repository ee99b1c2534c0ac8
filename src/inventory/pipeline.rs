//! A CSV file read on two cores: this thread splits and validates records with the csv crate,
//! in batches, and a second thread turns them into stock. Records keep their positions, so
//! every error keeps its line, and the batches are handled in file order, so SKUs keep the order
//! of their first row and errors the order of their rows. A file that fits in one batch is read
//! on this thread alone (a thread is not worth starting for it).

use std::io::Read;
use std::sync::mpsc;

use super::{InputError, csv_error};

/// Records per batch: large enough that the channel is crossed rarely, small enough that the
/// records in flight stay a few hundred kilobytes.
const BATCH: usize = 2048;

/// Batches queued between the threads; with the ones being filled and handled, at most this
/// plus two exist (they are recycled, so their buffers are allocated once).
const QUEUED: usize = 4;

/// What turns records into stock.
pub(super) trait RecordSink: Send {
    fn record(&mut self, record: &csv::StringRecord);
}

struct Batch {
    records: Vec<csv::StringRecord>,
    len: usize,
}

impl Batch {
    fn new() -> Self {
        Batch {
            records: Vec::new(),
            len: 0,
        }
    }

    /// Read up to `BATCH` records; true at the end of the file.
    fn fill<R: Read>(&mut self, rdr: &mut csv::Reader<R>) -> Result<bool, csv::Error> {
        self.len = 0;
        while self.len < BATCH {
            if self.len == self.records.len() {
                self.records.push(csv::StringRecord::new());
            }
            if !rdr.read_record(&mut self.records[self.len])? {
                return Ok(true);
            }
            self.len += 1;
        }
        Ok(false)
    }

    fn records(&self) -> &[csv::StringRecord] {
        &self.records[..self.len]
    }
}

/// Feed every record after the header to `sink`, in order. A record the csv crate cannot read
/// (bad UTF-8, an I/O error) ends the read with that error, as reading on one thread would: the
/// records before it have been handled, those after it are not read.
pub(super) fn run<R: Read, S: RecordSink>(
    name: &str,
    rdr: &mut csv::Reader<R>,
    sink: &mut S,
) -> Result<(), InputError> {
    let mut first = Batch::new();
    let eof = first.fill(rdr).map_err(|e| csv_error(name, e));
    match eof {
        Ok(true) => {
            first.records().iter().for_each(|r| sink.record(r));
            return Ok(());
        }
        Ok(false) => {}
        Err(e) => {
            first.records().iter().for_each(|r| sink.record(r));
            return Err(e);
        }
    }
    std::thread::scope(|scope| {
        let (to_worker, batches) = mpsc::sync_channel::<Batch>(QUEUED);
        let (give_back, spare) = mpsc::channel::<Batch>();
        let worker = scope.spawn(move || {
            for batch in batches {
                batch.records().iter().for_each(|r| sink.record(r));
                // The reader may have finished already: then the batch is simply dropped.
                let _ = give_back.send(batch);
            }
        });
        let mut batch = first;
        let read = loop {
            // A send fails only if the worker is gone (it panicked): its join says why.
            if to_worker.send(batch).is_err() {
                break Ok(());
            }
            batch = spare.try_recv().unwrap_or_else(|_| Batch::new());
            match batch.fill(rdr) {
                Ok(false) => {}
                Ok(true) => {
                    let _ = to_worker.send(batch);
                    break Ok(());
                }
                Err(e) => {
                    // The records before the bad one, as on one thread.
                    let _ = to_worker.send(batch);
                    break Err(csv_error(name, e));
                }
            }
        };
        drop(to_worker);
        if let Err(panic) = worker.join() {
            std::panic::resume_unwind(panic);
        }
        read
    })
}

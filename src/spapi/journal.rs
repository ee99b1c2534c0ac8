//! The apply journal: `plan.json.journal` beside the plan, JSON lines, each record flushed and
//! fsynced before apply moves on, so a crash or kill loses at most the answer in flight.
//!
//! Resume rule: only an operation journaled `accepted` is never sent again. Anything else
//! (invalid, failed, or sent without an answer) is sent again; a PATCH of absolute quantities is
//! idempotent. In feed mode a feed whose ID was journaled is polled, never submitted again.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ApiErrorItem, Issue};
use crate::marketplaces::Region;
use crate::plan::model::Emit;

/// What happened to one operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Amazon accepted it for processing (issues may hold warnings).
    Accepted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        submission_id: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        issues: Vec<Issue>,
    },
    /// `--validate-only`: Amazon would accept it. Never journaled.
    Valid {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        issues: Vec<Issue>,
    },
    /// Amazon did not accept it; its issues say why.
    Invalid { issues: Vec<Issue> },
    /// No verdict: refused with an HTTP error, or still failing after the retries.
    Failed {
        error: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        errors: Vec<ApiErrorItem>,
    },
}

impl Outcome {
    pub fn is_accepted(&self) -> bool {
        matches!(self, Outcome::Accepted { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// First line: which plan this journal belongs to.
    Start {
        plan_digest: String,
        mode: Emit,
        at: String,
    },
    /// Every later run.
    Resume { at: String },
    Outcome {
        op: u32,
        /// The operation's seller SKU (`sku` in the journal file).
        #[serde(rename = "sku")]
        seller_sku: String,
        #[serde(flatten)]
        outcome: Outcome,
        at: String,
    },
    /// Feed mode: a feed document was created for the plan's feed document `doc` (0-based).
    FeedDocument {
        doc: usize,
        region: Region,
        feed_document_id: String,
        operation_ids: Vec<u32>,
        /// When the document was created (RFC 3339): a feed submitted with it cannot be
        /// older, which bounds the search for a feed whose createFeed answer was lost.
        /// Absent in journals written before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<String>,
    },
    /// Feed mode: the feed was submitted; from now on it is polled, never re-submitted.
    FeedSubmitted {
        doc: usize,
        feed_id: String,
        operation_ids: Vec<u32>,
    },
    /// Feed mode: the feed reached a final status and its outcomes are journaled above.
    FeedFinished {
        doc: usize,
        feed_id: String,
        processing_status: String,
    },
}

/// A feed as far as the journal knows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedProgress {
    pub feed_document_id: Option<String>,
    /// When `feed_document_id` was created, if the journal says.
    pub document_created_at: Option<String>,
    pub feed_id: Option<String>,
    pub operation_ids: Vec<u32>,
    /// The final status of `feed_id`, once reached.
    pub finished: Option<String>,
}

/// What earlier runs achieved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalState {
    /// The operations journaled accepted (only those are never sent again): a set, not every
    /// outcome, so resuming a run of millions of operations holds a few bytes for each.
    pub accepted: BTreeSet<u32>,
    /// Feed mode: the latest feed of each plan feed document.
    pub feeds: BTreeMap<usize, FeedProgress>,
    /// Runs before this one.
    pub runs: usize,
    /// Every feed ID journaled as submitted, by any run: never taken for another's orphan.
    pub known_feed_ids: BTreeSet<String>,
}

impl JournalState {
    pub fn is_accepted(&self, op: u32) -> bool {
        self.accepted.contains(&op)
    }

    fn apply(&mut self, r: &Record) {
        match r {
            Record::Start { .. } | Record::Resume { .. } => self.runs += 1,
            Record::Outcome { op, outcome, .. } => {
                // Accepted is final: a later duplicate record cannot undo it.
                if outcome.is_accepted() {
                    self.accepted.insert(*op);
                }
            }
            Record::FeedDocument {
                doc,
                feed_document_id,
                operation_ids,
                at,
                ..
            } => {
                self.feeds.insert(
                    *doc,
                    FeedProgress {
                        feed_document_id: Some(feed_document_id.clone()),
                        document_created_at: at.clone(),
                        feed_id: None,
                        operation_ids: operation_ids.clone(),
                        finished: None,
                    },
                );
            }
            Record::FeedSubmitted {
                doc,
                feed_id,
                operation_ids,
            } => {
                self.known_feed_ids.insert(feed_id.clone());
                let f = self.feeds.entry(*doc).or_default();
                f.feed_id = Some(feed_id.clone());
                f.operation_ids = operation_ids.clone();
                f.finished = None;
            }
            Record::FeedFinished {
                doc,
                feed_id,
                processing_status,
            } => {
                let f = self.feeds.entry(*doc).or_default();
                if f.feed_id.as_deref() == Some(feed_id) {
                    f.finished = Some(processing_status.clone());
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot {action} the journal {path}: {reason}")]
    Io {
        action: &'static str,
        path: String,
        reason: String,
    },
    #[error("the journal {path} is damaged at line {line}: {reason}")]
    Corrupt {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("the journal {path} belongs to another plan (digest {found}, this plan is {expected})")]
    OtherPlan {
        path: String,
        found: String,
        expected: String,
    },
    #[error("another `allot apply` is running with the journal {path}")]
    Busy { path: String },
    #[error(
        "the journal {path} records operation {op} at line {line}, which this plan does not have"
    )]
    UnknownOperation { path: String, line: usize, op: u32 },
}

impl JournalError {
    pub fn help(&self) -> &'static str {
        match self {
            JournalError::OtherPlan { .. } => {
                "the journal records what an earlier plan sent; if that run is finished, move \
                 the journal away (or make the new plan in another folder) and run apply again"
            }
            JournalError::Corrupt { .. } => {
                "the journal was edited or damaged; keep a copy for reference and move it away \
                 to start over (accepted operations would then be sent again, which is harmless \
                 for absolute quantities)"
            }
            JournalError::Io { .. } => "check the folder is writable and the disk has space",
            JournalError::UnknownOperation { .. } => {
                "the journal belongs to another plan or was damaged: its outcomes cannot be \
                 trusted for this one; move it away and run apply again (operations already \
                 accepted are sent again, which is harmless for absolute quantities)"
            }
            JournalError::Busy { .. } => {
                "two applies of one plan would send its operations twice; wait for the other \
                 run to finish (it holds a lock on the journal) and run apply again to resume"
            }
        }
    }
}

/// The journal path for a plan: `plan.json` → `plan.json.journal`.
pub fn path_for(plan: &Path) -> PathBuf {
    let mut s = plan.as_os_str().to_owned();
    s.push(".journal");
    PathBuf::from(s)
}

pub struct Journal {
    file: File,
    path: PathBuf,
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A plan's operation ids, as runs of consecutive ids: a plan allot makes numbers its
/// operations 1..=n, one run, so checking a journal against a plan of millions of operations
/// holds a few bytes, not a set of every id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownOps {
    /// (first, last) of each run; sorted by [`KnownOps::finish`].
    runs: Vec<(u32, u32)>,
}

impl KnownOps {
    pub fn push(&mut self, id: u32) {
        match self.runs.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(id) => *last = id,
            _ => self.runs.push((id, id)),
        }
    }

    /// Sorted and merged: ready for [`KnownOps::contains`].
    pub fn finish(mut self) -> Self {
        self.runs.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.runs.len());
        for (first, last) in self.runs {
            match merged.last_mut() {
                Some((_, end)) if u64::from(first) <= u64::from(*end) + 1 => {
                    *end = (*end).max(last);
                }
                _ => merged.push((first, last)),
            }
        }
        KnownOps { runs: merged }
    }

    pub fn contains(&self, id: u32) -> bool {
        let after = self.runs.partition_point(|(first, _)| *first <= id);
        after > 0
            && self
                .runs
                .get(after - 1)
                .is_some_and(|(_, last)| id <= *last)
    }
}

impl FromIterator<u32> for KnownOps {
    fn from_iter<I: IntoIterator<Item = u32>>(ids: I) -> Self {
        let mut known = KnownOps::default();
        for id in ids {
            known.push(id);
        }
        known.finish()
    }
}

/// Read a journal without opening it for writing (for `show` or tests). `Ok(None)` if absent.
pub fn read(path: &Path, digest: &str) -> Result<Option<JournalState>, JournalError> {
    read_checked(path, digest, None)
}

/// [`read`], refusing a record that names an operation outside `known` (when given).
pub fn read_checked(
    path: &Path,
    digest: &str,
    known: Option<&KnownOps>,
) -> Result<Option<JournalState>, JournalError> {
    let shown = path.display().to_string();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(JournalError::Io {
                action: "read",
                path: shown,
                reason: e.to_string(),
            });
        }
    };
    // Line by line, one ahead (to know the last): a journal of millions of records is not
    // held whole.
    let mut lines = BufReader::new(file).lines().peekable();
    let mut state = JournalState::default();
    let mut i = 0usize;
    while let Some(line) = lines.next() {
        let line = line.map_err(|e| JournalError::Io {
            action: "read",
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        i += 1;
        let i = i - 1;
        let is_last = lines.peek().is_none();
        if line.trim().is_empty() {
            continue;
        }
        let rec: Record = match serde_json::from_str(&line) {
            Ok(r) => r,
            // A kill in the middle of a write leaves a torn last line: that record never
            // happened (its operation is simply sent again).
            Err(_) if is_last => break,
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: shown,
                    line: i + 1,
                    reason: e.to_string(),
                });
            }
        };
        if i == 0 || state.runs == 0 {
            match &rec {
                Record::Start { plan_digest, .. } if plan_digest == digest => {}
                Record::Start { plan_digest, .. } => {
                    return Err(JournalError::OtherPlan {
                        path: shown,
                        found: plan_digest.clone(),
                        expected: digest.to_string(),
                    });
                }
                _ => {
                    return Err(JournalError::Corrupt {
                        path: shown,
                        line: i + 1,
                        reason: "the first record is not a start record".into(),
                    });
                }
            }
        }
        if let Some(known) = known {
            let ops: &[u32] = match &rec {
                Record::Outcome { op, .. } => std::slice::from_ref(op),
                Record::FeedDocument { operation_ids, .. }
                | Record::FeedSubmitted { operation_ids, .. } => operation_ids,
                _ => &[],
            };
            if let Some(op) = ops.iter().find(|op| !known.contains(**op)) {
                return Err(JournalError::UnknownOperation {
                    path: shown,
                    line: i + 1,
                    op: *op,
                });
            }
        }
        state.apply(&rec);
    }
    Ok(Some(state))
}

impl Journal {
    /// Open (or create) the journal of a plan and read what earlier runs did. Refuses a journal
    /// made for another plan.
    pub fn open(
        path: &Path,
        digest: &str,
        mode: Emit,
    ) -> Result<(Journal, JournalState), JournalError> {
        Journal::open_inner(path, digest, mode, None)
    }

    /// [`Journal::open`] for a plan whose operation ids are `known`: a record naming any other
    /// operation is an error, not an outcome silently kept.
    pub fn open_for_plan(
        path: &Path,
        digest: &str,
        mode: Emit,
        known: &KnownOps,
    ) -> Result<(Journal, JournalState), JournalError> {
        Journal::open_inner(path, digest, mode, Some(known))
    }

    fn open_inner(
        path: &Path,
        digest: &str,
        mode: Emit,
        known: Option<&KnownOps>,
    ) -> Result<(Journal, JournalState), JournalError> {
        let shown = path.display().to_string();
        let io = |action: &'static str| {
            let shown = shown.clone();
            move |e: std::io::Error| JournalError::Io {
                action,
                path: shown,
                reason: e.to_string(),
            }
        };
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(io("open"))?;
        // One run per journal: an exclusive lock held until the file is closed (process exit
        // included), so a crashed run never leaves a stale lock behind.
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError::Busy { path: shown });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock")(e)),
        }
        let existing = read_checked(path, digest, known)?;
        // A torn last line (killed mid-write) is cut off, so the next record starts cleanly.
        let bytes = std::fs::read(path).map_err(io("read"))?;
        if bytes.last().is_some_and(|b| *b != b'\n') {
            let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
            file.set_len(keep as u64).map_err(io("repair"))?;
        }
        file.seek(std::io::SeekFrom::End(0)).map_err(io("read"))?;
        let mut journal = Journal {
            file,
            path: path.to_path_buf(),
        };
        let state = match existing {
            Some(s) if s.runs > 0 => {
                journal.append(&Record::Resume { at: now_rfc3339() })?;
                s
            }
            _ => {
                journal.append(&Record::Start {
                    plan_digest: digest.to_string(),
                    mode,
                    at: now_rfc3339(),
                })?;
                JournalState::default()
            }
        };
        Ok((journal, state))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write one record and make it durable before returning.
    pub fn append(&mut self, rec: &Record) -> Result<(), JournalError> {
        let mut line = String::new();
        self.encode(rec, &mut line)?;
        self.write_durable(&line)
    }

    /// Several outcomes, made durable together (one fsync) before returning: a feed's, all
    /// known at once. A crash in the middle leaves whole lines and at most a torn last one.
    pub fn outcomes<'a>(
        &mut self,
        outcomes: impl IntoIterator<Item = (u32, &'a str, &'a Outcome)>,
    ) -> Result<(), JournalError> {
        let at = now_rfc3339();
        let mut text = String::new();
        for (op, seller_sku, outcome) in outcomes {
            let rec = Record::Outcome {
                op,
                seller_sku: seller_sku.to_string(),
                outcome: outcome.clone(),
                at: at.clone(),
            };
            self.encode(&rec, &mut text)?;
        }
        if text.is_empty() {
            return Ok(());
        }
        self.write_durable(&text)
    }

    /// `rec` as one line, added to `out`.
    fn encode(&self, rec: &Record, out: &mut String) -> Result<(), JournalError> {
        let line = serde_json::to_string(rec).map_err(|e| JournalError::Io {
            action: "encode a record for",
            path: self.path.display().to_string(),
            reason: e.to_string(),
        })?;
        out.push_str(&line);
        out.push('\n');
        Ok(())
    }

    fn write_durable(&mut self, text: &str) -> Result<(), JournalError> {
        let io = |action: &'static str| {
            let shown = self.path.display().to_string();
            move |e: std::io::Error| JournalError::Io {
                action,
                path: shown,
                reason: e.to_string(),
            }
        };
        self.file.write_all(text.as_bytes()).map_err(io("write"))?;
        self.file.flush().map_err(io("flush"))?;
        self.file.sync_data().map_err(io("fsync"))?;
        Ok(())
    }

    pub fn outcome(
        &mut self,
        op: u32,
        seller_sku: &str,
        outcome: &Outcome,
    ) -> Result<(), JournalError> {
        self.append(&Record::Outcome {
            op,
            seller_sku: seller_sku.to_string(),
            outcome: outcome.clone(),
            at: now_rfc3339(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted() -> Outcome {
        Outcome::Accepted {
            submission_id: Some("s1".into()),
            issues: vec![],
        }
    }

    #[test]
    fn records_survive_reopen_and_only_accepted_is_final() {
        let dir = tempfile::tempdir().unwrap();
        let p = path_for(&dir.path().join("plan.json"));
        assert!(p.ends_with("plan.json.journal"));
        {
            let (mut j, s) = Journal::open(&p, "abc", Emit::Patch).unwrap();
            assert_eq!(s, JournalState::default());
            j.outcome(1, "A", &accepted()).unwrap();
            j.outcome(
                2,
                "B",
                &Outcome::Invalid {
                    issues: vec![Issue {
                        severity: "ERROR".into(),
                        code: "1".into(),
                        message: "bad".into(),
                        attributes: vec![],
                    }],
                },
            )
            .unwrap();
            j.outcome(
                3,
                "C",
                &Outcome::Failed {
                    error: "HTTP 500".into(),
                    errors: vec![],
                },
            )
            .unwrap();
            // A late duplicate cannot un-accept op 1.
            j.outcome(
                1,
                "A",
                &Outcome::Failed {
                    error: "x".into(),
                    errors: vec![],
                },
            )
            .unwrap();
        }
        let (_j, s) = Journal::open(&p, "abc", Emit::Patch).unwrap();
        assert_eq!(s.runs, 1);
        assert!(s.is_accepted(1));
        assert!(!s.is_accepted(2));
        assert!(!s.is_accepted(3));
        assert!(!s.is_accepted(4));
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.lines().next().unwrap().contains("\"type\":\"start\""));
        assert!(text.lines().last().unwrap().contains("\"type\":\"resume\""));
    }

    #[test]
    fn torn_last_line_is_ignored_and_healed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.json.journal");
        {
            let (mut j, _) = Journal::open(&p, "abc", Emit::Patch).unwrap();
            j.outcome(1, "A", &accepted()).unwrap();
        }
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"type\":\"outcome\",\"op\":2,\"sku\":\"B\",\"sta")
            .unwrap();
        drop(f);
        let (mut j, s) = Journal::open(&p, "abc", Emit::Patch).unwrap();
        assert!(s.is_accepted(1));
        assert!(!s.is_accepted(2));
        j.outcome(2, "B", &accepted()).unwrap();
        drop(j);
        let s = read(&p, "abc").unwrap().unwrap();
        assert!(s.is_accepted(2));
        assert_eq!(s.runs, 2);
        // A damaged line in the middle is not a torn write: refused, with its number.
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replacen("outcome", "outc", 1);
        std::fs::write(&p, text).unwrap();
        let err = read(&p, "abc").unwrap_err();
        assert!(
            matches!(err, JournalError::Corrupt { line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn other_plan_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.json.journal");
        drop(Journal::open(&p, "abc", Emit::Feed).unwrap());
        let err = Journal::open(&p, "def", Emit::Feed).err().unwrap();
        assert!(matches!(err, JournalError::OtherPlan { .. }));
        assert!(err.to_string().contains("another plan"));
    }

    #[test]
    fn a_second_run_of_the_same_plan_is_refused_while_the_first_holds_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.json.journal");
        let (first, _) = Journal::open(&p, "abc", Emit::Patch).unwrap();
        let err = Journal::open(&p, "abc", Emit::Patch).err().unwrap();
        assert!(matches!(err, JournalError::Busy { .. }), "{err}");
        assert!(err.help().contains("wait for the other run"));
        drop(first);
        assert!(Journal::open(&p, "abc", Emit::Patch).is_ok());
    }

    /// A feed's outcomes written together read back as the same records, one a line.
    #[test]
    fn outcomes_written_together_are_read_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.json.journal");
        let invalid = Outcome::Invalid { issues: vec![] };
        {
            let (mut j, _) = Journal::open(&p, "abc", Emit::Feed).unwrap();
            j.outcomes([
                (1, "A", &accepted()),
                (2, "B", &invalid),
                (3, "C", &accepted()),
            ])
            .unwrap();
            // Nothing to write: nothing written.
            j.outcomes([]).unwrap();
        }
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        let state = read(&p, "abc").unwrap().unwrap();
        assert_eq!(state.accepted, [1, 3].into());
    }

    /// Runs of consecutive ids, pushed in any order, hold exactly the ids pushed.
    #[test]
    fn known_operations_are_exactly_the_ids_pushed() {
        let ids = [7u32, 1, 2, 3, 9, 8, 5, u32::MAX, 4, 3];
        let known: KnownOps = ids.into_iter().collect();
        for id in 0..=12 {
            assert_eq!(known.contains(id), ids.contains(&id), "{id}");
        }
        assert!(known.contains(u32::MAX));
        assert!(!known.contains(u32::MAX - 1));
        // 1..=5 and 7..=9 merged into two runs, and the last id alone.
        assert_eq!(known.runs, [(1, 5), (7, 9), (u32::MAX, u32::MAX)]);
        // A plan allot makes: one run, however many operations.
        let plan: KnownOps = (1..=1_000_000).collect();
        assert_eq!(plan.runs.len(), 1);
        assert!(plan.contains(1) && plan.contains(1_000_000) && !plan.contains(0));
        assert!(!KnownOps::default().finish().contains(0));
    }

    #[test]
    fn an_outcome_for_an_unknown_operation_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.json.journal");
        let known: KnownOps = [1, 2].into_iter().collect();
        {
            let (mut j, _) = Journal::open_for_plan(&p, "abc", Emit::Patch, &known).unwrap();
            j.outcome(2, "B", &accepted()).unwrap();
            // Written by hand or by another plan with the same digest: op 7 is not this plan's.
            j.outcome(7, "X", &accepted()).unwrap();
        }
        let err = Journal::open_for_plan(&p, "abc", Emit::Patch, &known)
            .err()
            .unwrap();
        assert!(
            matches!(err, JournalError::UnknownOperation { op: 7, line: 3, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("operation 7"), "{err}");
        assert!(err.help().contains("another plan"));
        // Feed records are checked too.
        let p2 = dir.path().join("feed.journal");
        {
            let (mut j, _) = Journal::open_for_plan(&p2, "abc", Emit::Feed, &known).unwrap();
            j.append(&Record::FeedSubmitted {
                doc: 0,
                feed_id: "f".into(),
                operation_ids: vec![1, 9],
            })
            .unwrap();
        }
        let err = Journal::open_for_plan(&p2, "abc", Emit::Feed, &known)
            .err()
            .unwrap();
        assert!(
            matches!(err, JournalError::UnknownOperation { op: 9, .. }),
            "{err}"
        );
    }

    #[test]
    fn feed_progress() {
        let mut s = JournalState::default();
        s.apply(&Record::FeedDocument {
            doc: 0,
            region: Region::EU,
            feed_document_id: "d1".into(),
            operation_ids: vec![1, 2],
            at: None,
        });
        assert_eq!(s.feeds[&0].feed_id, None);
        s.apply(&Record::FeedSubmitted {
            doc: 0,
            feed_id: "f1".into(),
            operation_ids: vec![1, 2],
        });
        assert_eq!(s.feeds[&0].feed_id.as_deref(), Some("f1"));
        s.apply(&Record::FeedFinished {
            doc: 0,
            feed_id: "f1".into(),
            processing_status: "DONE".into(),
        });
        assert_eq!(s.feeds[&0].finished.as_deref(), Some("DONE"));
    }
}

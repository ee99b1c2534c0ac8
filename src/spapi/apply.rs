//! The apply engine: sends a plan's operations (as PATCH requests or JSON_LISTINGS_FEED
//! documents) through a [`Client`], journaling every outcome as it happens and skipping what an
//! earlier run already got accepted. The CLI turns a saved plan into jobs and renders the report.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::TryStreamExt;
use indicatif::ProgressBar;

use super::client::Client;
use super::journal::{Journal, JournalError, JournalState, Outcome, Record};
use super::listings;
use super::{Issue, SpApiError, feeds};
use crate::amazon::feeds::{FEED_CONTENT_TYPE, FEED_TYPE, FeedDocument};
use crate::amazon::request::Request;
use crate::marketplaces::Region;
use crate::plan::encode::AssembledDoc;

#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Requests in flight at once (the token buckets pace them).
    pub concurrency: usize,
    /// How long to poll one feed before giving up (a re-run resumes polling it).
    pub poll_timeout: Duration,
    /// PATCH with `mode=VALIDATION_PREVIEW`: nothing is applied, nothing journaled.
    pub validate_only: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 8,
            poll_timeout: Duration::from_secs(2 * 3600),
            validate_only: false,
        }
    }
}

/// One PATCH to send.
#[derive(Clone, Debug)]
pub struct PatchJob {
    pub op_id: u32,
    pub seller_sku: String,
    pub region: Region,
    pub request: Request,
}

/// Stops the whole run: nothing further can succeed (auth) or be recorded (journal).
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    #[error(transparent)]
    Api(#[from] SpApiError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The plan read again to be sent is not the plan verified (the file changed): nothing of
    /// it past that point is sent.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
}

/// Where each operation stands after a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Accepted in an earlier run: not sent again.
    AlreadyAccepted,
    /// Sent in this run, with Amazon's verdict.
    Done(Outcome),
    /// Not sent, or sent without a verdict yet (feed still processing, run stopped).
    Pending(String),
}

#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Every operation id of the plan, with its standing and seller SKU.
    pub operations: BTreeMap<u32, (String, Standing)>,
    /// Feed-level issues and notes (issues without a messageId, feeds still in progress).
    pub notes: Vec<String>,
    pub retries: u64,
    pub requests: u64,
    /// Why the run stopped early, if it did.
    pub fatal: Option<Fatal>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub accepted: usize,
    pub already_accepted: usize,
    pub valid: usize,
    pub invalid: usize,
    pub failed: usize,
    pub pending: usize,
}

impl Counts {
    fn count(&mut self, standing: &Standing) {
        match standing {
            Standing::AlreadyAccepted => self.already_accepted += 1,
            Standing::Done(Outcome::Accepted { .. }) => self.accepted += 1,
            Standing::Done(Outcome::Valid { .. }) => self.valid += 1,
            Standing::Done(Outcome::Invalid { .. }) => self.invalid += 1,
            Standing::Done(Outcome::Failed { .. }) => self.failed += 1,
            Standing::Pending(_) => self.pending += 1,
        }
    }
}

impl ApplyReport {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for (_, s) in self.operations.values() {
            c.count(s);
        }
        c
    }

    /// Operations Amazon has not accepted yet (invalid, failed or pending).
    pub fn remaining(&self) -> usize {
        let c = self.counts();
        c.invalid + c.failed + c.pending
    }

    /// True when every operation is accepted (or, validating, valid) and nothing stopped the run.
    pub fn all_ok(&self) -> bool {
        self.fatal.is_none() && self.remaining() == 0
    }
}

/// A run's results as they come, operation by operation: every operation counted, and kept
/// only when there is something to print about it (a streamed apply of millions of operations
/// keeps the few that need a line), or every one (`keep_all`: the in-memory API and its tests).
#[derive(Debug, Default)]
pub struct Tally {
    /// The operations kept, the notes, the request counters and the fatal error.
    pub report: ApplyReport,
    pub counts: Counts,
    /// Operations counted.
    pub total: usize,
    keep_all: bool,
}

impl Tally {
    pub fn new(keep_all: bool) -> Self {
        Tally {
            keep_all,
            ..Tally::default()
        }
    }

    pub fn record(&mut self, id: u32, seller_sku: String, standing: Standing) {
        self.counts.count(&standing);
        self.total += 1;
        let quiet = match &standing {
            Standing::AlreadyAccepted => true,
            Standing::Done(Outcome::Valid { issues } | Outcome::Accepted { issues, .. }) => {
                issues.is_empty()
            }
            _ => false,
        };
        if self.keep_all || !quiet {
            self.report.operations.insert(id, (seller_sku, standing));
        }
    }

    /// The report of a run given every operation (id, seller SKU): those never recorded (a
    /// fatal error stopped the run first) are in it as accepted by an earlier run or not sent.
    fn report_of_all(
        mut self,
        every: impl IntoIterator<Item = (u32, String)>,
        accepted: impl Fn(u32) -> bool,
        fatal: Option<Fatal>,
        client: &Client,
    ) -> ApplyReport {
        for (id, seller_sku) in every {
            if !self.report.operations.contains_key(&id) {
                let standing = if accepted(id) {
                    Standing::AlreadyAccepted
                } else {
                    Standing::Pending("not sent".into())
                };
                self.record(id, seller_sku, standing);
            }
        }
        let mut report = self.report;
        report.fatal = fatal;
        report.retries = client.retries();
        report.requests = client.requests();
        report
    }

    /// Operations never sent because the run stopped: counted as pending, not listed.
    pub fn unsent(&mut self, total: usize) {
        let unsent = total.saturating_sub(self.total);
        self.counts.pending += unsent;
        self.total += unsent;
    }
}

fn outcome_of_submission(s: listings::Submission) -> Outcome {
    match s.status.as_str() {
        "ACCEPTED" => Outcome::Accepted {
            submission_id: s.submission_id,
            issues: s.issues,
        },
        "VALID" => Outcome::Valid { issues: s.issues },
        "INVALID" => Outcome::Invalid { issues: s.issues },
        other => Outcome::Invalid {
            issues: vec![Issue {
                severity: "ERROR".into(),
                code: "UnknownStatus".into(),
                message: format!("Amazon answered with status `{other}`; not counted as accepted"),
                attributes: vec![],
            }]
            .into_iter()
            .chain(s.issues)
            .collect(),
        },
    }
}

fn outcome_of_error(e: SpApiError) -> Outcome {
    let errors = match &e {
        SpApiError::Api { errors, .. } => errors.clone(),
        _ => Vec::new(),
    };
    Outcome::Failed {
        error: e.to_string(),
        errors,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned journal lock means a task panicked between records; the file itself is whole.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Patch mode: send every job not yet accepted, `concurrency` at a time within the buckets.
/// `journal` is `None` when validating (nothing is applied, so nothing is journaled). Jobs are
/// taken from `jobs` only as they are sent: made lazily, a plan's requests are never all in
/// memory at once. The report has every job, sent or not.
pub async fn apply_patches(
    client: &Client,
    jobs: impl IntoIterator<Item = PatchJob>,
    journal: Option<(Journal, JournalState)>,
    opts: &ApplyOptions,
    progress: &ProgressBar,
) -> ApplyReport {
    let (journal, state) = match journal {
        Some((j, s)) => (Some(Mutex::new(j)), s),
        None => (None, JournalState::default()),
    };
    let mut jobs = jobs.into_iter();
    progress.set_length(jobs.size_hint().0 as u64);
    let tally = Mutex::new(Tally::new(true));
    // Taken but never answered (a fatal error stopped the run): listed as not sent.
    let taken: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());
    let stream = futures::stream::iter(jobs.by_ref().inspect(|job| {
        lock(&taken).push((job.op_id, job.seller_sku.clone()));
    }));
    let fatal = send_patches(
        client,
        stream,
        journal.as_ref().map(|j| (j, &state)),
        opts,
        progress,
        &tally,
    )
    .await;
    let tally = tally.into_inner().unwrap_or_else(|p| p.into_inner());
    let taken = taken.into_inner().unwrap_or_else(|p| p.into_inner());
    let never = jobs.map(|job| (job.op_id, job.seller_sku));
    tally.report_of_all(
        taken.into_iter().chain(never),
        |id| !opts.validate_only && state.is_accepted(id),
        fatal,
        client,
    )
}

/// [`apply_patches`] on a stream, into `tally`: each job is taken only when a request slot is
/// free, so a plan read from its file is never held. Returns why the run stopped, if it did;
/// jobs in flight then, and never taken, are not in `tally`.
pub async fn send_patches(
    client: &Client,
    jobs: impl futures::Stream<Item = PatchJob>,
    journal: Option<(&Mutex<Journal>, &JournalState)>,
    opts: &ApplyOptions,
    progress: &ProgressBar,
    tally: &Mutex<Tally>,
) -> Option<Fatal> {
    use futures::StreamExt;
    let accepted = |id: u32| !opts.validate_only && journal.is_some_and(|(_, s)| s.is_accepted(id));
    let run = jobs.map(Ok::<_, Fatal>).try_for_each_concurrent(
        opts.concurrency.max(1),
        |job| async move {
            if accepted(job.op_id) {
                lock(tally).record(job.op_id, job.seller_sku, Standing::AlreadyAccepted);
                progress.inc(1);
                return Ok(());
            }
            let outcome = match listings::patch(client, job.region, &job.request).await {
                Ok(s) => outcome_of_submission(s),
                Err(e) if e.is_fatal() => return Err(Fatal::Api(e)),
                Err(e) => outcome_of_error(e),
            };
            if let Some((j, _)) = journal {
                lock(j).outcome(job.op_id, &job.seller_sku, &outcome)?;
            }
            lock(tally).record(job.op_id, job.seller_sku, Standing::Done(outcome));
            progress.inc(1);
            Ok(())
        },
    );
    run.await.err()
}

/// Feed mode: for each plan feed document, submit (or resume) one JSON_LISTINGS_FEED with the
/// messages not yet accepted, wait for it, and map its processing report back to operations.
/// The documents are taken from `jobs` only as they are sent (at most `opts.concurrency` at a
/// time): made lazily (`plan::encode::feed_document`), a plan's documents are never all in
/// memory at once. The report has every operation of `skus`.
pub async fn apply_feeds(
    client: &Client,
    jobs: impl ExactSizeIterator<Item = FeedDocument>,
    skus: &BTreeMap<u32, String>,
    journal: (Journal, JournalState),
    opts: &ApplyOptions,
    progress: &ProgressBar,
) -> ApplyReport {
    let (journal, state) = journal;
    let journal = Mutex::new(journal);
    progress.set_length(jobs.len() as u64);
    let docs = jobs.enumerate().map(|(index, document)| {
        let seller_skus = document
            .operation_ids
            .iter()
            .map(|id| skus.get(id).cloned().unwrap_or_default())
            .collect();
        AssembledDoc {
            index,
            document,
            seller_skus,
        }
    });
    let tally = Mutex::new(Tally::new(true));
    let fatal = send_feeds(
        client,
        futures::stream::iter(docs),
        &journal,
        &state,
        opts,
        progress,
        &tally,
    )
    .await;
    let tally = tally.into_inner().unwrap_or_else(|p| p.into_inner());
    tally.report_of_all(
        skus.iter().map(|(id, sku)| (*id, sku.clone())),
        |id| state.is_accepted(id),
        fatal,
        client,
    )
}

/// [`apply_feeds`] on a stream of documents, into `tally`: each document's operations are
/// recorded when its feed is finished (or given up on for this run). Returns why the run
/// stopped, if it did; the operations of documents in flight then, and never taken, are not
/// in `tally`.
pub async fn send_feeds(
    client: &Client,
    docs: impl futures::Stream<Item = AssembledDoc>,
    journal: &Mutex<Journal>,
    state: &JournalState,
    opts: &ApplyOptions,
    progress: &ProgressBar,
    tally: &Mutex<Tally>,
) -> Option<Fatal> {
    use futures::StreamExt;
    let submitting = Submitting {
        lock: tokio::sync::Mutex::new(()),
        known: Mutex::new(state.known_feed_ids.clone()),
    };
    let submitting = &submitting;
    let run = docs.map(Ok::<_, Fatal>).try_for_each_concurrent(
        opts.concurrency.max(1),
        |doc| async move {
            let AssembledDoc {
                index,
                mut document,
                seller_skus,
            } = doc;
            let ids = std::mem::take(&mut document.operation_ids);
            let sku_of: std::collections::HashMap<u32, &str> = ids
                .iter()
                .copied()
                .zip(seller_skus.iter().map(String::as_str))
                .collect();
            document.operation_ids = ids;
            let r = one_feed(
                client,
                index,
                &mut document,
                &sku_of,
                journal,
                state,
                opts,
                submitting,
            )
            .await;
            progress.inc(1);
            let (mut outcomes, notes): (std::collections::HashMap<u32, Standing>, Vec<String>) =
                match r {
                    Ok((o, n)) => (o.into_iter().collect(), n),
                    Err(e @ Fatal::Journal(_) | e @ Fatal::Plan(_)) => return Err(e),
                    Err(Fatal::Api(e)) if e.is_fatal() => return Err(Fatal::Api(e)),
                    Err(Fatal::Api(e)) => {
                        // This feed could not be finished now; its operations stay pending
                        // (or are re-sent) on the next run.
                        let msg = e.to_string();
                        let o = document
                            .operation_ids
                            .iter()
                            .map(|id| (*id, Standing::Pending(msg.clone())))
                            .collect();
                        (o, vec![format!("feed document {}: {msg}", index + 1)])
                    }
                };
            let mut t = lock(tally);
            t.report.notes.extend(notes);
            for (id, seller_sku) in document.operation_ids.iter().zip(seller_skus) {
                let standing = if state.is_accepted(*id) {
                    Standing::AlreadyAccepted
                } else {
                    outcomes
                        .remove(id)
                        .unwrap_or_else(|| Standing::Pending("not sent".into()))
                };
                t.record(*id, seller_sku, standing);
            }
            Ok(())
        },
    );
    run.await.err()
}

type FeedResult = (Vec<(u32, Standing)>, Vec<String>);

/// What the feeds of one run share: submissions go one at a time (search for an orphan, createFeed,
/// journal), so a feed this run submitted is always journaled, and known, before any search.
pub(crate) struct Submitting {
    lock: tokio::sync::Mutex<()>,
    /// Every feed ID journaled by any run, and those this run submits.
    known: Mutex<std::collections::BTreeSet<String>>,
}

/// How much earlier than the journal's time Amazon's `createdTime` of our feed may be: the two
/// clocks disagree a little.
const FEED_CLOCK_MARGIN: Duration = Duration::from_secs(300);

fn parse_time(t: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
}

/// The feed a lost createFeed made, if getFeeds can tell: a JSON_LISTINGS_FEED of exactly the
/// job's marketplaces, created at or after its document (less [`FEED_CLOCK_MARGIN`]), that no
/// journal record claims. The Feed object does not name its input document, so these are all
/// there is to match on: one candidate is ours; several are refused (an error), never guessed.
async fn find_orphan(
    client: &Client,
    doc: usize,
    job: &FeedDocument,
    document_created: Option<time::OffsetDateTime>,
    submitting: &Submitting,
) -> Result<Option<String>, SpApiError> {
    let since = document_created.map(|t| t - FEED_CLOCK_MARGIN);
    let listed = feeds::list_feeds(client, job.region, &job.marketplace_ids, since).await?;
    let mut want: Vec<&str> = job.marketplace_ids.iter().map(String::as_str).collect();
    want.sort_unstable();
    want.dedup();
    let known = lock(&submitting.known).clone();
    let candidates: Vec<String> = listed
        .into_iter()
        .filter(|f| f.feed_type == FEED_TYPE && !known.contains(&f.feed_id))
        .filter(|f| {
            let mut m: Vec<&str> = f.marketplace_ids.iter().map(String::as_str).collect();
            m.sort_unstable();
            m.dedup();
            m == want
        })
        .filter(|f| match (since, f.created) {
            (Some(since), Some(created)) => created >= since,
            // Without a time on either side the window cannot exclude it.
            _ => true,
        })
        .map(|f| f.feed_id)
        .collect();
    match candidates.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        many => Err(SpApiError::Feed(format!(
            "feed document {}: the answer to createFeed was lost, and getFeeds shows {} \
             JSON_LISTINGS_FEEDs for the same marketplaces since the document was made ({}); \
             Amazon's feeds do not say which document they carry, so allot cannot tell which \
             one is this document's and refuses to submit it a second time. Check them in \
             Seller Central; once they are finished, move the journal away and run apply again",
            doc + 1,
            many.len(),
            many.join(", ")
        ))),
    }
}

#[allow(clippy::too_many_arguments)]
async fn one_feed(
    client: &Client,
    doc: usize,
    job: &mut FeedDocument,
    skus: &std::collections::HashMap<u32, &str>,
    journal: &Mutex<Journal>,
    state: &JournalState,
    opts: &ApplyOptions,
    submitting: &Submitting,
) -> Result<FeedResult, Fatal> {
    let pending: Vec<u32> = job
        .operation_ids
        .iter()
        .copied()
        .filter(|id| !state.is_accepted(*id))
        .collect();
    if pending.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut notes = Vec::new();
    // A feed submitted by an earlier run and not yet finished is polled, never re-submitted.
    let resumed = state
        .feeds
        .get(&doc)
        .filter(|f| f.finished.is_none())
        .and_then(|f| f.feed_id.clone().map(|id| (id, f.operation_ids.clone())));
    // An earlier run made a document but journaled no feed: its createFeed may have been
    // received without an answer. Look for that feed before submitting anything.
    let unanswered = state
        .feeds
        .get(&doc)
        .filter(|f| f.feed_id.is_none() && f.feed_document_id.is_some());
    let adopted = match (&resumed, unanswered) {
        (None, Some(f)) => {
            let _turn = submitting.lock.lock().await;
            let created = f.document_created_at.as_deref().and_then(parse_time);
            match find_orphan(client, doc, job, created, submitting).await? {
                Some(id) => {
                    lock(journal).append(&Record::FeedSubmitted {
                        doc,
                        feed_id: id.clone(),
                        operation_ids: f.operation_ids.clone(),
                    })?;
                    lock(&submitting.known).insert(id.clone());
                    notes.push(format!(
                        "feed document {}: an earlier run got no answer to createFeed; adopted \
                         feed {id}, found with getFeeds",
                        doc + 1
                    ));
                    Some((id, f.operation_ids.clone()))
                }
                None => None,
            }
        }
        _ => None,
    };
    let (feed_id, sent_ids) = match resumed.or(adopted) {
        Some((id, ops)) => {
            if notes.is_empty() {
                notes.push(format!(
                    "feed document {}: resuming feed {id} submitted by an earlier run",
                    doc + 1
                ));
            }
            (id, ops)
        }
        None => {
            // The whole document is serialised as it is (a copy of its messages would double
            // the memory a document takes).
            let bytes = if pending.len() == job.operation_ids.len() {
                serde_json::to_vec(&job.body)
            } else {
                serde_json::to_vec(&feeds::filter_messages(&job.body, &pending))
            };
            let bytes = bytes.map_err(|e| {
                SpApiError::Config(format!("cannot encode feed document {}: {e}", doc + 1))
            })?;
            // Only its bytes are sent: the messages as values (several times their size) are
            // not kept while the feed waits in Amazon's queue, for minutes or hours.
            job.body = serde_json::Value::Null;
            let created = time::OffsetDateTime::now_utc();
            let (doc_id, url) = feeds::create_document(client, job.region).await?;
            lock(journal).append(&Record::FeedDocument {
                doc,
                region: job.region,
                feed_document_id: doc_id.clone(),
                operation_ids: pending.clone(),
                at: created
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok(),
            })?;
            client.upload(&url, FEED_CONTENT_TYPE, bytes).await?;
            let _turn = submitting.lock.lock().await;
            let feed_id =
                submit_once(client, doc, job, &doc_id, created, submitting, &mut notes).await?;
            lock(journal).append(&Record::FeedSubmitted {
                doc,
                feed_id: feed_id.clone(),
                operation_ids: pending.clone(),
            })?;
            lock(&submitting.known).insert(feed_id.clone());
            (feed_id, pending.clone())
        }
    };
    let status =
        feeds::wait_for_feed(client, job.region, &feed_id, opts.poll_timeout, |_| {}).await?;
    let mut done: Vec<(u32, Outcome)> = Vec::new();
    let report = match &status.result_document_id {
        Some(d) => Some(feeds::parse_report(
            &feeds::download_report(client, job.region, d).await?,
        )?),
        None => None,
    };
    // Report texts come from the server: scrubbed like any other server text.
    let report = report.map(|mut r| {
        r.feed_issues = r
            .feed_issues
            .into_iter()
            .map(|i| client.redact_issue(i))
            .collect();
        r.message_issues = r
            .message_issues
            .into_iter()
            .map(|(m, i)| (m, client.redact_issue(i)))
            .collect();
        r
    });
    if let Some(r) = &report {
        for i in &r.feed_issues {
            notes.push(format!("feed {feed_id}: {i}"));
        }
    }
    let unverified = report
        .as_ref()
        .and_then(|r| unprocessed_reason(r, &feed_id, &sent_ids));
    for id in &sent_ids {
        if state.is_accepted(*id) {
            continue;
        }
        let outcome = match (status.processing_status.as_str(), &report) {
            ("DONE", Some(r)) => {
                let issues: Vec<Issue> = r
                    .message_issues
                    .iter()
                    .filter(|(m, _)| m == id)
                    .map(|(_, i)| i.clone())
                    .collect();
                if issues.iter().any(Issue::is_error) {
                    Outcome::Invalid { issues }
                } else if let Some(why) = &unverified {
                    not_processed(r, why, issues)
                } else {
                    Outcome::Accepted {
                        submission_id: Some(feed_id.clone()),
                        issues,
                    }
                }
            }
            ("DONE", None) => Outcome::Failed {
                error: format!("feed {feed_id} is DONE but has no processing report"),
                errors: vec![],
            },
            (s, _) => Outcome::Failed {
                error: format!(
                    "feed {feed_id} ended {s}: Amazon may have applied some, none or all of it; \
                     the next run sends it again (absolute quantities, so that is safe)"
                ),
                errors: vec![],
            },
        };
        done.push((*id, outcome));
    }
    // All of a feed's outcomes made durable at once: one fsync, not one a message (25,000 of
    // them took about ten seconds, in which Ctrl-C could not stop the run). A crash before it
    // loses none: the feed is not journaled finished, so the next run polls it again.
    lock(journal).outcomes(
        done.iter()
            .map(|(id, o)| (*id, skus.get(id).copied().unwrap_or(""), o)),
    )?;
    let outcomes = done
        .into_iter()
        .map(|(id, o)| (id, Standing::Done(o)))
        .collect();
    lock(journal).append(&Record::FeedFinished {
        doc,
        feed_id: feed_id.clone(),
        processing_status: status.processing_status.clone(),
    })?;
    Ok((outcomes, notes))
}

/// createFeed, without ever making a second feed of one document: after a lost answer (or a
/// 5xx) getFeeds is asked for the feed it may have made; one found is adopted, none means
/// Amazon did not take it and createFeed is sent again (a bounded number of times).
async fn submit_once(
    client: &Client,
    doc: usize,
    job: &FeedDocument,
    doc_id: &str,
    created: time::OffsetDateTime,
    submitting: &Submitting,
    notes: &mut Vec<String>,
) -> Result<String, SpApiError> {
    let attempts = client.config().max_retries + 1;
    let mut last = None;
    for _ in 0..attempts {
        match feeds::create_feed(client, job.region, &job.marketplace_ids, doc_id).await {
            Ok(id) => return Ok(id),
            Err(e @ SpApiError::AnswerLost { .. }) => {
                // Give Amazon a moment to list the feed it may have made.
                let pause = Duration::from_secs_f64(2.0 / client.limits().scale());
                tokio::time::sleep(pause).await;
                if let Some(id) = find_orphan(client, doc, job, Some(created), submitting).await? {
                    notes.push(format!(
                        "feed document {}: createFeed got no answer ({e}); adopted feed {id}, \
                         found with getFeeds, instead of submitting it again",
                        doc + 1
                    ));
                    return Ok(id);
                }
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| SpApiError::Feed("createFeed was not attempted".into())))
}

/// Why a DONE report does not vouch for the messages it names no issue for, if it does not:
/// its summary says fewer messages were processed (or accepted) than sent and had no error of
/// their own, or it has a feed-wide error and no summary to say otherwise.
fn unprocessed_reason(r: &feeds::Report, feed_id: &str, sent: &[u32]) -> Option<String> {
    let sent_n = sent.len() as u64;
    let with_errors = sent
        .iter()
        .filter(|id| {
            r.message_issues
                .iter()
                .any(|(m, i)| m == *id && i.is_error())
        })
        .count() as u64;
    let feed_error = r.feed_issues.iter().any(Issue::is_error);
    match (r.messages_processed, r.messages_accepted) {
        (Some(p), _) if p < sent_n => Some(format!(
            "feed {feed_id}: Amazon processed {p} of the {sent_n} messages sent and does not \
             say which"
        )),
        (_, Some(a)) if a < sent_n - with_errors => Some(format!(
            "feed {feed_id}: Amazon accepted {a} of the {sent_n} messages sent, {with_errors} \
             with errors of their own, and does not say which others"
        )),
        (None, None) if feed_error => Some(format!(
            "feed {feed_id}: the report has a feed-wide error and no summary"
        )),
        _ => None,
    }
}

/// The outcome of a message a DONE report does not vouch for: invalid with the feed-wide
/// errors when there are some (Amazon's reason), else failed; either way sent again next run.
fn not_processed(r: &feeds::Report, why: &str, own: Vec<Issue>) -> Outcome {
    let feed_errors: Vec<Issue> = r
        .feed_issues
        .iter()
        .filter(|i| i.is_error())
        .cloned()
        .collect();
    if feed_errors.is_empty() {
        Outcome::Failed {
            error: format!("{why}; not counted as accepted, the next run sends it again"),
            errors: vec![],
        }
    } else {
        Outcome::Invalid {
            issues: feed_errors.into_iter().chain(own).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::Emit;
    use crate::sandbox::{LogEntry, SandboxHandle, SandboxOptions};
    use crate::spapi::fault_stub::{Fault, FaultStub, Seen};
    use crate::spapi::journal;
    use axum::Json;
    use axum::response::IntoResponse;
    use serde_json::{Value, json};

    const DE: &str = "A1PA6795UKMFR9";

    /// The sandbox behind the fault stub (`rule`), its processing reports gzip-compressed, and
    /// a client of it.
    async fn serve(rule: impl Fn(&Seen) -> Fault + Send + Sync + 'static) -> (FaultStub, Client) {
        let options = SandboxOptions {
            gzip_reports: true,
            ..SandboxOptions::default()
        };
        let stub = FaultStub::proxy_with(options, rule).await;
        let client = stub.client(1);
        (stub, client)
    }

    /// The patches of a seller SKU: `BAD`'s are INVALID (a negative quantity), the others set 1.
    fn patches(seller_sku: &str) -> Value {
        let quantity = if seller_sku == "BAD" { -1 } else { 1 };
        json!([{"op": "merge", "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}]}])
    }

    /// `REFUSED` lacks its productType: a 400.
    fn patch_job(id: u32, seller_sku: &str) -> PatchJob {
        let body = if seller_sku == "REFUSED" {
            json!({"patches": patches(seller_sku)})
        } else {
            json!({"productType": "PRODUCT", "patches": patches(seller_sku)})
        };
        PatchJob {
            op_id: id,
            seller_sku: seller_sku.into(),
            region: Region::EU,
            request: Request {
                method: "PATCH".into(),
                path: format!("/listings/2021-08-01/items/S/{seller_sku}"),
                query: vec![("marketplaceIds".into(), DE.into())],
                body,
            },
        }
    }

    /// A feed message for a seller SKU (see [`patches`]).
    fn message(id: u32, seller_sku: &str) -> Value {
        json!({"messageId": id, "sku": seller_sku, "operationType": "PATCH", "productType": "PRODUCT",
               "patches": patches(seller_sku)})
    }

    fn feed_job(messages: &[(u32, &str)]) -> (Vec<FeedDocument>, BTreeMap<u32, String>) {
        let body = json!({"header": {"sellerId": "S", "version": "2.0"},
            "messages": messages.iter().map(|(i, s)| message(*i, s)).collect::<Vec<_>>()});
        let jobs = vec![FeedDocument {
            region: Region::EU,
            marketplace_ids: vec![DE.into()],
            operation_ids: messages.iter().map(|(i, _)| *i).collect(),
            body,
        }];
        let skus = messages.iter().map(|(i, s)| (*i, s.to_string())).collect();
        (jobs, skus)
    }

    /// The sandbox's log entries of one operation.
    fn logged(sb: &SandboxHandle, operation: &str) -> Vec<LogEntry> {
        sb.requests()
            .into_iter()
            .filter(|e| e.operation == operation)
            .collect()
    }

    /// The SKUs patched after the first `from` patches.
    fn patched(sb: &SandboxHandle, from: usize) -> Vec<String> {
        logged(sb, "patchListingsItem")
            .into_iter()
            .skip(from)
            .filter_map(|e| e.seller_sku)
            .collect()
    }

    /// The messages of the last feed created.
    fn last_feed_messages(sb: &SandboxHandle) -> Vec<Value> {
        let feeds = logged(sb, "createFeed");
        let id = feeds.last().and_then(|e| e.feed_id.clone()).unwrap();
        let state = sb.state();
        let doc = &state.documents[&state.feeds[&id].input_feed_document_id];
        let v: Value = serde_json::from_slice(doc.content.as_deref().unwrap()).unwrap();
        v["messages"].as_array().unwrap().clone()
    }

    #[tokio::test]
    async fn patch_mode_journals_and_resumes() {
        let (stub, client) = serve(|_| Fault::Pass).await;
        let sb = stub.sandbox();
        let dir = tempfile::tempdir().unwrap();
        let jpath = journal::path_for(&dir.path().join("plan.json"));
        let jobs = vec![
            patch_job(1, "A"),
            patch_job(2, "BAD"),
            patch_job(3, "REFUSED"),
            patch_job(4, "B"),
        ];
        let opts = ApplyOptions::default();
        let pb = ProgressBar::hidden();
        let j = Journal::open(&jpath, "d", Emit::Patch).unwrap();
        let r = apply_patches(&client, jobs.clone(), Some(j), &opts, &pb).await;
        assert!(r.fatal.is_none());
        let c = r.counts();
        assert_eq!((c.accepted, c.invalid, c.failed), (2, 1, 1));
        assert!(!r.all_ok());
        assert_eq!(r.remaining(), 2);
        let Standing::Done(Outcome::Invalid { issues }) = &r.operations[&2].1 else {
            panic!("{:?}", r.operations[&2])
        };
        assert_eq!(issues[0].attributes, ["fulfillment_availability"]);

        // The second run sends only what was not accepted.
        let before = patched(sb, 0).len();
        let j = Journal::open(&jpath, "d", Emit::Patch).unwrap();
        let r = apply_patches(&client, jobs.clone(), Some(j), &opts, &pb).await;
        let mut sent = patched(sb, before);
        sent.sort();
        assert_eq!(sent, ["BAD", "REFUSED"]);
        assert_eq!(r.counts().already_accepted, 2);

        // Validation sends everything and journals nothing.
        let sent_before = patched(sb, 0).len();
        let before = std::fs::read_to_string(&jpath).unwrap();
        let vopts = ApplyOptions {
            validate_only: true,
            ..ApplyOptions::default()
        };
        apply_patches(&client, jobs, None, &vopts, &pb).await;
        assert_eq!(patched(sb, sent_before).len(), 4);
        assert_eq!(std::fs::read_to_string(&jpath).unwrap(), before);
    }

    /// Patch jobs are taken only as they are sent; a fatal error stops the run, and every job,
    /// taken or not, is in the report (the ones not sent as pending).
    #[tokio::test]
    async fn patch_jobs_are_made_only_as_they_are_sent_and_all_are_reported() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        // How many jobs were made, and how many when C's request arrived.
        let made = Arc::new(AtomicUsize::new(0));
        let at_c = Arc::new(AtomicUsize::new(0));
        let (seen_made, seen_at_c) = (made.clone(), at_c.clone());
        let (_stub, client) = serve(move |s| {
            if s.method == "PATCH" && s.path.ends_with("/C") {
                let _ = seen_at_c.compare_exchange(
                    0,
                    seen_made.load(Ordering::SeqCst),
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                );
                Fault::Reply((axum::http::StatusCode::FORBIDDEN, "{}").into_response())
            } else {
                Fault::Pass
            }
        })
        .await;
        let jobs = ["A", "B", "C", "D", "E"].iter().zip(1..).map(|(sku, id)| {
            made.fetch_add(1, Ordering::SeqCst);
            patch_job(id, sku)
        });
        let opts = ApplyOptions {
            concurrency: 1,
            ..ApplyOptions::default()
        };
        let r = apply_patches(&client, jobs, None, &opts, &ProgressBar::hidden()).await;
        assert!(
            matches!(r.fatal, Some(Fatal::Api(SpApiError::Auth(_)))),
            "{r:?}"
        );
        let c = r.counts();
        assert_eq!((c.accepted, c.pending), (2, 3), "{r:?}");
        assert_eq!(r.operations.len(), 5, "{r:?}");
        assert_eq!(r.operations[&5].0, "E");
        // A, B and C were made as they were sent; D and E only once the run had stopped, to
        // report them.
        assert_eq!(at_c.load(Ordering::SeqCst), 3);
        assert_eq!(made.load(Ordering::SeqCst), 5);
    }

    /// Documents are taken from the iterator only as they are sent (`opts.concurrency` at a
    /// time), so a plan's documents, made lazily, are never all in memory: with one at a time,
    /// document k is made only once the k before it were submitted and finished.
    #[tokio::test]
    async fn feed_documents_are_made_only_as_they_are_sent() {
        let (stub, client) = serve(|_| Fault::Pass).await;
        let sb = stub.sandbox();
        let dir = tempfile::tempdir().unwrap();
        let jpath = journal::path_for(&dir.path().join("plan.json"));
        let docs: Vec<FeedDocument> = [(1, "A"), (2, "B"), (3, "C")]
            .iter()
            .map(|m| feed_job(std::slice::from_ref(m)).0.remove(0))
            .collect();
        let skus: BTreeMap<u32, String> = [(1, "A"), (2, "B"), (3, "C")]
            .map(|(i, s)| (i, s.to_string()))
            .into();
        let made: Mutex<Vec<usize>> = Mutex::default();
        let jobs = docs.into_iter().inspect(|_| {
            let submitted = logged(sb, "createFeed").len();
            lock(&made).push(submitted);
        });
        let opts = ApplyOptions {
            concurrency: 1,
            ..ApplyOptions::default()
        };
        let j = Journal::open(&jpath, "d", Emit::Feed).unwrap();
        let r = apply_feeds(&client, jobs, &skus, j, &opts, &ProgressBar::hidden()).await;
        assert!(r.fatal.is_none(), "{:?}", r.fatal);
        assert_eq!(r.counts().accepted, 3, "{r:?}");
        assert_eq!(*lock(&made), [0, 1, 2]);
    }

    #[tokio::test]
    async fn feed_mode_maps_report_and_resubmits_only_rejected() {
        let (stub, client) = serve(|_| Fault::Pass).await;
        let sb = stub.sandbox();
        let dir = tempfile::tempdir().unwrap();
        let jpath = journal::path_for(&dir.path().join("plan.json"));
        let (jobs, skus) = feed_job(&[(1, "A"), (2, "BAD"), (3, "C")]);
        let opts = ApplyOptions::default();
        let pb = ProgressBar::hidden();
        let j = Journal::open(&jpath, "d", Emit::Feed).unwrap();
        let r = apply_feeds(&client, jobs.clone().into_iter(), &skus, j, &opts, &pb).await;
        assert!(r.fatal.is_none(), "{:?}", r.fatal);
        let c = r.counts();
        assert_eq!((c.accepted, c.invalid), (2, 1), "{r:?}");
        let state = journal::read(&jpath, "d").unwrap().unwrap();
        let first = logged(sb, "createFeed")[0].feed_id.clone();
        assert!(first.is_some());
        assert_eq!(state.feeds[&0].feed_id, first);
        assert_eq!(state.feeds[&0].finished.as_deref(), Some("DONE"));

        // Re-run: one new feed holding only the rejected message.
        let j = Journal::open(&jpath, "d", Emit::Feed).unwrap();
        let r = apply_feeds(&client, jobs.clone().into_iter(), &skus, j, &opts, &pb).await;
        assert_eq!(logged(sb, "createFeed").len(), 2);
        let last = last_feed_messages(sb);
        assert_eq!(last.len(), 1);
        assert_eq!(last[0]["messageId"], 2);
        assert_eq!(r.counts().already_accepted, 2);
    }

    #[tokio::test]
    async fn a_feed_wide_error_is_not_counted_as_accepted() {
        // A DONE feed that processed nothing, with one issue without a messageId: the
        // sandbox's feeds are either processed or FATAL, so the stub serves this report in
        // place of the sandbox's.
        let (stub, client) = serve(|s| {
            if s.method == "GET" && s.path.starts_with("/feeds/2021-06-30/documents/") {
                let id = s.path.rsplit('/').next().unwrap_or_default();
                let url = format!("{}/report", s.base);
                Fault::Reply(Json(json!({"feedDocumentId": id, "url": url})).into_response())
            } else if s.path == "/report" {
                let report = json!({"header": {"sellerId": "S", "version": "2.0", "feedId": "f"},
                    "issues": [{"code": "4000003", "severity": "ERROR",
                                "message": "The seller is not authorised for these marketplaces"}],
                    "summary": {"errors": 1, "warnings": 0, "messagesProcessed": 0,
                                "messagesAccepted": 0, "messagesInvalid": 0}});
                Fault::Reply(report.to_string().into_response())
            } else {
                Fault::Pass
            }
        })
        .await;
        let sb = stub.sandbox();
        let dir = tempfile::tempdir().unwrap();
        let jpath = journal::path_for(&dir.path().join("plan.json"));
        let (jobs, skus) = feed_job(&[(1, "A"), (2, "B"), (3, "C")]);
        let opts = ApplyOptions::default();
        let pb = ProgressBar::hidden();
        let j = Journal::open(&jpath, "d", Emit::Feed).unwrap();
        let r = apply_feeds(&client, jobs.clone().into_iter(), &skus, j, &opts, &pb).await;
        let c = r.counts();
        assert_eq!((c.accepted, c.invalid), (0, 3), "{r:?}");
        assert!(!r.all_ok());
        let Standing::Done(Outcome::Invalid { issues }) = &r.operations[&2].1 else {
            panic!("{:?}", r.operations[&2])
        };
        assert!(issues[0].message.contains("not authorised"), "{issues:?}");
        // Nothing is journaled as accepted: the next run submits all three again.
        let j = Journal::open(&jpath, "d", Emit::Feed).unwrap();
        apply_feeds(&client, jobs.into_iter(), &skus, j, &opts, &pb).await;
        assert_eq!(logged(sb, "createFeed").len(), 2);
        assert_eq!(last_feed_messages(sb).len(), 3);
    }

    #[test]
    fn a_summary_short_of_the_messages_sent_vouches_for_none_without_issues() {
        let issue = |m: &str| Issue {
            severity: "ERROR".into(),
            code: "1".into(),
            message: m.into(),
            attributes: vec![],
        };
        let sent = [1, 2, 3];
        // 2 of 3 processed, no issue at all: which one was dropped is unknown.
        let r = feeds::Report {
            messages_processed: Some(2),
            messages_accepted: Some(2),
            ..feeds::Report::default()
        };
        assert!(
            unprocessed_reason(&r, "f", &sent)
                .unwrap()
                .contains("processed 2 of the 3")
        );
        // All processed, one invalid with its own error: the other two are vouched for.
        let r = feeds::Report {
            message_issues: vec![(2, issue("bad"))],
            messages_processed: Some(3),
            messages_accepted: Some(2),
            messages_invalid: Some(1),
            ..feeds::Report::default()
        };
        assert_eq!(unprocessed_reason(&r, "f", &sent), None);
        // Accepted fewer than the messages without errors.
        let r = feeds::Report {
            messages_processed: Some(3),
            messages_accepted: Some(1),
            ..feeds::Report::default()
        };
        assert!(unprocessed_reason(&r, "f", &sent).is_some());
        // A feed-wide error and no summary: not vouched for; with a full summary: a note only.
        let r = feeds::Report {
            feed_issues: vec![issue("whole feed")],
            ..feeds::Report::default()
        };
        assert!(unprocessed_reason(&r, "f", &sent).is_some());
        assert!(matches!(
            not_processed(&r, "why", vec![]),
            Outcome::Invalid { ref issues } if issues[0].message == "whole feed"
        ));
        let r = feeds::Report {
            feed_issues: vec![issue("whole feed")],
            messages_processed: Some(3),
            messages_accepted: Some(3),
            ..feeds::Report::default()
        };
        assert_eq!(unprocessed_reason(&r, "f", &sent), None);
    }

    #[tokio::test]
    async fn submitted_feed_is_polled_not_resubmitted() {
        let (stub, client) = serve(|_| Fault::Pass).await;
        let sb = stub.sandbox();
        let dir = tempfile::tempdir().unwrap();
        let jpath = journal::path_for(&dir.path().join("plan.json"));
        let (jobs, skus) = feed_job(&[(1, "A")]);
        // An earlier run was killed right after createFeed: the feed exists, the journal says
        // it was submitted.
        let (doc, url) = feeds::create_document(&client, Region::EU).await.unwrap();
        let bytes = serde_json::to_vec(&jobs[0].body).unwrap();
        client.upload(&url, FEED_CONTENT_TYPE, bytes).await.unwrap();
        let feed_id = feeds::create_feed(&client, Region::EU, &[DE.into()], &doc)
            .await
            .unwrap();
        {
            let (mut j, _) = Journal::open(&jpath, "d", Emit::Feed).unwrap();
            j.append(&Record::FeedDocument {
                doc: 0,
                region: Region::EU,
                feed_document_id: doc,
                operation_ids: vec![1],
                at: None,
            })
            .unwrap();
            j.append(&Record::FeedSubmitted {
                doc: 0,
                feed_id: feed_id.clone(),
                operation_ids: vec![1],
            })
            .unwrap();
        }
        let j = Journal::open(&jpath, "d", Emit::Feed).unwrap();
        let r = apply_feeds(
            &client,
            jobs.into_iter(),
            &skus,
            j,
            &ApplyOptions::default(),
            &ProgressBar::hidden(),
        )
        .await;
        assert_eq!(logged(sb, "createFeed").len(), 1, "only the earlier run's");
        assert!(r.all_ok(), "{r:?}");
        assert!(r.notes[0].contains(&format!("resuming feed {feed_id}")));
    }
}

//! `allot apply PLAN`: send a saved plan to the SP-API (or a local sandbox), journaling every
//! outcome beside the plan so an interrupted run resumes. See docs/apply.md.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use miette::miette;

use super::{Exit, codes};
use crate::plan::model::Emit;
use crate::spapi::apply::{self as engine, ApplyOptions, ApplyReport, PatchJob, Standing};
use crate::spapi::client::{self, Client, ClientConfig};
use crate::spapi::journal::{self, Journal, JournalState, Outcome};
use crate::spapi::{Credentials, credentials};

/// How to reach and log in to the SP-API: shared by `apply` and `plan --current live`.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Use the variables suffixed `_<NAME>` (LWA_APP_ID_<NAME>, …) or the file's section NAME.
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// JSON or YAML file with lwa_app_id, lwa_client_secret and refresh_token (mode 600).
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// SP-API base URL instead of the region's (e.g. `http://127.0.0.1:8787` for `allot sandbox`).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Login with Amazon token endpoint.
    #[arg(long, value_name = "URL", default_value = client::DEFAULT_LWA_ENDPOINT)]
    pub lwa_endpoint: String,
    /// Retries of a throttled (429), failing (5xx) or unreachable request before giving up on it.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_retries: u32,
    /// Multiply Amazon's published rates: only for a sped-up `allot sandbox` (the value it was
    /// started with); refused above 1 for any endpoint but loopback.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    pub rate_scale: f64,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The saved plan (`allot plan --out plan.json`). Its journal is PLAN.journal.
    pub plan: PathBuf,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    /// Refuse a plan older than this (stock moves): e.g. 30m, 2h, 90s.
    #[arg(long, value_name = "AGE", default_value = "30m", value_parser = parse_duration)]
    pub max_age: Duration,
    /// Apply even if the plan is older than --max-age or its input files changed.
    #[arg(long)]
    pub force: bool,
    /// Ask Amazon to validate each PATCH (VALIDATION_PREVIEW): nothing is applied or journaled.
    #[arg(long)]
    pub validate_only: bool,
    /// Feed mode: how long to wait for Amazon to process a feed (re-running resumes waiting).
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_duration)]
    pub poll_timeout: Duration,
    /// Requests in flight at once (the rate limits pace them anyway).
    #[arg(long, value_name = "N", default_value_t = 8, hide = true)]
    pub concurrency: usize,
}

/// `30m`, `2h`, `90s`, `1h30m`, `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let err = || format!("`{text}` is not a duration; write e.g. 90s, 30m, 2h or 1h30m");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(err());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        if digits == 0 {
            return Err(err());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| err())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" | "min" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => return Err(err()),
        };
        total = total.saturating_add(unit);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// Credentials as the flags say: the file if given, else the environment.
pub fn load_credentials(conn: &ConnectionArgs) -> Result<Credentials, miette::Report> {
    let r = match &conn.credentials {
        Some(p) => credentials::from_file(p, conn.account.as_deref()),
        None => credentials::from_env(conn.account.as_deref(), |k| std::env::var(k).ok()),
    };
    r.map_err(|e| {
        let help = e.help();
        miette!(code = codes::CREDENTIALS, help = help, "{e}")
    })
}

/// A client as the flags say (exit 2 on any error).
pub fn make_client(conn: &ConnectionArgs) -> Result<Client, miette::Report> {
    let config = |e: crate::spapi::SpApiError| {
        miette!(
            code = codes::ENDPOINT,
            help = "give --endpoint and --lwa-endpoint as https:// URLs (http:// only on loopback, for `allot sandbox`)",
            "{e}"
        )
    };
    let endpoint = conn
        .endpoint
        .as_deref()
        .map(client::parse_endpoint)
        .transpose()
        .map_err(config)?;
    let lwa_endpoint = client::parse_endpoint(&conn.lwa_endpoint).map_err(config)?;
    if !(conn.rate_scale.is_finite() && conn.rate_scale > 0.0) {
        return Err(miette!(
            code = codes::ENDPOINT,
            help = "give a number above 0: 1 is Amazon's published rates (the default)",
            "--rate-scale must be a positive number, not {}",
            conn.rate_scale
        ));
    }
    // Faster than Amazon's published rates only makes sense against a local sandbox: against
    // Amazon it would only earn 429s.
    if conn.rate_scale > 1.0 && !endpoint.as_ref().is_some_and(client::is_loopback) {
        return Err(miette!(
            code = codes::ENDPOINT,
            help = "drop --rate-scale for Amazon; it is for a sped-up `allot sandbox` on loopback \
                    (with --endpoint http://127.0.0.1:PORT)",
            "--rate-scale {} would exceed Amazon's published rates",
            conn.rate_scale
        ));
    }
    let creds = load_credentials(conn)?;
    Client::new(
        creds,
        ClientConfig {
            endpoint,
            lwa_endpoint,
            max_retries: conn.max_retries,
            rate_scale: conn.rate_scale,
            ..ClientConfig::default()
        },
    )
    .map_err(config)
}

/// A progress bar on stderr when it is a terminal; hidden otherwise (CI logs, pipes).
pub fn progress_bar(what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_prefix(what.to_string());
    pb
}

/// `allot plan --current live`: first the policies' supply sources (each must exist and be
/// active), then the current listings of every offer's seller SKU, item by item or from All
/// Listings reports as `live` says, with progress on stderr. Err is the exit code, the error
/// already printed.
pub fn fetch_live_current(
    conn: &ConnectionArgs,
    live: &super::plan::LiveArgs,
    policies: &[(
        &crate::render::diagnostics::SourceFile,
        &crate::model::Policy,
    )],
    seller_id: &str,
    wanted: &crate::spapi::live::Wanted,
) -> Result<(crate::model::Current, crate::spapi::live::LiveSource), ExitCode> {
    use crate::spapi::live;
    let fail = |r: miette::Report| super::fail(r, Exit::Failed);
    let client = make_client(conn).map_err(fail)?;
    let rt = runtime().map_err(fail)?;
    let sources_ok = live.skip_source_check
        || rt
            .block_on(super::sources::check_policies(&client, policies))
            .map_err(|e| {
                fail(miette!(
                    code = codes::CURRENT_LIVE,
                    help = "check the credentials, --endpoint and that the app may use the \
                            Supply Sources API; or pass --skip-source-check to plan without \
                            checking the policies' supply_source strings",
                    "cannot check the policies' supply sources: {e}"
                ))
            })?;
    if !sources_ok {
        return Err(fail(miette!(
            code = codes::CURRENT_LIVE,
            help = "fix the locations' supply_source (`allot sources POLICY` lists the seller's \
                    supply sources), then plan again",
            "refusing to plan writes to supply sources the seller does not have, or that are not active"
        )));
    }
    let reads = wanted.reads();
    let by_report = live::by_report(live.live_read, reads);
    eprintln!(
        "reading the current listings live: {}",
        if by_report {
            "one All Listings report per marketplace (Reports API)".to_string()
        } else {
            format!("getListingsItem for each seller SKU, about {reads} reads at 5 a second")
        }
    );
    let pb = progress_bar("reading live listings");
    let report = crate::spapi::reports::ReportOptions {
        reuse_done: live.report_reuse,
        timeout: live.report_timeout,
    };
    let terminal = std::io::stderr().is_terminal();
    let on_event = |line: String| {
        // On a terminal the bar says it; in a CI log each step is a line.
        if terminal {
            pb.set_message(line);
        } else {
            eprintln!("  {line}");
        }
    };
    let r = rt.block_on(live::fetch_current_live(
        &client,
        seller_id,
        wanted,
        live.live_read,
        report,
        &pb,
        &on_event,
    ));
    pb.finish_and_clear();
    r.map_err(|e| {
        let help = match &e {
            // A report not made in time, or that Amazon could not make: nothing to fix here.
            crate::spapi::SpApiError::Feed(_) => {
                "run the same command again later (a report still being made is waited for, not \
                 requested again); or read item by item with --live-read items, or pass a \
                 downloaded All Listings report with --current FILE"
            }
            _ => {
                "check the credentials and --endpoint; or download an All Listings report and \
                 pass it with --current FILE"
            }
        };
        fail(miette!(
            code = codes::CURRENT_LIVE,
            help = help,
            "cannot read the live listings: {e}"
        ))
    })
}

/// The runtime the SP-API commands run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, miette::Report> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| codes::report::runtime("the async runtime", e))
}

pub fn run(args: ApplyArgs) -> ExitCode {
    match runtime() {
        Ok(rt) => rt.block_on(run_async(args)),
        Err(r) => super::fail(r, Exit::Usage),
    }
}

/// What both modes do once the plan is read: refuse a stale plan, then make the client and
/// the options the flags ask for.
fn connect(
    args: &ApplyArgs,
    created_at: &str,
    inputs: &crate::plan::Inputs,
) -> Result<(Client, ApplyOptions), miette::Report> {
    check_fresh(created_at, inputs, args)?;
    let client = make_client(&args.conn)?;
    let opts = ApplyOptions {
        concurrency: args.concurrency.max(1),
        poll_timeout: args.poll_timeout,
        validate_only: args.validate_only,
    };
    Ok((client, opts))
}

/// Both modes, and validation, read the plan twice and never hold it. The first pass verifies
/// the whole file (version, digest, invariants) before anything is sent, keeping 13 bytes an
/// operation: its fingerprint (`plan::verify_pinned`, 8 bytes), and its region and message
/// size, to lay out feed documents (kept for every plan: a file may name its `emit` after its
/// operations; dropped for a plan sent as patches). The second pass reads it again and yields an operation only once it matches
/// the one verified, so a file changed in between stops the run before anything of it is
/// sent. A validation preview saves nothing at Amazon: it keeps no fingerprints, and a file
/// changed in between is refused at its end.
async fn run_async(args: ApplyArgs) -> ExitCode {
    let validating = args.validate_only;
    let mut ids = journal::KnownOps::default();
    let mut sizer = crate::plan::encode::FeedSizer::default();
    let verified = if validating {
        crate::plan::verify(&args.plan, |_| {})
    } else {
        crate::plan::verify_pinned(&args.plan, |op| {
            ids.push(op.id);
            sizer.see(op);
        })
    };
    let verified = match verified {
        Ok(v) => v,
        Err(e) => return super::fail(miette::Report::new(e), Exit::Usage),
    };
    let (client, opts) = match connect(&args, &verified.header.created_at, &verified.header.inputs)
    {
        Ok(c) => c,
        Err(r) => return super::fail(r, Exit::Usage),
    };
    let emit = verified.header.emit;
    let total = usize::try_from(verified.operations).unwrap_or(usize::MAX);
    let mode = match emit {
        _ if validating => "validation preview",
        Emit::Patch => "patch",
        Emit::Feed => "feed",
    };
    let journal_path = journal::path_for(&args.plan);
    let work = async {
        if validating {
            return send_patch_plan(&client, verified, None, &opts).await;
        }
        let opened = Journal::open_for_plan(&journal_path, &verified.digest, emit, &ids.finish())
            .map_err(|e| {
            let help = e.help();
            miette!(code = codes::JOURNAL, help = help, "{e}")
        })?;
        match emit {
            Emit::Patch => {
                drop(sizer);
                send_patch_plan(&client, verified, Some(opened), &opts).await
            }
            Emit::Feed => {
                // Every document is checked (its size, its marketplaces) before any is sent.
                use crate::amazon::feeds::{FEED_MAX_BYTES, FEED_MAX_MESSAGES};
                let header = crate::plan::encode::FeedHeader::of(&verified.header);
                let layout = sizer
                    .finish(header, FEED_MAX_MESSAGES, FEED_MAX_BYTES, |i| {
                        verified.nth(i)
                    })
                    .map_err(miette::Report::new)?;
                send_feed_plan(&client, verified, layout, opened, &opts).await
            }
        }
    };
    // Ctrl-C stops sending; every answer received so far is already in the journal.
    let tally = tokio::select! {
        r = work => match r {
            Ok(t) => t,
            Err(r) => return super::fail(r, Exit::Usage),
        },
        _ = tokio::signal::ctrl_c() => {
            let why = if validating {
                "nothing was sent (a validation preview): run the same command again".to_string()
            } else {
                format!(
                    "every answer received so far is journaled: run `allot apply {}` to resume",
                    args.plan.display()
                )
            };
            return super::fail(codes::report::interrupted(&why), Exit::Failed);
        }
    };
    finish(&tally.report, tally.counts, total, &args, mode)
}

/// Why the reading side of a streamed apply stopped.
enum ReadStop {
    Plan(crate::plan::PlanError),
    /// The sending side stopped first (a fatal error): nothing more is wanted.
    Closed,
}

impl From<crate::plan::PlanError> for ReadStop {
    fn from(e: crate::plan::PlanError) -> Self {
        ReadStop::Plan(e)
    }
}

/// The receiving end of the reading thread's channel, as a stream.
fn received<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|t| (t, rx)) })
}

/// After the sending side: the reading thread's end, the run's fatal error (a plan that
/// changed in between is one), and the operations never sent counted as pending.
async fn settle(
    client: &Client,
    tally: std::sync::Mutex<engine::Tally>,
    fatal: Option<engine::Fatal>,
    reader: tokio::task::JoinHandle<Result<(), ReadStop>>,
    total: usize,
) -> Result<engine::Tally, miette::Report> {
    let mut tally = tally.into_inner().unwrap_or_else(|p| p.into_inner());
    tally.report.fatal = fatal;
    match reader.await {
        Ok(Ok(()) | Err(ReadStop::Closed)) => {}
        Ok(Err(ReadStop::Plan(e))) => {
            if tally.report.fatal.is_none() {
                tally.report.fatal = Some(engine::Fatal::Plan(e));
            }
        }
        Err(e) => return Err(codes::report::internal("the plan reader", e)),
    }
    if tally.report.fatal.is_some() {
        tally.unsent(total);
    }
    tally.report.retries = client.retries();
    tally.report.requests = client.requests();
    Ok(tally)
}

/// Patch mode (and validation): the operations read again one at a time, each request made
/// as it is sent; only the operations worth a line are kept for the report.
async fn send_patch_plan(
    client: &Client,
    verified: crate::plan::VerifiedPlan,
    journal: Option<(Journal, JournalState)>,
    opts: &ApplyOptions,
) -> Result<engine::Tally, miette::Report> {
    /// Requests read ahead of the sending: enough to keep the concurrent requests busy.
    const AHEAD: usize = 256;
    let total = usize::try_from(verified.operations).unwrap_or(usize::MAX);
    let validate_only = opts.validate_only;
    let (tx, rx) = tokio::sync::mpsc::channel::<PatchJob>(AHEAD);
    let reader = tokio::task::spawn_blocking(move || {
        let h = &verified.header;
        verified.for_each(|op| {
            let request = crate::plan::encode::patch_request_for(
                &h.seller_id,
                &h.issue_locale,
                h.patch_op,
                &op,
                validate_only,
            );
            let job = PatchJob {
                op_id: op.id,
                seller_sku: op.seller_sku,
                region: op.region,
                request,
            };
            tx.blocking_send(job).map_err(|_| ReadStop::Closed)
        })
    });
    let pb = progress_bar(if validate_only {
        "validating"
    } else {
        "patching"
    });
    pb.set_length(total as u64);
    let tally = std::sync::Mutex::new(engine::Tally::new(false));
    let (journal, state) = match journal {
        Some((j, s)) => (Some(std::sync::Mutex::new(j)), s),
        None => (None, JournalState::default()),
    };
    let fatal = engine::send_patches(
        client,
        received(rx),
        journal.as_ref().map(|j| (j, &state)),
        opts,
        &pb,
        &tally,
    )
    .await;
    pb.finish_and_clear();
    settle(client, tally, fatal, reader, total).await
}

/// Feed mode: the operations read again one at a time and gathered into the documents laid
/// out in the first pass; each document is sent as soon as its last operation is read.
async fn send_feed_plan(
    client: &Client,
    verified: crate::plan::VerifiedPlan,
    layout: crate::plan::encode::FeedLayout,
    journal: (Journal, JournalState),
    opts: &ApplyOptions,
) -> Result<engine::Tally, miette::Report> {
    use crate::plan::encode::{AssembledDoc, FeedAssembler, FeedHeader};
    let total = usize::try_from(verified.operations).unwrap_or(usize::MAX);
    let documents = layout.docs.len();
    // One document waits while the others are sent: a document's messages as values take
    // tens of megabytes.
    let (tx, rx) = tokio::sync::mpsc::channel::<AssembledDoc>(1);
    let reader = tokio::task::spawn_blocking(move || {
        let changed = || {
            ReadStop::Plan(crate::plan::PlanError::ChangedWhileReading {
                path: verified.path().to_path_buf(),
            })
        };
        let mut docs = FeedAssembler::new(&layout, FeedHeader::of(&verified.header), None);
        verified.for_each(|op| match docs.push(op) {
            Ok(Some(doc)) => tx.blocking_send(doc).map_err(|_| ReadStop::Closed),
            Ok(None) => Ok(()),
            Err(_) => Err(changed()),
        })?;
        docs.finish().map_err(|_| changed())
    });
    let pb = progress_bar("feeds");
    pb.set_length(documents as u64);
    let tally = std::sync::Mutex::new(engine::Tally::new(false));
    let (journal, state) = journal;
    let journal = std::sync::Mutex::new(journal);
    let fatal = engine::send_feeds(client, received(rx), &journal, &state, opts, &pb, &tally).await;
    pb.finish_and_clear();
    settle(client, tally, fatal, reader, total).await
}

/// Prints the report and picks the exit code.
fn finish(
    report: &ApplyReport,
    counts: engine::Counts,
    total: usize,
    args: &ApplyArgs,
    mode: &str,
) -> ExitCode {
    print!(
        "{}",
        render_counted(report, counts, total, &args.plan, mode, args.validate_only)
    );
    match &report.fatal {
        Some(engine::Fatal::Api(e)) => {
            use crate::spapi::SpApiError;
            let (help, code) = match e {
                SpApiError::Auth(_) => (
                    "nothing more was sent; operations already accepted are journaled and will \
                     not be sent again once the credentials are fixed",
                    Exit::Usage,
                ),
                SpApiError::Unreachable(_) => (
                    "nothing more was sent; check --endpoint and the network, then run apply \
                     again: it resumes from the journal",
                    Exit::Failed,
                ),
                SpApiError::LoginUnavailable(_) => (
                    "Login with Amazon did not answer; nothing more was sent. Run apply again \
                     later: it resumes from the journal",
                    Exit::Failed,
                ),
                _ => (
                    "fix the setting and run apply again; it resumes from the journal",
                    Exit::Usage,
                ),
            };
            super::fail(miette!(code = codes::APPLY, help = help, "{e}"), code)
        }
        // The plan's own code: the same fault as in `show`, with what it means for a run that
        // sends.
        Some(engine::Fatal::Plan(e)) => super::fail(
            miette!(
                code = "allot::plan::changed-while-reading",
                help = "nothing more was sent: every operation sent before was the plan's as \
                        verified, and is journaled. Make the plan again with `allot plan --out` \
                        (and move its journal away), or put this plan back and run apply again \
                        to resume",
                "{e}"
            ),
            Exit::Failed,
        ),
        Some(engine::Fatal::Journal(e)) => {
            let help = e.help();
            super::fail(
                miette!(code = codes::JOURNAL, help = help, "{e}"),
                Exit::Failed,
            )
        }
        None if counts.invalid + counts.failed + counts.pending == 0 => ExitCode::from(Exit::Ok),
        None => ExitCode::from(Exit::Failed),
    }
}

/// The per-operation problems, then the summary. Never prints a secret: nothing here holds one.
pub fn render_report(report: &ApplyReport, plan: &Path, mode: &str, validating: bool) -> String {
    render_counted(
        report,
        report.counts(),
        report.operations.len(),
        plan,
        mode,
        validating,
    )
}

/// [`render_report`] with the counts and the number of operations given: a streamed
/// validation keeps only the operations worth a line.
fn render_counted(
    report: &ApplyReport,
    c: engine::Counts,
    total: usize,
    plan: &Path,
    mode: &str,
    validating: bool,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for (id, (sku, standing)) in &report.operations {
        match standing {
            Standing::Done(Outcome::Invalid { issues }) => {
                let _ = writeln!(out, "INVALID  #{id} {sku}");
                for i in issues {
                    let _ = writeln!(out, "         {i}");
                }
            }
            Standing::Done(Outcome::Failed { error, .. }) => {
                let _ = writeln!(out, "FAILED   #{id} {sku}: {error}");
            }
            Standing::Done(Outcome::Accepted { issues, .. } | Outcome::Valid { issues })
                if !issues.is_empty() =>
            {
                let _ = writeln!(out, "WARNING  #{id} {sku}");
                for i in issues {
                    let _ = writeln!(out, "         {i}");
                }
            }
            Standing::Pending(why) if report.fatal.is_none() => {
                let _ = writeln!(out, "PENDING  #{id} {sku}: {why}");
            }
            _ => {}
        }
    }
    for n in &report.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let remaining = c.invalid + c.failed + c.pending;
    let _ = writeln!(out, "{} ({mode} mode): {total} operations", plan.display());
    if validating {
        let _ = writeln!(out, "  valid      {:>6}", c.valid);
    } else {
        let _ = writeln!(
            out,
            "  accepted   {:>6}{}",
            c.accepted + c.already_accepted,
            if c.already_accepted > 0 {
                format!(
                    " ({} by an earlier run, not sent again)",
                    c.already_accepted
                )
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(out, "  invalid    {:>6}", c.invalid);
    let _ = writeln!(out, "  failed     {:>6}", c.failed);
    let _ = writeln!(out, "  retried    {:>6} requests", report.retries);
    let _ = writeln!(out, "  remaining  {:>6}", remaining);
    if validating {
        let _ = writeln!(out, "validation only: nothing was applied");
    } else if remaining > 0 {
        let _ = writeln!(
            out,
            "run `allot apply {}` again to retry what is not accepted (the journal skips the rest)",
            plan.display()
        );
    }
    out
}

/// Refuse a plan that is too old or whose inputs changed, unless `--force`.
fn check_fresh(
    created_at: &str,
    inputs: &crate::plan::Inputs,
    args: &ApplyArgs,
) -> Result<(), miette::Report> {
    if args.force {
        return Ok(());
    }
    crate::plan::check_input_files(inputs).map_err(miette::Report::new)?;
    // Said, not refused: the plan's age is still checked, and refusing would make a plan of
    // piped stock impossible to apply without --force, which skips every check.
    for note in crate::plan::unverifiable(inputs) {
        eprintln!(
            "warning: {note}; apply it only if the inventory has not moved since the plan (the --max-age check still applies)"
        );
    }
    check_age(created_at, args.max_age)
}

/// The plan's age against `--max-age`.
fn check_age(created_at: &str, max_age: Duration) -> Result<(), miette::Report> {
    let created =
        time::OffsetDateTime::parse(created_at, &time::format_description::well_known::Rfc3339)
            .map_err(|_| {
                miette!(
                    code = codes::PLAN_AGE,
                    help = "the plan was edited or written by another tool: make it again with `allot plan --out`",
                    "the plan's created_at `{}` is not an RFC 3339 time",
                    created_at
                )
            })?;
    let age = time::OffsetDateTime::now_utc() - created;
    let max = time::Duration::try_from(max_age).unwrap_or(time::Duration::MAX);
    if age > max {
        return Err(miette!(
            code = codes::PLAN_TOO_OLD,
            help = "stock moves: make a fresh plan with `allot plan --out`, or pass --max-age \
                    (e.g. --max-age 2h) or --force if you are sure",
            "the plan was made {} ago, more than --max-age {}",
            human(age.whole_seconds()),
            human(max_age.as_secs() as i64)
        ));
    }
    Ok(())
}

fn human(secs: i64) -> String {
    if secs >= 3600 {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    } else if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::marketplaces::Region;
    use crate::plan::{self, Operation, Plan, PlanError};
    use crate::spapi::fault_stub::{Fault, FaultStub};

    /// A saved plan of one DEFAULT quantity per (seller SKU, region, quantity), ids from 1.
    fn plan_with(emit: Emit, ops: &[(&str, Region, u64)]) -> Plan {
        let file = plan::InputFile {
            path: "inventory.csv".into(),
            sha256: "0".repeat(64),
        };
        let mut p = Plan {
            format_version: plan::FORMAT_VERSION.into(),
            seller_id: "A1PP0FEH11RW77".into(),
            policy: "test".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            inputs: plan::Inputs {
                more_policies: Vec::new(),
                more_inventory: Vec::new(),
                policy: file.clone(),
                inventory: file,
                current: None,
            },
            emit,
            patch_op: plan::PatchOp::Merge,
            issue_locale: "en_US".into(),
            summary: crate::model::Summary::default(),
            operations: ops
                .iter()
                .zip(1..)
                .map(|(&(sku, region, quantity), id)| Operation {
                    id,
                    seller_sku: sku.into(),
                    region,
                    marketplace_ids: vec![
                        match region {
                            Region::NA => "ATVPDKIKX0DER",
                            Region::EU => "A1PA6795UKMFR9",
                            Region::FE => "A1VC38T7YXB528",
                        }
                        .into(),
                    ],
                    channels: vec![crate::model::ChannelQty::new("DEFAULT", quantity)],
                    previous: None,
                    inventory_sku: sku.into(),
                    rule: "r".into(),
                })
                .collect(),
            locations: Vec::new(),
            digest: String::new(),
        };
        plan::seal(&mut p);
        p
    }

    /// `plan` saved and verified to be sent, then the file replaced by `edited` (a
    /// well-formed plan of its own, digest and all) before it is read again; and the journal,
    /// opened for the verified plan.
    fn verified_then_edited(
        dir: &Path,
        plan: &Plan,
        edited: &Plan,
    ) -> (crate::plan::VerifiedPlan, (Journal, JournalState)) {
        let path = dir.join("plan.json");
        plan::write(plan, &path).unwrap();
        let mut ids = journal::KnownOps::default();
        let verified = plan::verify_pinned(&path, |op| ids.push(op.id)).unwrap();
        plan::write(edited, &path).unwrap();
        let opened = Journal::open_for_plan(
            &journal::path_for(&path),
            &verified.digest,
            plan.emit,
            &ids.finish(),
        )
        .unwrap();
        (verified, opened)
    }

    /// The seller SKUs Amazon (the sandbox) received, as patches or as processed feed messages.
    fn received_skus(stub: &FaultStub, operation: &str) -> Vec<String> {
        let mut skus: Vec<String> = stub
            .sandbox()
            .requests()
            .into_iter()
            .filter(|e| e.operation == operation)
            .filter_map(|e| e.seller_sku)
            .collect();
        skus.sort();
        skus
    }

    /// The feed documents of `plan`, at most `max_messages` a document, laid out as apply does.
    fn layout_of(plan: &Plan, max_messages: usize) -> plan::encode::FeedLayout {
        let mut sizer = plan::encode::FeedSizer::default();
        for op in &plan.operations {
            sizer.see(op);
        }
        let header = plan::encode::FeedHeader::of_plan(plan);
        sizer
            .finish(header, max_messages, 10 << 20, |i| {
                Ok(plan.operations[i].clone())
            })
            .unwrap()
    }

    fn stopped_by_a_changed_plan(tally: &engine::Tally) -> bool {
        matches!(
            tally.report.fatal,
            Some(engine::Fatal::Plan(PlanError::ChangedWhileReading { .. }))
        )
    }

    /// The plan file replaced between the verifying pass and the sending one: the operations
    /// before the first one that differs are sent (they are the plan's as verified), that one
    /// and every one after are not, and the run says why.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_patch_plan_changed_before_it_is_sent_sends_nothing_from_the_change_on() {
        let stub = FaultStub::proxy(|_| Fault::Pass).await;
        let client = stub.client(1);
        let dir = tempfile::tempdir().unwrap();
        let ops = [
            ("A", Region::NA, 1),
            ("B", Region::NA, 2),
            ("C", Region::NA, 3),
        ];
        let plan = plan_with(Emit::Patch, &ops);
        let mut edited = plan.clone();
        edited.operations[1].channels[0].quantity = 9;
        plan::seal(&mut edited);
        let (verified, opened) = verified_then_edited(dir.path(), &plan, &edited);
        let opts = ApplyOptions::default();
        let tally = send_patch_plan(&client, verified, Some(opened), &opts)
            .await
            .unwrap();
        assert!(
            stopped_by_a_changed_plan(&tally),
            "{:?}",
            tally.report.fatal
        );
        assert_eq!(received_skus(&stub, "patchListingsItem"), ["A"]);
        assert_eq!(tally.counts.accepted, 1);
        assert_eq!(tally.counts.pending, 2);
        assert_eq!(tally.total, 3);
        let text = render_counted(
            &tally.report,
            tally.counts,
            tally.total,
            Path::new("plan.json"),
            "patch",
            false,
        );
        assert!(text.contains("remaining       2"), "{text}");
    }

    /// The same in feed mode: a document is sent only once every operation in it was read and
    /// matched; the document holding the changed operation never is. Regions interleaved, so
    /// the North American document is complete before the change is read.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_feed_plan_changed_before_it_is_sent_never_sends_the_changed_document() {
        let stub = FaultStub::proxy(|_| Fault::Pass).await;
        let client = stub.client(1);
        let dir = tempfile::tempdir().unwrap();
        let ops = [
            ("A", Region::EU, 1),
            ("B", Region::NA, 2),
            ("C", Region::EU, 3),
        ];
        let plan = plan_with(Emit::Feed, &ops);
        let mut edited = plan.clone();
        edited.operations[2].channels[0].quantity = 9;
        plan::seal(&mut edited);
        let (verified, opened) = verified_then_edited(dir.path(), &plan, &edited);
        let layout = layout_of(&plan, 25_000);
        let opts = ApplyOptions::default();
        let tally = send_feed_plan(&client, verified, layout, opened, &opts)
            .await
            .unwrap();
        assert!(
            stopped_by_a_changed_plan(&tally),
            "{:?}",
            tally.report.fatal
        );
        assert_eq!(received_skus(&stub, "feedMessage"), ["B"]);
        assert_eq!(tally.counts.accepted, 1);
        assert_eq!(tally.counts.pending, 2);
    }

    /// Unchanged, the streamed feed apply sends every document, regions interleaved, and keeps
    /// nothing for the report but the counts when every operation is accepted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_streamed_feed_plan_sends_every_document_and_keeps_only_counts() {
        let stub = FaultStub::proxy(|_| Fault::Pass).await;
        let client = stub.client(1);
        let dir = tempfile::tempdir().unwrap();
        let ops = [
            ("A", Region::EU, 1),
            ("B", Region::NA, 2),
            ("C", Region::EU, 3),
            ("D", Region::FE, 4),
            ("E", Region::NA, 5),
        ];
        let plan = plan_with(Emit::Feed, &ops);
        let (verified, opened) = verified_then_edited(dir.path(), &plan, &plan);
        // One message a document: five documents, filled out of order.
        let layout = layout_of(&plan, 1);
        assert_eq!(layout.docs.len(), 5);
        let opts = ApplyOptions::default();
        let tally = send_feed_plan(&client, verified, layout, opened, &opts)
            .await
            .unwrap();
        assert!(tally.report.fatal.is_none(), "{:?}", tally.report.fatal);
        assert_eq!(
            received_skus(&stub, "feedMessage"),
            ["A", "B", "C", "D", "E"]
        );
        assert_eq!(tally.counts.accepted, 5);
        assert_eq!(tally.total, 5);
        assert!(tally.report.operations.is_empty());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("3 days").is_err());
    }

    /// `allot::plan-age` cannot be made from outside: the plan reader refuses a `created_at`
    /// that is not an RFC 3339 time (`allot::plan::corrupt`) before apply looks at its age.
    #[test]
    fn plan_age_codes() {
        let code =
            |r: Result<(), miette::Report>| r.err().and_then(|e| e.code().map(|c| c.to_string()));
        let hour = Duration::from_secs(3600);
        assert_eq!(
            code(check_age("yesterday", hour)).as_deref(),
            Some(codes::PLAN_AGE)
        );
        assert_eq!(
            code(check_age("2020-01-01T00:00:00Z", hour)).as_deref(),
            Some(codes::PLAN_TOO_OLD)
        );
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        assert_eq!(code(check_age(&now, hour)), None);
    }
}

//! The local SP-API sandbox (`allot sandbox`), for rehearsal and end-to-end tests.
//!
//! A stateful stand-in for Amazon: Login with Amazon, Listings Items 2021-08-01, Feeds
//! 2021-06-30 (JSON_LISTINGS_FEED), Reports 2021-06-30 (the All Listings report, built from the
//! sandbox's listings) and Supply Sources 2020-07-01, with Amazon's quantity semantics (the
//! shared [`AmazonModel`](crate::amazon::AmazonModel)), rate limits, fault injection,
//! persistence and inspection endpoints. See docs/sandbox.md.
//!
//! - `auth`: LWA tokens; `listings`: Listings Items; `feeds`: Feeds and the document URLs;
//! - `reports`: Reports; `supply_sources`: Supply Sources and their seeding;
//! - `limits`: throttling; `inspect`: `/_sandbox/`; `state`: what is saved; `net`: connections.

// Handlers' helpers return the finished error answer (`Outcome`) as their `Err`: it is large, but
// only on the cold path of a bad request, and boxing it would buy nothing measurable.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot, watch};
// Throttling reads tokio's clock: the same as std's in a run, the test's own when a test pauses
// it (so a paused test's client and sandbox agree on time).
use tokio::time::Instant;

/// A handler helper's `Err(Outcome)` is the handler's answer.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(o) => return o,
        }
    };
}

mod auth;
mod feeds;
mod inspect;
mod limits;
mod listings;
mod net;
mod reports;
mod state;
mod supply_sources;

pub use inspect::{SEED_SHAPE, SeedChannel, SeedListing, SeedRequest};
pub use reports::REPORT_CONTENT_TYPE;
pub use state::{
    Address, Feed, ProcessingStatus, Report, SandboxState, SupplySource, SupplySourceStatus,
};
pub use supply_sources::{SUPPLY_SOURCES_SEED_SHAPE, SeedSupplySource};

use crate::amazon::feeds::{FEED_DOCUMENTS_PATH, FEEDS_PATH};
use crate::amazon::limits::ApiOp;
use crate::amazon::reports::{REPORT_DOCUMENTS_PATH, REPORTS_PATH};
use crate::amazon::request::LISTINGS_ITEMS_PATH;
use crate::amazon::supply_sources::SUPPLY_SOURCES_PATH;
use limits::Limits;
use net::{ConnMeta, KillableListener};

/// How to run a sandbox. The fields are the contract with the apply engineer's tests.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    pub addr: SocketAddr,
    /// Load state from here at start, and save it before answering any request that changed it
    /// (group commit: concurrent requests share a save).
    pub state_file: Option<PathBuf>,
    /// 1.0 = Amazon's published rates; 10.0 = ten times faster (tests). Also shortens feed and
    /// report processing and the JSON_LISTINGS_FEED window by the same factor.
    pub rate_scale: f64,
    /// 0.0..=1.0: fraction of SP-API requests answered 429, 500 or 503 before doing any work.
    pub fail_rate: f64,
    /// Fraction of SP-API requests whose connection is closed without a response.
    pub drop_rate: f64,
    /// Added to every response (SP-API, LWA and document URLs; not the inspection endpoints).
    pub latency: Duration,
    /// Seed for reproducible fault injection.
    pub seed: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_file: None,
            rate_scale: 1.0,
            fail_rate: 0.0,
            drop_rate: 0.0,
            latency: Duration::ZERO,
            seed: 0,
        }
    }
}

/// Options beyond [`SandboxConfig`] (kept apart so the config's fields stay as agreed).
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// A dropped request is applied first, then its connection is closed (the realistic and
    /// harder case: Amazon may have done the work). False: dropped before any work.
    pub drop_after_apply: bool,
    /// How long a feed stays IN_QUEUE, then IN_PROGRESS (each divided by `rate_scale`).
    pub feed_queue_time: Duration,
    pub feed_processing_time: Duration,
    /// How long a report stays IN_QUEUE, then IN_PROGRESS (each divided by `rate_scale`).
    pub report_queue_time: Duration,
    pub report_processing_time: Duration,
    /// Serve feed processing reports and Reports API documents gzip-compressed
    /// (`compressionAlgorithm: GZIP`).
    pub gzip_reports: bool,
    /// Lifetime of issued access tokens (Amazon: 3600 s).
    pub token_ttl: Duration,
    /// How many request-log entries are kept (the oldest go first), so a long run does not
    /// grow without bound. At least 1.
    pub log_limit: usize,
}

/// Default of [`SandboxOptions::log_limit`]: a rehearsal's worth, a few MB at most.
pub const DEFAULT_LOG_LIMIT: usize = 5_000;

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            drop_after_apply: true,
            feed_queue_time: Duration::from_secs(1),
            feed_processing_time: Duration::from_secs(1),
            report_queue_time: Duration::from_secs(1),
            report_processing_time: Duration::from_secs(1),
            gzip_reports: false,
            token_ttl: Duration::from_secs(3600),
            log_limit: DEFAULT_LOG_LIMIT,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the sandbox state file {}: {source}", path.display())]
    ReadState {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the sandbox state file {} is not a valid state: {reason}\n  fix it, or move it away to start from an empty state",
        path.display()
    )]
    CorruptState { path: PathBuf, reason: String },
    #[error("cannot write the sandbox state file {}: {source}", path.display())]
    WriteState {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid sandbox configuration: {0}")]
    InvalidConfig(String),
}

/// A running sandbox. Dropping it leaves the server running until the runtime ends; call
/// [`SandboxHandle::shutdown`] to stop it and save its state.
pub struct SandboxHandle {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    writer: Option<tokio::task::JoinHandle<()>>,
}

impl SandboxHandle {
    /// `http://127.0.0.1:PORT` (no trailing slash): the `--endpoint` for apply.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The LWA token URL: the `--lwa-endpoint` for apply.
    pub fn lwa_url(&self) -> String {
        format!("{}/auth/o2/token", self.base_url())
    }

    /// A copy of the current state (for tests in the same process).
    pub fn state(&self) -> SandboxState {
        self.shared.lock().state.clone()
    }

    /// Script the faults of the next SP-API requests (replacing any script left), as
    /// `PUT /_sandbox/faults` with `next` does.
    pub fn script_faults(&self, next: impl IntoIterator<Item = NextFault>) {
        self.shared.lock().faults.next = next.into_iter().collect();
    }

    /// Create or replace listings, as `PUT /_sandbox/listings` does. The error says which
    /// entry is wrong; nothing is seeded then.
    pub fn seed(&self, req: &SeedRequest) -> Result<usize, String> {
        let n = inspect::apply_seed(&mut self.shared.lock().state, req)?;
        self.shared.mark_dirty();
        Ok(n)
    }

    /// Create or replace supply sources, as `PUT /_sandbox/supply-sources` does. The error says
    /// which entry is wrong; nothing is seeded then.
    pub fn seed_supply_sources(&self, sources: &[SeedSupplySource]) -> Result<usize, String> {
        let n = supply_sources::apply_seed(&mut self.shared.lock().state, sources)?;
        self.shared.mark_dirty();
        Ok(n)
    }

    /// A copy of the request log (its last entries), as `GET /_sandbox/requests` shows it.
    pub fn requests(&self) -> Vec<LogEntry> {
        self.shared.lock().state.log.iter().cloned().collect()
    }

    /// Stop serving, stop feed and report processing and save the state (if a state file was given). A
    /// failure to save is reported on stderr; use [`SandboxHandle::stop`] to get it instead.
    pub async fn shutdown(self) {
        if let Err(e) = self.stop().await {
            eprintln!("allot sandbox: {e}");
        }
    }

    /// Like [`SandboxHandle::shutdown`], returning a failure to save the state.
    pub async fn stop(mut self) -> Result<(), SandboxError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Graceful shutdown waits for open connections; a client holding one open must not
        // keep the sandbox alive forever.
        if tokio::time::timeout(Duration::from_secs(5), &mut self.server)
            .await
            .is_err()
        {
            self.server.abort();
        }
        self.shared
            .stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for t in self.shared.lock().tasks.drain(..) {
            t.abort();
        }
        self.shared.dirty.notify_one();
        if let Some(w) = self.writer.take() {
            let _ = w.await;
        }
        self.shared.save_now()
    }
}

/// Start a sandbox with default [`SandboxOptions`]: binds, then returns at once.
pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
    start_with(config, SandboxOptions::default()).await
}

/// Start a sandbox with extra options.
pub async fn start_with(
    config: SandboxConfig,
    options: SandboxOptions,
) -> Result<SandboxHandle, SandboxError> {
    check_config(&config)?;
    let state = match &config.state_file {
        Some(p) => state::load(p)?,
        None => SandboxState::new(),
    };
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| SandboxError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
        addr: config.addr,
        source,
    })?;
    let faults = Faults {
        fail_rate: config.fail_rate,
        drop_rate: config.drop_rate,
        latency: config.latency,
        drop_after_apply: options.drop_after_apply,
        next: Default::default(),
    };
    let log_limit = options.log_limit.max(1);
    let shared = Arc::new(Shared {
        addr,
        config: config.clone(),
        options,
        inner: Mutex::new(Inner {
            state,
            limits: Limits::new(config.rate_scale),
            rng: fastrand::Rng::with_seed(config.seed),
            faults,
            tasks: Vec::new(),
            log_limit,
        }),
        dirty: Notify::new(),
        stopping: std::sync::atomic::AtomicBool::new(false),
        version: AtomicU64::new(0),
        durable: watch::channel(Durable {
            version: 0,
            ok: true,
        })
        .0,
    });
    feeds::resume_pending(&shared);
    reports::resume_pending(&shared);

    let writer = config.state_file.as_ref().map(|_| {
        let s = shared.clone();
        tokio::spawn(async move { s.writer_loop().await })
    });

    let app = router(shared.clone());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let listener = KillableListener { inner: listener };
        let serve = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<ConnMeta>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop_rx.await;
        });
        if let Err(e) = serve.await {
            eprintln!("allot sandbox: server error: {e}");
        }
    });
    Ok(SandboxHandle {
        addr,
        shared,
        stop: Some(stop_tx),
        server,
        writer,
    })
}

fn check_config(c: &SandboxConfig) -> Result<(), SandboxError> {
    if !(c.rate_scale.is_finite() && c.rate_scale > 0.0) {
        return Err(SandboxError::InvalidConfig(format!(
            "rate_scale must be a positive number, got {}",
            c.rate_scale
        )));
    }
    for (name, v) in [("fail_rate", c.fail_rate), ("drop_rate", c.drop_rate)] {
        if !(0.0..=1.0).contains(&v) {
            return Err(SandboxError::InvalidConfig(format!(
                "{name} must be between 0.0 and 1.0, got {v}"
            )));
        }
    }
    Ok(())
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/auth/o2/token", post(auth::token))
        .route(
            &format!("{LISTINGS_ITEMS_PATH}/{{seller_id}}"),
            get(listings::search),
        )
        .route(
            &format!("{LISTINGS_ITEMS_PATH}/{{seller_id}}/{{sku}}"),
            get(listings::get_item)
                .put(listings::put_item)
                .patch(listings::patch_item)
                .delete(listings::delete_item),
        )
        .route(FEED_DOCUMENTS_PATH, post(feeds::create_document))
        .route(
            &format!("{FEED_DOCUMENTS_PATH}/{{id}}"),
            get(feeds::get_document),
        )
        .route(FEEDS_PATH, post(feeds::create_feed).get(feeds::get_feeds))
        .route(
            &format!("{FEEDS_PATH}/{{id}}"),
            get(feeds::get_feed).delete(feeds::cancel_feed),
        )
        .route(
            REPORTS_PATH,
            post(reports::create_report).get(reports::get_reports),
        )
        .route(
            &format!("{REPORTS_PATH}/{{id}}"),
            get(reports::get_report).delete(reports::cancel_report),
        )
        .route(
            &format!("{REPORT_DOCUMENTS_PATH}/{{id}}"),
            get(reports::get_report_document),
        )
        .route(
            SUPPLY_SOURCES_PATH,
            get(supply_sources::list).post(supply_sources::create),
        )
        .route(
            &format!("{SUPPLY_SOURCES_PATH}/{{id}}"),
            get(supply_sources::get).delete(supply_sources::archive),
        )
        .route(
            &format!("{SUPPLY_SOURCES_PATH}/{{id}}/status"),
            put(supply_sources::update_status),
        )
        .route("/_storage/{id}", put(feeds::upload).get(feeds::download))
        .route("/_sandbox/state", get(inspect::state))
        .route("/_sandbox/requests", get(inspect::requests))
        .route("/_sandbox/reset", post(inspect::reset))
        .route("/_sandbox/listings", put(inspect::seed))
        .route("/_sandbox/supply-sources", put(supply_sources::seed))
        .route(
            "/_sandbox/faults",
            get(inspect::get_faults).put(inspect::set_faults),
        )
        .fallback(not_found)
        .layer(axum::middleware::map_response(ensure_request_id))
        .with_state(shared)
}

/// Every response carries `x-amzn-RequestId`, as Amazon's do (also axum's own 405s).
async fn ensure_request_id(mut r: Response) -> Response {
    if !r.headers().contains_key("x-amzn-RequestId") {
        add_request_id(r.headers_mut());
    }
    r
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    let mut r = error_response(
        StatusCode::NOT_FOUND,
        "NotFound",
        "Resource not found.",
        Some(&format!("the sandbox serves no {method} {}", uri.path())),
    );
    add_request_id(r.headers_mut());
    r
}

/// Fault injection, changeable at run time through `/_sandbox/faults`.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Faults {
    pub fail_rate: f64,
    pub drop_rate: f64,
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Duration,
    pub drop_after_apply: bool,
    /// Scripted faults for the next SP-API requests, used up in order before any random fault.
    #[serde(default)]
    pub next: std::collections::VecDeque<NextFault>,
}

/// One scripted fault (`/_sandbox/faults` `next`), for deterministic retry tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum NextFault {
    #[serde(rename = "429")]
    Throttle,
    #[serde(rename = "500")]
    Internal,
    #[serde(rename = "503")]
    Unavailable,
    /// Apply, then close the connection without an answer.
    #[serde(rename = "drop-after")]
    DropAfter,
    /// Close the connection without doing anything.
    #[serde(rename = "drop-before")]
    DropBefore,
    /// Answer normally (to place a fault later in the sequence).
    #[serde(rename = "pass")]
    Pass,
}

mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// One line of `/_sandbox/requests` (deserializable, for tests reading the endpoint).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct LogEntry {
    pub seq: u64,
    pub time: String,
    pub request_id: String,
    /// `patchListingsItem`, `createFeed`, ... or `feedMessage` for a message of a processed feed.
    pub operation: String,
    pub method: String,
    pub path: String,
    /// The seller SKU of the request or feed message (`sku`, Amazon's word, in the log).
    #[serde(rename = "sku", default, skip_serializing_if = "Option::is_none")]
    pub seller_sku: Option<String>,
    /// The request's `marketplaceIds` (for a feed message: the feed's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marketplace_ids: Vec<String>,
    /// HTTP status sent, or that would have been sent for a request dropped after its work;
    /// 0 when no answer was made (dropped before the work, client gone).
    pub status: u16,
    /// ACCEPTED / INVALID / VALID for submissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_status: Option<String>,
    /// True when this request changed the state (a write, a created feed or document).
    pub applied: bool,
    /// `throttled`, `injected-429`, `injected-500`, `injected-503`, `unauthorized`, or
    /// `client-gone` (the client disconnected during the latency: never handled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// The connection was closed without a response.
    pub dropped: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u64>,
}

pub(crate) struct Inner {
    pub state: SandboxState,
    pub limits: Limits,
    pub rng: fastrand::Rng,
    pub faults: Faults,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
    log_limit: usize,
}

impl Inner {
    pub fn log(&mut self, mut e: LogEntry) {
        let log = &mut self.state.log;
        self.state.log_seq += 1;
        e.seq = self.state.log_seq;
        while log.len() >= self.log_limit {
            log.pop_front();
        }
        log.push_back(e);
    }

    pub fn log_limit(&self) -> usize {
        self.log_limit
    }
}

/// What the state file holds: every change up to `version` (when `ok`).
#[derive(Clone, Copy, Debug)]
struct Durable {
    version: u64,
    ok: bool,
}

/// How long an answer may wait for its save before it is answered 500 instead.
const SAVE_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct Shared {
    pub addr: SocketAddr,
    pub config: SandboxConfig,
    pub options: SandboxOptions,
    inner: Mutex<Inner>,
    dirty: Notify,
    stopping: std::sync::atomic::AtomicBool,
    /// Bumped after each change of the state (the change is made first, under the lock).
    version: AtomicU64,
    /// The last save's coverage; answers wait on it (group commit).
    durable: watch::Sender<Durable>,
}

impl Shared {
    /// The one lock. Work done under it never awaits, so a request is applied whole or not at
    /// all even if the client goes away.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock means a handler panicked mid-update; the state is still the best we
        // have, and refusing every later request would help nobody.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record that the state changed (call after the change, lock released or not) and wake
    /// the writer. Returns the version an answer revealing the change must wait for.
    pub fn mark_dirty(&self) -> u64 {
        let v = self.version.fetch_add(1, Ordering::SeqCst) + 1;
        if self.config.state_file.is_some() {
            self.dirty.notify_one();
        }
        v
    }

    /// The version of the latest change (what an answer may reveal).
    pub fn current_version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    /// Wait until the state file holds every change up to `v`: an answer must never tell a
    /// client about a change a crash could still lose. True at once without a state file;
    /// false if the save failed or took longer than [`SAVE_TIMEOUT`].
    pub async fn persisted(&self, v: u64) -> bool {
        if self.config.state_file.is_none() {
            return true;
        }
        let mut rx = self.durable.subscribe();
        if rx.borrow().version >= v {
            return rx.borrow().ok;
        }
        self.dirty.notify_one();
        match tokio::time::timeout(SAVE_TIMEOUT, rx.wait_for(|d| d.version >= v)).await {
            Ok(Ok(d)) => d.ok,
            _ => false,
        }
    }

    /// Group commit: save whenever something changed. Changes made while a save runs wait for
    /// the next one, so a burst of N writers costs far fewer than N saves.
    async fn writer_loop(self: Arc<Self>) {
        loop {
            self.dirty.notified().await;
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            if self.current_version() <= self.durable.borrow().version {
                continue;
            }
            let s = self.clone();
            let saved = tokio::task::spawn_blocking(move || s.save_snapshot()).await;
            let (version, ok) = match saved {
                Ok((v, Ok(()))) => (v, true),
                Ok((v, Err(e))) => {
                    eprintln!("allot sandbox: {e}");
                    (v, false)
                }
                Err(_) => (self.current_version(), false),
            };
            self.durable.send_replace(Durable { version, ok });
        }
    }

    /// Save the state now; the version it covers comes back even when the save fails.
    fn save_snapshot(&self) -> (u64, Result<(), SandboxError>) {
        let Some(path) = &self.config.state_file else {
            return (self.current_version(), Ok(()));
        };
        // Copy under the lock, encode outside it: requests need not wait for the encoding.
        // The version is read under the same lock: every bump so far is for a change the copy
        // holds (changes are made under the lock before their bump).
        let (state, version) = {
            let inner = self.lock();
            (inner.state.clone(), self.current_version())
        };
        let bytes = match serde_json::to_vec(&state) {
            Ok(b) => b,
            Err(e) => {
                return (
                    version,
                    Err(SandboxError::WriteState {
                        path: path.clone(),
                        source: std::io::Error::other(e),
                    }),
                );
            }
        };
        let r = state::save_bytes(path, &bytes).map_err(|source| SandboxError::WriteState {
            path: path.clone(),
            source,
        });
        (version, r)
    }

    fn save_now(&self) -> Result<(), SandboxError> {
        let (version, r) = self.save_snapshot();
        self.durable.send_replace(Durable {
            version,
            ok: r.is_ok(),
        });
        r
    }

    /// `d` divided by the rate scale (positive: checked at start).
    pub fn scaled(&self, d: Duration) -> Duration {
        d.div_f64(self.config.rate_scale)
    }
}

/// What a handler's work produced.
pub(crate) struct Outcome {
    pub status: StatusCode,
    pub body: Value,
    pub applied: bool,
    pub submission_status: Option<String>,
    pub feed_id: Option<String>,
}

impl Outcome {
    pub fn json(status: StatusCode, body: Value) -> Self {
        Outcome {
            status,
            body,
            applied: false,
            submission_status: None,
            feed_id: None,
        }
    }

    pub fn error(status: StatusCode, code: &str, message: &str, details: Option<&str>) -> Self {
        Outcome::json(status, error_body(code, message, details))
    }

    /// The request changed the sandbox's state (for the request log).
    pub fn applied(mut self) -> Self {
        self.applied = true;
        self
    }

    pub fn invalid_input(message: &str) -> Self {
        Outcome::error(StatusCode::BAD_REQUEST, "InvalidInput", message, None)
    }

    /// A feed, report or document that is not there: `"{what} '{id}' not found."`.
    pub fn not_found(what: &str, id: &str) -> Self {
        Outcome::error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("{what} '{id}' not found."),
            None,
        )
    }
}

/// An incoming SP-API request, taken apart once.
pub(crate) struct Call {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub conn: Option<ConnMeta>,
}

impl Call {
    pub async fn read(req: Request, limit: usize) -> Result<Call, Response> {
        let (parts, body) = req.into_parts();
        let conn = parts
            .extensions
            .get::<ConnectInfo<ConnMeta>>()
            .map(|c| c.0.clone());
        let query = parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
            let mut r = error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "The request is too large.",
                Some(&format!("the sandbox accepts at most {limit} bytes")),
            );
            add_request_id(r.headers_mut());
            r
        })?;
        Ok(Call {
            method: parts.method,
            path: parts.uri.path().to_string(),
            query,
            headers: parts.headers,
            body,
            conn,
        })
    }

    /// The model's `consumes: application/json`: any other Content-Type (or none) is a 415.
    pub fn require_json(&self) -> Result<(), Outcome> {
        let ct = self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media = ct.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/json") {
            return Ok(());
        }
        Err(Outcome::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "The request payload is in an unsupported format.",
            Some(&format!(
                "Content-Type must be application/json, got '{}'",
                if ct.is_empty() { "(none)" } else { ct }
            )),
        ))
    }

    /// All values of a query parameter, comma-separated lists split (Amazon's csv format).
    pub fn list(&self, name: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// A list operation's `nextToken`, decoded: None when the call has none (a first call).
    /// Amazon's models: with `nextToken`, the token is the only parameter (it carries the
    /// first call's page size and filters).
    pub fn next_token<P>(
        &self,
        decode: impl FnOnce(&str) -> Option<P>,
    ) -> Result<Option<P>, Outcome> {
        let Some(t) = self.param("nextToken") else {
            return Ok(None);
        };
        if self.query.len() != 1 {
            return Err(Outcome::invalid_input(
                "'nextToken' must be the only parameter: it carries the page size and filters of the first call.",
            ));
        }
        decode(t)
            .map(Some)
            .ok_or_else(|| Outcome::invalid_input(&format!("Invalid 'nextToken' '{t}'.")))
    }

    /// `pageSize`: 10 when absent, else a whole number from 1 to `max`.
    pub fn page_size(&self, max: usize) -> Result<usize, Outcome> {
        match self.param("pageSize").map(str::parse::<usize>) {
            None => Ok(10),
            Some(Ok(n)) if (1..=max).contains(&n) => Ok(n),
            Some(_) => Err(Outcome::invalid_input(&format!(
                "'pageSize' must be a whole number from 1 to {max}."
            ))),
        }
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The base URL of document URLs: the address this connection arrived on (one of the
    /// sandbox's own, right even when it listens on 0.0.0.0), never the Host header, which a
    /// client or a proxy could set to send uploads elsewhere.
    pub fn base(&self, shared: &Shared) -> String {
        let addr = self
            .conn
            .as_ref()
            .and_then(|c| c.local)
            .filter(|a| !a.ip().is_unspecified())
            .unwrap_or(shared.addr);
        format!("http://{addr}")
    }
}

/// The pipeline every SP-API operation goes through, in Amazon's order: authorization,
/// throttling, then the work. Injected faults come before the work, so a failed request is never
/// applied; a dropped one is applied first when `drop_after_apply` is set.
pub(crate) async fn run_op<F>(
    shared: &Arc<Shared>,
    op: ApiOp,
    req: Request,
    seller_sku: Option<String>,
    work: F,
) -> Response
where
    F: FnOnce(&mut Inner, &Call) -> Outcome,
{
    let call = match Call::read(req, limits::body_limit(op)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let request_id = new_request_id();
    let entry = LogEntry {
        seq: 0,
        time: now_rfc3339(),
        request_id: request_id.clone(),
        operation: op.name().to_string(),
        method: call.method.to_string(),
        path: call.path.clone(),
        seller_sku,
        marketplace_ids: call.list("marketplaceIds"),
        status: 0,
        submission_status: None,
        applied: false,
        fault: None,
        dropped: false,
        feed_id: None,
        message_id: None,
    };
    // If the client goes away during the latency, hyper drops this future: log that it came.
    let mut pending = Pending {
        shared: shared.clone(),
        entry: Some(entry),
    };
    let latency = shared.lock().faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // No await from here on: the request is now handled whole.
    let Some(mut entry) = pending.entry.take() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    drop(pending);

    let (outcome, dropping, rate) = {
        let mut inner = shared.lock();
        // 1. Authorization.
        if let Err(details) = auth::check(&inner.state, &call.headers) {
            entry.status = 403;
            entry.fault = Some("unauthorized".into());
            inner.log(entry);
            return finish(
                Outcome::error(
                    StatusCode::FORBIDDEN,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    Some(details),
                ),
                &request_id,
                None,
            );
        }
        // 2. Throttling.
        if !inner.limits.take(op, Instant::now()) {
            entry.status = 429;
            entry.fault = Some("throttled".into());
            inner.log(entry);
            return finish(quota_exceeded(), &request_id, None);
        }
        let rate = inner.limits.rate(op);
        // 3. Injected faults, before any work: scripted ones first, then random ones.
        let (fail, dropping, drop_after) = match inner.faults.next.pop_front() {
            Some(NextFault::Throttle) => (Some(0), false, false),
            Some(NextFault::Internal) => (Some(1), false, false),
            Some(NextFault::Unavailable) => (Some(2), false, false),
            Some(NextFault::DropAfter) => (None, true, true),
            Some(NextFault::DropBefore) => (None, true, false),
            Some(NextFault::Pass) => (None, false, false),
            None => {
                let f = &inner.faults;
                let (fail_rate, drop_rate, after) = (f.fail_rate, f.drop_rate, f.drop_after_apply);
                if fail_rate > 0.0 && inner.rng.f64() < fail_rate {
                    (Some(inner.rng.u8(0..3)), false, false)
                } else {
                    let dropping = drop_rate > 0.0 && inner.rng.f64() < drop_rate;
                    (None, dropping, after)
                }
            }
        };
        if let Some(kind) = fail {
            let (outcome, name) = match kind {
                0 => (quota_exceeded(), "injected-429"),
                1 => (
                    Outcome::error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalFailure",
                        "We encountered an internal error. Please try again.",
                        None,
                    ),
                    "injected-500",
                ),
                _ => (
                    Outcome::error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "ServiceUnavailable",
                        "Service temporarily unavailable. Please try again.",
                        None,
                    ),
                    "injected-503",
                ),
            };
            entry.status = outcome.status.as_u16();
            entry.fault = Some(name.into());
            inner.log(entry);
            return finish(outcome, &request_id, None);
        }
        if dropping && !drop_after {
            entry.dropped = true;
            inner.log(entry);
            drop(inner);
            return dropped(&call);
        }
        // 4. The work, under the lock.
        let outcome = work(&mut inner, &call);
        entry.status = outcome.status.as_u16();
        if outcome.status == StatusCode::TOO_MANY_REQUESTS {
            // JSON_LISTINGS_FEED's own window, checked in the work.
            entry.fault = Some("throttled".into());
        }
        entry.applied = outcome.applied;
        entry.submission_status = outcome.submission_status.clone();
        entry.feed_id = outcome.feed_id.clone();
        entry.dropped = dropping;
        inner.log(entry);
        (outcome, dropping, rate)
    };
    let version = if outcome.applied {
        shared.mark_dirty()
    } else {
        // A read may show what another request or a feed just changed: wait for that too.
        shared.current_version()
    };
    if dropping {
        return dropped(&call);
    }
    if !shared.persisted(version).await {
        return finish(not_saved(), &request_id, None);
    }
    finish(outcome, &request_id, Some(rate))
}

/// A job Amazon processes in the background (a feed, a report): IN_QUEUE, IN_PROGRESS, then a
/// final status. One kind's jobs, where they are kept, how long each phase lasts and what
/// finishes one.
pub(crate) struct JobKind<J: 'static> {
    pub jobs: fn(&mut SandboxState) -> &mut std::collections::BTreeMap<String, J>,
    pub status: fn(&J) -> ProcessingStatus,
    /// IN_QUEUE → IN_PROGRESS at the given time.
    pub start: fn(&mut J, String),
    pub queue_time: fn(&SandboxOptions) -> Duration,
    pub processing_time: fn(&SandboxOptions) -> Duration,
    /// The work at the end (under the lock), `gzip` as the sandbox was told.
    pub finish: fn(&mut Inner, &str, bool),
}

/// Moves one job through its phases in the background. A job that left IN_QUEUE meanwhile
/// (cancelled) or disappeared is left alone.
pub(crate) fn spawn_job<J: Send>(
    inner: &mut Inner,
    shared: &Arc<Shared>,
    kind: &'static JobKind<J>,
    id: String,
    queued: bool,
) {
    let task = tokio::spawn(process_job(shared.clone(), kind, id, queued));
    inner.tasks.retain(|t| !t.is_finished());
    inner.tasks.push(task);
}

async fn process_job<J: Send>(
    shared: Arc<Shared>,
    kind: &'static JobKind<J>,
    id: String,
    queued: bool,
) {
    if queued {
        tokio::time::sleep(shared.scaled((kind.queue_time)(&shared.options))).await;
        {
            let mut inner = shared.lock();
            match (kind.jobs)(&mut inner.state).get_mut(&id) {
                Some(j) if (kind.status)(j) == ProcessingStatus::InQueue => {
                    (kind.start)(j, now_rfc3339());
                }
                _ => return,
            }
        }
        shared.mark_dirty();
    }
    tokio::time::sleep(shared.scaled((kind.processing_time)(&shared.options))).await;
    {
        let mut inner = shared.lock();
        (kind.finish)(&mut inner, &id, shared.options.gzip_reports);
    }
    shared.mark_dirty();
}

/// Restart the jobs of one kind left unfinished by a previous run (a state file).
pub(crate) fn resume_jobs<J: Send>(shared: &Arc<Shared>, kind: &'static JobKind<J>) {
    let mut inner = shared.lock();
    let pending: Vec<(String, bool)> = (kind.jobs)(&mut inner.state)
        .iter()
        .filter(|(_, j)| !(kind.status)(j).is_final())
        .map(|(id, j)| (id.clone(), (kind.status)(j) == ProcessingStatus::InQueue))
        .collect();
    for (id, queued) in pending {
        spawn_job(&mut inner, shared, kind, id, queued);
    }
}

/// A getFeeds or getReports `nextToken`: the query (filters, page size, offset) as hex JSON
/// behind the operation's prefix, so that later pages need nothing kept in the sandbox.
pub(crate) fn encode_token<Q: Serialize>(prefix: &str, query: &Q) -> String {
    format!(
        "{prefix}{}",
        hex::encode(serde_json::to_vec(query).unwrap_or_default())
    )
}

pub(crate) fn decode_token<Q: serde::de::DeserializeOwned>(prefix: &str, token: &str) -> Option<Q> {
    let bytes = hex::decode(token.strip_prefix(prefix)?).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// One page of jobs (feeds, reports) under `key`, newest first (IDs grow with time), with the
/// `nextToken` that `next` makes from the next page's offset when more follow.
pub(crate) fn newest_first_page<J>(
    key: &str,
    mut jobs: Vec<&J>,
    id: impl Fn(&J) -> &String,
    (offset, page_size): (usize, usize),
    to_json: impl Fn(&J) -> Value,
    next: impl FnOnce(usize) -> String,
) -> Value {
    jobs.sort_by_key(|j| std::cmp::Reverse((id(j).len(), id(j).clone())));
    let page: Vec<Value> = jobs
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|j| to_json(j))
        .collect();
    let mut body = serde_json::Map::new();
    body.insert(key.to_string(), Value::Array(page));
    // A token's offset is the client's to send: never overflow on it.
    if offset.saturating_add(page_size) < jobs.len() {
        body.insert("nextToken".into(), json!(next(offset + page_size)));
    }
    Value::Object(body)
}

/// The answer when the state file could not be written: the change may be lost, so the client
/// must not count on it (a retry is harmless: the write is applied again).
pub(crate) fn not_saved() -> Outcome {
    Outcome::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalFailure",
        "We encountered an internal error. Please try again.",
        Some("the sandbox could not save its state file"),
    )
}

/// Logs a request whose client disconnected before it was handled (never applied).
struct Pending {
    shared: Arc<Shared>,
    entry: Option<LogEntry>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(mut e) = self.entry.take() {
            e.fault = Some("client-gone".into());
            self.shared.lock().log(e);
        }
    }
}

fn dropped(call: &Call) -> Response {
    if let Some(c) = &call.conn {
        c.kill();
    }
    // Never reaches the client: the connection fails on the first write.
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

fn quota_exceeded() -> Outcome {
    Outcome::error(
        StatusCode::TOO_MANY_REQUESTS,
        "QuotaExceeded",
        "You exceeded your quota for the requested resource.",
        None,
    )
}

/// Build the response: `x-amzn-RequestId` always, `x-amzn-RateLimit-Limit` on 2xx, 400 and 404
/// only (never on a 429), as Amazon does.
fn finish(outcome: Outcome, request_id: &str, rate: Option<f64>) -> Response {
    let status = outcome.status;
    // A 204 (the Supply Sources API's updates) has no body at all.
    let mut r = if status == StatusCode::NO_CONTENT {
        status.into_response()
    } else {
        (status, axum::Json(outcome.body)).into_response()
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    if let Some(rate) = rate
        && (status.is_success()
            || status == StatusCode::BAD_REQUEST
            || status == StatusCode::NOT_FOUND)
        && let Ok(v) = HeaderValue::from_str(&limits::format_rate(rate))
    {
        h.insert("x-amzn-RateLimit-Limit", v);
    }
    r
}

pub(crate) fn add_request_id(h: &mut HeaderMap) {
    if let Ok(v) = HeaderValue::from_str(&new_request_id()) {
        h.insert("x-amzn-RequestId", v);
    }
}

pub(crate) fn error_body(code: &str, message: &str, details: Option<&str>) -> Value {
    let mut e = json!({ "code": code, "message": message });
    if let Some(d) = details {
        e["details"] = Value::String(d.to_string());
    }
    json!({ "errors": [e] })
}

pub(crate) fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
    details: Option<&str>,
) -> Response {
    (status, axum::Json(error_body(code, message, details))).into_response()
}

/// A response that is not an SP-API operation (LWA, document URLs) with latency applied.
pub(crate) async fn with_latency(shared: &Shared, r: Response) -> Response {
    let latency = shared.lock().faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    r
}

/// A UUID-shaped request ID. Not from the fault RNG, so IDs do not shift the fault sequence.
pub(crate) fn new_request_id() -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..0x1000),
        fastrand::u16(0x8000..0xc000),
        fastrand::u64(..0x1_0000_0000_0000)
    )
}

pub(crate) fn now_rfc3339() -> String {
    fmt_time(time::OffsetDateTime::now_utc())
}

pub(crate) fn fmt_time(t: time::OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

pub(crate) fn body_response(status: StatusCode, content_type: &str, bytes: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    add_request_id(r.headers_mut());
    r
}

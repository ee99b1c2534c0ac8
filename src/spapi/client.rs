//! The HTTP side: endpoints, Login with Amazon, throttling and retries. Every SP-API call goes
//! through [`Client::call`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use super::credentials::Credentials;
use super::ratelimit::Limits;
use super::secret::{Secret, scrub};
use super::{ApiErrorItem, SpApiError};
use crate::amazon::limits::ApiOp;
use crate::marketplaces::Region;

pub const DEFAULT_LWA_ENDPOINT: &str = "https://api.amazon.com/auth/o2/token";
/// Uploads and downloads of feed documents (up to 10 MiB).
const DOCUMENT_TIMEOUT: Duration = Duration::from_secs(300);
pub const USER_AGENT: &str = concat!("allot/", env!("CARGO_PKG_VERSION"), " (Language=Rust)");

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Overrides every region's SP-API host (e.g. a local sandbox).
    pub endpoint: Option<Url>,
    pub lwa_endpoint: Url,
    /// Retries of a 429, 5xx or connection error before giving up on a request.
    pub max_retries: u32,
    /// Multiplies Amazon's published rates (and divides backoff delays); 1.0 for Amazon.
    pub rate_scale: f64,
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            endpoint: None,
            // A constant that parses; covered by a test.
            lwa_endpoint: Url::parse(DEFAULT_LWA_ENDPOINT).expect("constant URL"),
            max_retries: 5,
            rate_scale: 1.0,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Parse an endpoint given by the user: https anywhere, plain http only on loopback.
pub fn parse_endpoint(text: &str) -> Result<Url, SpApiError> {
    let url =
        Url::parse(text).map_err(|e| SpApiError::Config(format!("`{text}` is not a URL: {e}")))?;
    check_endpoint(&url)?;
    Ok(url)
}

/// Refuse anything but https, except http to a loopback host (a local sandbox).
pub fn check_endpoint(url: &Url) -> Result<(), SpApiError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(SpApiError::Config(format!(
            "refusing plain http to {}: credentials and tokens would travel unencrypted; \
             use https (plain http is allowed only to 127.0.0.1, ::1 or localhost)",
            url.host_str().unwrap_or("?")
        ))),
        other => Err(SpApiError::Config(format!(
            "unsupported URL scheme `{other}` (use https)"
        ))),
    }
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A URL for messages: presigned URLs carry signatures in the query, so it is dropped.
pub fn display_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// How long a token from LWA is used: `expires_in` minus a minute (half of it when shorter than
/// two minutes), so no request leaves with a token about to expire.
fn refresh_after(expires_in: u64) -> Duration {
    let margin = if expires_in > 120 { 60 } else { expires_in / 2 };
    Duration::from_secs(expires_in.saturating_sub(margin))
}

/// The first login failure, replayed to every later call.
#[derive(Clone, Debug)]
enum LoginFailure {
    Refused(String),
    Unavailable(String),
    Unreachable(String),
}

impl LoginFailure {
    fn to_error(&self) -> SpApiError {
        match self {
            LoginFailure::Refused(m) => SpApiError::Auth(m.clone()),
            LoginFailure::Unavailable(m) => SpApiError::LoginUnavailable(m.clone()),
            LoginFailure::Unreachable(m) => SpApiError::Unreachable(m.clone()),
        }
    }
}

impl SpApiError {
    fn login_failure(&self) -> LoginFailure {
        match self {
            SpApiError::LoginUnavailable(m) => LoginFailure::Unavailable(m.clone()),
            SpApiError::Auth(m) => LoginFailure::Refused(m.clone()),
            SpApiError::Unreachable(m) => LoginFailure::Unreachable(m.clone()),
            other => LoginFailure::Unavailable(other.to_string()),
        }
    }
}

struct CachedToken {
    token: Secret,
    /// Refresh after this instant (expires_in minus a margin).
    refresh_at: Instant,
}

/// An exchange that got no HTTP answer; `maybe_sent` is false only when the connection was
/// never made (the request cannot have reached the server).
struct NoAnswer {
    reason: String,
    maybe_sent: bool,
}

/// The outcome of one HTTP exchange, before retry decisions.
struct Exchange {
    status: StatusCode,
    body: Vec<u8>,
    rate_limit: Option<f64>,
    request_id: Option<String>,
    content_type: Option<String>,
}

pub struct Client {
    http: reqwest::Client,
    cfg: ClientConfig,
    creds: Credentials,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    limits: Limits,
    retries: AtomicU64,
    requests: AtomicU64,
    /// Set by the first authentication failure: every later call fails at once with it, so
    /// concurrent tasks do not each go back to LWA (one error, not a storm).
    auth_failed: std::sync::Mutex<Option<LoginFailure>>,
    /// SP-API attempts in a row (across tasks) that got no HTTP answer at all.
    silent_in_a_row: std::sync::atomic::AtomicU32,
}

impl Client {
    pub fn new(creds: Credentials, cfg: ClientConfig) -> Result<Client, SpApiError> {
        if let Some(e) = &cfg.endpoint {
            check_endpoint(e)?;
        }
        check_endpoint(&cfg.lwa_endpoint)?;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            .build()
            .map_err(|e| SpApiError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            limits: Limits::new(cfg.rate_scale),
            cfg,
            creds,
            token: tokio::sync::Mutex::new(None),
            retries: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            auth_failed: std::sync::Mutex::new(None),
            silent_in_a_row: std::sync::atomic::AtomicU32::new(0),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Requests retried so far (429, 5xx, connection errors).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// HTTP requests sent so far, LWA included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The SP-API base URL for a region (the override if given), without a trailing slash.
    pub fn base_url(&self, region: Region) -> String {
        match &self.cfg.endpoint {
            Some(u) => u.as_str().trim_end_matches('/').to_string(),
            None => region.endpoint().to_string(),
        }
    }

    /// Scrub anything server-provided before it reaches a message: every credential and the
    /// current access token, in every encoding (see [`scrub`]).
    pub fn redact(&self, text: &str) -> String {
        self.clean(text)
    }

    /// An issue from Amazon (Listings `issues[]`, a processing report) with its texts scrubbed.
    pub fn redact_issue(&self, i: super::Issue) -> super::Issue {
        super::Issue {
            severity: self.clean(&i.severity),
            code: self.clean(&i.code),
            message: self.clean(&i.message),
            attributes: i.attributes.iter().map(|a| self.clean(a)).collect(),
        }
    }

    fn clean(&self, text: &str) -> String {
        let cached = self
            .token
            .try_lock()
            .ok()
            .and_then(|g| g.as_ref().map(|c| c.token.clone()));
        let mut secrets: Vec<&Secret> = self.creds.secrets().to_vec();
        if let Some(t) = &cached {
            secrets.push(t);
        }
        scrub(text, &secrets)
    }

    /// Attempts in a row without any HTTP answer after which the endpoint counts as down: three
    /// requests' worth of retries.
    fn unreachable_threshold(&self) -> u32 {
        3 * (self.cfg.max_retries + 1)
    }

    /// Full-jitter exponential backoff for retry `attempt` (0-based), capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let scale = self.limits.scale();
        let base = 1.0 / scale;
        let cap = 60.0 / scale;
        let ceiling = (base * 2f64.powi(attempt.min(20) as i32)).min(cap);
        Duration::from_secs_f64(fastrand::f64() * ceiling)
    }

    /// A valid access token: the cached one, or a fresh one from LWA. The lock is held during
    /// the exchange so concurrent tasks wait for one refresh instead of each asking.
    pub async fn access_token(&self) -> Result<Secret, SpApiError> {
        let mut guard = self.token.lock().await;
        self.check_auth()?;
        if let Some(c) = guard.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.token.clone());
        }
        let (token, expires_in) = self.exchange_refresh_token().await.map_err(|e| match e {
            SpApiError::Exhausted { .. } => {
                self.remember_auth(SpApiError::LoginUnavailable(e.to_string()))
            }
            e => self.remember_auth(e),
        })?;
        *guard = Some(CachedToken {
            token: token.clone(),
            refresh_at: Instant::now() + refresh_after(expires_in),
        });
        Ok(token)
    }

    fn check_auth(&self) -> Result<(), SpApiError> {
        match self
            .auth_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            Some(e) => Err(e.to_error()),
            None => Ok(()),
        }
    }

    fn remember_auth(&self, e: SpApiError) -> SpApiError {
        if matches!(
            e,
            SpApiError::Auth(_) | SpApiError::LoginUnavailable(_) | SpApiError::Unreachable(_)
        ) {
            let mut g = self.auth_failed.lock().unwrap_or_else(|p| p.into_inner());
            g.get_or_insert_with(|| e.login_failure());
        }
        e
    }

    async fn invalidate_token(&self) {
        *self.token.lock().await = None;
    }

    async fn exchange_refresh_token(&self) -> Result<(Secret, u64), SpApiError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", self.creds.refresh_token.expose()),
            ("client_id", self.creds.client_id.expose()),
            ("client_secret", self.creds.client_secret.expose()),
        ];
        let mut attempt = 0;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let sent = self
                .http
                .post(self.cfg.lwa_endpoint.clone())
                .form(&form)
                .send()
                .await;
            let retry_reason = match sent {
                Err(e) => format!("Login with Amazon unreachable: {}", e.without_url()),
                Ok(resp) => {
                    let status = resp.status();
                    let body = resp.bytes().await.unwrap_or_default();
                    if status.is_success() {
                        return self.parse_token(&body);
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                        format!("Login with Amazon answered HTTP {}", status.as_u16())
                    } else {
                        return Err(SpApiError::Auth(self.lwa_refusal(status, &body)));
                    }
                }
            };
            if attempt >= self.cfg.max_retries {
                return Err(SpApiError::Exhausted {
                    op: "Login with Amazon",
                    attempts: attempt + 1,
                    last: retry_reason,
                });
            }
            self.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(self.backoff(attempt)).await;
            attempt += 1;
        }
    }

    fn parse_token(&self, body: &[u8]) -> Result<(Secret, u64), SpApiError> {
        let v: Value = serde_json::from_slice(body).map_err(|_| SpApiError::Decode {
            op: "Login with Amazon",
            reason: "the token response is not JSON".into(),
        })?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| SpApiError::Decode {
                op: "Login with Amazon",
                reason: "the token response has no access_token".into(),
            })?;
        let expires_in = v.get("expires_in").and_then(Value::as_u64).unwrap_or(3600);
        Ok((Secret::new(token), expires_in))
    }

    fn lwa_refusal(&self, status: StatusCode, body: &[u8]) -> String {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let code = v.get("error").and_then(Value::as_str).unwrap_or("");
        let desc = v
            .get("error_description")
            .and_then(Value::as_str)
            .unwrap_or("");
        let detail = match (code.is_empty(), desc.is_empty()) {
            (true, true) => String::new(),
            (false, true) => format!(" ({code})"),
            (true, false) => format!(" ({desc})"),
            (false, false) => format!(" ({code}: {desc})"),
        };
        self.clean(&format!(
            "Login with Amazon refused the credentials with HTTP {}{detail}; check LWA_APP_ID, \
             LWA_CLIENT_SECRET and SP_API_REFRESH_TOKEN (or the --credentials file) and that the \
             app is still authorised by the seller",
            status.as_u16()
        ))
    }

    /// One SP-API operation: throttled by `op`'s bucket, authenticated, retried on 429, 5xx
    /// and connection errors. Returns the JSON body of a 2xx (`Null` when empty).
    pub async fn call(
        &self,
        op: ApiOp,
        region: Region,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Value, SpApiError> {
        self.call_inner(op, region, method, path, query, body, true)
            .await
    }

    /// [`Client::call`] for a request that must not be done twice (createFeed): retried only
    /// when it certainly was not done (429, no connection); a lost answer or a 5xx is
    /// [`SpApiError::AnswerLost`], for the caller to find out what Amazon did.
    pub async fn call_not_twice(
        &self,
        op: ApiOp,
        region: Region,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Value, SpApiError> {
        self.call_inner(op, region, method, path, query, body, false)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn call_inner(
        &self,
        op: ApiOp,
        region: Region,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        resend: bool,
    ) -> Result<Value, SpApiError> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| SpApiError::Config(format!("bad HTTP method `{method}`")))?;
        let url = format!("{}{}", self.base_url(region), path);
        let url = Url::parse(&url)
            .map_err(|e| SpApiError::Config(format!("`{url}` is not a URL: {e}")))?;
        // WHATWG URL parsing (reqwest's) drops `.`/`..` segments even as `%2E`: a seller SKU
        // `..` would PATCH its seller's collection instead. Never send to another resource.
        if !url.path().ends_with(path) {
            return Err(SpApiError::Unaddressable(format!(
                "{} not sent: the path `{path}` has a `.` or `..` segment, which URL parsers \
                 remove even when percent-encoded, so it would reach `{}`; such a seller SKU \
                 can only be written by a JSON_LISTINGS_FEED (`allot plan --emit feed`)",
                op.name(),
                url.path()
            )));
        }
        let mut attempt = 0;
        let mut refreshed = false;
        loop {
            self.check_auth()?;
            // Log in before taking a rate slot: slots taken while the first login is under way
            // would all be spent at once when it ends, a burst above Amazon's.
            self.access_token().await?;
            self.limits.acquire(op).await;
            // Cached, unless it expired while waiting for the slot.
            let token = self.access_token().await?;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header("x-amz-access-token", token.expose())
                .header("accept", "application/json");
            if !query.is_empty() {
                req = req.query(query);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let reason = match self.exchange(req).await {
                Err(NoAnswer { reason, maybe_sent }) => {
                    if maybe_sent && !resend {
                        return Err(SpApiError::AnswerLost {
                            op: op.name(),
                            reason,
                        });
                    }
                    let e = reason;
                    // Scattered lost answers are retried per request; a long unbroken run of
                    // them means nobody is there, and the whole run stops.
                    let n = self.silent_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
                    if n >= self.unreachable_threshold() {
                        return Err(self.remember_auth(SpApiError::Unreachable(format!(
                            "{n} requests in a row to {} got no answer (last: {e}); check \
                             --endpoint and the network",
                            self.base_url(region)
                        ))));
                    }
                    e
                }
                Ok(x) => {
                    self.silent_in_a_row.store(0, Ordering::Relaxed);
                    if let Some(rate) = x.rate_limit {
                        self.limits.adapt(op, rate);
                    }
                    let status = x.status;
                    if status.is_success() {
                        if x.body.iter().all(u8::is_ascii_whitespace) {
                            return Ok(Value::Null);
                        }
                        return serde_json::from_slice(&x.body).map_err(|_| SpApiError::Decode {
                            op: op.name(),
                            reason: format!(
                                "HTTP {} with a body that is not JSON",
                                status.as_u16()
                            ),
                        });
                    }
                    let errors = parse_errors(&x.body);
                    if status == StatusCode::FORBIDDEN {
                        if !refreshed {
                            // The cached token may have been revoked early: one fresh try.
                            refreshed = true;
                            self.invalidate_token().await;
                            continue;
                        }
                        return Err(self.remember_auth(SpApiError::Auth(self.clean(&format!(
                            "{} was refused with HTTP 403 even with a fresh access token: {}{}; \
                             check that the seller authorised the app for this region and its roles",
                            op.name(),
                            join(&errors),
                            super::request_id_suffix(&x.request_id)
                        )))));
                    }
                    if status.is_server_error() && !resend {
                        return Err(SpApiError::AnswerLost {
                            op: op.name(),
                            reason: format!(
                                "HTTP {} ({})",
                                status.as_u16(),
                                self.clean(&join(&errors))
                            ),
                        });
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                        format!("HTTP {} ({})", status.as_u16(), self.clean(&join(&errors)))
                    } else {
                        let errors = errors
                            .into_iter()
                            .map(|e| ApiErrorItem {
                                code: self.clean(&e.code),
                                message: self.clean(&e.message),
                                details: e.details.map(|d| self.clean(&d)),
                            })
                            .collect();
                        return Err(SpApiError::Api {
                            op: op.name(),
                            status: status.as_u16(),
                            errors,
                            request_id: x.request_id,
                        });
                    }
                }
            };
            if attempt >= self.cfg.max_retries {
                return Err(SpApiError::Exhausted {
                    op: op.name(),
                    attempts: attempt + 1,
                    last: reason,
                });
            }
            self.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(self.backoff(attempt)).await;
            attempt += 1;
        }
    }

    /// Send and read the whole answer; a transport error comes back as its retry reason.
    async fn exchange(&self, req: reqwest::RequestBuilder) -> Result<Exchange, NoAnswer> {
        let resp = req.send().await.map_err(|e| NoAnswer {
            maybe_sent: !e.is_connect(),
            reason: format!("connection error: {}", e.without_url()),
        })?;
        let status = resp.status();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let rate_limit =
            header("x-amzn-RateLimit-Limit").and_then(|v| v.trim().parse::<f64>().ok());
        let request_id = header("x-amzn-RequestId");
        let content_type = header("content-type");
        let body = resp.bytes().await.map_err(|e| NoAnswer {
            maybe_sent: true,
            reason: format!("connection error while reading: {}", e.without_url()),
        })?;
        Ok(Exchange {
            status,
            body: body.to_vec(),
            rate_limit,
            request_id,
            content_type,
        })
    }

    /// Upload a feed document to its presigned URL (no token, no usage plan), with retries.
    pub async fn upload(
        &self,
        url: &str,
        content_type: &str,
        data: Vec<u8>,
    ) -> Result<(), SpApiError> {
        let url = self.document_url(url)?;
        self.raw_with_retries("feed document upload", || {
            self.http
                .put(url.clone())
                .header("content-type", content_type)
                // A feed document can be 10 MiB: more time than an API call.
                .timeout(DOCUMENT_TIMEOUT)
                .body(data.clone())
        })
        .await
        .map(|_| ())
    }

    /// Download a document (processing report) from its presigned URL, with retries.
    pub async fn download(&self, url: &str) -> Result<Vec<u8>, SpApiError> {
        self.download_typed(url, "feed document download")
            .await
            .map(|(body, _)| body)
    }

    /// Download a document from its presigned URL, with retries: its bytes and the answer's
    /// Content-Type (a report says its charset there). `what` names it in errors.
    pub async fn download_typed(
        &self,
        url: &str,
        what: &'static str,
    ) -> Result<(Vec<u8>, Option<String>), SpApiError> {
        let url = self.document_url(url)?;
        let x = self
            .raw_with_retries(what, || {
                self.http.get(url.clone()).timeout(DOCUMENT_TIMEOUT)
            })
            .await?;
        Ok((x.body, x.content_type))
    }

    fn document_url(&self, url: &str) -> Result<Url, SpApiError> {
        let u = Url::parse(url).map_err(|_| SpApiError::Decode {
            op: "document download",
            reason: "the document URL Amazon returned is not a URL".into(),
        })?;
        check_endpoint(&u)?;
        Ok(u)
    }

    async fn raw_with_retries(
        &self,
        what: &'static str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Exchange, SpApiError> {
        let mut attempt = 0;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let reason = match self.exchange(build()).await {
                Err(e) => e.reason,
                Ok(x) if x.status.is_success() => return Ok(x),
                Ok(x)
                    if x.status == StatusCode::TOO_MANY_REQUESTS || x.status.is_server_error() =>
                {
                    format!("HTTP {}", x.status.as_u16())
                }
                Ok(x) => {
                    return Err(SpApiError::Api {
                        op: what,
                        status: x.status.as_u16(),
                        errors: parse_errors(&x.body),
                        request_id: x.request_id,
                    });
                }
            };
            if attempt >= self.cfg.max_retries {
                return Err(SpApiError::Exhausted {
                    op: what,
                    attempts: attempt + 1,
                    last: reason,
                });
            }
            self.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(self.backoff(attempt)).await;
            attempt += 1;
        }
    }
}

fn join(errors: &[ApiErrorItem]) -> String {
    super::join_errors(errors)
}

/// Amazon's `{"errors": [...]}`, or a short excerpt of whatever came instead.
fn parse_errors(body: &[u8]) -> Vec<ApiErrorItem> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<ApiErrorItem>,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(b) => b.errors,
        Err(_) if body.is_empty() => Vec::new(),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let excerpt: String = text.chars().take(200).collect();
            vec![ApiErrorItem {
                code: "NonJsonBody".into(),
                message: excerpt,
                details: None,
            }]
        }
    }
}

/// The waits between polls of a job Amazon processes (a feed, a report): 2 s, then half as long
/// again each time up to `cap`, all at the client's rate scale.
pub(crate) struct Poll {
    start: Instant,
    interval: Duration,
    cap: Duration,
    timeout: Duration,
}

impl Poll {
    pub(crate) fn new(client: &Client, cap_secs: f64, timeout: Duration) -> Poll {
        let scale = client.limits().scale();
        Poll {
            start: Instant::now(),
            interval: Duration::from_secs_f64(2.0 / scale),
            cap: Duration::from_secs_f64(cap_secs / scale),
            timeout,
        }
    }

    /// Sleeps until the next poll; `Err` with the time polled so far when that sleep would end
    /// after the timeout.
    pub(crate) async fn wait(&mut self) -> Result<(), Duration> {
        let elapsed = self.start.elapsed();
        if elapsed + self.interval > self.timeout {
            return Err(elapsed);
        }
        tokio::time::sleep(self.interval).await;
        self.interval = self.interval.mul_f64(1.5).min(self.cap);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::NextFault;
    use crate::spapi::fault_stub::{Fault, FaultStub, SANDBOX_RATE_SCALE, Seen, credentials};
    use crate::spapi::ratelimit::PACING_MARGIN;
    use axum::http::StatusCode as S;
    use axum::response::IntoResponse;

    const LWA: &str = "/auth/o2/token";
    const ITEM: &str = "/listings/2021-08-01/items/S/A";

    /// A client of `stub` whose refresh token is `refresh_token`, and its first call's error.
    async fn login_error(
        stub: &FaultStub,
        refresh_token: &str,
        max_retries: u32,
    ) -> (Client, SpApiError) {
        let creds = Credentials {
            refresh_token: Secret::new(refresh_token),
            ..credentials()
        };
        let c = Client::new(creds, stub.client_config(max_retries)).unwrap();
        let e = c
            .call(ApiOp::GetFeed, Region::EU, "GET", "/bad", &[], None)
            .await
            .unwrap_err();
        (c, e)
    }

    /// The German marketplace, as the sandbox requires on a Listings call.
    fn de() -> Vec<(String, String)> {
        vec![("marketplaceIds".into(), "A1PA6795UKMFR9".into())]
    }

    fn body() -> Value {
        serde_json::json!({"productType": "PRODUCT", "patches": [{"op": "merge",
            "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 1}]}]})
    }

    /// The test listing's patch, in Germany, to `path`.
    async fn patch(c: &Client, path: &str) -> Result<Value, SpApiError> {
        c.call(
            ApiOp::PatchListingsItem,
            Region::EU,
            "PATCH",
            path,
            &de(),
            Some(&body()),
        )
        .await
    }

    /// The form the client sent LWA carries the refresh-token grant and its secret.
    fn check_lwa_form(s: &Seen) {
        let form = String::from_utf8_lossy(&s.body);
        assert!(form.contains("grant_type=refresh_token"), "{form}");
        assert!(form.contains("client_secret=client-secret-value"), "{form}");
    }

    fn reply(status: S, body: &str) -> Fault {
        Fault::Reply((status, body.to_string()).into_response())
    }

    #[test]
    fn tokens_are_refreshed_before_they_expire() {
        assert_eq!(refresh_after(3600), Duration::from_secs(3540));
        assert_eq!(refresh_after(100), Duration::from_secs(50));
        assert_eq!(refresh_after(0), Duration::ZERO);
    }

    #[test]
    fn endpoints_https_or_loopback_http() {
        assert!(parse_endpoint(DEFAULT_LWA_ENDPOINT).is_ok());
        assert!(parse_endpoint("http://127.0.0.1:8080").is_ok());
        assert!(parse_endpoint("http://127.5.0.1:8080").is_ok());
        assert!(parse_endpoint("http://[::1]:8080").is_ok());
        assert!(parse_endpoint("http://localhost:8080").is_ok());
        let e = parse_endpoint("http://sellingpartnerapi-eu.amazon.com").unwrap_err();
        assert!(e.to_string().contains("refusing plain http"), "{e}");
        assert!(parse_endpoint("http://10.0.0.1").is_err());
        assert!(parse_endpoint("ftp://127.0.0.1").is_err());
        assert!(parse_endpoint("not a url").is_err());
        let u = Url::parse("https://bucket.s3.amazonaws.com/doc?X-Amz-Signature=abc").unwrap();
        assert_eq!(display_url(&u), "https://bucket.s3.amazonaws.com/doc");
    }

    #[tokio::test]
    async fn token_is_cached_and_retries_are_bounded() {
        // The sandbox answers 429, 503, 429, then accepts.
        let stub = FaultStub::proxy(|_| Fault::Pass).await;
        let throttled = [
            NextFault::Throttle,
            NextFault::Unavailable,
            NextFault::Throttle,
        ];
        stub.sandbox().script_faults(throttled);
        let c = stub.client(5);
        let call = || patch(&c, ITEM);
        let v = call().await.unwrap();
        assert_eq!(v["status"], "ACCEPTED");
        assert_eq!(c.retries(), 3);
        assert_eq!(stub.count(ITEM), 4);
        for s in stub.seen().iter().filter(|s| s.path == ITEM) {
            let header = |name: &str| s.headers.get(name).and_then(|v| v.to_str().ok());
            assert!(header("x-amz-access-token").is_some_and(|v| v.starts_with("Atza|")));
            assert!(
                header("user-agent")
                    .is_some_and(|v| v.starts_with("allot/") && v.ends_with("(Language=Rust)"))
            );
        }
        // The rate announced by the header (the sandbox's, faster than the client's own) is
        // adopted.
        let announced = ApiOp::PatchListingsItem.usage_plan().0 * SANDBOX_RATE_SCALE;
        let rate = c.limits().rate(ApiOp::PatchListingsItem);
        assert!((rate - announced * PACING_MARGIN).abs() < 1e-9, "{rate}");
        call().await.unwrap();
        assert_eq!(stub.count(LWA), 1, "token cached");

        // Exhausted: 1 + max_retries attempts, then one error.
        let stub = FaultStub::proxy(|_| Fault::Pass).await;
        stub.sandbox().script_faults(throttled);
        let c = stub.client(2);
        let e = patch(&c, ITEM).await.unwrap_err();
        assert!(
            matches!(e, SpApiError::Exhausted { attempts: 3, .. }),
            "{e}"
        );
        assert_eq!(stub.count(ITEM), 3);
    }

    #[tokio::test]
    async fn lwa_refusal_is_one_auth_error_without_secrets() {
        // The sandbox refuses a refresh token starting with `bad`.
        let stub = FaultStub::proxy(|_| Fault::Pass).await;
        let (c, e) = login_error(&stub, "bad|refresh-token-value", 5).await;
        assert!(e.is_fatal());
        let text = format!("{e} {e:?}");
        assert!(text.contains("invalid_grant"), "{text}");
        for s in ["client-secret-value", "refresh-token-value"] {
            assert!(!text.contains(s), "{text}");
        }
        assert_eq!(stub.count(LWA), 1, "no retry storm");
        assert_eq!(c.retries(), 0);
        // Concurrent callers after the refusal get the same error without asking LWA again.
        let calls = (0..8).map(|_| c.call(ApiOp::GetFeed, Region::EU, "GET", "/bad", &[], None));
        for r in futures::future::join_all(calls).await {
            assert!(matches!(r, Err(SpApiError::Auth(_))));
        }
        assert_eq!(stub.count(LWA), 1);
    }

    // On a paused clock: the login's 300 ms and the pacing are the test's time, not the
    // machine's, so a busy machine cannot make requests look bunched or spread.
    #[tokio::test(start_paused = true)]
    async fn first_requests_are_paced_while_login_is_slow() {
        // Burst 5 at 5 × 4 × 0.95 = 19 a second: one request every ~53 ms after the first 5.
        let stub = FaultStub::proxy(|s| {
            if s.path == LWA {
                Fault::Delay(Duration::from_millis(300))
            } else {
                Fault::Pass
            }
        })
        .await;
        let c = Client::new(
            credentials(),
            ClientConfig {
                max_retries: 0,
                rate_scale: 4.0,
                ..stub.client_config(0)
            },
        )
        .unwrap();
        let calls = (0..12).map(|_| patch(&c, ITEM));
        for r in futures::future::join_all(calls).await {
            r.unwrap();
        }
        let arrivals: Vec<Instant> = stub
            .seen()
            .iter()
            .filter(|s| s.path == ITEM)
            .map(|s| s.at)
            .collect();
        assert_eq!(arrivals.len(), 12);
        let first = arrivals.iter().min().copied().unwrap();
        // Slots taken during the 300 ms login used to leave together: 10 at once. Paced, the
        // burst of 5 leaves, the next ~53 ms later (one spare for arrival jitter).
        let early = arrivals
            .iter()
            .filter(|t| t.duration_since(first) < Duration::from_millis(35))
            .count();
        assert!(early <= 6, "{early} requests within 35 ms of the first");
        assert_eq!(stub.count(LWA), 1);
    }

    #[tokio::test]
    async fn dot_segment_paths_are_never_sent() {
        let stub = FaultStub::proxy(|_| Fault::Pass).await;
        let c = stub.client(0);
        for seller_sku in ["%2E", "%2E%2E"] {
            let path = format!("/listings/2021-08-01/items/S/{seller_sku}");
            let e = patch(&c, &path).await.unwrap_err();
            assert!(matches!(e, SpApiError::Unaddressable(_)), "{e}");
            assert!(!e.is_fatal());
            assert!(e.to_string().contains("--emit feed"), "{e}");
        }
        assert_eq!(stub.count(LWA), 0, "nothing sent");
        assert_eq!(stub.count("/listings"), 0);
    }

    #[tokio::test]
    async fn lwa_echo_of_the_encoded_request_is_redacted() {
        // Refuse and echo the request body, as some LWA errors do.
        let stub = FaultStub::alone(|s| {
            check_lwa_form(s);
            // The form body as received (percent-encoded, `+` for space), then JSON-escaped.
            let desc = format!("bad request: {}", String::from_utf8_lossy(&s.body));
            let echo = serde_json::json!({"error": "invalid_request", "error_description": desc});
            reply(S::BAD_REQUEST, &echo.to_string())
        })
        .await;
        let (_, e) = login_error(&stub, "Atzr|refresh token/value", 0).await;
        let text = format!("{e} {e:?}");
        assert!(text.contains("grant_type=refresh_token"), "{text}");
        for leak in [
            "client-secret-value",
            "refresh+token",
            "token%2Fvalue",
            "Atzr%7C",
            "amzn1.application-oa2-client.x",
        ] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
        assert!(text.contains("refresh_token=[redacted]"), "{text}");
    }

    #[tokio::test]
    async fn login_outage_stops_the_run_after_its_retries() {
        let stub = FaultStub::alone(|s| {
            check_lwa_form(s);
            reply(S::SERVICE_UNAVAILABLE, "")
        })
        .await;
        let c = stub.client(2);
        let e = c
            .call(ApiOp::GetFeed, Region::EU, "GET", "/bad", &[], None)
            .await
            .unwrap_err();
        assert!(matches!(e, SpApiError::LoginUnavailable(_)), "{e}");
        assert!(e.is_fatal());
        assert_eq!(stub.count(LWA), 3);
        let calls = (0..8).map(|_| c.call(ApiOp::GetFeed, Region::EU, "GET", "/bad", &[], None));
        for r in futures::future::join_all(calls).await {
            assert!(matches!(r, Err(SpApiError::LoginUnavailable(_))));
        }
        assert_eq!(stub.count(LWA), 3, "no new login attempts");
    }

    #[tokio::test]
    async fn a_silent_endpoint_stops_the_run() {
        let stub = FaultStub::proxy(|_| Fault::Pass).await;
        // Nothing listens on port 1: every attempt is a connection error.
        let c = Client::new(
            credentials(),
            ClientConfig {
                endpoint: Some(parse_endpoint("http://127.0.0.1:1").unwrap()),
                ..stub.client_config(1)
            },
        )
        .unwrap();
        let call = || c.call(ApiOp::GetFeed, Region::EU, "GET", "/x", &[], None);
        // Two attempts each: the first two calls fail on their own…
        for _ in 0..2 {
            assert!(matches!(call().await, Err(SpApiError::Exhausted { .. })));
        }
        // … the sixth silent attempt in a row stops everything.
        let e = call().await.unwrap_err();
        assert!(matches!(e, SpApiError::Unreachable(_)), "{e}");
        assert!(e.is_fatal());
        assert!(e.to_string().contains("--endpoint"));
        assert!(matches!(call().await, Err(SpApiError::Unreachable(_))));
    }

    #[tokio::test]
    async fn forbidden_refreshes_once_then_stops() {
        // A 403 a fresh token does not cure (the sandbox's 403s are cured by one).
        let stub = FaultStub::proxy(|s| {
            if s.path == "/forbidden" {
                reply(
                    S::FORBIDDEN,
                    r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied."}]}"#,
                )
            } else {
                Fault::Pass
            }
        })
        .await;
        let c = stub.client(5);
        let e = c
            .call(ApiOp::GetFeed, Region::EU, "GET", "/forbidden", &[], None)
            .await
            .unwrap_err();
        assert!(matches!(e, SpApiError::Auth(_)), "{e}");
        assert!(!e.to_string().contains("Atza|"), "{e}");
        assert_eq!(stub.count("/forbidden"), 2);
        assert_eq!(stub.count(LWA), 2);
    }

    #[tokio::test]
    async fn other_4xx_is_not_retried_and_shows_amazons_errors() {
        // A fixed body and request ID, so the whole message can be compared.
        let stub = FaultStub::proxy(|s| {
            if s.path == "/bad" {
                Fault::Reply(
                    (
                        S::BAD_REQUEST,
                        [("x-amzn-RequestId", "req-1")],
                        r#"{"errors":[{"code":"InvalidInput","message":"bad sku","details":"sku"}]}"#,
                    )
                        .into_response(),
                )
            } else {
                Fault::Pass
            }
        })
        .await;
        let c = stub.client(5);
        let e = c
            .call(ApiOp::GetFeed, Region::EU, "GET", "/bad", &[], None)
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "getFeed returned HTTP 400: InvalidInput: bad sku (sku) [request req-1]"
        );
        assert!(!e.is_fatal());
        assert_eq!(c.retries(), 0);
    }
}

//! The unit tests' one fault-injecting stub: a proxy on 127.0.0.1 in front of an in-process
//! sandbox that answers the requests a test picks itself and passes every other one on.
//!
//! The sandbox is the SP-API the tests talk to (it models Amazon, and also injects 429, 500 and
//! 503 answers and dropped connections). This stub exists only for what the sandbox cannot be
//! made to answer: Login with Amazon down, slow or echoing the request, a 403 a fresh token does
//! not cure, a fixed error body and request ID, a DONE feed whose report processed nothing, a
//! listing shown elsewhere in its region. It also records when each request arrived.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::sandbox::{self, SandboxConfig, SandboxHandle, SandboxOptions};
use crate::spapi::client::{Client, ClientConfig, parse_endpoint};
use crate::spapi::{Credentials, Secret};

/// The tests' credentials: strings a test can look for, to show none of them leaks.
pub fn credentials() -> Credentials {
    Credentials {
        client_id: Secret::new("amzn1.application-oa2-client.x"),
        client_secret: Secret::new("client-secret-value"),
        refresh_token: Secret::new("Atzr|refresh-token-value"),
    }
}

/// One request as the stub received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// On tokio's clock, so a test with a paused clock reads its own time.
    pub at: Instant,
    /// The stub's own base URL (for answers that point back at it).
    pub base: String,
}

/// What the stub does with one request.
pub enum Fault {
    /// Pass it on to the sandbox (a 404 without one).
    Pass,
    /// Wait, then pass it on.
    Delay(Duration),
    /// Answer this instead.
    Reply(Response),
}

type Rule = dyn Fn(&Seen) -> Fault + Send + Sync;

struct Inner {
    rule: Box<Rule>,
    upstream: Option<String>,
    seen: Mutex<Vec<Seen>>,
    http: reqwest::Client,
    base: String,
}

/// The sandbox's rate scale behind a stub: fast, and unlike the clients' 1000 so that a rate
/// the client adopted from the sandbox's `x-amzn-RateLimit-Limit` is told from its own.
pub const SANDBOX_RATE_SCALE: f64 = 1500.0;

/// A running stub; it stops with the test's runtime.
pub struct FaultStub {
    inner: Arc<Inner>,
    sandbox: Option<SandboxHandle>,
}

impl FaultStub {
    /// A stub in front of a fresh sandbox.
    pub async fn proxy(rule: impl Fn(&Seen) -> Fault + Send + Sync + 'static) -> FaultStub {
        Self::proxy_with(SandboxOptions::default(), rule).await
    }

    /// A stub in front of a fresh sandbox with these options.
    pub async fn proxy_with(
        options: SandboxOptions,
        rule: impl Fn(&Seen) -> Fault + Send + Sync + 'static,
    ) -> FaultStub {
        let config = SandboxConfig {
            rate_scale: SANDBOX_RATE_SCALE,
            ..SandboxConfig::default()
        };
        let sb = sandbox::start_with(config, options)
            .await
            .expect("the sandbox starts");
        let mut s = Self::start(Some(sb.base_url()), rule).await;
        s.sandbox = Some(sb);
        s
    }

    /// A client's configuration for this stub: `max_retries`, Amazon's rates sped up 1000
    /// times.
    pub fn client_config(&self, max_retries: u32) -> ClientConfig {
        ClientConfig {
            endpoint: Some(parse_endpoint(self.base()).unwrap()),
            lwa_endpoint: parse_endpoint(&self.lwa()).unwrap(),
            max_retries,
            rate_scale: 1000.0,
            ..ClientConfig::default()
        }
    }

    /// A client of this stub with the tests' credentials.
    pub fn client(&self, max_retries: u32) -> Client {
        Client::new(credentials(), self.client_config(max_retries)).unwrap()
    }

    /// The sandbox behind the stub (of [`FaultStub::proxy`]).
    pub fn sandbox(&self) -> &SandboxHandle {
        self.sandbox
            .as_ref()
            .expect("a stub made by FaultStub::proxy")
    }

    /// A stub alone: everything the rule passes on is a 404.
    pub async fn alone(rule: impl Fn(&Seen) -> Fault + Send + Sync + 'static) -> FaultStub {
        Self::start(None, rule).await
    }

    async fn start(
        upstream: Option<String>,
        rule: impl Fn(&Seen) -> Fault + Send + Sync + 'static,
    ) -> FaultStub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("bound"));
        let inner = Arc::new(Inner {
            rule: Box::new(rule),
            upstream,
            seen: Mutex::new(Vec::new()),
            // Never through a proxy from the environment: the sandbox is on loopback.
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("an HTTP client"),
            base,
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        FaultStub {
            inner,
            sandbox: None,
        }
    }

    /// `http://127.0.0.1:PORT`: the SP-API endpoint.
    pub fn base(&self) -> &str {
        &self.inner.base
    }

    /// The LWA token URL.
    pub fn lwa(&self) -> String {
        format!("{}/auth/o2/token", self.inner.base)
    }

    /// Every request received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.seen.lock().unwrap().clone()
    }

    /// How many requests to a path starting with `prefix` were received.
    pub fn count(&self, prefix: &str) -> usize {
        self.inner
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path.starts_with(prefix))
            .count()
    }
}

async fn handle(State(s): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    let seen = Seen {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body,
        at: Instant::now(),
        base: s.base.clone(),
    };
    s.seen.lock().unwrap().push(seen.clone());
    match (s.rule)(&seen) {
        Fault::Reply(r) => r,
        Fault::Delay(d) => {
            tokio::time::sleep(d).await;
            pass(&s, seen).await
        }
        Fault::Pass => pass(&s, seen).await,
    }
}

/// The sandbox's answer to the same request.
async fn pass(s: &Inner, seen: Seen) -> Response {
    let Some(up) = &s.upstream else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let q = if seen.query.is_empty() {
        String::new()
    } else {
        format!("?{}", seen.query)
    };
    let mut headers = seen.headers;
    headers.remove("host");
    let r = s
        .http
        .request(seen.method, format!("{up}{}{q}", seen.path))
        .headers(headers)
        .body(seen.body)
        .send()
        .await
        .expect("the sandbox answers");
    let status = r.status();
    let mut headers = r.headers().clone();
    // The body is passed on whole, not in the sandbox's framing.
    headers.remove("transfer-encoding");
    headers.remove("content-length");
    let bytes = r.bytes().await.expect("the sandbox's body");
    (status, headers, bytes).into_response()
}

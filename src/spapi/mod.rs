//! Stage 5: the SP-API client (LWA auth, rate limits, retries, Listings and Feeds calls), the
//! crash-safe journal and the apply engine. See docs/apply.md.

pub mod apply;
pub mod client;
pub mod credentials;
#[cfg(test)]
pub(crate) mod fault_stub;
pub mod feeds;
pub mod journal;
pub mod listings;
pub mod live;
pub mod ratelimit;
pub mod reports;
pub mod secret;
pub mod supply_sources;

pub use client::{Client, ClientConfig};
pub use credentials::{Credentials, CredentialsError};
pub use secret::Secret;

use serde::{Deserialize, Serialize};

/// One entry of Amazon's `{"errors": [...]}` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorItem {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

impl std::fmt::Display for ApiErrorItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(d) = self.details.as_deref().filter(|d| !d.is_empty()) {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

/// A Feed's or Report's `marketplaceIds`: the strings of the array, none if it is missing.
fn marketplace_ids(v: &serde_json::Value) -> Vec<String> {
    v.get("marketplaceIds")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .map(str::to_string)
        .collect()
}

fn join_errors(errors: &[ApiErrorItem]) -> String {
    if errors.is_empty() {
        return "no error details".to_string();
    }
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn request_id_suffix(id: &Option<String>) -> String {
    id.as_deref()
        .map(|i| format!(" [request {i}]"))
        .unwrap_or_default()
}

/// Everything that can go wrong talking to the SP-API. No variant ever holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum SpApiError {
    /// A setting is wrong (endpoint, URL): fix and re-run.
    #[error("{0}")]
    Config(String),
    /// Login with Amazon refused the credentials, or the API refused a fresh token. Stops the run.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// Login with Amazon kept failing (5xx, 429, unreachable) after the retries: no request
    /// can be authenticated, so the run stops rather than asking again for every offer.
    #[error("cannot get an access token: {0}")]
    LoginUnavailable(String),
    /// The SP-API endpoint gave no HTTP answer at all many times in a row (wrong `--endpoint`,
    /// network down): the run stops instead of every offer waiting out its retries.
    #[error("the SP-API does not answer: {0}")]
    Unreachable(String),
    /// A 4xx other than 429 (and 403 auth): Amazon refused this request; shown per offer.
    #[error("{op} returned HTTP {status}: {}{}", join_errors(.errors), request_id_suffix(.request_id))]
    Api {
        op: &'static str,
        status: u16,
        errors: Vec<ApiErrorItem>,
        request_id: Option<String>,
    },
    /// 429, 5xx or connection errors, still failing after the allowed retries.
    #[error("{op} still failing after {attempts} attempts: {last}")]
    Exhausted {
        op: &'static str,
        attempts: u32,
        last: String,
    },
    /// A 2xx whose body is not what Amazon documents.
    #[error("{op}: unexpected response: {reason}")]
    Decode { op: &'static str, reason: String },
    /// A feed could not be completed (FATAL, CANCELLED, poll timeout).
    #[error("{0}")]
    Feed(String),
    /// A request that must not be sent twice (createFeed) got no answer, or a 5xx: Amazon may or
    /// may not have done it. Not retried blindly; the caller finds out what happened.
    #[error("{op} got no answer ({reason}): Amazon may or may not have done it")]
    AnswerLost { op: &'static str, reason: String },
    /// The request cannot be addressed as built (a `.` or `..` path segment): not sent. Only
    /// this request fails; the run goes on.
    #[error("{0}")]
    Unaddressable(String),
}

impl SpApiError {
    /// Errors after which no further request can succeed: stop the whole run.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            SpApiError::Auth(_)
                | SpApiError::Config(_)
                | SpApiError::LoginUnavailable(_)
                | SpApiError::Unreachable(_)
        )
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            SpApiError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One issue Amazon reported about an offer (Listings `issues[]` or a processing report's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// ERROR, WARNING or INFO.
    pub severity: String,
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
}

impl Issue {
    pub fn is_error(&self) -> bool {
        self.severity.eq_ignore_ascii_case("ERROR")
    }
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.severity, self.code, self.message)?;
        if !self.attributes.is_empty() {
            write!(f, " [{}]", self.attributes.join(", "))?;
        }
        Ok(())
    }
}

//! Login with Amazon: the refresh-token exchange, and the access-token check of SP-API calls.
//! Any client ID, secret and refresh token are accepted, except a refresh token starting with
//! `bad` (so tests can exercise an auth failure).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::state::SandboxState;
use super::{Shared, add_request_id, with_latency};

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn lwa_error(error: &str, description: &str) -> Response {
    let mut r = (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    add_request_id(r.headers_mut());
    r
}

/// `POST /auth/o2/token`.
pub async fn token(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let r = token_inner(&shared, req).await;
    with_latency(&shared, r).await
}

async fn token_inner(shared: &Shared, req: Request) -> Response {
    let body = match axum::body::to_bytes(req.into_body(), 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return lwa_error("invalid_request", "The request body is too large."),
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let Some(grant_type) = field("grant_type") else {
        return lwa_error(
            "invalid_request",
            "The request is missing a required parameter : grant_type",
        );
    };
    if grant_type != "refresh_token" {
        return lwa_error(
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server (the sandbox supports refresh_token)",
        );
    }
    for name in ["refresh_token", "client_id", "client_secret"] {
        if field(name).is_none() {
            return lwa_error(
                "invalid_request",
                &format!("The request is missing a required parameter : {name}"),
            );
        }
    }
    let refresh = field("refresh_token").unwrap_or_default();
    if refresh.starts_with("bad") {
        return lwa_error(
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token",
        );
    }
    let access = format!(
        "Atza|sandbox-{:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    );
    let ttl = shared.options.token_ttl;
    {
        let mut inner = shared.lock();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        // Forget expired tokens so the state does not grow without bound.
        inner.state.tokens.retain(|_, exp| *exp > now);
        inner
            .state
            .tokens
            .insert(token_hash(&access), now + ttl.as_secs() as i64);
    }
    // A token the client holds must survive a crash, or its next call is refused.
    let v = shared.mark_dirty();
    if !shared.persisted(v).await {
        return lwa_error("server_error", "The sandbox could not save its state file.");
    }
    let mut r = (
        StatusCode::OK,
        axum::Json(json!({
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": ttl.as_secs(),
        })),
    )
        .into_response();
    add_request_id(r.headers_mut());
    r
}

/// Check `x-amz-access-token`; the error is the `details` of Amazon's 403.
pub fn check(state: &SandboxState, headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(token) = headers
        .get("x-amz-access-token")
        .and_then(|v| v.to_str().ok())
    else {
        return Err("Access token is missing in the request header.");
    };
    match state.tokens.get(&token_hash(token)) {
        None => Err("The access token you provided is revoked, malformed or invalid."),
        Some(exp) if *exp <= time::OffsetDateTime::now_utc().unix_timestamp() => {
            Err("The access token you provided has expired.")
        }
        Some(_) => Ok(()),
    }
}

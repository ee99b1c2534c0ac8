//! Supply Sources API 2020-07-01: the seller's supply sources (locations), listed, read,
//! created, switched Active/Inactive and archived; seeded by `--supply-sources FILE`,
//! `PUT /_sandbox/supply-sources` or [`super::SandboxHandle::seed_supply_sources`].
//! Configuration, capabilities and updateSupplySource are not modelled.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::feeds::json_body;
use super::state::{Address, SupplySource, SupplySourceStatus};
use super::{Call, Inner, Outcome, Shared, add_request_id, error_response, now_rfc3339, run_op};
use crate::amazon::limits::ApiOp;

/// getSupplySources' largest `pageSize`. The model gives a default (10) and no maximum; the
/// sandbox takes 1 to 100, as most SP-API list operations do.
pub const MAX_PAGE_SIZE: usize = 100;

/// One supply source to seed (`--supply-sources FILE`, `PUT /_sandbox/supply-sources`): a
/// missing ID is generated, a missing status is `Active`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedSupplySource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_source_id: Option<String>,
    pub supply_source_code: String,
    pub alias: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SupplySourceStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// What a supply-source seed file or body must look like (for error messages).
pub const SUPPLY_SOURCES_SEED_SHAPE: &str = r#"[{"supplySourceId": "353e4e48-6301-4d50-990e-43a86e8787a3", "supplySourceCode": "newark", "alias": "Newark warehouse", "status": "Active", "address": {"name": "...", "addressLine1": "...", "stateOrRegion": "NJ", "countryCode": "US"}}] (supplySourceId, status and address optional)"#;

fn not_found(id: &str) -> Outcome {
    Outcome::error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("Supply source '{id}' not found."),
        None,
    )
}

/// A UUID-shaped supply source ID, never one already in use.
fn new_id(inner: &Inner) -> String {
    loop {
        let id = super::new_request_id();
        if !inner.state.supply_sources.contains_key(&id) {
            return id;
        }
    }
}

/// The model's Address rules: its required fields non-empty, an ISO 3166-1 alpha-2 country.
fn check_address(a: &Address) -> Result<(), String> {
    for (name, v) in [
        ("name", &a.name),
        ("addressLine1", &a.address_line1),
        ("stateOrRegion", &a.state_or_region),
    ] {
        if v.trim().is_empty() {
            return Err(format!("'address.{name}' must not be empty."));
        }
    }
    let cc = &a.country_code;
    if cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "'address.countryCode' must be a two-letter ISO 3166-1 code such as US, got '{cc}'."
        ));
    }
    Ok(())
}

fn check_text(name: &str, v: &str) -> Result<(), String> {
    if v.trim().is_empty() {
        return Err(format!("'{name}' must not be empty."));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("'{name}' must not contain control characters."));
    }
    Ok(())
}

/// Create or replace supply sources. An entry with an ID replaces that source; without one,
/// it replaces the source with its code, or creates a new one. Everything is checked first: one
/// bad entry seeds nothing. Returns the number seeded.
pub(crate) fn apply_seed(
    state: &mut super::SandboxState,
    seeds: &[SeedSupplySource],
) -> Result<usize, String> {
    let mut codes = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for (i, s) in seeds.iter().enumerate() {
        let n = i + 1;
        let at = |e: String| format!("supply source {n} ({}): {e}", s.supply_source_code);
        check_text("supplySourceCode", &s.supply_source_code).map_err(at)?;
        check_text("alias", &s.alias).map_err(at)?;
        if let Some(id) = &s.supply_source_id {
            check_text("supplySourceId", id).map_err(at)?;
            if !ids.insert(id.clone()) {
                return Err(at(format!("supplySourceId '{id}' appears twice.")));
            }
        }
        if let Some(a) = &s.address {
            check_address(a).map_err(at)?;
        }
        if !codes.insert(s.supply_source_code.clone()) {
            return Err(at("the supplySourceCode appears twice.".into()));
        }
        // A code is unique among the seller's sources: another existing source must not have it.
        let clash = state.supply_sources.values().find(|x| {
            x.supply_source_code == s.supply_source_code
                && s.supply_source_id
                    .as_ref()
                    .is_some_and(|id| *id != x.supply_source_id)
        });
        if let Some(x) = clash {
            return Err(at(format!(
                "the supplySourceCode is already the code of supply source '{}'.",
                x.supply_source_id
            )));
        }
    }
    let now = now_rfc3339();
    for s in seeds {
        let existing = match &s.supply_source_id {
            Some(id) => state.supply_sources.get(id).cloned(),
            None => state
                .supply_sources
                .values()
                .find(|x| x.supply_source_code == s.supply_source_code)
                .cloned(),
        };
        let id = match (&s.supply_source_id, &existing) {
            (Some(id), _) => id.clone(),
            (None, Some(x)) => x.supply_source_id.clone(),
            (None, None) => loop {
                let id = super::new_request_id();
                if !state.supply_sources.contains_key(&id) {
                    break id;
                }
            },
        };
        let created = existing.map_or_else(|| now.clone(), |x| x.created_at);
        state.supply_sources.insert(
            id.clone(),
            SupplySource {
                supply_source_id: id,
                supply_source_code: s.supply_source_code.clone(),
                alias: s.alias.clone(),
                status: s.status.unwrap_or(SupplySourceStatus::Active),
                address: s.address.clone(),
                created_at: created,
                updated_at: now.clone(),
            },
        );
    }
    Ok(seeds.len())
}

/// `PUT /_sandbox/supply-sources`: create or replace supply sources (a JSON list).
pub async fn seed(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let answer = |status: StatusCode, v: Value| {
        let mut r = (status, axum::Json(v)).into_response();
        add_request_id(r.headers_mut());
        r
    };
    let bad = |m: &str| {
        let mut r = error_response(StatusCode::BAD_REQUEST, "InvalidInput", m, None);
        add_request_id(r.headers_mut());
        r
    };
    let seeds: Vec<SeedSupplySource> = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return bad(&format!(
                "The supply-sources seed is not valid: {e}. Expected {SUPPLY_SOURCES_SEED_SHAPE}"
            ));
        }
    };
    let result = apply_seed(&mut shared.lock().state, &seeds);
    match result {
        Ok(n) => {
            let v = shared.mark_dirty();
            if !shared.persisted(v).await {
                let o = super::not_saved();
                return answer(o.status, o.body);
            }
            answer(StatusCode::OK, json!({ "seeded": n }))
        }
        Err(e) => bad(&e),
    }
}

/// `GET /supplySources/2020-07-01/supplySources`: the list items carry alias, ID, code and
/// address only (the model's SupplySourceList has no status), in supply source code order.
/// Archived sources are listed too (whether Amazon lists them is not documented).
pub async fn list(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    run_op(
        &shared,
        ApiOp::GetSupplySources,
        req,
        None,
        |inner: &mut Inner, call: &Call| {
            let page_size = match call.param("pageSize") {
                None => 10,
                // The model types it `number`: 10 and 10.0 are both whole numbers.
                Some(s) => match s.trim().parse::<f64>() {
                    Ok(n) if n.fract() == 0.0 && (1.0..=MAX_PAGE_SIZE as f64).contains(&n) => {
                        n as usize
                    }
                    _ => {
                        return Outcome::invalid_input(&format!(
                            "'pageSize' must be a whole number from 1 to {MAX_PAGE_SIZE}, got '{s}'."
                        ));
                    }
                },
            };
            let offset = match call.param("nextPageToken") {
                None => 0,
                Some(t) => match t
                    .strip_prefix("ss-")
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    Some(n) => n,
                    None => {
                        return Outcome::invalid_input(&format!(
                            "Invalid 'nextPageToken' '{t}'."
                        ));
                    }
                },
            };
            let mut all: Vec<&SupplySource> = inner.state.supply_sources.values().collect();
            all.sort_by(|a, b| {
                (&a.supply_source_code, &a.supply_source_id)
                    .cmp(&(&b.supply_source_code, &b.supply_source_id))
            });
            let page: Vec<Value> = all
                .iter()
                .skip(offset)
                .take(page_size)
                .map(|s| {
                    let mut v = json!({
                        "alias": s.alias,
                        "supplySourceId": s.supply_source_id,
                        "supplySourceCode": s.supply_source_code,
                    });
                    if let Some(a) = &s.address {
                        v["address"] = serde_json::to_value(a).unwrap_or(Value::Null);
                    }
                    v
                })
                .collect();
            let mut body = json!({ "supplySources": page });
            if offset.saturating_add(page_size) < all.len() {
                body["nextPageToken"] = json!(format!("ss-{}", offset + page_size));
            }
            Outcome::json(StatusCode::OK, body)
        },
    )
    .await
}

/// `GET /supplySources/2020-07-01/supplySources/{supplySourceId}`.
pub async fn get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::GetSupplySource,
        req,
        None,
        |inner: &mut Inner, _call: &Call| match inner.state.supply_sources.get(&id) {
            Some(s) => Outcome::json(
                StatusCode::OK,
                serde_json::to_value(s).unwrap_or(Value::Null),
            ),
            None => not_found(&id),
        },
    )
    .await
}

/// `POST /supplySources/2020-07-01/supplySources`: 200 `{supplySourceId, supplySourceCode}`
/// (the model's status code). A new source is Active (Amazon's initial status is not
/// documented).
pub async fn create(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    run_op(
        &shared,
        ApiOp::CreateSupplySource,
        req,
        None,
        |inner: &mut Inner, call: &Call| {
            tri!(call.require_json());
            let body = tri!(json_body(call));
            const FIELDS: [&str; 3] = ["supplySourceCode", "alias", "address"];
            if let Some(k) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
                return Outcome::invalid_input(&format!(
                    "Unknown field '{k}': a create request has supplySourceCode, alias and address."
                ));
            }
            let text = |name: &str| match body.get(name) {
                Some(Value::String(s)) => check_text(name, s)
                    .map(|()| s.clone())
                    .map_err(|e| Outcome::invalid_input(&e)),
                _ => Err(Outcome::invalid_input(&format!(
                    "Missing required field '{name}' (a string)."
                ))),
            };
            let code = tri!(text("supplySourceCode"));
            let alias = tri!(text("alias"));
            let address: Address = match body.get("address") {
                Some(a) => match serde_json::from_value(a.clone()) {
                    Ok(a) => a,
                    Err(e) => {
                        return Outcome::invalid_input(&format!(
                            "Invalid 'address': {e} (name, addressLine1, stateOrRegion and countryCode are required)."
                        ));
                    }
                },
                None => {
                    return Outcome::invalid_input(
                        "Missing required field 'address' (name, addressLine1, stateOrRegion, countryCode).",
                    );
                }
            };
            if let Err(e) = check_address(&address) {
                return Outcome::invalid_input(&e);
            }
            // "The seller-provided unique supply source code": archived sources keep theirs.
            if let Some(x) = inner
                .state
                .supply_sources
                .values()
                .find(|x| x.supply_source_code == code)
            {
                return Outcome::invalid_input(&format!(
                    "supplySourceCode '{code}' is already used by supply source '{}'.",
                    x.supply_source_id
                ));
            }
            let id = new_id(inner);
            let now = now_rfc3339();
            inner.state.supply_sources.insert(
                id.clone(),
                SupplySource {
                    supply_source_id: id.clone(),
                    supply_source_code: code.clone(),
                    alias,
                    status: SupplySourceStatus::Active,
                    address: Some(address),
                    created_at: now.clone(),
                    updated_at: now,
                },
            );
            Outcome::json(
                StatusCode::OK,
                json!({ "supplySourceId": id, "supplySourceCode": code }),
            )
            .applied()
        },
    )
    .await
}

/// `PUT /supplySources/2020-07-01/supplySources/{supplySourceId}/status` `{status}`: Active or
/// Inactive; an archived source cannot change. 204, no body.
pub async fn update_status(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::UpdateSupplySourceStatus,
        req,
        None,
        |inner: &mut Inner, call: &Call| {
            tri!(call.require_json());
            let body = tri!(json_body(call));
            if let Some(k) = body.keys().find(|k| k.as_str() != "status") {
                return Outcome::invalid_input(&format!(
                    "Unknown field '{k}': the body is {{\"status\": \"Active\" | \"Inactive\"}}."
                ));
            }
            let status = match body.get("status").and_then(Value::as_str) {
                Some("Active") => SupplySourceStatus::Active,
                Some("Inactive") => SupplySourceStatus::Inactive,
                _ => {
                    return Outcome::invalid_input(
                        "'status' is required and must be \"Active\" or \"Inactive\" (archive with archiveSupplySource).",
                    );
                }
            };
            let Some(s) = inner.state.supply_sources.get_mut(&id) else {
                return not_found(&id);
            };
            if s.status == SupplySourceStatus::Archived {
                return Outcome::invalid_input(&format!(
                    "Supply source '{id}' is archived: its status cannot change."
                ));
            }
            s.status = status;
            s.updated_at = now_rfc3339();
            Outcome::json(StatusCode::NO_CONTENT, Value::Null).applied()
        },
    )
    .await
}

/// `DELETE /supplySources/2020-07-01/supplySources/{supplySourceId}`: archived for good. 204;
/// archiving an archived source again is a 204 that changes nothing (a retry must be harmless).
pub async fn archive(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::ArchiveSupplySource,
        req,
        None,
        |inner: &mut Inner, _call: &Call| {
            let Some(s) = inner.state.supply_sources.get_mut(&id) else {
                return not_found(&id);
            };
            if s.status == SupplySourceStatus::Archived {
                return Outcome::json(StatusCode::NO_CONTENT, Value::Null);
            }
            s.status = SupplySourceStatus::Archived;
            s.updated_at = now_rfc3339();
            Outcome::json(StatusCode::NO_CONTENT, Value::Null).applied()
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(code: &str, id: Option<&str>) -> SeedSupplySource {
        SeedSupplySource {
            supply_source_id: id.map(str::to_string),
            supply_source_code: code.into(),
            alias: code.into(),
            ..SeedSupplySource::default()
        }
    }

    #[test]
    fn a_bad_entry_seeds_nothing() {
        let mut s = super::super::SandboxState::new();
        let e = apply_seed(&mut s, &[seed("a", None), seed("", None)]).unwrap_err();
        assert!(e.contains("supply source 2"), "{e}");
        assert!(s.supply_sources.is_empty());
        let e = apply_seed(&mut s, &[seed("a", None), seed("a", None)]).unwrap_err();
        assert!(e.contains("twice"), "{e}");
        assert_eq!(apply_seed(&mut s, &[seed("a", Some("id-1"))]), Ok(1));
        // Another ID with the same code clashes; the same code without an ID replaces it.
        assert!(apply_seed(&mut s, &[seed("a", Some("id-2"))]).is_err());
        assert_eq!(apply_seed(&mut s, &[seed("a", None)]), Ok(1));
        assert_eq!(s.supply_sources.len(), 1);
        assert_eq!(s.supply_sources["id-1"].status, SupplySourceStatus::Active);
    }
}

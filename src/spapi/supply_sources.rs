//! Supply Sources API 2020-07-01: the seller's supply sources (`allot sources`) and the check
//! that each `supply_source` a policy names is one of them, and active (`allot sources POLICY`,
//! and `allot plan --current live` before it reads anything else).
//!
//! getSupplySources lists alias, ID, code and address, not the status: the status of each
//! source comes from getSupplySource. Which identifier a listing's `fulfillment_channel_code`
//! carries is disputed (see `crate::amazon::supply_sources`), so a policy's string is matched
//! against both the ID and the code.

use serde::Serialize;
use serde_json::Value;

use super::SpApiError;
use super::client::Client;
use crate::amazon::limits::ApiOp;
use crate::amazon::request::encode_segment;
use crate::amazon::supply_sources::{SUPPLY_SOURCES_PAGE, SUPPLY_SOURCES_PATH};
use crate::marketplaces::Region;

/// Pages of getSupplySources read at most (50 a page): a bound, so a looping token cannot keep
/// allot here.
const MAX_PAGES: usize = 200;

/// One supply source, as `allot sources` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SupplySource {
    pub alias: String,
    pub supply_source_id: String,
    pub supply_source_code: String,
    /// Active, Inactive or Archived; `None` until read with getSupplySource.
    pub status: Option<String>,
    /// City and country, for telling sources apart (empty when Amazon gives neither).
    pub place: String,
}

fn decode_err(op: ApiOp, reason: impl Into<String>) -> SpApiError {
    SpApiError::Decode {
        op: op.name(),
        reason: reason.into(),
    }
}

fn place(address: Option<&Value>) -> String {
    let part = |k: &str| {
        address
            .and_then(|a| a.get(k))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    [part("city"), part("countryCode")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

/// One entry of getSupplySources' list or getSupplySource's object.
pub fn parse_source(v: &Value, op: ApiOp) -> Result<SupplySource, SpApiError> {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_default()
    };
    let id = s("supplySourceId");
    if id.is_empty() {
        return Err(decode_err(op, "a supply source has no `supplySourceId`"));
    }
    Ok(SupplySource {
        alias: s("alias"),
        supply_source_id: id,
        supply_source_code: s("supplySourceCode"),
        status: v.get("status").and_then(Value::as_str).map(str::to_string),
        place: place(v.get("address")),
    })
}

/// getSupplySources, every page.
pub async fn list(client: &Client, region: Region) -> Result<Vec<SupplySource>, SpApiError> {
    let op = ApiOp::GetSupplySources;
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut query = vec![("pageSize".to_string(), SUPPLY_SOURCES_PAGE.to_string())];
        if let Some(t) = &token {
            query.push(("nextPageToken".to_string(), t.clone()));
        }
        let v = client
            .call(op, region, "GET", SUPPLY_SOURCES_PATH, &query, None)
            .await?;
        // A seller without supply sources may get no list at all.
        for s in v
            .get("supplySources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(parse_source(s, op)?);
        }
        match v.get("nextPageToken").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
    Err(SpApiError::Feed(format!(
        "getSupplySources kept giving pages past {} supply sources",
        MAX_PAGES * SUPPLY_SOURCES_PAGE as usize
    )))
}

/// getSupplySource: one source with its status.
pub async fn get(client: &Client, region: Region, id: &str) -> Result<SupplySource, SpApiError> {
    let op = ApiOp::GetSupplySource;
    let path = format!("{SUPPLY_SOURCES_PATH}/{}", encode_segment(id));
    let v = client.call(op, region, "GET", &path, &[], None).await?;
    let s = parse_source(&v, op)?;
    if s.status.is_none() {
        return Err(decode_err(
            op,
            format!("supply source {id} has no `status`"),
        ));
    }
    Ok(s)
}

/// Every supply source with its status (one getSupplySource each).
pub async fn list_with_status(
    client: &Client,
    region: Region,
) -> Result<Vec<SupplySource>, SpApiError> {
    let mut all = list(client, region).await?;
    for s in &mut all {
        s.status = get(client, region, &s.supply_source_id).await?.status;
    }
    Ok(all)
}

/// How a policy's `supply_source` string was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Matched {
    Id,
    Code,
}

/// The source a policy's `supply_source` names: by ID first, then by code.
pub fn find<'a>(sources: &'a [SupplySource], wanted: &str) -> Option<(&'a SupplySource, Matched)> {
    sources
        .iter()
        .find(|s| s.supply_source_id == wanted)
        .map(|s| (s, Matched::Id))
        .or_else(|| {
            sources
                .iter()
                .find(|s| !s.supply_source_code.is_empty() && s.supply_source_code == wanted)
                .map(|s| (s, Matched::Code))
        })
}

/// What is wrong with one location's `supply_source`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// No source has this ID or code; the nearest alias, ID or code, if any is close.
    Unknown { nearest: Option<String> },
    /// It exists but is not Active.
    NotActive { alias: String, status: String },
}

/// Each `(location, supply_source)` against the seller's sources (with their statuses).
pub fn check<'a>(
    wanted: impl IntoIterator<Item = (&'a str, &'a str)>,
    sources: &[SupplySource],
) -> Vec<(&'a str, &'a str, Problem)> {
    let mut out = Vec::new();
    for (location, code) in wanted {
        match find(sources, code) {
            None => {
                let names = sources.iter().flat_map(|s| {
                    [
                        s.alias.as_str(),
                        s.supply_source_id.as_str(),
                        s.supply_source_code.as_str(),
                    ]
                });
                let nearest = crate::diag::did_you_mean(code, names).map(|n| {
                    match sources.iter().find(|s| {
                        s.alias == n || s.supply_source_id == n || s.supply_source_code == n
                    }) {
                        Some(s) => format!(
                            "`{}` (alias {}, code {})",
                            s.supply_source_id, s.alias, s.supply_source_code
                        ),
                        None => format!("`{n}`"),
                    }
                });
                out.push((location, code, Problem::Unknown { nearest }));
            }
            Some((s, _)) => {
                let status = s.status.clone().unwrap_or_default();
                if status != "Active" {
                    out.push((
                        location,
                        code,
                        Problem::NotActive {
                            alias: s.alias.clone(),
                            status,
                        },
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source(id: &str, code: &str, alias: &str, status: &str) -> SupplySource {
        let mut s = parse_source(
            &json!({"supplySourceId": id, "supplySourceCode": code, "alias": alias,
                    "address": {"city": "Newark", "countryCode": "US"}}),
            ApiOp::GetSupplySources,
        )
        .unwrap();
        s.status = Some(status.to_string());
        s
    }

    #[test]
    fn finds_by_id_or_code_and_names_what_is_wrong() {
        let all = [
            source(
                "353e4e48-6301-4d50-990e-43a86e8787a3",
                "NEWARK-1",
                "Newark",
                "Active",
            ),
            source(
                "8e07a0c9-ab0a-4108-9f16-83dc3496bee0",
                "AUSTIN-1",
                "Austin",
                "Inactive",
            ),
        ];
        assert_eq!(all[0].place, "Newark, US");
        assert_eq!(find(&all, "NEWARK-1").unwrap().1, Matched::Code);
        assert_eq!(
            find(&all, "353e4e48-6301-4d50-990e-43a86e8787a3")
                .unwrap()
                .1,
            Matched::Id
        );
        let wanted = [
            ("newark", "NEWARK-1"),
            ("austin", "8e07a0c9-ab0a-4108-9f16-83dc3496bee0"),
            ("boston", "NEWARK-2"),
            ("nowhere", "zzzzzzzzzzzzzzzzzzzzzz"),
        ];
        let p = check(wanted, &all);
        assert_eq!(p.len(), 3, "{p:?}");
        assert_eq!(
            p[0].2,
            Problem::NotActive {
                alias: "Austin".into(),
                status: "Inactive".into()
            }
        );
        match &p[1].2 {
            Problem::Unknown { nearest: Some(n) } => assert!(n.contains("NEWARK-1"), "{n}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(p[2].2, Problem::Unknown { nearest: None });
        let e = parse_source(&json!({"alias": "x"}), ApiOp::GetSupplySources).unwrap_err();
        assert!(e.to_string().contains("supplySourceId"));
    }
}

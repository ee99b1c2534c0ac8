//! End-to-end tests of `allot sandbox` over HTTP on 127.0.0.1 (reqwest against `start()`).

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use allot::sandbox::{self, SandboxConfig, SandboxHandle, SandboxOptions};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

mod common;

const SELLER: &str = "A2EXAMPLE0SELLER";
const US: &str = "ATVPDKIKX0DER";
const UK: &str = "A1F83G8C2ARO7P";
const DE: &str = "A1PA6795UKMFR9";
const FR: &str = "A13V1IB3VIYZZH";

async fn start(config: SandboxConfig) -> SandboxHandle {
    sandbox::start(config).await.expect("sandbox starts")
}

/// Amazon's rates would throttle a test's quick bursts: run a thousand times faster.
async fn start_quick() -> SandboxHandle {
    // Fast enough that no test sending requests back to back meets the (unscaled) burst limit,
    // on any machine: a token comes back every 0.2 µs.
    start(SandboxConfig {
        rate_scale: 1_000_000.0,
        ..SandboxConfig::default()
    })
    .await
}

struct Api {
    c: Client,
    base: String,
    token: String,
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Api {
    async fn login(h: &SandboxHandle) -> Api {
        let c = Client::new();
        let r: Value = c
            .post(h.lwa_url())
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "Atzr|test"),
                ("client_id", "app"),
                ("client_secret", "secret"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Api {
            c,
            base: h.base_url(),
            token: r["access_token"].as_str().unwrap().to_string(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut rb = self
            .c
            .request(method, format!("{}{path}", self.base))
            .header("x-amz-access-token", &self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("request sent");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn patch(&self, sku: &str, mkts: &str, patches: Value) -> Reply {
        let sku = percent_encoding::utf8_percent_encode(sku, percent_encoding::NON_ALPHANUMERIC);
        self.call(
            Method::PATCH,
            &format!("/listings/2021-08-01/items/{SELLER}/{sku}?marketplaceIds={mkts}"),
            Some(json!({ "productType": "PRODUCT", "patches": patches })),
        )
        .await
    }

    async fn get(&self, sku: &str, mkts: &str, included: &str) -> Reply {
        let sku = percent_encoding::utf8_percent_encode(sku, percent_encoding::NON_ALPHANUMERIC);
        self.call(
            Method::GET,
            &format!(
                "/listings/2021-08-01/items/{SELLER}/{sku}?marketplaceIds={mkts}&includedData={included}"
            ),
            None,
        )
        .await
    }

    /// `PUT /_sandbox/listings` with these listings; answers (status, body).
    async fn seed(&self, listings: Value) -> (StatusCode, Value) {
        let r = self
            .c
            .put(format!("{}/_sandbox/listings", self.base))
            .json(&json!({ "sellerId": SELLER, "listings": listings }))
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap())
    }

    async fn inspect(&self, path: &str) -> Value {
        self.c
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn fa(entries: &[(&str, u64)]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|(c, q)| json!({ "fulfillment_channel_code": c, "quantity": q }))
            .collect(),
    )
}

fn op(op: &str, value: Value) -> Value {
    json!([{ "op": op, "path": "/attributes/fulfillment_availability", "value": value }])
}

fn shown(r: &Reply) -> Vec<(String, u64)> {
    r.body["fulfillmentAvailability"]
        .as_array()
        .unwrap_or_else(|| panic!("no fulfillmentAvailability in {}", r.body))
        .iter()
        .map(|e| {
            (
                e["fulfillmentChannelCode"].as_str().unwrap().to_string(),
                e["quantity"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn ch(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(c, q)| (c.to_string(), *q)).collect()
}

#[tokio::test]
async fn lwa_flow_and_authorization() {
    let h = start_quick().await;
    let c = Client::new();
    let post = |form: Vec<(&'static str, &'static str)>| {
        let c = c.clone();
        let url = h.lwa_url();
        async move {
            let r = c.post(url).form(&form).send().await.unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    let (s, b) = post(vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", "Atzr|x"),
        ("client_id", "app"),
    ])
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "invalid_request");
    assert!(
        b["error_description"]
            .as_str()
            .unwrap()
            .contains("client_secret")
    );

    let (s, b) = post(vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", "bad-token"),
        ("client_id", "app"),
        ("client_secret", "s"),
    ])
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "invalid_grant");

    let (s, b) = post(vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", "Atzr|good"),
        ("client_id", "app"),
        ("client_secret", "s"),
    ])
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["token_type"], "bearer");
    assert_eq!(b["expires_in"], 3600);
    assert_eq!(b["refresh_token"], "Atzr|good");
    let token = b["access_token"].as_str().unwrap().to_string();

    let url = format!(
        "{}/listings/2021-08-01/items/{SELLER}/NOPE?marketplaceIds={US}",
        h.base_url()
    );
    // No token, a token the sandbox never issued, then the real one.
    for t in [None, Some("Atza|forged")] {
        let mut rb = c.get(&url);
        if let Some(t) = t {
            rb = rb.header("x-amz-access-token", t);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.headers().contains_key("x-amzn-requestid"));
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["errors"][0]["code"], "Unauthorized");
        assert!(b["errors"][0]["details"].is_string());
    }
    let r = c
        .get(&url)
        .header("x-amz-access-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers().contains_key("x-amzn-ratelimit-limit"));
    h.shutdown().await;
}

#[tokio::test]
async fn patch_merge_and_replace_semantics() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    let r = api
        .patch(
            "MAT-1",
            US,
            op("replace", fa(&[("DEFAULT", 5), ("newark", 3)])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "ACCEPTED");
    assert_eq!(r.body["sku"], "MAT-1");
    assert!(r.body["submissionId"].is_string());
    // The enforced (scaled) rate: 5/s times 1,000,000.
    assert_eq!(r.headers["x-amzn-ratelimit-limit"], "5000000.0");
    assert!(r.headers.contains_key("x-amzn-requestid"));

    // merge changes only the channels it names.
    api.patch("MAT-1", US, op("merge", fa(&[("DEFAULT", 7)])))
        .await;
    let g = api.get("MAT-1", US, "fulfillmentAvailability").await;
    assert_eq!(shown(&g), ch(&[("DEFAULT", 7), ("newark", 3)]));

    // replace swaps the whole list.
    api.patch("MAT-1", US, op("replace", fa(&[("DEFAULT", 1)])))
        .await;
    let g = api
        .get("MAT-1", US, "fulfillmentAvailability,summaries")
        .await;
    assert_eq!(shown(&g), ch(&[("DEFAULT", 1)]));
    assert_eq!(g.body["summaries"][0]["marketplaceId"], US);

    // delete with values removes the named channel only; add behaves as replace.
    api.patch("MAT-1", US, op("add", fa(&[("DEFAULT", 0), ("newark", 9)])))
        .await;
    api.patch(
        "MAT-1",
        US,
        op("delete", json!([{ "fulfillment_channel_code": "DEFAULT" }])),
    )
    .await;
    let g = api.get("MAT-1", US, "fulfillmentAvailability").await;
    assert_eq!(shown(&g), ch(&[("newark", 9)]));

    // A SKU with a slash, percent-encoded in the path.
    let r = api
        .patch("A/B 1", US, op("merge", fa(&[("DEFAULT", 2)])))
        .await;
    assert_eq!(r.body["sku"], "A/B 1");
    let g = api.get("A/B 1", US, "fulfillmentAvailability").await;
    assert_eq!(shown(&g), ch(&[("DEFAULT", 2)]));

    // Other attributes are stored as sent.
    let r = api
        .patch(
            "MAT-1",
            US,
            json!([{ "op": "replace", "path": "/attributes/item_name", "value": [{ "value": "Yoga mat", "marketplace_id": US }] }]),
        )
        .await;
    assert_eq!(r.body["status"], "ACCEPTED");
    let g = api.get("MAT-1", US, "attributes,summaries").await;
    assert_eq!(g.body["attributes"]["item_name"][0]["value"], "Yoga mat");
    assert_eq!(g.body["summaries"][0]["itemName"], "Yoga mat");
    h.shutdown().await;
}

/// Seed 002: UK 10, DE 20, FR 30 for one shared SKU: Amazon shows 30 everywhere.
#[tokio::test]
async fn seed_002_last_write_wins_across_marketplaces() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    for (m, q) in [(UK, 10), (DE, 20), (FR, 30)] {
        let r = api
            .patch("SKU123", m, op("merge", fa(&[("DEFAULT", q)])))
            .await;
        assert_eq!(r.body["status"], "ACCEPTED");
    }
    for m in [UK, DE, FR] {
        let g = api.get("SKU123", m, "fulfillmentAvailability").await;
        assert_eq!(shown(&g), ch(&[("DEFAULT", 30)]), "{m}");
    }
    // The fix: one seller SKU per marketplace keeps each quantity.
    for (m, q, sku) in [(UK, 10, "SKU123_UK"), (DE, 20, "SKU123_DE")] {
        api.patch(sku, m, op("merge", fa(&[("DEFAULT", q)]))).await;
    }
    let g = api.get("SKU123_UK", UK, "fulfillmentAvailability").await;
    assert_eq!(shown(&g), ch(&[("DEFAULT", 10)]));
    let g = api.get("SKU123_DE", DE, "fulfillmentAvailability").await;
    assert_eq!(shown(&g), ch(&[("DEFAULT", 20)]));
    // Not listed in a marketplace it was never written for.
    let g = api.get("SKU123_UK", DE, "summaries").await;
    assert_eq!(g.status, StatusCode::NOT_FOUND);
    assert_eq!(g.body["errors"][0]["code"], "NOT_FOUND");
    // The region comes from the marketplace: the same SKU in NA is another listing.
    let g = api.get("SKU123", US, "summaries").await;
    assert_eq!(g.status, StatusCode::NOT_FOUND);
    h.shutdown().await;
}

#[tokio::test]
async fn invalid_patches_are_invalid_with_issues_and_change_nothing() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    api.patch("S1", US, op("replace", fa(&[("DEFAULT", 4)])))
        .await;
    let bad = [
        json!([]),
        op("merge", json!([{ "quantity": 3 }])),
        op(
            "merge",
            json!([{ "fulfillment_channel_code": "DEFAULT", "quantity": null }]),
        ),
        op(
            "merge",
            json!([{ "fulfillment_channel_code": "DEFAULT", "quantity": -2 }]),
        ),
        op(
            "merge",
            json!([{ "fulfillment_channel_code": "DEFAULT", "quantity": 2.5 }]),
        ),
        op(
            "merge",
            json!([{ "fulfillment_channel_code": "DEFAULT", "quantity": 1, "is_inventory_available": true }]),
        ),
        json!([{ "op": "replace", "path": "/attributes/fulfillment_availability/0/quantity", "value": [{}] }]),
        json!([{ "op": "replace", "path": "/quantity", "value": [] }]),
    ];
    for b in bad {
        let r = api.patch("S1", US, b.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{b}");
        assert_eq!(r.body["status"], "INVALID", "{b}");
        let issues = r.body["issues"].as_array().unwrap();
        assert!(!issues.is_empty(), "{b}");
        for i in issues {
            assert_eq!(i["severity"], "ERROR");
            assert!(i["code"].is_string() && i["message"].is_string());
        }
    }
    let r = api
        .patch("S1", US, op("merge", json!([{ "quantity": 3 }])))
        .await;
    assert_eq!(
        r.body["issues"][0]["attributeNames"],
        json!(["fulfillment_availability"])
    );
    let g = api.get("S1", US, "fulfillmentAvailability").await;
    assert_eq!(shown(&g), ch(&[("DEFAULT", 4)]));

    // Not JSON: 400 with an errors body.
    let r = api
        .c
        .patch(format!(
            "{}/listings/2021-08-01/items/{SELLER}/S1?marketplaceIds={US}",
            api.base
        ))
        .header("x-amz-access-token", &api.token)
        .header("content-type", "application/json")
        .body("{ nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().contains_key("x-amzn-ratelimit-limit"));
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["errors"][0]["code"], "InvalidInput");

    // Unknown marketplace, missing marketplaceIds: 400 InvalidInput.
    let r = api
        .patch("S1", "XXXX", op("merge", fa(&[("DEFAULT", 1)])))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["errors"][0]["code"], "InvalidInput");
    let r = api
        .call(
            Method::GET,
            &format!("/listings/2021-08-01/items/{SELLER}/S1"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Every invalid submission is logged as not applied.
    let log = api.inspect("/_sandbox/requests").await;
    let applied = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["applied"] == true)
        .count();
    assert_eq!(applied, 1);
    h.shutdown().await;
}

#[tokio::test]
async fn validation_preview_does_not_store() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    let path = format!(
        "/listings/2021-08-01/items/{SELLER}/P1?marketplaceIds={US}&mode=VALIDATION_PREVIEW"
    );
    let r = api
        .call(
            Method::PATCH,
            &path,
            Some(
                json!({ "productType": "PRODUCT", "patches": op("merge", fa(&[("DEFAULT", 3)])) }),
            ),
        )
        .await;
    assert_eq!(r.body["status"], "VALID");
    let r = api
        .call(
            Method::PATCH,
            &path,
            Some(json!({ "productType": "PRODUCT", "patches": op("merge", json!([{ "quantity": 3 }])) })),
        )
        .await;
    assert_eq!(r.body["status"], "INVALID");
    let r = api
        .call(
            Method::PUT,
            &path,
            Some(json!({ "productType": "PRODUCT", "attributes": { "fulfillment_availability": fa(&[("DEFAULT", 3)]) } })),
        )
        .await;
    assert_eq!(r.body["status"], "VALID");
    assert_eq!(
        api.get("P1", US, "summaries").await.status,
        StatusCode::NOT_FOUND
    );
    let state = api.inspect("/_sandbox/state").await;
    assert_eq!(state["amazon"]["listings"], json!([]));
    h.shutdown().await;
}

#[tokio::test]
async fn put_delete_and_search() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    // Seed five listings in the US and one in the UK.
    let mut listings: Vec<Value> = (1..=5)
        .map(|i| {
            json!({ "sku": format!("S{i}"), "marketplaceIds": [US],
                    "fulfillmentAvailability": [{ "fulfillmentChannelCode": "DEFAULT", "quantity": i }] })
        })
        .collect();
    listings.push(json!({ "sku": "EU1", "marketplaceIds": [UK, DE] }));
    let r = api
        .c
        .put(format!("{}/_sandbox/listings", api.base))
        .json(&json!({ "sellerId": SELLER, "listings": listings }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let search = format!(
        "/listings/2021-08-01/items/{SELLER}?marketplaceIds={US}&pageSize=2&includedData=fulfillmentAvailability"
    );
    let r = api.call(Method::GET, &search, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["numberOfResults"], 5);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["items"][0]["sku"], "S1");
    assert_eq!(
        r.body["items"][0]["fulfillmentAvailability"],
        json!([{ "fulfillmentChannelCode": "DEFAULT", "quantity": 1 }])
    );
    let next = r.body["pagination"]["nextToken"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .call(Method::GET, &format!("{search}&pageToken={next}"), None)
        .await;
    assert_eq!(r.body["items"][0]["sku"], "S3");
    let r = api
        .call(
            Method::GET,
            &format!("/listings/2021-08-01/items/{SELLER}?marketplaceIds={US}&identifiers=S2,S4&identifiersType=SKU"),
            None,
        )
        .await;
    let skus: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["S2", "S4"]);

    // PUT replaces the item whole; DELETE delists it.
    let r = api
        .call(
            Method::PUT,
            &format!("/listings/2021-08-01/items/{SELLER}/S1?marketplaceIds={US}"),
            Some(
                json!({ "productType": "PRODUCT", "requirements": "LISTING_OFFER_ONLY",
                          "attributes": { "fulfillment_availability": fa(&[("newark", 6)]) } }),
            ),
        )
        .await;
    assert_eq!(r.body["status"], "ACCEPTED");
    assert_eq!(
        shown(&api.get("S1", US, "fulfillmentAvailability").await),
        ch(&[("newark", 6)])
    );
    let del = format!("/listings/2021-08-01/items/{SELLER}/S1?marketplaceIds={US}");
    let r = api.call(Method::DELETE, &del, None).await;
    assert_eq!(r.body["status"], "ACCEPTED");
    assert_eq!(
        api.get("S1", US, "summaries").await.status,
        StatusCode::NOT_FOUND
    );
    // Deleting what is not listed: the model has no 404 for deleteListingsItem.
    let before = h.requests().len();
    let r = api.call(Method::DELETE, &del, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "ACCEPTED");
    let log = h.requests();
    assert_eq!(log.len(), before + 1);
    assert!(!log[before].applied, "nothing was there to delete");
    // PUT and DELETE take one marketplace.
    let r = api
        .call(
            Method::DELETE,
            &format!("/listings/2021-08-01/items/{SELLER}/EU1?marketplaceIds={UK},{DE}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    h.shutdown().await;
}

fn models_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("ALLOT_SPAPI_MODELS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/spapi-models"),
    };
    if dir
        .join("listings-feed-processing-report-schema-v2.json")
        .is_file()
    {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "Amazon's models are not at {} (set ALLOT_SPAPI_MODELS)",
            dir.display()
        );
    }
    eprintln!(
        "skipping schema validation: Amazon's models not found at {} (set ALLOT_SPAPI_MODELS)",
        dir.display()
    );
    None
}

fn check_report_schema(report: &Value) {
    let Some(dir) = models_dir() else { return };
    let text = std::fs::read_to_string(dir.join("listings-feed-processing-report-schema-v2.json"))
        .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let v = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = v.iter_errors(report).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "report does not match the schema: {errors:?}\n{report}"
    );
}

/// createFeedDocument → upload → createFeed → poll → getFeedDocument → download the report.
async fn run_feed(
    api: &Api,
    content_type: &str,
    document: &[u8],
    mkts: &[&str],
) -> (Value, Value, Vec<String>) {
    let r = api
        .call(
            Method::POST,
            "/feeds/2021-06-30/documents",
            Some(json!({ "contentType": content_type })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let doc_id = r.body["feedDocumentId"].as_str().unwrap().to_string();
    let url = r.body["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&api.base));
    let up = api
        .c
        .put(&url)
        .header("content-type", content_type)
        .body(document.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), StatusCode::OK);
    let r = api
        .call(
            Method::POST,
            "/feeds/2021-06-30/feeds",
            Some(json!({ "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": mkts, "inputFeedDocumentId": doc_id })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let feed_id = r.body["feedId"].as_str().unwrap().to_string();
    let mut seen = Vec::new();
    // A 429 is waited out like any other status that is not final.
    let feed = common::wait_for_async("the feed to finish", Duration::from_secs(60), async || {
        let r = api
            .call(
                Method::GET,
                &format!("/feeds/2021-06-30/feeds/{feed_id}"),
                None,
            )
            .await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            return None;
        }
        assert_eq!(r.status, StatusCode::OK);
        let status = r.body["processingStatus"].as_str().unwrap().to_string();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        (status == "DONE" || status == "FATAL").then_some(r.body)
    })
    .await;
    assert_eq!(feed["feedType"], "JSON_LISTINGS_FEED");
    assert!(
        seen.iter()
            .all(|s| ["IN_QUEUE", "IN_PROGRESS", "DONE", "FATAL"].contains(&s.as_str()))
    );
    let result_id = feed["resultFeedDocumentId"].as_str().unwrap();
    let r = api
        .call(
            Method::GET,
            &format!("/feeds/2021-06-30/documents/{result_id}"),
            None,
        )
        .await;
    let url = r.body["url"].as_str().unwrap();
    let bytes = api.c.get(url).send().await.unwrap().bytes().await.unwrap();
    let text = if r.body["compressionAlgorithm"] == "GZIP" {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .unwrap();
        s
    } else {
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    (feed, serde_json::from_str(&text).unwrap(), seen)
}

fn fast() -> SandboxConfig {
    SandboxConfig {
        rate_scale: 20.0,
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn feed_flow_with_report_mapped_to_message_ids() {
    let h = start(fast()).await;
    // Slow phases (300 ms each at this scale) so every status is seen even on a busy machine.
    let slow = sandbox::start_with(
        fast(),
        SandboxOptions {
            feed_queue_time: Duration::from_secs(6),
            feed_processing_time: Duration::from_secs(6),
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap();
    let slow_api = Api::login(&slow).await;
    let doc = json!({ "header": { "sellerId": SELLER, "version": "2.0" }, "messages": [
        { "messageId": 1, "sku": "Q", "operationType": "DELETE" } ] });
    let (_, _, seen) = run_feed(
        &slow_api,
        "application/json",
        doc.to_string().as_bytes(),
        &[US],
    )
    .await;
    assert_eq!(seen, ["IN_QUEUE", "IN_PROGRESS", "DONE"]);
    slow.shutdown().await;

    let api = Api::login(&h).await;
    // An FBA channel is Amazon's to hold: seeded, as a seller write cannot set it.
    api.seed(
        json!([{ "sku": "F-KEEP", "marketplaceIds": [UK], "fulfillmentAvailability": [
        { "fulfillmentChannelCode": "DEFAULT", "quantity": 1 },
        { "fulfillmentChannelCode": "AMAZON_EU", "quantity": 2 } ] }]),
    )
    .await;
    let feed = json!({
        "header": { "sellerId": SELLER, "version": "2.0", "issueLocale": "en_US" },
        "messages": [
            { "messageId": 1, "sku": "F-KEEP", "operationType": "PATCH", "productType": "PRODUCT",
              "patches": op("merge", fa(&[("DEFAULT", 8)])) },
            { "messageId": 2, "sku": "F-BAD", "operationType": "PATCH", "productType": "PRODUCT",
              "patches": op("merge", json!([{ "fulfillment_channel_code": "DEFAULT", "quantity": -1 }])) },
            { "messageId": 3, "sku": "F-NEW", "operationType": "PARTIAL_UPDATE", "productType": "PRODUCT",
              "attributes": { "fulfillment_availability": fa(&[("DEFAULT", 4)]) } },
            { "messageId": 4, "sku": "F-NOPATH", "operationType": "PATCH", "productType": "PRODUCT",
              "patches": [{ "op": "replace", "path": "/fulfillment_availability", "value": [] }] },
            { "messageId": 5, "sku": "F-KEEP", "operationType": "PATCH", "productType": "PRODUCT",
              "patches": op("merge", fa(&[("DEFAULT", 9)])) }
        ]
    });
    let (status, report, _) = run_feed(
        &api,
        "application/json; charset=UTF-8",
        feed.to_string().as_bytes(),
        &[UK, DE],
    )
    .await;
    assert_eq!(status["processingStatus"], "DONE");
    check_report_schema(&report);
    assert_eq!(report["header"]["sellerId"], SELLER);
    assert_eq!(report["header"]["feedId"], status["feedId"]);
    assert_eq!(
        report["summary"],
        json!({ "errors": 2, "warnings": 0, "messagesProcessed": 5, "messagesAccepted": 3, "messagesInvalid": 2 })
    );
    let ids: Vec<(u64, &str)> = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["messageId"].as_u64().unwrap(), i["sku"].as_str().unwrap()))
        .collect();
    assert_eq!(ids, [(2, "F-BAD"), (4, "F-NOPATH")]);
    assert_eq!(
        report["issues"][0]["attributeName"],
        "fulfillment_availability"
    );
    // Messages apply in order through the PATCH logic (merge keeps AMAZON_EU; 9 is last).
    for m in [UK, DE] {
        let g = api.get("F-KEEP", m, "fulfillmentAvailability").await;
        assert_eq!(shown(&g), ch(&[("DEFAULT", 9), ("AMAZON_EU", 2)]), "{m}");
    }
    assert_eq!(
        shown(&api.get("F-NEW", DE, "fulfillmentAvailability").await),
        ch(&[("DEFAULT", 4)])
    );
    assert_eq!(
        api.get("F-BAD", UK, "summaries").await.status,
        StatusCode::NOT_FOUND
    );
    let log = api.inspect("/_sandbox/requests").await;
    let msgs: Vec<(u64, bool)> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["operation"] == "feedMessage")
        .map(|e| {
            (
                e["message_id"].as_u64().unwrap(),
                e["applied"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        msgs,
        [(1, true), (2, false), (3, true), (4, false), (5, true)]
    );

    // A document that is not JSON, or not version 2.0, makes the feed FATAL.
    for doc in [
        b"not json".to_vec(),
        json!({ "header": { "sellerId": SELLER, "version": "1.0" }, "messages": [] })
            .to_string()
            .into_bytes(),
    ] {
        let (status, report, _) = run_feed(&api, "application/json", &doc, &[UK]).await;
        assert_eq!(status["processingStatus"], "FATAL");
        check_report_schema(&report);
        assert_eq!(report["issues"][0]["severity"], "ERROR");
        assert!(report["issues"][0].get("messageId").is_none());
    }
    h.shutdown().await;
}

#[tokio::test]
async fn feed_reports_can_be_gzipped_and_uploads_check_content_type() {
    let h = sandbox::start_with(
        fast(),
        SandboxOptions {
            gzip_reports: true,
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap();
    let api = Api::login(&h).await;
    let r = api
        .call(
            Method::POST,
            "/feeds/2021-06-30/documents",
            Some(json!({ "contentType": "application/json; charset=UTF-8" })),
        )
        .await;
    let up = api
        .c
        .put(r.body["url"].as_str().unwrap())
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), StatusCode::FORBIDDEN);
    // createFeed refuses a document never uploaded.
    let r = api
        .call(
            Method::POST,
            "/feeds/2021-06-30/feeds",
            Some(json!({ "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [US], "inputFeedDocumentId": r.body["feedDocumentId"] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let feed = json!({ "header": { "sellerId": SELLER, "version": "2.0" }, "messages": [
        { "messageId": 7, "sku": "G1", "operationType": "PATCH", "productType": "PRODUCT",
          "patches": op("merge", fa(&[("DEFAULT", 2)])) } ] });
    let (_, report, _) =
        run_feed(&api, "application/json", feed.to_string().as_bytes(), &[US]).await;
    check_report_schema(&report);
    assert_eq!(report["summary"]["messagesAccepted"], 1);
    h.shutdown().await;
}

// On a paused clock, the sandbox's throttling runs on the test's time: the bucket refills only
// when the test moves time on.
#[tokio::test(start_paused = true)]
async fn throttled_once_the_bucket_is_empty() {
    // A tiny rate: the bucket holds its burst (5 for patch) and does not refill during the test.
    let h = start(SandboxConfig {
        rate_scale: 0.0001,
        ..SandboxConfig::default()
    })
    .await;
    let api = Api::login(&h).await;
    for i in 0..5 {
        let r = api
            .patch(&format!("T{i}"), US, op("merge", fa(&[("DEFAULT", 1)])))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers.contains_key("x-amzn-ratelimit-limit"));
    }
    let r = api
        .patch("T5", US, op("merge", fa(&[("DEFAULT", 1)])))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.body,
        json!({ "errors": [{ "code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource." }] })
    );
    assert!(r.headers.contains_key("x-amzn-requestid"));
    assert!(!r.headers.contains_key("x-amzn-ratelimit-limit"));
    // Other operations have their own bucket (get: burst 5).
    assert_eq!(api.get("T0", US, "summaries").await.status, StatusCode::OK);
    assert_eq!(
        api.get("T5", US, "summaries").await.status,
        StatusCode::NOT_FOUND
    );
    let log = api.inspect("/_sandbox/requests").await;
    let last_patch = log
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["operation"] == "patchListingsItem")
        .unwrap()
        .clone();
    assert_eq!(last_patch["status"], 429);
    assert_eq!(last_patch["applied"], false);
    assert_eq!(last_patch["fault"], "throttled");
    // 5 × 0.0001 a second: one token back after 2000 s.
    tokio::time::advance(Duration::from_secs(2001)).await;
    let r = api
        .patch("T5", US, op("merge", fa(&[("DEFAULT", 1)])))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    h.shutdown().await;
}

// On a paused clock, the window passes only when the test moves time on.
#[tokio::test(start_paused = true)]
async fn json_listings_feed_allows_five_submissions_per_window() {
    // Amazon's own rates: the 5-minute window cannot pass during the test.
    let h = start(SandboxConfig::default()).await;
    let api = Api::login(&h).await;
    let doc = json!({ "header": { "sellerId": SELLER, "version": "2.0" }, "messages": [
        { "messageId": 1, "sku": "W", "operationType": "DELETE" } ] });
    let r = api
        .call(
            Method::POST,
            "/feeds/2021-06-30/documents",
            Some(json!({ "contentType": "application/json" })),
        )
        .await;
    let id = r.body["feedDocumentId"].clone();
    api.c
        .put(r.body["url"].as_str().unwrap())
        .header("content-type", "application/json")
        .body(doc.to_string())
        .send()
        .await
        .unwrap();
    let create = |m: &'static str| {
        api.call(
            Method::POST,
            "/feeds/2021-06-30/feeds",
            Some(json!({ "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [m], "inputFeedDocumentId": id })),
        )
    };
    for _ in 0..5 {
        assert_eq!(create(UK).await.status, StatusCode::ACCEPTED);
    }
    let r = create(DE).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["errors"][0]["code"], "QuotaExceeded");
    // The window is per region.
    assert_eq!(create(US).await.status, StatusCode::ACCEPTED);
    // Five minutes later the region takes a feed again.
    tokio::time::advance(Duration::from_secs(300)).await;
    assert_eq!(create(DE).await.status, StatusCode::ACCEPTED);
    h.shutdown().await;
}

#[tokio::test]
async fn injected_failures_are_never_applied() {
    let h = start(SandboxConfig {
        rate_scale: 1000.0,
        fail_rate: 0.5,
        seed: 7,
        ..SandboxConfig::default()
    })
    .await;
    let api = Api::login(&h).await;
    let mut failed = Vec::new();
    let mut ok = Vec::new();
    let mut codes = std::collections::BTreeSet::new();
    for i in 0..60 {
        let sku = format!("X{i}");
        let r = api
            .patch(&sku, US, op("merge", fa(&[("DEFAULT", 1)])))
            .await;
        codes.insert(r.status.as_u16());
        if r.status == StatusCode::OK {
            ok.push(sku);
        } else {
            assert!(r.body["errors"][0]["code"].is_string());
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                assert!(!r.headers.contains_key("x-amzn-ratelimit-limit"));
            }
            failed.push(sku);
        }
    }
    assert_eq!(codes, [200, 429, 500, 503].into_iter().collect());
    assert!(!failed.is_empty() && !ok.is_empty());
    let state = api.inspect("/_sandbox/state").await;
    let listed: Vec<&str> = state["amazon"]["listings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["seller_sku"].as_str().unwrap())
        .collect();
    for s in &failed {
        assert!(!listed.contains(&s.as_str()), "{s} failed but was applied");
    }
    assert_eq!(listed.len(), ok.len());
    let log = api.inspect("/_sandbox/requests").await;
    for e in log.as_array().unwrap() {
        assert_eq!(e["applied"], e["status"] == 200, "{e}");
    }
    h.shutdown().await;
}

#[tokio::test]
async fn dropped_requests_close_the_connection() {
    let h = start(SandboxConfig {
        rate_scale: 1_000_000.0,
        drop_rate: 1.0,
        ..SandboxConfig::default()
    })
    .await;
    let api = Api::login(&h).await;
    let url = format!(
        "{}/listings/2021-08-01/items/{SELLER}/D1?marketplaceIds={US}",
        api.base
    );
    let send = || {
        api.c
            .patch(&url)
            .header("x-amz-access-token", &api.token)
            .json(
                &json!({ "productType": "PRODUCT", "patches": op("merge", fa(&[("DEFAULT", 5)])) }),
            )
            .send()
    };
    // Default: the work is done, then the answer is lost.
    assert!(send().await.is_err());
    let log = api.inspect("/_sandbox/requests").await;
    assert_eq!(log[0]["dropped"], true);
    assert_eq!(log[0]["applied"], true);
    // Dropped before the work: nothing applied.
    api.c
        .put(format!("{}/_sandbox/faults", api.base))
        .json(&json!({ "drop_after_apply": false }))
        .send()
        .await
        .unwrap();
    api.c
        .post(format!("{}/_sandbox/reset", api.base))
        .send()
        .await
        .unwrap();
    assert!(send().await.is_err());
    let log = api.inspect("/_sandbox/requests").await;
    assert_eq!(log[0]["dropped"], true);
    assert_eq!(log[0]["applied"], false);
    // Faults off: the retry goes through.
    api.c
        .put(format!("{}/_sandbox/faults", api.base))
        .json(&json!({ "drop_rate": 0.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);
    let state = api.inspect("/_sandbox/state").await;
    assert_eq!(state["amazon"]["listings"][0]["channels"]["DEFAULT"], 5);
    h.shutdown().await;
}

#[tokio::test]
async fn state_persists_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sandbox-state.json");
    let config = SandboxConfig {
        state_file: Some(file.clone()),
        rate_scale: 1_000_000.0,
        ..SandboxConfig::default()
    };
    let h = start(config.clone()).await;
    let api = Api::login(&h).await;
    api.patch("KEEP", DE, op("replace", fa(&[("DEFAULT", 12)])))
        .await;
    h.shutdown().await;
    let text = std::fs::read_to_string(&file).unwrap();
    // Only token hashes are written, never a token.
    assert!(!text.contains(&api.token));

    let h = start(config.clone()).await;
    let api2 = Api {
        base: h.base_url(),
        ..api
    };
    // The token issued before the restart is still valid.
    let g = api2.get("KEEP", UK, "fulfillmentAvailability").await;
    assert_eq!(g.status, StatusCode::NOT_FOUND);
    let g = api2.get("KEEP", DE, "fulfillmentAvailability").await;
    assert_eq!(shown(&g), ch(&[("DEFAULT", 12)]));
    h.shutdown().await;

    // A corrupt state file is an error, and is left as it was.
    std::fs::write(&file, "{ truncated").unwrap();
    let e = sandbox::start(config).await.err().expect("refused");
    assert!(e.to_string().contains("sandbox-state.json"), "{e}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{ truncated");
}

#[tokio::test]
async fn bad_config_is_refused() {
    for c in [
        SandboxConfig {
            fail_rate: 1.5,
            ..SandboxConfig::default()
        },
        SandboxConfig {
            rate_scale: 0.0,
            ..SandboxConfig::default()
        },
    ] {
        assert!(matches!(
            sandbox::start(c).await,
            Err(sandbox::SandboxError::InvalidConfig(_))
        ));
    }
}

#[tokio::test]
async fn latency_delays_answers_and_a_client_gone_is_never_applied() {
    let h = start(SandboxConfig {
        rate_scale: 1_000_000.0,
        latency: Duration::from_millis(300),
        ..SandboxConfig::default()
    })
    .await;
    let api = Api::login(&h).await;
    let t0 = std::time::Instant::now();
    let r = api
        .patch("L1", US, op("merge", fa(&[("DEFAULT", 1)])))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(t0.elapsed() >= Duration::from_millis(300));
    // A client that gives up during the latency: the request is logged, never applied.
    let impatient = Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let gone = impatient
        .patch(format!(
            "{}/listings/2021-08-01/items/{SELLER}/L2?marketplaceIds={US}",
            api.base
        ))
        .header("x-amz-access-token", &api.token)
        .json(&json!({ "productType": "PRODUCT", "patches": op("merge", fa(&[("DEFAULT", 2)])) }))
        .send()
        .await;
    assert!(gone.is_err());
    // The sandbox logs the request once the latency is over or the client is gone.
    let log = common::wait_for_async(
        "L2 in the request log",
        Duration::from_secs(10),
        async || {
            let log = api.inspect("/_sandbox/requests").await;
            let logged = log.as_array().unwrap().iter().any(|e| e["sku"] == "L2");
            logged.then_some(log)
        },
    )
    .await;
    let l2: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["sku"] == "L2")
        .collect();
    assert_eq!(l2.len(), 1, "{log}");
    assert_eq!(l2[0]["fault"], "client-gone");
    assert_eq!(l2[0]["applied"], false);
    assert_eq!(
        api.get("L2", US, "summaries").await.status,
        StatusCode::NOT_FOUND
    );
    h.shutdown().await;
}

#[tokio::test]
async fn an_unfinished_feed_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let slow = SandboxConfig {
        state_file: Some(file.clone()),
        rate_scale: 0.5,
        ..SandboxConfig::default()
    };
    let h = start(slow).await;
    let api = Api::login(&h).await;
    let doc = json!({ "header": { "sellerId": SELLER, "version": "2.0" }, "messages": [
        { "messageId": 1, "sku": "R1", "operationType": "PATCH", "productType": "PRODUCT",
          "patches": op("replace", fa(&[("DEFAULT", 3)])) } ] });
    let r = api
        .call(
            Method::POST,
            "/feeds/2021-06-30/documents",
            Some(json!({ "contentType": "application/json" })),
        )
        .await;
    let id = r.body["feedDocumentId"].clone();
    api.c
        .put(r.body["url"].as_str().unwrap())
        .header("content-type", "application/json")
        .body(doc.to_string())
        .send()
        .await
        .unwrap();
    let r = api
        .call(
            Method::POST,
            "/feeds/2021-06-30/feeds",
            Some(json!({ "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [US], "inputFeedDocumentId": id })),
        )
        .await;
    let feed_id = r.body["feedId"].as_str().unwrap().to_string();
    // Stopped long before the feed could finish (4 s at half speed).
    h.shutdown().await;

    let h = start(SandboxConfig {
        state_file: Some(file),
        rate_scale: 100.0,
        ..SandboxConfig::default()
    })
    .await;
    let api = Api {
        base: h.base_url(),
        ..api
    };
    let status =
        common::wait_for_async("the feed to finish", Duration::from_secs(10), async || {
            let r = api
                .call(
                    Method::GET,
                    &format!("/feeds/2021-06-30/feeds/{feed_id}"),
                    None,
                )
                .await;
            let status = r.body["processingStatus"].clone();
            (status == "DONE").then_some(status)
        })
        .await;
    assert_eq!(status, "DONE");
    assert_eq!(
        shown(&api.get("R1", US, "fulfillmentAvailability").await),
        ch(&[("DEFAULT", 3)])
    );
    h.shutdown().await;
}

#[test]
fn cli_refuses_a_remote_address_without_allow_remote() {
    let out = assert_cmd::Command::cargo_bin("allot")
        .unwrap()
        .args(["sandbox", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-remote"), "{err}");
}

/// The real binary: prints its URL and apply's flags, serves, and saves its state on Ctrl-C.
#[cfg(unix)]
#[tokio::test]
async fn cli_serves_and_saves_on_ctrl_c() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cli-state.json");
    let seed = dir.path().join("seed.json");
    std::fs::write(
        &seed,
        json!({ "sellerId": SELLER, "listings": [{ "sku": "SEEDED", "marketplaceIds": [US],
            "fulfillmentAvailability": [{ "fulfillmentChannelCode": "DEFAULT", "quantity": 8 }] }] })
        .to_string(),
    )
    .unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("allot"))
        .args([
            "sandbox",
            "--addr",
            "127.0.0.1:0",
            "--rate-scale",
            "100",
            "--state",
        ])
        .arg(&file)
        .arg("--listings")
        .arg(&seed)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    let rest: Vec<String> = lines.by_ref().take(9).map(|l| l.unwrap()).collect();
    let rest = rest.join("\n");
    assert!(
        rest.contains(&format!(
            "--endpoint {base} --lwa-endpoint {base}/auth/o2/token"
        )),
        "{rest}"
    );
    let c = Client::new();
    let t: Value = c
        .post(format!("{base}/auth/o2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "r"),
            ("client_id", "a"),
            ("client_secret", "s"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api = Api {
        c,
        base,
        token: t["access_token"].as_str().unwrap().to_string(),
    };
    let r = api
        .patch("CLI-1", US, op("merge", fa(&[("DEFAULT", 3)])))
        .await;
    assert_eq!(r.body["status"], "ACCEPTED");
    assert_eq!(
        shown(&api.get("SEEDED", US, "fulfillmentAvailability").await),
        ch(&[("DEFAULT", 8)])
    );
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Never hang the suite on a sandbox that does not stop.
    let stopped = common::poll_until(Duration::from_secs(10), || child.try_wait().unwrap());
    let Some(status) = stopped else {
        let _ = child.kill();
        panic!("the sandbox did not stop within 10 s of Ctrl-C");
    };
    assert!(status.success(), "{status:?}");
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.contains("CLI-1"), "{saved}");
}

#[tokio::test]
async fn cancel_seed_errors_and_the_typed_log() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    // A seed with one bad entry seeds nothing.
    let r = api
        .c
        .put(format!("{}/_sandbox/listings", api.base))
        .json(&json!({ "sellerId": SELLER, "listings": [
            { "sku": "OK1", "marketplaceIds": [US] },
            { "sku": "BAD", "marketplaceIds": ["NOPE"] } ] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let b: Value = r.json().await.unwrap();
    assert!(b["errors"][0]["message"].as_str().unwrap().contains("NOPE"));
    assert_eq!(
        api.get("OK1", US, "summaries").await.status,
        StatusCode::NOT_FOUND
    );

    // A feed still IN_QUEUE can be cancelled, and is then never processed.
    let slow = sandbox::start_with(
        fast(),
        SandboxOptions {
            feed_queue_time: Duration::from_secs(3600),
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap();
    let sapi = Api::login(&slow).await;
    let r = sapi
        .call(
            Method::POST,
            "/feeds/2021-06-30/documents",
            Some(json!({ "contentType": "application/json" })),
        )
        .await;
    sapi.c
        .put(r.body["url"].as_str().unwrap())
        .header("content-type", "application/json")
        .body(
            json!({ "header": { "sellerId": SELLER, "version": "2.0" }, "messages": [
            { "messageId": 1, "sku": "C1", "operationType": "DELETE" } ] })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let r = sapi
        .call(
            Method::POST,
            "/feeds/2021-06-30/feeds",
            Some(json!({ "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [US], "inputFeedDocumentId": r.body["feedDocumentId"] })),
        )
        .await;
    let feed = format!(
        "/feeds/2021-06-30/feeds/{}",
        r.body["feedId"].as_str().unwrap()
    );
    assert_eq!(
        sapi.call(Method::DELETE, &feed, None).await.status,
        StatusCode::OK
    );
    let r = sapi.call(Method::GET, &feed, None).await;
    assert_eq!(r.body["processingStatus"], "CANCELLED");
    assert!(r.body.get("inputFeedDocumentId").is_none());
    assert_eq!(
        sapi.call(Method::DELETE, &feed, None).await.status,
        StatusCode::BAD_REQUEST
    );
    let log = slow.requests();
    let ops: Vec<(&str, bool)> = log
        .iter()
        .map(|e| (e.operation.as_str(), e.applied))
        .collect();
    assert_eq!(
        ops,
        [
            ("createFeedDocument", true),
            ("createFeed", true),
            ("cancelFeed", true),
            ("getFeed", false),
            ("cancelFeed", false)
        ]
    );
    let r = sapi
        .call(
            Method::GET,
            "/feeds/2021-06-30/feeds?feedTypes=JSON_LISTINGS_FEED&processingStatuses=CANCELLED,DONE",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["feeds"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["feeds"][0]["processingStatus"], "CANCELLED");
    let r = sapi
        .call(
            Method::GET,
            "/feeds/2021-06-30/feeds?processingStatuses=IN_QUEUE",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The HTTP log reads back into the same type.
    let typed: Vec<sandbox::LogEntry> =
        serde_json::from_value(sapi.inspect("/_sandbox/requests").await).unwrap();
    assert_eq!(typed.len(), log.len() + 2);
    slow.shutdown().await;
    h.shutdown().await;
}

#[tokio::test]
async fn scripted_faults_come_in_order() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    let r = api
        .c
        .put(format!("{}/_sandbox/faults", api.base))
        .json(&json!({ "next": ["503", "pass", "429", "drop-before", "500"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut seen = Vec::new();
    for i in 0..6 {
        let sku = format!("N{i}");
        let url = format!(
            "{}/listings/2021-08-01/items/{SELLER}/{sku}?marketplaceIds={US}",
            api.base
        );
        let r = api
            .c
            .patch(&url)
            .header("x-amz-access-token", &api.token)
            .json(
                &json!({ "productType": "PRODUCT", "patches": op("merge", fa(&[("DEFAULT", 1)])) }),
            )
            .send()
            .await;
        seen.push(r.map(|r| r.status().as_u16()).unwrap_or(0));
    }
    assert_eq!(seen, [503, 200, 429, 0, 500, 200]);
    let log = h.requests();
    let applied: Vec<bool> = log.iter().map(|e| e.applied).collect();
    assert_eq!(applied, [false, true, false, false, false, true]);
    assert_eq!(log[1].marketplace_ids, [US]);
    // The same from Rust, for in-process tests.
    h.script_faults([sandbox::NextFault::DropAfter]);
    let r = api
        .c
        .patch(format!(
            "{}/listings/2021-08-01/items/{SELLER}/N9?marketplaceIds={US}",
            api.base
        ))
        .header("x-amz-access-token", &api.token)
        .json(&json!({ "productType": "PRODUCT", "patches": op("merge", fa(&[("DEFAULT", 4)])) }))
        .send()
        .await;
    assert!(r.is_err());
    let last = h.requests().pop().unwrap();
    assert!(last.dropped && last.applied);
    assert_eq!(
        shown(&api.get("N9", US, "fulfillmentAvailability").await),
        ch(&[("DEFAULT", 4)])
    );
    h.shutdown().await;
}

/// The FBA listing a blind tool writes to: `FBA-<n>` in the US, Amazon holding 12.
fn fba_seed(sku: &str, qty: u64) -> Value {
    json!([{ "sku": sku, "marketplaceIds": [US], "fulfillmentAvailability": [
        { "fulfillmentChannelCode": "AMAZON_NA", "quantity": qty } ] }])
}

#[tokio::test]
async fn fba_listing_keeps_amazons_channel_and_a_default_write_adds_a_second_offer() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    let (st, body) = api.seed(fba_seed("FBA-1", 12)).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    api.seed(fba_seed("FBA-2", 5)).await;

    // getListingsItem shows the FBA channel as Amazon does, so `--current live` sees it.
    let g = api
        .get("FBA-1", US, "fulfillmentAvailability,summaries")
        .await;
    assert_eq!(shown(&g), ch(&[("AMAZON_NA", 12)]));
    assert_eq!(
        g.body["summaries"][0]["status"],
        json!(["BUYABLE", "DISCOVERABLE"])
    );
    let state = api.inspect("/_sandbox/state").await;
    assert_eq!(state["summary"]["fba"], 2);
    assert_eq!(state["summary"]["fba_with_default"], 0);

    // The harm: a raw DEFAULT write is accepted and adds a merchant offer beside the FBA one
    // (merge and replace alike); Amazon's quantity is untouched.
    let r = api
        .patch("FBA-1", US, op("merge", fa(&[("DEFAULT", 40)])))
        .await;
    assert_eq!(r.body["status"], "ACCEPTED", "{}", r.body);
    let r = api
        .patch("FBA-2", US, op("replace", fa(&[("DEFAULT", 40)])))
        .await;
    assert_eq!(r.body["status"], "ACCEPTED", "{}", r.body);
    let g = api.get("FBA-1", US, "fulfillmentAvailability").await;
    assert_eq!(shown(&g), ch(&[("DEFAULT", 40), ("AMAZON_NA", 12)]));
    let g = api.get("FBA-2", US, "fulfillmentAvailability").await;
    assert_eq!(shown(&g), ch(&[("DEFAULT", 40), ("AMAZON_NA", 5)]));
    let g = api.get("FBA-2", US, "attributes").await;
    assert_eq!(
        g.body["attributes"]["fulfillment_availability"],
        json!([{ "fulfillment_channel_code": "DEFAULT", "quantity": 40 },
               { "fulfillment_channel_code": "AMAZON_NA", "quantity": 5 }])
    );
    let state = api.inspect("/_sandbox/state").await;
    assert_eq!(state["summary"]["fba_with_default"], 2);

    // Naming the FBA channel: refused with an ERROR issue, in preview too; nothing changes.
    for (body_op, mode) in [
        ("merge", ""),
        ("replace", "&mode=VALIDATION_PREVIEW"),
        ("delete", ""),
    ] {
        let r = api
            .patch(
                "FBA-1",
                &format!("{US}{mode}"),
                op(body_op, fa(&[("DEFAULT", 1), ("AMAZON_NA", 99)])),
            )
            .await;
        assert_eq!(r.body["status"], "INVALID", "{body_op}: {}", r.body);
        let issue = &r.body["issues"][0];
        assert_eq!(issue["severity"], "ERROR");
        assert_eq!(issue["attributeNames"], json!(["fulfillment_availability"]));
        assert!(issue["message"].as_str().unwrap().contains("AMAZON_NA"));
    }
    let g = api.get("FBA-1", US, "fulfillmentAvailability").await;
    assert_eq!(shown(&g), ch(&[("DEFAULT", 40), ("AMAZON_NA", 12)]));
    // A delete of every channel removes the seller's, never Amazon's.
    let r = api
        .patch(
            "FBA-1",
            US,
            json!([{ "op": "delete", "path": "/attributes/fulfillment_availability" }]),
        )
        .await;
    assert_eq!(r.body["status"], "ACCEPTED", "{}", r.body);
    let g = api.get("FBA-1", US, "fulfillmentAvailability").await;
    assert_eq!(shown(&g), ch(&[("AMAZON_NA", 12)]));

    // A seed's FBA code must be its region's.
    let (st, body) = api
        .seed(
            json!([{ "sku": "X", "marketplaceIds": [US], "fulfillmentAvailability": [
            { "fulfillmentChannelCode": "AMAZON_EU", "quantity": 1 } ] }]),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("AMAZON_EU")
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_feed_message_on_an_fba_listing_adds_default_beside_it() {
    let h = start(fast()).await;
    let api = Api::login(&h).await;
    api.seed(
        json!([{ "sku": "FBA-EU", "marketplaceIds": [UK], "fulfillmentAvailability": [
        { "fulfillmentChannelCode": "AMAZON_EU", "quantity": 7 } ] }]),
    )
    .await;
    let feed = json!({
        "header": { "sellerId": SELLER, "version": "2.0" },
        "messages": [
            { "messageId": 1, "sku": "FBA-EU", "operationType": "PATCH", "productType": "PRODUCT",
              "patches": op("replace", fa(&[("DEFAULT", 40)])) },
            { "messageId": 2, "sku": "FBA-EU", "operationType": "PATCH", "productType": "PRODUCT",
              "patches": op("merge", fa(&[("AMAZON_EU", 3)])) },
            { "messageId": 3, "sku": "FBA-EU", "operationType": "UPDATE", "productType": "PRODUCT",
              "attributes": { "fulfillment_availability": fa(&[("AMAZON_EU", 3)]) } }
        ]
    });
    let (status, report, _) =
        run_feed(&api, "application/json", feed.to_string().as_bytes(), &[UK]).await;
    assert_eq!(status["processingStatus"], "DONE");
    check_report_schema(&report);
    assert_eq!(report["summary"]["messagesAccepted"], 1);
    assert_eq!(report["summary"]["messagesInvalid"], 2);
    let ids: Vec<u64> = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["messageId"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [2, 3]);
    let g = api.get("FBA-EU", UK, "fulfillmentAvailability").await;
    assert_eq!(shown(&g), ch(&[("DEFAULT", 40), ("AMAZON_EU", 7)]));
    h.shutdown().await;
}

#[tokio::test]
async fn a_patch_of_an_unknown_sku_creates_an_offer_only_listing() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    api.seed(
        json!([{ "sku": "KNOWN", "marketplaceIds": [US], "fulfillmentAvailability": [
        { "fulfillmentChannelCode": "DEFAULT", "quantity": 1 } ] }]),
    )
    .await;
    // Amazon accepts both; only the unknown SKU becomes an incomplete listing.
    for sku in ["GHOST-1", "KNOWN"] {
        let r = api.patch(sku, US, op("merge", fa(&[("DEFAULT", 5)]))).await;
        assert_eq!(r.body["status"], "ACCEPTED", "{}", r.body);
    }
    let g = api
        .get("GHOST-1", US, "summaries,issues,fulfillmentAvailability")
        .await;
    assert_eq!(g.status, StatusCode::OK);
    assert_eq!(g.body["summaries"][0]["status"], json!([]));
    assert_eq!(g.body["issues"][0]["code"], "4000003");
    assert_eq!(shown(&g), ch(&[("DEFAULT", 5)]));
    let g = api.get("KNOWN", US, "summaries,issues").await;
    assert_eq!(
        g.body["summaries"][0]["status"],
        json!(["BUYABLE", "DISCOVERABLE"])
    );
    assert_eq!(g.body["issues"], json!([]));

    let state = api.inspect("/_sandbox/state").await;
    assert_eq!(state["summary"]["offer_only"], 1);
    let ghosts: Vec<&str> = state["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["offer_only"] == true)
        .map(|i| i["seller_sku"].as_str().unwrap())
        .collect();
    assert_eq!(ghosts, ["GHOST-1"]);

    // A seed can hold one too; a PUT of the whole item completes it.
    api.seed(json!([{ "sku": "GHOST-2", "marketplaceIds": [US], "offerOnly": true }]))
        .await;
    assert_eq!(
        api.inspect("/_sandbox/state").await["summary"]["offer_only"],
        2
    );
    let r = api
        .call(
            Method::PUT,
            &format!("/listings/2021-08-01/items/{SELLER}/GHOST-1?marketplaceIds={US}"),
            Some(json!({ "productType": "PRODUCT", "attributes": {
                "item_name": [{ "value": "Mat" }],
                "fulfillment_availability": fa(&[("DEFAULT", 5)]) } })),
        )
        .await;
    assert_eq!(r.body["status"], "ACCEPTED");
    let g = api.get("GHOST-1", US, "summaries").await;
    assert_eq!(
        g.body["summaries"][0]["status"],
        json!(["BUYABLE", "DISCOVERABLE"])
    );
    assert_eq!(
        api.inspect("/_sandbox/state").await["summary"]["offer_only"],
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn fba_and_offer_only_listings_survive_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let config = SandboxConfig {
        state_file: Some(file.clone()),
        rate_scale: 1_000_000.0,
        ..SandboxConfig::default()
    };
    let h = start(config.clone()).await;
    let api = Api::login(&h).await;
    api.seed(fba_seed("FBA-1", 12)).await;
    api.patch("FBA-1", US, op("merge", fa(&[("DEFAULT", 40)])))
        .await;
    api.patch("GHOST", US, op("merge", fa(&[("DEFAULT", 3)])))
        .await;
    let before = api.inspect("/_sandbox/state").await;
    h.shutdown().await;
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let fba = saved["amazon"]["listings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["seller_sku"] == "FBA-1")
        .unwrap();
    assert_eq!(fba["channels"], json!({ "AMAZON_NA": 12, "DEFAULT": 40 }));

    let h = start(config).await;
    let api = Api {
        base: h.base_url(),
        ..api
    };
    let after = api.inspect("/_sandbox/state").await;
    assert_eq!(after["summary"], before["summary"]);
    assert_eq!(
        after["summary"],
        json!({ "listings": 2, "fba": 1, "fba_with_default": 1, "offer_only": 1 })
    );
    let g = api.get("FBA-1", US, "fulfillmentAvailability").await;
    assert_eq!(shown(&g), ch(&[("DEFAULT", 40), ("AMAZON_NA", 12)]));
    let g = api.get("GHOST", US, "summaries").await;
    assert_eq!(g.body["summaries"][0]["status"], json!([]));
    h.shutdown().await;
}

/// `allot plan --current live` reads an FBA SKU's channel from the sandbox as from Amazon.
#[tokio::test]
async fn current_live_sees_the_fba_channel() {
    use allot::spapi::client::{Client as SpClient, ClientConfig, parse_endpoint};
    use allot::spapi::{Credentials, Secret};
    let h = start_quick().await;
    let api = Api::login(&h).await;
    api.seed(fba_seed("FBA-1", 12)).await;
    let client = SpClient::new(
        Credentials {
            client_id: Secret::new("app"),
            client_secret: Secret::new("secret"),
            refresh_token: Secret::new("Atzr|test"),
        },
        ClientConfig {
            endpoint: Some(parse_endpoint(&h.base_url()).unwrap()),
            lwa_endpoint: parse_endpoint(&h.lwa_url()).unwrap(),
            rate_scale: 1000.0,
            ..ClientConfig::default()
        },
    )
    .unwrap();
    let current = allot::spapi::live::fetch_current(&client, SELLER, US, &["FBA-1".to_string()])
        .await
        .unwrap();
    // Amazon's channel makes the SKU Amazon-fulfilled: known, listed, never a quantity to write.
    assert_eq!(current.amazon_fulfilled["FBA-1"], "AMAZON_NA");
    assert!(current.channels("FBA-1").is_none());
    assert!(current.listed_in["FBA-1"].contains("US"));
    h.shutdown().await;
}

/// `allot sandbox --state FILE` (the real binary) on an ephemeral loopback port; its base URL.
#[cfg(unix)]
fn spawn_cli_sandbox(file: &std::path::Path, extra: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("allot"))
        .args([
            "sandbox",
            "--addr",
            "127.0.0.1:0",
            "--rate-scale",
            "1000000",
        ])
        .arg("--state")
        .arg(file)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    // Keep reading: a closed pipe would kill the sandbox on its next line of output.
    std::thread::spawn(move || lines.count());
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    (child, base)
}

#[cfg(unix)]
async fn cli_login(base: &str) -> Api {
    let c = Client::new();
    let t: Value = c
        .post(format!("{base}/auth/o2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "r"),
            ("client_id", "a"),
            ("client_secret", "s"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Api {
        c,
        base: base.to_string(),
        token: t["access_token"].as_str().unwrap().to_string(),
    }
}

/// Writes answered ACCEPTED survive `kill -9`: the answer is sent only once the write is in the
/// state file. (With a debounced save, the last writes of a burst were lost.)
#[cfg(unix)]
#[tokio::test]
async fn accepted_writes_survive_kill_9_of_the_cli_sandbox() {
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("durable.json");
    let (mut child, base) = spawn_cli_sandbox(&file, &[]);
    let api = std::sync::Arc::new(cli_login(&base).await);
    let n = 400;
    let started = std::time::Instant::now();
    let accepted: Vec<(String, u64)> = futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                let sku = format!("D-{i:04}");
                let q = (i * 7 % 50) as u64;
                let r = api
                    .patch(&sku, US, op("merge", fa(&[("DEFAULT", q)])))
                    .await;
                (r.body["status"] == "ACCEPTED").then_some((sku, q))
            }
        })
        .buffer_unordered(8)
        .filter_map(|x| async move { x })
        .collect()
        .await;
    // Right after the last answer: no Ctrl-C, no chance to save on the way out.
    child.kill().unwrap();
    child.wait().unwrap();
    let elapsed = started.elapsed();
    eprintln!(
        "{n} PATCHes with --state: {:.0}/s",
        n as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(accepted.len(), n);

    let (mut child, base) = spawn_cli_sandbox(&file, &[]);
    let api = cli_login(&base).await;
    let state = api.inspect("/_sandbox/state").await;
    let kept: std::collections::BTreeMap<String, u64> = state["amazon"]["listings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["seller_sku"].as_str().unwrap().to_string(),
                l["channels"]["DEFAULT"].as_u64().unwrap(),
            )
        })
        .collect();
    let lost: Vec<&(String, u64)> = accepted
        .iter()
        .filter(|(sku, q)| kept.get(sku) != Some(q))
        .collect();
    // The request log is saved with the state: every accepted PATCH is in it.
    let log: Vec<Value> = serde_json::from_value(api.inspect("/_sandbox/requests").await).unwrap();
    let logged = log
        .iter()
        .filter(|e| e["operation"] == "patchListingsItem" && e["applied"] == true)
        .count();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        lost.is_empty(),
        "{} accepted writes lost: {lost:?}",
        lost.len()
    );
    assert_eq!(logged, n);
}

/// One HTTP/1.1 request written by hand, so the Host header is exactly what a misconfigured
/// client or proxy would send (reqwest always derives it from the URL). Answers the body.
async fn raw_request(addr: std::net::SocketAddr, head: &str, body: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    let text = String::from_utf8_lossy(&out);
    let (_, body) = text.split_once("\r\n\r\n").unwrap_or(("", ""));
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Document URLs name the sandbox's own address, whatever Host header the client sent: a
/// client with a naive endpoint override must not be sent elsewhere with its feed.
#[tokio::test]
async fn document_urls_use_the_bound_address_not_the_host_header() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    let token = &api.token;
    let body = raw_request(
        h.addr,
        &format!(
            "POST /feeds/2021-06-30/documents HTTP/1.1\r\nHost: attacker.example\r\nx-amz-access-token: {token}\r\nContent-Type: application/json"
        ),
        r#"{"contentType":"application/json"}"#,
    )
    .await;
    let url = body["url"].as_str().unwrap_or_default();
    assert!(
        url.starts_with(&format!("{}/_storage/", h.base_url())),
        "{body}"
    );
    let id = body["feedDocumentId"].as_str().unwrap();
    let body = raw_request(
        h.addr,
        &format!(
            "GET /feeds/2021-06-30/documents/{id} HTTP/1.1\r\nHost: attacker.example:80\r\nx-amz-access-token: {token}"
        ),
        "",
    )
    .await;
    let url = body["url"].as_str().unwrap_or_default();
    assert!(
        url.starts_with(&format!("{}/_storage/", h.base_url())),
        "{body}"
    );
    h.shutdown().await;
}

/// The request log keeps the last N entries only (it grew without bound under load).
#[tokio::test]
async fn the_request_log_is_bounded() {
    let h = sandbox::start_with(
        SandboxConfig {
            rate_scale: 1_000_000.0,
            ..SandboxConfig::default()
        },
        SandboxOptions {
            log_limit: 50,
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap();
    let api = Api::login(&h).await;
    for i in 0..200 {
        api.get(&format!("L-{i}"), US, "summaries").await;
    }
    let log = h.requests();
    assert_eq!(log.len(), 50);
    assert_eq!(log[0].seq, 151);
    assert_eq!(log[49].seq, 200);
    let r = api
        .c
        .get(format!("{}/_sandbox/requests?since=190", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-sandbox-log-limit"], "50");
    assert_eq!(r.headers()["x-sandbox-log-first-seq"], "151");
    let tail: Vec<Value> = r.json().await.unwrap();
    assert_eq!(tail.len(), 10);
    assert_eq!(SandboxOptions::default().log_limit, 5_000);
    h.shutdown().await;
}

/// Seller SKUs Amazon would never take (over 40 characters, control characters) are refused:
/// 400 on the Listings API, an invalid message in a feed, an error when seeding.
#[tokio::test]
async fn bad_seller_skus_are_refused() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    let ok40 = "S".repeat(40);
    let r = api
        .patch(&ok40, US, op("merge", fa(&[("DEFAULT", 1)])))
        .await;
    assert_eq!(r.body["status"], "ACCEPTED", "{}", r.body);
    for bad in [
        "S".repeat(41),
        "X".repeat(5000),
        "NUL\0SKU".into(),
        "TAB\tSKU".into(),
    ] {
        let r = api
            .patch(&bad, US, op("merge", fa(&[("DEFAULT", 1)])))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        let msg = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(msg.contains("40 characters"), "{msg}");
        assert!(msg.len() < 200, "the SKU is not echoed: {msg}");
        assert_eq!(
            api.get(&bad, US, "summaries").await.status,
            StatusCode::BAD_REQUEST
        );
        let sku = percent_encoding::utf8_percent_encode(&bad, percent_encoding::NON_ALPHANUMERIC);
        let path = format!("/listings/2021-08-01/items/{SELLER}/{sku}?marketplaceIds={US}");
        let r = api
            .call(
                Method::PUT,
                &path,
                Some(json!({ "productType": "PRODUCT", "attributes": {} })),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let r = api.call(Method::DELETE, &path, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }
    let (status, body) = api
        .seed(json!([{ "sku": "Y".repeat(41), "marketplaceIds": [US] }]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let state = api.inspect("/_sandbox/state").await;
    assert_eq!(state["summary"]["listings"], 1, "only the 40-character SKU");
    h.shutdown().await;
}

/// The model's `consumes: application/json`: a PATCH sent as text/plain is a 415, not applied.
#[tokio::test]
async fn a_body_that_is_not_declared_json_is_415() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    let body = json!({ "productType": "PRODUCT", "patches": op("merge", fa(&[("DEFAULT", 3)])) });
    for ct in ["text/plain", "application/x-www-form-urlencoded"] {
        let r = api
            .c
            .patch(format!(
                "{}/listings/2021-08-01/items/{SELLER}/CT-1?marketplaceIds={US}",
                api.base
            ))
            .header("x-amz-access-token", &api.token)
            .header("content-type", ct)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["errors"][0]["code"], "UnsupportedMediaType");
    }
    // Parameters after the media type are fine.
    let r = api
        .c
        .patch(format!(
            "{}/listings/2021-08-01/items/{SELLER}/CT-1?marketplaceIds={US}",
            api.base
        ))
        .header("x-amz-access-token", &api.token)
        .header("content-type", "application/json; charset=UTF-8")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let applied = h.requests().iter().filter(|e| e.applied).count();
    assert_eq!(applied, 1);
    h.shutdown().await;
}

/// getFeeds' `nextToken` is the only parameter of the next call (the model), so it must carry
/// the page size and the filters.
#[tokio::test]
async fn get_feeds_next_token_keeps_page_size_and_filters() {
    let h = sandbox::start_with(
        SandboxConfig {
            rate_scale: 1_000.0,
            ..SandboxConfig::default()
        },
        SandboxOptions {
            feed_queue_time: Duration::from_secs(3_600_000),
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap();
    let api = Api::login(&h).await;
    for mkt in [US, US, US, UK, UK] {
        let r = api
            .call(
                Method::POST,
                "/feeds/2021-06-30/documents",
                Some(json!({ "contentType": "application/json" })),
            )
            .await;
        api.c
            .put(r.body["url"].as_str().unwrap())
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let r = api
            .call(
                Method::POST,
                "/feeds/2021-06-30/feeds",
                Some(
                    json!({ "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [mkt],
                             "inputFeedDocumentId": r.body["feedDocumentId"] }),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    }
    let r = api
        .call(
            Method::GET,
            &format!("/feeds/2021-06-30/feeds?feedTypes=JSON_LISTINGS_FEED&pageSize=2&marketplaceIds={US}"),
            None,
        )
        .await;
    assert_eq!(r.body["feeds"].as_array().unwrap().len(), 2, "{}", r.body);
    let token = r.body["nextToken"].as_str().unwrap().to_string();
    let r = api
        .call(
            Method::GET,
            &format!("/feeds/2021-06-30/feeds?nextToken={token}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let page: Vec<&Value> = r.body["feeds"].as_array().unwrap().iter().collect();
    assert_eq!(page.len(), 1, "the third US feed only: {}", r.body);
    assert_eq!(page[0]["marketplaceIds"], json!([US]));
    assert!(r.body.get("nextToken").is_none());
    // Anything beside nextToken is refused, as the model says.
    let r = api
        .call(
            Method::GET,
            &format!("/feeds/2021-06-30/feeds?nextToken={token}&pageSize=5"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    h.shutdown().await;
}

// ---- Reports API 2021-06-30 and Supply Sources API 2020-07-01 ----

const CA: &str = "A2EUQ1WTGCTBG2";
const REPORTS: &str = "/reports/2021-06-30/reports";
const SOURCES: &str = "/supplySources/2020-07-01/supplySources";
const ALL_LISTINGS: &str = "GET_MERCHANT_LISTINGS_ALL_DATA";

/// Check `v` against the definition `def` of Amazon's model file `model` (Swagger 2.0
/// definitions wrapped into a Draft 4 schema).
fn check_model(model: &str, def: &str, v: &Value) {
    let errors = model_errors(model, def, v);
    assert!(errors.is_empty(), "{def} does not match: {errors:?}\n{v}");
}

fn model_errors(model: &str, def: &str, v: &Value) -> Vec<String> {
    let Some(dir) = models_dir() else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(dir.join(model)).unwrap();
    let m: Value = serde_json::from_str(&text).unwrap();
    let schema = json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "$ref": format!("#/definitions/{def}"),
        "definitions": m["definitions"],
    });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .expect("the model's definitions compile");
    validator.iter_errors(v).map(|e| e.to_string()).collect()
}

/// The checks above have teeth: a wrong answer fails them.
#[test]
fn model_checks_reject_wrong_answers() {
    if models_dir().is_none() {
        return;
    }
    let r = "reports_2021-06-30.json";
    assert!(!model_errors(r, "Report", &json!({ "reportId": 1 })).is_empty());
    assert!(
        !model_errors(
            r,
            "ReportDocument",
            &json!({ "url": "x", "compressionAlgorithm": "ZIP" })
        )
        .is_empty()
    );
    assert!(!model_errors(r, "ErrorList", &json!({ "errors": [{ "code": "X" }] })).is_empty());
    let s = "supplySources_2020-07-01.json";
    assert!(!model_errors(s, "SupplySource", &json!({ "status": "Deleted" })).is_empty());
    assert!(
        !model_errors(
            s,
            "CreateSupplySourceResponse",
            &json!({ "supplySourceId": "x" })
        )
        .is_empty()
    );
}

fn check_reports(def: &str, v: &Value) {
    check_model("reports_2021-06-30.json", def, v);
}

fn check_sources(def: &str, v: &Value) {
    check_model("supplySources_2020-07-01.json", def, v);
}

/// createReport for the All Listings report; the report ID.
async fn create_report(api: &Api, mkts: &[&str]) -> String {
    let r = api
        .call(
            Method::POST,
            REPORTS,
            Some(json!({ "reportType": ALL_LISTINGS, "marketplaceIds": mkts })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    check_reports("CreateReportResponse", &r.body);
    r.body["reportId"].as_str().unwrap().to_string()
}

/// Poll getReport until the report is final (429s waited out); the report and statuses seen.
async fn wait_report(api: &Api, id: &str) -> (Value, Vec<String>) {
    let mut seen: Vec<String> = Vec::new();
    // A 429 is waited out like any other status that is not final.
    let report = common::wait_for_async(
        &format!("report {id} to finish"),
        Duration::from_secs(60),
        async || {
            let r = api
                .call(Method::GET, &format!("{REPORTS}/{id}"), None)
                .await;
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                return None;
            }
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            check_reports("Report", &r.body);
            let status = r.body["processingStatus"].as_str().unwrap().to_string();
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            ["DONE", "FATAL", "CANCELLED"]
                .contains(&status.as_str())
                .then_some(r.body)
        },
    )
    .await;
    (report, seen)
}

/// getReportDocument, then the download, decompressed when GZIP.
async fn download_report(api: &Api, doc_id: &str) -> (Value, Vec<u8>) {
    let r = api
        .call(
            Method::GET,
            &format!("/reports/2021-06-30/documents/{doc_id}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_reports("ReportDocument", &r.body);
    let url = r.body["url"].as_str().unwrap();
    assert!(url.starts_with(&api.base), "{url}");
    let resp = api.c.get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "text/tab-separated-values; charset=UTF-8"
    );
    let bytes = resp.bytes().await.unwrap().to_vec();
    let bytes = if r.body["compressionAlgorithm"] == "GZIP" {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        bytes
    };
    (r.body, bytes)
}

fn report_seed() -> Value {
    json!([
        { "sku": "M-1", "marketplaceIds": [US], "attributes": { "item_name": [{ "value": "Yoga\tmat" }] },
          "fulfillmentAvailability": [{ "fulfillmentChannelCode": "DEFAULT", "quantity": 5 }] },
        { "sku": "F-1", "marketplaceIds": [US],
          "fulfillmentAvailability": [{ "fulfillmentChannelCode": "AMAZON_NA", "quantity": 12 }] },
        { "sku": "C-1", "marketplaceIds": [CA],
          "fulfillmentAvailability": [{ "fulfillmentChannelCode": "DEFAULT", "quantity": 3 }] },
        { "sku": "I-1", "marketplaceIds": [US],
          "fulfillmentAvailability": [{ "fulfillmentChannelCode": "DEFAULT", "quantity": 0 }] },
        { "sku": "B-1", "marketplaceIds": [US, CA],
          "fulfillmentAvailability": [{ "fulfillmentChannelCode": "DEFAULT", "quantity": 2 }] }
    ])
}

fn report_options(gzip: bool) -> SandboxOptions {
    SandboxOptions {
        // 300 ms a phase at rate scale 20: every status is seen even on a busy machine.
        report_queue_time: Duration::from_secs(6),
        report_processing_time: Duration::from_secs(6),
        gzip_reports: gzip,
        ..SandboxOptions::default()
    }
}

#[tokio::test]
async fn all_listings_report_flow_is_a_snapshot_of_the_listings() {
    let h = sandbox::start_with(fast(), report_options(false))
        .await
        .unwrap();
    let api = Api::login(&h).await;
    assert_eq!(api.seed(report_seed()).await.0, StatusCode::OK);
    let id = create_report(&api, &[US]).await;
    let (report, seen) = wait_report(&api, &id).await;
    // In order, none skipped but the middle one on a very busy machine.
    assert!(
        seen == ["IN_QUEUE", "IN_PROGRESS", "DONE"] || seen == ["IN_QUEUE", "DONE"],
        "{seen:?}"
    );
    assert_eq!(report["reportType"], ALL_LISTINGS);
    assert_eq!(report["marketplaceIds"], json!([US]));
    assert!(report["processingStartTime"].is_string() && report["processingEndTime"].is_string());
    assert!(report.get("rowsLeftOut").is_none());
    let doc_id = report["reportDocumentId"].as_str().unwrap().to_string();
    assert!(doc_id.starts_with("amzn1.spdoc.1.4.na."), "{doc_id}");
    let (doc, bytes) = download_report(&api, &doc_id).await;
    assert!(doc.get("compressionAlgorithm").is_none());
    let text = String::from_utf8(bytes.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        allot::amazon::reports::ALL_LISTINGS_COLUMNS.join("\t")
    );
    assert!(lines.iter().all(|l| l.split('\t').count() == 29), "{text}");
    // Sorted by seller SKU; C-1 is listed only in CA.
    let skus: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split('\t').nth(3).unwrap())
        .collect();
    assert_eq!(skus, ["B-1", "F-1", "I-1", "M-1"]);
    let m1: Vec<&str> = lines[4].split('\t').collect();
    assert_eq!(
        (m1[0], m1[5], m1[26], m1[28]),
        ("Yoga mat", "5", "DEFAULT", "Active")
    );
    let i1: Vec<&str> = lines[3].split('\t').collect();
    assert_eq!((i1[5], i1[28]), ("0", "Inactive"));
    let f1: Vec<&str> = lines[2].split('\t').collect();
    assert_eq!((f1[5], f1[26], f1[28]), ("", "AMAZON_NA", "Active"));

    // allot's own reader of the report reads it as Amazon's.
    let l = allot::listings::read_from(
        "report.txt",
        &bytes[..],
        allot::listings::Format::Amazon,
        Some("US"),
    )
    .unwrap();
    let q = |sku: &str| {
        l.current
            .listings
            .get(sku)
            .and_then(|c| c.get("DEFAULT").copied())
    };
    assert_eq!(q("M-1"), Some(5));
    assert_eq!(q("B-1"), Some(2));
    assert_eq!(q("I-1"), Some(0));
    assert_eq!(q("C-1"), None);
    assert!(!l.current.listed_in.contains_key("C-1"));
    assert_eq!(
        l.current.amazon_fulfilled.get("F-1").map(String::as_str),
        Some("AMAZON_NA")
    );
    assert!(l.current.listed_in["M-1"].contains("US"));

    // A write after DONE does not change the document.
    let r = api
        .patch("M-1", US, op("merge", fa(&[("DEFAULT", 9)])))
        .await;
    assert_eq!(r.body["status"], "ACCEPTED");
    let (_, again) = download_report(&api, &doc_id).await;
    assert_eq!(again, bytes);
    // A new report sees it.
    let id2 = create_report(&api, &[US, CA]).await;
    let (report2, _) = wait_report(&api, &id2).await;
    let (_, bytes2) = download_report(&api, report2["reportDocumentId"].as_str().unwrap()).await;
    let text2 = String::from_utf8(bytes2).unwrap();
    assert!(text2.lines().any(|l| l.split('\t').nth(3) == Some("C-1")));
    assert!(text2.lines().any(|l| {
        let c: Vec<&str> = l.split('\t').collect();
        c[3] == "M-1" && c[5] == "9"
    }));
    // The report document is not a feed document.
    let r = api
        .call(
            Method::GET,
            &format!("/feeds/2021-06-30/documents/{doc_id}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    h.shutdown().await;
}

#[tokio::test]
async fn all_listings_report_can_be_gzipped() {
    let h = sandbox::start_with(fast(), report_options(true))
        .await
        .unwrap();
    let api = Api::login(&h).await;
    api.seed(report_seed()).await;
    let id = create_report(&api, &[US]).await;
    let (report, _) = wait_report(&api, &id).await;
    let (doc, bytes) = download_report(&api, report["reportDocumentId"].as_str().unwrap()).await;
    assert_eq!(doc["compressionAlgorithm"], "GZIP");
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with("item-name\titem-description\t"), "{text}");
    assert_eq!(text.lines().count(), 5);
    h.shutdown().await;
}

#[tokio::test]
async fn get_reports_filters_and_pages() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    let a = create_report(&api, &[US]).await;
    let b = create_report(&api, &[CA]).await;
    let c = create_report(&api, &[US]).await;
    for id in [&a, &b, &c] {
        wait_report(&api, id).await;
    }
    let get = |q: String| {
        let api = &api;
        async move { api.call(Method::GET, &format!("{REPORTS}?{q}"), None).await }
    };
    let r = get(format!("reportTypes={ALL_LISTINGS}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_reports("GetReportsResponse", &r.body);
    let ids: Vec<&str> = r.body["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reportId"].as_str().unwrap())
        .collect();
    // Newest first.
    assert_eq!(ids, [c.as_str(), b.as_str(), a.as_str()]);
    assert!(r.body.get("nextToken").is_none());

    // pageSize 1, then nextToken alone: every report once, in order.
    let mut paged = Vec::new();
    let mut r = get(format!("reportTypes={ALL_LISTINGS}&pageSize=1")).await;
    loop {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        check_reports("GetReportsResponse", &r.body);
        assert_eq!(r.body["reports"].as_array().unwrap().len(), 1);
        paged.push(
            r.body["reports"][0]["reportId"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        let Some(t) = r.body["nextToken"].as_str().map(str::to_string) else {
            break;
        };
        let t = percent_encoding::utf8_percent_encode(&t, percent_encoding::NON_ALPHANUMERIC);
        r = get(format!("nextToken={t}")).await;
    }
    assert_eq!(paged, [c.clone(), b.clone(), a.clone()]);

    let r = get(format!("reportTypes={ALL_LISTINGS}&marketplaceIds={CA}")).await;
    assert_eq!(r.body["reports"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["reports"][0]["reportId"], b.as_str());
    let r = get(format!(
        "reportTypes={ALL_LISTINGS}&processingStatuses=IN_QUEUE,FATAL"
    ))
    .await;
    assert_eq!(r.body["reports"], json!([]));
    let r = get(format!(
        "reportTypes={ALL_LISTINGS}&processingStatuses=DONE"
    ))
    .await;
    assert_eq!(r.body["reports"].as_array().unwrap().len(), 3);
    let r = get(format!(
        "reportTypes={ALL_LISTINGS}&createdSince=2020-01-01T00:00:00Z&createdUntil=2020-02-01T00:00:00Z"
    ))
    .await;
    assert_eq!(r.body["reports"], json!([]), "{}", r.body);
    let r = get("reportTypes=GET_FLAT_FILE_OPEN_LISTINGS_DATA".into()).await;
    assert_eq!(r.body["reports"], json!([]));

    // Invalid queries: 400 naming the parameter.
    for (q, name) in [
        ("pageSize=1".to_string(), "reportTypes"),
        (format!("reportTypes={ALL_LISTINGS}&pageSize=0"), "pageSize"),
        (
            format!("reportTypes={ALL_LISTINGS}&pageSize=101"),
            "pageSize",
        ),
        (
            format!("reportTypes={ALL_LISTINGS}&processingStatuses=READY"),
            "processingStatuses",
        ),
        (
            format!("reportTypes={ALL_LISTINGS}&createdSince=yesterday"),
            "createdSince",
        ),
        (
            format!("reportTypes={ALL_LISTINGS}&createdUntil=2020-01-01T00:00:00Z"),
            "createdSince",
        ),
        (
            format!("reportTypes={ALL_LISTINGS}&marketplaceIds=NOPE"),
            "marketplaceIds",
        ),
        ("nextToken=garbage".to_string(), "nextToken"),
        (
            format!("nextToken=x&reportTypes={ALL_LISTINGS}"),
            "nextToken",
        ),
    ] {
        let r = get(q.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.body);
        check_reports("ErrorList", &r.body);
        assert_eq!(r.body["errors"][0]["code"], "InvalidInput");
        let msg = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(msg.contains(name), "{q}: {msg}");
    }

    // Unknown IDs: 404 in Amazon's error shape.
    for path in [
        format!("{REPORTS}/999"),
        "/reports/2021-06-30/documents/amzn1.spdoc.1.4.na.nope".to_string(),
    ] {
        let r = api.call(Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        check_reports("ErrorList", &r.body);
    }
    h.shutdown().await;
}

#[tokio::test]
async fn create_report_is_validated_like_the_model() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    for (body, needle) in [
        (
            json!({ "reportType": "GET_FLAT_FILE_OPEN_LISTINGS_DATA", "marketplaceIds": [US] }),
            ALL_LISTINGS,
        ),
        (json!({ "marketplaceIds": [US] }), "reportType"),
        (json!({ "reportType": ALL_LISTINGS }), "marketplaceIds"),
        (
            json!({ "reportType": ALL_LISTINGS, "marketplaceIds": [] }),
            "marketplaceIds",
        ),
        (
            json!({ "reportType": ALL_LISTINGS, "marketplaceIds": [US, DE] }),
            "regions",
        ),
        (
            json!({ "reportType": ALL_LISTINGS, "marketplaceIds": ["NOPE"] }),
            "NOPE",
        ),
        (
            json!({ "reportType": ALL_LISTINGS, "marketplaceIds": vec![US; 26] }),
            "25",
        ),
        (
            json!({ "reportType": ALL_LISTINGS, "marketplaceIds": [US], "format": "tsv" }),
            "format",
        ),
        (
            json!({ "reportType": ALL_LISTINGS, "marketplaceIds": [US], "dataStartTime": "soon" }),
            "dataStartTime",
        ),
        (
            json!({ "reportType": ALL_LISTINGS, "marketplaceIds": [US], "reportOptions": { "a": 1 } }),
            "reportOptions",
        ),
    ] {
        let r = api.call(Method::POST, REPORTS, Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        check_reports("ErrorList", &r.body);
        let msg = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    // Not declared JSON: 415.
    let r = api
        .c
        .post(format!("{}{REPORTS}", api.base))
        .header("x-amz-access-token", &api.token)
        .body(json!({ "reportType": ALL_LISTINGS, "marketplaceIds": [US] }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Nothing was created.
    assert!(h.state().reports.is_empty());
    h.shutdown().await;
}

#[tokio::test]
async fn cancel_report_only_while_in_queue() {
    let h = sandbox::start_with(
        SandboxConfig {
            rate_scale: 1_000_000.0,
            ..SandboxConfig::default()
        },
        SandboxOptions {
            // Queued for good (an hour at this scale), so the cancel always comes first.
            report_queue_time: Duration::from_secs(3_600_000_000),
            ..SandboxOptions::default()
        },
    )
    .await
    .unwrap();
    let api = Api::login(&h).await;
    let id = create_report(&api, &[US]).await;
    let r = api
        .call(Method::DELETE, &format!("{REPORTS}/{id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = api
        .call(Method::GET, &format!("{REPORTS}/{id}"), None)
        .await;
    check_reports("Report", &r.body);
    assert_eq!(r.body["processingStatus"], "CANCELLED");
    assert!(r.body.get("reportDocumentId").is_none());
    let r = api
        .call(Method::DELETE, &format!("{REPORTS}/{id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    check_reports("ErrorList", &r.body);
    let r = api
        .call(Method::DELETE, &format!("{REPORTS}/12"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    h.shutdown().await;
}

#[tokio::test]
async fn create_report_is_throttled_after_its_burst() {
    // Amazon's rates: createReport 0.0167/s, burst 15.
    let h = start(SandboxConfig::default()).await;
    let api = Api::login(&h).await;
    for i in 0..15 {
        let r = api
            .call(
                Method::POST,
                REPORTS,
                Some(json!({ "reportType": ALL_LISTINGS, "marketplaceIds": [US] })),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "request {i}: {}", r.body);
        assert_eq!(r.headers["x-amzn-RateLimit-Limit"], "0.0167");
    }
    let r = api
        .call(
            Method::POST,
            REPORTS,
            Some(json!({ "reportType": ALL_LISTINGS, "marketplaceIds": [US] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    check_reports("ErrorList", &r.body);
    assert_eq!(r.body["errors"][0]["code"], "QuotaExceeded");
    assert_eq!(h.state().reports.len(), 15);
    h.shutdown().await;
}

fn address(name: &str) -> Value {
    json!({ "name": name, "addressLine1": "1 Example Street", "city": "Newark",
            "stateOrRegion": "NJ", "postalCode": "07102", "countryCode": "US" })
}

#[tokio::test]
async fn supply_sources_lifecycle() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    let mut ids = Vec::new();
    for code in ["newark", "austin", "reno"] {
        let r = api
            .call(
                Method::POST,
                SOURCES,
                Some(json!({ "supplySourceCode": code, "alias": format!("{code} warehouse"), "address": address(code) })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        check_sources("CreateSupplySourceResponse", &r.body);
        assert_eq!(r.body["supplySourceCode"], code);
        ids.push(r.body["supplySourceId"].as_str().unwrap().to_string());
    }
    assert_eq!(ids[0].len(), 36);
    for (body, needle) in [
        (
            json!({ "supplySourceCode": "newark", "alias": "again", "address": address("x") }),
            "newark",
        ),
        (json!({ "supplySourceCode": "x", "alias": "x" }), "address"),
        (
            json!({ "supplySourceCode": "x", "address": address("x") }),
            "alias",
        ),
        (
            json!({ "alias": "x", "address": address("x") }),
            "supplySourceCode",
        ),
        (
            json!({ "supplySourceCode": "x", "alias": "x", "address": { "name": "x", "addressLine1": "y", "stateOrRegion": "NJ" } }),
            "countryCode",
        ),
        (
            json!({ "supplySourceCode": "x", "alias": "x", "address": address("x"), "status": "Active" }),
            "status",
        ),
    ] {
        let r = api.call(Method::POST, SOURCES, Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        check_sources("ErrorList", &r.body);
        let msg = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{body}: {msg}");
    }

    // Paged in code order: austin, newark, then reno.
    let r = api
        .call(Method::GET, &format!("{SOURCES}?pageSize=2"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check_sources("GetSupplySourcesResponse", &r.body);
    let page = r.body["supplySources"].as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["supplySourceCode"], "austin");
    assert!(page.iter().all(|s| s.get("status").is_none()));
    assert_eq!(page[1]["address"]["stateOrRegion"], "NJ");
    let token = r.body["nextPageToken"].as_str().unwrap();
    let r = api
        .call(
            Method::GET,
            &format!("{SOURCES}?pageSize=2&nextPageToken={token}"),
            None,
        )
        .await;
    check_sources("GetSupplySourcesResponse", &r.body);
    assert_eq!(r.body["supplySources"][0]["supplySourceCode"], "reno");
    assert!(r.body.get("nextPageToken").is_none());
    for q in [
        "pageSize=0",
        "pageSize=101",
        "pageSize=2.5",
        "nextPageToken=zz",
    ] {
        let r = api.call(Method::GET, &format!("{SOURCES}?{q}"), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        check_sources("ErrorList", &r.body);
    }

    let get = |id: String| {
        let api = &api;
        async move {
            api.call(Method::GET, &format!("{SOURCES}/{id}"), None)
                .await
        }
    };
    let r = get(ids[0].clone()).await;
    assert_eq!(r.status, StatusCode::OK);
    check_sources("SupplySource", &r.body);
    assert_eq!(r.body["status"], "Active");
    assert_eq!(r.body["supplySourceCode"], "newark");

    let status = |id: String, body: Value| {
        let api = &api;
        async move {
            api.call(Method::PUT, &format!("{SOURCES}/{id}/status"), Some(body))
                .await
        }
    };
    let r = status(ids[0].clone(), json!({ "status": "Inactive" })).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(r.body, Value::String(String::new()));
    assert_eq!(get(ids[0].clone()).await.body["status"], "Inactive");
    let r = status(ids[0].clone(), json!({ "status": "Archived" })).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    check_sources("ErrorList", &r.body);

    let r = api
        .call(Method::DELETE, &format!("{SOURCES}/{}", ids[0]), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = get(ids[0].clone()).await;
    check_sources("SupplySource", &r.body);
    assert_eq!(r.body["status"], "Archived");
    let r = status(ids[0].clone(), json!({ "status": "Active" })).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("archived")
    );
    // Archiving again changes nothing; an archived source is still listed.
    let r = api
        .call(Method::DELETE, &format!("{SOURCES}/{}", ids[0]), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = api.call(Method::GET, SOURCES, None).await;
    assert_eq!(r.body["supplySources"].as_array().unwrap().len(), 3);

    for r in [
        get("nope".into()).await,
        status("nope".into(), json!({ "status": "Active" })).await,
        api.call(Method::DELETE, &format!("{SOURCES}/nope"), None)
            .await,
    ] {
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        check_sources("ErrorList", &r.body);
    }
    h.shutdown().await;
}

#[tokio::test]
async fn supply_sources_are_seeded_by_endpoint_and_handle() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    let put = |body: Value| {
        let api = &api;
        async move {
            let r = api
                .c
                .put(format!("{}/_sandbox/supply-sources", api.base))
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, b) = put(json!([
        { "supplySourceId": "353e4e48-6301-4d50-990e-43a86e8787a3", "supplySourceCode": "newark",
          "alias": "Newark", "address": address("Newark") },
        { "supplySourceCode": "austin", "alias": "Austin", "status": "Inactive" }
    ]))
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["seeded"], 2);
    // A bad entry seeds nothing and is named.
    let (s, b) = put(json!([
        { "supplySourceCode": "reno", "alias": "Reno" },
        { "supplySourceCode": "tahoe", "alias": "" }
    ]))
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        b["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("supply source 2 (tahoe)"),
        "{b}"
    );
    let (s, _) = put(json!([{ "supplySourceCode": "x", "alias": "x", "colour": "red" }])).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(h.state().supply_sources.len(), 2);

    let r = api
        .call(
            Method::GET,
            &format!("{SOURCES}/353e4e48-6301-4d50-990e-43a86e8787a3"),
            None,
        )
        .await;
    check_sources("SupplySource", &r.body);
    assert_eq!(r.body["status"], "Active");
    let austin = h
        .state()
        .supply_sources
        .values()
        .find(|s| s.supply_source_code == "austin")
        .unwrap()
        .clone();
    assert_eq!(austin.status, sandbox::SupplySourceStatus::Inactive);
    let r = api
        .call(
            Method::GET,
            &format!("{SOURCES}/{}", austin.supply_source_id),
            None,
        )
        .await;
    check_sources("SupplySource", &r.body);
    assert!(r.body.get("address").is_none());

    let n = h
        .seed_supply_sources(&[sandbox::SeedSupplySource {
            supply_source_code: "reno".into(),
            alias: "Reno".into(),
            ..Default::default()
        }])
        .unwrap();
    assert_eq!(n, 1);
    let e = h
        .seed_supply_sources(&[sandbox::SeedSupplySource {
            supply_source_id: Some("other-id".into()),
            supply_source_code: "reno".into(),
            alias: "Reno".into(),
            ..Default::default()
        }])
        .unwrap_err();
    assert!(e.contains("already the code"), "{e}");
    assert_eq!(h.state().supply_sources.len(), 3);
    h.shutdown().await;
}

#[tokio::test]
async fn supply_sources_and_a_pending_report_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    // Half speed: the report needs 4 s, far longer than this run.
    let h = start(SandboxConfig {
        state_file: Some(file.clone()),
        rate_scale: 0.5,
        ..SandboxConfig::default()
    })
    .await;
    let api = Api::login(&h).await;
    api.seed(report_seed()).await;
    let r = api
        .call(
            Method::POST,
            SOURCES,
            Some(json!({ "supplySourceCode": "newark", "alias": "Newark", "address": address("Newark") })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let source_id = r.body["supplySourceId"].as_str().unwrap().to_string();
    let report_id = create_report(&api, &[US]).await;
    h.shutdown().await;

    let h = start(SandboxConfig {
        state_file: Some(file),
        rate_scale: 100.0,
        ..SandboxConfig::default()
    })
    .await;
    let api = Api {
        base: h.base_url(),
        ..api
    };
    let r = api
        .call(Method::GET, &format!("{SOURCES}/{source_id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["supplySourceCode"], "newark");
    let (report, _) = wait_report(&api, &report_id).await;
    assert_eq!(report["processingStatus"], "DONE");
    let (_, bytes) = download_report(&api, report["reportDocumentId"].as_str().unwrap()).await;
    assert_eq!(String::from_utf8(bytes).unwrap().lines().count(), 5);
    h.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn cli_seeds_the_example_supply_sources() {
    let dir = tempfile::tempdir().unwrap();
    let example =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sandbox-supply-sources.json");
    let (mut child, base) = spawn_cli_sandbox(
        &dir.path().join("s.json"),
        &[
            "--supply-sources",
            example.to_str().unwrap(),
            "--report-delay",
            "10",
        ],
    );
    let api = cli_login(&base).await;
    for (id, code) in [
        ("353e4e48-6301-4d50-990e-43a86e8787a3", "newark"),
        ("8e07a0c9-ab0a-4108-9f16-83dc3496bee0", "austin"),
    ] {
        let r = api
            .call(Method::GET, &format!("{SOURCES}/{id}"), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        check_sources("SupplySource", &r.body);
        assert_eq!(r.body["supplySourceCode"], code);
        assert_eq!(r.body["status"], "Active");
    }
    let _ = child.kill();
    let _ = child.wait();

    // A bad file: an error naming the entry, and no sandbox.
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"[{"supplySourceCode": "a", "alias": "A"}, {"supplySourceCode": "a", "alias": "B"}]"#,
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("allot")
        .unwrap()
        .args(["sandbox", "--addr", "127.0.0.1:0", "--supply-sources"])
        .arg(&bad)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("supply source 2 (a)") && err.contains("bad.json"),
        "{err}"
    );
}

/// A page token is the client's to send: a huge offset is an empty page, never a crash.
#[tokio::test]
async fn huge_page_offsets_are_empty_pages() {
    let h = start_quick().await;
    let api = Api::login(&h).await;
    let huge = usize::MAX;
    let r = api
        .call(
            Method::GET,
            &format!("{SOURCES}?nextPageToken=ss-{huge}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["supplySources"], json!([]));
    let r = api
        .call(
            Method::GET,
            &format!(
                "/listings/2021-08-01/items/{SELLER}?marketplaceIds={US}&pageToken=page-{huge}"
            ),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    h.shutdown().await;
}

/// A seller SKU no row can hold (only a hand-edited state file can have one) is left out of
/// the report and counted, never written as a broken line.
#[tokio::test]
async fn a_sku_with_a_tab_is_left_out_of_the_report_and_counted() {
    use allot::amazon::{Listing, ListingKey};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let mut state = sandbox::SandboxState::new();
    for sku in ["OK-1", "BAD\tSKU", "BAD\nSKU"] {
        state.amazon.seed(
            ListingKey {
                seller_id: SELLER.into(),
                region: allot::marketplaces::Region::NA,
                seller_sku: sku.into(),
            },
            Listing {
                marketplaces: [US.to_string()].into(),
                channels: [("DEFAULT".to_string(), 1)].into(),
            },
        );
    }
    std::fs::write(&file, serde_json::to_vec(&state).unwrap()).unwrap();
    let h = start(SandboxConfig {
        state_file: Some(file),
        rate_scale: 100.0,
        ..SandboxConfig::default()
    })
    .await;
    let api = Api::login(&h).await;
    let id = create_report(&api, &[US]).await;
    let (report, _) = wait_report(&api, &id).await;
    assert!(report.get("rowsLeftOut").is_none());
    let (_, bytes) = download_report(&api, report["reportDocumentId"].as_str().unwrap()).await;
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(text.lines().count(), 2, "{text:?}");
    assert!(text.lines().all(|l| l.split('\t').count() == 29));
    let s = api.inspect("/_sandbox/state").await;
    assert_eq!(s["reports"][0]["rowsLeftOut"], 2);
    h.shutdown().await;
}

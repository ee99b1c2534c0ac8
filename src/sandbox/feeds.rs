//! Feeds API 2021-06-30 for JSON_LISTINGS_FEED: documents, upload and download URLs on the
//! sandbox itself, feeds that move IN_QUEUE → IN_PROGRESS → DONE, and the processing report.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;
// tokio's clock: the same as std's in a run, the test's own when a test pauses it.
use tokio::time::Instant;

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::amazon::ListingKey;
use crate::marketplaces::Region;

use super::listings::{self, Issue};
use super::state::{Document, DocumentKind, Feed, ProcessingStatus};
use super::{
    Call, Inner, LogEntry, Outcome, Shared, body_response, now_rfc3339, run_op, with_latency,
};
use crate::amazon::feeds::{
    FEED_CONTENT_TYPE, FEED_MAX_MESSAGES, FEED_TYPE, FEED_VERSION, FEEDS_PATH,
};
use crate::amazon::limits::ApiOp;

/// Amazon's advice is to keep a feed under 10 MiB; the sandbox takes up to 64 MiB.
const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

pub(crate) fn json_body(call: &Call) -> Result<Map<String, Value>, Outcome> {
    match serde_json::from_slice::<Value>(&call.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Outcome::invalid_input(
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(Outcome::invalid_input(&format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

/// Content types compare without case and without spaces around parameters, as the sandbox's
/// stand-in for S3's signed Content-Type.
fn same_content_type(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split(';')
            .map(|p| p.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(";")
    };
    norm(a) == norm(b)
}

fn storage_error(status: StatusCode, code: &str, message: &str) -> Response {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    body_response(status, "application/xml", xml.into_bytes())
}

fn new_document_id(inner: &mut Inner, region: &str) -> String {
    let n = inner.state.next_id();
    format!(
        "amzn1.tortuga.4.{region}.{:08x}-{:04x}-{:012x}",
        fastrand::u32(..),
        n % 0x1_0000,
        n
    )
}

pub(crate) fn document_url(base: &str, id: &str) -> String {
    format!("{base}/_storage/{id}")
}

/// `POST /feeds/2021-06-30/documents`.
pub async fn create_document(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    run_op(
        &shared,
        ApiOp::CreateFeedDocument,
        req,
        None,
        |inner: &mut Inner, call: &Call| {
            let base = call.base(&shared);
            tri!(call.require_json());
            let body = tri!(json_body(call));
            let content_type = match body.get("contentType") {
                Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
                _ => {
                    return Outcome::invalid_input(
                        "Missing required field 'contentType' (e.g. \"application/json; charset=UTF-8\").",
                    );
                }
            };
            let id = new_document_id(inner, "na");
            inner.state.documents.insert(
                id.clone(),
                Document {
                    id: id.clone(),
                    kind: DocumentKind::Input,
                    content_type,
                    content: None,
                    gzip: false,
                    created: now_rfc3339(),
                },
            );
            Outcome::json(
                StatusCode::CREATED,
                json!({ "feedDocumentId": id, "url": document_url(&base, &id) }),
            )
            .applied()
        },
    )
    .await
}

/// `PUT <upload url>`: the presigned upload (S3 in Amazon's case).
pub async fn upload(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let r = upload_inner(&shared, id, req).await;
    with_latency(&shared, r).await
}

async fn upload_inner(shared: &Shared, id: String, req: Request) -> Response {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = match axum::body::to_bytes(req.into_body(), UPLOAD_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return storage_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size (64 MiB in the sandbox).",
            );
        }
    };
    {
        let mut inner = shared.lock();
        let Some(doc) = inner.state.documents.get_mut(&id) else {
            return storage_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist. Create the document with createFeedDocument first.",
            );
        };
        if doc.kind != DocumentKind::Input {
            return storage_error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "This URL is for downloading a report, not for uploading.",
            );
        }
        if !same_content_type(&doc.content_type, &content_type) {
            return storage_error(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                &format!(
                    "The Content-Type of the upload ('{content_type}') must be the contentType given to createFeedDocument ('{}').",
                    doc.content_type
                ),
            );
        }
        doc.content = Some(bytes.to_vec());
    }
    let v = shared.mark_dirty();
    if !shared.persisted(v).await {
        return storage_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "The sandbox could not save its state file.",
        );
    }
    body_response(StatusCode::OK, "text/plain", Vec::new())
}

/// `GET <download url>`.
pub async fn download(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let r = {
        let inner = shared.lock();
        match inner.state.documents.get(&id) {
            Some(Document {
                content: Some(bytes),
                content_type,
                gzip,
                ..
            }) => {
                if *gzip {
                    match gzip_bytes(bytes) {
                        Ok(z) => body_response(StatusCode::OK, content_type, z),
                        Err(_) => storage_error(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "InternalError",
                            "Could not compress the document.",
                        ),
                    }
                } else {
                    body_response(StatusCode::OK, content_type, bytes.clone())
                }
            }
            _ => storage_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
            ),
        }
    };
    with_latency(&shared, r).await
}

fn gzip_bytes(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes)?;
    z.finish()
}

/// `GET /feeds/2021-06-30/documents/{id}`.
pub async fn get_document(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::GetFeedDocument,
        req,
        None,
        |inner: &mut Inner, call: &Call| {
            let base = call.base(&shared);
            // A report document is the Reports API's, not a feed document.
            let doc = inner
                .state
                .documents
                .get(&id)
                .filter(|d| d.kind != DocumentKind::Report);
            let Some(doc) = doc else {
                return Outcome::error(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("Feed document '{id}' not found."),
                    None,
                );
            };
            let mut body = json!({ "feedDocumentId": id, "url": document_url(&base, &id) });
            if doc.gzip {
                body["compressionAlgorithm"] = json!("GZIP");
            }
            Outcome::json(StatusCode::OK, body)
        },
    )
    .await
}

/// `POST /feeds/2021-06-30/feeds`.
pub async fn create_feed(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let shared2 = shared.clone();
    run_op(
        &shared,
        ApiOp::CreateFeed,
        req,
        None,
        move |inner: &mut Inner, call: &Call| {
            tri!(call.require_json());
            let body = tri!(json_body(call));
            let feed_type = match body.get("feedType") {
                Some(Value::String(s)) => s.clone(),
                _ => return Outcome::invalid_input("Missing required field 'feedType'."),
            };
            if feed_type != FEED_TYPE {
                return Outcome::invalid_input(&format!(
                    "Feed type '{feed_type}' is not supported by the sandbox; use {FEED_TYPE}."
                ));
            }
            let ids: Vec<String> = match body.get("marketplaceIds") {
                Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => {
                    return Outcome::invalid_input(
                        "Missing required field 'marketplaceIds' (an array of 1 to 25 marketplace IDs).",
                    );
                }
            };
            let region = tri!(listings::resolve(&ids, Some(25)));
            let doc_id = match body.get("inputFeedDocumentId") {
                Some(Value::String(s)) => s.clone(),
                _ => return Outcome::invalid_input("Missing required field 'inputFeedDocumentId'."),
            };
            match inner.state.documents.get(&doc_id) {
                Some(d) if d.kind == DocumentKind::Input && d.content.is_some() => {}
                Some(d) if d.kind == DocumentKind::Input => {
                    return Outcome::invalid_input(&format!(
                        "Feed document '{doc_id}' has no content: upload it to its URL before createFeed."
                    ));
                }
                _ => {
                    return Outcome::invalid_input(&format!(
                        "inputFeedDocumentId '{doc_id}' is not a feed document made by createFeedDocument."
                    ));
                }
            }
            // JSON_LISTINGS_FEED's own limit, on top of createFeed's bucket.
            if !inner.limits.take_listings_feed(region, Instant::now()) {
                return Outcome::error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "QuotaExceeded",
                    "You exceeded your quota for the requested resource.",
                    None,
                );
            }
            let feed_id = format!("{}", 50_000_000_000u64 + inner.state.next_id());
            inner.state.feeds.insert(
                feed_id.clone(),
                Feed {
                    feed_id: feed_id.clone(),
                    feed_type,
                    marketplace_ids: ids,
                    created_time: now_rfc3339(),
                    processing_status: ProcessingStatus::InQueue,
                    processing_start_time: None,
                    processing_end_time: None,
                    result_feed_document_id: None,
                    input_feed_document_id: doc_id,
                },
            );
            super::spawn_job(inner, &shared2, &FEED_JOBS, feed_id.clone(), true);
            let mut o =
                Outcome::json(StatusCode::ACCEPTED, json!({ "feedId": feed_id })).applied();
            o.feed_id = Some(feed_id);
            o
        },
    )
    .await
}

fn feed_json(f: &Feed) -> Value {
    let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        // Not part of getFeed's answer.
        o.remove("inputFeedDocumentId");
    }
    v
}

/// `GET /feeds/2021-06-30/feeds/{feedId}`.
pub async fn get_feed(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::GetFeed,
        req,
        None,
        |inner: &mut Inner, _call: &Call| match inner.state.feeds.get(&id) {
            Some(f) => {
                let mut o = Outcome::json(StatusCode::OK, feed_json(f));
                o.feed_id = Some(id.clone());
                o
            }
            None => Outcome::not_found("Feed", &id),
        },
    )
    .await
}

/// `GET /feeds/2021-06-30/feeds`: the feeds of the given types (newest first), filtered by
/// `marketplaceIds` and `processingStatuses`, paged with `pageSize` and `nextToken`.
pub async fn get_feeds(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    run_op(
        &shared,
        ApiOp::GetFeeds,
        req,
        None,
        |inner: &mut Inner, call: &Call| {
            let q = match tri!(call.next_token(FeedsPage::decode)) {
                Some(q) => q,
                None => {
                    let types = call.list("feedTypes");
                    if types.is_empty() {
                        return Outcome::invalid_input(
                            "'feedTypes' is required (unless 'nextToken' is given), e.g. feedTypes=JSON_LISTINGS_FEED.",
                        );
                    }
                    FeedsPage {
                        offset: 0,
                        page_size: tri!(call.page_size(100)),
                        types,
                        mkts: call.list("marketplaceIds"),
                        statuses: call.list("processingStatuses"),
                    }
                }
            };
            let (offset, page_size) = (q.offset, q.page_size);
            let (types, mkts, statuses) = (&q.types, &q.mkts, &q.statuses);
            let feeds: Vec<&Feed> = inner
                .state
                .feeds
                .values()
                .filter(|f| types.is_empty() || types.contains(&f.feed_type))
                .filter(|f| mkts.is_empty() || f.marketplace_ids.iter().any(|m| mkts.contains(m)))
                .filter(|f| {
                    statuses.is_empty()
                        || serde_json::to_value(f.processing_status)
                            .ok()
                            .and_then(|v| v.as_str().map(|s| statuses.iter().any(|x| x == s)))
                            .unwrap_or(false)
                })
                .collect();
            let body = super::newest_first_page(
                "feeds",
                feeds,
                |f| &f.feed_id,
                (offset, page_size),
                feed_json,
                |offset| FeedsPage { offset, ..q.clone() }.encode(),
            );
            Outcome::json(StatusCode::OK, body)
        },
    )
    .await
}

/// A getFeeds query, as its `nextToken` carries it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct FeedsPage {
    offset: usize,
    page_size: usize,
    types: Vec<String>,
    mkts: Vec<String>,
    statuses: Vec<String>,
}

impl FeedsPage {
    fn encode(&self) -> String {
        super::encode_token("feeds-", self)
    }

    fn decode(token: &str) -> Option<FeedsPage> {
        let q: FeedsPage = super::decode_token("feeds-", token)?;
        ((1..=100).contains(&q.page_size) && !q.types.is_empty()).then_some(q)
    }
}

/// `DELETE /feeds/2021-06-30/feeds/{feedId}`: only a feed still IN_QUEUE can be cancelled.
pub async fn cancel_feed(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::CancelFeed,
        req,
        None,
        |inner: &mut Inner, _call: &Call| match inner.state.feeds.get_mut(&id) {
            Some(f) if f.processing_status == ProcessingStatus::InQueue => {
                f.processing_status = ProcessingStatus::Cancelled;
                f.processing_end_time = Some(now_rfc3339());
                let mut o = Outcome::json(StatusCode::OK, json!({})).applied();
                o.feed_id = Some(id.clone());
                o
            }
            Some(f) => Outcome::invalid_input(&format!(
                "Feed '{id}' is {:?}; only a feed IN_QUEUE can be cancelled.",
                f.processing_status
            )),
            None => Outcome::not_found("Feed", &id),
        },
    )
    .await
}

/// Feeds: IN_QUEUE for `feed_queue_time`, IN_PROGRESS for `feed_processing_time`, then
/// processed.
pub(crate) static FEED_JOBS: super::JobKind<Feed> = super::JobKind {
    jobs: |s| &mut s.feeds,
    status: |f| f.processing_status,
    start: |f, now| {
        f.processing_status = ProcessingStatus::InProgress;
        f.processing_start_time = Some(now);
    },
    queue_time: |o| o.feed_queue_time,
    processing_time: |o| o.feed_processing_time,
    finish: process,
};

/// Restart processing of feeds left unfinished by a previous run.
pub(crate) fn resume_pending(shared: &Arc<Shared>) {
    super::resume_jobs(shared, &FEED_JOBS);
}

/// A report issue, in the processing report's shape (singular `attributeName`).
fn report_issue(message_id: Option<u64>, seller_sku: Option<&str>, i: &Issue) -> Value {
    let mut v = Map::new();
    if let Some(m) = message_id {
        v.insert("messageId".into(), json!(m));
    }
    if let Some(s) = seller_sku.filter(|s| !s.is_empty()) {
        v.insert("sku".into(), json!(s));
    }
    v.insert("code".into(), json!(i.code));
    v.insert("severity".into(), json!("ERROR"));
    v.insert("message".into(), json!(i.message));
    if let Some(a) = i.attribute_names.first() {
        v.insert("attributeName".into(), json!(a));
    }
    Value::Object(v)
}

fn feed_issue(message: String) -> Issue {
    Issue {
        code: listings::CODE_INVALID_VALUE,
        message,
        attribute_names: vec![],
        category: "INVALID_ATTRIBUTE",
    }
}

struct Tally {
    issues: Vec<Value>,
    processed: u64,
    accepted: u64,
    invalid: u64,
}

/// Process a feed now: apply each message in order through the Listings logic, write the
/// processing report, and finish the feed DONE (or FATAL when the document is unusable).
pub(crate) fn process(inner: &mut Inner, feed_id: &str, gzip: bool) {
    let Some(feed) = inner.state.feeds.get(feed_id).cloned() else {
        return;
    };
    if feed.processing_status.is_final() {
        return;
    }
    let content = inner
        .state
        .documents
        .get(&feed.input_feed_document_id)
        .and_then(|d| d.content.clone())
        .unwrap_or_default();
    let region = feed
        .marketplace_ids
        .first()
        .and_then(|m| crate::marketplaces::by_id(m))
        .map(|m| m.region);
    let mut tally = Tally {
        issues: Vec::new(),
        processed: 0,
        accepted: 0,
        invalid: 0,
    };
    let (status, seller_id) = match (parse_document(&content), region) {
        (Err(why), _) => {
            tally
                .issues
                .push(report_issue(None, None, &feed_issue(why)));
            (ProcessingStatus::Fatal, "UNKNOWN".to_string())
        }
        (Ok(_), None) => {
            tally.issues.push(report_issue(
                None,
                None,
                &feed_issue("The feed names no known marketplace.".into()),
            ));
            (ProcessingStatus::Fatal, "UNKNOWN".to_string())
        }
        (Ok((seller_id, messages)), Some(region)) => {
            apply_messages(inner, &feed, region, &seller_id, &messages, &mut tally);
            (ProcessingStatus::Done, seller_id)
        }
    };
    let errors = tally.issues.len() as u64;
    let report = json!({
        "header": { "sellerId": seller_id, "version": "2.0", "feedId": feed_id },
        "issues": tally.issues,
        "summary": {
            "errors": errors,
            "warnings": 0,
            "messagesProcessed": tally.processed,
            "messagesAccepted": tally.accepted,
            "messagesInvalid": tally.invalid,
        }
    });
    let doc_id = new_document_id(inner, "na");
    let bytes = serde_json::to_vec_pretty(&report).unwrap_or_default();
    inner.state.documents.insert(
        doc_id.clone(),
        Document {
            id: doc_id.clone(),
            kind: DocumentKind::Result,
            content_type: FEED_CONTENT_TYPE.into(),
            content: Some(bytes),
            gzip,
            created: now_rfc3339(),
        },
    );
    if let Some(f) = inner.state.feeds.get_mut(feed_id) {
        if f.processing_start_time.is_none() {
            f.processing_start_time = Some(now_rfc3339());
        }
        f.processing_status = status;
        f.processing_end_time = Some(now_rfc3339());
        f.result_feed_document_id = Some(doc_id);
    }
}

/// The feed's header (seller) and messages, or why the whole feed is FATAL.
fn parse_document(content: &[u8]) -> Result<(String, Vec<Value>), String> {
    let doc: Value = serde_json::from_slice(content)
        .map_err(|e| format!("The feed document is not valid JSON: {e}."))?;
    let header = doc
        .get("header")
        .and_then(Value::as_object)
        .ok_or("The feed document has no 'header' object.")?;
    let seller_id = match header.get("sellerId") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err("The feed header has no 'sellerId'.".into()),
    };
    match header.get("version") {
        Some(Value::String(v)) if v == FEED_VERSION => {}
        other => {
            return Err(format!(
                "The feed header's 'version' must be \"{FEED_VERSION}\" ({FEED_TYPE} schema v2), got {}.",
                other.map_or("nothing".to_string(), Value::to_string)
            ));
        }
    }
    let messages = doc
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("The feed document has no 'messages' array.")?;
    if messages.is_empty() {
        return Err("The feed document's 'messages' is empty.".into());
    }
    if messages.len() > FEED_MAX_MESSAGES {
        return Err(format!(
            "The feed holds {} messages; {FEED_TYPE} accepts at most {FEED_MAX_MESSAGES}.",
            messages.len()
        ));
    }
    Ok((seller_id, messages.clone()))
}

fn apply_messages(
    inner: &mut Inner,
    feed: &Feed,
    region: Region,
    seller_id: &str,
    messages: &[Value],
    tally: &mut Tally,
) {
    let mut seen = BTreeSet::new();
    for m in messages {
        tally.processed += 1;
        let message_id = m
            .get("messageId")
            .and_then(Value::as_u64)
            .filter(|n| *n >= 1);
        let seller_sku = m.get("sku").and_then(Value::as_str).unwrap_or("");
        let result = check_and_apply(
            inner, feed, region, seller_id, m, message_id, seller_sku, &mut seen,
        );
        let accepted = result.is_ok();
        match result {
            Ok(()) => tally.accepted += 1,
            Err(issues) => {
                tally.invalid += 1;
                for i in &issues {
                    tally
                        .issues
                        .push(report_issue(message_id, Some(seller_sku), i));
                }
            }
        }
        inner.log(LogEntry {
            seq: 0,
            time: now_rfc3339(),
            request_id: String::new(),
            operation: "feedMessage".into(),
            method: "FEED".into(),
            path: format!("{FEEDS_PATH}/{}", feed.feed_id),
            seller_sku: (!seller_sku.is_empty()).then(|| seller_sku.to_string()),
            marketplace_ids: feed.marketplace_ids.clone(),
            status: 200,
            submission_status: Some(if accepted { "ACCEPTED" } else { "INVALID" }.into()),
            applied: accepted,
            fault: None,
            dropped: false,
            feed_id: Some(feed.feed_id.clone()),
            message_id,
        });
    }
}

#[allow(clippy::too_many_arguments)]
fn check_and_apply(
    inner: &mut Inner,
    feed: &Feed,
    region: Region,
    seller_id: &str,
    m: &Value,
    message_id: Option<u64>,
    seller_sku: &str,
    seen: &mut BTreeSet<u64>,
) -> Result<(), Vec<Issue>> {
    let one = |s: String| Err(vec![feed_issue(s)]);
    let Some(obj) = m.as_object() else {
        return one("The message is not a JSON object.".into());
    };
    let Some(message_id) = message_id else {
        return one(
            "'messageId' is required: a whole number from 1, unique within the feed.".into(),
        );
    };
    if !seen.insert(message_id) {
        return one(format!(
            "messageId {message_id} is used by an earlier message of this feed."
        ));
    }
    if seller_sku.is_empty() {
        return one("'sku' is required.".into());
    }
    if let Err(o) = listings::check_sku(seller_sku) {
        let msg = o.body["errors"][0]["message"]
            .as_str()
            .unwrap_or("Invalid 'sku'.");
        return one(msg.to_string());
    }
    let op = obj
        .get("operationType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let key = ListingKey {
        seller_id: seller_id.to_string(),
        region,
        seller_sku: seller_sku.to_string(),
    };
    let mkts = &feed.marketplace_ids;
    let product_type = || match obj.get("productType") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(vec![feed_issue(format!(
            "'productType' is required for operationType {op}."
        ))]),
    };
    let attributes = || match obj.get("attributes") {
        Some(Value::Object(a)) if !a.is_empty() => listings::parse_attributes(a),
        _ => Err(vec![feed_issue(format!(
            "'attributes' (a non-empty object) is required for operationType {op}."
        ))]),
    };
    match op {
        "PATCH" => {
            let pt = product_type()?;
            let patches = match obj.get("patches") {
                Some(Value::Array(a)) => a.clone(),
                _ => return one("'patches' (an array) is required for operationType PATCH.".into()),
            };
            let patches = listings::parse_patches(&patches)?;
            listings::apply_patches(&mut inner.state, &key, mkts, &pt, &patches);
        }
        "PARTIAL_UPDATE" => {
            let pt = product_type()?;
            let (others, fa) = attributes()?;
            listings::apply_partial(&mut inner.state, &key, mkts, &pt, others, fa);
        }
        "UPDATE" => {
            let pt = product_type()?;
            let (others, fa) = attributes()?;
            listings::apply_put(&mut inner.state, &key, mkts, &pt, others, fa);
        }
        "DELETE" => {
            // Deleting what is not listed changes nothing; accepted, as a retry would be.
            listings::apply_delete(&mut inner.state, &key, mkts);
        }
        other => {
            return one(format!(
                "operationType '{other}' is not one of UPDATE, PARTIAL_UPDATE, PATCH, DELETE."
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_compare_loosely() {
        assert!(same_content_type(
            "application/json; charset=UTF-8",
            "application/json;charset=utf-8"
        ));
        assert!(!same_content_type(
            "application/json",
            "text/tab-separated-values"
        ));
    }

    #[test]
    fn bad_documents_are_fatal() {
        assert!(parse_document(b"nope").is_err());
        assert!(
            parse_document(br#"{"header":{"sellerId":"A","version":"1.0"},"messages":[{}]}"#)
                .is_err()
        );
        assert!(
            parse_document(br#"{"header":{"sellerId":"A","version":"2.0"},"messages":[{}]}"#)
                .is_ok()
        );
    }
}

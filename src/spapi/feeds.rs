//! Feeds API v2021-06-30 for JSON_LISTINGS_FEED: document, upload, feed, poll, report.

use std::io::Read;
use std::time::Duration;

use serde_json::{Value, json};

use super::client::{Client, Poll};
use super::{Issue, SpApiError};
use crate::amazon::feeds::{FEED_CONTENT_TYPE, FEED_DOCUMENTS_PATH, FEED_TYPE, FEEDS_PATH};
use crate::amazon::limits::ApiOp;
use crate::amazon::request::encode_segment;
use crate::marketplaces::Region;

fn field(v: &Value, name: &str, op: ApiOp) -> Result<String, SpApiError> {
    v.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| SpApiError::Decode {
            op: op.name(),
            reason: format!("the response has no `{name}`"),
        })
}

/// createFeedDocument: returns (feedDocumentId, presigned upload URL).
pub async fn create_document(
    client: &Client,
    region: Region,
) -> Result<(String, String), SpApiError> {
    let op = ApiOp::CreateFeedDocument;
    let v = client
        .call(
            op,
            region,
            "POST",
            FEED_DOCUMENTS_PATH,
            &[],
            Some(&json!({ "contentType": FEED_CONTENT_TYPE })),
        )
        .await?;
    Ok((field(&v, "feedDocumentId", op)?, field(&v, "url", op)?))
}

/// createFeed for a JSON_LISTINGS_FEED (waits for the per-region submission window too). Never
/// re-sent after a lost answer or a 5xx ([`SpApiError::AnswerLost`]): a second createFeed of the
/// same document would be a second feed; the caller looks for the first with [`list_feeds`].
pub async fn create_feed(
    client: &Client,
    region: Region,
    marketplace_ids: &[String],
    document_id: &str,
) -> Result<String, SpApiError> {
    let op = ApiOp::CreateFeed;
    client.limits().acquire_listings_feed(region).await;
    let v = client
        .call_not_twice(
            op,
            region,
            "POST",
            FEEDS_PATH,
            &[],
            Some(&json!({
                "feedType": FEED_TYPE,
                "marketplaceIds": marketplace_ids,
                "inputFeedDocumentId": document_id,
            })),
        )
        .await?;
    field(&v, "feedId", op)
}

/// One feed as getFeeds lists it. Amazon's Feed object does not name its input document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedInfo {
    pub feed_id: String,
    pub feed_type: String,
    pub marketplace_ids: Vec<String>,
    /// `createdTime`, if it parses as RFC 3339.
    pub created: Option<time::OffsetDateTime>,
    pub processing_status: String,
}

/// Pages of getFeeds read at most: enough for any honest window (100 feeds a page), bounded
/// so a looping `nextToken` cannot keep apply here.
const MAX_FEED_PAGES: usize = 10;

/// getFeeds: the JSON_LISTINGS_FEEDs of `marketplace_ids` created since `since` (any status).
/// Errs when more pages remain than [`MAX_FEED_PAGES`] (the caller cannot be sure then).
pub async fn list_feeds(
    client: &Client,
    region: Region,
    marketplace_ids: &[String],
    since: Option<time::OffsetDateTime>,
) -> Result<Vec<FeedInfo>, SpApiError> {
    let op = ApiOp::GetFeeds;
    let mut query = vec![
        ("feedTypes".to_string(), FEED_TYPE.to_string()),
        ("marketplaceIds".to_string(), marketplace_ids.join(",")),
        (
            "processingStatuses".to_string(),
            "CANCELLED,DONE,FATAL,IN_PROGRESS,IN_QUEUE".to_string(),
        ),
        ("pageSize".to_string(), "100".to_string()),
    ];
    if let Some(t) = since.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    }) {
        query.push(("createdSince".to_string(), t));
    }
    let mut out = Vec::new();
    for _ in 0..MAX_FEED_PAGES {
        let v = client
            .call(op, region, "GET", FEEDS_PATH, &query, None)
            .await?;
        for f in v
            .get("feeds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            out.push(FeedInfo {
                feed_id: s("feedId"),
                feed_type: s("feedType"),
                marketplace_ids: super::marketplace_ids(f),
                created: time::OffsetDateTime::parse(
                    &s("createdTime"),
                    &time::format_description::well_known::Rfc3339,
                )
                .ok(),
                processing_status: s("processingStatus"),
            });
        }
        match v.get("nextToken").and_then(Value::as_str) {
            // Amazon: with nextToken, the token is the only parameter.
            Some(t) if !t.is_empty() => query = vec![("nextToken".to_string(), t.to_string())],
            _ => return Ok(out),
        }
    }
    Err(SpApiError::Feed(format!(
        "getFeeds lists more than {} feeds in the window searched",
        MAX_FEED_PAGES * 100
    )))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedStatus {
    /// IN_QUEUE, IN_PROGRESS, DONE, CANCELLED or FATAL.
    pub processing_status: String,
    pub result_document_id: Option<String>,
}

impl FeedStatus {
    pub fn is_final(&self) -> bool {
        matches!(
            self.processing_status.as_str(),
            "DONE" | "CANCELLED" | "FATAL"
        )
    }
}

pub async fn get_feed(
    client: &Client,
    region: Region,
    feed_id: &str,
) -> Result<FeedStatus, SpApiError> {
    let op = ApiOp::GetFeed;
    let path = format!("{FEEDS_PATH}/{}", encode_segment(feed_id));
    let v = client.call(op, region, "GET", &path, &[], None).await?;
    Ok(FeedStatus {
        processing_status: field(&v, "processingStatus", op)?,
        result_document_id: v
            .get("resultFeedDocumentId")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// Poll getFeed with growing intervals until a final status or `timeout`.
pub async fn wait_for_feed(
    client: &Client,
    region: Region,
    feed_id: &str,
    timeout: Duration,
    mut on_status: impl FnMut(&str),
) -> Result<FeedStatus, SpApiError> {
    let mut poll = Poll::new(client, 60.0, timeout);
    loop {
        let status = get_feed(client, region, feed_id).await?;
        on_status(&status.processing_status);
        if status.is_final() {
            return Ok(status);
        }
        if let Err(elapsed) = poll.wait().await {
            return Err(SpApiError::Feed(format!(
                "feed {feed_id} is still {} after {}s (--poll-timeout); Amazon can take hours \
                 under load: run `allot apply` again later and it resumes polling this feed",
                status.processing_status,
                elapsed.as_secs()
            )));
        }
    }
}

/// getFeedDocument + download (+ gunzip): the processing report's bytes.
pub async fn download_report(
    client: &Client,
    region: Region,
    document_id: &str,
) -> Result<Vec<u8>, SpApiError> {
    let op = ApiOp::GetFeedDocument;
    let path = format!("{FEED_DOCUMENTS_PATH}/{}", encode_segment(document_id));
    let v = client.call(op, region, "GET", &path, &[], None).await?;
    let url = field(&v, "url", op)?;
    let gzip = v
        .get("compressionAlgorithm")
        .and_then(Value::as_str)
        .is_some_and(|c| c.eq_ignore_ascii_case("GZIP"));
    let bytes = client.download(&url).await?;
    // The HTTP layer already inflates a `Content-Encoding: gzip` answer; only gunzip what
    // still carries the gzip magic.
    if gzip && bytes.starts_with(&[0x1f, 0x8b]) {
        gunzip(&bytes)
    } else {
        Ok(bytes)
    }
}

pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, SpApiError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| SpApiError::Decode {
            op: "getFeedDocument",
            reason: format!("the processing report is marked GZIP but does not decompress: {e}"),
        })?;
    Ok(out)
}

/// A JSON_LISTINGS_FEED processing report, reduced to what apply needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// (messageId, issue) for issues tied to a message.
    pub message_issues: Vec<(u32, Issue)>,
    /// Issues about the feed as a whole (no messageId).
    pub feed_issues: Vec<Issue>,
    pub messages_processed: Option<u64>,
    pub messages_accepted: Option<u64>,
    pub messages_invalid: Option<u64>,
}

pub fn parse_report(bytes: &[u8]) -> Result<Report, SpApiError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| SpApiError::Decode {
        op: "getFeedDocument",
        reason: format!("the processing report is not JSON ({e})"),
    })?;
    let mut r = Report::default();
    for i in v
        .get("issues")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let s = |k: &str| i.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let issue = Issue {
            severity: s("severity"),
            code: match i.get("code") {
                Some(Value::String(c)) => c.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            },
            message: s("message"),
            attributes: i
                .get("attributeName")
                .and_then(Value::as_str)
                .map(|a| vec![a.to_string()])
                .unwrap_or_default(),
        };
        match i
            .get("messageId")
            .and_then(Value::as_u64)
            .and_then(|m| u32::try_from(m).ok())
        {
            Some(m) => r.message_issues.push((m, issue)),
            None => r.feed_issues.push(issue),
        }
    }
    let summary = v.get("summary");
    let n = |k: &str| summary.and_then(|s| s.get(k)).and_then(Value::as_u64);
    r.messages_processed = n("messagesProcessed");
    r.messages_accepted = n("messagesAccepted");
    r.messages_invalid = n("messagesInvalid");
    Ok(r)
}

/// Keep only the messages whose `messageId` is in `keep` (resuming a partly accepted feed).
pub fn filter_messages(body: &Value, keep: &[u32]) -> Value {
    let mut out = body.clone();
    if let Some(msgs) = out.get_mut("messages").and_then(Value::as_array_mut) {
        msgs.retain(|m| {
            m.get("messageId")
                .and_then(Value::as_u64)
                .is_some_and(|id| keep.iter().any(|k| u64::from(*k) == id))
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_processing_report() {
        let text = br#"{"header": {"sellerId": "S", "version": "2.0", "feedId": "42"},
          "issues": [
            {"messageId": 4, "sku": "B", "code": "90220", "severity": "ERROR", "message": "m1"},
            {"messageId": 5, "sku": "C", "code": 99022, "severity": "WARNING", "message": "m2",
             "attributeName": "fulfillment_availability"},
            {"code": "1", "severity": "ERROR", "message": "whole feed"}],
          "summary": {"errors": 2, "warnings": 1, "messagesProcessed": 4,
                      "messagesAccepted": 3, "messagesInvalid": 1}}"#;
        let r = parse_report(text).unwrap();
        assert_eq!(r.message_issues.len(), 2);
        assert_eq!(r.message_issues[0].0, 4);
        assert!(r.message_issues[0].1.is_error());
        assert_eq!(r.message_issues[1].1.code, "99022");
        assert_eq!(
            r.message_issues[1].1.attributes,
            ["fulfillment_availability"]
        );
        assert_eq!(r.feed_issues.len(), 1);
        assert_eq!(r.messages_invalid, Some(1));
        assert!(parse_report(b"<html>").is_err());
    }

    #[test]
    fn gzip_round_trip_and_garbage() {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b"{\"issues\":[]}").unwrap();
        let gz = e.finish().unwrap();
        assert_eq!(gunzip(&gz).unwrap(), b"{\"issues\":[]}");
        assert!(gunzip(b"not gzip").is_err());
    }

    #[test]
    fn filters_messages() {
        let body = json!({"header": {"sellerId": "S"}, "messages": [
            {"messageId": 1, "sku": "A"}, {"messageId": 2, "sku": "B"}, {"messageId": 3, "sku": "C"}]});
        let f = filter_messages(&body, &[1, 3]);
        assert_eq!(f["messages"].as_array().unwrap().len(), 2);
        assert_eq!(f["header"]["sellerId"], "S");
    }
}

//! JSON_LISTINGS_FEED (Feeds API 2021-06-30, listings feed schema v2): its constants, and the
//! document the planner encodes and the client submits (one type from `plan::encode` to
//! `spapi::apply`). The sandbox checks submissions against the same constants.
//! Sources: ../shared/notes/spapi.md sec. 3, ../shared/spapi-models/listings-feed-schema-v2.json.

use serde::Serialize;
use serde_json::Value;

use crate::marketplaces::Region;

/// The Feeds API's feeds (createFeed, getFeeds; `/{feedId}`: getFeed, cancelFeed) and documents
/// (createFeedDocument; `/{feedDocumentId}`: getFeedDocument).
pub const FEEDS_PATH: &str = "/feeds/2021-06-30/feeds";
pub const FEED_DOCUMENTS_PATH: &str = "/feeds/2021-06-30/documents";

/// The feed type allot writes quantities with (the legacy XML and flat-file feeds are gone).
pub const FEED_TYPE: &str = "JSON_LISTINGS_FEED";
/// The content type for createFeedDocument and the upload (the same on both), and of the
/// processing report.
pub const FEED_CONTENT_TYPE: &str = "application/json; charset=UTF-8";
/// The header's `version`: the schema's const.
pub const FEED_VERSION: &str = "2.0";
/// Messages per document: the schema's `maxItems` (raised from 10,000 in May 2025).
pub const FEED_MAX_MESSAGES: usize = 25_000;
/// Bytes per document (compact JSON): the Feeds best practices' 10 MiB.
pub const FEED_MAX_BYTES: usize = 10_485_760;
/// createFeed names 1 to 25 marketplace IDs.
pub const FEED_MAX_MARKETPLACES: usize = 25;

/// One JSON_LISTINGS_FEED document and what createFeed needs with it: what `plan::encode`
/// produces and `spapi::apply::apply_feeds` sends.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeedDocument {
    pub region: Region,
    /// For createFeed's `marketplaceIds`: every marketplace of the region the plan writes to.
    pub marketplace_ids: Vec<String>,
    /// The operations in this document, in order (each message's `messageId` is its id).
    pub operation_ids: Vec<u32>,
    /// The document. Its size limit is measured on `serde_json::to_vec(&body)` (compact): upload
    /// exactly those bytes.
    pub body: Value,
}

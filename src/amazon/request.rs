//! An SP-API request before authentication: what `plan::encode` produces and `spapi` sends (one
//! type from the planner to the wire), and how paths and queries are percent-encoded, so the
//! planner and the client build the same bytes.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::Value;

/// The Listings Items API's items path, before the seller ID.
pub const LISTINGS_ITEMS_PATH: &str = "/listings/2021-08-01/items";

/// One HTTP request, before authentication. `path` is already percent-encoded; `query` values
/// are not (see [`Request::path_and_query`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Request {
    pub method: String,
    /// Path from the host, e.g. `/listings/2021-08-01/items/{sellerId}/{sku}`, already encoded.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Value,
}

impl Request {
    /// The path with its query string, every key and value percent-encoded.
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let q: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
            .collect();
        format!("{}?{}", self.path, q.join("&"))
    }
}

/// `/listings/2021-08-01/items/{sellerId}/{sku}`, each segment encoded.
pub fn listings_item_path(seller_id: &str, seller_sku: &str) -> String {
    format!(
        "{LISTINGS_ITEMS_PATH}/{}/{}",
        encode_segment(seller_id),
        encode_segment(seller_sku)
    )
}

/// RFC 3986 unreserved characters stay; every other byte (`/`, space, `#`, `%`, `+`, non-ASCII
/// UTF-8 bytes, …) is percent-encoded, so any seller SKU is one path segment.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` percent-encoded as one query key or value.
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// `s` percent-encoded as one URL path segment. `.` and `..` are dot-segments that HTTP clients
/// and servers remove (RFC 3986 sec. 5.2.4), so a seller SKU `..` would address another path:
/// their dots are encoded (`%2E`), which no normalisation touches.
pub fn encode_segment(s: &str) -> String {
    if s == "." || s == ".." {
        return "%2E".repeat(s.len());
    }
    encode_component(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("YOGA-1_UK.x~"), "YOGA-1_UK.x~");
        assert_eq!(encode_segment("A/B C#"), "A%2FB%20C%23");
        assert_eq!(
            listings_item_path("S", "A/B"),
            "/listings/2021-08-01/items/S/A%2FB"
        );
    }

    #[test]
    fn dot_segments_are_encoded() {
        assert_eq!(encode_segment("."), "%2E");
        assert_eq!(encode_segment(".."), "%2E%2E");
        // Dots inside a longer SKU are no dot-segment and stay.
        assert_eq!(encode_segment("..."), "...");
        assert_eq!(encode_segment(".a"), ".a");
    }
}

//! What the sandbox remembers, and how it is saved. Quantities live in the shared
//! [`AmazonModel`]; this file only adds what the Listings and Feeds APIs need beside them
//! (product type, other attributes, channel details, feeds, documents, issued tokens).

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::amazon::{AmazonModel, ListingKey};

use super::{LogEntry, SandboxError};

/// The state file's format version; a file with another version is refused.
pub const STATE_VERSION: u32 = 1;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SandboxState {
    pub version: u32,
    /// Quantities and marketplaces: Amazon's model, shared with the simulator.
    pub amazon: AmazonModel,
    /// Everything else about a listing, by the same key.
    #[serde(with = "keyed")]
    pub items: BTreeMap<ListingKey, ItemData>,
    pub feeds: BTreeMap<String, Feed>,
    /// Reports API reports by ID. Absent in older files.
    #[serde(default)]
    pub reports: BTreeMap<String, Report>,
    /// Supply Sources API supply sources by ID. Absent in older files.
    #[serde(default)]
    pub supply_sources: BTreeMap<String, SupplySource>,
    pub documents: BTreeMap<String, Document>,
    /// SHA-256 (hex) of each access token issued → expiry (unix seconds). Hashes only, so the
    /// state file never holds a usable token.
    pub tokens: BTreeMap<String, i64>,
    /// Counter for generated IDs (feeds, documents, submissions).
    pub next_id: u64,
    /// The request log's last entries (bounded), saved with the state so that after a crash it
    /// tells exactly what the saved state went through. Absent in older files.
    #[serde(default)]
    pub log: VecDeque<LogEntry>,
    /// The `seq` of the last entry ever logged (entries beyond the bound are gone, their
    /// numbers are not reused).
    #[serde(default)]
    pub log_seq: u64,
}

impl SandboxState {
    pub fn new() -> Self {
        SandboxState {
            version: STATE_VERSION,
            ..SandboxState::default()
        }
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// The non-quantity side of a listing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemData {
    pub product_type: String,
    /// Attributes other than `fulfillment_availability`, stored as sent.
    pub attributes: Map<String, Value>,
    /// Per channel, the entry fields other than the code and the quantity
    /// (`lead_time_to_ship_max_days`, `restock_date`, `is_inventory_available`, ...).
    pub channel_extras: BTreeMap<String, Map<String, Value>>,
    /// Created by offer data alone (a PATCH of a SKU Amazon did not know): accepted, but an
    /// incomplete listing buyers cannot buy. Absent in older state files, hence the default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offer_only: bool,
    /// RFC 3339.
    pub created: String,
    pub updated: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProcessingStatus {
    InQueue,
    InProgress,
    Done,
    Fatal,
    Cancelled,
}

impl ProcessingStatus {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ProcessingStatus::Done | ProcessingStatus::Fatal | ProcessingStatus::Cancelled
        )
    }
}

/// A feed as getFeed shows it (field names as in the model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feed {
    pub feed_id: String,
    pub feed_type: String,
    pub marketplace_ids: Vec<String>,
    pub created_time: String,
    pub processing_status: ProcessingStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_feed_document_id: Option<String>,
    /// Not part of getFeed's answer (removed by the handler), kept to process the feed.
    pub input_feed_document_id: String,
}

/// A report as getReport shows it (field names as in the model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub report_id: String,
    pub report_type: String,
    pub marketplace_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_end_time: Option<String>,
    pub created_time: String,
    pub processing_status: ProcessingStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_document_id: Option<String>,
    /// Not part of getReport's answer (removed by the handler): listings left out of the
    /// document because their seller SKU holds a tab or a line break, which would break a row.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rows_left_out: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A supply source's `status` (the model's `SupplySourceStatusReadOnly`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SupplySourceStatus {
    Active,
    Inactive,
    Archived,
}

/// The model's `Address` (name, addressLine1, stateOrRegion and countryCode required).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Address {
    pub name: String,
    pub address_line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    pub state_or_region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    pub country_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A supply source as getSupplySource shows it (field names as in the model; configuration
/// and capabilities are not modelled).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupplySource {
    pub supply_source_id: String,
    pub supply_source_code: String,
    pub alias: String,
    pub status: SupplySourceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentKind {
    /// Made by createFeedDocument, filled by the client's upload.
    Input,
    /// A processing report made by the sandbox.
    Result,
    /// A Reports API report document (the All Listings report).
    Report,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub id: String,
    pub kind: DocumentKind,
    pub content_type: String,
    /// The bytes, hex-encoded in the state file; `None` until uploaded.
    #[serde(with = "hex_bytes")]
    pub content: Option<Vec<u8>>,
    /// Served gzip-compressed (`compressionAlgorithm: GZIP`).
    pub gzip: bool,
    pub created: String,
}

mod keyed {
    //! JSON object keys must be strings: store a map keyed by `ListingKey` as a list.
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Entry<T> {
        #[serde(flatten)]
        key: ListingKey,
        #[serde(flatten)]
        value: T,
    }

    pub fn serialize<S: Serializer, T: Serialize + Clone>(
        map: &BTreeMap<ListingKey, T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter().map(|(k, v)| Entry {
            key: k.clone(),
            value: v.clone(),
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<BTreeMap<ListingKey, T>, D::Error> {
        let entries: Vec<Entry<T>> = Vec::deserialize(d)?;
        Ok(entries.into_iter().map(|e| (e.key, e.value)).collect())
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| hex::decode(s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Load the state file. A missing file is an empty state; anything unreadable is an error that
/// names the file (never silently replaced: the user may want what is in it).
pub fn load(path: &Path) -> Result<SandboxState, SandboxError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SandboxState::new()),
        Err(e) => {
            return Err(SandboxError::ReadState {
                path: path.to_path_buf(),
                source: e,
            });
        }
    };
    let state: SandboxState =
        serde_json::from_slice(&bytes).map_err(|e| SandboxError::CorruptState {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if state.version != STATE_VERSION {
        return Err(SandboxError::CorruptState {
            path: path.to_path_buf(),
            reason: format!(
                "state format version {} is not the supported version {STATE_VERSION}",
                state.version
            ),
        });
    }
    Ok(state)
}

/// Write `bytes` to `path` atomically: a temporary file beside it, fsynced, then renamed, so a
/// crash leaves either the old or the new state, never half of one.
pub fn save_bytes(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    // The rename is durable only once the directory is on disk too.
    #[cfg(unix)]
    std::fs::File::open(&dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amazon::PatchOp;
    use crate::marketplaces::Region;
    use crate::model::ChannelQty;

    #[test]
    fn state_round_trips_through_json() {
        let mut s = SandboxState::new();
        let key = ListingKey {
            seller_id: "A1".into(),
            region: Region::EU,
            seller_sku: "SKU/1".into(),
        };
        s.amazon.write(
            key.clone(),
            "A1PA6795UKMFR9",
            &[ChannelQty::new("DEFAULT", 4)],
            PatchOp::Merge,
        );
        s.items.insert(
            key,
            ItemData {
                product_type: "PRODUCT".into(),
                ..ItemData::default()
            },
        );
        s.documents.insert(
            "d1".into(),
            Document {
                id: "d1".into(),
                kind: DocumentKind::Input,
                content_type: "application/json".into(),
                content: Some(vec![0, 159, 146, 150]),
                gzip: false,
                created: "2026-01-01T00:00:00Z".into(),
            },
        );
        let text = serde_json::to_string(&s).unwrap();
        let back: SandboxState = serde_json::from_str(&text).unwrap();
        assert_eq!(back.amazon, s.amazon);
        assert_eq!(back.items, s.items);
        assert_eq!(back.documents, s.documents);
    }

    /// A file written before FBA and offer-only listings were modelled still loads.
    #[test]
    fn older_state_files_load_without_the_new_fields() {
        let old = r#"{"version":1,"amazon":{"listings":[{"seller_id":"A1","region":"NA",
            "seller_sku":"S","marketplaces":["ATVPDKIKX0DER"],"channels":{"AMAZON_NA":3}}]},
            "items":[{"seller_id":"A1","region":"NA","seller_sku":"S","product_type":"PRODUCT",
            "attributes":{},"channel_extras":{},"created":"","updated":""}],
            "feeds":{},"documents":{},"tokens":{},"next_id":0}"#;
        let s: SandboxState = serde_json::from_str(old).unwrap();
        let item = s.items.values().next().unwrap();
        assert!(!item.offer_only);
        assert!(s.amazon.listings.values().next().unwrap().is_fba());
        // Not written when false, so files stay as they were.
        assert!(!serde_json::to_string(&s).unwrap().contains("offer_only"));
    }

    #[test]
    fn corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        std::fs::write(&p, "{ not json").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("state.json"), "{e}");
        // Never replaced.
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{ not json");
        assert!(load(&dir.path().join("missing.json")).is_ok());
    }
}

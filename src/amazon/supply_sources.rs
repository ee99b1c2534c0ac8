//! The Supply Sources API (2020-07-01): the seller's supply sources (locations), which a
//! multi-location listing names in `fulfillment_channel_code`. Read by `allot sources` and by
//! `allot plan --current live` (to check a policy's `supply_source`s), served by the sandbox.
//! Sources: ../shared/spapi-models/supplySources_2020-07-01.json, ../shared/notes/spapi.md sec. 6.
//!
//! Which of a supply source's two identifiers a listing's `fulfillment_channel_code` carries is
//! disputed (notes/spapi.md sec. 2: the MLI guide says the supply source ID, its examples show
//! seller-chosen codes): a policy's `supply_source` is matched against both.

/// getSupplySources, createSupplySource; `/{supplySourceId}`: getSupplySource,
/// updateSupplySource, archiveSupplySource; `/{supplySourceId}/status`: updateSupplySourceStatus.
pub const SUPPLY_SOURCES_PATH: &str = "/supplySources/2020-07-01/supplySources";

/// getSupplySources' `pageSize` allot asks for. The model gives a default of 10 and no maximum.
pub const SUPPLY_SOURCES_PAGE: u32 = 50;

/// The statuses a supply source can have (`SupplySourceStatusReadOnly`); only `Active` ones
/// take location quantities.
pub const SUPPLY_SOURCE_STATUSES: [&str; 3] = ["Active", "Inactive", "Archived"];

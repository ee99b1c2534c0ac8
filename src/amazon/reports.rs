//! The Reports API (2021-06-30) as allot uses it: the merchant listings report
//! (GET_MERCHANT_LISTINGS_ALL_DATA, "All Listings" in Seller Central), read by
//! `allot plan --current live` at scale and served by the sandbox. The client and the sandbox
//! share these constants, and the sandbox writes the report in the layout below, which the
//! current-listings reader (`listings`, format `amazon`) reads by column name.
//! Sources: ../shared/spapi-models/reports_2021-06-30.json, docs/inventory.md.

/// createReport, getReports; `/{reportId}`: getReport, cancelReport.
pub const REPORTS_PATH: &str = "/reports/2021-06-30/reports";
/// `/{reportDocumentId}`: getReportDocument.
pub const REPORT_DOCUMENTS_PATH: &str = "/reports/2021-06-30/documents";

/// The merchant listings report: one row per seller SKU listed in the report's marketplace,
/// active or not, merchant-fulfilled or FBA.
pub const ALL_LISTINGS_REPORT: &str = "GET_MERCHANT_LISTINGS_ALL_DATA";

/// createReport's `marketplaceIds` holds 1 to 25 IDs (the model's bounds).
pub const REPORT_MAX_MARKETPLACES: usize = 25;

/// Reports are kept 90 days (the model: getReports' `createdSince` default and retention).
pub const REPORT_RETENTION_DAYS: i64 = 90;

/// The columns of the All Listings report, in Amazon's order (tab-separated, one header line).
/// `quantity` is empty for an FBA row (`fulfillment-channel` AMAZON_NA, AMAZON_EU, ...), whose
/// stock Amazon counts; `fulfillment-channel` is `DEFAULT` for a merchant-fulfilled row.
pub const ALL_LISTINGS_COLUMNS: [&str; 29] = [
    "item-name",
    "item-description",
    "listing-id",
    "seller-sku",
    "price",
    "quantity",
    "open-date",
    "image-url",
    "item-is-marketplace",
    "product-id-type",
    "zshop-shipping-fee",
    "item-note",
    "item-condition",
    "zshop-category1",
    "zshop-browse-path",
    "zshop-storefront-feature",
    "asin1",
    "asin2",
    "asin3",
    "will-ship-internationally",
    "expedited-shipping",
    "zshop-boldface",
    "product-id",
    "bid-for-featured-placement",
    "add-delete",
    "pending-quantity",
    "fulfillment-channel",
    "merchant-shipping-group",
    "status",
];

/// A report's `processingStatus`: final once DONE, CANCELLED or FATAL.
pub fn is_final_status(status: &str) -> bool {
    matches!(status, "DONE" | "CANCELLED" | "FATAL")
}

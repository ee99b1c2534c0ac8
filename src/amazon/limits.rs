//! Amazon's usage plans: one token bucket per SP-API operation (rate = tokens added per second,
//! burst = bucket size; ../shared/notes/spapi.md sec. 4), plus JSON_LISTINGS_FEED's own window.
//! The one table both the client (`spapi::ratelimit`, which paces itself by it) and the sandbox
//! (`sandbox::limits`, which enforces it) read.

use std::time::Duration;

/// The SP-API operations allot calls or the sandbox serves, each with its own usage plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiOp {
    GetListingsItem,
    PutListingsItem,
    PatchListingsItem,
    DeleteListingsItem,
    SearchListingsItems,
    CreateFeedDocument,
    CreateFeed,
    GetFeed,
    GetFeeds,
    CancelFeed,
    GetFeedDocument,
    CreateReport,
    GetReports,
    GetReport,
    GetReportDocument,
    CancelReport,
    GetSupplySources,
    GetSupplySource,
    CreateSupplySource,
    UpdateSupplySourceStatus,
    ArchiveSupplySource,
}

impl ApiOp {
    pub const ALL: [ApiOp; 21] = [
        ApiOp::GetListingsItem,
        ApiOp::PutListingsItem,
        ApiOp::PatchListingsItem,
        ApiOp::DeleteListingsItem,
        ApiOp::SearchListingsItems,
        ApiOp::CreateFeedDocument,
        ApiOp::CreateFeed,
        ApiOp::GetFeed,
        ApiOp::GetFeeds,
        ApiOp::CancelFeed,
        ApiOp::GetFeedDocument,
        ApiOp::CreateReport,
        ApiOp::GetReports,
        ApiOp::GetReport,
        ApiOp::GetReportDocument,
        ApiOp::CancelReport,
        ApiOp::GetSupplySources,
        ApiOp::GetSupplySource,
        ApiOp::CreateSupplySource,
        ApiOp::UpdateSupplySourceStatus,
        ApiOp::ArchiveSupplySource,
    ];

    /// (requests per second, burst): Amazon's default usage plan for the operation.
    ///
    /// Sources: the "Usage Plan" tables in the operation descriptions of
    /// ../shared/spapi-models/listingsItems_2021-08-01.json and feeds_2021-06-30.json, and the
    /// rate-limits docs pages (notes/spapi.md sec. 1 and 3). Where they disagree the lower value
    /// is taken, so a client pacing itself by this table is never throttled by either, and a
    /// rehearsal that passes the sandbox passes Amazon.
    pub fn usage_plan(self) -> (f64, f64) {
        match self {
            // Model: 5/s burst 10; docs page: burst 5. CONFLICT: the lower burst, 5.
            ApiOp::GetListingsItem => (5.0, 5.0),
            // Model: 5/s burst 10; docs page: burst 5. CONFLICT: the lower burst, 5.
            ApiOp::PutListingsItem => (5.0, 5.0),
            // Model and docs page agree: 5/s burst 5 (the model's burst was 10 before 2024-12).
            ApiOp::PatchListingsItem => (5.0, 5.0),
            // Model and docs page agree: 5/s burst 5 (the model's burst was 10 before 2025-07).
            ApiOp::DeleteListingsItem => (5.0, 5.0),
            // Model: 5/s burst 5 (no docs-page row found).
            ApiOp::SearchListingsItems => (5.0, 5.0),
            // Feeds: the model and the docs page agree on every operation.
            ApiOp::CreateFeedDocument => (0.5, 15.0),
            ApiOp::CreateFeed => (0.0083, 15.0),
            ApiOp::GetFeed => (2.0, 15.0),
            ApiOp::GetFeeds => (0.0222, 10.0),
            ApiOp::CancelFeed => (2.0, 15.0),
            ApiOp::GetFeedDocument => (0.0222, 10.0),
            // Reports: the model's usage plans (reports_2021-06-30.json).
            ApiOp::CreateReport => (0.0167, 15.0),
            ApiOp::GetReports => (0.0222, 10.0),
            ApiOp::GetReport => (2.0, 15.0),
            ApiOp::GetReportDocument => (0.0167, 15.0),
            ApiOp::CancelReport => (0.0222, 10.0),
            // Supply Sources: Amazon publishes no usage plan (notes/spapi.md sec. 6). UNKNOWN:
            // one request a second, burst 1, until a response's x-amzn-RateLimit-Limit says
            // otherwise (the client adopts it). A seller has a few dozen supply sources.
            ApiOp::GetSupplySources
            | ApiOp::GetSupplySource
            | ApiOp::CreateSupplySource
            | ApiOp::UpdateSupplySourceStatus
            | ApiOp::ArchiveSupplySource => (1.0, 1.0),
        }
    }

    /// The operation's name as Amazon spells it (operationId).
    pub fn name(self) -> &'static str {
        match self {
            ApiOp::GetListingsItem => "getListingsItem",
            ApiOp::PutListingsItem => "putListingsItem",
            ApiOp::PatchListingsItem => "patchListingsItem",
            ApiOp::DeleteListingsItem => "deleteListingsItem",
            ApiOp::SearchListingsItems => "searchListingsItems",
            ApiOp::CreateFeedDocument => "createFeedDocument",
            ApiOp::CreateFeed => "createFeed",
            ApiOp::GetFeed => "getFeed",
            ApiOp::GetFeeds => "getFeeds",
            ApiOp::CancelFeed => "cancelFeed",
            ApiOp::GetFeedDocument => "getFeedDocument",
            ApiOp::CreateReport => "createReport",
            ApiOp::GetReports => "getReports",
            ApiOp::GetReport => "getReport",
            ApiOp::GetReportDocument => "getReportDocument",
            ApiOp::CancelReport => "cancelReport",
            ApiOp::GetSupplySources => "getSupplySources",
            ApiOp::GetSupplySource => "getSupplySource",
            ApiOp::CreateSupplySource => "createSupplySource",
            ApiOp::UpdateSupplySourceStatus => "updateSupplySourceStatus",
            ApiOp::ArchiveSupplySource => "archiveSupplySource",
        }
    }
}

/// JSON_LISTINGS_FEED's own limit, separate from createFeed's bucket: at most this many
/// submissions per window per region (since 6 May 2025; notes/spapi.md sec. 3).
pub const LISTINGS_FEED_MAX: usize = 5;
pub const LISTINGS_FEED_WINDOW: Duration = Duration::from_secs(300);

#[cfg(test)]
mod tests {
    use super::*;

    /// A change of the table is a choice to make on purpose (and to document in docs/apply.md
    /// and docs/sandbox.md), not a side effect.
    #[test]
    fn the_table_is_the_conservative_reading_of_the_models() {
        for op in ApiOp::ALL {
            let (rate, burst) = op.usage_plan();
            assert!(rate > 0.0 && burst >= 1.0, "{}", op.name());
        }
        assert_eq!(ApiOp::GetListingsItem.usage_plan(), (5.0, 5.0));
        assert_eq!(ApiOp::PatchListingsItem.usage_plan(), (5.0, 5.0));
        assert_eq!(ApiOp::CreateFeed.usage_plan(), (0.0083, 15.0));
        assert_eq!(ApiOp::CreateReport.usage_plan(), (0.0167, 15.0));
        assert_eq!(ApiOp::GetReport.usage_plan(), (2.0, 15.0));
        assert_eq!(ApiOp::GetReportDocument.usage_plan(), (0.0167, 15.0));
        assert_eq!(ApiOp::CancelReport.usage_plan(), (0.0222, 10.0));
    }
}

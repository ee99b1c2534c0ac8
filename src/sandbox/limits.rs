//! Amazon's throttling, enforced: a token bucket per operation (rate = tokens added per second,
//! burst = bucket size), plus JSON_LISTINGS_FEED's own "5 submissions per 5 minutes per region".
//! The rates are the one table in [`crate::amazon::limits`], the one the client paces itself by.

use std::collections::{BTreeMap, VecDeque};
// tokio's clock: the same as std's in a run, the test's own when a test pauses it.
use tokio::time::Instant;

use crate::amazon::limits::{ApiOp, LISTINGS_FEED_MAX, LISTINGS_FEED_WINDOW};
use crate::marketplaces::Region;

/// Request bodies above this are refused: Listings bodies carry attributes (Amazon answers 413
/// far below 10 MiB); the Feeds JSON calls are small (the document goes to the upload URL).
pub fn body_limit(op: ApiOp) -> usize {
    match op {
        ApiOp::GetListingsItem
        | ApiOp::PutListingsItem
        | ApiOp::PatchListingsItem
        | ApiOp::DeleteListingsItem
        | ApiOp::SearchListingsItems => 10 * 1024 * 1024,
        ApiOp::CreateFeedDocument
        | ApiOp::CreateFeed
        | ApiOp::GetFeed
        | ApiOp::GetFeeds
        | ApiOp::CancelFeed
        | ApiOp::GetFeedDocument
        | ApiOp::CreateReport
        | ApiOp::GetReports
        | ApiOp::GetReport
        | ApiOp::GetReportDocument
        | ApiOp::CancelReport
        | ApiOp::GetSupplySources
        | ApiOp::GetSupplySource
        | ApiOp::CreateSupplySource
        | ApiOp::UpdateSupplySourceStatus
        | ApiOp::ArchiveSupplySource => 1024 * 1024,
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug)]
pub struct Limits {
    scale: f64,
    buckets: BTreeMap<ApiOp, Bucket>,
    feeds: BTreeMap<Region, VecDeque<Instant>>,
}

impl Limits {
    pub fn new(scale: f64) -> Self {
        Limits {
            scale,
            buckets: BTreeMap::new(),
            feeds: BTreeMap::new(),
        }
    }

    /// The rate this server enforces for `op` (what `x-amzn-RateLimit-Limit` reports).
    pub fn rate(&self, op: ApiOp) -> f64 {
        op.usage_plan().0 * self.scale
    }

    /// Take one token for `op` at `now`; false means throttled (429).
    pub fn take(&mut self, op: ApiOp, now: Instant) -> bool {
        let (rate, burst) = op.usage_plan();
        let rate = rate * self.scale;
        // A new bucket starts full, as Amazon's do for a fresh application.
        let b = self.buckets.entry(op).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Record one JSON_LISTINGS_FEED submission for `region` at `now`; false when the region
    /// already had the maximum within the (scaled) window.
    pub fn take_listings_feed(&mut self, region: Region, now: Instant) -> bool {
        let window = LISTINGS_FEED_WINDOW.as_secs_f64() / self.scale;
        let q = self.feeds.entry(region).or_default();
        while q
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t).as_secs_f64() >= window)
        {
            q.pop_front();
        }
        if q.len() >= LISTINGS_FEED_MAX {
            return false;
        }
        q.push_back(now);
        true
    }

    pub fn reset(&mut self) {
        self.buckets.clear();
        self.feeds.clear();
    }
}

/// `x-amzn-RateLimit-Limit` as Amazon writes it ("5.0", "0.0083").
pub fn format_rate(rate: f64) -> String {
    if rate.fract() == 0.0 {
        format!("{rate:.1}")
    } else {
        let s = format!("{rate:.6}");
        s.trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_burst_then_refills_at_rate() {
        let mut l = Limits::new(1.0);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(l.take(ApiOp::PatchListingsItem, t0));
        }
        assert!(!l.take(ApiOp::PatchListingsItem, t0));
        // 5/s: one token after 200 ms.
        assert!(l.take(ApiOp::PatchListingsItem, t0 + Duration::from_millis(200)));
        assert!(!l.take(ApiOp::PatchListingsItem, t0 + Duration::from_millis(200)));
        // Other operations have their own buckets.
        assert!(l.take(ApiOp::GetListingsItem, t0));
    }

    #[test]
    fn scale_speeds_up_refill() {
        let mut l = Limits::new(10.0);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(l.take(ApiOp::PatchListingsItem, t0));
        }
        assert!(l.take(ApiOp::PatchListingsItem, t0 + Duration::from_millis(20)));
        assert_eq!(format_rate(l.rate(ApiOp::PatchListingsItem)), "50.0");
    }

    #[test]
    fn listings_feed_window_is_per_region() {
        let mut l = Limits::new(1.0);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(l.take_listings_feed(Region::EU, t0));
        }
        assert!(!l.take_listings_feed(Region::EU, t0 + Duration::from_secs(299)));
        assert!(l.take_listings_feed(Region::NA, t0));
        assert!(l.take_listings_feed(Region::EU, t0 + Duration::from_secs(300)));
    }

    #[test]
    fn rates_format_like_amazon() {
        assert_eq!(format_rate(5.0), "5.0");
        assert_eq!(format_rate(0.0083), "0.0083");
        assert_eq!(format_rate(0.0222), "0.0222");
    }
}

//! Client-side throttling: one token bucket per SP-API operation at Amazon's published rate and
//! burst, plus JSON_LISTINGS_FEED's own window (5 submissions per 5 minutes per region). The
//! rates are the one table in [`crate::amazon::limits`], the one the sandbox enforces.
//! The buckets take the time as an argument, so they are tested with a fake clock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::amazon::limits::{ApiOp, LISTINGS_FEED_MAX, LISTINGS_FEED_WINDOW};
use crate::marketplaces::Region;

/// A token bucket: `rate` tokens a second up to `burst`. Starts full, as Amazon's does.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    /// Time of the last refill, from any fixed origin.
    last: Duration,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64, now: Duration) -> Self {
        let burst = burst.max(1.0);
        TokenBucket {
            rate: rate.max(f64::MIN_POSITIVE),
            burst,
            tokens: burst,
            last: now,
        }
    }

    fn refill(&mut self, now: Duration) {
        let elapsed = now.saturating_sub(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = self.last.max(now);
    }

    /// Take one token, or say how long to wait before one is there.
    pub fn try_take(&mut self, now: Duration) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 - self.tokens;
            Err(Duration::from_secs_f64(missing / self.rate))
        }
    }

    /// Follow the server's `x-amzn-RateLimit-Limit` (tokens already earned are kept).
    pub fn set_rate(&mut self, rate: f64, now: Duration) {
        if rate.is_finite() && rate > 0.0 {
            self.refill(now);
            self.rate = rate;
        }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }
}

/// At most `max` events in any `window` (JSON_LISTINGS_FEED submissions per region).
#[derive(Clone, Debug)]
pub struct SlidingWindow {
    max: usize,
    window: Duration,
    events: VecDeque<Duration>,
}

impl SlidingWindow {
    pub fn new(max: usize, window: Duration) -> Self {
        SlidingWindow {
            max: max.max(1),
            window,
            events: VecDeque::new(),
        }
    }

    pub fn try_take(&mut self, now: Duration) -> Result<(), Duration> {
        while let Some(&t) = self.events.front() {
            if now.saturating_sub(t) >= self.window {
                self.events.pop_front();
            } else {
                break;
            }
        }
        if self.events.len() < self.max {
            self.events.push_back(now);
            Ok(())
        } else {
            let oldest = self.events.front().copied().unwrap_or(now);
            Err((oldest + self.window).saturating_sub(now))
        }
    }
}

/// The buckets of one client, shared by its tasks.
pub struct Limits {
    origin: Instant,
    scale: f64,
    buckets: Mutex<HashMap<ApiOp, TokenBucket>>,
    feed_windows: Mutex<HashMap<Region, SlidingWindow>>,
}

/// The share of a rate the client uses: requests leave evenly spaced but arrive with network
/// jitter, and one arriving a few milliseconds early would find Amazon's bucket empty (a 429).
pub const PACING_MARGIN: f64 = 0.95;

impl Limits {
    /// `scale` multiplies every rate (and shrinks the feed window): 1.0 against Amazon, larger
    /// against a sped-up sandbox.
    pub fn new(scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        let buckets = ApiOp::ALL
            .iter()
            .map(|op| {
                let (rate, burst) = op.usage_plan();
                (
                    *op,
                    TokenBucket::new(rate * scale * PACING_MARGIN, burst, Duration::ZERO),
                )
            })
            .collect();
        Limits {
            origin: Instant::now(),
            scale,
            buckets: Mutex::new(buckets),
            feed_windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.origin)
    }

    /// Wait until `op` may be called.
    pub async fn acquire(&self, op: ApiOp) {
        loop {
            let wait = {
                let mut b = lock(&self.buckets);
                match b.get_mut(&op) {
                    Some(bucket) => bucket.try_take(self.now()),
                    None => Ok(()),
                }
            };
            match wait {
                Ok(()) => return,
                Err(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// Wait until a JSON_LISTINGS_FEED may be submitted in `region`.
    pub async fn acquire_listings_feed(&self, region: Region) {
        loop {
            let wait = {
                let mut w = lock(&self.feed_windows);
                w.entry(region)
                    .or_insert_with(|| {
                        SlidingWindow::new(
                            LISTINGS_FEED_MAX,
                            LISTINGS_FEED_WINDOW.div_f64(self.scale),
                        )
                    })
                    .try_take(self.now())
            };
            match wait {
                Ok(()) => return,
                Err(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// Adopt the rate a response announced in `x-amzn-RateLimit-Limit` (with the same margin).
    pub fn adapt(&self, op: ApiOp, rate: f64) {
        let now = self.now();
        if let Some(b) = lock(&self.buckets).get_mut(&op) {
            b.set_rate(rate * PACING_MARGIN, now);
        }
    }

    pub fn rate(&self, op: ApiOp) -> f64 {
        lock(&self.buckets).get(&op).map_or(0.0, |b| b.rate())
    }
}

/// A poisoned lock only means another task panicked mid-update of plain numbers: keep going.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn bucket_allows_burst_then_rate() {
        let mut b = TokenBucket::new(5.0, 5.0, ms(0));
        for _ in 0..5 {
            assert!(b.try_take(ms(0)).is_ok());
        }
        let wait = b.try_take(ms(0)).unwrap_err();
        assert_eq!(wait, ms(200));
        // 100 ms later half a token: still 100 ms to wait.
        assert_eq!(b.try_take(ms(100)).unwrap_err(), ms(100));
        assert!(b.try_take(ms(200)).is_ok());
        // A long pause refills to the burst, never beyond.
        let mut taken = 0;
        while b.try_take(ms(60_000)).is_ok() {
            taken += 1;
        }
        assert_eq!(taken, 5);
    }

    #[test]
    fn bucket_over_a_minute_keeps_the_rate() {
        // Taking as fast as allowed for 60 s gives burst + 60 × rate requests.
        let mut b = TokenBucket::new(5.0, 5.0, ms(0));
        let mut now = ms(0);
        let mut count = 0;
        while now <= ms(60_000) {
            match b.try_take(now) {
                Ok(()) => count += 1,
                Err(w) => now += w,
            }
        }
        assert_eq!(count, 5 + 300);
    }

    #[test]
    fn slow_operation_waits_long() {
        let (rate, burst) = ApiOp::CreateFeed.usage_plan();
        let mut b = TokenBucket::new(rate, burst, ms(0));
        for _ in 0..15 {
            assert!(b.try_take(ms(0)).is_ok());
        }
        let w = b.try_take(ms(0)).unwrap_err();
        assert!(
            w > Duration::from_secs(120) && w < Duration::from_secs(121),
            "{w:?}"
        );
    }

    #[test]
    fn adapting_the_rate_changes_the_wait() {
        let mut b = TokenBucket::new(5.0, 1.0, ms(0));
        assert!(b.try_take(ms(0)).is_ok());
        b.set_rate(2.0, ms(0));
        assert_eq!(b.try_take(ms(0)).unwrap_err(), ms(500));
        b.set_rate(0.0, ms(0)); // nonsense is ignored
        b.set_rate(f64::NAN, ms(0));
        assert_eq!(b.rate(), 2.0);
    }

    #[test]
    fn listings_feed_window() {
        let mut w = SlidingWindow::new(5, Duration::from_secs(300));
        for i in 0..5 {
            assert!(w.try_take(Duration::from_secs(i)).is_ok());
        }
        assert_eq!(
            w.try_take(Duration::from_secs(10)).unwrap_err(),
            Duration::from_secs(290)
        );
        assert!(w.try_take(Duration::from_secs(300)).is_ok());
        assert!(w.try_take(Duration::from_secs(300)).is_err());
    }
}

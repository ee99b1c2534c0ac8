//! Stage 5: the SP-API client (LWA auth, rate limits, retries, Listings and Feeds calls).

//! The checker's diagnostic codes. Stable: never renamed once shipped; each is documented in
//! `docs/language.md` with a failing example and its fix, and has a fixture in `tests/fixtures/err/`.

pub const MISSING_POLICY: &str = "allot::missing-policy";
pub const MISSING_SELLER: &str = "allot::missing-seller";
pub const MISSING_MARKETPLACES: &str = "allot::missing-marketplaces";
pub const DUPLICATE: &str = "allot::duplicate";
pub const MISSING_MATCH: &str = "allot::missing-match";
pub const MISSING_PUBLISH: &str = "allot::missing-publish";
pub const CONFLICTING_STATEMENTS: &str = "allot::conflicting-statements";
pub const EMPTY_VALUE: &str = "allot::empty-value";
pub const UNKNOWN_MARKETPLACE: &str = "allot::unknown-marketplace";
pub const MARKETPLACE_NOT_LISTED: &str = "allot::marketplace-not-listed";
pub const UNKNOWN_LOCATION: &str = "allot::unknown-location";
pub const UNKNOWN_REGION: &str = "allot::unknown-region";
pub const UNKNOWN_VALUE: &str = "allot::unknown-value";
pub const TYPE_MISMATCH: &str = "allot::type-mismatch";
pub const PERCENT_RANGE: &str = "allot::percent-range";
pub const BAD_TEMPLATE: &str = "allot::bad-template";
pub const DEFAULT_CHANNEL: &str = "allot::default-channel";
pub const UNIFIED_CONFLICT: &str = "allot::unified-conflict";
pub const SHARED_ZERO: &str = "allot::shared-zero";
pub const TWO_OFFERS: &str = "allot::two-offers";
pub const NO_SUPPLY_SOURCE: &str = "allot::no-supply-source";
pub const MLI_OUTSIDE_US: &str = "allot::mli-outside-us";
pub const SPLIT_SUM: &str = "allot::split-sum";
pub const OVERSELL: &str = "allot::oversell";
pub const SHADOWED_RULE: &str = "allot::shadowed-rule";
pub const FIXED_QUANTITY: &str = "allot::fixed-quantity";
pub const IGNORED_STATEMENT: &str = "allot::ignored-statement";
pub const MIXED_REGIONS: &str = "allot::mixed-regions";
pub const UNREACHABLE_THRESHOLD: &str = "allot::unreachable-threshold";
pub const SELLER_IS_MARKETPLACE: &str = "allot::seller-is-marketplace";
pub const MARKETPLACE_ALIAS: &str = "allot::marketplace-alias";

/// Every code the checker can report.
pub const ALL: &[&str] = &[
    MISSING_POLICY,
    MISSING_SELLER,
    MISSING_MARKETPLACES,
    DUPLICATE,
    MISSING_MATCH,
    MISSING_PUBLISH,
    CONFLICTING_STATEMENTS,
    EMPTY_VALUE,
    UNKNOWN_MARKETPLACE,
    MARKETPLACE_NOT_LISTED,
    UNKNOWN_LOCATION,
    UNKNOWN_REGION,
    UNKNOWN_VALUE,
    TYPE_MISMATCH,
    PERCENT_RANGE,
    BAD_TEMPLATE,
    DEFAULT_CHANNEL,
    UNIFIED_CONFLICT,
    SHARED_ZERO,
    TWO_OFFERS,
    NO_SUPPLY_SOURCE,
    MLI_OUTSIDE_US,
    SPLIT_SUM,
    OVERSELL,
    SHADOWED_RULE,
    FIXED_QUANTITY,
    IGNORED_STATEMENT,
    MIXED_REGIONS,
    UNREACHABLE_THRESHOLD,
    SELLER_IS_MARKETPLACE,
    MARKETPLACE_ALIAS,
];

//! Hand-built policies for engine tests: the engine is tested on `Policy` values directly, so
//! its behaviour does not depend on the parser.

use crate::inventory::Stock;
use crate::marketplaces::lookup_written;
use crate::model::*;
use crate::span::Span;

/// A policy with locations `newark` (supply source NWK), `austin` (AUS), `toronto` (none) and
/// the given marketplaces.
pub fn policy(marketplaces: &[&str], rules: Vec<Rule>) -> Policy {
    Policy {
        name: "test".into(),
        seller_id: "A1PP0FEH11RW77".into(),
        marketplaces: marketplaces
            .iter()
            .map(|m| lookup_written(m).expect("test marketplaces are built-in codes"))
            .collect(),
        locations: vec![
            Location {
                name: "newark".into(),
                supply_source: Some("NWK".into()),
            },
            Location {
                name: "austin".into(),
                supply_source: Some("AUS".into()),
            },
            Location {
                name: "toronto".into(),
                supply_source: None,
            },
        ],
        rules,
        tests: vec![],
        no_oversell: false,
        inventory: Default::default(),
        kits: Vec::new(),
        on_missing: OnMissing::Skip,
        on_fba: OnFba::Skip,
        seller_span: Span::default(),
        marketplaces_span: Span::default(),
        location_spans: Vec::new(),
    }
}

pub const NEWARK: LocationIx = 0;
pub const AUSTIN: LocationIx = 1;
pub const TORONTO: LocationIx = 2;

pub fn publish() -> Publish {
    Publish {
        stock_from: None,
        buffer: None,
        round: Round::Down,
        threshold: None,
        cap: None,
        fixed: None,
        fixed_once: false,
        on_missing: OnMissing::Skip,
        on_fba: OnFba::Skip,
        default_channel_zero: false,
        columns: Default::default(),
        targets: vec![],
    }
}

/// Parse a template such as `{sku}-US`.
pub fn template(src: &str) -> SkuTemplate {
    let mut parts = Vec::new();
    let mut rest = src;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("{sku}") {
            parts.push(TemplatePart::Sku);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("{marketplace}") {
            parts.push(TemplatePart::Marketplace);
            rest = r;
        } else if let Some((name, r)) = rest
            .strip_prefix("{column:")
            .and_then(|r| r.split_once('}'))
        {
            parts.push(TemplatePart::Column(name.to_string()));
            rest = r;
        } else {
            let end = rest[1..].find('{').map_or(rest.len(), |i| i + 1);
            parts.push(TemplatePart::Lit(rest[..end].to_string()));
            rest = &rest[end..];
        }
    }
    SkuTemplate {
        parts,
        source: src.into(),
    }
}

/// A target on marketplace index `m` with template `sku` and share.
pub fn target(m: MarketplaceIx, sku: &str, share: u32) -> Target {
    Target {
        marketplace: m,
        sku: template(sku),
        share: Percent(share),
        stock_from: None,
        ratio: None,
        pack: None,
        by_location: None,
        availability: Default::default(),
        span: Span::default(),
        template_span: Span::default(),
        by_location_span: Span::default(),
    }
}

pub fn rule(name: &str, selector: Selector, p: Publish) -> Rule {
    Rule {
        name: name.into(),
        span: Span::default(),
        selector,
        action: Action::Publish(p),
        spans: RuleSpans::default(),
    }
}

pub fn skip_rule(name: &str, selector: Selector) -> Rule {
    Rule {
        name: name.into(),
        span: Span::default(),
        selector,
        action: Action::Skip,
        spans: RuleSpans::default(),
    }
}

/// Stock from (sku, location, on_hand, reserved) rows.
pub fn stock(rows: &[(&str, LocationIx, u64, u64)]) -> Stock {
    let mut s = Stock::new();
    for &(sku, loc, on_hand, reserved) in rows {
        s.add(sku, loc, on_hand, reserved)
            .expect("test rows are unique per SKU and location");
    }
    s
}

/// The sketch's example policy, parsed and checked by the real front end.
pub fn acme_na() -> Policy {
    let checked = crate::check::check_source(ACME_NA);
    checked
        .policy
        .expect("the sketch's example policy checks without errors")
}

pub const ACME_NA: &str = r#"policy "acme-na"
seller "A1PP0FEH11RW77"
marketplaces US, CA, MX
location newark  supply_source "353e4e48-6301-4d50-990e-43a86e8787a3"
location austin  supply_source "8e07a0c9-ab0a-4108-9f16-83dc3496bee0"
location toronto
rule "yoga pants" {
  match   sku "YOGA-*"
  stock   from newark, austin
  buffer  2
  cap     10
  publish US as "{sku}-US", CA as "{sku}-CA"
}
rule "aroma candles" {
  match   tag "candles"
  cap     3
  publish US, CA, MX
}
rule "mugs" {
  match   sku "MUG-*"
  publish US as "{sku}-US" share 60%, CA as "{sku}-CA" share 40%
}
rule "ship from stores" {
  match   sku "SHOE-*"
  publish US by location
  default_channel 0
}
rule "clearance" {
  match    sku "CLR-1", "CLR-2"
  quantity 1
  publish  US
}
rule "everything else" {
  match any
  skip
}
test "yoga is capped at 10" {
  stock  "YOGA-1" newark 8, austin 9
  expect "YOGA-1-US" on US = 10
}
"#;

//! Runs a policy's `test` blocks through the engine (`allot test`).

use serde::Serialize;

use super::coverage::Coverage;
use crate::inventory::Stock;
use crate::model::{ChannelRef, DEFAULT_CHANNEL, Policy, TestCase, TestExpect};
use crate::span::Span;

/// One expectation that did not hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub span: Span,
    /// The expectation as written, e.g. `"YOGA-1-US" on US = 10`.
    pub expect: String,
    /// What it is about: the seller SKU, the marketplace's code, the channel (`DEFAULT` or a
    /// location's name) when the expectation names one.
    pub seller_sku: String,
    pub marketplace: String,
    pub channel: Option<String>,
    /// The inventory SKU behind the offer, when the offer exists.
    pub inventory_sku: Option<String>,
    /// `None`: no offer expected.
    pub expected: Option<u64>,
    /// `None`: no such offer (or channel).
    pub actual: Option<u64>,
    /// How the actual value came about (rule and steps), when there is one.
    pub detail: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TestResult {
    pub name: String,
    pub span: Span,
    pub mismatches: Vec<Mismatch>,
    /// The simulation failed (the test fails with this message).
    pub error: Option<String>,
}

impl TestResult {
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty() && self.error.is_none()
    }
}

fn describe(policy: &Policy, e: &TestExpect) -> String {
    let m = policy
        .marketplaces
        .get(e.marketplace)
        .map_or("?", |m| m.code.as_str());
    let ch = match &e.channel {
        None => String::new(),
        Some(ChannelRef::Default) => " channel DEFAULT".to_string(),
        Some(ChannelRef::Location(l)) => format!(
            " at {}",
            policy.locations.get(*l).map_or("?", |l| l.name.as_str())
        ),
    };
    let q = e.quantity.map_or("no offer".to_string(), |q| q.to_string());
    format!("\"{}\" on {m}{ch} = {q}", e.seller_sku)
}

/// Run one test block: its stock is the whole inventory, with no current listings.
pub fn run_test(policy: &Policy, case: &TestCase) -> TestResult {
    run_test_covered(policy, case, None)
}

/// [`run_test`], marking in `coverage` what the test exercised (from the run it makes anyway).
pub fn run_test_covered(
    policy: &Policy,
    case: &TestCase,
    coverage: Option<&mut Coverage>,
) -> TestResult {
    let mut result = TestResult {
        name: case.name.clone(),
        span: case.span,
        mismatches: Vec::new(),
        error: None,
    };
    let stock = match Stock::from_tests(&case.stock).and_then(|mut s| {
        s.add_kits(&policy.kits)?;
        Ok(s)
    }) {
        Ok(s) => s,
        Err(e) => {
            result.error = Some(e);
            return result;
        }
    };
    let preview = match super::run(policy, &stock, None) {
        Ok(p) => p,
        Err(e) => {
            result.error = Some(e.to_string().trim_end().to_string());
            return result;
        }
    };
    if let Some(cov) = coverage {
        cov.record(policy, &stock, &preview);
    }
    for e in &case.expects {
        let code = policy
            .marketplaces
            .get(e.marketplace)
            .map_or("", |m| m.code.as_str());
        let found = preview
            .changes
            .iter()
            .zip(&preview.provenance)
            .find(|(c, _)| {
                c.offer.seller_sku == e.seller_sku && c.offer.marketplaces.iter().any(|m| m == code)
            });
        let inventory_sku = found.map(|(c, _)| c.offer.inventory_sku.clone());
        let (actual, detail) = match found {
            None => (None, nearest_offer(&preview, &e.seller_sku, code)),
            Some((c, p)) => {
                let chans = &c.offer.channels;
                let q = match &e.channel {
                    None => chans
                        .iter()
                        .find(|x| x.channel == DEFAULT_CHANNEL)
                        .or(if chans.len() == 1 {
                            chans.first()
                        } else {
                            None
                        })
                        .map(|x| x.quantity),
                    Some(ChannelRef::Default) => chans
                        .iter()
                        .find(|x| x.channel == DEFAULT_CHANNEL)
                        .map(|x| x.quantity),
                    Some(ChannelRef::Location(l)) => {
                        let code = policy
                            .locations
                            .get(*l)
                            .and_then(|l| l.supply_source.as_deref());
                        chans
                            .iter()
                            .find(|x| Some(x.channel.as_str()) == code)
                            .map(|x| x.quantity)
                    }
                };
                let detail = format!(
                    "rule \"{}\": {}",
                    c.offer.rule,
                    crate::render::preview::steps_text(policy, &p.steps)
                );
                (q, Some(detail))
            }
        };
        let ok = match e.quantity {
            None => found.is_none(),
            Some(q) => actual == Some(q),
        };
        if !ok {
            result.mismatches.push(Mismatch {
                span: e.span,
                expect: describe(policy, e),
                seller_sku: e.seller_sku.clone(),
                marketplace: code.to_string(),
                channel: e.channel.as_ref().map(|c| match c {
                    ChannelRef::Default => DEFAULT_CHANNEL.to_string(),
                    ChannelRef::Location(l) => policy
                        .locations
                        .get(*l)
                        .map_or("?".to_string(), |l| l.name.clone()),
                }),
                inventory_sku,
                expected: e.quantity,
                actual,
                detail,
            });
        }
    }
    result
}

/// When an expected offer does not exist, the offer that does and is nearest to it: the same
/// seller SKU in other marketplaces, else the closest seller SKU in that marketplace (or any).
fn nearest_offer(preview: &super::Preview, seller_sku: &str, code: &str) -> Option<String> {
    let offers = || preview.changes.iter().map(|c| &c.offer);
    if let Some(o) = offers().find(|o| o.seller_sku == seller_sku) {
        return Some(format!(
            "the offer \"{}\" exists on {}, not on {code}",
            o.seller_sku,
            o.marketplaces.join(", ")
        ));
    }
    let pick = |here: bool| {
        let names: Vec<&str> = offers()
            .filter(|o| !here || o.marketplaces.iter().any(|m| m == code))
            .map(|o| o.seller_sku.as_str())
            .collect();
        crate::diag::did_you_mean(seller_sku, names.iter().copied())
            .or_else(|| {
                // Templates add suffixes (`{sku}-US`): a seller SKU that extends the one written.
                names.iter().copied().find(|n| n.starts_with(seller_sku))
            })
            .map(str::to_string)
    };
    let near = pick(true).or_else(|| pick(false))?;
    let o = offers().find(|o| o.seller_sku == near)?;
    Some(format!(
        "no offer \"{seller_sku}\"; the nearest offer that exists is \"{}\" on {}",
        o.seller_sku,
        o.marketplaces.join(", ")
    ))
}

/// Run every test block of a policy.
pub fn run_all(policy: &Policy) -> Vec<TestResult> {
    policy.tests.iter().map(|t| run_test(policy, t)).collect()
}

/// Run every test block of a policy, with what they cover together.
pub fn run_all_covered(policy: &Policy) -> (Vec<TestResult>, Coverage) {
    let mut cov = Coverage::of(policy);
    let results = policy
        .tests
        .iter()
        .map(|t| run_test_covered(policy, t, Some(&mut cov)))
        .collect();
    (results, cov)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TestExpect, TestStock};
    use crate::sim::testkit::*;

    #[test]
    fn the_sketchs_test_passes_and_a_wrong_expectation_fails_with_detail() {
        let mut pol = acme_na();
        let results = run_all(&pol);
        assert_eq!(results.len(), 1);
        assert!(results[0].passed(), "{results:?}");
        pol.tests[0].expects.push(TestExpect {
            seller_sku: "YOGA-1-CA".into(),
            marketplace: 1,
            channel: None,
            quantity: Some(12),
            span: Span::default(),
        });
        pol.tests[0].expects.push(TestExpect {
            seller_sku: "YOGA-1-MX".into(),
            marketplace: 2,
            channel: None,
            quantity: None,
            span: Span::default(),
        });
        let r = run_test(&pol, &pol.tests[0]);
        assert_eq!(r.mismatches.len(), 1, "{r:?}");
        let m = &r.mismatches[0];
        assert_eq!((m.expected, m.actual), (Some(12), Some(10)));
        assert!(
            m.detail.as_deref().unwrap_or("").contains("cap 10 → 10"),
            "{m:?}"
        );
    }

    #[test]
    fn by_location_channels_are_checked() {
        let pol = acme_na();
        let case = TestCase {
            name: "shoes".into(),
            span: Span::default(),
            stock: vec![TestStock {
                sku: "SHOE-1".into(),
                tags: vec![],
                attrs: vec![],
                entries: vec![(NEWARK, 4, 1), (AUSTIN, 2, 0)],
            }],
            expects: vec![
                TestExpect {
                    seller_sku: "SHOE-1".into(),
                    marketplace: 0,
                    channel: Some(ChannelRef::Location(NEWARK)),
                    quantity: Some(3),
                    span: Span::default(),
                },
                TestExpect {
                    seller_sku: "SHOE-1".into(),
                    marketplace: 0,
                    channel: Some(ChannelRef::Default),
                    quantity: Some(0),
                    span: Span::default(),
                },
            ],
        };
        let r = run_test(&pol, &case);
        assert!(r.passed(), "{r:?}");
    }
}

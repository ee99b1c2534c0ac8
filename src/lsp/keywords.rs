//! One short explanation per keyword of the language, for hover; each with the section of
//! docs/language.md that says it all. The keyword list itself is `syntax::KEYWORDS`, from the keyword table.

/// (explanation in Markdown, anchor in docs/language.md) of a keyword; None for a non-keyword.
pub fn doc(word: &str) -> Option<(&'static str, &'static str)> {
    const TOP: &str = "top-level-lines";
    const SHAPE: &str = "shaping-the-quantity";
    const PUBLISH: &str = "publish-where-under-which-seller-sku-how-much";
    const TESTS: &str = "tests";
    let d = match word {
        "policy" => (
            "`policy \"NAME\"`: the policy's name, shown in previews and plans. Required, once per file.",
            TOP,
        ),
        "seller" => (
            "`seller \"MERCHANT_ID\"`: the Merchant ID (merchant token) of the selling account whose offers this policy writes. One seller ID is one region's unified account; a marketplace ID here is an error.",
            TOP,
        ),
        "marketplaces" => (
            "`marketplaces US, CA, MX`: the marketplaces this policy publishes to, by code. Built-in codes carry Amazon's marketplace ID and region (`allot marketplaces` lists them). Required, once.",
            TOP,
        ),
        "marketplace" => (
            "`marketplace XX id \"…\" region EU`: declares a marketplace missing from the built-in table, with Amazon's marketplace ID and its region (`NA`, `EU` or `FE`). List the code in `marketplaces` to use it.",
            TOP,
        ),
        "id" => (
            "`id \"…\"` in a `marketplace` declaration: Amazon's marketplace ID for the custom code.",
            TOP,
        ),
        "region" => (
            "`region NA|EU|FE` in a `marketplace` declaration: the SP-API region the custom marketplace belongs to.",
            TOP,
        ),
        "location" => (
            "`location NAME [supply_source \"…\"]`: a place whose stock counts. With a supply source it can also get its own quantity on Amazon (`by location`); without one its stock only adds to pools. In `publish US by location`, the keyword asks for one quantity per supply source.",
            TOP,
        ),
        "supply_source" => (
            "`supply_source \"…\"` on a `location` line: the code Amazon knows this location by as a supply source, used for location quantities (`by location`).",
            TOP,
        ),
        "guarantee" => (
            "`guarantee no_oversell`: oversell warnings (and fixed quantities) become errors, so CI refuses a policy that could sell units it does not have.",
            TOP,
        ),
        "inventory" => (
            "`inventory negative_as_zero, ignore_unknown_locations`: how an untidy inventory is read: negative counts as 0, rows of undeclared locations left out, each with a warning in the preview.",
            "the-inventory-line-untidy-inventories",
        ),
        "on_missing" => (
            "`on_missing skip|zero|error`: what happens to an inventory SKU with no stock row at all (default `skip`). At the top level for the policy, in a rule for that rule.",
            TOP,
        ),
        "on_fba" => (
            "`on_fba skip|error`: what happens when a rule computes an offer whose seller SKU Amazon fulfils (FBA). allot never writes one; `error` fails the run instead of holding it back.",
            "on_fba-offers-amazon-fulfils",
        ),
        "rule" => (
            "`rule \"NAME\" { … }`: which inventory SKUs (`match`) are published where and how much. Rules are tried top to bottom and the first that matches a SKU decides for it.",
            "rules",
        ),
        "test" => (
            "`test \"NAME\" { … }`: a small inventory (`stock`) and the offers expected from it (`expect`), run by `allot test`.",
            TESTS,
        ),
        "match" => (
            "`match SELECTOR`: the inventory SKUs this rule is for: `any`, `sku \"GLOB\"`, `tag \"…\"`, an attribute (`brand = \"Acme\"`), combined with `not`, `and` and parentheses. Required in every rule.",
            "match-which-inventory-skus",
        ),
        "stock" => (
            "In a rule, `stock from a, b`: the locations whose stock makes the pool (default: all). In a test, `stock \"SKU\" newark 8, …`: one inventory row for the test.",
            SHAPE,
        ),
        "from" => (
            "`from`: the locations a pool counts: `stock from a, b` for the rule, or a target's own `US from a and b`.",
            SHAPE,
        ),
        "buffer" => (
            "`buffer N` or `buffer N%`: units kept back from the pool and never published (`buffer column \"…\"` reads it per SKU from an inventory column).",
            SHAPE,
        ),
        "share" => (
            "`share N%`: the part of the pool a target publishes (default 100%). On the rule it applies to every target without its own.",
            SHAPE,
        ),
        "round" => (
            "`round down|up|nearest`: how a share's fraction of a unit is rounded. Default `down`, so low stock rounds to 0 rather than oversell.",
            SHAPE,
        ),
        "threshold" => (
            "`threshold N`: a result strictly below N publishes 0 (N itself is published).",
            SHAPE,
        ),
        "cap" => (
            "`cap N`: a result above N publishes N (`cap column \"…\"` reads it per SKU from an inventory column).",
            SHAPE,
        ),
        "quantity" => (
            "`quantity N`: a fixed quantity instead of one computed from stock; `quantity N once` writes N only while the offer has no quantity on Amazon.",
            SHAPE,
        ),
        "publish" => (
            "`publish US as \"{sku}-US\" share 60%, …`: where the rule's offers go: marketplaces, each with its seller SKU template and options (`share`, `ratio`, `pack`, `from`, `by location`, …).",
            PUBLISH,
        ),
        "default_channel" => (
            "`default_channel 0`: the location-less `DEFAULT` quantity beside location quantities. Amazon requires it to be 0 with `by location`.",
            PUBLISH,
        ),
        "skip" => (
            "`skip`: publish nothing for the SKUs this rule matches and leave their listings alone. A skipping rule has only `match` and `skip`.",
            "skip",
        ),
        "handling_time" => (
            "`handling_time N`: days between an order and its dispatch (0 to 30), sent with each quantity. A target may give its own.",
            "handling-time-and-restock-date",
        ),
        "restock_date" => (
            "`restock_date \"YYYY-MM-DD\"`: the restock date Amazon shows while the offer is out of stock, sent with each quantity. A target may give its own.",
            "handling-time-and-restock-date",
        ),
        "any" => (
            "`match any`: every inventory SKU.",
            "match-which-inventory-skus",
        ),
        "sku" => (
            "`sku \"YOGA-*\", \"CLR-1\"`: SKUs matching any of these globs (`*` any run of characters, `?` one) or exact SKUs.",
            "match-which-inventory-skus",
        ),
        "tag" => (
            "`tag \"candles\", …`: SKUs carrying any of these tags in the inventory.",
            "match-which-inventory-skus",
        ),
        "not" => (
            "`not SELECTOR`: the SKUs the selector after it does not match.",
            "match-which-inventory-skus",
        ),
        "and" => (
            "`and`: in a selector, SKUs every part matches; in a target's `from a and b`, the locations joined into its pool.",
            "match-which-inventory-skus",
        ),
        "as" => (
            "`as \"{sku}-US\"`: a target's seller SKU template: `{sku}`, `{marketplace}` and `{column:NAME}` are filled in. Default `\"{sku}\"`.",
            PUBLISH,
        ),
        "by" => (
            "`by location`: one quantity per supply source from its own stock (US only), or `by location { a 60%, b 40% }` to split the offer's quantity.",
            PUBLISH,
        ),
        "tags" => (
            "`tags \"a\", \"b\"` in a test's `stock` line: the tags of the test's inventory SKU.",
            TESTS,
        ),
        "reserved" => (
            "`reserved N` after a location in a test's `stock` line: units reserved there (not available).",
            TESTS,
        ),
        "expect" => (
            "`expect \"SELLER-SKU\" on US = N` (or `at LOCATION = N`, or `unpublished`): what a test expects the policy to publish.",
            TESTS,
        ),
        "on" => (
            "`on US` in a test's `expect`: the marketplace of the expected offer.",
            TESTS,
        ),
        "at" => (
            "`at newark` (or `at DEFAULT`) in a test's `expect`: one channel of a location offer.",
            TESTS,
        ),
        "unpublished" => (
            "`unpublished` in a test's `expect`: no offer for that seller SKU in that marketplace.",
            TESTS,
        ),
        "ratio" => (
            "`ratio N`: a target's weight when the targets of one pool split it exactly (1, 2, 3 of 60 give 10, 20, 30).",
            PUBLISH,
        ),
        "pack" => (
            "`pack N`: the offer sells packs of N units, so it publishes whole packs.",
            PUBLISH,
        ),
        "column" => (
            "`column \"NAME\"`: `buffer`, `threshold` or `cap` read per SKU from this inventory column.",
            "values-per-sku-from-inventory-columns",
        ),
        "kit" => (
            "`kit \"SKU\" contains \"PART\" 2, …`: an inventory SKU made of others; as many kits as the scarcest component makes, per location.",
            "kits-bundles",
        ),
        "contains" => (
            "`contains \"PART\" N, …` in a `kit` line: the components and the units of each in one kit.",
            "kits-bundles",
        ),
        "once" => (
            "`quantity N once`: N is written only while the offer has no quantity on Amazon; then Amazon counts it down with each sale.",
            "quantity-n-once-an-initial-quantity",
        ),
        _ => return None,
    };
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::KEYWORDS;

    #[test]
    fn every_keyword_is_explained() {
        for k in KEYWORDS {
            assert!(doc(k).is_some(), "no hover text for `{k}`");
        }
    }

    #[test]
    fn every_anchor_is_a_heading_of_the_language_reference() {
        let page = include_str!("../../docs/language.md");
        // GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens.
        let anchors: Vec<String> = page
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(|l| {
                l.trim_start_matches('#')
                    .trim()
                    .to_lowercase()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
                    .map(|c| if c == ' ' { '-' } else { c })
                    .collect()
            })
            .collect();
        for k in KEYWORDS {
            let (_, anchor) = doc(k).unwrap();
            assert!(anchors.iter().any(|a| a == anchor), "{k}: #{anchor}");
        }
    }

    /// The TextMate grammar's keyword pattern names every keyword of the parser.
    #[test]
    fn textmate_grammar_has_every_keyword() {
        let grammar: serde_json::Value =
            serde_json::from_str(include_str!("../../editors/textmate/allot.tmLanguage.json"))
                .unwrap();
        assert_eq!(grammar["scopeName"], "source.allot");
        let pattern = grammar["repository"]["keywords"]["match"]
            .as_str()
            .expect("repository.keywords.match");
        // `\b(?:policy|seller|…)\b`: the words between the group's parentheses.
        let inner = pattern
            .split_once("(?:")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(words, _)| words)
            .expect("a (?:…) group");
        let words: Vec<&str> = inner.split('|').collect();
        for k in KEYWORDS {
            assert!(
                words.contains(k),
                "`{k}` is missing from the TextMate keyword pattern"
            );
        }
        for w in &words {
            assert!(KEYWORDS.contains(w), "`{w}` is no keyword of the parser");
        }
        // Marketplace codes are highlighted as constants: every built-in one and its aliases.
        let codes = grammar["repository"]["marketplaces"]["match"]
            .as_str()
            .unwrap();
        for m in crate::marketplaces::codes().chain(["GB"]) {
            assert!(
                codes.contains(&format!("|{m}|"))
                    || codes.contains(&format!(":{m}|"))
                    || codes.contains(&format!("|{m})")),
                "{m}"
            );
        }
    }
}

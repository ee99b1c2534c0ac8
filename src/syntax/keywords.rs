//! The keywords of the language: one table, in the grammar's order, of each `kw_*` rule of
//! `grammar/allot.pest`, its spelling and where it may start a line or a selector. Everything
//! else that needs a keyword reads it from here: the lowering (which tokens carry no value),
//! the messages ("did you mean", "is a rule statement"), the AST's `keyword()` methods (and so
//! the formatter and the checker), the language server and the tests. A test keeps the table
//! equal to the grammar.

use super::parser::Rule;

// Where a keyword begins something: the bits of `Keyword::starts`, 0 for a word that only
// appears inside a line (`from`, `as`, `id`, …).
/// A top-level item.
pub(crate) const TOP: u8 = 1;
/// A statement of a `rule` block.
pub(crate) const STMT: u8 = 2;
/// A statement of a `test` block.
pub(crate) const TEST: u8 = 4;
/// A selector term after `match` (`and` joins terms, so it starts none).
pub(crate) const SELECTOR: u8 = 8;
/// No filter: every keyword, including those that start nothing.
const ALL: u8 = 0xff;

pub(crate) struct Keyword {
    pub rule: Rule,
    pub word: &'static str,
    pub starts: u8,
}

const fn k(rule: Rule, word: &'static str, starts: u8) -> Keyword {
    Keyword { rule, word, starts }
}

pub(crate) const TABLE: &[Keyword] = &[
    k(Rule::kw_policy, "policy", TOP),
    k(Rule::kw_seller, "seller", TOP),
    k(Rule::kw_marketplaces, "marketplaces", TOP),
    k(Rule::kw_marketplace, "marketplace", TOP),
    k(Rule::kw_id, "id", 0),
    k(Rule::kw_region, "region", 0),
    k(Rule::kw_location, "location", TOP),
    k(Rule::kw_supply_source, "supply_source", 0),
    k(Rule::kw_guarantee, "guarantee", TOP),
    k(Rule::kw_inventory, "inventory", TOP),
    // A policy-wide default at the top, a rule's own in a rule.
    k(Rule::kw_on_missing, "on_missing", TOP | STMT),
    k(Rule::kw_on_fba, "on_fba", TOP | STMT),
    k(Rule::kw_rule, "rule", TOP),
    k(Rule::kw_test, "test", TOP),
    k(Rule::kw_match, "match", STMT),
    // `stock from …` in a rule, `stock "SKU" …` in a test.
    k(Rule::kw_stock, "stock", STMT | TEST),
    k(Rule::kw_from, "from", 0),
    k(Rule::kw_buffer, "buffer", STMT),
    k(Rule::kw_share, "share", STMT),
    k(Rule::kw_round, "round", STMT),
    k(Rule::kw_threshold, "threshold", STMT),
    k(Rule::kw_cap, "cap", STMT),
    k(Rule::kw_quantity, "quantity", STMT),
    k(Rule::kw_publish, "publish", STMT),
    k(Rule::kw_default_channel, "default_channel", STMT),
    k(Rule::kw_skip, "skip", STMT),
    k(Rule::kw_any, "any", SELECTOR),
    k(Rule::kw_sku, "sku", SELECTOR),
    k(Rule::kw_tag, "tag", SELECTOR),
    k(Rule::kw_not, "not", SELECTOR),
    k(Rule::kw_and, "and", 0),
    k(Rule::kw_as, "as", 0),
    k(Rule::kw_by, "by", 0),
    k(Rule::kw_tags, "tags", 0),
    k(Rule::kw_reserved, "reserved", 0),
    k(Rule::kw_expect, "expect", TEST),
    k(Rule::kw_on, "on", 0),
    k(Rule::kw_at, "at", 0),
    k(Rule::kw_unpublished, "unpublished", 0),
    k(Rule::kw_ratio, "ratio", 0),
    k(Rule::kw_pack, "pack", 0),
    k(Rule::kw_column, "column", 0),
    // The grammar's `top_keyword` has it; the older hand-written lists had forgotten it.
    k(Rule::kw_kit, "kit", TOP),
    k(Rule::kw_contains, "contains", 0),
    k(Rule::kw_once, "once", 0),
    k(Rule::kw_handling_time, "handling_time", STMT),
    k(Rule::kw_restock_date, "restock_date", STMT),
];

const fn starts(k: &Keyword, place: u8) -> bool {
    place == ALL || k.starts & place != 0
}

const fn count(place: u8) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < TABLE.len() {
        if starts(&TABLE[i], place) {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The words of the table that start `place`, in the table's order. Evaluated at compile time,
/// so the lists below are plain slices.
const fn words<const N: usize>(place: u8) -> [&'static str; N] {
    let mut out = [""; N];
    let (mut i, mut j) = (0, 0);
    while i < TABLE.len() {
        if starts(&TABLE[i], place) {
            out[j] = TABLE[i].word;
            j += 1;
        }
        i += 1;
    }
    out
}

/// Every keyword of the language, in the grammar's order. Editors read it (the language
/// server's hover and completion; a test ties the TextMate grammar to it).
pub const KEYWORDS: &[&str] = &words::<{ count(ALL) }>(ALL);
/// The words that start a top-level item.
pub(crate) const TOP_KEYWORDS: &[&str] = &words::<{ count(TOP) }>(TOP);
/// The words that start a statement of a `rule` block.
pub(crate) const STMT_KEYWORDS: &[&str] = &words::<{ count(STMT) }>(STMT);
/// The words that start a statement of a `test` block.
pub(crate) const TEST_KEYWORDS: &[&str] = &words::<{ count(TEST) }>(TEST);
/// The words that start a selector term.
pub(crate) const SELECTOR_KEYWORDS: &[&str] = &words::<{ count(SELECTOR) }>(SELECTOR);

/// The spelling of a `kw_*` rule. Meant for `const { word(Rule::kw_x) }`, so that a rule
/// missing from the table fails the build rather than a run.
pub(crate) const fn word(rule: Rule) -> &'static str {
    let mut i = 0;
    while i < TABLE.len() {
        if TABLE[i].rule as usize == rule as usize {
            return TABLE[i].word;
        }
        i += 1;
    }
    panic!("not a keyword rule")
}

/// The table's entry for `rule`, if it is a keyword's.
pub(crate) fn keyword(rule: Rule) -> Option<&'static Keyword> {
    TABLE.iter().find(|k| k.rule == rule)
}

/// Whether `rule` is a keyword's.
pub(crate) fn is_keyword(rule: Rule) -> bool {
    keyword(rule).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAMMAR: &str = include_str!("../../grammar/allot.pest");

    #[test]
    fn table_is_the_grammars() {
        // Every `kw_x = @{ "x" ~ !ident_char }` rule of the grammar, in order: its name, word.
        let from_grammar: Vec<(String, &str)> = GRAMMAR
            .lines()
            .filter(|l| l.starts_with("kw_"))
            .filter_map(|l| {
                let name = l.split_whitespace().next()?;
                Some((name.to_string(), l.split('"').nth(1)?))
            })
            .collect();
        let table: Vec<(String, &str)> = TABLE
            .iter()
            .map(|k| (format!("{:?}", k.rule), k.word))
            .collect();
        assert_eq!(table, from_grammar);
        assert_eq!(KEYWORDS.len(), TABLE.len());
        assert!(KEYWORDS.iter().zip(TABLE).all(|(w, k)| *w == k.word));
    }

    /// The grammar's `top_keyword`, `stmt_keyword` and `test_keyword` (what an `unknown_*` line
    /// may not start with) are the table's places.
    #[test]
    fn places_are_the_grammars() {
        let alternatives = |rule: &str| -> Vec<&str> {
            let start = GRAMMAR
                .find(&format!("\n{rule} "))
                .unwrap_or_else(|| panic!("no rule {rule}"));
            let body = &GRAMMAR[start..];
            let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
            let mut v: Vec<&str> = body
                .split('|')
                .map(|a| a.trim().trim_start_matches("kw_"))
                .collect();
            v.sort_unstable();
            v
        };
        let sorted = |words: &[&'static str]| {
            let mut v = words.to_vec();
            v.sort_unstable();
            v
        };
        assert_eq!(sorted(TOP_KEYWORDS), alternatives("top_keyword"));
        assert_eq!(sorted(STMT_KEYWORDS), alternatives("stmt_keyword"));
        assert_eq!(sorted(TEST_KEYWORDS), alternatives("test_keyword"));
        assert_eq!(SELECTOR_KEYWORDS, ["any", "sku", "tag", "not"]);
    }

    #[test]
    fn lookups() {
        assert_eq!(word(Rule::kw_default_channel), "default_channel");
        assert!(is_keyword(Rule::kw_once));
        assert!(!is_keyword(Rule::ident));
        assert!(!is_keyword(Rule::stock_stmt));
        assert_eq!(keyword(Rule::kw_stock).map(|k| k.starts), Some(STMT | TEST));
    }
}

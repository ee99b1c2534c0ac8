//! Syntax diagnostics: pest's errors turned into messages in the user's words (symbols they
//! know, a short "expected" list, targeted help), and the diagnostics the lowering reports.

use pest::error::{Error as PestError, ErrorVariant, InputLocation};

use crate::diag::Diagnostic;
use crate::span::Span;

use super::keywords::{self, SELECTOR_KEYWORDS, STMT_KEYWORDS, TEST_KEYWORDS, TOP_KEYWORDS};
use super::parser::{Rule, suggest};
use super::scan::{Scan, line_start, next_line_start};

/// The stable codes of syntax diagnostics (documented in docs/syntax.md).
pub mod codes {
    pub const SYNTAX: &str = "allot::syntax";
    pub const UNCLOSED_STRING: &str = "allot::unclosed-string";
    pub const UNKNOWN_KEYWORD: &str = "allot::unknown-keyword";
    pub const BAD_NUMBER: &str = "allot::bad-number";
    pub const UNCLOSED_BLOCK: &str = "allot::unclosed-block";
    pub const INPUT_TOO_LARGE: &str = "allot::input-too-large";

    /// Every syntax code, for the rule lists of machine formats (SARIF).
    pub const ALL: &[&str] = &[
        SYNTAX,
        UNCLOSED_STRING,
        UNKNOWN_KEYWORD,
        BAD_NUMBER,
        UNCLOSED_BLOCK,
        INPUT_TOO_LARGE,
    ];
}

/// The form of each statement or item, shown in help when a line does not parse.
fn usage(keyword: &str, in_test: bool) -> Option<&'static str> {
    Some(match keyword {
        "policy" => "`policy \"name\"`",
        "seller" => "`seller \"MERCHANT-ID\"`",
        "marketplaces" => "`marketplaces US, CA, MX`",
        "marketplace" => "`marketplace XX id \"A1234567890\" region EU`",
        "location" => "`location newark` or `location newark supply_source \"…\"`",
        "guarantee" => "`guarantee no_oversell`",
        "inventory" => {
            "`inventory negative_as_zero` or `inventory negative_as_zero, ignore_unknown_locations`"
        }
        "on_missing" => "`on_missing skip`, `on_missing zero` or `on_missing error`",
        "on_fba" => "`on_fba skip` or `on_fba error`",
        "rule" => "`rule \"name\" {` on one line, its statements on the next lines, then `}`",
        "test" => "`test \"name\" {` on one line, its `stock` and `expect` lines, then `}`",
        "match" => {
            "`match any`, `match sku \"YOGA-*\", \"MUG-1\"`, `match tag \"candles\"`, `match brand = \"Acme\"`, with `not` and `and`"
        }
        "stock" if in_test => {
            "`stock \"SKU\" newark 8, austin 9 reserved 1` (optionally `tags \"a\", \"b\"` and `NAME = \"value\"` after the SKU)"
        }
        "stock" => "`stock from newark, austin`",
        "buffer" => "`buffer 2` (units) or `buffer 10%`",
        "share" => "`share 80%`",
        "round" => "`round down`, `round up` or `round nearest`",
        "threshold" => "`threshold 4`",
        "cap" => "`cap 10`",
        "quantity" => "`quantity 1` or `quantity 10 once`",
        "publish" => {
            "`publish US, CA` or `publish US as \"{sku}-US\" share 60%, CA as \"{sku}-CA\" share 40%` or `publish US by location { newark 60%, austin 40% }`"
        }
        "default_channel" => "`default_channel 0`",
        "handling_time" => "`handling_time 2` (days, 0 to 30)",
        "restock_date" => "`restock_date \"2027-01-15\"`",
        "skip" => "`skip` alone on its line",
        "expect" => {
            "`expect \"SELLER-SKU\" on US = 10`, `expect \"SELLER-SKU\" on US at newark = 3` or `expect \"SELLER-SKU\" on US unpublished`"
        }
        _ => return None,
    })
}

pub(crate) fn unknown_item(word: &str, span: Span) -> Diagnostic {
    if STMT_KEYWORDS.contains(&word) {
        return Diagnostic::error(
            codes::UNKNOWN_KEYWORD,
            format!("`{word}` is a rule statement, not a top-level item"),
        )
        .at(span, "outside any rule")
        .help(format!(
            "put it inside a `rule \"name\" {{ … }}` block, on its own line: {}",
            usage(word, false).unwrap_or("")
        ));
    }
    if TEST_KEYWORDS.contains(&word) {
        return Diagnostic::error(
            codes::UNKNOWN_KEYWORD,
            format!("`{word}` is a test statement, not a top-level item"),
        )
        .at(span, "outside any test")
        .help("put it inside a `test \"name\" { … }` block, on its own line");
    }
    if let Some(s) = suggest(word, TOP_KEYWORDS) {
        return Diagnostic::error(codes::UNKNOWN_KEYWORD, format!("unknown keyword `{word}`"))
            .at(span, "not a keyword")
            .help(format!("did you mean `{s}`?"));
    }
    if let Some(s) = suggest(word, STMT_KEYWORDS) {
        return Diagnostic::error(codes::UNKNOWN_KEYWORD, format!("unknown keyword `{word}`"))
            .at(span, "not a keyword")
            .help(format!(
                "did you mean `{s}`? It is a rule statement and goes inside a `rule \"name\" {{ … }}` block"
            ));
    }
    Diagnostic::error(codes::UNKNOWN_KEYWORD, format!("unknown keyword `{word}`"))
        .at(span, "not a keyword")
        .help("a policy file is made of `policy`, `seller`, `marketplaces`, `marketplace`, `location`, `guarantee`, `inventory`, `kit`, `on_missing`, `on_fba`, `rule` and `test` lines")
}

pub(crate) fn unknown_stmt(word: &str, span: Span) -> Diagnostic {
    if TOP_KEYWORDS.contains(&word) {
        return Diagnostic::error(
            codes::UNKNOWN_KEYWORD,
            format!("`{word}` is a top-level item, not a rule statement"),
        )
        .at(span, "inside a rule")
        .help("move it out of the rule block (items like this go before the rules)");
    }
    if word == "expect" {
        return Diagnostic::error(
            codes::UNKNOWN_KEYWORD,
            "`expect` is a test statement, not a rule statement",
        )
        .at(span, "inside a rule")
        .help("put it in a `test \"name\" { … }` block");
    }
    if let Some(s) = suggest(word, STMT_KEYWORDS) {
        let mut help = format!("did you mean `{s}`?");
        if let Some(u) = usage(s, false) {
            help.push_str(&format!(" It is written {u}"));
        }
        return Diagnostic::error(
            codes::UNKNOWN_KEYWORD,
            format!("unknown statement keyword `{word}`"),
        )
        .at(span, "not a statement keyword")
        .help(help);
    }
    Diagnostic::error(
        codes::UNKNOWN_KEYWORD,
        format!("unknown statement keyword `{word}`"),
    )
    .at(span, "not a statement keyword")
    .help("a rule's statements are `match`, `stock from`, `buffer`, `share`, `round`, `threshold`, `cap`, `quantity`, `publish`, `default_channel`, `handling_time`, `restock_date`, `on_missing`, `on_fba` and `skip`")
}

pub(crate) fn unknown_test_stmt(word: &str, span: Span) -> Diagnostic {
    let d = Diagnostic::error(
        codes::UNKNOWN_KEYWORD,
        format!("unknown test statement `{word}`"),
    )
    .at(span, "not a test statement");
    if let Some(s) = suggest(word, TEST_KEYWORDS) {
        return d.help(format!(
            "did you mean `{s}`? It is written {}",
            usage(s, true).unwrap_or("")
        ));
    }
    if STMT_KEYWORDS.contains(&word) {
        return d.help(format!(
            "`{word}` belongs in a rule; a test holds `stock` lines (the inventory) and `expect` lines (the result)"
        ));
    }
    d.help("a test holds `stock` lines (the inventory) and `expect` lines (the result)")
}

pub(crate) fn unknown_selector(word: &str, span: Span) -> Diagnostic {
    let d = Diagnostic::error(codes::UNKNOWN_KEYWORD, format!("unknown selector `{word}`"))
        .at(span, "not a selector");
    if let Some(s) = suggest(word, SELECTOR_KEYWORDS) {
        return d.help(format!("did you mean `{s}`?"));
    }
    d.help(format!(
        "selectors are `any`, `sku \"GLOB\"`, `tag \"TAG\"`, `not …` and `… and …`; to match an inventory attribute write `{word} = \"value\"`"
    ))
}

pub(crate) fn unclosed_string(src: &str, quote: usize) -> Diagnostic {
    let end = next_line_start(src, quote);
    let line_end = src[quote..end].trim_end_matches(['\n', '\r']).len() + quote;
    Diagnostic::error(codes::UNCLOSED_STRING, "this string is never closed")
        .at(Span::new(quote, quote + 1), "the string starts here")
        .also(
            Span::new(line_end, line_end),
            "the line ends before the closing `\"`",
        )
        .help("close it with `\"` on the same line; strings cannot span lines (write `\\\"` for a quote inside it)")
}

pub(crate) fn input_too_large(src_len: usize, max: usize) -> Diagnostic {
    Diagnostic::error(
        codes::INPUT_TOO_LARGE,
        format!("this file is {src_len} bytes; policy files are at most {max} bytes"),
    )
    .at(Span::new(0, 0), "file too large")
    .help("split the policy into several files, or check that this is the file you meant")
}

/// What the parser did not expect, as the user would name it.
fn describe_found(src: &str, at: usize) -> (String, Span, Option<String>) {
    let rest = &src[at.min(src.len())..];
    let Some(c) = rest.chars().next() else {
        return ("the end of the file".into(), Span::new(at, at), None);
    };
    if c == '\n' || c == '\r' {
        return ("the end of the line".into(), Span::new(at, at), None);
    }
    if c == '"' {
        let len = rest[1..]
            .find(['"', '\n', '\r'])
            .map_or(rest.len(), |i| i + 2);
        return ("a string".into(), Span::new(at, at + len), None);
    }
    let wordish = |ch: char| ch.is_alphanumeric() || ch == '_' || ch == '.' || ch == '%';
    if c.is_alphanumeric()
        || c == '_'
        || (c == '-' && rest[1..].starts_with(|d: char| d.is_ascii_digit()))
    {
        let len = c.len_utf8()
            + rest[c.len_utf8()..]
                .find(|ch: char| !wordish(ch))
                .unwrap_or(rest.len() - c.len_utf8());
        let word = &rest[..len];
        let is_word = c.is_alphabetic() || c == '_';
        let found = if is_word {
            format!("`{word}`")
        } else {
            format!("the number `{word}`")
        };
        return (
            found,
            Span::new(at, at + len),
            is_word.then(|| word.to_string()),
        );
    }
    let span = Span::new(at, at + c.len_utf8());
    if c.is_whitespace() || c.is_control() || matches!(c, '\u{200b}'..='\u{200d}' | '\u{feff}') {
        return (
            format!("the invisible character U+{:04X}", c as u32),
            span,
            None,
        );
    }
    (format!("`{c}`"), span, None)
}

/// Help for characters that slip in when text is pasted from a word processor or a web page.
fn pasted_character(c: char) -> Option<&'static str> {
    match c {
        '\u{201c}' | '\u{201d}' | '\u{201e}' | '\u{00ab}' | '\u{00bb}' => {
            Some("this is a typographic quote; strings use the plain double quote `\"`")
        }
        '\u{2018}' | '\u{2019}' | '\'' => Some("strings use the plain double quote `\"`"),
        '\u{2013}' | '\u{2014}' | '\u{2212}' => {
            Some("this is a dash, not a minus or a hyphen; numbers are never negative")
        }
        '\u{ff05}' | '\u{066a}' => Some("this is not the plain `%` sign; write `%`"),
        c if c.is_whitespace()
            || c.is_control()
            || matches!(c, '\u{200b}'..='\u{200d}' | '\u{feff}') =>
        {
            Some("replace it with a plain space (or delete it); it often comes with pasted text")
        }
        _ => None,
    }
}

/// How messages name each rule of the grammar: the one table of pest's rules, so that no rule
/// name (`kw_publish`, `EOI`, …) ever reaches a user. One expected thing, in words, and the
/// group it belongs to (groups collapse); `None` for a rule never named: a silent helper (never
/// expected), a recovery or whole-file rule, or one whose parts are named instead. The match
/// has no catch-all, so a rule added to the grammar must be named here before this compiles.
fn expected_name(r: Rule) -> Option<(&'static str, String)> {
    use Rule::*;
    // A keyword as the table spells it (every `kw_*` rule is in it; a test checks).
    let quoted = |group, r: Rule| keywords::keyword(r).map(|k| (group, format!("`{}`", k.word)));
    let item_kw = |r: Rule| quoted("top", r);
    let stmt_kw = |r: Rule| quoted("stmt", r);
    let test_kw = |r: Rule| quoted("test", r);
    let kw = |r: Rule| quoted("kw", r);
    let x = |s: &str| Some(("x", s.to_string()));
    match r {
        policy_item => item_kw(kw_policy),
        seller_item => item_kw(kw_seller),
        marketplaces_item => item_kw(kw_marketplaces),
        marketplace_item => item_kw(kw_marketplace),
        location_item => item_kw(kw_location),
        guarantee_item => item_kw(kw_guarantee),
        inventory_item => item_kw(kw_inventory),
        on_missing_item => item_kw(kw_on_missing),
        on_fba_item => item_kw(kw_on_fba),
        rule_item => item_kw(kw_rule),
        test_item => item_kw(kw_test),
        kit_item => item_kw(kw_kit),
        match_stmt => stmt_kw(kw_match),
        stock_stmt => stmt_kw(kw_stock),
        buffer_stmt => stmt_kw(kw_buffer),
        share_stmt => stmt_kw(kw_share),
        round_stmt => stmt_kw(kw_round),
        threshold_stmt => stmt_kw(kw_threshold),
        cap_stmt => stmt_kw(kw_cap),
        quantity_stmt => stmt_kw(kw_quantity),
        publish_stmt => stmt_kw(kw_publish),
        default_channel_stmt => stmt_kw(kw_default_channel),
        on_missing_stmt => stmt_kw(kw_on_missing),
        on_fba_stmt => stmt_kw(kw_on_fba),
        skip_stmt => stmt_kw(kw_skip),
        handling_time_stmt => stmt_kw(kw_handling_time),
        restock_date_stmt => stmt_kw(kw_restock_date),
        stock_test => test_kw(kw_stock),
        expect_test => test_kw(kw_expect),
        selector | not_sel | any_sel | sku_sel | tag_sel | attr_sel | paren_sel | unknown_sel => {
            Some((
                "sel",
                "a selector (`any`, `sku \"…\"`, `tag \"…\"`, `NAME = \"…\"`)".into(),
            ))
        }
        target => x("a marketplace code"),
        as_opt => kw(kw_as),
        share_opt => kw(kw_share),
        from_opt => kw(kw_from),
        ratio_opt => kw(kw_ratio),
        pack_opt => kw(kw_pack),
        column_ref => kw(kw_column),
        kit_part => x("a component SKU and its units (`\"MUG-1\" 2`)"),
        handling_opt => kw(kw_handling_time),
        restock_opt => kw(kw_restock_date),
        // `by` is only ever followed by `location`: name the pair.
        by_location | kw_by => {
            let (by, location) = (keywords::keyword(kw_by)?, keywords::keyword(kw_location)?);
            Some(("kw", format!("`{} {}`", by.word, location.word)))
        }
        tags_opt => kw(kw_tags),
        split_part => x("a location and its share (`newark 60%`)"),
        stock_entry => x("a location and its stock (`newark 8`)"),
        attr_pair => x("an attribute (`NAME = \"value\"`)"),
        string | str_inner => x("a string in double quotes"),
        number => x("a number"),
        ident => x("a name"),
        nl => x("the end of the line"),
        EOI => x("the end of the file"),
        lbrace | rule_body | test_body => x("`{`"),
        rbrace => x("`}`"),
        lparen => x("`(`"),
        rparen => x("`)`"),
        comma => x("`,`"),
        eq => x("`=`"),
        kw_policy | kw_seller | kw_marketplaces | kw_marketplace | kw_id | kw_region
        | kw_location | kw_supply_source | kw_guarantee | kw_inventory | kw_on_missing
        | kw_on_fba | kw_rule | kw_test | kw_match | kw_stock | kw_from | kw_buffer | kw_share
        | kw_round | kw_threshold | kw_cap | kw_quantity | kw_publish | kw_default_channel
        | kw_skip | kw_any | kw_sku | kw_tag | kw_not | kw_and | kw_as | kw_tags | kw_reserved
        | kw_expect | kw_on | kw_at | kw_unpublished | kw_ratio | kw_pack | kw_column | kw_kit
        | kw_contains | kw_once | kw_handling_time | kw_restock_date => kw(r),
        unknown_item | unknown_stmt | unknown_test_stmt | file | one_item | rule_rest
        | test_rest | rule_lines | test_lines | junk_text | junk_any => None,
        // Silent in the grammar (`_{ … }`): pest never reports them; their parts are named.
        WHITESPACE | COMMENT | ident_char | sep | top_keyword | stmt_keyword | test_keyword
        | junk | junk_block | blank | item | stmt | sel_term | target_opt | test_stmt => None,
    }
}

/// The keyword an expected rule stands for, for "did you mean".
fn expected_keyword(r: Rule) -> Option<String> {
    let (group, text) = expected_name(r)?;
    (group != "sel" && group != "x").then(|| text.trim_matches('`').to_string())
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => "an item (`rule`, `test`, `location`, `marketplaces`, …)".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn short_expected(positives: &[Rule]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for &r in positives {
        let Some((g, text)) = expected_name(r) else {
            continue;
        };
        match groups.iter_mut().find(|(name, _)| *name == g) {
            Some((_, v)) => {
                if !v.contains(&text) {
                    v.push(text)
                }
            }
            None => groups.push((g, vec![text])),
        }
    }
    let has_keywords = groups
        .iter()
        .any(|(g, _)| matches!(*g, "top" | "stmt" | "test"));
    let has_eol = groups
        .iter()
        .any(|(_, v)| v.iter().any(|t| t == "the end of the line"));
    for (_, v) in groups.iter_mut() {
        v.retain(|t| {
            !(has_keywords && t == "a name")
                && !(has_eol && (t == "the end of the file" || t == "`}`"))
        });
    }
    for (g, v) in groups {
        match g {
            "top" if v.len() > 2 => {
                out.push("an item (`rule`, `test`, `location`, `marketplaces`, …)".into())
            }
            "stmt" if v.len() > 2 => {
                out.push("a statement (`match`, `publish`, `cap`, `buffer`, …)".into())
            }
            _ => {
                for t in v {
                    if !out.contains(&t) {
                        out.push(t)
                    }
                }
            }
        }
    }
    // Line and file ends read best last.
    out.sort_by_key(|t| t.starts_with("the end"));
    if out.len() > 5 {
        out.truncate(4);
        out.push("…".into());
    }
    out
}

/// The first word of the line holding `at`, and whether that line is inside a `test` block.
fn line_keyword(src: &str, at: usize) -> (String, bool) {
    let start = line_start(src, at);
    let word: String = src[start..]
        .trim_start_matches([' ', '\t'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    // Inside a test when the nearest block opener above is on a `test` line.
    let before = &src[..start];
    let in_test = before
        .rfind('{')
        .map(|b| src[line_start(src, b)..b].trim_start().starts_with("test"))
        .unwrap_or(false);
    (word, in_test)
}

/// pest's error at byte `base + position` as a diagnostic, and the absolute place it is at.
/// `None` when the place is already reported (an unclosed string on that line).
pub(crate) fn from_pest(
    src: &str,
    base: usize,
    e: &PestError<Rule>,
    scan: &Scan,
) -> (Option<Diagnostic>, usize) {
    let rel = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let at = (base + rel).min(src.len());
    let positives: Vec<Rule> = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { message } => {
            // pest's call or stack limit: input built to make the parser work too hard.
            let d = Diagnostic::error(
                codes::INPUT_TOO_LARGE,
                format!("this policy is too complex to parse ({message})"),
            )
            .at(Span::new(at, at), "the parser gave up here")
            .help("policies nest and repeat far less than this; check that this is a policy file");
            return (Some(d), at);
        }
    };

    // A string left open on this line is the real problem; it is reported on its own.
    let ls = line_start(src, at);
    let le = next_line_start(src, at);
    if scan
        .unclosed_strings
        .iter()
        .any(|&q| q >= ls && q < le.max(ls + 1))
    {
        return (None, at);
    }

    let (found, found_span, found_word) = describe_found(src, at);

    // A block never closed: the parser wanted `}` and met the end of the file or the next item.
    if positives.contains(&Rule::rbrace) && !positives.contains(&Rule::comma) {
        let at_eof = src[at..].trim().is_empty();
        let at_item = found_word
            .as_deref()
            .is_some_and(|w| matches!(w, "rule" | "test"))
            && src[ls..at].trim().is_empty();
        if (at_eof || at_item)
            && let Some(&open) = scan.block_opens.iter().rev().find(|&&o| o < at)
        {
            let eof = src.len();
            let mut d = Diagnostic::error(codes::UNCLOSED_BLOCK, "this block is never closed")
                .at(Span::new(open, open + 1), "this `{` has no matching `}`");
            if at_eof {
                d = d.also(Span::new(eof, eof), "the file ends inside the block");
            } else {
                d = d
                    .also(
                        found_span,
                        "the next block starts here, inside the open one",
                    )
                    .also(Span::new(eof, eof), "end of file");
            }
            let help = if at_eof {
                "add `}` on its own line after the block's last statement"
            } else {
                "add `}` on its own line before the next block"
            };
            return (Some(d.help(help)), at);
        }
    }

    if found == "`}`" && !positives.contains(&Rule::rbrace) {
        let d = Diagnostic::error(codes::SYNTAX, "this `}` closes no block")
            .at(found_span, "no block is open here")
            .help("remove it, or check the block above for a missing `{` at the end of its first line");
        return (Some(d), at);
    }

    let mut expected = short_expected(&positives);
    // "a name" says little: name what belongs after this keyword.
    if expected == ["a name"] {
        let before = src[line_start(src, at)..at]
            .split_whitespace()
            .last()
            .unwrap_or("");
        let before = if before.ends_with(',') { "," } else { before };
        let what = match before {
            "round" => "`down`, `up` or `nearest`",
            "on_missing" => "`skip`, `zero` or `error`",
            "on_fba" => "`skip` or `error`",
            "guarantee" => "`no_oversell`",
            "inventory" => "`negative_as_zero` or `ignore_unknown_locations`",
            "region" => "a region (`NA`, `EU`, `FE`)",
            "location" | "from" | "at" => "a location name",
            "marketplaces" | "marketplace" | "on" | "publish" | "," => {
                "a marketplace code (`US`, `CA`, …)"
            }
            _ => "a name",
        };
        expected = vec![what.to_string()];
    }
    let message = format!("expected {}, found {found}", join_or(&expected));

    // A word where a keyword was expected: likely a typo.
    if let Some(w) = &found_word {
        let kws: Vec<String> = positives
            .iter()
            .filter_map(|&r| expected_keyword(r))
            .collect();
        let refs: Vec<&str> = kws.iter().map(String::as_str).collect();
        if let Some(s) = did_you_mean_owned(w, &refs) {
            let d = Diagnostic::error(codes::UNKNOWN_KEYWORD, format!("unknown keyword `{w}`"))
                .at(found_span, format!("expected {}", join_or(&expected)))
                .help(format!("did you mean `{s}`?"));
            return (Some(d), at);
        }
    }

    let label = format!("expected {}", join_or(&expected));
    let (kw, in_test) = line_keyword(src, at);
    let wants_string = positives.contains(&Rule::string) || positives.contains(&Rule::str_inner);
    let prev = src[line_start(src, at)..at].split_whitespace().last();
    let found_text = &src[found_span.start..found_span.end];
    let entry_like = found_word.is_some() || found.starts_with("the number") || found == "a string";
    // The end of the line is no pasted character (`cap` without its number).
    let pasted = src[at.min(src.len())..]
        .chars()
        .next()
        .filter(|c| !matches!(c, '\n' | '\r'))
        .and_then(pasted_character);
    let help = if let Some(p) = pasted {
        p.to_string()
    } else if found_word.as_deref() == Some("once") {
        // The one place `once` is a word of the language: say where it goes.
        "`once` goes only after a fixed quantity, at the end of its line: `quantity 10 once` sends 10 while the offer has no quantity on Amazon, then lets Amazon count it down with each sale".to_string()
    } else if let (true, Some(w)) = (wants_string, found_word.as_deref()) {
        format!("strings are written in double quotes: `\"{w}\"`")
    } else if let (Some(p), "%") = (prev, found_text) {
        format!("write the `%` right after the number, with no space: `{p}%`")
    } else if found_word.as_deref() == Some("stock")
        && (positives.contains(&Rule::from_opt) || positives.contains(&Rule::kw_from))
    {
        // `publish UK as "{sku}_UK" stock from uk_wh`: a target's own stock source.
        "a target's own stock source is written `from`, without `stock`: `UK as \"{sku}_UK\" from uk_wh`; locations joined with `and` (`from uk_wh and uk_store`); a rule's `stock from` line applies to its other targets".to_string()
    } else if let (true, Some(prev), true) = (positives.contains(&Rule::comma), prev, entry_like) {
        format!("the entries of a list are separated by commas: `{prev}, {found_text}`")
    } else if positives.contains(&Rule::nl) && expected.len() <= 3 && !found.starts_with("the end")
    {
        let mut h = "a statement ends at the end of its line (a list may go on after a comma): put what follows on its own line, or remove it".to_string();
        if let Some(u) = usage(&kw, in_test) {
            h.push_str(&format!("; `{kw}` is written {u}"));
        }
        h
    } else if let Some(u) = usage(&kw, in_test) {
        format!("`{kw}` is written {u}")
    } else {
        format!("write {} here", join_or(&expected))
    };
    let d = Diagnostic::error(codes::SYNTAX, message)
        .at(found_span, label)
        .help(help);
    (Some(d), at)
}

fn did_you_mean_owned<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    suggest(word, candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule of the grammar is decided on: named in words, or on the short list of rules
    /// never named. A keyword is named as the table spells it; no name is a rule's identifier.
    #[test]
    fn every_rule_has_a_human_name() {
        use Rule::*;
        let never_named = [
            unknown_item,
            unknown_stmt,
            unknown_test_stmt,
            file,
            one_item,
            rule_rest,
            test_rest,
            rule_lines,
            test_lines,
            junk_text,
            junk_any,
            WHITESPACE,
            COMMENT,
            ident_char,
            sep,
            top_keyword,
            stmt_keyword,
            test_keyword,
            junk,
            junk_block,
            blank,
            item,
            stmt,
            sel_term,
            target_opt,
            test_stmt,
        ];
        for &r in Rule::all_rules() {
            let raw = format!("{r:?}");
            match expected_name(r) {
                None => assert!(never_named.contains(&r), "{raw} has no name"),
                Some((_, text)) => {
                    assert!(!never_named.contains(&r), "{raw} is named `{text}`");
                    match keywords::keyword(r) {
                        Some(k) if r != kw_by => assert_eq!(text, format!("`{}`", k.word)),
                        _ => assert!(
                            !text.contains("kw_") && !text.contains(&format!("`{raw}`")),
                            "{raw} is named by its rule: {text}"
                        ),
                    }
                    assert!(!text.is_empty() && text != raw, "{raw}: {text}");
                }
            }
        }
    }

    /// The hand-written lists in the help of "unknown keyword" name every keyword of their place.
    #[test]
    fn help_lists_every_keyword_of_its_place() {
        let span = Span::new(0, 1);
        let help = |d: Diagnostic| d.help.unwrap_or_default();
        let cases = [
            (help(unknown_item("zzzzzz", span)), TOP_KEYWORDS),
            (help(unknown_stmt("zzzzzz", span)), STMT_KEYWORDS),
            (help(unknown_test_stmt("zzzzzz", span)), TEST_KEYWORDS),
            (help(unknown_selector("zzzzzz", span)), SELECTOR_KEYWORDS),
        ];
        for (text, words) in cases {
            for w in words {
                assert!(
                    text.contains(&format!("`{w}`")) || text.contains(&format!("`{w} ")),
                    "`{w}` is missing from: {text}"
                );
            }
        }
    }

    #[test]
    fn misplaced_keywords_are_told_apart() {
        let span = Span::new(0, 3);
        // `kit` is a top-level item (the older lists had left it out).
        assert!(unknown_stmt("kit", span).message.contains("top-level item"));
        assert!(
            unknown_item("kti", span)
                .help
                .unwrap_or_default()
                .contains("`kit`")
        );
        assert!(
            unknown_item("publish", span)
                .message
                .contains("rule statement")
        );
        assert!(
            unknown_item("expect", span)
                .message
                .contains("test statement")
        );
    }
}

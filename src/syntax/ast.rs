//! The syntax tree of one policy file, as written: names are unresolved, values untyped
//! (a `cap 50%` parses; the checker refuses it with a hint). Every node owns its byte span.
//! Equality ignores spans: two trees parsed from texts that differ only in layout and comments
//! compare equal, which is what the formatter checks its output with. `Spanned` leaves out its
//! span; the nodes below leave out theirs (`eq_ignoring_spans!`).
//!
//! Each node kind knows its keyword (`StmtKind::keyword`, …), spelled by `syntax::keywords`.

use super::keywords::word;
use super::parser::Rule as R;
use crate::span::{Span, Spanned};

/// The spelling of a keyword rule, looked up when compiling (an unknown rule fails the build).
macro_rules! kw {
    ($rule:ident) => {
        const { word(R::$rule) }
    };
}

/// `PartialEq` for nodes that compares the fields before `;` and leaves out the spans after it.
/// The pattern names every field, so a field added later must be put on one side or the other
/// before this compiles.
macro_rules! eq_ignoring_spans {
    ($($ty:ident { $($field:ident),+ ; $($span:ident),+ })*) => {$(
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                let $ty { $($field,)+ $($span: _,)+ } = self;
                $(*$field == other.$field)&&+
            }
        }
    )*};
}

eq_ignoring_spans! {
    Comment { text; span }
    Item { kind; span }
    Rule { name, stmts; body_span }
    Stmt { kind; span, keyword }
    Selector { kind; span }
    Target {
        marketplace, sku, share, ratio, pack, from, by_location, handling_time, restock_date;
        span
    }
    KitPart { sku, units; span }
    FromList { locations; span }
    ByLocation { split; span }
    SplitPart { location, share; span }
    Test { name, stmts; body_span }
    TestStmt { kind; span }
    StockEntry { location, on_hand, reserved; span }
}

pub type Ident = Spanned<String>;
/// A string literal's value, escapes resolved; the span covers the quotes.
pub type Str = Spanned<String>;

#[derive(Clone, Debug, PartialEq)]
pub struct Ast {
    pub items: Vec<Item>,
    /// Every `# comment` in source order (text without the leading `#`, spans include it).
    /// Not part of the meaning; kept so the formatter can put each back.
    pub comments: Vec<Comment>,
}

#[derive(Clone, Debug)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}

/// A number as written: `10` (units) or `12.5%` (percent); checking makes it a `model::Amount`,
/// a share, a pack or a count, each with its own rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Number {
    Units(u64),
    /// Hundredths of a percent: `12.5%` is 1250, `100%` is 10000. Exact, no floats.
    Percent(u32),
}

#[derive(Clone, Debug)]
pub struct Item {
    pub kind: ItemKind,
    /// The whole item, keyword to last token.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    /// `policy "acme-na"`
    Policy(Str),
    /// `seller "A1PP0FEH11RW77"`
    Seller(Str),
    /// `marketplaces US, CA, MX`
    Marketplaces(Vec<Ident>),
    /// `marketplace XX id "A1234567890" region EU`: a custom code with an explicit ID.
    Marketplace {
        code: Ident,
        id: Str,
        region: Ident,
    },
    /// `location newark supply_source "353e…"`
    Location {
        name: Ident,
        supply_source: Option<Str>,
    },
    /// `guarantee no_oversell`
    Guarantee(Ident),
    /// `inventory negative_as_zero, ignore_unknown_locations`: how the inventory is read.
    Inventory(Vec<Ident>),
    /// `kit "GIFT-BOX" contains "MUG-1" 2, "CANDLE-LAV" 1`
    Kit {
        sku: Str,
        parts: Vec<KitPart>,
    },
    /// `on_missing skip|zero|error`: the policy-wide default, overridable per rule.
    OnMissing(Ident),
    /// `on_fba skip|error`: the policy-wide default, overridable per rule.
    OnFba(Ident),
    Rule(Rule),
    Test(Test),
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub name: Str,
    pub stmts: Vec<Stmt>,
    /// The `{ … }` body.
    pub body_span: Span,
}

#[derive(Clone, Debug)]
pub struct Stmt {
    pub kind: StmtKind,
    /// The whole statement.
    pub span: Span,
    /// Just the leading keyword (`cap`, `publish`, …): where "misplaced" diagnostics point.
    pub keyword: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `match sku "YOGA-*"`, `match tag "candles"`, `match any`, …
    Match(Selector),
    /// `stock from newark, austin`
    StockFrom(Vec<Ident>),
    /// `buffer 2` or `buffer 10%`
    Buffer(Spanned<Number>),
    /// `share 80%` at rule level: applies to every target without its own share.
    Share(Spanned<Number>),
    /// `round down|up|nearest`
    Round(Ident),
    /// `threshold 4`
    Threshold(Spanned<Number>),
    /// `cap 10`
    Cap(Spanned<Number>),
    /// `quantity 1`, or `quantity 10 once` (`once`: an initial quantity, written only while
    /// the offer has none on Amazon; Amazon counts it down afterwards).
    Quantity { amount: Spanned<Number>, once: bool },
    /// `buffer column "safety"`, `threshold column "min_qty"`, `cap column "max_qty"`: the
    /// value of an inventory column, SKU by SKU.
    FromColumn { limit: ColumnLimit, column: Str },
    /// `publish US as "{sku}-US" share 60%, CA …`
    Publish(Vec<Target>),
    /// `default_channel 0`
    DefaultChannel(Spanned<Number>),
    /// `on_missing skip|zero|error`
    OnMissing(Ident),
    /// `on_fba skip|error`
    OnFba(Ident),
    /// `skip`
    Skip,
    /// `handling_time 2`: days between an order and its dispatch (Amazon's
    /// `lead_time_to_ship_max_days`).
    HandlingTime(Spanned<Number>),
    /// `restock_date "2027-01-15"`
    RestockDate(Str),
}

impl ItemKind {
    /// The word the item starts with.
    pub fn keyword(&self) -> &'static str {
        match self {
            ItemKind::Policy(_) => kw!(kw_policy),
            ItemKind::Seller(_) => kw!(kw_seller),
            ItemKind::Marketplaces(_) => kw!(kw_marketplaces),
            ItemKind::Marketplace { .. } => kw!(kw_marketplace),
            ItemKind::Location { .. } => kw!(kw_location),
            ItemKind::Guarantee(_) => kw!(kw_guarantee),
            ItemKind::Inventory(_) => kw!(kw_inventory),
            ItemKind::Kit { .. } => kw!(kw_kit),
            ItemKind::OnMissing(_) => kw!(kw_on_missing),
            ItemKind::OnFba(_) => kw!(kw_on_fba),
            ItemKind::Rule(_) => kw!(kw_rule),
            ItemKind::Test(_) => kw!(kw_test),
        }
    }
}

impl StmtKind {
    /// The word the statement starts with: `stock` for `stock from` (the formatter pads this
    /// one word into the block's keyword column and writes `from` with the rest).
    pub fn keyword(&self) -> &'static str {
        match self {
            StmtKind::Match(_) => kw!(kw_match),
            StmtKind::StockFrom(_) => kw!(kw_stock),
            StmtKind::Buffer(_) => kw!(kw_buffer),
            StmtKind::Share(_) => kw!(kw_share),
            StmtKind::Round(_) => kw!(kw_round),
            StmtKind::Threshold(_) => kw!(kw_threshold),
            StmtKind::Cap(_) => kw!(kw_cap),
            StmtKind::FromColumn { limit, .. } => limit.keyword(),
            StmtKind::Quantity { .. } => kw!(kw_quantity),
            StmtKind::Publish(_) => kw!(kw_publish),
            StmtKind::DefaultChannel(_) => kw!(kw_default_channel),
            StmtKind::OnMissing(_) => kw!(kw_on_missing),
            StmtKind::OnFba(_) => kw!(kw_on_fba),
            StmtKind::Skip => kw!(kw_skip),
            StmtKind::HandlingTime(_) => kw!(kw_handling_time),
            StmtKind::RestockDate(_) => kw!(kw_restock_date),
        }
    }

    /// The statement as messages name it: its keyword, except `stock from`, which a reader
    /// knows by both words (a bare `stock` is also the test statement).
    pub fn name(&self) -> &'static str {
        match self {
            StmtKind::StockFrom(_) => "stock from",
            other => other.keyword(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Selector {
    pub kind: SelectorKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SelectorKind {
    /// `any`
    Any,
    /// `sku "YOGA-*", "CLR-1"`: globs (`*`, `?`) or exact SKUs; any may match.
    Sku(Vec<Str>),
    /// `tag "candles", "summer"`: the SKU carries any of these tags.
    Tag(Vec<Str>),
    /// `brand = "Acme", "Zed"`: an inventory attribute column equals any of these values.
    Attr { name: Ident, values: Vec<Str> },
    /// `not <selector>`
    Not(Box<Selector>),
    /// `<selector> and <selector> …`: all must match.
    And(Vec<Selector>),
}

/// One marketplace of a `publish` statement.
#[derive(Clone, Debug)]
pub struct Target {
    pub marketplace: Ident,
    /// `as "{sku}-US"`: the seller SKU template; absent means `"{sku}"`.
    pub sku: Option<Str>,
    /// `share 60%`
    pub share: Option<Spanned<Number>>,
    /// `ratio 2`: this target's weight in an exact split of its pool among the targets that
    /// give one.
    pub ratio: Option<Spanned<Number>>,
    /// `pack 6`: units in one item of this offer (a 6-pack publishes whole packs).
    pub pack: Option<Spanned<Number>>,
    /// `from uk_wh and uk_store`: the locations this target's pool counts (its own `stock
    /// from`).
    pub from: Option<FromList>,
    /// `by location` or `by location { newark 60%, austin 40% }`
    pub by_location: Option<ByLocation>,
    /// `handling_time 3`: this target's own, over the rule's.
    pub handling_time: Option<Spanned<Number>>,
    /// `restock_date "2027-01-15"`: this target's own, over the rule's.
    pub restock_date: Option<Str>,
    pub span: Span,
}

/// One component of a kit: an inventory SKU and the units of it in one kit.
#[derive(Clone, Debug)]
pub struct KitPart {
    pub sku: Str,
    pub units: Spanned<Number>,
    pub span: Span,
}

/// Which statement takes its value from an inventory column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnLimit {
    Buffer,
    Threshold,
    Cap,
}

impl ColumnLimit {
    pub fn keyword(self) -> &'static str {
        match self {
            ColumnLimit::Buffer => kw!(kw_buffer),
            ColumnLimit::Threshold => kw!(kw_threshold),
            ColumnLimit::Cap => kw!(kw_cap),
        }
    }
}

/// A target's `from a and b`.
#[derive(Clone, Debug)]
pub struct FromList {
    pub locations: Vec<Ident>,
    /// The whole option, `from` to the last name.
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ByLocation {
    /// Empty: one quantity per supply source from its own stock. Otherwise a split.
    pub split: Vec<SplitPart>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct SplitPart {
    pub location: Ident,
    pub share: Spanned<Number>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Test {
    pub name: Str,
    pub stmts: Vec<TestStmt>,
    pub body_span: Span,
}

#[derive(Clone, Debug)]
pub struct TestStmt {
    pub kind: TestStmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TestStmtKind {
    /// `stock "YOGA-1" tags "a", "b" newark 8, austin 9 reserved 1`
    Stock {
        sku: Str,
        tags: Vec<Str>,
        /// `brand = "Acme"` attributes, any number.
        attrs: Vec<(Ident, Str)>,
        entries: Vec<StockEntry>,
    },
    /// `expect "YOGA-1-US" on US = 10`, `expect "SHOE-1" on US at newark = 3`,
    /// `expect "X" on US unpublished`
    Expect {
        seller_sku: Str,
        marketplace: Ident,
        /// `at newark` or `at DEFAULT`: one channel of the offer. Absent: the offer's DEFAULT
        /// quantity, or the only channel it has.
        channel: Option<Ident>,
        /// None means `unpublished`: no offer for that SKU in that marketplace.
        quantity: Option<Spanned<Number>>,
    },
}

impl TestStmtKind {
    /// The word the test statement starts with.
    pub fn keyword(&self) -> &'static str {
        match self {
            TestStmtKind::Stock { .. } => kw!(kw_stock),
            TestStmtKind::Expect { .. } => kw!(kw_expect),
        }
    }
}

#[derive(Clone, Debug)]
pub struct StockEntry {
    pub location: Ident,
    pub on_hand: Spanned<Number>,
    pub reserved: Option<Spanned<Number>>,
    pub span: Span,
}

#[cfg(test)]
mod tests {
    use super::super::keywords::{STMT_KEYWORDS, TEST_KEYWORDS, TOP_KEYWORDS};
    use super::*;
    use crate::syntax::parse;

    /// Every item, statement, selector, target option and test statement, once.
    const POLICY: &str = r#"policy "p"
seller "S1"
marketplaces US, CA
marketplace XX id "A1" region EU
location newark supply_source "s"
location austin
guarantee no_oversell
inventory negative_as_zero
kit "BOX" contains "MUG" 2, "CUP" 1
on_missing skip
on_fba error
rule "r" {
  match sku "A-*" and not (tag "t" and brand = "b")
  stock from newark, austin
  buffer 2
  share 80%
  round up
  threshold 4
  cap column "max"
  quantity 10 once
  publish US as "{sku}-US" share 60% ratio 2 pack 6 from newark and austin handling_time 3 restock_date "2027-01-15" by location { newark 60%, austin 40% }, CA
  default_channel 0
  on_missing zero
  on_fba skip
  handling_time 2
  restock_date "2027-02-01"
}
rule "s" {
  match any
  skip
}
test "t" {
  stock "A-1" tags "x" brand = "b" newark 8, austin 9 reserved 1
  expect "A-1-US" on US at newark = 3
  expect "A-1-CA" on CA unpublished
}
"#;

    /// The same policy laid out otherwise: spaces, blank lines, comments, a list broken after
    /// its comma, a selector in redundant parentheses.
    const RELAID: &str = r#"# heading
policy    "p"   # name

seller "S1"
marketplaces US,
  CA
marketplace   XX id "A1"   region EU
location newark   supply_source "s"
location austin
guarantee no_oversell
inventory negative_as_zero
kit "BOX" contains "MUG" 2,   "CUP" 1
on_missing skip
on_fba error


rule "r"   {
  match (sku "A-*") and not (tag "t" and brand = "b")
    stock from newark,austin
  buffer      2
  share 80%
  round up   # up
  threshold 4
  cap column "max"
  quantity 10 once
  publish US as "{sku}-US" share 60% ratio 2 pack 6 from newark and austin handling_time 3 restock_date "2027-01-15" by location {newark 60%,austin 40%},
    CA
  default_channel 0

  on_missing zero
  on_fba skip
  handling_time 2
  restock_date "2027-02-01"
}
rule "s" {
match any
skip
}
test "t" {
  stock "A-1" tags "x" brand = "b" newark 8,
        austin 9 reserved 1
  expect "A-1-US" on US at newark = 3
  expect "A-1-CA" on CA unpublished
}
"#;

    fn parsed(src: &str) -> Ast {
        parse(src).unwrap_or_else(|d| panic!("{d:#?}"))
    }

    #[test]
    fn equality_ignores_layout_and_spans() {
        let (a, b) = (parsed(POLICY), parsed(RELAID));
        // The spans do differ, so the equality below is not by accident.
        assert_ne!(a.items[1].span, b.items[1].span);
        assert_eq!(a.items, b.items);
        // The comments differ (the formatter compares their texts on its own).
        assert_ne!(a, b);
        let mut b = b;
        b.comments.clear();
        assert_eq!(a, b);
    }

    #[test]
    fn equality_sees_every_value() {
        let a = parsed(POLICY);
        for (from, to) in [
            ("policy \"p\"", "policy \"q\""),
            ("marketplaces US, CA", "marketplaces CA, US"),
            ("supply_source \"s\"", "supply_source \"t\""),
            ("\"MUG\" 2", "\"MUG\" 3"),
            ("sku \"A-*\"", "sku \"B-*\""),
            ("not (tag", "(tag"),
            ("brand = \"b\")", "brand = \"c\")"),
            ("stock from newark, austin", "stock from austin, newark"),
            ("buffer 2", "buffer 2%"),
            ("round up", "round down"),
            ("cap column \"max\"", "threshold column \"max\""),
            ("quantity 10 once", "quantity 10"),
            ("share 60%", "share 61%"),
            ("ratio 2", "ratio 3"),
            ("pack 6", "pack 5"),
            (
                "from newark and austin handling_time",
                "from newark handling_time",
            ),
            ("handling_time 3", "handling_time 4"),
            ("\"2027-01-15\" by", "\"2027-01-16\" by"),
            ("newark 60%, austin 40%", "newark 40%, austin 60%"),
            ("by location { newark 60%, austin 40% }", "by location"),
            ("reserved 1", "reserved 2"),
            ("at newark = 3", "= 3"),
            ("on CA unpublished", "on CA = 0"),
            ("tags \"x\"", "tags \"y\""),
        ] {
            assert!(POLICY.contains(from), "{from}");
            let b = parsed(&POLICY.replacen(from, to, 1));
            assert_ne!(a.items, b.items, "{from} → {to}");
        }
    }

    /// Each node's `keyword()` is the word its keyword span covers, and a keyword of its place.
    #[test]
    fn nodes_know_their_keywords() {
        let ast = parsed(POLICY);
        let mut kinds = 0;
        for item in &ast.items {
            let k = item.kind.keyword();
            assert!(TOP_KEYWORDS.contains(&k), "{k}");
            assert!(POLICY[item.span.start..].starts_with(k), "{k}");
            let (stmts, tests) = match &item.kind {
                ItemKind::Rule(r) => (&r.stmts[..], &[][..]),
                ItemKind::Test(t) => (&[][..], &t.stmts[..]),
                _ => continue,
            };
            for s in stmts {
                let k = s.kind.keyword();
                assert!(STMT_KEYWORDS.contains(&k), "{k}");
                assert_eq!(&POLICY[s.keyword.start..s.keyword.end], k);
                assert!(POLICY[s.span.start..].starts_with(s.kind.name()));
                kinds += 1;
            }
            for s in tests {
                let k = s.kind.keyword();
                assert!(TEST_KEYWORDS.contains(&k), "{k}");
                assert!(POLICY[s.span.start..].starts_with(k), "{k}");
            }
        }
        // Every kind of statement but a plain `cap` (`cap column` starts with the same word).
        assert_eq!(kinds, 16);
    }
}

//! The syntax tree of one policy file, as written: names are unresolved, values untyped
//! (a `cap 50%` parses; the checker refuses it with a hint). Every node owns its byte span.
//! Equality ignores spans (see `Spanned`), which is what the formatter's AST comparison needs.

use serde::Serialize;

use crate::span::{Span, Spanned};

pub type Ident = Spanned<String>;
/// A string literal's value, escapes resolved; the span covers the quotes.
pub type Str = Spanned<String>;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ast {
    pub items: Vec<Item>,
    /// Every `# comment` in source order (text without the leading `#`, spans include it).
    /// Not part of the meaning; kept so the formatter can put each back.
    pub comments: Vec<Comment>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}

/// A number as written: `10` (units) or `12.5%` (percent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Amount {
    Units(u64),
    /// Hundredths of a percent: `12.5%` is 1250, `100%` is 10000. Exact, no floats.
    Percent(u32),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Item {
    pub kind: ItemKind,
    /// The whole item, keyword to last token.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
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

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    pub name: Str,
    pub stmts: Vec<Stmt>,
    /// The `{ … }` body.
    pub body_span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stmt {
    pub kind: StmtKind,
    /// The whole statement.
    pub span: Span,
    /// Just the leading keyword (`cap`, `publish`, …): where "misplaced" diagnostics point.
    pub keyword: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum StmtKind {
    /// `match sku "YOGA-*"`, `match tag "candles"`, `match any`, …
    Match(Selector),
    /// `stock from newark, austin`
    StockFrom(Vec<Ident>),
    /// `buffer 2` or `buffer 10%`
    Buffer(Spanned<Amount>),
    /// `share 80%` at rule level: applies to every target without its own share.
    Share(Spanned<Amount>),
    /// `round down|up|nearest`
    Round(Ident),
    /// `threshold 4`
    Threshold(Spanned<Amount>),
    /// `cap 10`
    Cap(Spanned<Amount>),
    /// `quantity 1`, or `quantity 10 once` (`once`: an initial quantity, written only while
    /// the offer has none on Amazon; Amazon counts it down afterwards).
    Quantity { amount: Spanned<Amount>, once: bool },
    /// `buffer column "safety"`, `threshold column "min_qty"`, `cap column "max_qty"`: the
    /// value of an inventory column, SKU by SKU.
    FromColumn { limit: ColumnLimit, column: Str },
    /// `publish US as "{sku}-US" share 60%, CA …`
    Publish(Vec<Target>),
    /// `default_channel 0`
    DefaultChannel(Spanned<Amount>),
    /// `on_missing skip|zero|error`
    OnMissing(Ident),
    /// `on_fba skip|error`
    OnFba(Ident),
    /// `skip`
    Skip,
    /// `handling_time 2`: days between an order and its dispatch (Amazon's
    /// `lead_time_to_ship_max_days`).
    HandlingTime(Spanned<Amount>),
    /// `restock_date "2027-01-15"`
    RestockDate(Str),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Selector {
    pub kind: SelectorKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    pub marketplace: Ident,
    /// `as "{sku}-US"`: the seller SKU template; absent means `"{sku}"`.
    pub sku: Option<Str>,
    /// `share 60%`
    pub share: Option<Spanned<Amount>>,
    /// `ratio 2`: this target's weight in an exact split of its pool among the targets that
    /// give one.
    pub ratio: Option<Spanned<Amount>>,
    /// `pack 6`: units in one item of this offer (a 6-pack publishes whole packs).
    pub pack: Option<Spanned<Amount>>,
    /// `from uk_wh and uk_store`: the locations this target's pool counts (its own `stock
    /// from`).
    pub from: Option<FromList>,
    /// `by location` or `by location { newark 60%, austin 40% }`
    pub by_location: Option<ByLocation>,
    /// `handling_time 3`: this target's own, over the rule's.
    pub handling_time: Option<Spanned<Amount>>,
    /// `restock_date "2027-01-15"`: this target's own, over the rule's.
    pub restock_date: Option<Str>,
    pub span: Span,
}

/// One component of a kit: an inventory SKU and the units of it in one kit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KitPart {
    pub sku: Str,
    pub units: Spanned<Amount>,
    pub span: Span,
}

/// Which statement takes its value from an inventory column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ColumnLimit {
    Buffer,
    Threshold,
    Cap,
}

impl ColumnLimit {
    pub fn keyword(self) -> &'static str {
        match self {
            ColumnLimit::Buffer => "buffer",
            ColumnLimit::Threshold => "threshold",
            ColumnLimit::Cap => "cap",
        }
    }
}

/// A target's `from a and b`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FromList {
    pub locations: Vec<Ident>,
    /// The whole option, `from` to the last name.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ByLocation {
    /// Empty: one quantity per supply source from its own stock. Otherwise a split.
    pub split: Vec<SplitPart>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SplitPart {
    pub location: Ident,
    pub share: Spanned<Amount>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Test {
    pub name: Str,
    pub stmts: Vec<TestStmt>,
    pub body_span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestStmt {
    pub kind: TestStmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
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
        quantity: Option<Spanned<Amount>>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StockEntry {
    pub location: Ident,
    pub on_hand: Spanned<Amount>,
    pub reserved: Option<Spanned<Amount>>,
    pub span: Span,
}

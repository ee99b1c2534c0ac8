//! The formatter (`allot fmt`): one canonical layout, every comment kept.
//!
//! The layout (docs/syntax.md has it in words): one item or statement per line; statements
//! indented two spaces, their keyword padded to one more than the block's longest keyword of at
//! most 8 characters; `location` names aligned in a run when any has a `supply_source`; trailing
//! comments in column 41 (or three spaces after longer code); at most one blank line kept where
//! there was one; one blank line around every rule and test.
//!
//! After formatting, the output is parsed again and its AST (spans ignored) and comment texts are
//! compared with the input's; a difference is an internal error (`allot::fmt-mismatch`), never
//! silently written.

use crate::diag::Diagnostic;
use crate::span::Span;
use crate::syntax::ast::*;
use crate::syntax::parse;

/// The code of the internal error raised when the output would not mean what the input meant.
pub const FMT_MISMATCH: &str = "allot::fmt-mismatch";

/// Trailing comments start in this column (1-based) when the code leaves room for it.
const COMMENT_COLUMN: usize = 41;
/// Keywords longer than this are not used to pad a block's keyword column.
const MAX_PADDED_KEYWORD: usize = 8;

/// Format a policy file. `Err` holds its syntax errors, or an internal `allot::fmt-mismatch`.
pub fn format(src: &str) -> Result<String, Vec<Diagnostic>> {
    let ast = parse(src)?;
    let out = render(src, &ast);
    verify(&ast, &out)?;
    Ok(out)
}

/// Check that `out` parses to the same AST (spans ignored) with the same comments, in order.
fn verify(before: &Ast, out: &str) -> Result<(), Vec<Diagnostic>> {
    let mismatch = |what: &str| {
        vec![
            Diagnostic::error(
                FMT_MISMATCH,
                format!("internal error: the formatted policy would {what}; nothing was written"),
            )
            .at(Span::new(0, 0), "this file")
            .help("please report this with the file attached; the file itself is fine to use as it is"),
        ]
    };
    let after = match parse(out) {
        Ok(a) => a,
        Err(_) => return Err(mismatch("not parse")),
    };
    if without_spans(&before.items) != without_spans(&after.items) {
        return Err(mismatch("mean something else"));
    }
    let texts = |a: &Ast| {
        a.comments
            .iter()
            .map(|c| c.text.clone())
            .collect::<Vec<_>>()
    };
    if texts(before) != texts(&after) {
        return Err(mismatch("lose or reorder a comment"));
    }
    Ok(())
}

/// The items as JSON with every span removed, so layout does not count.
fn without_spans(items: &[Item]) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|k, _| !matches!(k.as_str(), "span" | "keyword" | "body_span"));
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(items).unwrap_or(serde_json::Value::Null);
    strip(&mut v);
    v
}

/// One line of output code.
struct CodeLine {
    /// Where the line's first token is in the source (orders comments before it).
    pos: usize,
    /// Start of its source line (a trailing comment on that line belongs to it).
    line_key: usize,
    indent: usize,
    text: String,
    blank_before: bool,
    leading: Vec<(String, bool)>,
    trailing: Option<String>,
    /// Leading comments and blank lines after `{` or at a block's `}` follow their own rules.
    role: Role,
    /// Index of the item it belongs to.
    item: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Item,
    FirstStmt,
    Stmt,
    Close { empty: bool },
}

fn render(src: &str, ast: &Ast) -> String {
    let mut lines: Vec<CodeLine> = Vec::new();
    let mut line = |pos: usize, indent: usize, text: String, role: Role, item: usize| {
        lines.push(CodeLine {
            pos,
            line_key: line_start(src, pos),
            indent,
            text,
            blank_before: blank_before(src, pos),
            leading: Vec::new(),
            trailing: None,
            role,
            item,
        })
    };
    let name_width = location_widths(src, ast);
    for (i, item) in ast.items.iter().enumerate() {
        let pos = item.span.start;
        match &item.kind {
            ItemKind::Rule(r) => {
                line(
                    pos,
                    0,
                    format!("rule {} {{", string(&r.name)),
                    Role::Item,
                    i,
                );
                let width = keyword_width(r.stmts.iter().map(|s| stmt_keyword(&s.kind)));
                for (k, s) in r.stmts.iter().enumerate() {
                    let role = if k == 0 { Role::FirstStmt } else { Role::Stmt };
                    line(s.span.start, 2, stmt(&s.kind, width), role, i);
                }
                let close = r.body_span.end.saturating_sub(1);
                let empty = r.stmts.is_empty();
                line(close, 0, "}".into(), Role::Close { empty }, i);
            }
            ItemKind::Test(t) => {
                line(
                    pos,
                    0,
                    format!("test {} {{", string(&t.name)),
                    Role::Item,
                    i,
                );
                let width = keyword_width(t.stmts.iter().map(|s| test_keyword(&s.kind)));
                for (k, s) in t.stmts.iter().enumerate() {
                    let role = if k == 0 { Role::FirstStmt } else { Role::Stmt };
                    line(s.span.start, 2, test_stmt(&s.kind, width), role, i);
                }
                let close = t.body_span.end.saturating_sub(1);
                let empty = t.stmts.is_empty();
                line(close, 0, "}".into(), Role::Close { empty }, i);
            }
            kind => line(pos, 0, simple_item(kind, name_width[i]), Role::Item, i),
        }
    }

    // Comments: trailing ones to the code on their line, own-line ones before the next code.
    let mut tail: Vec<(String, bool)> = Vec::new();
    for c in &ast.comments {
        let ls = line_start(src, c.span.start);
        let own_line = src[ls..c.span.start].trim().is_empty();
        let text = format!("#{}", c.text);
        // Lines are in source order, so both searches are binary.
        if !own_line {
            let i = lines.partition_point(|l| l.line_key <= ls);
            if i > 0 && lines[i - 1].line_key == ls {
                lines[i - 1].trailing = Some(text);
                continue;
            }
        }
        let blank = blank_before(src, c.span.start);
        let i = lines.partition_point(|l| l.pos <= c.span.start);
        match lines.get_mut(i) {
            Some(l) => l.leading.push((text, blank)),
            None => tail.push((text, blank)),
        }
    }

    // Blank lines: kept (at most one) where the source had them, except right after `{` and
    // right before `}`; forced around rules and tests.
    let is_block = |i: usize| matches!(ast.items[i].kind, ItemKind::Rule(_) | ItemKind::Test(_));
    let mut out = String::new();
    let mut first = true;
    let mut prev_item: Option<usize> = None;
    for l in &mut lines {
        let new_item = l.role == Role::Item;
        let force = new_item && prev_item.is_some_and(|p| is_block(p) || is_block(l.item));
        let indent = " ".repeat(l.indent);
        let comment_indent = match l.role {
            Role::Item => 0,
            _ => 2,
        };
        let ci = " ".repeat(comment_indent);
        for (k, (text, blank)) in l.leading.iter().enumerate() {
            let blank = if k == 0 {
                match l.role {
                    Role::Item => *blank || force,
                    Role::FirstStmt | Role::Close { empty: true } => false,
                    _ => *blank,
                }
            } else {
                *blank
            };
            emit(&mut out, &mut first, blank, &format!("{ci}{text}"), None);
        }
        let blank = match l.role {
            // Leading comments already carry the forced blank line.
            Role::Item if l.leading.is_empty() => l.blank_before || force,
            Role::Item | Role::Stmt => l.blank_before,
            Role::FirstStmt | Role::Close { .. } => false,
        };
        let code = format!("{indent}{}", l.text);
        emit(&mut out, &mut first, blank, &code, l.trailing.as_deref());
        if new_item {
            prev_item = Some(l.item);
        }
    }
    for (text, blank) in &tail {
        emit(&mut out, &mut first, *blank, text, None);
    }
    out
}

fn emit(out: &mut String, first: &mut bool, blank: bool, code: &str, comment: Option<&str>) {
    if blank && !*first {
        out.push('\n');
    }
    *first = false;
    out.push_str(code);
    if let Some(c) = comment {
        let len = code.chars().count();
        let pad = if len + 3 < COMMENT_COLUMN {
            COMMENT_COLUMN - 1 - len
        } else {
            3
        };
        out.push_str(&" ".repeat(pad));
        out.push_str(c);
    }
    out.push('\n');
}

fn line_start(src: &str, pos: usize) -> usize {
    let pos = pos.min(src.len());
    src.as_bytes()[..pos]
        .iter()
        .rposition(|&c| c == b'\n' || c == b'\r')
        .map_or(0, |i| i + 1)
}

/// Whether the source line before the one holding `pos` is blank.
fn blank_before(src: &str, pos: usize) -> bool {
    let ls = line_start(src, pos);
    if ls == 0 {
        return false;
    }
    let b = src.as_bytes();
    let mut end = ls - 1;
    if b[end] == b'\n' && end > 0 && b[end - 1] == b'\r' {
        end -= 1;
    }
    let prev = line_start(src, end);
    src[prev..end].trim().is_empty()
}

/// For each item, the width its `location` name is padded to (0: no padding).
fn location_widths(src: &str, ast: &Ast) -> Vec<usize> {
    let mut widths = vec![0; ast.items.len()];
    let mut i = 0;
    while i < ast.items.len() {
        let ItemKind::Location { .. } = ast.items[i].kind else {
            i += 1;
            continue;
        };
        // A run of locations, not broken by a blank line.
        let mut j = i + 1;
        while j < ast.items.len()
            && matches!(ast.items[j].kind, ItemKind::Location { .. })
            && !blank_between(src, ast.items[j - 1].span.end, ast.items[j].span.start)
        {
            j += 1;
        }
        let run = &ast.items[i..j];
        let any_source = run.iter().any(|it| {
            matches!(
                &it.kind,
                ItemKind::Location {
                    supply_source: Some(_),
                    ..
                }
            )
        });
        if any_source {
            let longest = run
                .iter()
                .map(|it| match &it.kind {
                    ItemKind::Location { name, .. } => name.node.chars().count(),
                    _ => 0,
                })
                .max()
                .unwrap_or(0);
            widths[i..j].iter_mut().for_each(|w| *w = longest + 1);
        }
        i = j;
    }
    widths
}

/// Whether a blank line lies between two positions.
fn blank_between(src: &str, from: usize, to: usize) -> bool {
    let mut p = line_start(src, to);
    while p > from {
        if blank_before(src, p) {
            return true;
        }
        let b = src.as_bytes();
        let mut end = p - 1;
        if b[end] == b'\n' && end > 0 && b[end - 1] == b'\r' {
            end -= 1;
        }
        p = line_start(src, end);
    }
    false
}

fn keyword_width<'a>(keywords: impl Iterator<Item = &'a str>) -> usize {
    keywords
        .map(str::len)
        .filter(|&n| n <= MAX_PADDED_KEYWORD)
        .max()
        .unwrap_or(0)
        + 1
}

/// `keyword` padded to the block's column, then the rest; `skip` alone stays bare.
fn padded(keyword: &str, width: usize, rest: &str) -> String {
    if rest.is_empty() {
        return keyword.to_string();
    }
    let pad = if keyword.len() < width {
        width - keyword.len()
    } else {
        1
    };
    format!("{keyword}{}{rest}", " ".repeat(pad))
}

pub(crate) fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn strings(v: &[Str]) -> String {
    v.iter().map(|s| string(s)).collect::<Vec<_>>().join(", ")
}

fn idents(v: &[Ident]) -> String {
    v.iter()
        .map(|s| s.node.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn amount(a: Amount) -> String {
    match a {
        Amount::Units(n) => n.to_string(),
        Amount::Percent(h) => {
            let (whole, frac) = (h / 100, h % 100);
            if frac == 0 {
                format!("{whole}%")
            } else if frac % 10 == 0 {
                format!("{whole}.{}%", frac / 10)
            } else {
                format!("{whole}.{frac:02}%")
            }
        }
    }
}

fn simple_item(kind: &ItemKind, name_width: usize) -> String {
    match kind {
        ItemKind::Policy(s) => format!("policy {}", string(s)),
        ItemKind::Seller(s) => format!("seller {}", string(s)),
        ItemKind::Marketplaces(v) => format!("marketplaces {}", idents(v)),
        ItemKind::Marketplace { code, id, region } => format!(
            "marketplace {} id {} region {}",
            code.node,
            string(id),
            region.node
        ),
        ItemKind::Location {
            name,
            supply_source,
        } => match supply_source {
            Some(s) => {
                let pad = name_width.saturating_sub(name.node.chars().count()).max(1);
                format!(
                    "location {}{}supply_source {}",
                    name.node,
                    " ".repeat(pad),
                    string(s)
                )
            }
            None => format!("location {}", name.node),
        },
        ItemKind::Guarantee(g) => format!("guarantee {}", g.node),
        ItemKind::OnMissing(m) => format!("on_missing {}", m.node),
        // Blocks are laid out line by line in `render`.
        ItemKind::Rule(_) | ItemKind::Test(_) => String::new(),
    }
}

fn stmt_keyword(k: &StmtKind) -> &'static str {
    match k {
        StmtKind::Match(_) => "match",
        StmtKind::StockFrom(_) => "stock",
        StmtKind::Buffer(_) => "buffer",
        StmtKind::Share(_) => "share",
        StmtKind::Round(_) => "round",
        StmtKind::Threshold(_) => "threshold",
        StmtKind::Cap(_) => "cap",
        StmtKind::Quantity(_) => "quantity",
        StmtKind::Publish(_) => "publish",
        StmtKind::DefaultChannel(_) => "default_channel",
        StmtKind::OnMissing(_) => "on_missing",
        StmtKind::Skip => "skip",
    }
}

fn test_keyword(k: &TestStmtKind) -> &'static str {
    match k {
        TestStmtKind::Stock { .. } => "stock",
        TestStmtKind::Expect { .. } => "expect",
    }
}

fn stmt(k: &StmtKind, width: usize) -> String {
    let rest = match k {
        StmtKind::Match(s) => selector(s, false),
        StmtKind::StockFrom(v) => format!("from {}", idents(v)),
        StmtKind::Buffer(a)
        | StmtKind::Share(a)
        | StmtKind::Threshold(a)
        | StmtKind::Cap(a)
        | StmtKind::Quantity(a)
        | StmtKind::DefaultChannel(a) => amount(a.node),
        StmtKind::Round(i) | StmtKind::OnMissing(i) => i.node.clone(),
        StmtKind::Publish(t) => t.iter().map(target).collect::<Vec<_>>().join(", "),
        StmtKind::Skip => String::new(),
    };
    padded(stmt_keyword(k), width, &rest)
}

/// A selector; `nested` wraps an `and` in parentheses (inside `not` or another `and`).
fn selector(s: &Selector, nested: bool) -> String {
    match &s.kind {
        SelectorKind::Any => "any".into(),
        SelectorKind::Sku(v) => format!("sku {}", strings(v)),
        SelectorKind::Tag(v) => format!("tag {}", strings(v)),
        SelectorKind::Attr { name, values } => format!("{} = {}", name.node, strings(values)),
        SelectorKind::Not(inner) => format!("not {}", selector(inner, true)),
        SelectorKind::And(v) => {
            let body = v
                .iter()
                .map(|t| selector(t, true))
                .collect::<Vec<_>>()
                .join(" and ");
            if nested { format!("({body})") } else { body }
        }
    }
}

fn target(t: &Target) -> String {
    let mut out = t.marketplace.node.clone();
    if let Some(s) = &t.sku {
        out.push_str(&format!(" as {}", string(s)));
    }
    if let Some(a) = &t.share {
        out.push_str(&format!(" share {}", amount(a.node)));
    }
    if let Some(b) = &t.by_location {
        out.push_str(" by location");
        if !b.split.is_empty() {
            let parts = b
                .split
                .iter()
                .map(|p| format!("{} {}", p.location.node, amount(p.share.node)))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!(" {{ {parts} }}"));
        }
    }
    out
}

fn test_stmt(k: &TestStmtKind, width: usize) -> String {
    let rest = match k {
        TestStmtKind::Stock {
            sku,
            tags,
            attrs,
            entries,
        } => {
            let mut out = string(sku);
            if !tags.is_empty() {
                out.push_str(&format!(" tags {}", strings(tags)));
            }
            for (name, value) in attrs {
                out.push_str(&format!(" {} = {}", name.node, string(value)));
            }
            let entries = entries
                .iter()
                .map(|e| {
                    let mut s = format!("{} {}", e.location.node, amount(e.on_hand.node));
                    if let Some(r) = &e.reserved {
                        s.push_str(&format!(" reserved {}", amount(r.node)));
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join(", ");
            if !entries.is_empty() {
                out.push(' ');
                out.push_str(&entries);
            }
            out
        }
        TestStmtKind::Expect {
            seller_sku,
            marketplace,
            channel,
            quantity,
        } => {
            let mut out = format!("{} on {}", string(seller_sku), marketplace.node);
            if let Some(c) = channel {
                out.push_str(&format!(" at {}", c.node));
            }
            match quantity {
                Some(q) => out.push_str(&format!(" = {}", amount(q.node))),
                None => out.push_str(" unpublished"),
            }
            out
        }
    };
    padded(test_keyword(k), width, &rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_print_as_written() {
        assert_eq!(amount(Amount::Units(10)), "10");
        assert_eq!(amount(Amount::Percent(6000)), "60%");
        assert_eq!(amount(Amount::Percent(1250)), "12.5%");
        assert_eq!(amount(Amount::Percent(1205)), "12.05%");
    }

    #[test]
    fn strings_escape() {
        assert_eq!(string("a\"b\\c\nd\te"), r#""a\"b\\c\nd\te""#);
    }

    #[test]
    fn canonical_layout() {
        let src = "policy   \"p\"  # c\n\n\n\nlocation a supply_source \"x\"\nlocation bbb\nrule \"r\" {\n\n match any\n cap 3 # t\n  # before close\n\n}\n# end\n";
        let out = format(src).unwrap();
        assert_eq!(
            out,
            "policy \"p\"                              # c\n\nlocation a   supply_source \"x\"\nlocation bbb\n\nrule \"r\" {\n  match any\n  cap   3                               # t\n  # before close\n}\n# end\n"
        );
        assert_eq!(format(&out).unwrap(), out);
    }
}

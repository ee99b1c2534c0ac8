//! Seller SKU templates: `"{sku}-US"` → `SkuTemplate`, and the comparisons the Amazon rules need.

use crate::diag::{Diagnostic, did_you_mean};
use crate::model::{MAX_SELLER_SKU_LEN, SkuTemplate, TemplatePart};
use crate::span::Span;

use super::codes::BAD_TEMPLATE;

const PLACEHOLDERS: [&str; 2] = ["sku", "marketplace"];

/// Parse a template's text. `span` is the string literal's, where every error points.
pub fn parse(text: &str, span: Span) -> Result<SkuTemplate, Diagnostic> {
    let mut parts: Vec<TemplatePart> = Vec::new();
    let mut lit = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    if c == '{' {
                        break;
                    }
                    name.push(c);
                }
                if !closed {
                    return Err(Diagnostic::error(
                        BAD_TEMPLATE,
                        format!("the seller SKU template \"{text}\" has a `{{` that is never closed"),
                    )
                    .at(span, "unbalanced braces")
                    .help("placeholders are written `{sku}` and `{marketplace}`; braces are not allowed otherwise in a seller SKU template"));
                }
                let part = match name.as_str() {
                    "sku" => TemplatePart::Sku,
                    "marketplace" => TemplatePart::Marketplace,
                    _ if name.starts_with("column:") => {
                        let col = name["column:".len()..].trim();
                        if col.is_empty() {
                            return Err(Diagnostic::error(
                                BAD_TEMPLATE,
                                format!("the placeholder `{{{name}}}` in the seller SKU template \"{text}\" names no inventory column"),
                            )
                            .at(span, "no column name")
                            .help("write the inventory column whose value is the seller SKU, e.g. \"{column:amazon_sku}\""));
                        }
                        TemplatePart::Column(col.to_string())
                    }
                    _ => {
                        let help = match did_you_mean(&name, PLACEHOLDERS) {
                            Some(s) => format!("did you mean `{{{s}}}`? The placeholders are `{{sku}}` (the inventory SKU) and `{{marketplace}}` (the marketplace code)"),
                            // `{amazon_sku}`, `{sku_uk}`: an inventory column meant as the
                            // seller SKU (a Linnworks-style mapping).
                            None if looks_like_column(&name) => format!(
                                "to read the seller SKU from the inventory column `{name}`, write \"{{column:{name}}}\"; the other placeholders are `{{sku}}` (the inventory SKU) and `{{marketplace}}` (the marketplace code)"
                            ),
                            None => "the placeholders are `{sku}` (the inventory SKU) and `{marketplace}` (the marketplace code)".to_string(),
                        };
                        return Err(Diagnostic::error(
                            BAD_TEMPLATE,
                            format!("unknown placeholder `{{{name}}}` in the seller SKU template \"{text}\""),
                        )
                        .at(span, "unknown placeholder")
                        .help(help));
                    }
                };
                if !lit.is_empty() {
                    parts.push(TemplatePart::Lit(std::mem::take(&mut lit)));
                }
                parts.push(part);
            }
            '}' => {
                return Err(Diagnostic::error(
                    BAD_TEMPLATE,
                    format!("the seller SKU template \"{text}\" has a `}}` without a `{{`"),
                )
                .at(span, "unbalanced braces")
                .help("placeholders are written `{sku}` and `{marketplace}`; braces are not allowed otherwise in a seller SKU template"));
            }
            c if c.is_control() => {
                return Err(Diagnostic::error(
                    BAD_TEMPLATE,
                    format!("the seller SKU template contains the control character {c:?}"),
                )
                .at(span, "not allowed in a seller SKU")
                .help("remove the control character (tab, newline, …) from the template"));
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        parts.push(TemplatePart::Lit(lit));
    }
    // A column gives each SKU its own seller SKU as `{sku}` does (duplicates are refused when
    // simulated, where the values are known).
    if !parts
        .iter()
        .any(|p| matches!(p, TemplatePart::Sku | TemplatePart::Column(_)))
    {
        return Err(Diagnostic::error(
            BAD_TEMPLATE,
            format!("the seller SKU template \"{text}\" does not contain `{{sku}}`"),
        )
        .at(span, "every inventory SKU would map to this one seller SKU")
        .help(format!(
            "put `{{sku}}` where the inventory SKU goes, e.g. \"{}\"",
            if text.is_empty() {
                "{sku}-US".to_string()
            } else {
                format!("{text}-{{sku}}")
            }
        )));
    }
    Ok(SkuTemplate {
        parts,
        source: text.to_string(),
    })
}

/// A name that reads as an inventory column holding seller SKUs (`amazon_sku`, `sku_uk`,
/// `channel_sku`), as opposed to a mistyped placeholder.
fn looks_like_column(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower != "sku" && lower.contains("sku")
}

/// The shortest seller SKU this template can render for `marketplace` (an inventory SKU has at
/// least one character). An error if even that exceeds Amazon's limit.
pub fn check_length(t: &SkuTemplate, marketplace: &str, span: Span) -> Result<(), Diagnostic> {
    let min: usize = t
        .parts
        .iter()
        .map(|p| match p {
            TemplatePart::Lit(s) => s.chars().count(),
            TemplatePart::Sku | TemplatePart::Column(_) => 1,
            TemplatePart::Marketplace => marketplace.chars().count(),
        })
        .sum();
    if min > MAX_SELLER_SKU_LEN {
        return Err(Diagnostic::error(
            BAD_TEMPLATE,
            format!(
                "the seller SKU template \"{}\" renders at least {min} characters in {marketplace}; Amazon allows at most {MAX_SELLER_SKU_LEN}",
                t.source
            ),
        )
        .at(span, "too long for any inventory SKU")
        .help("shorten the fixed text around `{sku}` (a seller SKU is at most 40 characters)"));
    }
    Ok(())
}

/// A template rendered for one marketplace with the inventory SKU left symbolic: two targets of
/// one rule give the same seller SKU for every inventory SKU iff their keys are equal.
///
/// A column's value is symbolic too: equal keys (the same column, the same text around it) are
/// the same seller SKU, exactly. Different keys are taken as different seller SKUs although a
/// column's values are free text that may happen to equal another column's or another SKU's
/// `{sku}`: refusing every policy with two columns in one region would refuse the usual
/// `UK … "{column:sku_uk}", DE … "{column:sku_de}"`, and the values that do collide are refused
/// when simulated (two inventory SKUs on one seller SKU, or one offer given two quantities).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyPart {
    Lit(String),
    Sku,
    Column(String),
}

pub fn key(t: &SkuTemplate, marketplace: &str) -> Vec<KeyPart> {
    let mut out: Vec<KeyPart> = Vec::new();
    for p in &t.parts {
        let piece = match p {
            TemplatePart::Sku => {
                out.push(KeyPart::Sku);
                continue;
            }
            TemplatePart::Column(c) => {
                out.push(KeyPart::Column(c.clone()));
                continue;
            }
            TemplatePart::Lit(s) => s.as_str(),
            TemplatePart::Marketplace => marketplace,
        };
        if let Some(KeyPart::Lit(prev)) = out.last_mut() {
            prev.push_str(piece);
        } else if !piece.is_empty() {
            out.push(KeyPart::Lit(piece.to_string()));
        }
    }
    out
}

/// The template as written with a marketplace suffix, for "give each marketplace its own SKU".
/// A seller SKU read from an inventory column names existing listings: a suffix would make new
/// ones, so each marketplace gets its own column instead (`{column:amazon_sku_uk}`).
pub fn suggest_own(t: &SkuTemplate, marketplace: &str) -> String {
    if t.columns().next().is_none() {
        return format!("{}_{marketplace}", t.source);
    }
    let suffix = marketplace.to_ascii_lowercase();
    t.parts
        .iter()
        .map(|p| match p {
            TemplatePart::Lit(s) => s.clone(),
            TemplatePart::Sku => "{sku}".to_string(),
            TemplatePart::Marketplace => "{marketplace}".to_string(),
            TemplatePart::Column(c) => format!("{{column:{c}_{suffix}}}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp() -> Span {
        Span::new(0, 1)
    }

    #[test]
    fn parses_placeholders_and_literals() {
        let t = parse("{sku}-{marketplace}", sp()).unwrap();
        assert_eq!(
            t.parts,
            vec![
                TemplatePart::Sku,
                TemplatePart::Lit("-".into()),
                TemplatePart::Marketplace
            ]
        );
        assert_eq!(
            key(&t, "US"),
            vec![KeyPart::Sku, KeyPart::Lit("-US".into())]
        );
    }

    #[test]
    fn refuses_bad_templates() {
        for bad in ["{sku", "{sku}}", "{skus}-US", "FIXED", "", "{sku}\t"] {
            let e = parse(bad, sp()).unwrap_err();
            assert_eq!(e.code, BAD_TEMPLATE, "{bad}");
        }
        let e = parse("{skuu}", sp()).unwrap_err();
        assert!(e.help.unwrap().contains("did you mean `{sku}`"));
    }

    #[test]
    fn a_column_placeholder_is_a_seller_sku_of_its_own() {
        let t = parse("{column:sku_uk}", sp()).unwrap();
        assert_eq!(t.parts, vec![TemplatePart::Column("sku_uk".into())]);
        assert_eq!(key(&t, "UK"), vec![KeyPart::Column("sku_uk".into())]);
        let t = parse("{column: base }-{marketplace}", sp()).unwrap();
        assert_eq!(
            key(&t, "UK"),
            vec![KeyPart::Column("base".into()), KeyPart::Lit("-UK".into())]
        );
        // Two columns, or a column and `{sku}`, are different keys: not taken as one SKU.
        let uk = key(&parse("{column:sku_uk}", sp()).unwrap(), "UK");
        assert_ne!(uk, key(&parse("{column:sku_de}", sp()).unwrap(), "UK"));
        assert_ne!(uk, key(&parse("{sku}", sp()).unwrap(), "UK"));
        assert_eq!(parse("{column:}", sp()).unwrap_err().code, BAD_TEMPLATE);
        // Counted as at least one character, like `{sku}`.
        let t = parse(&format!("{}{{column:x}}", "X".repeat(39)), sp()).unwrap();
        assert!(check_length(&t, "UK", sp()).is_ok());
        let t = parse(&format!("{}{{column:x}}", "X".repeat(40)), sp()).unwrap();
        assert!(check_length(&t, "UK", sp()).is_err());
    }

    #[test]
    fn a_column_template_of_its_own_is_a_column_per_marketplace() {
        let t = parse("{column:amazon_sku}-X", sp()).unwrap();
        assert_eq!(suggest_own(&t, "UK"), "{column:amazon_sku_uk}-X");
        let t = parse("{sku}-{marketplace}", sp()).unwrap();
        assert_eq!(suggest_own(&t, "UK"), "{sku}-{marketplace}_UK");
    }

    #[test]
    fn an_unknown_sku_like_placeholder_points_to_the_column_form() {
        let e = parse("{amazon_sku}", sp()).unwrap_err();
        let help = e.help.unwrap();
        assert!(
            help.contains("inventory column `amazon_sku`")
                && help.contains("write \"{column:amazon_sku}\""),
            "{help}"
        );
        // A typo of a placeholder is still said as one.
        let e = parse("{skuu}", sp()).unwrap_err();
        assert!(e.help.unwrap().contains("did you mean `{sku}`"));
    }

    #[test]
    fn length_counts_fixed_text() {
        let t = parse(&format!("{}{{sku}}", "X".repeat(39)), sp()).unwrap();
        assert!(check_length(&t, "US", sp()).is_ok());
        let t = parse(&format!("{}{{sku}}{{marketplace}}", "X".repeat(38)), sp()).unwrap();
        assert!(check_length(&t, "US", sp()).is_err());
    }
}

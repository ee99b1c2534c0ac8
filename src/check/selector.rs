//! Selectors: lowering and the "does an earlier rule match everything this one does" test
//! behind `allot::shadowed-rule`. The test is conservative: it only says "covers" when that is
//! certain, so a warning is never wrong (it may miss exotic cases).

use crate::model::Selector;

/// Glob match: `*` any run (also empty), `?` exactly one character, everything else literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn is_literal(p: &str) -> bool {
    !p.contains(['*', '?'])
}

/// Every SKU `b` matches is matched by `a`.
fn glob_covers(a: &str, b: &str) -> bool {
    if a == b || is_literal(b) && glob_match(a, b) {
        return true;
    }
    // `PREFIX*` covers any pattern starting with PREFIX (all it matches starts with PREFIX).
    match a.strip_suffix('*') {
        Some(prefix) if is_literal(prefix) => b.starts_with(prefix),
        _ => false,
    }
}

/// True if every inventory SKU that `b` selects is also selected by `a`.
pub fn covers(a: &Selector, b: &Selector) -> bool {
    // Equal selectors cover each other: each arm below says so for its own kind, and the last
    // arm for the rest. Not tested up front: `allot check` compares every pair of rules, and
    // comparing two SKU lists whole before the arm compares them again cost a tenth of a
    // 10,000-rule check.
    match (a, b) {
        (Selector::Any, _) => true,
        (Selector::All(parts), _) => parts.iter().all(|p| covers(p, b)),
        (_, Selector::All(parts)) => parts.iter().any(|p| covers(a, p)),
        (Selector::Sku(ga), Selector::Sku(gb)) => {
            gb.iter().all(|b| ga.iter().any(|a| glob_covers(a, b)))
        }
        (Selector::Tag(ta), Selector::Tag(tb)) => tb.iter().all(|t| ta.contains(t)),
        (
            Selector::Attr {
                name: na,
                values: va,
            },
            Selector::Attr {
                name: nb,
                values: vb,
            },
        ) => na == nb && vb.iter().all(|v| va.contains(v)),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory_skus(v: &[&str]) -> Selector {
        Selector::Sku(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn globs_match() {
        assert!(glob_match("YOGA-*", "YOGA-1"));
        assert!(glob_match("YOGA-*", "YOGA-"));
        assert!(!glob_match("YOGA-*", "YOG"));
        assert!(glob_match("A?C", "ABC"));
        assert!(glob_match("*-US", "X-1-US"));
        assert!(!glob_match("CLR-1", "CLR-10"));
    }

    /// Every selector covers itself, whatever its kind (equality is the last arm's test).
    #[test]
    fn a_selector_covers_itself() {
        let tag = Selector::Tag(vec!["candles".into()]);
        let attr = Selector::Attr {
            name: "brand".into(),
            values: vec!["acme".into()],
        };
        let not = Selector::Not(Box::new(inventory_skus(&["X-*"])));
        for s in [
            Selector::Any,
            inventory_skus(&["A", "B-*"]),
            tag.clone(),
            attr.clone(),
            not.clone(),
            Selector::All(vec![]),
            Selector::All(vec![tag, not.clone(), attr]),
            Selector::Not(Box::new(not)),
        ] {
            assert!(covers(&s, &s), "{s:?}");
        }
    }

    #[test]
    fn coverage() {
        assert!(covers(&Selector::Any, &inventory_skus(&["A"])));
        assert!(covers(
            &inventory_skus(&["CLR-*"]),
            &inventory_skus(&["CLR-1", "CLR-2"])
        ));
        assert!(!covers(
            &inventory_skus(&["CLR-*"]),
            &inventory_skus(&["CLR-1", "MUG-2"])
        ));
        assert!(covers(
            &inventory_skus(&["YOGA-*"]),
            &inventory_skus(&["YOGA-X*"])
        ));
        assert!(!covers(&inventory_skus(&["YOGA-*"]), &Selector::Any));
        assert!(!covers(
            &inventory_skus(&["*-US"]),
            &inventory_skus(&["A-*"])
        ));
        let tag = Selector::Tag(vec!["candles".into()]);
        assert!(covers(
            &tag,
            &Selector::All(vec![tag.clone(), inventory_skus(&["X"])])
        ));
        assert!(!covers(
            &Selector::All(vec![tag.clone(), inventory_skus(&["X"])]),
            &tag
        ));
    }
}

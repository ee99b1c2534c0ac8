//! The built-in Amazon marketplace table (source: ../shared/notes/spapi.md sec. 4 and 5).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Region {
    NA,
    EU,
    FE,
}

impl Region {
    pub fn as_str(self) -> &'static str {
        match self {
            Region::NA => "NA",
            Region::EU => "EU",
            Region::FE => "FE",
        }
    }

    pub fn parse(s: &str) -> Option<Region> {
        match s {
            "NA" => Some(Region::NA),
            "EU" => Some(Region::EU),
            "FE" => Some(Region::FE),
            _ => None,
        }
    }

    /// The production SP-API host of the region.
    pub fn endpoint(self) -> &'static str {
        match self {
            Region::NA => "https://sellingpartnerapi-na.amazon.com",
            Region::EU => "https://sellingpartnerapi-eu.amazon.com",
            Region::FE => "https://sellingpartnerapi-fe.amazon.com",
        }
    }

    /// The AWS region the endpoint lives in (informational; SigV4 is no longer required).
    pub fn aws_region(self) -> &'static str {
        match self {
            Region::NA => "us-east-1",
            Region::EU => "eu-west-1",
            Region::FE => "us-west-2",
        }
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One marketplace: the code used in policies, Amazon's marketplace ID, country and region.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Marketplace {
    pub code: String,
    pub id: String,
    pub country: String,
    pub region: Region,
    /// False for a custom code declared in a policy.
    pub builtin: bool,
}

impl Marketplace {
    pub fn endpoint(&self) -> &'static str {
        self.region.endpoint()
    }
}

/// (code, marketplace ID, country, region). `UK` is the code Amazon's current page uses; `GB`
/// (used by the 2022 guide and python-amazon-sp-api) is an alias (`ALIASES`).
const TABLE: &[(&str, &str, &str, Region)] = &[
    ("US", "ATVPDKIKX0DER", "United States", Region::NA),
    ("CA", "A2EUQ1WTGCTBG2", "Canada", Region::NA),
    ("MX", "A1AM78C64UM0Y8", "Mexico", Region::NA),
    ("BR", "A2Q3Y263D00KWC", "Brazil", Region::NA),
    ("IE", "A28R8C7NBKEWEA", "Ireland", Region::EU),
    ("ES", "A1RKKUPIHCS9HS", "Spain", Region::EU),
    ("UK", "A1F83G8C2ARO7P", "United Kingdom", Region::EU),
    ("FR", "A13V1IB3VIYZZH", "France", Region::EU),
    ("BE", "AMEN7PMS3EDWL", "Belgium", Region::EU),
    ("NL", "A1805IZSGTT6HS", "Netherlands", Region::EU),
    ("DE", "A1PA6795UKMFR9", "Germany", Region::EU),
    ("IT", "APJ6JRA9NG5V4", "Italy", Region::EU),
    ("SE", "A2NODRKZP88ZB9", "Sweden", Region::EU),
    ("ZA", "AE08WJ6YKNBMC", "South Africa", Region::EU),
    ("PL", "A1C3SOZRARQ6R3", "Poland", Region::EU),
    ("EG", "ARBP9OOSHTCHU", "Egypt", Region::EU),
    ("TR", "A33AVAJ2PDY3EV", "Turkey", Region::EU),
    ("SA", "A17E79C6D8DWNP", "Saudi Arabia", Region::EU),
    ("AE", "A2VIGQ35RCS4UG", "United Arab Emirates", Region::EU),
    ("IN", "A21TJRUUN4KGV", "India", Region::EU),
    ("SG", "A19VAU5U5O7RUS", "Singapore", Region::FE),
    ("AU", "A39IBJ37TRP1C6", "Australia", Region::FE),
    ("JP", "A1VC38T7YXB528", "Japan", Region::FE),
];

/// Every built-in marketplace, in the table's order (by region as Amazon lists them).
pub fn builtin() -> Vec<Marketplace> {
    TABLE.iter().map(entry).collect()
}

fn entry(&(code, id, country, region): &(&str, &str, &str, Region)) -> Marketplace {
    Marketplace {
        code: code.to_string(),
        id: id.to_string(),
        country: country.to_string(),
        region,
        builtin: true,
    }
}

/// Codes people write for a built-in marketplace that Amazon spells otherwise: (alias, code).
/// `GB` is the ISO country code of the United Kingdom, whose Amazon code is `UK`.
const ALIASES: &[(&str, &str)] = &[("GB", "UK")];

/// A built-in marketplace by its code exactly as the table spells it (case-sensitive; `GB` is
/// not found here: see `alias_of` and `lookup_written`).
pub fn lookup(code: &str) -> Option<Marketplace> {
    // The table, not `builtin()`: a plan's million operations each look one up.
    TABLE.iter().find(|t| t.0 == code).map(entry)
}

/// The built-in code an alias stands for: `GB` → `UK`.
pub fn alias_of(code: &str) -> Option<&'static str> {
    ALIASES.iter().find(|(a, _)| *a == code).map(|(_, c)| *c)
}

/// A marketplace as a policy writes it: a built-in code, or an alias that keeps the code as
/// written (`GB` is Amazon's UK marketplace, same ID and region, but `{marketplace}` renders
/// `GB`, so seller SKUs ending in `-GB` stay as the seller has them).
pub fn lookup_written(code: &str) -> Option<Marketplace> {
    if let Some(m) = lookup(code) {
        return Some(m);
    }
    let mut m = lookup(alias_of(code)?)?;
    m.code = code.to_string();
    Some(m)
}

/// A marketplace named in a data file (a listings report's marketplace column): a built-in
/// code, an alias (as Amazon's code: `GB` → `UK`) or a marketplace ID. Data names a
/// marketplace, it renders no seller SKU, so the alias may become Amazon's code.
pub fn lookup_data(code_or_id: &str) -> Option<Marketplace> {
    lookup(code_or_id)
        .or_else(|| alias_of(code_or_id).and_then(lookup))
        .or_else(|| by_id(code_or_id))
}

/// Amazon's code for a marketplace code: the alias resolved (`GB` → `UK`), any other code as
/// it is. For comparing which marketplace two codes name, never for rendering a seller SKU.
pub fn canonical(code: &str) -> &str {
    alias_of(code).unwrap_or(code)
}

/// Why a code that is no marketplace was probably written, for the help of
/// `allot::unknown-marketplace`: a country Amazon serves from another marketplace, a region,
/// or a lower-case code.
pub fn unknown_hint(code: &str) -> Option<String> {
    // Countries without a marketplace of their own whose buyers shop on another one.
    const SERVED: &[(&str, &str, &str, &str, &str)] = &[
        ("AT", "Austria", "Austrian", "amazon.de", "DE"),
        ("CH", "Switzerland", "Swiss", "amazon.de", "DE"),
        ("LU", "Luxembourg", "Luxembourg", "amazon.de", "DE"),
    ];
    if let Some((_, country, buyers, host, to)) = SERVED.iter().find(|s| s.0 == code) {
        return Some(format!(
            "{country} has no Amazon marketplace of its own: {buyers} buyers shop on {host}; publish to {to}"
        ));
    }
    if let Some(region) = Region::parse(code) {
        let codes: Vec<String> = builtin()
            .into_iter()
            .filter(|m| m.region == region)
            .map(|m| m.code)
            .collect();
        return Some(format!(
            "`{code}` is a region, not a marketplace: its marketplaces are {}; write the ones you sell in",
            codes.join(", ")
        ));
    }
    let upper = code.to_uppercase();
    if upper != code && lookup_written(&upper).is_some() {
        return Some(format!(
            "marketplace codes are upper case: did you mean `{upper}`?"
        ));
    }
    None
}

/// A built-in marketplace by Amazon marketplace ID.
pub fn by_id(id: &str) -> Option<Marketplace> {
    TABLE.iter().find(|t| t.1 == id).map(entry)
}

/// All built-in codes, for "did you mean".
pub fn codes() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|t| t.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete_and_unique() {
        let all = builtin();
        assert_eq!(all.len(), 23);
        let mut ids: Vec<_> = all.iter().map(|m| &m.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 23, "marketplace IDs must be unique");
        assert_eq!(lookup("US").unwrap().id, "ATVPDKIKX0DER");
        assert!(lookup("GB").is_none());
        let gb = lookup_written("GB").unwrap();
        assert_eq!((gb.code.as_str(), gb.id.as_str()), ("GB", "A1F83G8C2ARO7P"));
        assert_eq!(lookup_data("GB").unwrap().code, "UK");
        assert_eq!(lookup_data("A1F83G8C2ARO7P").unwrap().code, "UK");
        assert_eq!(canonical("GB"), "UK");
        assert_eq!(canonical("DE"), "DE");
        assert_eq!(by_id("A1PA6795UKMFR9").unwrap().code, "DE");
        assert_eq!(lookup("JP").unwrap().region, Region::FE);
        assert!(lookup("us").is_none());
    }

    #[test]
    fn hints_for_codes_that_are_no_marketplace() {
        let at = unknown_hint("AT").unwrap();
        assert!(
            at.contains("Austrian buyers shop on amazon.de; publish to DE"),
            "{at}"
        );
        assert!(unknown_hint("CH").unwrap().contains("publish to DE"));
        assert!(unknown_hint("LU").unwrap().contains("publish to DE"));
        let eu = unknown_hint("EU").unwrap();
        assert!(
            eu.starts_with(
                "`EU` is a region, not a marketplace: its marketplaces are IE, ES, UK, FR"
            ),
            "{eu}"
        );
        assert!(unknown_hint("FE").unwrap().contains("SG, AU, JP"));
        assert_eq!(
            unknown_hint("us").as_deref(),
            Some("marketplace codes are upper case: did you mean `US`?")
        );
        assert!(unknown_hint("gb").unwrap().contains("`GB`"));
        assert!(unknown_hint("CAN").is_none());
    }
}

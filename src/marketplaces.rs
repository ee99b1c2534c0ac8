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
/// (used by the 2022 guide and python-amazon-sp-api) is accepted as an alias by `lookup`.
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
    TABLE
        .iter()
        .map(|&(code, id, country, region)| Marketplace {
            code: code.to_string(),
            id: id.to_string(),
            country: country.to_string(),
            region,
            builtin: true,
        })
        .collect()
}

/// A built-in marketplace by code (case-sensitive, as written in policies; `GB` means `UK`).
pub fn lookup(code: &str) -> Option<Marketplace> {
    let code = if code == "GB" { "UK" } else { code };
    builtin().into_iter().find(|m| m.code == code)
}

/// A built-in marketplace by Amazon marketplace ID.
pub fn by_id(id: &str) -> Option<Marketplace> {
    builtin().into_iter().find(|m| m.id == id)
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
        assert_eq!(lookup("GB").unwrap().code, "UK");
        assert_eq!(by_id("A1PA6795UKMFR9").unwrap().code, "DE");
        assert_eq!(lookup("JP").unwrap().region, Region::FE);
        assert!(lookup("us").is_none());
    }
}

//! Where the LWA credentials come from: the environment variables python-amazon-sp-api users
//! already have (`LWA_APP_ID`, `LWA_CLIENT_SECRET`, `SP_API_REFRESH_TOKEN`, optionally suffixed
//! `_<ACCOUNT>`), or a JSON/YAML file readable by its owner only.

use std::path::Path;

use super::secret::Secret;

/// The three values of a refresh-token grant. All three are kept as [`Secret`]s (the app ID is
/// not strictly secret, but nothing is gained by printing it).
#[derive(Clone, Debug)]
pub struct Credentials {
    pub client_id: Secret,
    pub client_secret: Secret,
    pub refresh_token: Secret,
}

impl Credentials {
    pub fn secrets(&self) -> [&Secret; 3] {
        [&self.client_id, &self.client_secret, &self.refresh_token]
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    #[error(
        "missing credentials: {} not set in the environment",
        .missing.join(", ")
    )]
    MissingEnv {
        missing: Vec<String>,
        account: Option<String>,
    },
    #[error("cannot read credentials file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error(
        "credentials file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    Permissions { path: String, mode: u32 },
    #[error("credentials file {path} is not valid {format}{position}")]
    Parse {
        path: String,
        format: &'static str,
        /// ` at line L column C` when known. Never the parser's own text, which may quote a value.
        position: String,
    },
    #[error("credentials file {path} lacks {}", .missing.join(", "))]
    MissingFields { path: String, missing: Vec<String> },
    #[error("credentials file {path} has no account `{account}` (it has: {})", .available.join(", "))]
    NoAccount {
        path: String,
        account: String,
        available: Vec<String>,
    },
}

impl CredentialsError {
    pub fn help(&self) -> String {
        match self {
            CredentialsError::MissingEnv { account, .. } => {
                let suffix = account
                    .as_deref()
                    .map(|a| format!("_{a}"))
                    .unwrap_or_default();
                format!(
                    "export LWA_APP_ID{suffix}, LWA_CLIENT_SECRET{suffix} and SP_API_REFRESH_TOKEN{suffix}, \
                     or pass --credentials FILE (JSON or YAML with lwa_app_id, lwa_client_secret, refresh_token)"
                )
            }
            CredentialsError::Permissions { path, .. } => format!("chmod 600 {path}"),
            CredentialsError::NoAccount { .. } => {
                "pass one of the listed names with --account, or put the three fields at the top level"
                    .to_string()
            }
            _ => "the file holds lwa_app_id, lwa_client_secret and refresh_token (JSON or YAML)"
                .to_string(),
        }
    }
}

const ENV_NAMES: [&str; 3] = ["LWA_APP_ID", "LWA_CLIENT_SECRET", "SP_API_REFRESH_TOKEN"];

/// Read the three variables (suffixed `_<account>` when an account is named) through `get`, so
/// tests need not touch the process environment. An empty value counts as missing.
pub fn from_env(
    account: Option<&str>,
    get: impl Fn(&str) -> Option<String>,
) -> Result<Credentials, CredentialsError> {
    let name = |base: &str| match account {
        Some(a) => format!("{base}_{a}"),
        None => base.to_string(),
    };
    let lookup = |base: &str| {
        let n = name(base);
        // python-amazon-sp-api users write the account as given; also accept it upper-cased.
        get(&n)
            .or_else(|| get(&n.to_uppercase()))
            .filter(|v| !v.is_empty())
    };
    let values: Vec<Option<String>> = ENV_NAMES.iter().map(|b| lookup(b)).collect();
    let missing: Vec<String> = ENV_NAMES
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(b, _)| name(b))
        .collect();
    match <[Option<String>; 3]>::try_from(values) {
        Ok([Some(id), Some(secret), Some(token)]) => Ok(Credentials {
            client_id: Secret::new(id),
            client_secret: Secret::new(secret),
            refresh_token: Secret::new(token),
        }),
        _ => Err(CredentialsError::MissingEnv {
            missing,
            account: account.map(str::to_string),
        }),
    }
}

/// Read credentials from a JSON or YAML file. The file must not be readable by group or others.
/// Either the three fields sit at the top level, or the file maps account names to them (as
/// python-amazon-sp-api's `credentials.yml` does): then `account` (or `default`) picks one.
pub fn from_file(path: &Path, account: Option<&str>) -> Result<Credentials, CredentialsError> {
    let shown = path.display().to_string();
    check_permissions(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| CredentialsError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{');
    let value: serde_json::Value = if is_json {
        serde_json::from_str(&text).map_err(|e| CredentialsError::Parse {
            path: shown.clone(),
            format: "JSON",
            position: format!(" at line {} column {}", e.line(), e.column()),
        })?
    } else {
        serde_saphyr::from_str(&text).map_err(|_| CredentialsError::Parse {
            path: shown.clone(),
            format: "YAML",
            position: String::new(),
        })?
    };
    let obj = value.as_object().ok_or_else(|| CredentialsError::Parse {
        path: shown.clone(),
        format: if is_json { "JSON" } else { "YAML" },
        position: " (expected a mapping of field names to values)".into(),
    })?;
    let has_fields = obj.keys().any(|k| {
        [
            "lwa_app_id",
            "LWA_APP_ID",
            "client_id",
            "lwa_client_secret",
            "LWA_CLIENT_SECRET",
            "client_secret",
            "refresh_token",
            "SP_API_REFRESH_TOKEN",
            "sp_api_refresh_token",
        ]
        .contains(&k.as_str())
    });
    let section = if has_fields && account.is_none() {
        value.clone()
    } else {
        let wanted = account.unwrap_or("default");
        match obj.get(wanted) {
            Some(v) => v.clone(),
            None if has_fields => value.clone(),
            None => {
                return Err(CredentialsError::NoAccount {
                    path: shown,
                    account: wanted.to_string(),
                    available: obj.keys().cloned().collect(),
                });
            }
        }
    };
    // Deserialize field by field so a wrong type never echoes the value in an error.
    let get = |names: &[&str]| -> Option<String> {
        names
            .iter()
            .find_map(|n| section.get(n))
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let id = get(&["lwa_app_id", "LWA_APP_ID", "client_id"]);
    let secret = get(&["lwa_client_secret", "LWA_CLIENT_SECRET", "client_secret"]);
    let token = get(&[
        "refresh_token",
        "SP_API_REFRESH_TOKEN",
        "sp_api_refresh_token",
    ]);
    let mut missing = Vec::new();
    if id.is_none() {
        missing.push("lwa_app_id".to_string());
    }
    if secret.is_none() {
        missing.push("lwa_client_secret".to_string());
    }
    if token.is_none() {
        missing.push("refresh_token".to_string());
    }
    match (id, secret, token) {
        (Some(id), Some(secret), Some(token)) => Ok(Credentials {
            client_id: Secret::new(id),
            client_secret: Secret::new(secret),
            refresh_token: Secret::new(token),
        }),
        _ => Err(CredentialsError::MissingFields {
            path: shown,
            missing,
        }),
    }
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), CredentialsError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| CredentialsError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CredentialsError::Permissions {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<(), CredentialsError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn env_plain_and_suffixed() {
        let e = env(&[
            ("LWA_APP_ID", "amzn1.app"),
            ("LWA_CLIENT_SECRET", "cs-123456789"),
            ("SP_API_REFRESH_TOKEN", "Atzr|abcdefgh"),
            ("LWA_APP_ID_EU", "amzn1.eu"),
            ("LWA_CLIENT_SECRET_EU", "cs-eu-123456789"),
            ("SP_API_REFRESH_TOKEN_EU", "Atzr|eu-abcdefgh"),
        ]);
        let c = from_env(None, &e).unwrap();
        assert_eq!(c.client_id.expose(), "amzn1.app");
        let c = from_env(Some("EU"), &e).unwrap();
        assert_eq!(c.refresh_token.expose(), "Atzr|eu-abcdefgh");
        let c = from_env(Some("eu"), &e).unwrap();
        assert_eq!(c.client_secret.expose(), "cs-eu-123456789");
    }

    #[test]
    fn env_missing_names_every_variable_and_no_value() {
        let e = env(&[("LWA_APP_ID_X", "id"), ("LWA_CLIENT_SECRET_X", "")]);
        let err = from_env(Some("X"), &e).unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing credentials: LWA_CLIENT_SECRET_X, SP_API_REFRESH_TOKEN_X not set in the environment"
        );
        assert!(err.help().contains("SP_API_REFRESH_TOKEN_X"));
    }

    #[cfg(unix)]
    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[cfg(unix)]
    #[test]
    fn file_json_yaml_accounts_and_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let j = write(
            dir.path(),
            "c.json",
            r#"{"lwa_app_id":"amzn1.app","lwa_client_secret":"s3cr3t-value","refresh_token":"Atzr|tok-value"}"#,
            0o600,
        );
        assert_eq!(
            from_file(&j, None).unwrap().client_secret.expose(),
            "s3cr3t-value"
        );
        let y = write(
            dir.path(),
            "c.yml",
            "default:\n  lwa_app_id: a\n  lwa_client_secret: b-secret-value\n  refresh_token: c-token-value\nshop2:\n  lwa_app_id: a2\n  lwa_client_secret: b2-secret\n  refresh_token: c2-token\n",
            0o400,
        );
        assert_eq!(
            from_file(&y, None).unwrap().refresh_token.expose(),
            "c-token-value"
        );
        assert_eq!(
            from_file(&y, Some("shop2")).unwrap().client_id.expose(),
            "a2"
        );
        assert!(matches!(
            from_file(&y, Some("nope")),
            Err(CredentialsError::NoAccount { .. })
        ));
        let open = write(dir.path(), "open.json", "{}", 0o644);
        let err = from_file(&open, None).unwrap_err();
        assert!(matches!(
            err,
            CredentialsError::Permissions { mode: 0o644, .. }
        ));
        assert!(err.to_string().contains("chmod 600"));
    }

    #[cfg(unix)]
    #[test]
    fn file_errors_never_quote_values() {
        let dir = tempfile::tempdir().unwrap();
        let bad = write(
            dir.path(),
            "bad.json",
            r#"{"lwa_app_id":"x","lwa_client_secret":"hunter2-secret" "refresh_token":1}"#,
            0o600,
        );
        let err = from_file(&bad, None).unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        let wrong_type = write(
            dir.path(),
            "t.json",
            r#"{"lwa_app_id":"x","lwa_client_secret":"hunter2-secret","refresh_token":12345678}"#,
            0o600,
        );
        let err = from_file(&wrong_type, None).unwrap_err();
        assert!(matches!(err, CredentialsError::MissingFields { .. }));
        assert!(!err.to_string().contains("hunter2"));
    }
}

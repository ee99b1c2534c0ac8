//! `allot plan --current live` at scale and `allot sources`, end to end: the real binary against
//! the local sandbox on 127.0.0.1 (Reports API, Supply Sources API, Listings Items API).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use allot::sandbox::{
    self, LogEntry, SandboxConfig, SandboxHandle, SeedChannel, SeedListing, SeedRequest,
};
use jsonschema::Draft;
use serde_json::{Value, json};

const SELLER: &str = "A1PP0FEH11RW77";
const US: &str = "ATVPDKIKX0DER";
const CA: &str = "A2EUQ1WTGCTBG2";
const APP_ID: &str = "amzn1.application-oa2-client.test-app-id-0042";
const CLIENT_SECRET: &str = "lwa-client-secret-0123456789-must-not-leak";
const REFRESH_TOKEN: &str = "Atzr|refresh-token-0123456789-must-not-leak";
const NEWARK: &str = "353e4e48-6301-4d50-990e-43a86e8787a3";
const AUSTIN: &str = "8e07a0c9-ab0a-4108-9f16-83dc3496bee0";
/// Amazon's rates times this (the sandbox and the client alike): report processing and polls
/// take milliseconds.
const SCALE: &str = "500";

struct Sandbox {
    rt: tokio::runtime::Runtime,
    handle: SandboxHandle,
    base: String,
}

impl Sandbox {
    fn start() -> Sandbox {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = rt
            .block_on(sandbox::start_with(
                SandboxConfig {
                    rate_scale: SCALE.parse().unwrap(),
                    ..SandboxConfig::default()
                },
                sandbox::SandboxOptions::default(),
            ))
            .unwrap();
        let base = handle.base_url();
        Sandbox { rt, handle, base }
    }

    fn requests(&self) -> Vec<LogEntry> {
        self.handle.requests()
    }

    fn count(&self, op: &str) -> usize {
        self.requests().iter().filter(|e| e.operation == op).count()
    }

    /// An SP-API call as a client would make it (token from the sandbox's LWA).
    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.rt.block_on(async {
            let c = reqwest::Client::new();
            let tok: Value = c
                .post(self.handle.lwa_url())
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", REFRESH_TOKEN),
                    ("client_id", APP_ID),
                    ("client_secret", CLIENT_SECRET),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mut req = c
                .request(method, format!("{}{path}", self.base))
                .header("x-amz-access-token", tok["access_token"].as_str().unwrap());
            if let Some(b) = body {
                req = req.json(&b);
            }
            // The supply-source bucket is 1 a second (times SCALE): retry a throttled call.
            let what = format!("{path} not throttled");
            common::wait_for_async(&what, Duration::from_secs(10), async || {
                let r = req.try_clone().unwrap().send().await.unwrap();
                let status = r.status().as_u16();
                if status == 429 {
                    return None;
                }
                Some((status, r.json::<Value>().await.unwrap_or(Value::Null)))
            })
            .await
        })
    }

    /// createSupplySource, returning its ID.
    fn create_source(&self, code: &str, alias: &str) -> String {
        let (status, v) = self.call(
            reqwest::Method::POST,
            "/supplySources/2020-07-01/supplySources",
            Some(
                json!({"supplySourceCode": code, "alias": alias, "address": {
                "name": alias, "addressLine1": "1 Main St", "city": alias,
                "stateOrRegion": "NJ", "postalCode": "07102", "countryCode": "US"}}),
            ),
        );
        assert!((200..300).contains(&status), "{status} {v}");
        v["supplySourceId"].as_str().unwrap().to_string()
    }

    /// The acme-na policy's two supply sources, known to the sandbox by code.
    fn seed_acme_sources(&self) {
        self.create_source(NEWARK, "Newark");
        self.create_source(AUSTIN, "Austin");
    }
}

fn allot(sb: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("allot"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("LWA_APP_ID", APP_ID)
        .env("LWA_CLIENT_SECRET", CLIENT_SECRET)
        .env("SP_API_REFRESH_TOKEN", REFRESH_TOKEN)
        .args(args)
        .args(["--rate-scale", SCALE, "--endpoint", &sb.base])
        .args(["--lwa-endpoint", &sb.handle.lwa_url()]);
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    );
    for s in [CLIENT_SECRET, REFRESH_TOKEN, "Atza|"] {
        assert!(!out.contains(s) && !err.contains(s), "secret `{s}` leaked");
    }
    (status.code().unwrap_or(-1), out, err)
}

/// A rendered error on one line: miette wraps long messages and draws a margin.
fn flat(text: &str) -> String {
    text.replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The preview JSON's summary count, 0 when absent.
fn count(v: &Value, name: &str) -> u64 {
    v["summary"][name].as_u64().unwrap_or(0)
}

/// 100,000 listings read by report: every merchant quantity, every FBA row, and the preview's
/// note of where they came from; a second run reuses the report instead of requesting another.
#[test]
fn plan_current_live_reads_100k_listings_by_report() {
    const N: usize = 100_000;
    let sb = Sandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.allot");
    std::fs::write(
        &policy,
        format!(
            "policy \"big\"\nseller \"{SELLER}\"\nmarketplaces US\nlocation wh\nrule \"all\" {{\n  match any\n  cap 50\n  publish US\n}}\n"
        ),
    )
    .unwrap();
    // Inventory: SKU i has i % 70 units, so it publishes min(i % 70, 50).
    let inv = dir.path().join("inv.csv");
    let mut text = String::from("sku,location,on_hand,reserved\n");
    for i in 0..N {
        text.push_str(&format!("S-{i:06},wh,{},0\n", i % 70));
    }
    std::fs::write(&inv, text).unwrap();
    // Amazon: every 100th SKU is FBA; the others show i % 60 (equal to the policy's below 50).
    let listings = (0..N)
        .map(|i| SeedListing {
            sku: format!("S-{i:06}"),
            marketplace_ids: vec![US.into()],
            fulfillment_availability: vec![SeedChannel {
                fulfillment_channel_code: if i % 100 == 7 { "AMAZON_NA" } else { "DEFAULT" }.into(),
                quantity: (i % 60) as u64,
            }],
            ..SeedListing::default()
        })
        .collect();
    sb.handle
        .seed(&SeedRequest {
            seller_id: SELLER.into(),
            listings,
        })
        .unwrap();
    let mut unchanged = 0usize;
    let mut fba = 0usize;
    for i in 0..N {
        if i % 100 == 7 {
            fba += 1;
        } else if (i % 70).min(50) == i % 60 {
            unchanged += 1;
        }
    }
    let run = || {
        let t = Instant::now();
        let r = allot(
            &sb,
            &[
                "plan",
                path(&policy),
                "--inventory",
                path(&inv),
                "--current",
                "live",
                "--format",
                "json",
            ],
        );
        (r, t.elapsed())
    };
    let ((code, out, err), took) = run();
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("one All Listings report per marketplace"),
        "{err}"
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(count(&v, "offers_fulfilled_by_amazon"), fba as u64);
    assert_eq!(count(&v, "offers_unchanged"), unchanged as u64);
    assert_eq!(
        count(&v, "offers_changed") + count(&v, "offers_zeroed"),
        (N - fba - unchanged) as u64
    );
    assert_eq!(count(&v, "offers_new"), 0);
    assert_eq!(count(&v, "offers_not_listed"), 0);
    let source = v["current_source"].as_str().unwrap();
    assert!(
        source.contains("All Listings reports: US report"),
        "{source}"
    );
    assert!(!source.contains("requested earlier"), "{source}");
    // One report, no item reads (no location channels), one document.
    assert_eq!(sb.count("createReport"), 1);
    assert_eq!(sb.count("getReportDocument"), 1);
    assert_eq!(sb.count("getListingsItem"), 0);
    eprintln!(
        "{N} listings read by report and planned in {:.1} s (debug build); getListingsItem at \
         Amazon's 5 a second would take {:.1} hours for the reads alone",
        took.as_secs_f64(),
        N as f64 / 5.0 / 3600.0
    );
    // A second run a moment later reads the same report again.
    let ((code, out, err), _) = run();
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["current_source"]
            .as_str()
            .unwrap()
            .contains("requested earlier")
    );
    assert_eq!(sb.count("createReport"), 1);
    assert_eq!(count(&v, "offers_unchanged"), unchanged as u64);
}

/// The shipped policy with `--live-read report`: the report gives DEFAULT and FBA, and the
/// seller SKUs of `by location` offers are still read one by one (the report has no location
/// quantities).
#[test]
fn location_offers_are_read_item_by_item_beside_the_report() {
    let sb = Sandbox::start();
    sb.seed_acme_sources();
    let ch = |code: &str, q: u64| SeedChannel {
        fulfillment_channel_code: code.into(),
        quantity: q,
    };
    let listing = |sku: &str, mkt: &str, chans: Vec<SeedChannel>| SeedListing {
        sku: sku.into(),
        marketplace_ids: vec![mkt.into()],
        fulfillment_availability: chans,
        ..SeedListing::default()
    };
    sb.handle
        .seed(&SeedRequest {
            seller_id: SELLER.into(),
            listings: vec![
                listing("MUG-1-US", US, vec![ch("DEFAULT", 6)]),
                listing("MUG-1-CA", CA, vec![ch("DEFAULT", 4)]),
                listing(
                    "SHOE-1",
                    US,
                    vec![ch("DEFAULT", 0), ch(NEWARK, 3), ch(AUSTIN, 2)],
                ),
            ],
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.csv");
    std::fs::write(
        &inv,
        "sku,location,on_hand,reserved\nMUG-1,newark,10,0\nSHOE-1,newark,3,0\nSHOE-1,austin,2,0\n",
    )
    .unwrap();
    let (code, out, err) = allot(
        &sb,
        &[
            "plan",
            "policies/acme-na.allot",
            "--inventory",
            path(&inv),
            "--current",
            "live",
            "--live-read",
            "report",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("No offer changes."), "{out}");
    assert!(
        out.contains("note: current listings read live from All Listings reports"),
        "{out}"
    );
    assert!(
        out.contains("1 read of seller SKUs with location quantities"),
        "{out}"
    );
    // US and CA reports; SHOE-1 read with getListingsItem (only it).
    assert_eq!(sb.count("createReport"), 2);
    let items: Vec<String> = sb
        .requests()
        .iter()
        .filter(|e| e.operation == "getListingsItem")
        .filter_map(|e| e.seller_sku.clone())
        .collect();
    assert_eq!(items, ["SHOE-1"]);
}

/// A small policy without supply sources, and its inventory, for the fault tests.
fn small(dir: &Path) -> (PathBuf, PathBuf) {
    let policy = dir.join("p.allot");
    std::fs::write(
        &policy,
        format!("policy \"small\"\nseller \"{SELLER}\"\nmarketplaces US\nlocation wh\nrule \"all\" {{\n  match any\n  publish US\n}}\n"),
    )
    .unwrap();
    let inv = dir.join("inv.csv");
    std::fs::write(&inv, "sku,location,on_hand,reserved\nA,wh,3,0\nB,wh,4,0\n").unwrap();
    (policy, inv)
}

/// createReport's answer is lost after Amazon made the report: the run finds it with getReports
/// instead of requesting a second one, and throttled or failing polls are retried.
#[test]
fn a_lost_create_report_answer_is_found_not_requested_twice() {
    let sb = Sandbox::start();
    sb.handle
        .seed(&SeedRequest {
            seller_id: SELLER.into(),
            listings: vec![SeedListing {
                sku: "A".into(),
                marketplace_ids: vec![US.into()],
                fulfillment_availability: vec![SeedChannel {
                    fulfillment_channel_code: "DEFAULT".into(),
                    quantity: 3,
                }],
                ..SeedListing::default()
            }],
        })
        .unwrap();
    use allot::sandbox::NextFault::{DropAfter, Internal, Pass, Throttle};
    // getReports, createReport (done, answer lost), getReports, then getReport: 429, 500.
    sb.handle
        .script_faults([Pass, DropAfter, Pass, Throttle, Internal]);
    let dir = tempfile::tempdir().unwrap();
    let (policy, inv) = small(dir.path());
    let (code, out, err) = allot(
        &sb,
        &[
            "plan",
            path(&policy),
            "--inventory",
            path(&inv),
            "--current",
            "live",
            "--live-read",
            "report",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(sb.count("createReport"), 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(count(&v, "offers_unchanged"), 1, "{v}");
    assert_eq!(count(&v, "offers_not_listed"), 1, "B is not listed: {v}");
    // `current_source` is only there with --current live: the preview's schema allows it.
    common::assert_valid(&common::validator("preview"), &v);
    let source = v["current_source"].as_str().unwrap();
    assert!(!source.contains("requested earlier"), "{source}");
}

/// A report Amazon has not made within --report-timeout: the run fails and says to run again;
/// the next run waits for the same report instead of requesting another.
#[test]
fn a_report_still_being_made_is_waited_for_by_the_next_run() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let handle = rt
        .block_on(sandbox::start_with(
            SandboxConfig {
                rate_scale: SCALE.parse().unwrap(),
                ..SandboxConfig::default()
            },
            sandbox::SandboxOptions {
                // Hours at Amazon's pace: minutes here, far beyond the runs below.
                report_queue_time: Duration::from_secs(100_000),
                ..sandbox::SandboxOptions::default()
            },
        ))
        .unwrap();
    let base = handle.base_url();
    let sb = Sandbox { rt, handle, base };
    let dir = tempfile::tempdir().unwrap();
    let (policy, inv) = small(dir.path());
    let run = || {
        allot(
            &sb,
            &[
                "plan",
                path(&policy),
                "--inventory",
                path(&inv),
                "--current",
                "live",
                "--live-read",
                "report",
                "--report-timeout",
                "300ms",
            ],
        )
    };
    let (code, _, err) = run();
    assert_eq!(code, 1, "{err}");
    let err = flat(&err);
    assert!(err.contains("is still IN_QUEUE"), "{err}");
    assert!(
        err.contains("a report still being made is waited for"),
        "{err}"
    );
    let (code, _, err) = run();
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("US: All Listings report 50000000001 reused"),
        "{err}"
    );
    assert_eq!(sb.count("createReport"), 1);
}

/// A policy naming a supply source the seller does not have, or one not active, is refused at
/// the policy line before anything is read; `allot sources` lists and checks them.
#[test]
fn supply_sources_are_checked_before_a_live_plan() {
    let sb = Sandbox::start();
    sb.create_source(NEWARK, "Newark");
    let austin_id = sb.create_source("AUSTIN-01", "Austin");
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.csv");
    std::fs::write(&inv, "sku,location,on_hand,reserved\nMUG-1,newark,10,0\n").unwrap();
    let plan = |extra: &[&str]| {
        let mut a = vec![
            "plan",
            "policies/acme-na.allot",
            "--inventory",
            path(&inv),
            "--current",
            "live",
        ];
        a.extend_from_slice(extra);
        allot(&sb, &a)
    };
    let (code, _, err) = plan(&[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("allot::supply-source-unknown"), "{err}");
    assert!(err.contains("location `austin`"), "{err}");
    assert!(err.contains("acme-na.allot:9"), "{err}");
    assert!(!err.contains("location `newark`"), "{err}");
    assert_eq!(sb.count("getListingsItem") + sb.count("createReport"), 0);
    // `allot sources` says the same, with the list.
    let (code, out, err) = allot(&sb, &["sources", "policies/acme-na.allot"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("Newark") && out.contains("AUSTIN-01"), "{out}");
    assert!(out.contains("supply_source `8e07a0c9"), "{out}");
    // The policy's austin now exists (by ID) but is inactive.
    let (status, v) = sb.call(
        reqwest::Method::PUT,
        &format!("/supplySources/2020-07-01/supplySources/{austin_id}/status"),
        Some(json!({"status": "Inactive"})),
    );
    assert!((200..300).contains(&status), "{status} {v}");
    let policy_dir = tempfile::tempdir().unwrap();
    let pol = policy_dir.path().join("acme-na.allot");
    let text = std::fs::read_to_string("policies/acme-na.allot").unwrap();
    std::fs::write(&pol, text.replace(AUSTIN, &austin_id)).unwrap();
    let (code, _, err) = allot(
        &sb,
        &[
            "plan",
            path(&pol),
            "--inventory",
            path(&inv),
            "--current",
            "live",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("allot::supply-source-inactive"), "{err}");
    assert!(err.contains("is Inactive"), "{err}");
    // Skipping the check plans anyway.
    let (code, out, err) = plan(&["--skip-source-check"]);
    assert_eq!(code, 0, "{out}\n{err}");
    // Active again: both found (newark by code, austin by ID); JSON says how.
    let (status, _) = sb.call(
        reqwest::Method::PUT,
        &format!("/supplySources/2020-07-01/supplySources/{austin_id}/status"),
        Some(json!({"status": "Active"})),
    );
    assert!((200..300).contains(&status));
    let (code, out, err) = allot(&sb, &["sources", path(&pol), "--format", "json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    // The document as schemas/sources.schema.json describes it, which a broken one fails.
    let schema = common::validator("sources");
    common::assert_valid(&schema, &v);
    common::assert_rejects(&schema, &v, "a match it does not have", |d| {
        d["checked"][0]["matched"] = "alias".into()
    });
    common::assert_rejects(&schema, &v, "no region", |d| {
        d.as_object_mut().unwrap().remove("region");
    });
    assert_eq!(v["region"], "NA");
    assert_eq!(v["supply_sources"].as_array().unwrap().len(), 2);
    let checked = v["checked"].as_array().unwrap();
    assert_eq!(checked.len(), 2);
    assert_eq!(checked[0]["matched"], "code");
    assert_eq!(checked[1]["matched"], "id");
    assert!(
        checked
            .iter()
            .all(|c| c["ok"] == true && c["status"] == "Active")
    );
    let (code, _, err) = allot(
        &sb,
        &[
            "plan",
            path(&pol),
            "--inventory",
            path(&inv),
            "--current",
            "live",
        ],
    );
    assert_eq!(code, 0, "{err}");
    // Without a policy: the region's list; a bad region is a usage error.
    let (code, out, _) = allot(&sb, &["sources"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("ALIAS"), "{out}");
    let (code, out, _) = allot(&sb, &["sources", "--format", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    common::assert_valid(&common::validator("sources"), &v);
    assert!(v.get("checked").is_none(), "{v}");
    let (code, _, err) = allot(&sb, &["sources", "--region", "XX"]);
    assert_eq!(code, 2, "{err}");
}

fn models_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("ALLOT_SPAPI_MODELS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/spapi-models"),
    };
    if dir.join("reports_2021-06-30.json").is_file() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "Amazon's models are not at {} (set ALLOT_SPAPI_MODELS)",
            dir.display()
        );
    }
    eprintln!("SKIPPED: Amazon's models not found at {}", dir.display());
    None
}

/// createReport's body and getReports' and getSupplySources' queries, as the client builds
/// them, against Amazon's models: the body's schema, and every query parameter declared,
/// within its enum and bounds.
#[test]
fn report_and_supply_source_requests_conform_to_amazons_models() {
    let Some(dir) = models_dir() else { return };
    let load = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    let reports = load("reports_2021-06-30.json");
    let schema = json!({
        "$ref": "#/definitions/CreateReportSpecification",
        "definitions": reports["definitions"],
    });
    let v = jsonschema::options()
        .with_draft(Draft::Draft4)
        .build(&schema)
        .unwrap();
    let body = allot::spapi::reports::create_body(US);
    let errors: Vec<String> = v.iter_errors(&body).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let since = time::OffsetDateTime::now_utc();
    let query = allot::spapi::reports::list_query(US, since);
    check_query(
        &reports["paths"]["/reports/2021-06-30/reports"]["get"],
        &query,
    );
    let sources = load("supplySources_2020-07-01.json");
    let op = &sources["paths"]["/supplySources/2020-07-01/supplySources"]["get"];
    check_query(op, &[("pageSize".to_string(), "50".to_string())]);
    check_query(
        op,
        &[
            ("pageSize".to_string(), "50".to_string()),
            ("nextPageToken".to_string(), "t".to_string()),
        ],
    );
}

fn check_query(op: &Value, query: &[(String, String)]) {
    let params = op["parameters"].as_array().unwrap();
    for (name, value) in query {
        let p = params
            .iter()
            .find(|p| p["name"] == name.as_str() && p["in"] == "query")
            .unwrap_or_else(|| panic!("the model has no query parameter {name}"));
        let values: Vec<&str> = if p["type"] == "array" {
            value.split(',').collect()
        } else {
            vec![value]
        };
        if let Some(max) = p["maxItems"].as_u64() {
            assert!(values.len() as u64 <= max, "{name}");
        }
        let item = if p["type"] == "array" { &p["items"] } else { p };
        for v in values {
            if let Some(e) = item["enum"].as_array() {
                assert!(e.iter().any(|x| x == v), "{name}={v} not in {e:?}");
            }
            match item["type"].as_str() {
                Some("integer" | "number") => {
                    let n: f64 = v
                        .parse()
                        .unwrap_or_else(|_| panic!("{name}={v} is no number"));
                    if let Some(max) = item["maximum"].as_f64() {
                        assert!(n <= max, "{name}");
                    }
                    if let Some(min) = item["minimum"].as_f64() {
                        assert!(n >= min, "{name}");
                    }
                }
                _ if item["format"] == "date-time" => {
                    time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                        .unwrap_or_else(|_| panic!("{name}={v} is not a date-time"));
                }
                _ => {}
            }
        }
    }
    for p in op["parameters"].as_array().unwrap() {
        if p["required"] == true && p["in"] == "query" {
            assert!(
                query.iter().any(|(k, _)| p["name"] == k.as_str()),
                "{} missing",
                p["name"]
            );
        }
    }
}

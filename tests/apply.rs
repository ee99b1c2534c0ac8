//! End to end: saved plan → `allot apply` (the real binary) → the local sandbox on 127.0.0.1 →
//! read back through the sandbox's Listings API. Patch and feed modes, injected faults, a kill
//! in the middle, refused plans, secrets and authentication failures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use allot::marketplaces::Region;
use allot::model::{ChangeKind, ChannelQty, Offer, OfferChange, Summary};
use allot::plan::{self, BuildOptions, EmitChoice, Inputs, PatchOp, Plan};
use allot::sandbox::{self, LogEntry, SandboxConfig, SandboxHandle};
use allot::spapi::client::{Client, ClientConfig, parse_endpoint};
use allot::spapi::{Credentials, Secret};

mod common;

const SELLER: &str = "A1PP0FEH11RW77";
const US: &str = "ATVPDKIKX0DER";
const CA: &str = "A2EUQ1WTGCTBG2";
const APP_ID: &str = "amzn1.application-oa2-client.test-app-id-0042";
const CLIENT_SECRET: &str = "lwa-client-secret-0123456789-must-not-leak";
const REFRESH_TOKEN: &str = "Atzr|refresh-token-0123456789-must-not-leak";
/// The sandbox refuses refresh tokens starting with `bad`.
const BAD_REFRESH_TOKEN: &str = "bad-refresh-token-0123456789-must-not-leak";

struct Fixture {
    dir: tempfile::TempDir,
    plan_path: PathBuf,
    plan: Plan,
}

impl Fixture {
    fn journal(&self) -> PathBuf {
        allot::spapi::journal::path_for(&self.plan_path)
    }
}

fn now_minus(d: Duration) -> String {
    (time::OffsetDateTime::now_utc() - d)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A plan of `n` operations through the planner's own API (`plan::build` + `plan::write`):
/// SKU-000… in US (some also in CA, some with a supply-source channel beside DEFAULT).
fn fixture(n: usize, emit: EmitChoice, age: Duration) -> Fixture {
    fixture_with(n, emit, age, false)
}

/// `availability`: every even operation's channels carry a handling time (the SKU number mod
/// 31 days), and every fourth a restock date too.
fn fixture_with(n: usize, emit: EmitChoice, age: Duration, availability: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.allot");
    let inventory = dir.path().join("inventory.csv");
    std::fs::write(&policy, "policy \"e2e\"\n").unwrap();
    std::fs::write(&inventory, "sku,location,on_hand,reserved\nX,newark,1,0\n").unwrap();
    let changes: Vec<OfferChange> = (0..n)
        .map(|i| {
            let mut channels = vec![ChannelQty::new("DEFAULT", (i as u64 * 7) % 23)];
            if i % 5 == 0 {
                channels[0].quantity = 0;
                channels.push(ChannelQty::new(
                    "353e4e48-6301-4d50-990e-43a86e8787a3",
                    i as u64 + 1,
                ));
            }
            if availability && i % 2 == 0 {
                for c in &mut channels {
                    c.lead_time_to_ship_max_days = Some((i % 31) as u32);
                    if i % 4 == 0 {
                        c.restock_date = Some("2027-01-15".into());
                    }
                }
            }
            let (marketplaces, marketplace_ids) = if i % 3 == 0 {
                (vec!["US".into(), "CA".into()], vec![US.into(), CA.into()])
            } else {
                (vec!["US".into()], vec![US.into()])
            };
            OfferChange {
                offer: Offer {
                    seller_sku: format!("SKU-{i:03}"),
                    region: Region::NA,
                    marketplaces: marketplaces.into(),
                    marketplace_ids: marketplace_ids.into(),
                    channels,
                    inventory_sku: format!("SKU-{i:03}"),
                    rule: "all".into(),
                },
                current: None,
                kind: ChangeKind::New,
                hold: None,
            }
        })
        .collect();
    let summary = Summary {
        offers_new: n as u64,
        ..Summary::default()
    };
    let plan = plan::build(
        "e2e",
        SELLER,
        &changes,
        &summary,
        BuildOptions {
            emit,
            patch_op: PatchOp::Merge,
            all: false,
            issue_locale: "en_US".into(),
            inputs: Inputs {
                more_policies: Vec::new(),
                more_inventory: Vec::new(),
                policy: plan::digest_inputs(&policy).unwrap(),
                inventory: plan::digest_inputs(&inventory).unwrap(),
                current: None,
            },
            created_at: now_minus(age),
        },
    )
    .unwrap();
    let plan_path = dir.path().join("plan.json");
    plan::write(&plan, &plan_path).unwrap();
    Fixture {
        dir,
        plan_path,
        plan,
    }
}

struct Sandbox {
    rt: tokio::runtime::Runtime,
    handle: Option<SandboxHandle>,
    base: String,
}

impl Sandbox {
    fn start(rate_scale: f64, fail_rate: f64, latency: Duration) -> Sandbox {
        Sandbox::start_with_drops(rate_scale, fail_rate, 0.0, latency)
    }

    fn start_with_drops(
        rate_scale: f64,
        fail_rate: f64,
        drop_rate: f64,
        latency: Duration,
    ) -> Sandbox {
        Sandbox::start_full(
            rate_scale,
            fail_rate,
            drop_rate,
            latency,
            sandbox::SandboxOptions::default(),
        )
    }

    fn start_full(
        rate_scale: f64,
        fail_rate: f64,
        drop_rate: f64,
        latency: Duration,
        options: sandbox::SandboxOptions,
    ) -> Sandbox {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = rt
            .block_on(sandbox::start_with(
                SandboxConfig {
                    rate_scale,
                    fail_rate,
                    drop_rate,
                    latency,
                    seed: 7,
                    ..SandboxConfig::default()
                },
                options,
            ))
            .unwrap();
        let base = handle.base_url();
        Sandbox {
            rt,
            handle: Some(handle),
            base,
        }
    }

    fn handle(&self) -> &SandboxHandle {
        self.handle.as_ref().unwrap()
    }

    /// The shipped example's supply sources (`examples/sandbox-supply-sources.json`, as the
    /// README's rehearsal passes with `--supply-sources`): `--current live` checks them first.
    fn seed_example_sources(&self) {
        let seed = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sandbox-supply-sources.json"),
        )
        .unwrap();
        let url = format!("{}/_sandbox/supply-sources", self.base);
        let status = self
            .rt
            .block_on(async {
                reqwest::Client::new()
                    .put(url)
                    .header("content-type", "application/json")
                    .body(seed)
                    .send()
                    .await
            })
            .unwrap()
            .status();
        assert!(status.is_success(), "{status}");
    }

    /// The sandbox's log of every SP-API request, read from `GET /_sandbox/requests`.
    fn requests(&self) -> Vec<LogEntry> {
        let url = format!("{}/_sandbox/requests", self.base);
        self.rt.block_on(async {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Vec<LogEntry>>()
                .await
                .unwrap()
        })
    }

    /// Read every operation's SKU back through the sandbox's getListingsItem (the same call as
    /// `allot plan --current live`) and check it shows exactly the plan's channels.
    fn assert_listings_equal_plan(&self, plan: &Plan) {
        let client = Client::new(
            Credentials {
                client_id: Secret::new(APP_ID),
                client_secret: Secret::new(CLIENT_SECRET),
                refresh_token: Secret::new(REFRESH_TOKEN),
            },
            ClientConfig {
                endpoint: Some(parse_endpoint(&self.base).unwrap()),
                lwa_endpoint: parse_endpoint(&self.handle().lwa_url()).unwrap(),
                rate_scale: 1000.0,
                max_retries: 10,
                ..ClientConfig::default()
            },
        )
        .unwrap();
        // Each SKU is read in the first marketplace it is listed in, as `--current live` does.
        let mut by_marketplace: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for op in &plan.operations {
            by_marketplace
                .entry(op.marketplace_ids[0].as_str())
                .or_default()
                .push(op.seller_sku.clone());
        }
        let mut current = allot::model::Current::default();
        for (mkt, skus) in by_marketplace {
            let part = self
                .rt
                .block_on(allot::spapi::live::fetch_current(
                    &client,
                    &plan.seller_id,
                    mkt,
                    &skus,
                ))
                .unwrap();
            current.listings.extend(part.listings);
        }
        for op in &plan.operations {
            let shown = current.channels(&op.seller_sku);
            assert_eq!(
                shown.as_ref(),
                Some(&op.channels),
                "{} in the sandbox differs from the plan",
                op.seller_sku
            );
        }
        assert_eq!(current.listings.len(), plan.operations.len());
    }

    /// Applied writes per SKU: PATCH requests that changed the state, and feed messages.
    fn applied_per_sku(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for e in self.requests() {
            if !(e.applied && matches!(e.operation.as_str(), "patchListingsItem" | "feedMessage")) {
                continue;
            }
            if let Some(seller_sku) = e.seller_sku {
                *m.entry(seller_sku).or_insert(0) += 1;
            }
        }
        m
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.rt.block_on(h.shutdown());
        }
    }
}

fn apply_cmd(fx: &Fixture, sb: &Sandbox, refresh_token: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("allot"));
    c.env_clear()
        .env("LWA_APP_ID", APP_ID)
        .env("LWA_CLIENT_SECRET", CLIENT_SECRET)
        .env("SP_API_REFRESH_TOKEN", refresh_token)
        .arg("apply")
        .arg(&fx.plan_path)
        .args(["--endpoint", &sb.base])
        .args(["--lwa-endpoint", &sb.handle().lwa_url()])
        .args(extra)
        .stdin(Stdio::null());
    c
}

fn run(mut c: Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// No credential and no access token in any text apply produced or wrote.
fn assert_no_secret(texts: &[&str]) {
    for t in texts {
        for s in [CLIENT_SECRET, REFRESH_TOKEN, BAD_REFRESH_TOKEN, "Atza|"] {
            assert!(!t.contains(s), "secret `{s}` leaked in:\n{t}");
        }
    }
}

fn summary_line(stdout: &str, name: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `{name}` line in:\n{stdout}"))
}

#[test]
fn patch_mode_applies_the_plan() {
    let fx = fixture(30, EmitChoice::Patch, Duration::ZERO);
    let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
    let (code, out, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "20"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(summary_line(&out, "accepted"), 30);
    assert_eq!(summary_line(&out, "remaining"), 0);
    sb.assert_listings_equal_plan(&fx.plan);
    let applied = sb.applied_per_sku();
    assert_eq!(applied.len(), 30);
    assert!(applied.values().all(|n| *n == 1), "{applied:?}");
    let journal = std::fs::read_to_string(fx.journal()).unwrap();
    assert_no_secret(&[&out, &err, &journal]);

    // Running it again sends nothing: every operation is journaled as accepted.
    let before = sb.requests().len();
    let (code, out, _) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "20"]));
    assert_eq!(code, 0);
    assert!(out.contains("30 by an earlier run"), "{out}");
    let sent_again = sb.requests()[before..]
        .iter()
        .filter(|e| e.operation == "patchListingsItem")
        .count();
    assert_eq!(sent_again, 0);
}

#[test]
fn feed_mode_applies_the_plan() {
    let fx = fixture(30, EmitChoice::Feed, Duration::ZERO);
    assert_eq!(fx.plan.emit, plan::Emit::Feed);
    let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
    let (code, out, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "20"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(summary_line(&out, "accepted"), 30);
    sb.assert_listings_equal_plan(&fx.plan);
    let log = sb.requests();
    assert_eq!(
        log.iter().filter(|e| e.operation == "createFeed").count(),
        1
    );
    assert_eq!(
        log.iter()
            .filter(|e| e.operation == "patchListingsItem")
            .count(),
        0
    );
    let journal = std::fs::read_to_string(fx.journal()).unwrap();
    assert!(journal.contains("\"type\":\"feed_submitted\""), "{journal}");
    assert!(journal.contains("\"type\":\"feed_finished\""), "{journal}");
    assert_no_secret(&[&out, &err, &journal]);
}

/// The handling time and restock date of a plan reach the listing's `fulfillment_availability`
/// entries in the sandbox (which refuses what Amazon refuses), by PATCH and by feed.
#[test]
fn handling_time_and_restock_date_are_applied_in_both_modes() {
    for emit in [EmitChoice::Patch, EmitChoice::Feed] {
        let fx = fixture_with(12, emit, Duration::ZERO, true);
        let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
        let (code, out, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "20"]));
        assert_eq!(code, 0, "{out}\n{err}");
        assert_eq!(summary_line(&out, "accepted"), 12);
        let url = format!("{}/_sandbox/state", sb.base);
        let state: serde_json::Value = sb
            .rt
            .block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() });
        let items = state["items"].as_array().unwrap();
        for op in &fx.plan.operations {
            let item = items
                .iter()
                .find(|i| i["seller_sku"] == op.seller_sku.as_str())
                .unwrap_or_else(|| panic!("{} not in the sandbox", op.seller_sku));
            for c in &op.channels {
                let extras = &item["channel_extras"][&c.channel];
                assert_eq!(
                    extras["lead_time_to_ship_max_days"].as_u64(),
                    c.lead_time_to_ship_max_days.map(u64::from),
                    "{} {}: {item}",
                    op.seller_sku,
                    c.channel
                );
                assert_eq!(
                    extras["restock_date"].as_str(),
                    c.restock_date.as_deref(),
                    "{} {}",
                    op.seller_sku,
                    c.channel
                );
            }
        }
    }
}

#[test]
fn injected_429s_and_5xx_are_retried_in_both_modes() {
    for emit in [EmitChoice::Patch, EmitChoice::Feed] {
        let fx = fixture(30, emit, Duration::ZERO);
        let sb = Sandbox::start(20.0, 0.2, Duration::ZERO);
        let (code, out, err) = run(apply_cmd(
            &fx,
            &sb,
            REFRESH_TOKEN,
            &["--rate-scale", "20", "--max-retries", "10"],
        ));
        assert_eq!(code, 0, "{emit:?}\n{out}\n{err}");
        assert!(summary_line(&out, "retried") > 0, "{out}");
        let faults = sb
            .requests()
            .iter()
            .filter(|e| {
                e.fault
                    .as_deref()
                    .is_some_and(|f| f.starts_with("injected"))
            })
            .count();
        assert!(faults > 0);
        sb.assert_listings_equal_plan(&fx.plan);
        if emit == EmitChoice::Patch {
            assert!(sb.applied_per_sku().values().all(|n| *n == 1));
        }
    }
}

#[test]
fn lost_answers_are_sent_again_and_converge() {
    // 10% of connections closed after the sandbox applied the request: the answer never comes,
    // so apply must send it again (idempotent) and still end with exactly the plan.
    let fx = fixture(30, EmitChoice::Patch, Duration::ZERO);
    let sb = Sandbox::start_with_drops(20.0, 0.1, 0.1, Duration::ZERO);
    let (code, out, err) = run(apply_cmd(
        &fx,
        &sb,
        REFRESH_TOKEN,
        &["--rate-scale", "20", "--max-retries", "10"],
    ));
    assert_eq!(code, 0, "{out}\n{err}");
    sb.assert_listings_equal_plan(&fx.plan);
    let log = sb.requests();
    assert!(log.iter().any(|e| e.dropped), "the seed drops some answers");
    // A SKU applied more than once had an answer dropped: never a duplicate otherwise.
    for (sku, n) in sb.applied_per_sku() {
        let dropped = log
            .iter()
            .filter(|e| e.dropped && e.applied && e.seller_sku.as_deref() == Some(&sku))
            .count();
        assert_eq!(n, 1 + dropped, "{sku}");
    }
}

#[test]
fn killed_apply_resumes_and_applies_each_operation_once() {
    let fx = fixture(60, EmitChoice::Patch, Duration::ZERO);
    // 4× Amazon's rate (20/s) and 100 ms per answer: about three seconds for the whole plan.
    let sb = Sandbox::start(4.0, 0.0, Duration::from_millis(100));
    let mut child = apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let outcomes = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|t| {
                t.lines()
                    .filter(|l| l.contains("\"type\":\"outcome\""))
                    .count()
            })
            .unwrap_or(0)
    };
    common::wait_for(
        "apply to journal 10 outcomes",
        Duration::from_secs(30),
        || {
            assert!(
                child.try_wait().unwrap().is_none(),
                "apply ended before the kill"
            );
            (outcomes(&fx.journal()) >= 10).then_some(())
        },
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let journaled_first = outcomes(&fx.journal());
    assert!(journaled_first < 60, "killed too late to prove anything");
    let accepted_first: Vec<String> = std::fs::read_to_string(fx.journal())
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"status\":\"accepted\""))
        .filter_map(|l| {
            serde_json::from_str::<serde_json::Value>(l).ok()?["sku"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    let applied_first = sb.applied_per_sku();
    // Give requests cut off by the kill time to land (or not) before the second run. A real
    // wait, kept: such a request may still sit in the sandbox's socket, where nothing the test
    // can look at shows it; 300 ms is three times the sandbox's latency.
    std::thread::sleep(Duration::from_millis(300));
    let applied_at_kill = sb.applied_per_sku();

    let (code, out, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "4"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(summary_line(&out, "accepted"), 60);
    assert!(
        out.contains(&format!("{} by an earlier run", accepted_first.len())),
        "{out}"
    );
    sb.assert_listings_equal_plan(&fx.plan);

    // Exactly once: an operation journaled as accepted was never sent again, and every other
    // one was applied once by the second run. The only allowed exception is an operation whose
    // answer the kill cut off after the sandbox applied it (sent again by design: idempotent).
    let applied = sb.applied_per_sku();
    assert_eq!(applied.len(), 60);
    let mut in_flight = 0;
    for op in &fx.plan.operations {
        let n = applied[&op.seller_sku];
        if accepted_first.contains(&op.seller_sku) {
            assert_eq!(n, 1, "{} was re-sent after being accepted", op.seller_sku);
        } else if applied_at_kill.contains_key(&op.seller_sku) {
            in_flight += 1;
            assert_eq!(n, 2, "{}", op.seller_sku);
        } else {
            assert_eq!(n, 1, "{}", op.seller_sku);
        }
    }
    assert!(applied_first.len() >= accepted_first.len());
    assert!(
        in_flight <= 8,
        "more in flight than the concurrency: {in_flight}"
    );
}

#[test]
fn killed_feed_apply_polls_the_submitted_feed_instead_of_resubmitting() {
    let fx = fixture(40, EmitChoice::Feed, Duration::ZERO);
    // At 4× speed feeds take 1 s in the queue and 1 s processing; reports come gzip-compressed.
    let sb = Sandbox::start_full(
        4.0,
        0.0,
        0.0,
        Duration::ZERO,
        sandbox::SandboxOptions {
            feed_queue_time: Duration::from_secs(4),
            feed_processing_time: Duration::from_secs(4),
            gzip_reports: true,
            ..sandbox::SandboxOptions::default()
        },
    );
    let mut child = apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let submitted = |p: &Path| {
        std::fs::read_to_string(p).is_ok_and(|t| t.contains("\"type\":\"feed_submitted\""))
    };
    common::wait_for("apply to submit a feed", Duration::from_secs(30), || {
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply ended before the kill"
        );
        submitted(&fx.journal()).then_some(())
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let (code, out, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "4"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("resuming feed"), "{out}");
    assert_eq!(summary_line(&out, "accepted"), 40);
    let log = sb.requests();
    assert_eq!(
        log.iter().filter(|e| e.operation == "createFeed").count(),
        1
    );
    assert!(log.iter().any(|e| e.operation == "getFeedDocument"));
    sb.assert_listings_equal_plan(&fx.plan);
    assert!(sb.applied_per_sku().values().all(|n| *n == 1));
}

#[test]
fn stale_and_tampered_plans_are_refused() {
    let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
    let sent = |sb: &Sandbox| sb.requests().len();

    // Too old.
    let fx = fixture(3, EmitChoice::Patch, Duration::from_secs(2 * 3600));
    let (code, _, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &[]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--max-age"), "{err}");
    assert_eq!(sent(&sb), 0);
    assert!(!fx.journal().exists());
    // … unless the age limit is raised, or forced.
    let (code, out, err) = run(apply_cmd(
        &fx,
        &sb,
        REFRESH_TOKEN,
        &["--max-age", "3h", "--rate-scale", "20"],
    ));
    assert_eq!(code, 0, "{out}{err}");

    // An input changed since planning.
    let fx = fixture(3, EmitChoice::Patch, Duration::ZERO);
    std::fs::write(
        fx.dir.path().join("inventory.csv"),
        "sku,location,on_hand,reserved\nX,newark,99,0\n",
    )
    .unwrap();
    let before = sent(&sb);
    let (code, _, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &[]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("inventory"), "{err}");
    assert_eq!(sent(&sb), before);
    let (code, _, err) = run(apply_cmd(
        &fx,
        &sb,
        REFRESH_TOKEN,
        &["--force", "--rate-scale", "20"],
    ));
    assert_eq!(code, 0, "{err}");

    // Tampered: a quantity edited by hand breaks the digest; --force does not help.
    let fx = fixture(3, EmitChoice::Patch, Duration::ZERO);
    let text = std::fs::read_to_string(&fx.plan_path).unwrap();
    let edited = text.replacen("\"quantity\":7", "\"quantity\":700", 1);
    assert_ne!(text, edited, "the fixture has a quantity 7 to edit");
    std::fs::write(&fx.plan_path, edited).unwrap();
    let before = sent(&sb);
    for extra in [&[][..], &["--force"][..]] {
        let (code, _, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, extra));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("digest"), "{err}");
    }
    assert_eq!(sent(&sb), before);
}

#[test]
fn auth_failure_is_one_error_without_retries_or_secrets() {
    let fx = fixture(20, EmitChoice::Patch, Duration::ZERO);
    let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
    let (code, out, err) = run(apply_cmd(
        &fx,
        &sb,
        BAD_REFRESH_TOKEN,
        &["--rate-scale", "20"],
    ));
    assert_eq!(code, 2, "{out}\n{err}");
    assert_eq!(err.matches("authentication failed").count(), 1, "{err}");
    assert!(err.contains("invalid_grant"), "{err}");
    assert_eq!(summary_line(&out, "retried"), 0);
    // Not a single SP-API request went out.
    assert!(
        sb.requests()
            .iter()
            .all(|e| e.operation != "patchListingsItem"),
        "{:?}",
        sb.requests()
    );
    let journal = std::fs::read_to_string(fx.journal()).unwrap_or_default();
    assert!(!journal.contains("\"type\":\"outcome\""));
    assert_no_secret(&[&out, &err, &journal]);
}

#[test]
fn no_secret_in_any_output() {
    let fx = fixture(5, EmitChoice::Patch, Duration::ZERO);
    let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
    let mut texts = Vec::new();
    // Success, validation, usage errors, a refused endpoint, a refused credentials file.
    for extra in [
        &["--rate-scale", "20", "--validate-only"][..],
        &["--rate-scale", "20"][..],
        &["--max-retries", "x"][..],
        &["--lwa-endpoint", "http://example.com/token"][..],
    ] {
        let (_, out, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, extra));
        texts.push(out);
        texts.push(err);
    }
    let creds = fx.dir.path().join("creds.json");
    std::fs::write(
        &creds,
        format!(
            r#"{{"lwa_app_id":"{APP_ID}","lwa_client_secret":"{CLIENT_SECRET}","refresh_token":{{"bad":"{REFRESH_TOKEN}"}}}}"#
        ),
    )
    .unwrap();
    let creds_arg = creds.display().to_string();
    let (code, out, err) = run(apply_cmd(
        &fx,
        &sb,
        REFRESH_TOKEN,
        &["--credentials", &creds_arg],
    ));
    assert_eq!(code, 2);
    assert!(err.contains("chmod 600"), "{err}");
    texts.push(out);
    texts.push(err);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (code, out, err) = run(apply_cmd(
            &fx,
            &sb,
            REFRESH_TOKEN,
            &["--credentials", &creds_arg],
        ));
        assert_eq!(code, 2);
        assert!(err.contains("refresh_token"), "{err}");
        texts.push(out);
        texts.push(err);
    }
    texts.push(std::fs::read_to_string(fx.journal()).unwrap());
    texts.push(std::fs::read_to_string(&fx.plan_path).unwrap());
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    assert_no_secret(&refs);
}

#[test]
fn validate_only_applies_nothing() {
    let fx = fixture(8, EmitChoice::Patch, Duration::ZERO);
    let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
    let (code, out, err) = run(apply_cmd(
        &fx,
        &sb,
        REFRESH_TOKEN,
        &["--rate-scale", "20", "--validate-only"],
    ));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(summary_line(&out, "valid"), 8);
    assert!(out.contains("nothing was applied"));
    assert!(sb.applied_per_sku().is_empty());
    assert!(sb.handle().state().amazon.listings.is_empty());
    assert!(!fx.journal().exists());
}

#[test]
fn a_journal_of_another_plan_is_refused() {
    let fx = fixture(3, EmitChoice::Patch, Duration::ZERO);
    let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
    std::fs::write(
        fx.journal(),
        "{\"type\":\"start\",\"plan_digest\":\"0000\",\"mode\":\"patch\",\"at\":\"2026-01-01T00:00:00Z\"}\n",
    )
    .unwrap();
    let (code, _, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "20"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("another plan"), "{err}");
    assert!(sb.requests().is_empty());
}

#[test]
fn plan_current_live_reads_the_sandbox() {
    let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
    sb.seed_example_sources();
    let seed = |us: u64| {
        let body = serde_json::json!({"sellerId": SELLER, "listings": [
            {"sku": "MUG-1-US", "marketplaceIds": [US],
             "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": us}]},
            {"sku": "MUG-1-CA", "marketplaceIds": [CA],
             "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 4}]}]});
        let url = format!("{}/_sandbox/listings", sb.base);
        let status = sb
            .rt
            .block_on(async { reqwest::Client::new().put(url).json(&body).send().await })
            .unwrap()
            .status();
        assert!(status.is_success(), "{status}");
    };
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.csv");
    std::fs::write(&inv, "sku,location,on_hand,reserved\nMUG-1,newark,10,0\n").unwrap();
    let plan = || {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("allot"));
        c.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("LWA_APP_ID", APP_ID)
            .env("LWA_CLIENT_SECRET", CLIENT_SECRET)
            .env("SP_API_REFRESH_TOKEN", REFRESH_TOKEN)
            .args(["plan", "policies/acme-na.allot", "--inventory"])
            .arg(&inv)
            .args([
                "--current",
                "live",
                "--detailed-exitcode",
                "--rate-scale",
                "20",
            ])
            .args(["--endpoint", &sb.base])
            .args(["--lwa-endpoint", &sb.handle().lwa_url()]);
        run(c)
    };
    // 10 units shared 60/40: US 6, CA 4, exactly what the sandbox shows.
    seed(6);
    let (code, out, err) = plan();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("No offer changes."), "{out}");
    let reads = sb
        .requests()
        .iter()
        .filter(|e| e.operation == "getListingsItem")
        .count();
    assert_eq!(reads, 2);
    seed(5);
    let (code, out, err) = plan();
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(out.contains("MUG-1-US"), "{out}");
    assert_no_secret(&[&out, &err]);
}

/// The whole chain through the real binary: `allot plan --out` → `allot apply` → read back.
#[test]
fn cli_plan_then_apply_in_both_modes() {
    for emit in ["patch", "feed"] {
        let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
        let dir = tempfile::tempdir().unwrap();
        let plan_path = dir.path().join("plan.json");
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("allot"));
        c.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .args(["plan", "policies/acme-na.allot"])
            .args(["--inventory", "examples/inventory.csv", "--emit", emit])
            // An empty sandbox: creating every listing is what this rehearsal means.
            .arg("--allow-new")
            .arg("--out")
            .arg(&plan_path);
        let (code, out, err) = run(c);
        assert_eq!(code, 0, "{out}\n{err}");
        let plan = plan::read(&plan_path).unwrap();
        assert!(!plan.operations.is_empty());
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("allot"));
        c.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("LWA_APP_ID", APP_ID)
            .env("LWA_CLIENT_SECRET", CLIENT_SECRET)
            .env("SP_API_REFRESH_TOKEN", REFRESH_TOKEN)
            .arg("apply")
            .arg(&plan_path)
            .args(["--endpoint", &sb.base])
            .args(["--lwa-endpoint", &sb.handle().lwa_url()])
            .args(["--rate-scale", "20"]);
        let (code, out, err) = run(c);
        assert_eq!(code, 0, "{emit}\n{out}\n{err}");
        assert!(out.contains(&format!("({emit} mode)")), "{out}");
        sb.assert_listings_equal_plan(&plan);
        assert_no_secret(&[&out, &err]);
    }
}

/// The channels the sandbox holds for one seller SKU of NA.
fn sandbox_channels(sb: &Sandbox, sku: &str) -> Option<BTreeMap<String, u64>> {
    let key = allot::amazon::ListingKey {
        seller_id: SELLER.into(),
        region: Region::NA,
        seller_sku: sku.into(),
    };
    sb.handle()
        .state()
        .amazon
        .listings
        .get(&key)
        .map(|l| l.channels.clone())
}

/// The safety fixture (tests/fixtures/safety): an All Listings report with a merchant row and
/// an FBA row, and a policy that matches both. The preview, its JSON and the saved plan leave
/// the FBA offer (and the seller SKU Amazon does not know) unwritten; after apply the sandbox
/// still shows it fulfilled by Amazon, with no DEFAULT channel added. A blind write of the same
/// quantity, for contrast, adds the second offer that allot refuses to create.
#[test]
fn fba_offers_and_unlisted_skus_are_never_written() {
    const FX: &str = "tests/fixtures/safety";
    let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
    let body = serde_json::json!({"sellerId": SELLER, "listings": [
        {"sku": "MERCH-1", "marketplaceIds": [US],
         "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 10}]},
        {"sku": "FBA-1", "marketplaceIds": [US],
         "fulfillmentAvailability": [{"fulfillmentChannelCode": "AMAZON_NA", "quantity": 12}]}]});
    let url = format!("{}/_sandbox/listings", sb.base);
    let status = sb
        .rt
        .block_on(async { reqwest::Client::new().put(url).json(&body).send().await })
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let plan_cmd = |extra: &[&str]| {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("allot"));
        c.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("LWA_APP_ID", APP_ID)
            .env("LWA_CLIENT_SECRET", CLIENT_SECRET)
            .env("SP_API_REFRESH_TOKEN", REFRESH_TOKEN)
            .args(["plan", &format!("{FX}/fba-mix.allot")])
            .args(["--inventory", &format!("{FX}/inventory.csv")])
            .args(extra);
        run(c)
    };
    let report = format!("{FX}/all-listings.txt");
    let from_report = ["--current", &report, "--current-marketplace", "US"];

    // The table: FBA-1 and NEW-1 under their own headings, only MERCH-1 in the changes.
    let (code, out, err) = plan_cmd(&from_report);
    assert_eq!(code, 0, "{out}\n{err}");
    let (changes, held) = out
        .split_once("Fulfilled by Amazon: not written")
        .expect(&out);
    assert!(
        changes.contains("MERCH-1") && !changes.contains("FBA-1"),
        "{out}"
    );
    assert!(held.contains("FBA-1 (AMAZON_NA"), "{out}");
    assert!(held.contains("Not listed on Amazon: not written") && held.contains("NEW-1"));
    assert!(out.contains("not written: 1 fulfilled by Amazon, 1 not listed on Amazon"));

    // The JSON preview says why, per offer, and counts.
    let mut json_args = from_report.to_vec();
    json_args.extend(["--format", "json"]);
    let (code, out, err) = plan_cmd(&json_args);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let by_sku = |s: &str| {
        v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["seller_sku"] == s)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_sku("FBA-1")["written"], false);
    assert_eq!(by_sku("FBA-1")["hold"]["reason"], "fulfilled_by_amazon");
    assert_eq!(by_sku("FBA-1")["hold"]["channel"], "AMAZON_NA");
    assert_eq!(by_sku("NEW-1")["hold"]["reason"], "not_listed");
    assert_eq!(by_sku("MERCH-1")["written"], true);
    assert_eq!(v["summary"]["offers_fulfilled_by_amazon"], 1);
    assert_eq!(v["summary"]["offers_not_listed"], 1);

    // The saved plan: one operation (MERCH-1), the held offers counted.
    let mut save = from_report.to_vec();
    let p = plan_path.to_str().unwrap();
    save.extend(["--out", p]);
    let (code, out, err) = plan_cmd(&save);
    assert_eq!(code, 0, "{out}\n{err}");
    let plan = plan::read(&plan_path).unwrap();
    let skus: Vec<&str> = plan
        .operations
        .iter()
        .map(|o| o.seller_sku.as_str())
        .collect();
    assert_eq!(skus, ["MERCH-1"]);
    assert_eq!(plan.summary.offers_fulfilled_by_amazon, 1);
    assert_eq!(plan.summary.offers_not_listed, 1);

    // Applied: MERCH-1 written, FBA-1 still Amazon's alone, no ghost listing for NEW-1.
    let fx = Fixture {
        plan_path: plan_path.clone(),
        plan: plan.clone(),
        dir,
    };
    let (code, out, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "20"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        sandbox_channels(&sb, "MERCH-1").unwrap(),
        BTreeMap::from([("DEFAULT".to_string(), 40)])
    );
    assert_eq!(
        sandbox_channels(&sb, "FBA-1").unwrap(),
        BTreeMap::from([("AMAZON_NA".to_string(), 12)])
    );
    assert!(sandbox_channels(&sb, "NEW-1").is_none());

    // The same from `--current live`: the sandbox's getListingsItem shows AMAZON_NA.
    let live = [
        "--current",
        "live",
        "--format",
        "json",
        "--rate-scale",
        "20",
        "--endpoint",
        &sb.base,
        "--lwa-endpoint",
    ];
    let lwa = sb.handle().lwa_url();
    let mut live = live.to_vec();
    live.push(&lwa);
    let (code, out, err) = plan_cmd(&live);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["offers_fulfilled_by_amazon"], 1, "{out}");
    assert_eq!(v["summary"]["offers_not_listed"], 1, "{out}");
    assert_eq!(v["summary"]["offers_unchanged"], 1, "{out}");

    // A blind tool writes DEFAULT 40 onto FBA-1: Amazon keeps AMAZON_NA and adds a second,
    // merchant-fulfilled offer beside it. This is the write allot refuses to plan.
    let blind = OfferChange {
        offer: Offer {
            seller_sku: "FBA-1".into(),
            region: Region::NA,
            marketplaces: vec!["US".into()].into(),
            marketplace_ids: vec![US.into()].into(),
            channels: vec![ChannelQty::new("DEFAULT", 40)],
            inventory_sku: "FBA-1".into(),
            rule: "blind".into(),
        },
        current: None,
        kind: ChangeKind::New,
        hold: None,
    };
    let mut blind_plan = plan::build(
        "blind",
        SELLER,
        &[blind],
        &Summary::default(),
        BuildOptions {
            emit: EmitChoice::Patch,
            patch_op: PatchOp::Merge,
            all: false,
            issue_locale: "en_US".into(),
            inputs: fx.plan.inputs.clone(),
            created_at: now_minus(Duration::ZERO),
        },
    )
    .unwrap();
    plan::seal(&mut blind_plan);
    let blind_path = fx.dir.path().join("blind.json");
    plan::write(&blind_plan, &blind_path).unwrap();
    let bx = Fixture {
        dir: tempfile::tempdir().unwrap(),
        plan_path: blind_path,
        plan: blind_plan,
    };
    let (code, out, err) = run(apply_cmd(&bx, &sb, REFRESH_TOKEN, &["--rate-scale", "20"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        sandbox_channels(&sb, "FBA-1").unwrap(),
        BTreeMap::from([("AMAZON_NA".to_string(), 12), ("DEFAULT".to_string(), 40)])
    );
}

/// The README's rehearsal, as written: the sandbox seeded with `examples/sandbox-listings.json`,
/// `allot plan --current live --out`, `allot apply`, then the sandbox's state. The FBA offer
/// keeps Amazon's channel alone, no offer-only listing is created, and a second plan has nothing
/// left to write.
#[test]
fn readme_rehearsal_keeps_fba_and_creates_no_ghost_listing() {
    let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
    sb.seed_example_sources();
    let seed =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sandbox-listings.json"))
            .unwrap();
    let url = format!("{}/_sandbox/listings", sb.base);
    let status = sb
        .rt
        .block_on(async {
            reqwest::Client::new()
                .put(url)
                .header("content-type", "application/json")
                .body(seed)
                .send()
                .await
        })
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let lwa = sb.handle().lwa_url();
    let sp = [
        "--endpoint",
        sb.base.as_str(),
        "--lwa-endpoint",
        lwa.as_str(),
        "--rate-scale",
        "20",
    ];
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("allot"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("LWA_APP_ID", APP_ID)
        .env("LWA_CLIENT_SECRET", CLIENT_SECRET)
        .env("SP_API_REFRESH_TOKEN", REFRESH_TOKEN)
        .args([
            "plan",
            "policies/acme-na.allot",
            "--inventory",
            "examples/inventory.csv",
        ])
        .args(["--current", "live"])
        .args(sp)
        .arg("--out")
        .arg(&plan_path);
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("MUG-2-US (AMAZON_NA"), "{out}");
    let plan = plan::read(&plan_path).unwrap();
    assert!(plan.operations.iter().all(|o| o.seller_sku != "MUG-2-US"));
    let fx = Fixture {
        plan_path,
        plan,
        dir,
    };
    let (code, out, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "20"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        sandbox_channels(&sb, "MUG-2-US").unwrap(),
        BTreeMap::from([("AMAZON_NA".to_string(), 14)])
    );
    let state: serde_json::Value = sb.rt.block_on(async {
        reqwest::get(format!("{}/_sandbox/state", sb.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(state["summary"]["fba_with_default"], 0, "{state}");
    assert_eq!(state["summary"]["offer_only"], 0, "{state}");
    // Everything the policy may write is now as Amazon shows it.
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("allot"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("LWA_APP_ID", APP_ID)
        .env("LWA_CLIENT_SECRET", CLIENT_SECRET)
        .env("SP_API_REFRESH_TOKEN", REFRESH_TOKEN)
        .args([
            "plan",
            "policies/acme-na.allot",
            "--inventory",
            "examples/inventory.csv",
        ])
        .args(["--current", "live", "--detailed-exitcode"])
        .args(sp);
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("No offer changes."), "{out}");
}

fn created_feeds(sb: &Sandbox) -> usize {
    sb.requests()
        .iter()
        .filter(|e| e.operation == "createFeed" && e.applied)
        .count()
}

#[test]
fn a_lost_create_feed_answer_adopts_the_feed_instead_of_submitting_twice() {
    let fx = fixture(30, EmitChoice::Feed, Duration::ZERO);
    let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
    // createFeedDocument answers; createFeed makes the feed, then its answer is lost.
    sb.handle()
        .script_faults([sandbox::NextFault::Pass, sandbox::NextFault::DropAfter]);
    let (code, out, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "20"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("adopted feed"), "{out}");
    assert_eq!(summary_line(&out, "accepted"), 30);
    assert_eq!(created_feeds(&sb), 1, "the document was submitted twice");
    assert!(sb.requests().iter().any(|e| e.operation == "getFeeds"));
    sb.assert_listings_equal_plan(&fx.plan);
    assert!(sb.applied_per_sku().values().all(|n| *n == 1));
    // The adopted feed is journaled like any other: a re-run sends nothing.
    let journal = std::fs::read_to_string(fx.journal()).unwrap();
    assert!(journal.contains("\"type\":\"feed_submitted\""), "{journal}");
    let (code, out, _) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "20"]));
    assert_eq!(code, 0);
    assert!(out.contains("30 by an earlier run"), "{out}");
    assert_eq!(created_feeds(&sb), 1);
}

#[test]
fn a_create_feed_lost_before_amazon_took_it_is_submitted_once() {
    let fx = fixture(10, EmitChoice::Feed, Duration::ZERO);
    let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
    // createFeed never reaches the sandbox's work: getFeeds shows nothing, so it is sent again.
    sb.handle()
        .script_faults([sandbox::NextFault::Pass, sandbox::NextFault::DropBefore]);
    let (code, out, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "20"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(summary_line(&out, "accepted"), 10);
    assert_eq!(created_feeds(&sb), 1);
    sb.assert_listings_equal_plan(&fx.plan);
}

#[test]
fn a_lost_create_feed_that_cannot_be_told_apart_is_refused_not_resubmitted() {
    let sb = Sandbox::start(20.0, 0.0, Duration::ZERO);
    // Another plan's feed for the same marketplaces, moments earlier.
    let other = fixture(3, EmitChoice::Feed, Duration::ZERO);
    let (code, out, err) = run(apply_cmd(
        &other,
        &sb,
        REFRESH_TOKEN,
        &["--rate-scale", "20"],
    ));
    assert_eq!(code, 0, "{out}\n{err}");
    let fx = fixture(10, EmitChoice::Feed, Duration::ZERO);
    sb.handle()
        .script_faults([sandbox::NextFault::Pass, sandbox::NextFault::DropAfter]);
    let (code, out, err) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "20"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("refuses to submit it a second time"), "{out}");
    assert_eq!(summary_line(&out, "remaining"), 10);
    // The other plan's feed and this one's: never a third.
    assert_eq!(created_feeds(&sb), 2);
    // A re-run finds the same two and refuses again.
    let (code, out, _) = run(apply_cmd(&fx, &sb, REFRESH_TOKEN, &["--rate-scale", "20"]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cannot tell which"), "{out}");
    assert_eq!(created_feeds(&sb), 2);
}

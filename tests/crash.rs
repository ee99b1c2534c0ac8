//! Crash consistency: `allot apply` and `allot sandbox --state FILE` (the real binaries) are
//! killed with SIGKILL at seeded random points, again and again, in patch and in feed mode.
//! After the last resume the sandbox must show exactly the plan, and nothing accepted may have
//! been applied again (docs/apply.md, "What a crash can and cannot do").
//!
//! The schedule is reproducible: `ALLOT_CRASH_SEED=N cargo test --test crash` replays seed N.
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use allot::marketplaces::Region;
use allot::model::{ChangeKind, ChannelQty, Offer, OfferChange, Summary};
use allot::plan::{self, BuildOptions, EmitChoice, Inputs, PatchOp, Plan};
use allot::sandbox::LogEntry;
use serde_json::Value;

mod common;

const SELLER: &str = "A1PP0FEH11RW77";
const US: &str = "ATVPDKIKX0DER";
const CA: &str = "A2EUQ1WTGCTBG2";
/// apply's PATCH concurrency: at most this many answers can be cut off by one kill.
const CONCURRENCY: usize = 8;

struct Fixture {
    dir: tempfile::TempDir,
    plan_path: PathBuf,
    plan: Plan,
}

/// A plan of `n` operations (SKU-000… in US, every third also in CA, every fifth with a
/// supply-source channel), made with the planner's own API.
fn fixture(n: usize, emit: EmitChoice) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.allot");
    let inventory = dir.path().join("inventory.csv");
    std::fs::write(&policy, "policy \"crash\"\n").unwrap();
    std::fs::write(&inventory, "sku,location,on_hand,reserved\nX,newark,1,0\n").unwrap();
    let changes: Vec<OfferChange> = (0..n)
        .map(|i| {
            let mut channels = vec![ChannelQty::new("DEFAULT", (i as u64 * 7) % 23 + 1)];
            if i % 5 == 0 {
                channels.push(ChannelQty::new(
                    "353e4e48-6301-4d50-990e-43a86e8787a3",
                    i as u64 + 1,
                ));
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
        "crash",
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
            created_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap(),
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

/// A running `allot sandbox --state FILE` on an ephemeral loopback port.
struct SandboxProc {
    child: Child,
    base: String,
}

impl SandboxProc {
    fn spawn(state: &Path, rate_scale: &str, feed_delay_ms: &str) -> SandboxProc {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("allot"))
            .args([
                "sandbox",
                "--addr",
                "127.0.0.1:0",
                "--rate-scale",
                rate_scale,
            ])
            .args(["--feed-delay", feed_delay_ms, "--log-limit", "1000000"])
            .arg("--state")
            .arg(state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        // Keep draining: a closed pipe would kill the sandbox on its next line of output.
        std::thread::spawn(move || lines.count());
        let Some(base) = first
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
        else {
            let _ = child.kill();
            panic!("the sandbox did not start: {first:?}");
        };
        SandboxProc {
            base: base.to_string(),
            child,
        }
    }

    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.base);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(20), async {
                reqwest::get(&url).await?.json::<Value>().await
            })
            .await
            .expect("the sandbox answers within 20 s")
            .unwrap()
        })
    }

    fn requests(&self) -> Vec<LogEntry> {
        serde_json::from_value(self.get("/_sandbox/requests")).unwrap()
    }
}

impl Drop for SandboxProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn apply(fx: &Fixture, sb: &SandboxProc, rate_scale: &str) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("allot"));
    c.env_clear()
        .env("LWA_APP_ID", "amzn1.application-oa2-client.crash")
        .env("LWA_CLIENT_SECRET", "crash-secret")
        .env("SP_API_REFRESH_TOKEN", "Atzr|crash")
        .arg("apply")
        .arg(&fx.plan_path)
        .args(["--endpoint", &sb.base])
        .args(["--lwa-endpoint", &format!("{}/auth/o2/token", sb.base)])
        .args(["--rate-scale", rate_scale, "--max-retries", "10"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// What the journal says so far: SKUs accepted, and whether a feed was submitted.
fn journal(fx: &Fixture) -> (BTreeSet<String>, bool) {
    let path = allot::spapi::journal::path_for(&fx.plan_path);
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut accepted = BTreeSet::new();
    let mut submitted = false;
    // A torn last line (killed mid-write) is skipped, as apply itself does.
    for v in text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        match v["type"].as_str() {
            Some("outcome") if v["status"] == "accepted" => {
                accepted.insert(v["sku"].as_str().unwrap_or_default().to_string());
            }
            Some("feed_submitted") => submitted = true,
            _ => {}
        }
    }
    (accepted, submitted)
}

/// After a round: what the journal had made final, and the last log entry the sandbox had.
struct Boundary {
    accepted: BTreeSet<String>,
    submitted: bool,
    seq: u64,
}

struct Mode {
    emit: EmitChoice,
    ops: usize,
    rate_scale: &'static str,
    feed_delay_ms: &'static str,
    /// Range of the random wait before a kill (ms).
    wait: std::ops::Range<u64>,
}

/// Kill apply and/or the sandbox `kills` times at seeded random points, resume each time, then
/// let apply finish and check the sandbox against the plan and the journal.
fn crash_and_resume(mode: Mode, seed: u64, kills: usize) {
    let fx = fixture(mode.ops, mode.emit);
    let state = fx.dir.path().join("sandbox-state.json");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut sb = SandboxProc::spawn(&state, mode.rate_scale, mode.feed_delay_ms);
    let mut boundaries = Vec::new();
    let mut killed = 0;
    let mut schedule = Vec::new();
    let started = Instant::now();
    // Bounded: at most `kills` rounds, each ending in at least one kill or apply's own end.
    for _ in 0..kills {
        if killed >= kills {
            break;
        }
        let mut child = apply(&fx, &sb, mode.rate_scale).spawn().unwrap();
        let wait = Duration::from_millis(rng.u64(mode.wait.clone()));
        let victim = ["apply", "sandbox", "both"][rng.usize(0..3)];
        // The kill point is the seed's: apply runs for `wait` (a real duration, the schedule
        // under test) unless it ends first.
        if let Some(status) = common::poll_until(wait, || child.try_wait().unwrap()) {
            schedule.push(format!("apply ended by itself ({status})"));
            break;
        }
        schedule.push(format!("{victim} after {} ms", wait.as_millis()));
        if victim != "apply" {
            sb.kill();
            killed += 1;
            // Let apply meet the dead sandbox for a moment (its retries, its journal): a real
            // pause, part of the seed's schedule, not a wait for anything.
            std::thread::sleep(Duration::from_millis(rng.u64(0..100)));
        }
        // apply cannot go on without the sandbox (a new one has a new port): killed in every
        // case, and counted when it is the victim.
        child.kill().unwrap();
        child.wait().unwrap();
        if victim != "sandbox" {
            killed += 1;
        }
        if victim != "apply" {
            sb = SandboxProc::spawn(&state, mode.rate_scale, mode.feed_delay_ms);
        }
        let (accepted, submitted) = journal(&fx);
        let seq = sb.requests().last().map_or(0, |e| e.seq);
        boundaries.push(Boundary {
            accepted,
            submitted,
            seq,
        });
    }
    let context = format!("seed {seed} ({:?}), schedule: {schedule:?}", mode.emit);
    eprintln!("{context}");

    // The last resume runs to the end (bounded in time).
    let mut child = apply(&fx, &sb, mode.rate_scale).spawn().unwrap();
    let Some(status) = common::poll_until(Duration::from_secs(60), || child.try_wait().unwrap())
    else {
        let _ = child.kill();
        panic!("the last resume did not finish within 60 s; {context}");
    };
    assert!(
        status.success(),
        "the last resume failed: {status}; {context}"
    );
    let (accepted, _) = journal(&fx);
    assert_eq!(accepted.len(), mode.ops, "{context}");

    // 1. The sandbox shows exactly the plan: every seller SKU, every channel, nothing else.
    let state_json = sb.get("/_sandbox/state");
    let shown: BTreeMap<String, BTreeMap<String, u64>> = state_json["amazon"]["listings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let channels = l["channels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(c, q)| (c.clone(), q.as_u64().unwrap()))
                .collect();
            (l["seller_sku"].as_str().unwrap().to_string(), channels)
        })
        .collect();
    let planned: BTreeMap<String, BTreeMap<String, u64>> = fx
        .plan
        .operations
        .iter()
        .map(|op| {
            let channels = op
                .channels
                .iter()
                .map(|c| (c.channel.clone(), c.quantity))
                .collect();
            (op.seller_sku.clone(), channels)
        })
        .collect();
    let wrong: Vec<(&String, Option<&BTreeMap<String, u64>>)> = planned
        .iter()
        .filter(|(sku, ch)| shown.get(*sku) != Some(*ch))
        .map(|(sku, _)| (sku, shown.get(sku)))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} SKUs differ from the plan (SKU, shown): {wrong:?}; {context}",
        wrong.len()
    );
    assert_eq!(shown.len(), planned.len(), "{context}");

    // 2. Nothing accepted was applied again: after each round, no write of a SKU the journal
    // already had as accepted (patch mode), and no new feed once one was submitted (feed mode).
    let log = sb.requests();
    for (k, b) in boundaries.iter().enumerate() {
        let again: Vec<&LogEntry> = log
            .iter()
            .filter(|e| e.seq > b.seq && e.applied)
            .filter(|e| match e.operation.as_str() {
                "patchListingsItem" => e
                    .seller_sku
                    .as_ref()
                    .is_some_and(|s| b.accepted.contains(s)),
                "createFeed" => b.submitted,
                _ => false,
            })
            .collect();
        assert!(
            again.is_empty(),
            "round {k}: accepted work applied again: {again:?}; {context}"
        );
    }
    // 3. Applied more than once only when a kill cut the answer off: at most one kill's worth of
    // in-flight requests per kill (the docs allow re-sending what got no answer).
    let mut per_sku: BTreeMap<&str, usize> = BTreeMap::new();
    for e in log.iter().filter(|e| e.applied) {
        if matches!(e.operation.as_str(), "patchListingsItem" | "feedMessage")
            && let Some(s) = &e.seller_sku
        {
            *per_sku.entry(s.as_str()).or_default() += 1;
        }
    }
    assert_eq!(per_sku.len(), mode.ops, "{context}");
    let extra: usize = per_sku.values().map(|n| n - 1).sum();
    let feeds_created = log
        .iter()
        .filter(|e| e.operation == "createFeed" && e.applied)
        .count();
    match mode.emit {
        EmitChoice::Feed => {
            // One region, one document: a lost createFeed answer is looked up, never re-sent.
            assert_eq!(feeds_created, 1, "{context}");
        }
        _ => {
            assert_eq!(feeds_created, 0);
            assert!(
                extra <= killed * CONCURRENCY,
                "{extra} writes applied again for {killed} kills; {context}"
            );
        }
    }
    eprintln!(
        "{:?}: {killed} kills, {extra} writes applied again (answers cut off), {:.1} s",
        mode.emit,
        started.elapsed().as_secs_f64()
    );
    sb.kill();
}

fn seed() -> u64 {
    std::env::var("ALLOT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_202)
}

#[test]
fn patch_mode_survives_kills_of_apply_and_the_sandbox() {
    crash_and_resume(
        Mode {
            emit: EmitChoice::Patch,
            ops: 80,
            // 20 PATCHes a second: the plan takes about 4 s, so the kills land mid-run.
            rate_scale: "4",
            feed_delay_ms: "1000",
            wait: 150..900,
        },
        seed(),
        8,
    );
}

#[test]
fn feed_mode_survives_kills_of_apply_and_the_sandbox() {
    crash_and_resume(
        Mode {
            emit: EmitChoice::Feed,
            ops: 40,
            // A feed waits 1 s in the queue and 1 s in progress (each restart of the sandbox
            // starts its phase again): kills land before, during and after its submission and
            // processing.
            rate_scale: "100",
            feed_delay_ms: "100000",
            wait: 30..900,
        },
        seed().wrapping_add(1),
        8,
    );
}

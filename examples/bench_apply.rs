//! Prints how fast `apply` sends a plan to the local sandbox, and whether its own pacing kept
//! it under the sandbox's rate limits (a well-paced client is never throttled).
//! `cargo run --example bench_apply -- [OPERATIONS] [RATE_SCALE]` (defaults 50 and 1: Amazon's
//! real 5 requests a second). Numbers, not a pass/fail test.

use std::time::{Duration, Instant};

use allot::marketplaces::Region;
use allot::model::{ChannelQty, Summary};
use allot::plan::{self, Emit, InputFile, Inputs, Operation, PatchOp, Plan};
use allot::sandbox::{self, SandboxConfig};
use allot::spapi::apply::{self, ApplyOptions, PatchJob};
use allot::spapi::client::{Client, ClientConfig, parse_endpoint};
use allot::spapi::journal::Journal;
use allot::spapi::{Credentials, Secret};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let scale: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1.0);
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(bench(n, scale));
}

fn plan(n: u32, emit: Emit) -> Plan {
    let file = InputFile {
        path: "bench".into(),
        sha256: "0".repeat(64),
    };
    let mut p = Plan {
        format_version: plan::FORMAT_VERSION.into(),
        seller_id: "A1PP0FEH11RW77".into(),
        policy: "bench".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        inputs: Inputs {
            more_policies: Vec::new(),
            more_inventory: Vec::new(),
            policy: file.clone(),
            inventory: file,
            current: None,
        },
        emit,
        patch_op: PatchOp::Merge,
        issue_locale: "en_US".into(),
        summary: Summary::default(),
        operations: (1..=n)
            .map(|id| Operation {
                id,
                seller_sku: format!("BENCH-{id:06}"),
                region: Region::NA,
                marketplace_ids: vec!["ATVPDKIKX0DER".into()],
                channels: vec![ChannelQty::new("DEFAULT", u64::from(id % 50))],
                previous: None,
                inventory_sku: format!("BENCH-{id:06}"),
                rule: "bench".into(),
            })
            .collect(),
        locations: Vec::new(),
        digest: String::new(),
    };
    plan::seal(&mut p);
    p
}

async fn bench(n: u32, scale: f64) {
    let sb = sandbox::start(SandboxConfig {
        rate_scale: scale,
        ..SandboxConfig::default()
    })
    .await
    .expect("the sandbox starts");
    let client = || {
        Client::new(
            Credentials {
                client_id: Secret::new("bench"),
                client_secret: Secret::new("bench"),
                refresh_token: Secret::new("bench"),
            },
            ClientConfig {
                endpoint: Some(parse_endpoint(&sb.base_url()).expect("loopback URL")),
                lwa_endpoint: parse_endpoint(&sb.lwa_url()).expect("loopback URL"),
                rate_scale: scale,
                ..ClientConfig::default()
            },
        )
        .expect("a client")
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let pb = indicatif::ProgressBar::hidden();

    let p = plan(n, Emit::Patch);
    let jobs: Vec<PatchJob> = p
        .operations
        .iter()
        .map(|op| PatchJob {
            op_id: op.id,
            seller_sku: op.seller_sku.clone(),
            region: op.region,
            request: plan::encode::patch_request(&p, op, false),
        })
        .collect();
    let journal = Journal::open(&dir.path().join("patch.journal"), &p.digest, Emit::Patch)
        .expect("a journal");
    let c = client();
    let t = Instant::now();
    let r = apply::apply_patches(&c, jobs, Some(journal), &ApplyOptions::default(), &pb).await;
    let took = t.elapsed();
    let throttled = sb
        .requests()
        .iter()
        .filter(|e| e.fault.as_deref() == Some("throttled"))
        .count();
    let paced = 5.0 * scale * allot::spapi::ratelimit::PACING_MARGIN;
    let ideal = Duration::from_secs_f64((f64::from(n) - 5.0).max(0.0) / paced);
    println!(
        "patch: {n} operations in {:.2} s = {:.2}/s (limit {:.1}/s burst 5; paced at {:.2}/s: ideal {:.2} s); \
         accepted {}, throttled by the sandbox {throttled}, retries {}",
        took.as_secs_f64(),
        f64::from(n) / took.as_secs_f64(),
        5.0 * scale,
        paced,
        ideal.as_secs_f64(),
        r.counts().accepted,
        r.retries
    );

    let p = plan(n, Emit::Feed);
    let jobs = plan::encode::feed_documents(&p).expect("feed documents");
    let skus = p
        .operations
        .iter()
        .map(|o| (o.id, o.seller_sku.clone()))
        .collect();
    let journal =
        Journal::open(&dir.path().join("feed.journal"), &p.digest, Emit::Feed).expect("a journal");
    let c = client();
    let t = Instant::now();
    let r = apply::apply_feeds(
        &c,
        jobs.into_iter(),
        &skus,
        journal,
        &ApplyOptions::default(),
        &pb,
    )
    .await;
    println!(
        "feed: {n} operations in {:.2} s (sandbox queue + processing {:.2} s); accepted {}, \
         {} HTTP requests",
        t.elapsed().as_secs_f64(),
        2.0 / scale,
        r.counts().accepted,
        r.requests
    );
    sb.shutdown().await;
}

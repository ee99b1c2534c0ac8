//! Prints how long the planner takes on a large synthetic preview: build, write, read (digest
//! verification), PATCH encoding and feed splitting. Numbers only, no pass/fail.
//! Run: `cargo bench --bench plan` (or `cargo bench --profile dev --bench plan` for a quick look).

use std::time::Instant;

use allot::marketplaces::Region;
use allot::model::{ChangeKind, ChannelQty, Offer, OfferChange, Summary};
use allot::plan::{self, BuildOptions, EmitChoice, InputFile, Inputs, PatchOp, encode};

fn main() {
    for n in [10_000usize, 100_000] {
        let changes: Vec<OfferChange> = (0..n)
            .map(|i| OfferChange {
                offer: Offer {
                    seller_sku: format!("SKU-{i:07}-EU"),
                    region: if i % 3 == 0 { Region::NA } else { Region::EU },
                    marketplaces: vec!["UK".into(), "DE".into()].into(),
                    marketplace_ids: vec!["A1F83G8C2ARO7P".into(), "A1PA6795UKMFR9".into()].into(),
                    channels: vec![
                        ChannelQty::new("DEFAULT", 0),
                        ChannelQty::new("newark-dc", (i % 50) as u64),
                    ],
                    inventory_sku: format!("SKU-{i:07}"),
                    rule: "default".into(),
                },
                current: Some(vec![ChannelQty::new("DEFAULT", 1)]),
                kind: ChangeKind::Changed,
                hold: None,
            })
            .collect();
        let file = |p: &str| InputFile {
            path: p.into(),
            sha256: "0".repeat(64),
        };
        let opts = BuildOptions {
            emit: EmitChoice::Auto,
            patch_op: PatchOp::Merge,
            all: false,
            issue_locale: "en_US".into(),
            inputs: Inputs {
                more_policies: Vec::new(),
                more_inventory: Vec::new(),
                policy: file("p.allot"),
                inventory: file("inv.csv"),
                current: None,
            },
            created_at: "2026-11-23T09:30:00Z".into(),
        };

        let t = Instant::now();
        let p = plan::build("bench", "A2EXAMPLE", &changes, &Summary::default(), opts).unwrap();
        let build = t.elapsed();

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let t = Instant::now();
        plan::write(&p, &path).unwrap();
        let write = t.elapsed();
        let bytes = std::fs::metadata(&path).unwrap().len();

        let t = Instant::now();
        let back = plan::read(&path).unwrap();
        let read = t.elapsed();
        assert_eq!(back.operations.len(), n);

        let t = Instant::now();
        let reqs: usize = p
            .operations
            .iter()
            .map(|op| encode::patch_request(&p, op, false).path.len())
            .sum();
        let patch = t.elapsed();

        let t = Instant::now();
        let docs = encode::feed_documents(&p).unwrap();
        let feeds = t.elapsed();

        println!(
            "{n:>7} operations: build {build:>9.2?}  write {write:>9.2?} ({:.1} MB)  read+verify {read:>9.2?}  patch requests {patch:>9.2?} ({reqs} path bytes)  feeds {feeds:>9.2?} ({} documents)",
            bytes as f64 / 1e6,
            docs.len()
        );
    }
}

//! A generator of realistic inventories for benchmarks and experiments:
//!
//!     cargo run --release --example gen -- --skus 1000000 --locations 3 > inventory.csv
//!
//! Writes the generic CSV (`sku,location,on_hand,reserved,tags,brand`) to stdout: SKU families
//! (YOGA-, MUG-, CANDLE-, SHOE-, TEE-, …), tags, a brand attribute, most SKUs stocked at some of
//! the locations `wh1`..`whL`, skewed quantities (many small, a few large, some zero) and a
//! little reserved stock. Deterministic for a given `--seed`.

use std::io::{BufWriter, Write};

const FAMILIES: &[(&str, &str)] = &[
    ("YOGA", "apparel"),
    ("TEE", "apparel"),
    ("MUG", "kitchen"),
    ("CANDLE", "candles"),
    ("SHOE", "shoes"),
    ("BOOK", "media"),
    ("LAMP", "home"),
    ("SOCK", "apparel"),
];
const BRANDS: &[&str] = &["acme", "glow", "stride", "north"];

fn usage() -> ! {
    eprintln!("usage: gen --skus N [--locations L] [--seed S]");
    std::process::exit(2);
}

fn main() {
    let mut skus: u64 = 0;
    let mut locations: u32 = 3;
    let mut seed: u64 = 42;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match a.as_str() {
            "--skus" => skus = value(),
            "--locations" => locations = value().clamp(1, 1000) as u32,
            "--seed" => seed = value(),
            _ => usage(),
        }
    }
    if skus == 0 {
        usage();
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let res = (|| -> std::io::Result<()> {
        writeln!(out, "sku,location,on_hand,reserved,tags,brand")?;
        for i in 0..skus {
            let (family, tag) = FAMILIES[rng.usize(..FAMILIES.len())];
            let brand = BRANDS[rng.usize(..BRANDS.len())];
            let extra = if rng.u8(..10) == 0 { ";fragile" } else { "" };
            for l in 1..=locations {
                // Most SKUs are stocked in most locations; a location with no row is 0.
                if l > 1 && rng.u8(..10) < 2 {
                    continue;
                }
                let on_hand: u64 = match rng.u8(..100) {
                    0..=14 => 0,
                    15..=79 => rng.u64(1..20),
                    80..=96 => rng.u64(20..200),
                    _ => rng.u64(200..5000),
                };
                let reserved = if on_hand > 0 && rng.u8(..4) == 0 {
                    rng.u64(0..=on_hand.min(5))
                } else {
                    0
                };
                writeln!(
                    out,
                    "{family}-{i:07},wh{l},{on_hand},{reserved},{tag}{extra},{brand}"
                )?;
            }
        }
        out.flush()
    })();
    if let Err(e) = res
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("gen: {e}");
        std::process::exit(1);
    }
}

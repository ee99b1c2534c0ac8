//! Prints how long parsing and formatting take on a generated policy near the 1 MiB limit.
//! `cargo run --release --example bench_syntax` (numbers, not a pass/fail test).

use std::time::Instant;

fn main() {
    let rule = "rule \"yoga NUM\" {\n  match   sku \"YOGA-*\", \"MAT-?\" and not tag \"x\"   # why\n  stock   from newark, austin\n  buffer  2\n  cap     10\n  publish US as \"{sku}-US\" share 60% by location { newark 60%, austin 40% }, CA as \"{sku}-CA\" share 40%\n}\n\n";
    let mut src = String::from("policy \"bench\"\nmarketplaces US, CA\n\n");
    let mut i = 0;
    while src.len() + rule.len() < allot::syntax::MAX_SOURCE_BYTES {
        src.push_str(&rule.replace("NUM", &i.to_string()));
        i += 1;
    }
    let t = Instant::now();
    let ast = allot::syntax::parse(&src).expect("the generated policy parses");
    let parse = t.elapsed();
    let t = Instant::now();
    let out = allot::fmt::format(&src).expect("the generated policy formats");
    let format = t.elapsed();
    let sketch = include_str!("../tests/fixtures/ok/sketch-acme-na.allot");
    let runs = 200;
    let t = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(allot::syntax::parse(sketch).is_ok());
    }
    let one_parse = t.elapsed() / runs;
    let t = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(allot::fmt::format(sketch).is_ok());
    }
    let one_format = t.elapsed() / runs;
    println!(
        "the sketch ({} bytes): parse {:.3} ms, format {:.3} ms",
        sketch.len(),
        one_parse.as_secs_f64() * 1e3,
        one_format.as_secs_f64() * 1e3
    );
    println!(
        "{} bytes, {} items: parse {:.1} ms ({:.1} MB/s), format (parse, render, re-parse, compare) {:.1} ms; output {} bytes",
        src.len(),
        ast.items.len(),
        parse.as_secs_f64() * 1e3,
        src.len() as f64 / parse.as_secs_f64() / 1e6,
        format.as_secs_f64() * 1e3,
        out.len()
    );
}

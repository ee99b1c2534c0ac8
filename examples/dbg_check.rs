fn main() {
    let p = std::env::args().nth(1).unwrap();
    let src = std::fs::read_to_string(&p).unwrap();
    let c = allot::check::check_source(&src);
    for d in &c.diagnostics {
        println!("{} {}", d.code, d.message);
        for l in &d.labels {
            println!(
                "   {:?} {:?} {}",
                l.span,
                &src[l.span.start..l.span.end],
                l.text
            );
        }
    }
}

//! `allot sandbox`: run the local SP-API in the foreground until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::Exit;
use crate::sandbox::{self, SandboxConfig, SandboxOptions};

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on (loopback only unless --allow-remote; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
    /// Load the state from FILE at start; save it there before answering each request that
    /// changes it (so kill -9 loses no answered write), and on Ctrl-C.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Multiply Amazon's published rate limits (10 = ten times faster); also shortens feed and
    /// report processing and the JSON_LISTINGS_FEED window.
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    pub rate_scale: f64,
    /// Fraction (0 to 1) of SP-API requests answered 429, 500 or 503 before any work.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub fail_rate: f64,
    /// Fraction (0 to 1) of SP-API requests whose connection is closed without a response.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub drop_rate: f64,
    /// Drop requests before doing their work (default: do the work, then drop the answer).
    #[arg(long)]
    pub drop_before_apply: bool,
    /// Milliseconds added to every response.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency: u64,
    /// Seed for reproducible fault injection.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Milliseconds a feed spends IN_QUEUE and again IN_PROGRESS (divided by --rate-scale).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub feed_delay: u64,
    /// Milliseconds a report spends IN_QUEUE and again IN_PROGRESS (divided by --rate-scale).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub report_delay: u64,
    /// Serve feed processing reports and Reports API documents (the All Listings report)
    /// gzip-compressed (compressionAlgorithm GZIP).
    #[arg(long)]
    pub gzip_reports: bool,
    /// Seed listings from a JSON FILE at start (the body of `PUT /_sandbox/listings`), e.g. to
    /// rehearse `allot plan --current live`.
    #[arg(long, value_name = "FILE")]
    pub listings: Option<PathBuf>,
    /// Seed supply sources from a JSON FILE at start (the body of `PUT /_sandbox/supply-sources`:
    /// a list of {supplySourceId?, supplySourceCode, alias, status?, address?}).
    #[arg(long, value_name = "FILE")]
    pub supply_sources: Option<PathBuf>,
    /// Keep the last N requests in the request log (`/_sandbox/requests`); older ones go.
    #[arg(long, default_value_t = sandbox::DEFAULT_LOG_LIMIT as u64, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub log_limit: u64,
    /// Allow a non-loopback --addr. The sandbox accepts ANY credentials: only for trusted
    /// networks.
    #[arg(long)]
    pub allow_remote: bool,
}

pub fn run(args: SandboxArgs) -> ExitCode {
    if !args.addr.ip().is_loopback() && !args.allow_remote {
        return super::fail(
            miette::miette!(
                code = super::codes::SANDBOX_REMOTE,
                help = "use a loopback address such as 127.0.0.1:8787, or add --allow-remote if you really mean to expose it",
                "refusing to listen on {}: the sandbox accepts any credentials",
                args.addr
            ),
            Exit::Usage,
        );
    }
    let config = SandboxConfig {
        addr: args.addr,
        state_file: args.state.clone(),
        rate_scale: args.rate_scale,
        fail_rate: args.fail_rate,
        drop_rate: args.drop_rate,
        latency: Duration::from_millis(args.latency),
        seed: args.seed,
    };
    let options = SandboxOptions {
        drop_after_apply: !args.drop_before_apply,
        feed_queue_time: Duration::from_millis(args.feed_delay),
        feed_processing_time: Duration::from_millis(args.feed_delay),
        report_queue_time: Duration::from_millis(args.report_delay),
        report_processing_time: Duration::from_millis(args.report_delay),
        gzip_reports: args.gzip_reports,
        log_limit: usize::try_from(args.log_limit).unwrap_or(usize::MAX),
        ..SandboxOptions::default()
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            return super::fail(
                super::codes::report::runtime("the async runtime", e),
                Exit::Usage,
            );
        }
    };
    rt.block_on(async move {
        let handle = match sandbox::start_with(config, options).await {
            Ok(h) => h,
            Err(e) => return super::fail(sandbox_error(e), Exit::Usage),
        };
        let mut seeded_note = None;
        if let Some(p) = &args.listings {
            let seeded = std::fs::read(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))
                .and_then(|b| {
                    serde_json::from_slice::<sandbox::SeedRequest>(&b).map_err(|e| {
                        format!(
                            "{} is not a listings seed: {e}\n  expected {}",
                            p.display(),
                            sandbox::SEED_SHAPE
                        )
                    })
                })
                .and_then(|req| {
                    handle
                        .seed(&req)
                        .map_err(|e| format!("{}: {e}", p.display()))
                });
            match seeded {
                Ok(n) => {
                    seeded_note = Some(format!("  seeded {n} listing(s) from {}", p.display()))
                }
                Err(e) => {
                    handle.shutdown().await;
                    return super::fail(seed_error(e), Exit::Usage);
                }
            }
        }
        if let Some(p) = &args.supply_sources {
            let seeded = std::fs::read(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))
                .and_then(|b| {
                    serde_json::from_slice::<Vec<sandbox::SeedSupplySource>>(&b).map_err(|e| {
                        format!(
                            "{} is not a supply-sources seed: {e}\n  expected {}",
                            p.display(),
                            sandbox::SUPPLY_SOURCES_SEED_SHAPE
                        )
                    })
                })
                .and_then(|seeds| {
                    handle
                        .seed_supply_sources(&seeds)
                        .map_err(|e| format!("{}: {e}", p.display()))
                });
            match seeded {
                Ok(n) => {
                    let note = format!("  seeded {n} supply source(s) from {}", p.display());
                    seeded_note = Some(match seeded_note {
                        Some(prev) => format!("{prev}\n{note}"),
                        None => note,
                    });
                }
                Err(e) => {
                    handle.shutdown().await;
                    return super::fail(seed_error(e), Exit::Usage);
                }
            }
        }
        // Listen for Ctrl-C and SIGTERM before announcing the address: a signal that arrives
        // right after the announcement must stop the server cleanly (and save its state).
        let stop = match StopSignal::listen() {
            Ok(s) => s,
            Err(e) => {
                handle.shutdown().await;
                return super::fail(
                    super::codes::report::runtime("listening for Ctrl-C", e),
                    Exit::Usage,
                );
            }
        };
        let base = handle.base_url();
        println!("allot sandbox: a local SP-API on {base}");
        match &args.state {
            Some(p) => println!(
                "  state: {} (saved before each answer that changes it)",
                p.display()
            ),
            None => println!("  state: in memory only (use --state FILE to keep it)"),
        }
        if let Some(note) = seeded_note {
            println!("{note}");
        }
        println!(
            "  rate scale {}, fail rate {}, drop rate {}, latency {} ms, seed {}",
            args.rate_scale, args.fail_rate, args.drop_rate, args.latency, args.seed
        );
        println!();
        println!("Rehearse against it from another terminal (any credentials are accepted;");
        println!("a refresh token starting with `bad` is refused):");
        println!(
            "  export LWA_APP_ID=sandbox LWA_CLIENT_SECRET=sandbox SP_API_REFRESH_TOKEN=sandbox"
        );
        // apply paces itself at Amazon's rates; a sped-up sandbox wants the same scale.
        let scale = if args.rate_scale == 1.0 {
            String::new()
        } else {
            format!(" --rate-scale {}", args.rate_scale)
        };
        println!(
            "  allot apply plan.json --endpoint {base} --lwa-endpoint {base}/auth/o2/token{scale}"
        );
        println!();
        println!("Inspect: {base}/_sandbox/state  {base}/_sandbox/requests");
        println!("Press Ctrl-C to stop.");
        stop.wait().await;
        eprintln!("allot sandbox: stopping");
        match handle.stop().await {
            Ok(()) => ExitCode::from(Exit::Ok),
            Err(e) => super::fail(sandbox_error(e), Exit::Failed),
        }
    })
}

/// A seed file (`--listings`, `--supply-sources`) that cannot be read or that the sandbox refuses.
fn seed_error(message: String) -> miette::Report {
    miette::miette!(
        code = super::codes::SANDBOX_SEED,
        help = "fix the file (the message says where and what is expected), or start without it",
        "{message}"
    )
}

/// The sandbox's own errors: its state file, or the server not starting.
fn sandbox_error(e: sandbox::SandboxError) -> miette::Report {
    use sandbox::SandboxError as E;
    match e {
        E::ReadState { .. } | E::CorruptState { .. } | E::WriteState { .. } => miette::miette!(
            code = super::codes::SANDBOX_STATE,
            help = "check the --state path can be read and written; move a damaged file away to start from an empty state",
            "{e}"
        ),
        E::Bind { .. } => miette::miette!(
            code = super::codes::SANDBOX_START,
            help = "choose a free port with --addr (e.g. 127.0.0.1:0 picks one), or stop what listens there",
            "{e}"
        ),
        E::InvalidConfig(_) => miette::miette!(
            code = super::codes::SANDBOX_START,
            help = "give --rate-scale above 0, and --fail-rate and --drop-rate between 0 and 1",
            "{e}"
        ),
    }
}

/// SIGINT or SIGTERM, registered eagerly (tokio's `ctrl_c()` registers only when first polled).
struct StopSignal {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignal {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignal {})
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
        #[cfg(not(unix))]
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("allot sandbox: cannot wait for Ctrl-C ({e}); stopping");
        }
    }
}

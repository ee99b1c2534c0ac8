use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::Exit;
use crate::marketplaces::builtin;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct MarketplacesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub fn run(args: MarketplacesArgs) -> ExitCode {
    let all = builtin();
    match args.format {
        Format::Json => match serde_json::to_string_pretty(
            &all.iter()
                .map(|m| {
                    serde_json::json!({
                        "code": m.code,
                        "id": m.id,
                        "country": m.country,
                        "region": m.region,
                        "endpoint": m.endpoint(),
                    })
                })
                .collect::<Vec<_>>(),
        ) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                return super::fail(super::codes::report::output("the table", e), Exit::Usage);
            }
        },
        Format::Table => {
            println!(
                "{:<4} {:<16} {:<22} {:<6} ENDPOINT",
                "CODE", "MARKETPLACE ID", "COUNTRY", "REGION"
            );
            for m in &all {
                println!(
                    "{:<4} {:<16} {:<22} {:<6} {}",
                    m.code,
                    m.id,
                    m.country,
                    m.region,
                    m.endpoint()
                );
            }
        }
    }
    ExitCode::from(Exit::Ok)
}

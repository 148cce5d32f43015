//! `tandem validate`: the server's checks, as a human-readable report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct ValidateArgs {
    /// A bundle, an envelope, one object or a list of objects (JSON).
    pub file: PathBuf,
    /// Print only the summary and the invalid objects.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let file = std::fs::File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let (mut valid, mut invalid) = (0u64, 0u64);
    let seen = tandem_interop::stream::for_each_stix_object(file, |_, value| -> anyhow::Result<()> {
        let id = value.get("id").and_then(|v| v.as_str()).unwrap_or("(no id)").to_string();
        match tandem_model::check_object(&value) {
            Ok(_) => {
                valid += 1;
                if !args.quiet {
                    println!("ok      {id}");
                }
            }
            Err(violations) => {
                invalid += 1;
                println!("INVALID {id}");
                for v in violations {
                    println!("        - {v}");
                }
            }
        }
        Ok(())
    })
    .with_context(|| format!("reading {}", args.file.display()))?;
    println!("{seen} objects: {valid} valid, {invalid} invalid");
    Ok(if invalid == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

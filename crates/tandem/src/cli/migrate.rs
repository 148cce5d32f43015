//! `tandem migrate --from sqlite:DIR|postgres://URL --to sqlite:DIR|postgres://URL`.
//!
//! Thin: the copy and its verification are `tandem_node::migrate` over
//! `tandem_store::transfer` (the store) and `tandem_audit::copy` (the audit chain). This module parses the arguments, shows progress (a bar on a
//! terminal, plain lines otherwise) and prints the summary; the exit code is 0 for a verified
//! copy, 1 for a refusal or any mismatch, 3 for a copy stopped early (`--stop-after-batches`)
//! that a next run resumes.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Args;
use tandem_audit::keys;
use tandem_node::migrate::{AuditOutcome, FILES_NOTE, Location, migrate};
use tandem_store::transfer::{CopyEnd, CopyOptions, Progress};

#[derive(Args)]
pub struct MigrateArgs {
    /// The store to copy: `sqlite:DIR` (a data directory) or `postgres://URL`. Only read.
    #[arg(long)]
    from: String,
    /// The store to copy into: empty, or holding an interrupted migration from the same source.
    #[arg(long)]
    to: String,
    /// Rows per batch (one transaction in the target each).
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
    /// Stop after this many batches (a copy in sittings; the next run resumes). Exit code 3.
    #[arg(long)]
    stop_after_batches: Option<u64>,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
    /// The node's public key (`ed25519:<base64>`, as `tandem key show` prints it) that the audit
    /// chain's checkpoints are verified with, at the source and in the target. Default: the
    /// `node.key` in the data directory of the `sqlite:` end (the source's first).
    #[arg(long)]
    public_key: Option<String>,
}

pub fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let from: Location = args.from.parse()?;
    let to: Location = args.to.parse()?;
    let options = CopyOptions { batch_rows: args.batch_size, stop_after_batches: args.stop_after_batches };
    let public_key = args.public_key.as_deref().map(keys::parse_public_key).transpose()?;
    let mut progress: Box<dyn Progress> = if args.quiet {
        Box::new(Quiet)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bar::default())
    } else {
        Box::new(Lines::default())
    };
    let started = std::time::Instant::now();
    let outcome = match migrate(&from, &to, &options, public_key, &mut *progress) {
        Ok(o) => o,
        Err(e) => {
            drop(progress);
            eprintln!("error: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    drop(progress);
    println!("migration from {} to {}", from.identity(), to.identity());
    println!(
        "the source was only read (opened read-only); stop its node while migrating, or rows it writes meanwhile show as mismatches"
    );
    match outcome.copy {
        CopyEnd::Stopped { rows, batches } => {
            println!("stopped after {batches} batches ({rows} rows); run the same command again to resume");
            if let AuditOutcome::Pending = outcome.audit {
                println!("the audit chain verified in the source; it is copied once the store's copy completes");
            }
            return Ok(ExitCode::from(3));
        }
        CopyEnd::Complete { rows, batches, resumed } => {
            let how = if resumed { "resumed and completed" } else { "completed" };
            let secs = started.elapsed().as_secs_f64();
            println!(
                "copy {how}: {rows} rows in {batches} batches, {secs:.1} s with the verification ({:.0} rows/s)",
                rows as f64 / secs.max(1e-6)
            );
        }
        CopyEnd::AlreadyComplete => println!("the copy was already complete; verifying it again"),
    }
    let Some(v) = outcome.verification else { return Ok(ExitCode::FAILURE) };
    println!("{:<14} {:>12} {:>12}  rows", "table", "source", "target");
    for t in &v.tables {
        let mark = if t.source_rows == t.target_rows && t.same_rows { "identical" } else { "MISMATCH" };
        println!("{:<14} {:>12} {:>12}  {mark}", t.name, t.source_rows, t.target_rows);
    }
    for (name, so, to, sd, td) in &v.collections {
        println!("collection {name}: versions {so} -> {to}, tombstones {sd} -> {td}");
    }
    println!("content hashes recomputed: {} (source and target)", v.versions_hashed);
    println!("clock: source {}, target {}", v.source_clock, v.target_clock);
    print_audit(&outcome.audit);
    println!("{FILES_NOTE}");
    if v.ok() {
        println!("verified: the target is an identical copy");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("VERIFICATION FAILED: {} problems", v.problem_count);
        for p in &v.problems {
            println!("  {p}");
        }
        if v.problem_count > v.problems.len() as u64 {
            println!("  ...");
        }
        Ok(ExitCode::FAILURE)
    }
}

fn print_audit(audit: &AuditOutcome) {
    match audit {
        AuditOutcome::NoSourceChain => println!("audit chain: the source has none (no entries); nothing to move"),
        AuditOutcome::Pending => {}
        AuditOutcome::Copied { copy, key } => {
            let (s, t) = (&copy.source, &copy.target);
            println!(
                "audit chain: {} entries (last seq {}), {} checkpoints, verified in the source ({})",
                s.entries,
                s.last_seq.unwrap_or(0),
                s.checkpoints,
                s.location
            );
            println!(
                "audit chain: {} entries copied now, {} already in the target, {} checkpoints added",
                copy.copied, copy.already, copy.checkpoints_copied
            );
            if copy.target_extra > 0 {
                println!(
                    "audit chain: the target goes on for {} entries after the source's last (written there since the copy)",
                    copy.target_extra
                );
            }
            println!(
                "audit chain: verified in the target ({}): {} entries, last valid checkpoint at seq {}, with key {key}",
                t.location,
                t.entries,
                t.last_checkpoint.unwrap_or(0)
            );
            if t.unsigned_tail > 0 {
                println!(
                    "audit chain: note: {} entries after the last checkpoint are not signed yet (as in the source); the node signs its head when it next stops",
                    t.unsigned_tail
                );
            }
        }
    }
}

struct Quiet;

impl Progress for Quiet {
    fn table(&mut self, _: &str, _: u64, _: u64) {}
    fn rows(&mut self, _: u64) {}
}

/// A progress bar per table on a terminal (stderr).
#[derive(Default)]
struct Bar {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress for Bar {
    fn table(&mut self, name: &str, total: u64, done: u64) {
        if let Some(b) = self.bar.take() {
            b.finish();
        }
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(name.to_string());
        bar.set_position(done);
        self.bar = Some(bar);
    }

    fn rows(&mut self, rows: u64) {
        if let Some(b) = &self.bar {
            b.inc(rows);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish();
        }
    }
}

/// Plain progress lines (stderr not a terminal): one per table and one per tenth of it.
#[derive(Default)]
struct Lines {
    name: String,
    total: u64,
    done: u64,
    tenth: u64,
}

impl Progress for Lines {
    fn table(&mut self, name: &str, total: u64, done: u64) {
        eprintln!("{name}: {total} rows{}", if done > 0 { format!(", {done} already copied") } else { String::new() });
        *self = Lines { name: name.to_string(), total, done, tenth: done.saturating_mul(10) / total.max(1) };
    }

    fn rows(&mut self, rows: u64) {
        self.done += rows;
        let tenth = self.done.saturating_mul(10) / self.total.max(1);
        if tenth > self.tenth {
            self.tenth = tenth;
            eprintln!("{}: {}/{}", self.name, self.done, self.total);
        }
    }
}

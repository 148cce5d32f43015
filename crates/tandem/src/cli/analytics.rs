//! `tandem trends`, `tandem spikes`, `tandem hotspots`, `tandem track`: the analytics endpoints'
//! computations as tables, over what the node's member may see (read through `Store::list` as
//! `tandem export` reads, at the highest clearance of the member's configured users).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::Args;
use tandem_analytics::calendar::Interval;
use tandem_analytics::hotspots::{HotspotQuery, hotspots};
use tandem_analytics::spikes::{SpikeQuery, spikes};
use tandem_analytics::trends::{By, TrendQuery, to_csv, trends};
use tandem_analytics::{Dataset, service};
use tandem_model::incident::Date;

use crate::config::Config;
use crate::node;

#[derive(Args)]
pub struct Window {
    #[arg(long, short)]
    pub config: PathBuf,
    /// First day counted (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day counted (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Args)]
pub struct TrendsArgs {
    #[command(flatten)]
    pub window: Window,
    /// admin1, event_type, sub_event_type, cell or member.
    #[arg(long, default_value = "admin1")]
    pub by: String,
    /// week or month.
    #[arg(long, default_value = "month")]
    pub interval: String,
    /// Only this governorate (ISO 3166-2, e.g. SY-DY).
    #[arg(long)]
    pub admin1: Option<String>,
    /// Print CSV instead of a table.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Args)]
pub struct SpikesArgs {
    #[command(flatten)]
    pub window: Window,
    /// Every governorate and week in the window, not only the flagged ones.
    #[arg(long)]
    pub all: bool,
}

#[derive(Args)]
pub struct HotspotsArgs {
    #[command(flatten)]
    pub window: Window,
    /// H3 resolution (3..=9).
    #[arg(long, default_value_t = tandem_analytics::hotspots::DEFAULT_RESOLUTION)]
    pub resolution: u8,
    /// Only political-violence events.
    #[arg(long)]
    pub violent: bool,
    /// Also run Kulldorff's space-time permutation scan (99 Monte Carlo replicates).
    #[arg(long)]
    pub scan: bool,
}

#[derive(Args)]
pub struct TrackArgs {
    #[arg(long, short)]
    pub config: PathBuf,
    /// The cell (intrusion-set id).
    pub cell: String,
}

fn day(s: &Option<String>, what: &str) -> anyhow::Result<Option<i64>> {
    s.as_deref()
        .map(|v| Date::parse(v).map(|d| d.days()).ok_or_else(|| anyhow!("--{what} must be YYYY-MM-DD, not {v:?}")))
        .transpose()
}

fn load(config: &Path) -> anyhow::Result<Dataset> {
    let config = Config::load(config)?;
    let store = node::open_store(&config)?;
    let ctx = node::operator_context(&config, store.clone())?;
    service::load(store.as_ref(), &ctx, &config.intel_collection_id()).context("reading the incidents")
}

pub fn run_trends(a: &TrendsArgs) -> anyhow::Result<ExitCode> {
    let by =
        By::parse(&a.by).ok_or_else(|| anyhow!("--by must be admin1, event_type, sub_event_type, cell or member"))?;
    let interval = Interval::parse(&a.interval).ok_or_else(|| anyhow!("--interval must be week or month"))?;
    let q = TrendQuery {
        by,
        interval,
        from: day(&a.window.from, "from")?,
        to: day(&a.window.to, "to")?,
        admin1: a.admin1.clone(),
    };
    let t = trends(&load(&a.window.config)?, &q);
    if a.csv {
        print!("{}", to_csv(&t));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<44} {:<10} {:>9} {:>8} {:>8} {:>8} {:>7} {:>8}",
        "key", "interval", "incidents", "dead", "dead lo", "dead hi", "arrests", "seizures"
    );
    for r in &t.rows {
        let s = &r.sums;
        println!(
            "{:<44} {:<10} {:>9} {:>8} {:>8} {:>8} {:>7} {:>8}",
            r.key.as_deref().unwrap_or("(withheld)"),
            r.interval,
            s.incidents,
            s.fatalities_best,
            s.fatalities_low,
            s.fatalities_high,
            s.arrests,
            s.seizures
        );
    }
    println!("{} undated, {} merged into duplicates", t.undated, t.merged);
    for e in &t.estimates {
        println!(
            "estimate {} by {} ({}, confidence {}): {}",
            e.date,
            e.member,
            e.kind,
            e.confidence.map_or("-".to_string(), |c| c.to_string()),
            e.text.as_deref().or(e.summary.as_deref()).unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_spikes(a: &SpikesArgs) -> anyhow::Result<ExitCode> {
    let q = SpikeQuery { from: day(&a.window.from, "from")?, to: day(&a.window.to, "to")?, flagged_only: !a.all };
    let weeks = spikes(&load(&a.window.config)?, &q);
    println!(
        "{:<7} {:<10} {:>8} {:>9} {:>6} {:>8} {:<17} {:>9} {:>7} {:>8}",
        "admin1", "week", "observed", "4wk mean", "surge", "change", "trendfinder", "seasonal", "score", "flagged"
    );
    for w in &weeks {
        let (mean, surge) = w
            .surge
            .as_ref()
            .map_or((String::new(), ""), |s| (format!("{:.2}", s.baseline), if s.flagged { "SURGE" } else { "-" }));
        let (change, class) = w.trendfinder.as_ref().map_or((String::new(), String::new()), |t| {
            (format!("{:+.0}%", t.score * 100.0), format!("{:?}", t.class))
        });
        let (base, score, flagged) = w.seasonal.as_ref().map_or((String::new(), String::new(), ""), |s| {
            (format!("{:.2}", s.baseline), format!("{:.1}", s.score), if s.flagged { "YES" } else { "-" })
        });
        println!(
            "{:<7} {:<10} {:>8} {:>9} {:>6} {:>8} {:<17} {:>9} {:>7} {:>8}",
            w.admin1, w.week, w.observed, mean, surge, change, class, base, score, flagged
        );
    }
    println!("{} rows", weeks.len());
    Ok(ExitCode::SUCCESS)
}

pub fn run_hotspots(a: &HotspotsArgs) -> anyhow::Result<ExitCode> {
    let q = HotspotQuery {
        from: day(&a.window.from, "from")?,
        to: day(&a.window.to, "to")?,
        resolution: a.resolution,
        violent_only: a.violent,
    };
    let ds = load(&a.window.config)?;
    let h = hotspots(&ds, &q).map_err(|e| anyhow!(e))?;
    println!("{:<16} {:>9} {:>9} {:>9} {:>8} {:>10} kind", "h3 cell", "lat", "lon", "weight", "z", "p");
    for c in &h.significant {
        println!(
            "{:<16} {:>9.4} {:>9.4} {:>9.2} {:>8.2} {:>10.2e} {}",
            c.cell, c.lat, c.lon, c.weight, c.z, c.p, c.kind
        );
    }
    println!(
        "{} significant cells (FDR q = {}) of {} at resolution {}, {} incidents",
        h.significant.len(),
        tandem_analytics::hotspots::FDR_Q,
        h.cells,
        h.resolution,
        h.incidents
    );
    if a.scan {
        let sq = tandem_analytics::scan::ScanQuery { from: q.from, to: q.to, ..Default::default() };
        let s = tandem_analytics::scan::space_time_scan(&ds, &sq).map_err(|e| anyhow!(e))?;
        println!(
            "space-time clusters ({} cases, {} weeks, {} cells, {} replicates):",
            s.cases, s.weeks, s.cells, s.replicates
        );
        for c in &s.clusters {
            println!(
                "  {} ring {} ({:.3}, {:.3})  {}..{}  observed {:.1} expected {:.1}  llr {:.2}  p {:.2}",
                c.centre, c.ring, c.lat, c.lon, c.first_week, c.last_week, c.observed, c.expected, c.llr, c.p
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_track(a: &TrackArgs) -> anyhow::Result<ExitCode> {
    let Some(t) = tandem_analytics::tracks::track(&load(&a.config)?, &a.cell) else {
        println!("no incident of {} that this member may see", a.cell);
        return Ok(ExitCode::FAILURE);
    };
    println!("{:<10} {:<7} {:<36} {:>9} {:>9} {:>8} {:>6}", "date", "admin1", "sub-event", "lat", "lon", "km", "days");
    for s in &t.steps {
        let (lat, lon) =
            s.point.map_or((String::new(), String::new()), |p| (format!("{:.4}", p.0), format!("{:.4}", p.1)));
        println!(
            "{:<10} {:<7} {:<36} {:>9} {:>9} {:>8} {:>6}",
            s.date,
            s.admin1.as_deref().unwrap_or("-"),
            s.sub_event_type.as_deref().unwrap_or("(withheld)"),
            lat,
            lon,
            s.km_from_previous.map_or(String::new(), |k| format!("{k:.1}")),
            s.days_from_previous.map_or(String::new(), |d| d.to_string())
        );
    }
    println!(
        "area of operation: {:.0} km² (convex hull of {} points), {} undated",
        t.area_km2,
        t.hull.len(),
        t.undated
    );
    for d in t.density.iter().take(3) {
        println!(
            "densest: {} ({:.4}, {:.4}) {:.4} per km² (bandwidth {:.1} km)",
            d.cell, d.lat, d.lon, d.per_km2, t.bandwidth_km
        );
    }
    for l in &t.links {
        println!(
            "linked to {}: {} places, {} materiel, {} sources, reported by {}",
            l.cell,
            l.shared_places.len(),
            l.shared_materiel.len(),
            l.shared_sources.len(),
            l.shared_members.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

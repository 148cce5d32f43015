//! `tandem extract`: draft incidents from a text file, or the scorer over a directory of
//! texts with gold files (see `tandem-extract`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use tandem_extract::gold::GoldFile;
use tandem_extract::score::{Score, score};
use tandem_geo::Gazetteer;
use tandem_model::incident::Date;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// A STIX bundle of draft incidents (originator-only until an analyst publishes them).
    Drafts,
    /// JSON in the development set's gold shape.
    Gold,
    /// Everything the extractor read, with byte spans.
    Spans,
}

#[derive(Args)]
pub struct ExtractArgs {
    /// The text to read (a first line `Published YYYY-MM-DD` sets the publication date).
    #[arg(required_unless_present = "score")]
    pub file: Option<PathBuf>,
    /// Publication date (YYYY-MM-DD); overrides the text's `Published` line.
    #[arg(long)]
    pub published: Option<String>,
    #[arg(long, value_enum, default_value = "drafts")]
    pub format: Format,
    /// Score every NN.txt in DIR against its NN.gold.json and print precision and recall.
    #[arg(long, value_name = "DIR", conflicts_with = "file")]
    pub score: Option<PathBuf>,
    /// A node's configuration: use its gazetteer (with places from `tandem place import`).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

fn today() -> Date {
    let secs = tandem_model::Timestamp::now().secs();
    Date::from_days(secs.div_euclid(86_400))
}

pub fn run(args: &ExtractArgs) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &args.score {
        let s = score_dir(dir)?;
        print!("{s}");
        return Ok(ExitCode::SUCCESS);
    }
    let Some(path) = &args.file else { bail!("a FILE or --score DIR is required") };
    let published = match &args.published {
        Some(p) => Some(Date::parse(p).with_context(|| format!("--published {p:?}: expected YYYY-MM-DD"))?),
        None => None,
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if published.is_none() && tandem_extract::dateline(&text).is_none() {
        eprintln!("warning: no --published and no `Published YYYY-MM-DD` line; relative dates are read from today");
    }
    let g = match &args.config {
        Some(c) => {
            let config = crate::config::Config::load(c)?;
            tandem_node::gazetteer::current(crate::node::open_store(&config)?.as_ref())?
        }
        None => std::sync::Arc::new(Gazetteer::embedded().with_places(Vec::new())),
    };
    let x = tandem_extract::extract(&g, &text, published, today());
    let out = match args.format {
        Format::Gold => serde_json::to_string_pretty(&GoldFile::from(&x))?,
        Format::Spans => serde_json::to_string_pretty(&x)?,
        Format::Drafts => {
            let now = tandem_model::Timestamp::now().to_stix_millis();
            let key = tandem_model::incident::deterministic_uuid(&text);
            serde_json::to_string_pretty(&tandem_extract::drafts::bundle(&x, &key, None, &now))?
        }
    };
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// Scores every `*.txt` in `dir` that has a `*.gold.json` beside it.
pub fn score_dir(dir: &Path) -> anyhow::Result<Score> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    let mut total = Score::default();
    for path in paths {
        let gold_path = path.with_extension("gold.json");
        if !gold_path.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let gold: GoldFile = serde_json::from_str(&std::fs::read_to_string(&gold_path)?)
            .with_context(|| format!("parsing {}", gold_path.display()))?;
        let fallback = Date::parse(&gold.document_date).unwrap_or_else(today);
        let x = tandem_extract::extract(Gazetteer::embedded(), &text, None, fallback);
        total.merge(&score(&gold, &GoldFile::from(&x)));
    }
    if total.documents == 0 {
        bail!("no NN.txt with NN.gold.json in {}", dir.display());
    }
    Ok(total)
}

//! The command line: [`Args`] (clap) and [`run`].

use std::fs::File;
use std::io::{BufWriter, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fec_schemes::FecRegistry;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::loss::LossSpec;
use crate::scheme::{BlockShape, Catalog};
use crate::sim::{CaseParams, CaseResult, CaseRow, CurvePoint, Order, simulate};
use crate::{SimError, plot};

/// Simulate FEC schemes under seeded packet loss: failure probability with confidence
/// intervals, reception overhead, throughput; CSV, JSON lines and SVG/PNG plots.
///
/// Every combination of --fec, --k, --repair, --order and --loss is one case. Trial i of
/// every case draws its randomness from (--seed, the case's channel, i): the same command
/// gives the same numbers on every machine and thread count, and all schemes see the same
/// losses.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "flute-fec-sim", version)]
pub struct Args {
    /// FEC schemes, comma-separated: nocode, rs, rs2m, rs129, raptor, raptorq, ldpc, or id:N[/I]
    /// for any registered FEC Encoding ID (and Instance ID).
    #[arg(long, value_delimiter = ',', default_value = "raptorq,rs")]
    pub fec: Vec<String>,
    /// Source block sizes K in symbols, comma-separated.
    #[arg(long, short = 'k', value_delimiter = ',', default_value = "256",
          value_parser = clap::value_parser!(u32).range(1..=56_403))]
    pub k: Vec<u32>,
    /// Symbol size T in bytes.
    #[arg(long, short = 't', default_value_t = 1024,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub symbol_size: u16,
    /// Repair symbols per block as a fraction of K (0.2 or 20%), comma-separated: the
    /// sender sends K + ceil(K * repair) symbols per block.
    #[arg(long, value_delimiter = ',', default_value = "0.2", value_parser = parse_ratio)]
    pub repair: Vec<f64>,
    /// Loss model; repeat the option for several: none | P (iid, e.g. 0.1 or 10%) |
    /// iid:FROM..TO/STEP | ge:p,r\[,h\[,k\]\] (Gilbert-Elliott: p = P(good->bad),
    /// r = P(bad->good), h and k = P(delivered) in bad and good, default 0 and 1) |
    /// trace:FILE (one 0 = received or 1 = lost per packet).
    #[arg(long, default_value = "iid:0.1")]
    pub loss: Vec<String>,
    /// Transmission orders, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "source-repair"
    )]
    pub order: Vec<Order>,
    /// Source blocks per object (matters for --order interleaved and random).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub blocks: u32,
    /// Trials (objects) per case.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub trials: u64,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Confidence level of the Clopper-Pearson intervals.
    #[arg(long, default_value_t = 0.95, value_parser = parse_confidence)]
    pub confidence: f64,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Output directory for results.csv, results.jsonl, overhead.csv and the plots.
    #[arg(long, short = 'o', default_value = "fec-sim-out")]
    pub out: PathBuf,
    /// Write no plots.
    #[arg(long)]
    pub no_plots: bool,
    /// Write SVG plots only.
    #[arg(long)]
    pub no_png: bool,
    /// Print nothing (no progress, no per-case lines, no table); the files hold the results.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("{s:?} is not a ratio (examples: 0.2, 20%)"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("{s:?} is outside 0..=100"));
    }
    Ok(v)
}

fn parse_confidence(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if !(v > 0.0 && v < 1.0) {
        return Err("the confidence level must be strictly between 0 and 1".into());
    }
    Ok(v)
}

/// What a run did.
#[derive(Debug)]
pub struct RunSummary {
    /// One result per simulated case, in run order.
    pub results: Vec<CaseResult>,
    /// Cases skipped, with the reason.
    pub skipped: Vec<String>,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// Parses `argv` (program name first) and runs; for `main` functions. Errors go to stderr.
pub fn main_with<I, T>(registry: FecRegistry, argv: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::Parser as _;
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(registry, args) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flute-fec-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every case of `args` with the schemes of `registry` under the built-in names
/// ([`Catalog::builtin`]).
pub fn run(registry: FecRegistry, args: Args) -> Result<RunSummary, SimError> {
    run_with_catalog(registry, &Catalog::builtin(), args)
}

/// [`run`] with a catalog that knows more names (e.g. a scheme whose OTI needs a builder).
pub fn run_with_catalog(
    registry: FecRegistry,
    catalog: &Catalog,
    args: Args,
) -> Result<RunSummary, SimError> {
    let schemes = args
        .fec
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|name| catalog.resolve(&registry, name))
        .collect::<Result<Vec<_>, _>>()?;
    let mut losses = Vec::new();
    for l in &args.loss {
        losses.extend(LossSpec::parse(l)?);
    }
    if schemes.is_empty() || args.k.is_empty() || args.repair.is_empty() || losses.is_empty() {
        return Err(SimError::BadArg(
            "--fec, --k, --repair and --loss need at least one value each".into(),
        ));
    }
    let orders = if args.order.is_empty() {
        vec![Order::SourceRepair]
    } else {
        args.order.clone()
    };
    let threads = args.threads.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });

    // Every case, checked before anything runs.
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    for s in &schemes {
        for &k in &args.k {
            for &repair in &args.repair {
                for &order in &orders {
                    for loss in &losses {
                        let c = CaseParams {
                            k,
                            t: args.symbol_size,
                            repair,
                            blocks: args.blocks,
                            loss: loss.clone(),
                            order,
                            trials: args.trials,
                            seed: args.seed,
                            confidence: args.confidence,
                        };
                        let shape = BlockShape {
                            k,
                            t: args.symbol_size,
                            n: c.n(),
                        };
                        match s.prepare(&registry, shape) {
                            Ok(p) => cases.push((p, c)),
                            Err(e @ SimError::Unsupported { .. }) => {
                                let msg = format!("skipped: {e}");
                                if !skipped.contains(&msg) {
                                    skipped.push(msg);
                                }
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
        }
    }
    for s in &skipped {
        eprintln!("flute-fec-sim: {s}");
    }
    if cases.is_empty() {
        return Err(SimError::NoCases);
    }

    std::fs::create_dir_all(&args.out).map_err(|source| SimError::Io {
        path: args.out.clone(),
        source,
    })?;
    let mut out = Outputs::create(&args.out)?;

    let total = args.trials * cases.len() as u64;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} trials, eta {eta} {msg}",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        b
    };
    let terminal = std::io::stderr().is_terminal();
    if !args.quiet {
        eprintln!(
            "flute-fec-sim: {} cases x {} trials on {threads} threads, output in {}",
            cases.len(),
            args.trials,
            args.out.display()
        );
    }
    let mut results = Vec::new();
    for (i, (p, c)) in cases.iter().enumerate() {
        bar.set_message(format!(
            "case {}/{}: {} K={} {} {}",
            i + 1,
            cases.len(),
            p.name,
            c.k,
            c.loss.label(),
            c.order.name()
        ));
        let r = simulate(p, c, threads, &|n| bar.inc(n))?;
        out.write(&r)?;
        if !args.quiet {
            let line = summary_line(&r.row);
            if terminal {
                bar.suspend(|| eprintln!("{line}"));
            } else {
                eprintln!("{line}");
            }
        }
        results.push(r);
    }
    bar.finish_and_clear();
    let mut files = out.finish()?;
    if !args.no_plots {
        files.extend(plot::write_plots(&args.out, &results, !args.no_png)?);
    }
    if !args.quiet {
        print_table(&results);
    }
    Ok(RunSummary {
        results,
        skipped,
        files,
    })
}

fn summary_line(r: &CaseRow) -> String {
    format!(
        "  {} K={} repair={} {} {}: P(fail) {:.3e} [{:.3e}, {:.3e}], overhead mean {}, {:.1}s",
        r.scheme,
        r.k,
        r.repair,
        r.loss,
        r.order.name(),
        r.p_fail,
        r.p_fail_lo,
        r.p_fail_hi,
        r.overhead_mean
            .map_or_else(|| "-".to_string(), |m| format!("{m:.3}")),
        r.seconds
    )
}

fn print_table(results: &[CaseResult]) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{:<10} {:>6} {:>6} {:<16} {:<13} {:>10} {:>23} {:>8} {:>5} {:>5} {:>9} {:>9}",
        "scheme",
        "K",
        "repair",
        "loss",
        "order",
        "P(fail)",
        "CI",
        "ovh mean",
        "p99",
        "max",
        "enc MB/s",
        "dec MB/s"
    );
    for r in results {
        let r = &r.row;
        let opt = |v: Option<u32>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
        let _ = writeln!(
            out,
            "{:<10} {:>6} {:>6} {:<16} {:<13} {:>10.3e} {:>23} {:>8} {:>5} {:>5} {:>9.1} {:>9}",
            r.scheme,
            r.k,
            r.repair,
            r.loss,
            r.order.name(),
            r.p_fail,
            format!("[{:.2e}, {:.2e}]", r.p_fail_lo, r.p_fail_hi),
            r.overhead_mean
                .map_or_else(|| "-".to_string(), |m| format!("{m:.3}")),
            opt(r.overhead_p99),
            opt(r.overhead_max),
            r.encode_mb_s,
            r.decode_mb_s
                .map_or_else(|| "-".to_string(), |m| format!("{m:.1}")),
        );
    }
}

/// A row of `overhead.csv`: one point of one case's failure-vs-overhead curve.
#[derive(serde::Serialize)]
struct OverheadRow<'a> {
    scheme: &'a str,
    k: u32,
    symbol_size: u16,
    repair: f64,
    n: u32,
    blocks: u32,
    order: Order,
    loss: &'a str,
    overhead: u32,
    received: u64,
    eligible: u64,
    failures: u64,
    p_fail: f64,
    p_fail_lo: f64,
    p_fail_hi: f64,
}

/// A line of `results.jsonl`: the row and the curve.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    #[serde(flatten)]
    row: &'a CaseRow,
    curve: &'a [CurvePoint],
}

struct Outputs {
    dir: PathBuf,
    csv: csv::Writer<File>,
    curve: csv::Writer<File>,
    jsonl: BufWriter<File>,
}

impl Outputs {
    const RESULTS: &'static str = "results.csv";
    const CURVES: &'static str = "overhead.csv";
    const JSONL: &'static str = "results.jsonl";

    fn create(dir: &Path) -> Result<Self, SimError> {
        let open = |name: &str| {
            let path = dir.join(name);
            File::create(&path).map_err(|source| SimError::Io { path, source })
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            csv: csv::Writer::from_writer(open(Self::RESULTS)?),
            curve: csv::Writer::from_writer(open(Self::CURVES)?),
            jsonl: BufWriter::new(open(Self::JSONL)?),
        })
    }

    fn io(&self, name: &str, e: impl Into<std::io::Error>) -> SimError {
        SimError::Io {
            path: self.dir.join(name),
            source: e.into(),
        }
    }

    /// Writes one case and flushes, so an interrupted run keeps the cases it finished.
    fn write(&mut self, r: &CaseResult) -> Result<(), SimError> {
        self.csv
            .serialize(&r.row)
            .and_then(|()| Ok(self.csv.flush()?))
            .map_err(|e| self.io(Self::RESULTS, e))?;
        for c in &r.curve {
            let row = OverheadRow {
                scheme: &r.row.scheme,
                k: r.row.k,
                symbol_size: r.row.symbol_size,
                repair: r.row.repair,
                n: r.row.n,
                blocks: r.row.blocks,
                order: r.row.order,
                loss: &r.row.loss,
                overhead: c.overhead,
                received: u64::from(r.row.k) + u64::from(c.overhead),
                eligible: c.eligible,
                failures: c.failures,
                p_fail: c.p_fail,
                p_fail_lo: c.p_fail_lo,
                p_fail_hi: c.p_fail_hi,
            };
            self.curve
                .serialize(row)
                .map_err(|e| self.io(Self::CURVES, e))?;
        }
        self.curve.flush().map_err(|e| self.io(Self::CURVES, e))?;
        let line = serde_json::to_string(&JsonLine {
            row: &r.row,
            curve: &r.curve,
        })
        .map_err(|e| self.io(Self::JSONL, e))?;
        writeln!(self.jsonl, "{line}")
            .and_then(|()| self.jsonl.flush())
            .map_err(|e| self.io(Self::JSONL, e))
    }

    fn finish(self) -> Result<Vec<PathBuf>, SimError> {
        Ok([Self::RESULTS, Self::CURVES, Self::JSONL]
            .iter()
            .map(|n| self.dir.join(n))
            .collect())
    }
}

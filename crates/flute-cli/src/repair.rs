//! File repair over HTTP (3GPP TS 26.346 §9.3) in the CLI: `flute repair-server`,
//! `flute send --repair-listen`, and `flute recv --repair URL`. The HTTP parts need the
//! crate feature `repair` (on by default).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use flute_receiver::{Receiver, ReceiverConfig, Toi};

use crate::Interrupt;
#[cfg(feature = "repair")]
use crate::opts::Fec;
use crate::opts::{FecArg, parse_percent, parse_secs};
use crate::progress::Bars;
use crate::recv::Outcome;

/// `flute recv` options for file repair.
#[derive(Debug, Clone, Args, Default)]
pub(crate) struct RecvRepairArgs {
    /// Repair server (3GPP TS 26.346 §9.3 serviceURI, http:// only), repeatable: after the
    /// session ends, incomplete files are completed from a server picked at random.
    #[arg(long = "repair", value_name = "URL")]
    pub(crate) urls: Vec<String>,
    /// Fixed wait before the first repair request, in seconds (offsetTime).
    #[arg(long, value_parser = parse_secs, default_value = "0", value_name = "S")]
    pub(crate) repair_offset: Duration,
    /// Upper bound of a uniformly random wait added to it, in seconds (randomTimePeriod).
    #[arg(long, value_parser = parse_secs, default_value = "0", value_name = "S")]
    pub(crate) repair_random: Duration,
    /// Attempts per repair request (other servers picked at random, jittered back-off).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub(crate) repair_attempts: u32,
    /// Also repair from the servers the FDT announces (3GPP postFileRepair), waiting at
    /// least the back-off it gives.
    #[arg(long)]
    pub(crate) repair_announced: bool,
}

impl RecvRepairArgs {
    /// True if repair was asked for.
    pub(crate) fn enabled(&self) -> bool {
        !self.urls.is_empty() || self.repair_announced
    }

    /// Turns on the receiver's keeping of incomplete objects.
    pub(crate) fn configure(&self, cfg: &mut ReceiverConfig) {
        if self.enabled() {
            cfg.repair_max_objects = 256;
        }
    }
}

/// `flute send` options for file repair.
#[derive(Debug, Clone, Args, Default)]
pub(crate) struct SendRepairArgs {
    /// Run a repair server (3GPP TS 26.346 §9.3) for the files sent, on ADDR:PORT (port 0:
    /// any free port; the URL is printed). It keeps serving after the transmission until
    /// Ctrl-C, or for --repair-linger seconds.
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) repair_listen: Option<SocketAddr>,
    /// With --repair-listen: stop serving this many seconds after the transmission ended.
    #[arg(long, value_parser = parse_secs, value_name = "S", requires = "repair_listen")]
    pub(crate) repair_linger: Option<Duration>,
    /// The repair server URL announced in the FDT (3GPP postFileRepair serviceURI).
    /// Default: http://ADDR:PORT/repair of --repair-listen, unless ADDR is unspecified
    /// (0.0.0.0, ::), in which case nothing is announced without this option.
    #[arg(long, value_name = "URL", requires = "repair_listen")]
    pub(crate) repair_announce: Option<String>,
    /// Announced offsetTime: receivers wait this many seconds after the transmission.
    #[arg(long, value_parser = parse_secs, default_value = "0", value_name = "S")]
    pub(crate) repair_offset: Duration,
    /// Announced randomTimePeriod: receivers add a random wait of up to this many seconds.
    #[arg(long, value_parser = parse_secs, default_value = "0", value_name = "S")]
    pub(crate) repair_random: Duration,
}

/// Arguments of `flute repair-server`.
#[derive(Debug, Args)]
pub(crate) struct RepairServerArgs {
    /// Directory (or file) to serve, as `flute send DIR` announces it: the Content-Locations
    /// start with the directory's name. Repeatable.
    #[arg(long, required = true, value_name = "DIR")]
    pub(crate) root: Vec<std::path::PathBuf>,
    /// Address to listen on, ADDR:PORT (port 0: any free port; the URL is printed).
    #[arg(long, short = 'l')]
    pub(crate) listen: SocketAddr,
    /// FEC scheme the files were sent with (as `flute send --fec`).
    #[arg(long, default_value = "nocode")]
    pub(crate) fec: FecArg,
    /// Repair symbols per source block the files were sent with, in percent (as `flute send --repair`).
    #[arg(long, value_parser = parse_percent)]
    pub(crate) repair: Option<f64>,
    /// Encoding symbol length E the files were sent with.
    #[arg(long, default_value_t = 1400, value_parser = clap::value_parser!(u16).range(16..=8192))]
    pub(crate) symbol_size: u16,
    /// Maximum source block length B the files were sent with.
    #[arg(long)]
    pub(crate) block_size: Option<u32>,
    /// Requests answered at once per client address.
    #[arg(long, default_value_t = 4)]
    pub(crate) per_client: usize,
    /// Most symbols in one answer.
    #[arg(long, default_value_t = 1 << 16)]
    pub(crate) max_symbols: u64,
}

#[cfg(feature = "repair")]
mod imp {
    use std::sync::Arc;
    use std::time::Instant;

    use flute_repair_http::{
        BackgroundServer, ClientConfig, RepairServer, ServedFile, ServerConfig, repair_all,
    };

    use super::*;

    /// The files `paths` announce under `fec`, `e`, `b`, `repair` as served files.
    pub(crate) fn served(
        paths: &[std::path::PathBuf],
        fec: &Fec,
        e: u16,
        b: Option<u32>,
        repair: Option<f64>,
    ) -> Result<Vec<ServedFile>, String> {
        let repair = repair.unwrap_or_else(|| fec.default_repair());
        Ok(crate::send::collect(paths)?
            .into_iter()
            .map(|it| ServedFile {
                oti: fec.oti(it.len, e, b, repair),
                content_location: it.location,
                path: it.path,
            })
            .collect())
    }

    pub(crate) fn start(
        files: Vec<ServedFile>,
        listen: SocketAddr,
        cfg: ServerConfig,
    ) -> Result<BackgroundServer, String> {
        let n = files.len();
        let server = RepairServer::new(files, cfg).map_err(|e| e.to_string())?;
        let bg = BackgroundServer::start(Arc::new(server), listen, 2)
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        // Tests and scripts read this line for the port.
        println!(
            "repair server: {n} file(s) on http://{}/repair",
            bg.local_addr()
        );
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        Ok(bg)
    }

    pub(crate) fn run_server(
        args: RepairServerArgs,
        registry: &Arc<fec_schemes::FecRegistry>,
        interrupt: &Interrupt,
    ) -> Result<ExitCode, String> {
        let fec = Fec::resolve(&args.fec, registry)?;
        let files = served(
            &args.root,
            &fec,
            args.symbol_size,
            args.block_size,
            args.repair,
        )?;
        let cfg = ServerConfig {
            max_requests_per_client: args.per_client.max(1),
            max_symbols_per_response: args.max_symbols.max(1),
            ..ServerConfig::default()
        };
        let bg = start(files, args.listen, cfg)?;
        while !interrupt.requested() {
            std::thread::sleep(Duration::from_millis(100));
        }
        bg.stop();
        Ok(ExitCode::SUCCESS)
    }

    /// A repair server beside `flute send`, and what the FDT announces of it.
    pub(crate) struct SendSide(
        Option<(BackgroundServer, Option<Duration>)>,
        Vec<fdt::XmlElement>,
    );

    impl SendSide {
        pub(crate) fn start(
            args: &SendRepairArgs,
            send: &crate::send::SendArgs,
            fec: &Fec,
        ) -> Result<Self, String> {
            let Some(listen) = args.repair_listen else {
                return Ok(Self(None, Vec::new()));
            };
            if send.cenc != crate::opts::CencArg::None {
                return Err(
                    "--repair-listen serves the files as they are: it needs --cenc none".into(),
                );
            }
            let files = served(
                &send.paths,
                fec,
                send.symbol_size(),
                send.block_size,
                send.repair,
            )?;
            let bg = start(files, listen, ServerConfig::default())?;
            let url = match &args.repair_announce {
                Some(u) => Some(u.clone()),
                None if bg.local_addr().ip().is_unspecified() => {
                    eprintln!(
                        "note: --repair-listen on {} is not announced in the FDT; give --repair-announce URL",
                        bg.local_addr()
                    );
                    None
                }
                None => Some(format!("http://{}/repair", bg.local_addr())),
            };
            let ext = url
                .map(|u| {
                    flute_repair::PostFileRepair {
                        offset_time: args.repair_offset,
                        random_time_period: args.repair_random,
                        service_uris: vec![u],
                    }
                    .to_element()
                })
                .into_iter()
                .collect();
            Ok(Self(Some((bg, args.repair_linger)), ext))
        }

        /// The FDT extension elements announcing the server (3GPP postFileRepair).
        pub(crate) fn fdt_extensions(&self) -> Vec<fdt::XmlElement> {
            self.1.clone()
        }

        /// After the transmission: serve on until Ctrl-C or the linger time.
        pub(crate) fn linger(self, interrupt: &Interrupt) {
            let Some((bg, linger)) = self.0 else {
                return;
            };
            let end = linger.map(|d| Instant::now() + d);
            if end.is_none() {
                eprintln!("transmission done; serving repairs until Ctrl-C");
            }
            while !interrupt.requested() && end.is_none_or(|e| Instant::now() < e) {
                std::thread::sleep(Duration::from_millis(50));
            }
            bg.stop();
        }
    }

    /// Repairs what `rx` kept after the session(s) ended, and records the outcome.
    pub(crate) fn after_receive(
        args: &RecvRepairArgs,
        rx: &mut Receiver,
        out: &mut Outcome,
        started: &mut HashMap<Toi, bool>,
        bars: &Bars,
    ) {
        if !args.enabled() {
            return;
        }
        // The transmission is over: end every session so that what is incomplete is kept
        // for repair (a capture's sessions would otherwise stay open).
        rx.handle_timeout(Instant::now() + Duration::from_secs(30 * 24 * 3600));
        take_events(rx, out, started, bars);
        if rx.repair_pending().is_empty() {
            return;
        }
        let cfg = ClientConfig {
            service_uris: args.urls.clone(),
            offset_time: args.repair_offset,
            random_time_period: args.repair_random,
            max_attempts: args.repair_attempts.max(1),
            use_announced: args.repair_announced,
            ..ClientConfig::default()
        };
        let from = if args.urls.is_empty() {
            "the servers the FDT announced".to_owned()
        } else {
            args.urls.join(", ")
        };
        bars.println(&format!(
            "repairing {} incomplete file(s) from {from}",
            rx.repair_pending().len(),
        ));
        let report = repair_all(rx, &cfg);
        out.repaired_bytes += rx.repair_stats().symbol_bytes;
        out.repair_requests += report.requests;
        for (toi, e) in &report.errors {
            bars.println(&format!("repair of TOI {toi}: {e}"));
        }
        take_events(rx, out, started, bars);
    }
}

#[cfg(feature = "repair")]
pub(crate) use imp::{SendSide, after_receive, run_server};

#[cfg(not(feature = "repair"))]
mod imp {
    use super::*;

    const OFF: &str = "this flute was built without the `repair` feature";

    pub(crate) fn run_server(
        _: RepairServerArgs,
        _: &std::sync::Arc<fec_schemes::FecRegistry>,
        _: &Interrupt,
    ) -> Result<ExitCode, String> {
        Err(OFF.into())
    }

    pub(crate) struct SendSide;

    impl SendSide {
        pub(crate) fn start(
            args: &SendRepairArgs,
            _: &crate::send::SendArgs,
            _: &crate::opts::Fec,
        ) -> Result<Self, String> {
            match args.repair_listen {
                Some(_) => Err(OFF.into()),
                None => Ok(Self),
            }
        }

        pub(crate) fn fdt_extensions(&self) -> Vec<fdt::XmlElement> {
            Vec::new()
        }

        pub(crate) fn linger(self, _: &Interrupt) {}
    }

    pub(crate) fn after_receive(
        args: &RecvRepairArgs,
        _: &mut Receiver,
        _: &mut Outcome,
        _: &mut HashMap<Toi, bool>,
        bars: &Bars,
    ) {
        if args.enabled() {
            bars.println(OFF);
        }
    }
}

#[cfg(not(feature = "repair"))]
pub(crate) use imp::{SendSide, after_receive, run_server};

/// Records the receiver's events after the live loop (repair): completions, failures.
#[cfg(feature = "repair")]
fn take_events(
    rx: &mut Receiver,
    out: &mut Outcome,
    started: &mut HashMap<Toi, bool>,
    bars: &Bars,
) {
    use flute_receiver::ReceiverEvent;
    while let Some(ev) = rx.poll_event() {
        match ev {
            ReceiverEvent::ObjectComplete {
                toi,
                content_location,
                content_length,
                ..
            } => {
                started.insert(toi, true);
                out.record_complete(bars, &content_location, content_length, " after repair");
            }
            ReceiverEvent::ObjectFailed { toi, reason, .. } => {
                started.insert(toi, true);
                bars.println(&format!("FAILED TOI {toi}: {reason}"));
                out.failed
                    .push((toi, format!("TOI {toi}"), reason.to_string()));
            }
            _ => {}
        }
    }
}

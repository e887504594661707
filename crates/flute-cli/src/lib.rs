//! The `flute` command as a library: [`run`] takes the FEC registry and the arguments, so
//! that a program that registers its own FEC scheme gets all of `flute send`, `recv`,
//! `inspect` and `demo` with it (see `examples/custom_scheme.rs`). The `flute` binary is
//! `run(FecRegistry::with_builtin(), std::env::args_os())`. See `docs/cli.md`.
// The binary reads clocks and opens sockets (through flute-io); the workspace's sans-IO
// bans on Instant::now / SystemTime::now / UdpSocket::bind do not apply here.
#![allow(clippy::disallowed_methods)]

mod demo;
mod file_md5;
mod inspect;
mod opts;
mod progress;
mod recv;
mod repair;
mod send;
mod stdin;
mod stdout;
mod watch;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use clap::{Parser, Subcommand};
use fec_schemes::FecRegistry;

/// Send, receive and inspect FLUTE (RFC 6726) file delivery sessions.
#[derive(Debug, Parser)]
#[command(name = "flute", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Send files or directories to a UDP destination (unicast or multicast).
    Send(Box<send::SendArgs>),
    /// Receive files from a UDP address or a capture file into a directory.
    Recv(recv::RecvArgs),
    /// Decode every FLUTE packet of a pcap/pcapng capture, with conformance diagnostics.
    Inspect(inspect::InspectArgs),
    /// Send a generated file over loopback through a seeded lossy path and verify it.
    Demo(demo::DemoArgs),
    /// Serve 3GPP TS 26.346 §9.3 file repair requests over HTTP for the files given.
    RepairServer(repair::RepairServerArgs),
}

/// Ctrl-C handling shared by the subcommands: the first press asks for a graceful stop
/// (`graceful`), the second one for an immediate one (`hard`).
#[derive(Debug, Clone)]
pub(crate) struct Interrupt {
    presses: Arc<AtomicU32>,
    /// Set on the second Ctrl-C: the adapter loops stop at once.
    pub(crate) hard: Arc<AtomicBool>,
}

impl Interrupt {
    fn install() -> Self {
        let me = Self {
            presses: Arc::new(AtomicU32::new(0)),
            hard: Arc::new(AtomicBool::new(false)),
        };
        let (p, h) = (me.presses.clone(), me.hard.clone());
        // If a handler is already installed (tests), keep going without one.
        let _ = ctrlc::set_handler(move || {
            if p.fetch_add(1, Ordering::SeqCst) >= 1 {
                h.store(true, Ordering::SeqCst);
            } else {
                eprintln!("\ninterrupted: finishing (Ctrl-C again to stop at once)");
            }
        });
        me
    }

    /// True after the first Ctrl-C.
    pub(crate) fn requested(&self) -> bool {
        self.presses.load(Ordering::SeqCst) > 0
    }
}

/// Runs the `flute` command line `args` (the first item is the program name, as in
/// `std::env::args_os()`) with the FEC schemes of `registry`: `--fec` names any of them,
/// and `recv` and `inspect` decode any of them. Returns the process exit status: 0 on
/// success, 1 when objects failed or are missing (or `inspect` found diagnostics), 2 on
/// errors, 130 after Ctrl-C.
///
/// ```no_run
/// use fec_schemes::FecRegistry;
///
/// fn main() -> std::process::ExitCode {
///     let mut registry = FecRegistry::with_builtin();
///     // registry.register(std::sync::Arc::new(MyScheme))?;
///     flute_cli::run(registry, std::env::args_os())
/// }
/// ```
pub fn run<I, T>(registry: FecRegistry, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout with status 0, usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let registry = Arc::new(registry);
    let interrupt = Interrupt::install();
    let result = match cli.cmd {
        Cmd::Send(a) => send::run(*a, &registry, &interrupt),
        Cmd::Recv(a) => recv::run(a, &registry, &interrupt),
        Cmd::Inspect(a) => inspect::run(a, &registry),
        Cmd::Demo(a) => demo::run(a, &registry, &interrupt),
        Cmd::RepairServer(a) => repair::run_server(a, &registry, &interrupt),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("flute: error: {e}");
            ExitCode::from(2)
        }
    }
}

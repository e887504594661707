//! The `flute` command with the built-in FEC schemes; everything else is in the library
//! (`flute_cli::run`).

use std::process::ExitCode;

use fec_schemes::FecRegistry;

fn main() -> ExitCode {
    flute_cli::run(FecRegistry::with_builtin(), std::env::args_os())
}

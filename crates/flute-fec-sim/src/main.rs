//! `flute-fec-sim`: the FEC research workbench on the built-in schemes (see `docs/fec-sim.md`).

use std::process::ExitCode;

fn main() -> ExitCode {
    flute_fec_sim::main_with(
        fec_schemes::FecRegistry::with_builtin(),
        std::env::args_os(),
    )
}

//! A FEC researcher's `flute` command: the built-in schemes plus one of their own, with every
//! subcommand (`send`, `recv`, `inspect`, `demo`) working on it. The scheme here is the XOR
//! parity tutorial of `fec-schemes` (FEC Encoding ID 130, Instance ID 0x7001 = 28673).
//!
//! ```text
//! cargo run -p flute-cli --example custom_scheme -- demo --fec 130/28673 --loss 2%
//! cargo run -p flute-cli --example custom_scheme -- send FILE --dest 239.255.1.1:3400 --fec 130/28673
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use fec_schemes::FecRegistry;

#[path = "../../fec-schemes/examples/xor_parity.rs"]
#[allow(dead_code, unreachable_pub)] // the tutorial's own `main` is not used here
mod xor_parity;

fn main() -> ExitCode {
    let mut registry = FecRegistry::with_builtin();
    if let Err(e) = registry.register(Arc::new(xor_parity::XorParity)) {
        eprintln!("cannot register the XOR parity scheme: {e}");
        return ExitCode::from(2);
    }
    flute_cli::run(registry, std::env::args_os())
}

#![no_main]
//! Fuzz target `receiver_datagrams`: see `flute_fuzz::receiver_datagrams` for the
//! framing and the invariants it checks. Under cargo-fuzz's default debug assertions the
//! `raptorq` crate verifies its solver matrices at every step (quadratic), so inputs that
//! reach a RaptorQ decode can be reported as slow units (~20 s); the same inputs take
//! ~20 ms with `cargo fuzz run -O`. They are not failures.
libfuzzer_sys::fuzz_target!(|data: &[u8]| flute_fuzz::receiver_datagrams(data));

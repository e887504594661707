#![no_main]
//! Fuzz target `symbol_container`: see `flute_fuzz::symbol_container` for the invariant it checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| flute_fuzz::symbol_container(data));

#![no_main]
//! Fuzz target `lct_parse`: see `flute_fuzz::lct_parse` for the invariant it checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| flute_fuzz::lct_parse(data));

#![no_main]
//! Fuzz target `fti_parse`: see `flute_fuzz::fti_parse` for the invariant it checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| flute_fuzz::fti_parse(data));

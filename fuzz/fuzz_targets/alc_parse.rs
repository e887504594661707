#![no_main]
//! Fuzz target `alc_parse`: see `flute_fuzz::alc_parse` for the invariant it checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| flute_fuzz::alc_parse(data));

#![no_main]
//! Fuzz target `repair_query`: see `flute_fuzz::repair_query` for the invariant it checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| flute_fuzz::repair_query(data));

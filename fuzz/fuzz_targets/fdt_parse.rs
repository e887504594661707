#![no_main]
//! Fuzz target `fdt_parse`: see `flute_fuzz::fdt_parse` for the invariant it checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| flute_fuzz::fdt_parse(data));

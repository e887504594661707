#![no_main]
//! Fuzz target `pcap_read`: see `flute_fuzz::pcap_read` for the invariant it checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| flute_fuzz::pcap_read(data));

//! The tutorial scheme of `examples/xor_parity.rs` (one XOR parity symbol per block, FEC
//! Encoding ID 130, Instance ID 0x7001) run through the conformance suite, so CI checks the
//! tutorial. Also checks that the suite does catch a broken scheme.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/xor_parity.rs"]
mod xor_parity;

use std::sync::Arc;

use bytes::Bytes;
use fec_schemes::{
    BlockDecoder, BlockEncoder, BlockSpec, Blocking, FecEncodingId, FecError, FecInstanceId,
    FecRegistry, FecScheme, Oti, PayloadId, SchemeKey, SchemeSpecific, conformance,
};
use xor_parity::XorParity;

fec_schemes::fec_conformance!(
    xor_toy_suite,
    XorParity,
    vec![
        XorParity::oti(1000, 64, 8),
        XorParity::oti(77, 16, 3),
        XorParity::oti(4096, 128, 32),
    ]
);

#[test]
fn xor_toy_example_main_runs() {
    xor_parity::main().unwrap();
}

#[test]
fn xor_toy_registers_beside_builtins() {
    let mut r = FecRegistry::with_builtin();
    r.register(Arc::new(XorParity)).unwrap();
    let s = r
        .get(FecEncodingId::COMPACT, Some(FecInstanceId(0x7001)))
        .unwrap();
    assert_eq!(s.name(), "XOR parity (tutorial)");
    assert!(matches!(
        r.register(Arc::new(XorParity)),
        Err(FecError::DuplicateScheme { .. })
    ));
}

/// A deliberately broken scheme: the tutorial scheme whose decoder flips one output bit.
/// The suite must notice (guards against a suite that passes everything).
#[derive(Debug)]
struct Broken;

struct FlipDecoder(Box<dyn BlockDecoder>);

impl BlockDecoder for FlipDecoder {
    fn block(&self) -> &BlockSpec {
        self.0.block()
    }
    fn push(&mut self, esi: u32, s: &[u8]) -> Result<fec_schemes::PushOutcome, FecError> {
        self.0.push(esi, s)
    }
    fn received(&self) -> u32 {
        self.0.received()
    }
    fn is_decodable(&self) -> bool {
        self.0.is_decodable()
    }
    fn decode(&mut self) -> Result<Bytes, FecError> {
        let mut v = self.0.decode()?.to_vec();
        if let Some(b) = v.first_mut() {
            *b ^= 1;
        }
        Ok(Bytes::from(v))
    }
    fn missing_source_symbols(&self) -> Vec<u32> {
        self.0.missing_source_symbols()
    }
}

impl FecScheme for Broken {
    fn key(&self) -> SchemeKey {
        XorParity.key()
    }
    fn name(&self) -> &'static str {
        "broken"
    }
    fn payload_id_len(&self) -> usize {
        XorParity.payload_id_len()
    }
    fn read_payload_id(&self, b: &[u8], o: Option<&Oti>) -> Result<PayloadId, FecError> {
        XorParity.read_payload_id(b, o)
    }
    fn write_payload_id(&self, id: &PayloadId, o: &Oti, out: &mut [u8]) -> Result<(), FecError> {
        XorParity.write_payload_id(id, o, out)
    }
    fn fti_len(&self, o: &Oti) -> usize {
        XorParity.fti_len(o)
    }
    fn read_fti(&self, e: &[u8]) -> Result<Oti, FecError> {
        XorParity.read_fti(e)
    }
    fn write_fti(&self, o: &Oti, out: &mut [u8]) -> Result<usize, FecError> {
        XorParity.write_fti(o, out)
    }
    fn read_scheme_specific_info(&self, i: &[u8]) -> Result<SchemeSpecific, FecError> {
        XorParity.read_scheme_specific_info(i)
    }
    fn write_scheme_specific_info(&self, o: &Oti) -> Vec<u8> {
        XorParity.write_scheme_specific_info(o)
    }
    fn validate_oti(&self, o: &Oti) -> Result<(), FecError> {
        XorParity.validate_oti(o)
    }
    fn blocking(&self, o: &Oti) -> Result<Blocking, FecError> {
        XorParity.blocking(o)
    }
    fn esi_limit(&self, o: &Oti, b: &BlockSpec) -> u32 {
        XorParity.esi_limit(o, b)
    }
    fn encoder(&self, o: &Oti, b: &BlockSpec, d: Bytes) -> Result<Box<dyn BlockEncoder>, FecError> {
        XorParity.encoder(o, b, d)
    }
    fn decoder(&self, o: &Oti, b: &BlockSpec) -> Result<Box<dyn BlockDecoder>, FecError> {
        Ok(Box::new(FlipDecoder(XorParity.decoder(o, b)?)))
    }
}

#[test]
fn conformance_suite_catches_a_broken_decoder() {
    let failures = conformance::run_all_report(&Broken, &[XorParity::oti(1000, 64, 8)]);
    let names: Vec<&str> = failures.iter().map(|(n, _)| *n).collect();
    assert!(names.contains(&"round_trip_random_loss"), "{failures:?}");
    assert!(
        names.contains(&"decode_source_symbols_only"),
        "{failures:?}"
    );
}

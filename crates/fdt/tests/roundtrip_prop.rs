//! Property tests: `parse(emit(m)) == m` in every profile, and the parser never panics.

mod common;

use fdt::*;
use proptest::prelude::*;

fn expected_after(profile: Profile, m: &FdtInstance) -> FdtInstance {
    let mut m = m.clone();
    if profile == Profile::Mbms3gpp && m.schema_version.is_none() {
        m.schema_version = Some(DEFAULT_SCHEMA_VERSION);
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parse_emit_round_trip(m in common::instance(MAX_TOI)) {
        for profile in [Profile::Rfc6726, Profile::Rfc3926, Profile::Mbms3gpp] {
            let xml = m.emit(profile).map_err(|e| TestCaseError::fail(format!("{profile:?}: {e}")))?;
            let opts = ParseOptions { profile: Some(profile), ..ParseOptions::default() };
            let parsed = FdtInstance::parse_with(xml.as_bytes(), &opts)
                .map_err(|e| TestCaseError::fail(format!("{profile:?}: {e}\n{xml}")))?;
            prop_assert_eq!(&parsed.instance, &expected_after(profile, &m), "{:?}\n{}", profile, xml);
            // Emitting the parsed model again is byte-identical (emit is deterministic).
            prop_assert_eq!(parsed.instance.emit(profile).ok(), Some(xml.clone()));
        }
    }

    #[test]
    fn ntp_round_trip(secs in 0u64..(1u64 << 40)) {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let ntp = NtpSeconds::from_system_time(t);
        prop_assert_eq!(ntp.to_system_time(t), Some(t));
        // Within half an era of the reference the right era is chosen.
        let near = t + std::time::Duration::from_secs(1 << 30);
        prop_assert_eq!(ntp.to_system_time(near), Some(t));
    }

    #[test]
    fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = FdtInstance::parse(&data);
    }

    #[test]
    fn parse_never_panics_on_mutated_fixture(pos in 0usize..4000, byte in any::<u8>(), cut in 0usize..4000) {
        let mut data = common::fixture("mbms_3gpp_full.xml");
        let n = data.len();
        data[pos % n] = byte;
        data.truncate(cut % (n + 1));
        let _ = FdtInstance::parse(&data);
    }

    /// The fuzz target's invariant: whatever parses, emits (or is refused with a typed
    /// error) and the emitted document parses back to the same model.
    #[test]
    fn emit_of_any_parsed_document_reparses(
        name in prop_oneof![Just("rfc6726_basic.xml"), Just("mbms_3gpp_full.xml"), Just("mbms_2022_profiled.xml")],
        pos in 0usize..4000,
        byte in prop_oneof![Just(b' '), Just(b'x'), Just(b'"'), Just(b'<'), Just(b'>'), Just(b'/'), Just(b':'), Just(b'&'), Just(b'0'), any::<u8>()],
    ) {
        let mut data = common::fixture(name);
        let n = data.len();
        data[pos % n] = byte;
        if let Ok(m) = FdtInstance::parse(&data) {
            for profile in [Profile::Rfc6726, Profile::Mbms3gpp] {
                if let Ok(xml) = m.emit(profile) {
                    let back = FdtInstance::parse(xml.as_bytes())
                        .map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
                    prop_assert_eq!(back, expected_after(profile, &m));
                }
            }
        }
    }

    #[test]
    fn cenc_round_trip(data in proptest::collection::vec(any::<u8>(), 0..2048), code in 0u8..4) {
        let cenc = content_encoding_from_cenc(code).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let packed = compress(cenc, &data).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(inflate(cenc, &packed, data.len()).ok(), Some(data.clone()));
        if !data.is_empty() {
            let capped = inflate(cenc, &packed, data.len() - 1);
            prop_assert!(
                matches!(capped, Err(FdtError::DecompressedTooLarge { .. })),
                "{:?}",
                capped
            );
        }
    }
}

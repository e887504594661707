//! The `serde` feature: OTIs of every built-in scheme and Payload IDs survive a JSON round
//! trip.

#![cfg(all(feature = "serde", feature = "raptorq", feature = "reed-solomon"))]
#![allow(clippy::unwrap_used)]

use fec_schemes::schemes::{no_code::CompactNoCode, raptorq::RaptorQ, rs::RsGf2m};
use fec_schemes::{Oti, PayloadId, SchemeKey};

#[test]
fn otis_and_payload_ids_round_trip_through_json() {
    for oti in [
        CompactNoCode::oti(1077, 64, 8),
        RaptorQ::oti(1_000_000, 1400, 2, 1, 4),
        RsGf2m::oti(5000, 100, 20, 30, 8, 1),
    ] {
        let json = serde_json::to_string(&oti).unwrap();
        assert_eq!(serde_json::from_str::<Oti>(&json).unwrap(), oti, "{json}");
        let key = oti.key();
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(serde_json::from_str::<SchemeKey>(&json).unwrap(), key);
    }
    let id = PayloadId {
        sbn: 3,
        esi: 70_000,
        source_block_length: Some(12),
    };
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(serde_json::from_str::<PayloadId>(&json).unwrap(), id);
}

//! The `serde` feature: events and stats as JSON (TOIs as decimal strings, sessions as a
//! list of pairs, in-memory content as its length). Run by `.ci/run` with
//! `--features serde`.
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use fec_schemes::{FecEncodingId, FecRegistry};
use flute_receiver::{Endpoint, Receiver, ReceiverConfig, ReceiverEvent};
use flute_testkit::{MiniSender, ObjectSpec, Rng, VirtualClock};

#[test]
fn events_and_stats_serialize_to_json() {
    let scheme = Arc::clone(
        FecRegistry::with_builtin()
            .get(FecEncodingId::COMPACT_NO_CODE, None)
            .unwrap(),
    );
    let mut tx = MiniSender::new(9, scheme);
    let big_toi: u128 = (1 << 100) + 7;
    let data = Rng::new(1).bytes(3000);
    tx.add(ObjectSpec::new(1, "a.bin", data.clone()));
    let mut rx = Receiver::new(ReceiverConfig::default());
    let clock = VirtualClock::new();
    for p in tx.carousel_round() {
        rx.handle_datagram(clock.now(), Endpoint::default(), &p);
    }
    let mut events = Vec::new();
    while let Some(e) = rx.poll_event() {
        events.push(serde_json::to_value(&e).unwrap());
        if let ReceiverEvent::ObjectComplete { toi, .. } = e {
            assert_eq!(toi.0, 1);
        }
    }
    let done = events
        .iter()
        .find(|e| e.get("ObjectComplete").is_some())
        .expect("an ObjectComplete event");
    let c = &done["ObjectComplete"];
    assert_eq!(c["toi"], "1");
    assert_eq!(c["session"]["tsi"], 9);
    assert_eq!(c["content_location"], "a.bin");
    assert_eq!(c["location"]["Memory"], data.len());

    let stats = serde_json::to_value(rx.stats()).unwrap();
    assert_eq!(stats["total"]["objects_completed"], 1);
    let sessions = stats["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0][0]["tsi"], 9);

    // A 101-bit TOI survives as a string; a number is accepted on input.
    let t = flute_receiver::Toi(big_toi);
    let j = serde_json::to_string(&t).unwrap();
    assert_eq!(j, format!("\"{big_toi}\""));
    assert_eq!(serde_json::from_str::<flute_receiver::Toi>(&j).unwrap(), t);
    assert_eq!(
        serde_json::from_str::<flute_receiver::Toi>("42").unwrap(),
        flute_receiver::Toi(42)
    );
}

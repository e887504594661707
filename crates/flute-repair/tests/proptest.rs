//! Property tests (TS 26.346 §9.3.6): `parse(emit(x)) == x` for the repair query and the
//! symbol container of every built-in FEC scheme; neither parser panics on arbitrary input.
#![allow(clippy::unwrap_used)]

use fec_schemes::schemes::no_code::CompactNoCode;
use fec_schemes::schemes::raptor::Raptor;
use fec_schemes::schemes::raptorq::RaptorQ;
use fec_schemes::schemes::rs::{RsGf2m, RsGf28, RsSmallBlock};
use fec_schemes::{FecRegistry, Oti, PayloadId};
use flute_repair::{ContainerCodec, IdRange, QueryLimits, RepairQuery, RequestForm, SymbolRequest};
use proptest::prelude::*;

fn range() -> impl Strategy<Value = IdRange> {
    prop_oneof![
        any::<u32>().prop_map(IdRange::single),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| IdRange::new(a.min(b), a.max(b)).unwrap()),
    ]
}

fn query() -> impl Strategy<Value = RepairQuery> {
    let uri = "[ -~]{1,40}|[a-z/]{1,20}é?"
        .prop_filter("no control", |s: &String| !s.chars().any(char::is_control));
    let part = (range(), proptest::collection::vec(range(), 0..4))
        .prop_map(|(sbn, esi)| SymbolRequest { sbn, esi });
    (uri, proptest::collection::vec(part, 0..12))
        .prop_map(|(file_uri, parts)| RepairQuery { file_uri, parts })
}

/// One OTI per built-in scheme, each with several blocks.
fn otis() -> Vec<Oti> {
    vec![
        CompactNoCode::oti(1000, 16, 8),
        RaptorQ::oti(4000, 16, 3, 1, 1),
        Raptor::oti(4000, 16, 3, 1, 1),
        RsGf28::oti(1000, 16, 8, 12),
        RsGf2m::oti(1000, 16, 8, 12, 8, 1),
        RsSmallBlock::oti(1000, 16, 8, 12),
    ]
}

proptest! {
    #[test]
    fn query_round_trip(q in query()) {
        let s = q.encode();
        let back = RepairQuery::parse(&s, &QueryLimits::default()).unwrap();
        prop_assert_eq!(&back, &q);
        // The HTTP form carries the same string.
        match q.http_form() {
            RequestForm::Get(g) | RequestForm::Post(g) => prop_assert_eq!(g, s),
        }
    }

    #[test]
    fn query_parse_never_panics(s in "\\PC{0,300}", t in "(fileURI=[a-z%0-9]{0,6}(&SBN=[0-9;,=ESI-]{0,12}){0,4})") {
        let _ = RepairQuery::parse(&s, &QueryLimits::default());
        if let Ok(q) = RepairQuery::parse(&t, &QueryLimits::default()) {
            prop_assert_eq!(RepairQuery::parse(&q.encode(), &QueryLimits::default()).unwrap(), q);
        }
    }

    #[test]
    fn container_round_trip(
        which in 0usize..6,
        groups in proptest::collection::vec((0u32..3, 0u32..8, 1usize..4, any::<u8>()), 0..6),
    ) {
        let reg = FecRegistry::with_builtin();
        let oti = &otis()[which];
        let scheme = reg.for_oti(oti).unwrap();
        let codec = ContainerCodec::new(&**scheme, oti).unwrap();
        let t = usize::from(oti.encoding_symbol_length);
        let mut body = Vec::new();
        let mut written = Vec::new();
        for (sbn, esi, count, fill) in groups {
            let Ok(block) = codec.blocking().block(sbn) else { continue };
            let id = PayloadId {
                sbn,
                esi,
                source_block_length: (oti.encoding_id.0 == 129).then_some(block.source_symbols),
            };
            let data = vec![fill; count * t];
            if codec.write_group(&id, &data, &mut body).is_ok() {
                written.push((id, data));
            }
        }
        let parsed = codec.parse(&body, 64).unwrap();
        prop_assert_eq!(parsed.len(), written.len());
        for (g, (id, data)) in parsed.iter().zip(&written) {
            prop_assert_eq!(g.payload_id, *id);
            prop_assert_eq!(g.symbols, &data[..]);
            prop_assert_eq!(usize::from(g.count), data.len() / t);
        }
        // Any strict prefix that cuts a group is a typed error, never a panic.
        if !body.is_empty() {
            let cut = body.len() - 1;
            prop_assert!(codec.parse(&body[..cut], 64).is_err());
        }
    }

    #[test]
    fn container_parse_never_panics(which in 0usize..6, body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let reg = FecRegistry::with_builtin();
        let oti = &otis()[which];
        let scheme = reg.for_oti(oti).unwrap();
        let codec = ContainerCodec::new(&**scheme, oti).unwrap();
        if let Ok(groups) = codec.parse(&body, 1000) {
            // Every accepted group lies inside the object.
            for g in groups {
                prop_assert!(codec.check(&g.payload_id, u32::from(g.count)).is_ok());
            }
        }
    }
}

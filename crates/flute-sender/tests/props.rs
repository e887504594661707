//! Property tests on scheduling invariants:
//! - every packet parses (`alc` with the FLUTE header checks);
//! - every source symbol of every block (and every planned repair symbol) is sent before
//!   the close-object packet, which is the object's last packet, exactly once;
//! - blocks of an interleave group are served round-robin, groups in SBN order;
//! - with everything inserted at once, data leaves in non-increasing priority order.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use alc::AlcParser;
use common::*;
use fec_schemes::schemes::{no_code::CompactNoCode, rs::RsGf28};
use fec_schemes::{FecRegistry, Oti};
use flute_sender::{Object, Repair, Sender, Toi};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Spec {
    len: usize,
    interleave: u32,
    repair: u32,
    priority: u8,
    rs: bool,
    e: u16,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0usize..30_000,
        1u32..5,
        0u32..6,
        0u8..4,
        any::<bool>(),
        prop_oneof![Just(100u16), Just(700)],
    )
        .prop_map(|(len, interleave, repair, priority, rs, e)| Spec {
            len,
            interleave,
            repair,
            priority,
            rs,
            e,
        })
}

fn oti(s: &Spec) -> Oti {
    if s.rs {
        RsGf28::oti(s.len as u64, s.e, 8, 16)
    } else {
        CompactNoCode::oti(s.len as u64, s.e, 8)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn scheduling_invariants(specs in prop::collection::vec(spec(), 1..5), per_queue in 1usize..3) {
        let t0 = t0();
        let reg = FecRegistry::with_builtin();
        let mut c = config(t0);
        c.objects_per_queue = per_queue;
        let mut s = Sender::new(c).unwrap();
        let mut objs: BTreeMap<u128, (Spec, Oti)> = BTreeMap::new();
        for (i, sp) in specs.iter().enumerate() {
            let toi = s
                .insert_object(
                    Object::from_bytes(format!("o{i}"), data(sp.len, i as u8))
                        .fec(oti(sp))
                        .repair(Repair::Count(sp.repair))
                        .interleave(sp.interleave)
                        .priority(sp.priority),
                    t0,
                )
                .unwrap();
            objs.insert(toi.0, (sp.clone(), oti(sp)));
        }
        s.close();
        let (sent, _) = drive(&mut s, t0, 1_000_000);
        prop_assert!(s.is_closed());
        prop_assert!(sent.last().unwrap().t.close_session);
        let parser = AlcParser::new(&reg).flute(true);
        for p in &sent {
            prop_assert!(parser.parse(&p.bytes).is_ok());
        }
        // Priorities: non-increasing over the data packets.
        let prios: Vec<u8> = sent
            .iter()
            .filter(|p| p.t.toi.0 != 0)
            .map(|p| objs[&p.t.toi.0].0.priority)
            .collect();
        prop_assert!(prios.windows(2).all(|w| w[0] >= w[1]), "priority order {:?}", prios);

        for (toi, (sp, oti)) in &objs {
            let mine: Vec<_> = sent.iter().filter(|p| p.t.toi == Toi(*toi)).collect();
            let scheme = reg.for_oti(oti).unwrap();
            let blocking = scheme.blocking(oti).unwrap();
            if sp.len == 0 {
                prop_assert!(mine.is_empty());
                continue;
            }
            // B exactly once, on the last packet.
            let bs: Vec<usize> = mine.iter().enumerate().filter(|(_, p)| p.t.close_object).map(|(i, _)| i).collect();
            prop_assert_eq!(bs, vec![mine.len() - 1]);
            // Every planned symbol, exactly once.
            let got: BTreeSet<(u32, u32)> = mine.iter().map(|p| (p.t.sbn, p.t.esi)).collect();
            prop_assert_eq!(got.len(), mine.len(), "no duplicates in one pass");
            let mut want = BTreeSet::new();
            for blk in blocking.iter() {
                let k = blk.source_symbols;
                let end = (k + sp.repair).min(scheme.esi_limit(oti, &blk).max(k));
                for esi in 0..end {
                    want.insert((blk.sbn, esi));
                }
            }
            prop_assert_eq!(&got, &want);
            // Interleave: groups in order; inside a group, round r (ESI r) visits blocks in
            // SBN order and precedes round r + 1.
            let groups: Vec<u32> = mine.iter().map(|p| p.t.sbn / sp.interleave).collect();
            prop_assert!(groups.windows(2).all(|w| w[0] <= w[1]));
            for g in BTreeSet::<u32>::from_iter(groups.iter().copied()) {
                let seq: Vec<(u32, u32)> = mine
                    .iter()
                    .filter(|p| p.t.sbn / sp.interleave == g)
                    .map(|p| (p.t.esi, p.t.sbn))
                    .collect();
                prop_assert!(seq.windows(2).all(|w| w[0] < w[1]), "round robin {:?}", seq);
            }
            // And the object decodes.
            prop_assert_eq!(
                decode_object(&reg, &sent, *toi, oti).unwrap(),
                data(sp.len, objs.keys().position(|t| t == toi).unwrap() as u8).to_vec()
            );
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert { len: usize, prio: u8, repeat: bool },
    Remove(usize),
    Poll(usize),
    Advance(u64),
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..20_000, 0u8..3, any::<bool>()).prop_map(|(len, prio, repeat)| Op::Insert {
            len,
            prio,
            repeat
        }),
        (0usize..8).prop_map(Op::Remove),
        (1usize..60).prop_map(Op::Poll),
        (1u64..3000).prop_map(Op::Advance),
        Just(Op::Close),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Insertion and removal while running: nothing panics, every packet parses, nothing is
    /// sent for an object after its close-object packet or after the close-session packet.
    #[test]
    fn insert_remove_while_running(ops in prop::collection::vec(op(), 1..40)) {
        let t0 = t0();
        let reg = FecRegistry::with_builtin();
        let parser = AlcParser::new(&reg).flute(true);
        let mut c = config(t0);
        c.pacing = Some(flute_sender::Pacing::wire(20_000_000));
        let mut s = Sender::new(c).unwrap();
        let mut now = t0;
        let mut tois = Vec::new();
        let mut closed_objects = BTreeSet::new();
        let mut session_closed = false;
        let mut buf = vec![0u8; 1500];
        for op in ops {
            match op {
                Op::Insert { len, prio, repeat } => {
                    let carousel = if repeat {
                        flute_sender::Carousel::UntilRemoved { interval: std::time::Duration::from_millis(500) }
                    } else {
                        flute_sender::Carousel::default()
                    };
                    if let Ok(t) = s.insert_object(
                        Object::from_bytes("x", data(len, 0)).priority(prio).carousel(carousel),
                        now,
                    ) {
                        tois.push(t);
                    }
                }
                Op::Remove(i) => {
                    if let Some(t) = tois.get(i) {
                        let _ = s.remove_object(*t);
                    }
                }
                Op::Poll(n) => {
                    for _ in 0..n {
                        let Some(t) = s.poll_transmit(now, &mut buf) else { break };
                        prop_assert!(!session_closed);
                        prop_assert!(parser.parse(&buf[..t.len]).is_ok());
                        prop_assert!(!closed_objects.contains(&t.toi), "packet after B");
                        if t.close_object {
                            closed_objects.insert(t.toi);
                        }
                        session_closed |= t.close_session;
                    }
                }
                Op::Advance(ms) => {
                    now += std::time::Duration::from_millis(ms);
                    s.handle_timeout(now);
                }
                Op::Close => s.close(),
            }
            while s.poll_event().is_some() {}
        }
    }
}

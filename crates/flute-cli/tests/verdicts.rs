//! One verdict per packet (issue 14 §1): `flute inspect` and `flute recv` judge every packet
//! with the same `alc` parser, so a packet one of them rejects the other rejects too.
//!
//! The corpus: every committed fuzz seed of the packet parsers and of the receiver (split
//! into its datagrams), each with every single-bit mutation of its first 64 bytes. For each
//! datagram, inspect's verdict is `AlcParser::parse_checked` with the FLUTE rules (what
//! `flute inspect` runs on every packet); the receiver's is
//! whether a fresh `Receiver` drops it for a packet-level reason. One case is neither
//! accepted nor rejected by either: a packet without EXT_FTI whose codepoint names no single
//! scheme is judged once the FDT names the scheme (the receiver keeps it; inspect decodes it
//! with the FDT's OTI), so it is left out of the comparison and counted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use alc::{AlcError, AlcParser};
use fec_schemes::FecRegistry;
use flute_receiver::{DropReason, Endpoint, MemorySink, Receiver, ReceiverConfig};

fn corpus() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut out = Vec::new();
    for target in ["alc_parse", "lct_parse", "receiver_datagrams"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(target))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            if target == "receiver_datagrams" {
                // Length-framed datagrams (15-bit length, endpoint bit on top).
                let mut data = &bytes[..];
                while let [hi, lo, rest @ ..] = data {
                    let len = (usize::from(*hi & 0x7F) << 8 | usize::from(*lo)).min(rest.len());
                    out.push(rest[..len].to_vec());
                    data = &rest[len..];
                }
            } else {
                out.push(bytes);
            }
        }
    }
    assert!(out.len() > 100, "the corpus has {} datagrams", out.len());
    let mut mutated = Vec::new();
    for d in &out {
        for i in 0..d.len().min(64) {
            for bit in 0..8 {
                let mut m = d.clone();
                m[i] ^= 1 << bit;
                mutated.push(m);
            }
        }
    }
    out.extend(mutated);
    out
}

/// Drop reasons that judge the packet itself (not the session's state).
fn packet_level(r: DropReason) -> bool {
    matches!(
        r,
        DropReason::BadVersion
            | DropReason::DuplicateExtension
            | DropReason::FdtWithoutExtFdt
            | DropReason::MissingTsiOrToi
            | DropReason::ExtFdtOnData
            | DropReason::BadFdtVersion
            | DropReason::Malformed
            | DropReason::UnknownScheme
            | DropReason::BadFti
            | DropReason::BadPayloadId
            | DropReason::BadSymbol
            | DropReason::BadCenc
    )
}

#[test]
fn inspect_and_recv_give_every_packet_the_same_verdict() {
    let registry = Arc::new(FecRegistry::with_builtin());
    let parser = AlcParser::new(Arc::clone(&registry)).flute(true);
    let now = Instant::now();
    let (mut agree, mut deferred, mut rejected) = (0usize, 0usize, 0usize);
    let mut disagreements = Vec::new();
    for d in corpus() {
        // Inspect's verdict, on a packet seen alone (no FDT yet).
        let alc = parser.parse_checked(&d, None).map(|_| ());
        if matches!(
            alc,
            Err(AlcError::UnknownScheme { .. } | AlcError::UnknownCodepoint { .. })
        ) && lct_header::LctPacket::new_checked(&d[..])
            .ok()
            .and_then(|p| {
                lct_header::KnownExtensions::collect(p.into_extensions())
                    .ok()
                    .map(|e| e.fti.is_none())
            })
            .unwrap_or(false)
        {
            deferred += 1;
            continue;
        }
        let mut rx = Receiver::with_sink(
            {
                let mut c = ReceiverConfig::default();
                c.registry = Arc::clone(&registry);
                c
            },
            Box::new(MemorySink),
        );
        rx.handle_datagram(now, Endpoint::default(), &d);
        let dropped: Vec<DropReason> = rx
            .stats()
            .total
            .dropped
            .keys()
            .copied()
            .filter(|r| packet_level(*r))
            .collect();
        let recv_rejects = !dropped.is_empty();
        if alc.is_err() == recv_rejects {
            agree += 1;
            rejected += usize::from(recv_rejects);
        } else {
            disagreements.push(format!(
                "{:02x?}: alc {alc:?}, recv {dropped:?}",
                &d[..d.len().min(24)]
            ));
        }
    }
    eprintln!("{agree} agree ({rejected} rejected by both), {deferred} deferred by both");
    assert!(
        disagreements.is_empty(),
        "{} of {} packets judged differently, e.g. {:#?}",
        disagreements.len(),
        agree + disagreements.len(),
        &disagreements[..disagreements.len().min(400)]
    );
    assert!(
        rejected > 1000 && agree - rejected > 100,
        "both verdicts are exercised"
    );
}

//! The shared conformance suite (`fec_schemes::conformance`) run against every scheme in the
//! crate. One `#[test]` per (scheme, check); see `docs/conformance/fec-schemes.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "ldpc")]
use fec_schemes::schemes::ldpc_staircase::LdpcStaircase;
use fec_schemes::schemes::no_code::CompactNoCode;
use fec_schemes::schemes::raptor::Raptor;
use fec_schemes::schemes::raptorq::RaptorQ;

fec_schemes::fec_conformance!(
    compact_no_code,
    CompactNoCode,
    vec![
        CompactNoCode::oti(1077, 64, 8),
        CompactNoCode::oti(640, 64, 10),
        CompactNoCode::oti(5, 16, 1),
    ]
);

fec_schemes::fec_conformance!(
    raptorq,
    RaptorQ,
    vec![
        // one block, short last symbol
        RaptorQ::oti(1000, 64, 1, 1, 1),
        // several blocks of different sizes
        RaptorQ::oti(10_001, 32, 3, 1, 4),
        // sub-blocking N = 4, Al = 4
        RaptorQ::oti(3001, 64, 2, 4, 4),
        // K = 1
        RaptorQ::oti(10, 16, 1, 1, 1),
        // N = 4 with more zero padding than one sub-symbol in the last block
        RaptorQ::oti(5000, 64, 2, 4, 4),
    ]
);

fec_schemes::fec_conformance!(
    raptor,
    Raptor,
    vec![
        Raptor::oti(1000, 64, 1, 1, 1),
        Raptor::oti(10_001, 32, 3, 1, 4),
        Raptor::oti(3001, 64, 2, 4, 4),
        // K = 4, the smallest block RFC 5053 defines
        Raptor::oti(61, 16, 1, 1, 1),
        Raptor::oti(5000, 64, 2, 4, 4),
    ]
);

// Reed-Solomon (RFC 5510), written by another engineer: the same suite, unchanged.
use fec_schemes::schemes::rs::{RsGf2m, RsGf28, RsSmallBlock};

fec_schemes::fec_conformance!(
    rs_gf28,
    RsGf28,
    vec![RsGf28::oti(1077, 64, 8, 12), RsGf28::oti(500, 32, 20, 40)]
);

fec_schemes::fec_conformance!(
    rs_gf2m,
    RsGf2m,
    vec![
        RsGf2m::oti(1077, 64, 8, 12, 8, 1),
        RsGf2m::oti(500, 32, 20, 40, 8, 1),
    ]
);

fec_schemes::fec_conformance!(
    rs_small_block,
    RsSmallBlock,
    vec![
        RsSmallBlock::oti(1077, 64, 8, 12),
        RsSmallBlock::oti(500, 32, 20, 40)
    ]
);

#[cfg(feature = "ldpc")]
fec_schemes::fec_conformance!(
    ldpc_staircase,
    LdpcStaircase,
    vec![
        // one block, short last symbol, 50 % repair, N1 = 3
        LdpcStaircase::oti(1000, 64, 16, 24, 3, 1),
        // several blocks, the last one smaller; N1 = 7, a large seed
        LdpcStaircase::oti(10_001, 32, 100, 130, 7, 0x7FFF_FFFE),
        // k = 1 blocks
        LdpcStaircase::oti(50, 16, 1, 4, 3, 12345),
    ]
);

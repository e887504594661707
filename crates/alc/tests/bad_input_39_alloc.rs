//! Bad-input catalogue item 39 (`docs/spec-notes.md` §4): an EXT_FTI that announces a huge
//! transfer length L with a tiny symbol length E must not make the packet layer allocate in
//! proportion to L (or to the number of blocks or symbols that L/E implies).
//!
//! This test binary installs a counting global allocator so that the claim is measured, not
//! assumed. The counters are per thread, so tests running in parallel threads of this binary
//! do not disturb each other.

// A `GlobalAlloc` implementation is `unsafe` by definition; the impl only forwards to the
// system allocator and counts. Test-only code.
#![allow(unsafe_code, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use alc::AlcParser;
use fec_schemes::FecRegistry;
use hex_literal::hex;

struct Counting;

thread_local! {
    // (number of allocations, total bytes requested, largest single request)
    static COUNTS: Cell<(u64, u64, u64)> = const { Cell::new((0, 0, 0)) };
}

fn count(size: usize) {
    // `try_with` so that allocations made while the thread-local is being torn down are
    // simply not counted instead of aborting.
    let _ = COUNTS.try_with(|c| {
        let (n, total, max) = c.get();
        let size = size as u64;
        c.set((n + 1, total + size, max.max(size)));
    });
}

// SAFETY: every method forwards to `System` with the caller's own arguments, so the
// `GlobalAlloc` contract holds exactly as it does for `System`; counting touches only a
// `const`-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: same layout as the caller's, forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: `ptr` and `layout` come from this allocator, i.e. from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` and `layout` come from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Allocations made by `f` on this thread: (count, total bytes, largest request).
fn measure<T>(f: impl FnOnce() -> T) -> (T, (u64, u64, u64)) {
    COUNTS.with(|c| c.set((0, 0, 0)));
    let out = f();
    let counts = COUNTS.with(Cell::get);
    (out, counts)
}

/// LCT header (V=1, S=1, O=1, TSI=1, TOI=1, codepoint 0) + EXT_FTI for FEC Encoding ID 0
/// (RFC 5445: L 48 bits, reserved 16, E 16, B 32) + FEC Payload ID (SBN 0, ESI 0) + `sym`.
fn huge_l_packet(l: u64, e: u16, b: u32, sym: &[u8]) -> Vec<u8> {
    let mut v = hex!("10 A0 00 00 00000000 00000001 00000001").to_vec();
    v.extend_from_slice(&[64, 4]);
    v.extend_from_slice(&l.to_be_bytes()[2..]);
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&e.to_be_bytes());
    v.extend_from_slice(&b.to_be_bytes());
    v[2] = (v.len() / 4) as u8;
    v.extend_from_slice(&hex!("00000000"));
    v.extend_from_slice(sym);
    v
}

/// Whatever the verdict on the packet, parsing it may allocate only a small, fixed amount: far
/// below anything proportional to L (2^48 - 1 bytes), to L/E (2^48 symbols) or to the number of
/// source blocks.
const SMALL: u64 = 4096;

#[test]
fn bad_input_39_huge_l_small_e_no_prealloc() {
    let registry = FecRegistry::with_builtin();
    let parser = AlcParser::new(&registry);
    // Warm up once, so that one-time lazy initialisation (if any) is not counted.
    let warm = huge_l_packet(1000, 1, 1000, b"1");
    assert!(
        parser.parse(&warm).is_ok(),
        "a sane packet of the same shape parses"
    );

    for (l, e, b) in [
        ((1u64 << 48) - 1, 1u16, 1u32 << 16),
        ((1u64 << 48) - 1, 1, u32::MAX),
        ((1u64 << 48) - 1, 1, 1),
        (1u64 << 47, 2, 1 << 20),
    ] {
        let p = huge_l_packet(l, e, b, &vec![0x31; usize::from(e)]);
        let (verdict, (n, total, max)) = measure(|| parser.parse(&p).map(|pkt| pkt.payload_id()));
        // The verdict itself: either a typed error or a packet whose Payload ID is (0, 0);
        // never a panic, which would fail the test.
        if let Ok(pid) = &verdict {
            let pid = pid.expect("a data packet carries a FEC Payload ID");
            assert_eq!((pid.sbn, pid.esi), (0, 0), "L={l} E={e} B={b}");
        }
        assert!(
            total <= SMALL && max <= SMALL,
            "parsing L={l} E={e} B={b} allocated {n} times, {total} bytes in all, largest {max} \
             bytes (verdict {verdict:?}); the packet layer must not allocate in proportion to L"
        );
    }
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the guard: if the counting allocator were not installed, the test above would
    // pass vacuously.
    let (v, (n, total, _)) = measure(|| vec![0u8; 10_000]);
    assert_eq!(v.len(), 10_000);
    assert!(
        n >= 1 && total >= 10_000,
        "counted {n} allocations, {total} bytes"
    );
}

//! IP fragment reassembly for captures (RFC 791 §3.2 for IPv4, RFC 8200 §4.5 for IPv6),
//! bounded: at most [`MAX_DATAGRAMS`] datagrams in progress, each at most
//! [`MAX_DATAGRAM_LEN`] bytes, each kept for at most [`MAX_AGE`] of capture time (or
//! [`MAX_AGE_FRAMES`] frames when the capture has no timestamps).
//!
//! Overlapping fragments discard the whole datagram (RFC 5722 §4 makes this a MUST for
//! IPv6; done for IPv4 too, as overlaps are only ever seen in attacks), except for an exact
//! duplicate of a fragment already held, which is ignored. A non-last fragment whose
//! length is not a multiple of 8 is invalid (RFC 791, RFC 8200 §4.5).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

/// Datagrams being reassembled at once; a fragment of a further one evicts the oldest.
pub(crate) const MAX_DATAGRAMS: usize = 64;
/// Largest reassembled IP payload (the IPv4 total-length field's limit).
pub(crate) const MAX_DATAGRAM_LEN: usize = 65_535;
/// How long (capture time) an incomplete datagram is kept.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(60);
/// How many frames an incomplete datagram is kept when the capture has no timestamps.
pub(crate) const MAX_AGE_FRAMES: u64 = 100_000;

/// What identifies the fragments of one datagram: source, destination, Identification
/// (16 bits in IPv4, 32 in IPv6). Only UDP fragments are reassembled, so the IPv4
/// protocol field is always 17 and is not part of the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) id: u32,
}

/// One fragment: its byte offset in the original payload, the More Fragments flag, and its
/// bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fragment<'a> {
    pub(crate) key: FragKey,
    pub(crate) offset: usize,
    pub(crate) more: bool,
    pub(crate) data: &'a [u8],
}

#[derive(Debug)]
struct Partial {
    first_frame: u64,
    first_ts: Option<Duration>,
    /// Payload length, known once the last fragment (MF = 0) arrived.
    total: Option<usize>,
    parts: BTreeMap<usize, Vec<u8>>,
    held: usize,
}

/// What pushing one fragment did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Held; the datagram is not complete yet (or the fragment was an exact duplicate).
    Held,
    /// The datagram is complete: its reassembled payload.
    Complete(Vec<u8>),
    /// The fragment was invalid or conflicted with the ones held: the datagram (if any
    /// was in progress) is discarded.
    Discarded,
}

/// Incomplete datagrams, keyed by [`FragKey`].
#[derive(Debug, Default)]
pub(crate) struct Reassembler {
    partial: HashMap<FragKey, Partial>,
    /// Incomplete datagrams given up on (conflict, invalid fragment, size, age, eviction).
    pub(crate) failed: u64,
}

impl Reassembler {
    /// Adds fragment `f`, seen in frame number `frame` at capture time `ts`.
    pub(crate) fn push(&mut self, f: Fragment<'_>, frame: u64, ts: Option<Duration>) -> Pushed {
        self.expire(frame, ts);
        let end = f.offset.saturating_add(f.data.len());
        let invalid = end > MAX_DATAGRAM_LEN || (f.more && f.data.len() % 8 != 0);
        if invalid {
            if self.partial.remove(&f.key).is_some() {
                self.failed += 1;
            }
            return Pushed::Discarded;
        }
        if !self.partial.contains_key(&f.key) && self.partial.len() >= MAX_DATAGRAMS {
            self.evict_oldest();
        }
        let p = self.partial.entry(f.key).or_insert_with(|| Partial {
            first_frame: frame,
            first_ts: ts,
            total: None,
            parts: BTreeMap::new(),
            held: 0,
        });
        match accept(p, &f, end) {
            Ok(true) => {}
            Ok(false) => return Pushed::Held,
            Err(()) => {
                self.partial.remove(&f.key);
                self.failed += 1;
                return Pushed::Discarded;
            }
        }
        if p.total != Some(p.held) {
            return Pushed::Held;
        }
        // No overlaps and `held == total`: the parts tile 0..total exactly.
        let Some(p) = self.partial.remove(&f.key) else {
            return Pushed::Held;
        };
        let mut out = Vec::with_capacity(p.held);
        for part in p.parts.into_values() {
            out.extend_from_slice(&part);
        }
        Pushed::Complete(out)
    }

    /// Datagrams still incomplete.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.partial.len()
    }

    /// Gives up on every incomplete datagram (the end of a capture: they will never
    /// complete), counting them as failed.
    pub(crate) fn give_up(&mut self) {
        self.failed += self.partial.len() as u64;
        self.partial.clear();
    }

    fn expire(&mut self, frame: u64, ts: Option<Duration>) {
        let before = self.partial.len();
        self.partial.retain(|_, p| {
            let by_time = match (ts, p.first_ts) {
                (Some(now), Some(t0)) => now.saturating_sub(t0) <= MAX_AGE,
                _ => true,
            };
            by_time && frame.saturating_sub(p.first_frame) <= MAX_AGE_FRAMES
        });
        self.failed += (before - self.partial.len()) as u64;
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .partial
            .iter()
            .min_by_key(|(_, p)| p.first_frame)
            .map(|(k, _)| *k);
        if let Some(k) = oldest {
            self.partial.remove(&k);
            self.failed += 1;
        }
    }
}

/// Adds `f` (ending at `end`) to `p`. `Ok(true)`: added; `Ok(false)`: an exact duplicate,
/// ignored; `Err`: the datagram must be discarded (overlap, or a second, different end).
fn accept(p: &mut Partial, f: &Fragment<'_>, end: usize) -> Result<bool, ()> {
    if let Some(old) = p.parts.get(&f.offset) {
        return if old.as_slice() == f.data && (f.more || p.total == Some(end)) {
            Ok(false)
        } else {
            Err(())
        };
    }
    // The part starting before f must end at or before f's offset; the next part must
    // start at or after f's end.
    if let Some((&o, d)) = p.parts.range(..f.offset).next_back() {
        if o + d.len() > f.offset {
            return Err(());
        }
    }
    if let Some((&o, _)) = p.parts.range(f.offset..).next() {
        if o < end {
            return Err(());
        }
    }
    if !f.more {
        if p.total.is_some_and(|t| t != end) {
            return Err(());
        }
        p.total = Some(end);
    }
    // Nothing may reach past the end, once the last fragment has told where it is.
    if let Some(t) = p.total {
        let last_end = p.parts.iter().next_back().map_or(0, |(&o, d)| o + d.len());
        if end > t || last_end > t {
            return Err(());
        }
    }
    p.held += f.data.len();
    p.parts.insert(f.offset, f.data.to_vec());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(id: u32) -> FragKey {
        FragKey {
            src: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(239, 1, 1, 1)),
            id,
        }
    }

    fn frag(id: u32, offset: usize, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            key: key(id),
            offset,
            more,
            data,
        }
    }

    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 13 % 256) as u8).collect()
    }

    #[test]
    fn in_order_reversed_and_duplicated() {
        let data = payload(3000);
        let pieces: Vec<(usize, bool, &[u8])> = vec![
            (0, true, &data[..1480]),
            (1480, true, &data[1480..2960]),
            (2960, false, &data[2960..]),
        ];
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let mut r = Reassembler::default();
            let mut done = None;
            for (n, &i) in order.iter().enumerate() {
                let (o, m, d) = pieces[i];
                // Every fragment twice: the duplicate is ignored.
                for _ in 0..2 {
                    match r.push(frag(1, o, m, d), n as u64, None) {
                        Pushed::Complete(v) => done = Some(v),
                        Pushed::Held => {}
                        Pushed::Discarded => panic!("discarded {order:?}"),
                    }
                    if done.is_some() {
                        break;
                    }
                }
            }
            assert_eq!(done.as_deref(), Some(&data[..]), "{order:?}");
            assert_eq!((r.pending(), r.failed), (0, 0));
        }
    }

    #[test]
    fn rfc5722_overlap_discards_the_datagram() {
        let data = payload(2000);
        let mut r = Reassembler::default();
        assert_eq!(
            r.push(frag(1, 0, true, &data[..1000]), 0, None),
            Pushed::Held
        );
        // Starts inside the first fragment.
        assert_eq!(
            r.push(frag(1, 992, false, &data[992..]), 1, None),
            Pushed::Discarded
        );
        assert_eq!((r.pending(), r.failed), (0, 1));
        // Same offset, different bytes.
        let other = payload(1000).iter().map(|b| b ^ 1).collect::<Vec<_>>();
        assert_eq!(
            r.push(frag(2, 0, true, &data[..1000]), 2, None),
            Pushed::Held
        );
        assert_eq!(r.push(frag(2, 0, true, &other), 3, None), Pushed::Discarded);
        assert_eq!(r.failed, 2);
    }

    #[test]
    fn invalid_fragments() {
        let data = payload(100);
        let mut r = Reassembler::default();
        // A non-last fragment of 7 bytes.
        assert_eq!(
            r.push(frag(1, 0, true, &data[..7]), 0, None),
            Pushed::Discarded
        );
        // Past the 65 535-byte limit.
        assert_eq!(
            r.push(frag(2, 65_528, false, &data[..16]), 1, None),
            Pushed::Discarded
        );
        // Two different ends.
        assert_eq!(
            r.push(frag(3, 8, false, &data[8..16]), 2, None),
            Pushed::Held
        );
        assert_eq!(
            r.push(frag(3, 16, false, &data[16..24]), 3, None),
            Pushed::Discarded
        );
        // A fragment beyond the known end.
        assert_eq!(
            r.push(frag(4, 0, false, &data[..8]), 4, None),
            Pushed::Complete(data[..8].to_vec())
        );
        assert_eq!(
            r.push(frag(5, 8, false, &data[8..16]), 5, None),
            Pushed::Held
        );
        assert_eq!(
            r.push(frag(5, 16, true, &data[16..24]), 6, None),
            Pushed::Discarded
        );
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn bounded_count_and_age() {
        let data = payload(16);
        let mut r = Reassembler::default();
        for id in 0..(MAX_DATAGRAMS as u32 + 10) {
            assert_eq!(
                r.push(frag(id, 0, true, &data[..8]), u64::from(id), None),
                Pushed::Held
            );
        }
        assert_eq!(r.pending(), MAX_DATAGRAMS);
        assert_eq!(r.failed, 10);
        // The oldest went first: id 10 completes, id 9 is gone (its last fragment starts
        // a new datagram).
        assert_eq!(
            r.push(frag(10, 8, false, &data[8..]), 100, None),
            Pushed::Complete(data.clone())
        );
        assert_eq!(
            r.push(frag(9, 8, false, &data[8..]), 101, None),
            Pushed::Held
        );
        // By capture time.
        let mut r = Reassembler::default();
        let t0 = Duration::from_secs(1000);
        assert_eq!(
            r.push(frag(1, 0, true, &data[..8]), 0, Some(t0)),
            Pushed::Held
        );
        assert_eq!(
            r.push(
                frag(2, 0, true, &data[..8]),
                1,
                Some(t0 + MAX_AGE + Duration::from_secs(1))
            ),
            Pushed::Held
        );
        assert_eq!(r.pending(), 1);
        assert_eq!(r.failed, 1);
        // By frame count without timestamps.
        let mut r = Reassembler::default();
        assert_eq!(r.push(frag(1, 0, true, &data[..8]), 0, None), Pushed::Held);
        assert_eq!(
            r.push(frag(2, 0, true, &data[..8]), MAX_AGE_FRAMES + 1, None),
            Pushed::Held
        );
        assert_eq!((r.pending(), r.failed), (1, 1));
    }
}

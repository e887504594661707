//! Counters. Every datagram the receiver is handed is either used or counted here under the
//! reason it was dropped.

use std::collections::BTreeMap;

/// Why a datagram (or a symbol in it) was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum DropReason {
    /// Bytes after the objects' known blocks, or a symbol the decoder refused (bad ESI,
    /// bad length, same ESI with different content).
    BadSymbol,
    /// EXT_FDT version other than 1 or 2 (catalogue item 18).
    BadFdtVersion,
    /// LCT version other than 1 (catalogue item 5).
    BadVersion,
    /// The buffer for packets waiting for their FDT or OTI is full.
    BufferFull,
    /// The budget for bytes in undecoded blocks is used up.
    BlockBudget,
    /// Close-session was seen; the session no longer takes packets.
    ClosedSession,
    /// The object (or FDT instance) is already complete, failed or refused.
    Done,
    /// A header extension appeared twice (catalogue item 17).
    DuplicateExtension,
    /// The symbol was received before (identical content).
    DuplicateSymbol,
    /// EXT_FDT on a TOI other than 0 (catalogue item 9).
    ExtFdtOnData,
    /// The FDT instance was expired, older than the one in use, or not parseable.
    FdtRejected,
    /// EXT_CENC with an encoding this receiver does not know (catalogue item 20).
    BadCenc,
    /// TOI 0 without EXT_FDT (catalogue item 9).
    FdtWithoutExtFdt,
    /// The FEC Payload ID could not be read (catalogue item 26).
    BadPayloadId,
    /// EXT_FTI could not be read, or conflicts with the OTI already known (items 22, 40).
    BadFti,
    /// The header is truncated or inconsistent (catalogue items 1–4, 12–14).
    Malformed,
    /// The TSI or TOI field is absent (catalogue item 9).
    MissingTsiOrToi,
    /// The maximum number of concurrent objects is reached.
    ObjectLimit,
    /// The maximum number of sessions is reached.
    SessionLimit,
    /// The TSI is not in the allow-list.
    TsiFiltered,
    /// No FEC scheme for the codepoint / FEC Encoding ID (catalogue item 25).
    UnknownScheme,
    /// The symbol is not needed any more (block already decodable).
    NotNeeded,
}

/// Counters of one session (or, for [`crate::Receiver::stats`], of the whole receiver).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SessionStats {
    /// Datagrams handed in.
    pub datagrams: u64,
    /// Bytes handed in.
    pub bytes: u64,
    /// Symbols pushed into a decoder and accepted.
    pub symbols_accepted: u64,
    /// Datagrams or symbols dropped, by reason.
    pub dropped: BTreeMap<DropReason, u64>,
    /// Datagrams buffered while waiting for their FDT or OTI.
    pub buffered: u64,
    /// FDT instances accepted.
    pub fdt_instances: u64,
    /// Source blocks decoded.
    pub blocks_decoded: u64,
    /// Objects delivered complete.
    pub objects_completed: u64,
    /// Objects reported failed (not counting evicted ones).
    pub objects_failed: u64,
    /// Objects evicted from a full object table to make room for a new one
    /// ([`crate::FailReason::Evicted`]), including those of evicted sessions.
    pub objects_evicted: u64,
}

impl SessionStats {
    pub(crate) fn drop(&mut self, r: DropReason) {
        *self.dropped.entry(r).or_insert(0) += 1;
    }

    /// Number of drops for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped.get(&reason).copied().unwrap_or(0)
    }

    /// Total number of drops.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }

    pub(crate) fn add(&mut self, o: &Self) {
        self.datagrams += o.datagrams;
        self.bytes += o.bytes;
        self.symbols_accepted += o.symbols_accepted;
        for (k, v) in &o.dropped {
            *self.dropped.entry(*k).or_insert(0) += v;
        }
        self.buffered += o.buffered;
        self.fdt_instances += o.fdt_instances;
        self.blocks_decoded += o.blocks_decoded;
        self.objects_completed += o.objects_completed;
        self.objects_failed += o.objects_failed;
        self.objects_evicted += o.objects_evicted;
    }
}

//! The receiver's public vocabulary: endpoints, sessions, events, failure and close
//! reasons, and the stats snapshot.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use lct_header::{Toi, Tsi};

use crate::sink::ObjectLocation;
use crate::stats::SessionStats;

/// Where a datagram came from and was sent to. Part of the session key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Endpoint {
    /// Source address, if known (source-specific multicast).
    pub source: Option<IpAddr>,
    /// Destination address and port.
    pub destination: SocketAddr,
}

impl Default for Endpoint {
    fn default() -> Self {
        Self {
            source: None,
            destination: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        }
    }
}

/// A FLUTE session: an endpoint and a Transport Session Identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SessionId {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Transport Session Identifier.
    pub tsi: Tsi,
}

/// The receiver looks its session up by this key for every datagram: the fields go to the
/// hasher as one 43-byte write rather than the derive's eight small ones (about three
/// times fewer instructions under SipHash). Only fields that `Eq` compares are hashed,
/// so equal keys hash alike.
impl std::hash::Hash for SessionId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        fn put(ip: IpAddr, out: &mut [u8]) -> u8 {
            match ip {
                IpAddr::V4(a) => {
                    out[..4].copy_from_slice(&a.octets());
                    1
                }
                IpAddr::V6(a) => {
                    out.copy_from_slice(&a.octets());
                    2
                }
            }
        }
        let mut key = [0u8; 43];
        let src = self
            .endpoint
            .source
            .map_or(0, |ip| put(ip, &mut key[1..17]));
        let dst = put(self.endpoint.destination.ip(), &mut key[17..33]);
        key[0] = src | (dst << 2);
        key[33..35].copy_from_slice(&self.endpoint.destination.port().to_be_bytes());
        key[35..43].copy_from_slice(&self.tsi.0.to_be_bytes());
        state.write(&key);
    }
}

/// Why an object was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum FailReason {
    /// The content could not be decoded per its Content-Encoding.
    #[error("content decoding failed: {0}")]
    ContentDecoding(String),
    /// Content-Length does not match the delivered content.
    #[error("Content-Length {expected} but {actual} bytes of content")]
    ContentLengthMismatch {
        /// From the FDT.
        expected: u64,
        /// Delivered.
        actual: u64,
    },
    /// The OTI is invalid for its scheme or no scheme is registered for it.
    #[error("invalid or unsupported OTI")]
    InvalidOti,
    /// Content-MD5 does not match.
    #[error("Content-MD5 mismatch")]
    Md5Mismatch,
    /// The object was received but no FDT entry described it before the timeout.
    #[error("no FDT entry for the object")]
    NoFdtEntry,
    /// The session ended (close-session or idle) before the object was complete.
    #[error("session closed before the object was complete")]
    SessionClosed,
    /// The sink refused the object or failed.
    #[error("sink: {0}")]
    Sink(crate::SinkError),
    /// No packet of the object (and no FDT instance listing it) arrived within the object
    /// idle timeout, and no block of it had been decoded; or, for an object that had
    /// decoded blocks and was kept for the sender's next round, its session ended.
    #[error("timed out with {missing_blocks} source blocks not decodable")]
    Timeout {
        /// Blocks still not decoded.
        missing_blocks: u64,
    },
    /// Evicted from a full object table (or with its evicted session) to make room for a
    /// new object or session ([`crate::ReceiverConfig::max_concurrent_objects`],
    /// [`crate::ReceiverConfig::max_sessions`]).
    #[error("evicted to make room ({})", if *made_progress { "stalled" } else { "no symbol accepted" })]
    Evicted {
        /// Whether any symbol of the object had been accepted. Objects that made no
        /// progress are typically junk (a flood of TOIs) and not worth listing.
        made_progress: bool,
    },
    /// Transfer length or content larger than `max_object_size`.
    #[error("object larger than max_object_size")]
    TooLarge,
    /// The FDT and EXT_FTI disagree on the transfer length (catalogue item 54).
    #[error("transfer length {fdt} in the FDT, {fti} in EXT_FTI")]
    TransferLengthMismatch {
        /// From the FDT.
        fdt: u64,
        /// From EXT_FTI.
        fti: u64,
    },
    /// The Content-Encoding is not supported.
    #[error("unsupported Content-Encoding {0:?}")]
    UnsupportedContentEncoding(String),
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum CloseReason {
    /// The sender set the A flag (close session, RFC 5651 §5.1).
    CloseSession,
    /// No datagram within the session idle timeout.
    Idle,
    /// Evicted from a full session table to make room for a new session
    /// ([`crate::ReceiverConfig::max_sessions`]). The session is not remembered as closed: its
    /// packets may open it again.
    Evicted,
}

/// What the receiver reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum ReceiverEvent {
    /// An FDT instance was accepted.
    FdtReceived {
        /// Session.
        session: SessionId,
        /// FDT Instance ID.
        instance_id: u32,
        /// Number of `File` entries.
        files: usize,
        /// The `Complete` attribute.
        complete: bool,
    },
    /// The receiver started assembling an object.
    ObjectStarted {
        /// Session.
        session: SessionId,
        /// TOI.
        toi: Toi,
        /// Transfer length from the OTI.
        transfer_length: u64,
        /// Content-Location, if the FDT entry is known already.
        content_location: Option<String>,
    },
    /// A source block of an object was decoded.
    Progress {
        /// Session.
        session: SessionId,
        /// TOI.
        toi: Toi,
        /// Blocks decoded so far.
        blocks_decoded: u64,
        /// Blocks in the object.
        blocks_total: u64,
    },
    /// An object was delivered complete and verified.
    ObjectComplete {
        /// Session.
        session: SessionId,
        /// TOI.
        toi: Toi,
        /// Content-Location.
        content_location: String,
        /// Where the sink put it.
        location: ObjectLocation,
        /// Length of the content after content decoding.
        content_length: u64,
    },
    /// An object failed; nothing was delivered.
    ObjectFailed {
        /// Session.
        session: SessionId,
        /// TOI.
        toi: Toi,
        /// Why.
        reason: FailReason,
    },
    /// A session ended.
    SessionClosed {
        /// Session.
        session: SessionId,
        /// Why.
        reason: CloseReason,
    },
    /// An object ended incomplete and is kept for file repair (only with
    /// [`crate::ReceiverConfig::repair_max_objects`] > 0): ask for the missing symbols with
    /// [`crate::Receiver::repair_request`], feed the answer to [`crate::Receiver::handle_repair_symbols`]
    /// (or give up with [`crate::Receiver::abandon_repair`]). It ends later in `ObjectComplete` or
    /// `ObjectFailed`.
    ObjectIncomplete {
        /// Session.
        session: SessionId,
        /// TOI.
        toi: Toi,
        /// Content-Location (the repair query's `fileURI`).
        content_location: String,
        /// Why it ended incomplete.
        reason: FailReason,
    },
}

/// Counters of the receiver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ReceiverStats {
    /// Everything, including datagrams that could not be attributed to a session and
    /// sessions that have ended.
    pub total: SessionStats,
    /// Live sessions. (With `serde`: a list of `[session, stats]` pairs, since a JSON map
    /// key cannot be a structure.)
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::serde_util::pairs"))]
    pub sessions: BTreeMap<SessionId, SessionStats>,
    /// Bytes currently held in undecoded or not-yet-written blocks.
    pub buffered_bytes: u64,
    /// Bytes of datagrams currently waiting for their FDT entry or OTI.
    pub pending_bytes: u64,
    /// Objects currently being received.
    pub active_objects: usize,
    /// Sessions evicted from the full session table ([`CloseReason::Evicted`]).
    pub sessions_evicted: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::{BuildHasher, RandomState};
    use std::net::Ipv6Addr;

    fn id(source: Option<IpAddr>, dst: &str, tsi: u64) -> SessionId {
        SessionId {
            endpoint: Endpoint {
                source,
                destination: dst.parse().unwrap(),
            },
            tsi: Tsi(tsi),
        }
    }

    /// The hand-written `Hash` agrees with `Eq` (equal keys, equal hashes) and keeps apart
    /// keys that differ in one field only, the address family included.
    #[test]
    fn session_id_hash_follows_eq_and_separates_every_field() {
        let v4: IpAddr = Ipv4Addr::new(10, 0, 0, 1).into();
        let mapped: IpAddr = Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped().into();
        let v6: IpAddr = Ipv6Addr::LOCALHOST.into();
        let ids = [
            id(None, "127.0.0.1:3400", 1),
            id(None, "127.0.0.1:3400", 2),
            id(None, "127.0.0.1:3401", 1),
            id(None, "127.0.0.2:3400", 1),
            id(None, "[::1]:3400", 1),
            id(None, "[::ffff:127.0.0.1]:3400", 1),
            id(Some(v4), "127.0.0.1:3400", 1),
            id(Some(mapped), "127.0.0.1:3400", 1),
            id(Some(v6), "127.0.0.1:3400", 1),
            id(Some(Ipv4Addr::UNSPECIFIED.into()), "127.0.0.1:3400", 1),
        ];
        let state = RandomState::new();
        let hashes: HashSet<u64> = ids.iter().map(|i| state.hash_one(i)).collect();
        assert_eq!(hashes.len(), ids.len(), "every key hashes apart");
        for i in ids {
            let copy = i;
            assert_eq!(state.hash_one(i), state.hash_one(copy));
        }
        let set: HashSet<SessionId> = ids.iter().chain(ids.iter()).copied().collect();
        assert_eq!(set.len(), ids.len());
    }
}

//! The `application/simpleSymbolContainer` body of a file repair response
//! (3GPP TS 26.346 §9.3.6).
//!
//! The body is a sequence of groups; each group is
//!
//! ```text
//! +----------------------+---------------------------+-------------------------------+
//! | Length Indicator     | FEC Payload ID            | Length Indicator symbols,      |
//! | 16 bits, big-endian  | of the file's FEC scheme  | T bytes each                   |
//! +----------------------+---------------------------+-------------------------------+
//! ```
//!
//! The Length Indicator counts the consecutive encoding symbols of the group; the FEC Payload
//! ID has the layout of the file's FEC scheme, as in an ALC packet, and names the first of
//! them; T is the file's Encoding Symbol Length. Every symbol is exactly T bytes: the last
//! source symbol of the file, which may be shorter in ALC packets (RFC 5052 §9.1), is padded
//! with zeros to T here, so that the body splits without knowing the file's blocking.
//!
//! The Payload ID is read and written through [`FecScheme::read_payload_id`] and
//! [`FecScheme::write_payload_id`], so any registered scheme works unchanged.

use fec_schemes::{Blocking, FecError, FecScheme, Oti, PayloadId};

/// The MIME type of the body.
pub const CONTENT_TYPE: &str = "application/simpleSymbolContainer";

/// Why a container was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerError {
    /// The OTI is not valid for the scheme (or the scheme is not the OTI's).
    #[error("invalid OTI for the scheme: {0}")]
    InvalidOti(FecError),
    /// The Encoding Symbol Length of the OTI is 0.
    #[error("the OTI's encoding symbol length is 0")]
    ZeroSymbolLength,
    /// The body ends inside a group.
    #[error("truncated group at byte {offset}: {needed} bytes needed, {available} left")]
    Truncated {
        /// Offset of the group.
        offset: usize,
        /// Bytes the group needs (header, or header and symbols).
        needed: usize,
        /// Bytes left in the body.
        available: usize,
    },
    /// A Length Indicator of 0.
    #[error("zero length indicator at byte {offset}")]
    ZeroLengthIndicator {
        /// Offset of the group.
        offset: usize,
    },
    /// The scheme refused the FEC Payload ID.
    #[error("bad FEC Payload ID at byte {offset}: {error}")]
    BadPayloadId {
        /// Offset of the group.
        offset: usize,
        /// The scheme's error.
        error: FecError,
    },
    /// The Source Block Number is not a block of the file.
    #[error("SBN {sbn} but the file has {blocks} source blocks")]
    SbnOutOfRange {
        /// The SBN.
        sbn: u32,
        /// Blocks of the file.
        blocks: u64,
    },
    /// The group's ESIs reach beyond what the block can have.
    #[error("block {sbn}: {count} symbols from ESI {esi} reach beyond the ESI limit {limit}")]
    EsiOutOfRange {
        /// The SBN.
        sbn: u32,
        /// First ESI of the group.
        esi: u32,
        /// Symbols in the group.
        count: u32,
        /// Exclusive ESI limit of the block.
        limit: u32,
    },
    /// The Source Block Length carried in the Payload ID (FEC Encoding ID 129) is not the
    /// block's.
    #[error("block {sbn}: Source Block Length {got} in the Payload ID, {expected} by the OTI")]
    SourceBlockLength {
        /// The SBN.
        sbn: u32,
        /// From the Payload ID.
        got: u32,
        /// From the blocking.
        expected: u32,
    },
    /// Emit: the symbol data is empty, not a multiple of T, or more than 65 535 symbols.
    #[error("{len} bytes of symbol data is not 1 to 65535 symbols of {symbol_length} bytes")]
    SymbolData {
        /// Bytes given.
        len: usize,
        /// T.
        symbol_length: u16,
    },
    /// More groups than the caller allows.
    #[error("more than {max} groups")]
    TooManyGroups {
        /// The limit.
        max: usize,
    },
}

/// One group of a container: `count` consecutive symbols starting at `payload_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolGroup<'a> {
    /// The FEC Payload ID of the first symbol.
    pub payload_id: PayloadId,
    /// The symbols, `count * T` bytes.
    pub symbols: &'a [u8],
    /// Number of symbols (the Length Indicator), at least 1.
    pub count: u16,
}

impl<'a> SymbolGroup<'a> {
    /// The symbols one by one with their ESIs (each exactly T bytes).
    pub fn iter(&self, symbol_length: u16) -> impl Iterator<Item = (u32, &'a [u8])> + 'a {
        let start = self.payload_id.esi;
        self.symbols
            .chunks_exact(usize::from(symbol_length.max(1)))
            .zip(0u32..)
            .map(move |(s, i)| (start.wrapping_add(i), s))
    }
}

/// Reads and writes containers for one object: its scheme and OTI.
#[derive(Debug, Clone)]
pub struct ContainerCodec<'s> {
    scheme: &'s dyn FecScheme,
    oti: &'s Oti,
    blocking: Blocking,
    t: usize,
}

impl<'s> ContainerCodec<'s> {
    /// A codec for objects coded with `scheme` and `oti`.
    pub fn new(scheme: &'s dyn FecScheme, oti: &'s Oti) -> Result<Self, ContainerError> {
        if oti.key() != scheme.key() {
            return Err(ContainerError::InvalidOti(FecError::SchemeMismatch {
                expected: scheme.key().encoding_id,
                found: oti.encoding_id,
            }));
        }
        if oti.encoding_symbol_length == 0 {
            return Err(ContainerError::ZeroSymbolLength);
        }
        let blocking = scheme.blocking(oti).map_err(ContainerError::InvalidOti)?;
        Ok(Self {
            scheme,
            oti,
            blocking,
            t: usize::from(oti.encoding_symbol_length),
        })
    }

    /// The object's blocking.
    pub fn blocking(&self) -> &Blocking {
        &self.blocking
    }

    /// The scheme.
    pub fn scheme(&self) -> &'s dyn FecScheme {
        self.scheme
    }

    /// The OTI.
    pub fn oti(&self) -> &'s Oti {
        self.oti
    }

    /// T, the Encoding Symbol Length, in bytes (at least 1).
    pub fn symbol_length(&self) -> usize {
        self.t
    }

    /// Bytes of a group's header: Length Indicator and FEC Payload ID.
    pub fn header_len(&self) -> usize {
        2 + self.scheme.payload_id_len()
    }

    /// Checks that `count` symbols from `id` lie within one block of the object: the SBN
    /// names a block, the ESIs stay below the scheme's receive limit for it, and a carried
    /// Source Block Length matches.
    pub fn check(&self, id: &PayloadId, count: u32) -> Result<(), ContainerError> {
        if u64::from(id.sbn) >= self.blocking.blocks {
            return Err(ContainerError::SbnOutOfRange {
                sbn: id.sbn,
                blocks: self.blocking.blocks,
            });
        }
        let block = self
            .blocking
            .block(id.sbn)
            .map_err(ContainerError::InvalidOti)?;
        if let Some(sbl) = id.source_block_length {
            if sbl != block.source_symbols {
                return Err(ContainerError::SourceBlockLength {
                    sbn: id.sbn,
                    got: sbl,
                    expected: block.source_symbols,
                });
            }
        }
        let limit = self.scheme.receive_esi_limit(self.oti, &block);
        if u64::from(id.esi) + u64::from(count) > u64::from(limit) {
            return Err(ContainerError::EsiOutOfRange {
                sbn: id.sbn,
                esi: id.esi,
                count,
                limit,
            });
        }
        Ok(())
    }

    /// The groups of `body`, in order; iteration stops after the first error.
    pub fn groups<'c, 'a>(&'c self, body: &'a [u8]) -> Groups<'c, 'a> {
        Groups {
            codec: self,
            body,
            pos: 0,
            failed: false,
        }
    }

    /// Parses a whole body: every group checked ([`Self::check`]), at most `max_groups` of
    /// them.
    pub fn parse<'a>(
        &self,
        body: &'a [u8],
        max_groups: usize,
    ) -> Result<Vec<SymbolGroup<'a>>, ContainerError> {
        let mut out = Vec::new();
        for g in self.groups(body) {
            if out.len() >= max_groups {
                return Err(ContainerError::TooManyGroups { max: max_groups });
            }
            out.push(g?);
        }
        Ok(out)
    }

    /// Appends one group to `out`: `symbols` holds 1 to 65 535 symbols of exactly T bytes
    /// (pad the last source symbol of the object), the first of them named by `id`.
    pub fn write_group(
        &self,
        id: &PayloadId,
        symbols: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), ContainerError> {
        let bad = ContainerError::SymbolData {
            len: symbols.len(),
            symbol_length: self.oti.encoding_symbol_length,
        };
        if symbols.is_empty() || symbols.len() % self.t != 0 {
            return Err(bad);
        }
        let count = u16::try_from(symbols.len() / self.t).map_err(|_| bad)?;
        self.check(id, u32::from(count))?;
        let at = out.len();
        let pid = self.scheme.payload_id_len();
        out.extend_from_slice(&count.to_be_bytes());
        out.resize(at + 2 + pid, 0);
        if let Err(error) = self
            .scheme
            .write_payload_id(id, self.oti, &mut out[at + 2..])
        {
            out.truncate(at);
            return Err(ContainerError::BadPayloadId { offset: at, error });
        }
        out.extend_from_slice(symbols);
        Ok(())
    }
}

/// Iterator over the groups of a body; see [`ContainerCodec::groups`].
#[derive(Debug)]
pub struct Groups<'c, 'a> {
    codec: &'c ContainerCodec<'c>,
    body: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Groups<'_, 'a> {
    fn read(&mut self) -> Result<SymbolGroup<'a>, ContainerError> {
        let offset = self.pos;
        let rest = self.body.get(offset..).unwrap_or(&[]);
        let header = self.codec.header_len();
        if rest.len() < header {
            return Err(ContainerError::Truncated {
                offset,
                needed: header,
                available: rest.len(),
            });
        }
        let count = u16::from_be_bytes([rest[0], rest[1]]);
        if count == 0 {
            return Err(ContainerError::ZeroLengthIndicator { offset });
        }
        let id = self
            .codec
            .scheme
            .read_payload_id(&rest[2..header], Some(self.codec.oti))
            .map_err(|error| ContainerError::BadPayloadId { offset, error })?;
        self.codec.check(&id, u32::from(count))?;
        // count <= 65 535 and T <= 65 535: the product fits in usize on 32-bit targets too.
        let data = usize::from(count) * self.codec.t;
        let needed = header + data;
        if rest.len() < needed {
            return Err(ContainerError::Truncated {
                offset,
                needed,
                available: rest.len(),
            });
        }
        self.pos = offset + needed;
        Ok(SymbolGroup {
            payload_id: id,
            symbols: &rest[header..needed],
            count,
        })
    }
}

impl<'a> Iterator for Groups<'_, 'a> {
    type Item = Result<SymbolGroup<'a>, ContainerError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.body.len() {
            return None;
        }
        let r = self.read();
        self.failed = r.is_err();
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use fec_schemes::schemes::no_code::CompactNoCode;
    use fec_schemes::schemes::raptorq::RaptorQ;
    use fec_schemes::{FecEncodingId, FecRegistry};
    use hex_literal::hex;

    use super::*;

    fn pid(sbn: u32, esi: u32) -> PayloadId {
        PayloadId {
            sbn,
            esi,
            source_block_length: None,
        }
    }

    /// TS 26.346 §9.3.6 with Compact No-Code (RFC 5445: 16-bit SBN, 16-bit ESI): two
    /// groups, byte for byte.
    #[test]
    fn ts26346_9_3_6_container_bytes_no_code() {
        let reg = FecRegistry::with_builtin();
        let scheme = reg.get(FecEncodingId::COMPACT_NO_CODE, None).unwrap();
        // 10 bytes, T = 4, B = 2 (RFC 5052 §9.1): block 0 has ESI 0-1 (bytes 0-7), block 1
        // has ESI 0 (bytes 8-9, short).
        let oti = CompactNoCode::oti(10, 4, 2);
        let c = ContainerCodec::new(&**scheme, &oti).unwrap();
        let mut body = Vec::new();
        c.write_group(&pid(0, 1), b"4567", &mut body).unwrap();
        c.write_group(&pid(1, 0), b"89\0\0", &mut body).unwrap();
        let expected = hex!(
            "0001 0000 0001 34353637"  // LI 1, SBN 0, ESI 1, "4567"
            "0001 0001 0000 38390000"  // LI 1, SBN 1, ESI 0, "89" padded
        );
        assert_eq!(body, expected);
        let groups = c.parse(&body, 16).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].payload_id, pid(0, 1));
        assert_eq!(groups[1].symbols, b"89\0\0");
        assert_eq!(
            groups[0].iter(4).collect::<Vec<_>>(),
            vec![(1, &b"4567"[..])]
        );
    }

    /// RaptorQ (RFC 6330 §3.2: 8-bit SBN, 24-bit ESI): a group of two repair symbols.
    #[test]
    fn ts26346_9_3_6_container_bytes_raptorq() {
        let reg = FecRegistry::with_builtin();
        let scheme = reg.get(FecEncodingId::RAPTORQ, None).unwrap();
        let oti = RaptorQ::oti(64, 8, 1, 1, 1);
        let c = ContainerCodec::new(&**scheme, &oti).unwrap();
        let mut body = Vec::new();
        c.write_group(&pid(0, 0x01_0203), &[0xAA; 16], &mut body)
            .unwrap();
        assert_eq!(&body[..6], &hex!("0002 00 010203"));
        assert_eq!(body.len(), 6 + 16);
        let g = c.parse(&body, 1).unwrap();
        assert_eq!(g[0].count, 2);
        assert_eq!(
            g[0].iter(8).map(|(e, _)| e).collect::<Vec<_>>(),
            vec![0x01_0203, 0x01_0204]
        );
    }

    fn no_code() -> (std::sync::Arc<dyn FecScheme>, Oti) {
        let reg = FecRegistry::with_builtin();
        let scheme = reg
            .get(FecEncodingId::COMPACT_NO_CODE, None)
            .unwrap()
            .clone();
        (scheme, CompactNoCode::oti(10, 4, 2))
    }

    #[test]
    fn hostile_bodies_are_typed_errors() {
        let (scheme, oti) = no_code();
        let c = ContainerCodec::new(&*scheme, &oti).unwrap();
        // Truncated header, truncated symbols.
        assert!(matches!(
            c.parse(&hex!("0001 0000"), 4),
            Err(ContainerError::Truncated {
                offset: 0,
                needed: 6,
                available: 4
            })
        ));
        assert!(matches!(
            c.parse(&hex!("0002 0000 0000 3031323334"), 4),
            Err(ContainerError::Truncated {
                needed: 14,
                available: 11,
                ..
            })
        ));
        // Length indicator 0; one that promises more than the body holds.
        assert!(matches!(
            c.parse(&hex!("0000 0000 0000"), 4),
            Err(ContainerError::ZeroLengthIndicator { offset: 0 })
        ));
        assert!(matches!(
            c.parse(&hex!("ffff 0000 0000 30313233"), 4),
            Err(ContainerError::EsiOutOfRange { .. })
        ));
        // SBN beyond the last block; ESIs beyond the block (No-Code: ESI < k).
        assert!(matches!(
            c.parse(&hex!("0001 0002 0000 30313233"), 4),
            Err(ContainerError::SbnOutOfRange { sbn: 2, blocks: 2 })
        ));
        assert!(matches!(
            c.parse(&hex!("0002 0001 0000 3031323334353637"), 4),
            Err(ContainerError::EsiOutOfRange {
                sbn: 1,
                esi: 0,
                count: 2,
                limit: 1
            })
        ));
        // Too many groups.
        let one = hex!("0001 0000 0000 30313233");
        let two = [one, one].concat();
        assert!(matches!(
            c.parse(&two, 1),
            Err(ContainerError::TooManyGroups { max: 1 })
        ));
        // An empty body holds no group.
        assert!(c.parse(&[], 4).unwrap().is_empty());
    }

    #[test]
    fn emit_refuses_bad_symbol_data() {
        let (scheme, oti) = no_code();
        let c = ContainerCodec::new(&*scheme, &oti).unwrap();
        let mut out = Vec::new();
        for data in [&b""[..], b"123", b"12345"] {
            assert!(matches!(
                c.write_group(&pid(0, 0), data, &mut out),
                Err(ContainerError::SymbolData { .. })
            ));
        }
        assert!(matches!(
            c.write_group(&pid(5, 0), b"1234", &mut out),
            Err(ContainerError::SbnOutOfRange { .. })
        ));
        assert!(out.is_empty());
    }

    #[test]
    fn codec_refuses_a_foreign_or_invalid_oti() {
        let (scheme, _) = no_code();
        let rq = RaptorQ::oti(64, 8, 1, 1, 1);
        assert!(matches!(
            ContainerCodec::new(&*scheme, &rq),
            Err(ContainerError::InvalidOti(_))
        ));
        let zero = CompactNoCode::oti(10, 0, 2);
        assert!(ContainerCodec::new(&*scheme, &zero).is_err());
    }
}

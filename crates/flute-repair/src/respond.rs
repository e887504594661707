//! The server side of a repair request, without I/O: from a [`RepairQuery`] and a way to
//! read the file's bytes, the `application/simpleSymbolContainer` body.
//!
//! Source symbols (ESI < k) are the file's bytes (the last one of the file padded with
//! zeros to T); repair symbols (ESI >= k, asked for explicitly) come from the scheme's
//! encoder for the block. Whole blocks and the whole file are answered with source symbols.

use bytes::Bytes;
use fec_schemes::{BlockEncoder, BlockSpec, FecError, PayloadId};

use crate::{ContainerCodec, ContainerError, IdRange, RepairQuery};

/// Fills the buffer with the object's bytes from the given offset, or says why it cannot.
pub type ReadAt<'a> = &'a mut dyn FnMut(u64, &mut [u8]) -> Result<(), String>;

/// Bounds of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseLimits {
    /// Most symbols in one response (their bytes are this times T, plus group headers).
    pub max_symbols: u64,
}

impl Default for ResponseLimits {
    fn default() -> Self {
        Self {
            max_symbols: 1 << 16,
        }
    }
}

/// Why a request could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// A Source Block Number beyond the file's last block.
    #[error("SBN {sbn} but the file has {blocks} source blocks")]
    SbnOutOfRange {
        /// The first SBN out of range.
        sbn: u32,
        /// Blocks of the file.
        blocks: u64,
    },
    /// An Encoding Symbol ID the scheme cannot produce for the block.
    #[error("block {sbn}: ESI {esi} is not below the ESI limit {limit}")]
    EsiOutOfRange {
        /// The block.
        sbn: u32,
        /// The first ESI out of range.
        esi: u32,
        /// Exclusive limit.
        limit: u32,
    },
    /// The answer would hold more symbols than [`ResponseLimits::max_symbols`].
    #[error("{symbols} or more symbols asked for, at most {max} per response")]
    TooLarge {
        /// Symbols counted when the count passed the limit (a lower bound).
        symbols: u64,
        /// The limit.
        max: u64,
    },
    /// Reading the file failed.
    #[error("reading the file: {0}")]
    Read(String),
    /// The scheme's encoder failed.
    #[error("encoding: {0}")]
    Fec(FecError),
    /// Writing the container failed (an internal inconsistency).
    #[error("container: {0}")]
    Container(ContainerError),
}

/// Number of symbols `query` asks for, checked against the object's blocking and the
/// scheme's ESI limits, without reading anything. Stops with [`ResponseError::TooLarge`] as
/// soon as the count passes `max`, so the work is bounded by `max` whatever the query.
pub fn count_symbols(
    codec: &ContainerCodec<'_>,
    query: &RepairQuery,
    max: u64,
) -> Result<u64, ResponseError> {
    let blocking = codec.blocking();
    let too_large = |symbols| ResponseError::TooLarge { symbols, max };
    if query.parts.is_empty() {
        return match blocking.total_symbols {
            n if n > max => Err(too_large(n)),
            n => Ok(n),
        };
    }
    let mut total = 0u64;
    for part in &query.parts {
        if u64::from(part.sbn.last()) >= blocking.blocks {
            return Err(ResponseError::SbnOutOfRange {
                sbn: part.sbn.last(),
                blocks: blocking.blocks,
            });
        }
        for sbn in part.sbn.iter() {
            let block = blocking.block(sbn).map_err(ResponseError::Fec)?;
            if part.esi.is_empty() {
                total = total.saturating_add(u64::from(block.source_symbols));
                if total > max {
                    return Err(too_large(total));
                }
                continue;
            }
            let limit = codec.scheme().esi_limit(codec.oti(), &block);
            for r in &part.esi {
                if r.last() >= limit {
                    return Err(ResponseError::EsiOutOfRange {
                        sbn,
                        esi: r.last(),
                        limit,
                    });
                }
                total = total.saturating_add(r.len());
                if total > max {
                    return Err(too_large(total));
                }
            }
        }
    }
    Ok(total)
}

/// Answers `query` for the object of `codec`, reading its bytes with `read(offset, buf)`
/// (which fills `buf` from byte `offset` of the object). Every check is done before the
/// first read: an invalid or oversized query reads nothing.
pub fn respond(
    codec: &ContainerCodec<'_>,
    query: &RepairQuery,
    limits: &ResponseLimits,
    read: ReadAt<'_>,
) -> Result<Vec<u8>, ResponseError> {
    let symbols = count_symbols(codec, query, limits.max_symbols)?;
    let t = codec.symbol_length();
    let groups = symbols.div_ceil(u64::from(u16::MAX)) + query.parts.len() as u64;
    let cap = symbols
        .saturating_mul(t as u64)
        .saturating_add(groups.saturating_mul(codec.header_len() as u64));
    let mut out = Vec::with_capacity(usize::try_from(cap).unwrap_or(0));
    let blocking = *codec.blocking();
    if query.parts.is_empty() {
        for block in blocking.iter() {
            source_range(codec, &block, 0, block.source_symbols, read, &mut out)?;
        }
        return Ok(out);
    }
    for part in &query.parts {
        for sbn in part.sbn.iter() {
            let block = blocking.block(sbn).map_err(ResponseError::Fec)?;
            if part.esi.is_empty() {
                source_range(codec, &block, 0, block.source_symbols, read, &mut out)?;
                continue;
            }
            let mut encoder: Option<Box<dyn BlockEncoder>> = None;
            for r in &part.esi {
                let k = block.source_symbols;
                // The source part of the range, then the repair part.
                if r.first() < k {
                    source_range(
                        codec,
                        &block,
                        r.first(),
                        r.last().min(k - 1) + 1,
                        read,
                        &mut out,
                    )?;
                }
                if r.last() >= k {
                    let first = r.first().max(k);
                    let enc = match &mut encoder {
                        Some(e) => e,
                        None => encoder.insert(encoder_for(codec, &block, read)?),
                    };
                    repair_range(
                        codec,
                        &block,
                        enc.as_mut(),
                        IdRange::new(first, r.last()),
                        &mut out,
                    )?;
                }
            }
        }
    }
    Ok(out)
}

/// The Payload ID of symbol `esi` of block `sbn` (a scheme that carries the Source Block
/// Length, ID 129, fills it in from the OTI).
fn pid(sbn: u32, esi: u32) -> PayloadId {
    PayloadId {
        sbn,
        esi,
        source_block_length: None,
    }
}

/// Source symbols `first..end` of `block`, in groups of at most 65 535.
fn source_range(
    codec: &ContainerCodec<'_>,
    block: &BlockSpec,
    first: u32,
    end: u32,
    read: ReadAt<'_>,
    out: &mut Vec<u8>,
) -> Result<(), ResponseError> {
    let t = codec.symbol_length();
    let mut esi = first;
    let mut buf = Vec::new();
    while esi < end {
        let n = (end - esi).min(u32::from(u16::MAX));
        // n * t <= 65 535 * 65 535 fits in u64 and, as a buffer, in memory bounded by the
        // response limit checked before.
        let bytes = n as usize * t;
        buf.clear();
        buf.resize(bytes, 0);
        let start = u64::from(esi) * t as u64;
        let avail = block.len.saturating_sub(start).min(bytes as u64) as usize;
        read_exact_at(read, block.offset + start, &mut buf[..avail])?;
        codec
            .write_group(&pid(block.sbn, esi), &buf, out)
            .map_err(ResponseError::Container)?;
        esi += n;
    }
    Ok(())
}

fn repair_range(
    codec: &ContainerCodec<'_>,
    block: &BlockSpec,
    enc: &mut dyn BlockEncoder,
    range: Option<IdRange>,
    out: &mut Vec<u8>,
) -> Result<(), ResponseError> {
    let Some(range) = range else {
        return Ok(());
    };
    let t = codec.symbol_length();
    let mut esi = range.first();
    let mut buf = Vec::new();
    loop {
        let n = (range.last() - esi).min(u32::from(u16::MAX) - 1) + 1;
        buf.clear();
        buf.resize(n as usize * t, 0);
        for (i, sym) in buf.chunks_exact_mut(t).enumerate() {
            enc.write_symbol(esi + i as u32, sym)
                .map_err(ResponseError::Fec)?;
        }
        codec
            .write_group(&pid(block.sbn, esi), &buf, out)
            .map_err(ResponseError::Container)?;
        match (esi + n - 1).checked_add(1) {
            Some(next) if next <= range.last() => esi = next,
            _ => return Ok(()),
        }
    }
}

fn read_exact_at(read: ReadAt<'_>, offset: u64, buf: &mut [u8]) -> Result<(), ResponseError> {
    if buf.is_empty() {
        return Ok(());
    }
    read(offset, buf).map_err(ResponseError::Read)
}

/// An encoder for `block`, fed with the block's bytes.
fn encoder_for(
    codec: &ContainerCodec<'_>,
    block: &BlockSpec,
    read: ReadAt<'_>,
) -> Result<Box<dyn BlockEncoder>, ResponseError> {
    // block.len <= k * T, bounded by the scheme's limits on k and T.
    let len =
        usize::try_from(block.len).map_err(|_| ResponseError::Read("block too large".into()))?;
    let mut data = vec![0u8; len];
    read_exact_at(read, block.offset, &mut data)?;
    codec
        .scheme()
        .encoder(codec.oti(), block, Bytes::from(data))
        .map_err(ResponseError::Fec)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use fec_schemes::schemes::no_code::CompactNoCode;
    use fec_schemes::schemes::raptorq::RaptorQ;
    use fec_schemes::{FecRegistry, Oti};

    use super::*;
    use crate::{QueryLimits, SymbolRequest};

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn answer(
        oti: &Oti,
        file: &[u8],
        q: &str,
        limits: ResponseLimits,
    ) -> Result<Vec<u8>, ResponseError> {
        let reg = FecRegistry::with_builtin();
        let scheme = reg.for_oti(oti).unwrap();
        let codec = ContainerCodec::new(&**scheme, oti).unwrap();
        let q = RepairQuery::parse(q, &QueryLimits::default()).unwrap();
        respond(&codec, &q, &limits, &mut |off, buf| {
            let off = off as usize;
            buf.copy_from_slice(&file[off..off + buf.len()]);
            Ok(())
        })
    }

    /// TS 26.346 §9.3.6: no SBN asks for the whole file; the answer holds every source
    /// symbol, the last one padded to T.
    #[test]
    fn ts26346_9_3_6_whole_file_answer() {
        let file = data(10);
        let oti = CompactNoCode::oti(10, 4, 2);
        let body = answer(&oti, &file, "fileURI=f", ResponseLimits::default()).unwrap();
        let reg = FecRegistry::with_builtin();
        let scheme = reg.for_oti(&oti).unwrap();
        let codec = ContainerCodec::new(&**scheme, &oti).unwrap();
        let groups = codec.parse(&body, 16).unwrap();
        assert_eq!(groups.len(), 2);
        let mut got: Vec<u8> = groups.iter().flat_map(|g| g.symbols.to_vec()).collect();
        assert_eq!(got.split_off(10), vec![0, 0]);
        assert_eq!(got, file);
    }

    /// RaptorQ repair symbols (ESI >= k) come from the encoder and decode the block.
    #[test]
    fn repair_symbols_from_the_encoder_decode() {
        let file = data(1000);
        let oti = RaptorQ::oti(1000, 16, 1, 1, 1);
        let reg = FecRegistry::with_builtin();
        let scheme = reg.for_oti(&oti).unwrap();
        let codec = ContainerCodec::new(&**scheme, &oti).unwrap();
        let block = codec.blocking().block(0).unwrap();
        let k = block.source_symbols;
        // Source 0..k-10 and repair k..k+12.
        let q = format!("fileURI=f&SBN=0;ESI=0-{},{}-{}", k - 11, k, k + 11);
        let body = answer(&oti, &file, &q, ResponseLimits::default()).unwrap();
        let mut dec = scheme.decoder(&oti, &block).unwrap();
        for g in codec.parse(&body, 16).unwrap() {
            for (esi, sym) in g.iter(16) {
                dec.push(esi, sym).unwrap();
            }
        }
        assert!(dec.is_decodable());
        assert_eq!(&dec.decode().unwrap()[..], &file[..]);
    }

    #[test]
    fn out_of_range_and_oversized_queries_read_nothing() {
        let file = data(10);
        let oti = CompactNoCode::oti(10, 4, 2);
        let l = ResponseLimits::default();
        assert_eq!(
            answer(&oti, &file, "fileURI=f&SBN=2", l),
            Err(ResponseError::SbnOutOfRange { sbn: 2, blocks: 2 })
        );
        assert_eq!(
            answer(&oti, &file, "fileURI=f&SBN=1;ESI=0-1", l),
            Err(ResponseError::EsiOutOfRange {
                sbn: 1,
                esi: 1,
                limit: 1
            })
        );
        assert_eq!(
            answer(
                &oti,
                &file,
                "fileURI=f&SBN=0-1",
                ResponseLimits { max_symbols: 2 }
            ),
            Err(ResponseError::TooLarge { symbols: 3, max: 2 })
        );
        // An SBN range of 2^32 blocks is refused by its last SBN before anything else.
        assert!(matches!(
            answer(&oti, &file, "fileURI=f&SBN=0-4294967295", l),
            Err(ResponseError::SbnOutOfRange { .. })
        ));
        let q = RepairQuery {
            file_uri: "f".into(),
            parts: vec![SymbolRequest::symbols(0, vec![IdRange::single(0)])],
        };
        let reg = FecRegistry::with_builtin();
        let scheme = reg.for_oti(&oti).unwrap();
        let codec = ContainerCodec::new(&**scheme, &oti).unwrap();
        assert_eq!(count_symbols(&codec, &q, 1), Ok(1));
        assert!(count_symbols(&codec, &q, 0).is_err());
        let failing = respond(&codec, &q, &l, &mut |_, _| Err("disk".into()));
        assert_eq!(failing, Err(ResponseError::Read("disk".into())));
    }
}

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
    let mut all = Vec::new();
    respond_streaming(
        codec,
        query,
        limits,
        u16::MAX,
        usize::MAX,
        read,
        &mut |chunk| {
            if all.is_empty() {
                all = chunk;
            } else {
                all.extend_from_slice(&chunk);
            }
            Ok(())
        },
    )?;
    Ok(all)
}

/// Hands out the body in pieces as it is built.
pub type Emit<'a> = &'a mut dyn FnMut(Vec<u8>) -> Result<(), String>;

/// [`respond`] for a server that streams: groups of at most `max_group` symbols, handed to
/// `emit` in pieces of about `chunk_bytes` (a piece ends on a group boundary), so that the
/// memory held is one piece (plus one block's data when repair symbols are asked for)
/// whatever the size of the answer. Validation happens before the first `read` or `emit`;
/// an `emit` error (the client went away) stops the work with [`ResponseError::Read`].
#[allow(clippy::too_many_arguments)]
pub fn respond_streaming(
    codec: &ContainerCodec<'_>,
    query: &RepairQuery,
    limits: &ResponseLimits,
    max_group: u16,
    chunk_bytes: usize,
    read: ReadAt<'_>,
    emit: Emit<'_>,
) -> Result<u64, ResponseError> {
    let symbols = count_symbols(codec, query, limits.max_symbols)?;
    let mut w = Writer {
        codec,
        out: Vec::new(),
        chunk: chunk_bytes.max(1),
        max_group: u32::from(max_group.max(1)),
        emit,
        buf: Vec::new(),
    };
    let blocking = *codec.blocking();
    if query.parts.is_empty() {
        for block in blocking.iter() {
            w.source_range(&block, 0, block.source_symbols, read)?;
        }
        w.flush()?;
        return Ok(symbols);
    }
    for part in &query.parts {
        for sbn in part.sbn.iter() {
            let block = blocking.block(sbn).map_err(ResponseError::Fec)?;
            if part.esi.is_empty() {
                w.source_range(&block, 0, block.source_symbols, read)?;
                continue;
            }
            let mut encoder: Option<Box<dyn BlockEncoder>> = None;
            for r in &part.esi {
                let k = block.source_symbols;
                // The source part of the range, then the repair part.
                if r.first() < k {
                    w.source_range(&block, r.first(), r.last().min(k - 1) + 1, read)?;
                }
                if r.last() >= k {
                    let first = r.first().max(k);
                    let enc = match &mut encoder {
                        Some(e) => e,
                        None => encoder.insert(encoder_for(codec, &block, read)?),
                    };
                    if let Some(range) = IdRange::new(first, r.last()) {
                        w.repair_range(&block, enc.as_mut(), range)?;
                    }
                }
            }
        }
    }
    w.flush()?;
    Ok(symbols)
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

struct Writer<'c, 'e> {
    codec: &'c ContainerCodec<'c>,
    out: Vec<u8>,
    chunk: usize,
    max_group: u32,
    emit: Emit<'e>,
    buf: Vec<u8>,
}

impl Writer<'_, '_> {
    fn group(&mut self, sbn: u32, esi: u32) -> Result<(), ResponseError> {
        self.codec
            .write_group(&pid(sbn, esi), &self.buf, &mut self.out)
            .map_err(ResponseError::Container)?;
        if self.out.len() >= self.chunk {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ResponseError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let piece = std::mem::take(&mut self.out);
        (self.emit)(piece).map_err(ResponseError::Read)
    }

    /// Source symbols `first..end` of `block`.
    fn source_range(
        &mut self,
        block: &BlockSpec,
        first: u32,
        end: u32,
        read: ReadAt<'_>,
    ) -> Result<(), ResponseError> {
        let t = self.codec.symbol_length();
        let mut esi = first;
        while esi < end {
            let n = (end - esi).min(self.max_group);
            // n <= 65 535 symbols of T <= 65 535 bytes; the response limit was checked.
            let bytes = n as usize * t;
            self.buf.clear();
            self.buf.resize(bytes, 0);
            let start = u64::from(esi) * t as u64;
            let avail = block.len.saturating_sub(start).min(bytes as u64) as usize;
            read_exact_at(read, block.offset + start, &mut self.buf[..avail])?;
            self.group(block.sbn, esi)?;
            esi += n;
        }
        Ok(())
    }

    /// Repair symbols `range` of `block`, from its encoder.
    fn repair_range(
        &mut self,
        block: &BlockSpec,
        enc: &mut dyn BlockEncoder,
        range: IdRange,
    ) -> Result<(), ResponseError> {
        let t = self.codec.symbol_length();
        let mut esi = range.first();
        loop {
            let n = (range.last() - esi).min(self.max_group - 1) + 1;
            self.buf.clear();
            self.buf.resize(n as usize * t, 0);
            for (i, sym) in self.buf.chunks_exact_mut(t).enumerate() {
                enc.write_symbol(esi + i as u32, sym)
                    .map_err(ResponseError::Fec)?;
            }
            self.group(block.sbn, esi)?;
            match (esi + n - 1).checked_add(1) {
                Some(next) if next <= range.last() => esi = next,
                _ => return Ok(()),
            }
        }
    }
}

/// Splits `query` into queries of at most `max_symbols` symbols and about `max_len`
/// characters each (a single part longer than `max_len` still makes one query), so that a
/// client can bound every response and keep every request under the server's limits. Whole
/// blocks and ranges are cut into ESI ranges where needed; consecutive whole blocks stay
/// one SBN range. Errors as [`count_symbols`] for parts outside the object.
pub fn split_query(
    codec: &ContainerCodec<'_>,
    query: &RepairQuery,
    max_symbols: u64,
    max_len: usize,
) -> Result<Vec<RepairQuery>, ResponseError> {
    use crate::SymbolRequest;
    let max_symbols = max_symbols.max(1);
    let blocking = codec.blocking();
    // Units of work: (part, symbols), each at most max_symbols.
    let mut units: Vec<(SymbolRequest, u64)> = Vec::new();
    let push_block = |units: &mut Vec<(SymbolRequest, u64)>, sbn: u32, k: u32| {
        if u64::from(k) <= max_symbols {
            // Merge with the previous whole-block unit when consecutive and it fits.
            if let Some((prev, n)) = units.last_mut() {
                if prev.esi.is_empty()
                    && prev.sbn.last().checked_add(1) == Some(sbn)
                    && *n + u64::from(k) <= max_symbols
                {
                    if let Some(r) = IdRange::new(prev.sbn.first(), sbn) {
                        prev.sbn = r;
                        *n += u64::from(k);
                        return;
                    }
                }
            }
            units.push((SymbolRequest::blocks(IdRange::single(sbn)), u64::from(k)));
        } else if let Some(all) = IdRange::new(0, k.saturating_sub(1)) {
            for r in cut(all, max_symbols) {
                units.push((SymbolRequest::symbols(sbn, vec![r]), r.len()));
            }
        }
    };
    if query.parts.is_empty() {
        for b in blocking.iter() {
            push_block(&mut units, b.sbn, b.source_symbols);
        }
    }
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
                push_block(&mut units, sbn, block.source_symbols);
                continue;
            }
            for r in &part.esi {
                for piece in cut(*r, max_symbols) {
                    // Join ESI ranges of the same block into one part when they fit.
                    if let Some((prev, n)) = units.last_mut() {
                        if prev.sbn == IdRange::single(sbn)
                            && !prev.esi.is_empty()
                            && *n + piece.len() <= max_symbols
                        {
                            prev.esi.push(piece);
                            *n += piece.len();
                            continue;
                        }
                    }
                    units.push((SymbolRequest::symbols(sbn, vec![piece]), piece.len()));
                }
            }
        }
    }
    let base = RepairQuery::whole_file(query.file_uri.clone())
        .encode()
        .len();
    let mut out = Vec::new();
    let mut cur: Vec<SymbolRequest> = Vec::new();
    let (mut n, mut len) = (0u64, base);
    for (part, count) in units {
        let plen = part_len(&part);
        if !cur.is_empty() && (n + count > max_symbols || len + plen > max_len) {
            out.push(RepairQuery {
                file_uri: query.file_uri.clone(),
                parts: std::mem::take(&mut cur),
            });
            (n, len) = (0, base);
        }
        n += count;
        len += plen;
        cur.push(part);
    }
    if !cur.is_empty() {
        out.push(RepairQuery {
            file_uri: query.file_uri.clone(),
            parts: cur,
        });
    }
    Ok(out)
}

/// `r` cut into ranges of at most `max` values.
fn cut(r: IdRange, max: u64) -> Vec<IdRange> {
    let mut out = Vec::new();
    let mut first = u64::from(r.first());
    let last = u64::from(r.last());
    while first <= last {
        let end = (first + max - 1).min(last);
        // Both ends are within r, so within u32.
        if let Some(piece) = IdRange::new(first as u32, end as u32) {
            out.push(piece);
        }
        first = end + 1;
    }
    out
}

/// Characters `&SBN=...[;ESI=...]` takes in a query.
fn part_len(p: &crate::SymbolRequest) -> usize {
    let esi: usize = p.esi.iter().map(|r| r.to_string().len() + 1).sum();
    5 + p.sbn.to_string().len() + if p.esi.is_empty() { 0 } else { 4 + esi }
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

    /// The hex example of docs/repair.md, byte for byte.
    #[test]
    fn docs_repair_md_hex_example() {
        let oti = CompactNoCode::oti(10, 4, 2);
        let body = answer(
            &oti,
            b"0123456789",
            "fileURI=f&SBN=0;ESI=1&SBN=1",
            ResponseLimits::default(),
        )
        .unwrap();
        assert_eq!(
            body,
            [
                0x00, 0x01, 0x00, 0x00, 0x00, 0x01, b'4', b'5', b'6', b'7', //
                0x00, 0x01, 0x00, 0x01, 0x00, 0x00, b'8', b'9', 0x00, 0x00,
            ]
        );
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

    /// Streaming in small groups and pieces gives the same symbols as one body.
    #[test]
    fn streaming_gives_the_same_symbols_in_small_groups() {
        let file = data(5000);
        let oti = CompactNoCode::oti(5000, 16, 64);
        let reg = FecRegistry::with_builtin();
        let scheme = reg.for_oti(&oti).unwrap();
        let codec = ContainerCodec::new(&**scheme, &oti).unwrap();
        let q = RepairQuery::whole_file("f");
        let mut read = |off: u64, buf: &mut [u8]| {
            let off = off as usize;
            buf.copy_from_slice(&file[off..off + buf.len()]);
            Ok(())
        };
        let mut pieces = Vec::new();
        let n = respond_streaming(
            &codec,
            &q,
            &ResponseLimits::default(),
            3,
            100,
            &mut read,
            &mut |p| {
                pieces.push(p);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(n, 313);
        assert!(pieces.iter().all(|p| p.len() <= 100 + 3 * 16 + 6));
        let body: Vec<u8> = pieces.concat();
        let groups = codec.parse(&body, 1000).unwrap();
        assert!(groups.iter().all(|g| g.count <= 3));
        let got: Vec<u8> = groups.iter().flat_map(|g| g.symbols.to_vec()).collect();
        assert_eq!(&got[..5000], &file[..]);
        // The client went away: the work stops with an error.
        let stop = respond_streaming(
            &codec,
            &q,
            &ResponseLimits::default(),
            3,
            100,
            &mut read,
            &mut |_| Err("gone".into()),
        );
        assert_eq!(stop, Err(ResponseError::Read("gone".into())));
    }

    #[test]
    fn split_bounds_symbols_and_length() {
        let oti = CompactNoCode::oti(100_000, 10, 100);
        let reg = FecRegistry::with_builtin();
        let scheme = reg.for_oti(&oti).unwrap();
        let codec = ContainerCodec::new(&**scheme, &oti).unwrap();
        // Whole file: 100 blocks of 100 symbols, 250 symbols per query.
        let qs = split_query(&codec, &RepairQuery::whole_file("f"), 250, 10_000).unwrap();
        let total: u64 = qs
            .iter()
            .map(|q| count_symbols(&codec, q, u64::MAX).unwrap())
            .sum();
        assert_eq!(total, 10_000);
        for q in &qs {
            assert!(count_symbols(&codec, q, u64::MAX).unwrap() <= 250);
        }
        assert_eq!(qs[0].encode(), "fileURI=f&SBN=0-1");
        // Many scattered ESIs: short queries.
        let q = RepairQuery {
            file_uri: "f".into(),
            parts: (0..100)
                .map(|b| {
                    SymbolRequest::symbols(b, (0..50).map(|e| IdRange::single(e * 2)).collect())
                })
                .collect(),
        };
        let qs = split_query(&codec, &q, 1_000_000, 1000).unwrap();
        assert!(qs.len() > 1);
        for part in &qs {
            assert!(part.encode().len() <= 1000 + 300, "{}", part.encode().len());
        }
        let total: u64 = qs
            .iter()
            .map(|q| count_symbols(&codec, q, u64::MAX).unwrap())
            .sum();
        assert_eq!(total, 5000);
        // Whole block bigger than the limit: ESI ranges.
        let q = RepairQuery {
            file_uri: "f".into(),
            parts: vec![SymbolRequest::blocks(IdRange::single(3))],
        };
        let qs = split_query(&codec, &q, 30, 1000).unwrap();
        assert_eq!(qs.len(), 4);
        assert_eq!(qs[3].encode(), "fileURI=f&SBN=3;ESI=90-99");
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

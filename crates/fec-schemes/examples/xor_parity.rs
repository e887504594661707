//! Researcher tutorial: a toy FEC scheme, complete with its codec, in about 120 lines of code
//! (the rest is the demonstration in `main`).
//!
//! The code adds **one XOR parity symbol** (ESI k) to every source block, so any single lost
//! symbol per block is recovered. It is registered under the Under-Specified FEC Encoding ID
//! 130 (Compact FEC, RFC 5445 §6) with the private FEC Instance ID 0x7001, and it delegates
//! every wire format (FEC Payload ID, EXT_FTI) to
//! [`fec_schemes::schemes::under_specified::Compact130Wire`]. Nothing else in the workspace
//! has to change: senders and receivers find it through the [`FecRegistry`].
//!
//! Run it with `cargo run -p fec-schemes --example xor_parity`; `tests/xor_toy.rs` runs the
//! same scheme through the conformance suite in CI. The whole `flute` command runs it too:
//! `cargo run -p flute-cli --example custom_scheme -- send FILE --fec 130/28673 ...`
//! (`flute_cli::run` with this scheme registered; `crates/flute-cli/tests/custom_scheme.rs`).

use std::sync::Arc;

use bytes::Bytes;
use fec_schemes::schemes::SourceBlockBuffer;
use fec_schemes::schemes::under_specified::Compact130Wire as Wire;
use fec_schemes::{
    BlockDecoder, BlockEncoder, BlockSpec, Blocking, FecError, FecInstanceId, FecRegistry,
    FecScheme, Oti, PayloadId, PushOutcome, SchemeKey, SchemeSpecific,
};

/// Our private FEC Instance ID under Encoding ID 130.
const INSTANCE: u16 = 0x7001;

/// One XOR parity symbol per block.
#[derive(Debug, Clone, Copy, Default)]
pub struct XorParity;

impl XorParity {
    /// OTI for an object of `l` bytes, symbols of `e` bytes, blocks of at most `b` symbols.
    pub fn oti(l: u64, e: u16, b: u32) -> Oti {
        Wire::oti(INSTANCE, l, e, b)
    }
}

impl FecScheme for XorParity {
    fn key(&self) -> SchemeKey {
        SchemeKey::under_specified(Wire::ENCODING_ID, FecInstanceId(INSTANCE))
    }
    fn name(&self) -> &'static str {
        "XOR parity (tutorial)"
    }
    // --- wire formats: all delegated to the ID 130 helpers ---
    fn payload_id_len(&self) -> usize {
        Wire::PAYLOAD_ID_LEN
    }
    fn read_payload_id(&self, buf: &[u8], _: Option<&Oti>) -> Result<PayloadId, FecError> {
        Wire::read_payload_id(buf)
    }
    fn write_payload_id(&self, id: &PayloadId, _: &Oti, out: &mut [u8]) -> Result<(), FecError> {
        Wire::write_payload_id(id, out)
    }
    fn fti_len(&self, _: &Oti) -> usize {
        Wire::FTI_LEN
    }
    fn read_fti(&self, ext: &[u8]) -> Result<Oti, FecError> {
        let oti = Wire::read_fti(ext)?;
        self.validate_oti(&oti)?;
        Ok(oti)
    }
    fn write_fti(&self, oti: &Oti, out: &mut [u8]) -> Result<usize, FecError> {
        self.validate_oti(oti)?;
        Wire::write_fti(oti, out)
    }
    fn read_scheme_specific_info(&self, info: &[u8]) -> Result<SchemeSpecific, FecError> {
        match info {
            [] => Ok(SchemeSpecific::None),
            _ => Err(Unsupported("scheme-specific info")),
        }
    }
    fn write_scheme_specific_info(&self, _: &Oti) -> Vec<u8> {
        Vec::new()
    }
    // --- OTI rules: the common ones, our Instance ID, and room for ESI k in 16 bits ---
    fn validate_oti(&self, oti: &Oti) -> Result<(), FecError> {
        Wire::validate_oti(oti)?;
        if oti.instance_id != Some(FecInstanceId(INSTANCE)) {
            return Err(Unsupported("this FEC Instance ID"));
        }
        if oti.max_source_block_length >= 1 << 16 {
            return Err(FecError::FieldOverflow {
                field: "B",
                value: oti.max_source_block_length.into(),
                bits: 16,
            });
        }
        Ok(())
    }
    fn oti_for(&self, l: u64, e: u16, b: Option<u32>, _repair: f64) -> Result<Oti, FecError> {
        let oti = Self::oti(l, e, b.unwrap_or(16));
        self.validate_oti(&oti).map(|()| oti)
    }
    fn blocking(&self, oti: &Oti) -> Result<Blocking, FecError> {
        self.validate_oti(oti)?;
        Wire::blocking(oti)
    }
    fn esi_limit(&self, _: &Oti, block: &BlockSpec) -> u32 {
        block.source_symbols + 1
    }
    // --- the codec ---
    fn encoder(
        &self,
        oti: &Oti,
        b: &BlockSpec,
        data: Bytes,
    ) -> Result<Box<dyn BlockEncoder>, FecError> {
        self.validate_oti(oti)?;
        if data.len() as u64 != b.len || b.source_symbols >= 1 << 16 {
            return Err(Unsupported("block that does not match the OTI"));
        }
        Ok(Box::new(Enc { block: *b, data }))
    }
    fn decoder(&self, oti: &Oti, b: &BlockSpec) -> Result<Box<dyn BlockDecoder>, FecError> {
        if self.blocking(oti)?.block(b.sbn)? != *b {
            return Err(Unsupported("block that does not match the OTI"));
        }
        Ok(Box::new(Dec {
            buf: SourceBlockBuffer::new(*b),
            parity: None,
        }))
    }
}

use FecError::Unsupported;

/// XOR of all source symbols of `data`, zero-padded to `e` bytes each.
fn parity(data: &[u8], e: usize) -> Vec<u8> {
    let mut p = vec![0u8; e];
    for chunk in data.chunks(e) {
        p.iter_mut().zip(chunk).for_each(|(p, c)| *p ^= c);
    }
    p
}

struct Enc {
    block: BlockSpec,
    data: Bytes,
}

impl BlockEncoder for Enc {
    fn block(&self) -> &BlockSpec {
        &self.block
    }
    fn esi_limit(&self) -> u32 {
        self.block.source_symbols + 1
    }
    fn write_symbol(&mut self, esi: u32, out: &mut [u8]) -> Result<usize, FecError> {
        let e = usize::from(self.block.symbol_length);
        let sym = match self.block.source_symbol_len(esi) {
            Some(len) => self
                .data
                .slice(esi as usize * e..esi as usize * e + len)
                .to_vec(),
            None if esi == self.block.source_symbols => parity(&self.data, e),
            None => {
                return Err(FecError::EsiOutOfRange {
                    esi,
                    limit: self.esi_limit(),
                });
            }
        };
        let available = out.len();
        let dst = out.get_mut(..sym.len()).ok_or(FecError::Truncated {
            what: "symbol",
            needed: sym.len(),
            available,
        })?;
        dst.copy_from_slice(&sym);
        Ok(sym.len())
    }
}

struct Dec {
    buf: SourceBlockBuffer,
    parity: Option<Vec<u8>>,
}

impl BlockDecoder for Dec {
    fn block(&self) -> &BlockSpec {
        self.buf.block()
    }
    fn push(&mut self, esi: u32, symbol: &[u8]) -> Result<PushOutcome, FecError> {
        let (k, e) = (
            self.buf.block().source_symbols,
            usize::from(self.buf.block().symbol_length),
        );
        if esi != k {
            return self.buf.push(esi, symbol); // checks range, length, duplicates
        }
        if symbol.len() != e {
            return Err(FecError::SymbolLength {
                esi,
                len: symbol.len(),
                expected: e,
            });
        }
        match &self.parity {
            Some(p) if p == symbol => Ok(PushOutcome::Duplicate),
            Some(_) => Err(FecError::ConflictingSymbol { esi }),
            None => {
                self.parity = Some(symbol.to_vec());
                Ok(PushOutcome::Accepted)
            }
        }
    }
    fn received(&self) -> u32 {
        self.buf.count() + u32::from(self.parity.is_some())
    }
    fn is_decodable(&self) -> bool {
        self.buf.is_complete()
            || (self.parity.is_some() && self.buf.count() + 1 == self.buf.block().source_symbols)
    }
    fn decode(&mut self) -> Result<Bytes, FecError> {
        if !self.is_decodable() {
            return Err(FecError::NotEnoughSymbols {
                have: self.received(),
                need: self.buf.block().source_symbols,
            });
        }
        if let (Some(p), [lost]) = (&self.parity, self.buf.missing().as_slice()) {
            // The lost symbol is the parity XOR every other (zero-padded) source symbol.
            let (lost, e) = (*lost as usize, p.len());
            let mut sym = parity(self.buf.padded_mut(), e);
            sym.iter_mut().zip(p).for_each(|(s, p)| *s ^= p);
            self.buf.padded_mut()[lost * e..(lost + 1) * e].copy_from_slice(&sym);
            self.buf.mark(lost as u32);
        }
        Ok(self.buf.take())
    }
    fn missing_source_symbols(&self) -> Vec<u32> {
        self.buf.missing()
    }
}

/// Registers the scheme, runs a lossy round trip and the conformance suite.
#[allow(dead_code)]
pub fn main() -> Result<(), FecError> {
    // 1. Register the scheme next to the built-in ones.
    let mut registry = FecRegistry::with_builtin();
    registry.register(Arc::new(XorParity))?;

    // 2. A receiver finds it from EXT_FTI alone (Encoding ID 130 + Instance ID 0x7001).
    let oti = XorParity::oti(1000, 64, 8);
    let mut fti = [0u8; 16];
    XorParity.write_fti(&oti, &mut fti)?;
    let scheme = registry.for_oti(&Wire::read_fti(&fti)?)?;

    // 3. Send every block losing one symbol, and decode.
    let object: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    let mut received = Vec::new();
    for block in scheme.blocking(&oti)?.iter() {
        let data = Bytes::copy_from_slice(&object[block.offset as usize..][..block.len as usize]);
        let mut enc = scheme.encoder(&oti, &block, data)?;
        let mut dec = scheme.decoder(&oti, &block)?;
        let mut buf = [0u8; 64];
        for esi in (0..enc.esi_limit()).filter(|&esi| esi != 2) {
            let n = enc.write_symbol(esi, &mut buf)?;
            dec.push(esi, &buf[..n])?;
        }
        received.extend_from_slice(&dec.decode()?);
    }
    assert_eq!(received, object);

    // 4. Run the shared conformance suite against it.
    fec_schemes::conformance::run_all(&XorParity, &[oti, XorParity::oti(77, 16, 3)]);
    println!("XOR parity scheme: round trip with one loss per block and conformance suite OK");
    Ok(())
}

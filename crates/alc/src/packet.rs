//! Parsing ALC packets (RFC 5775 §4): LCT header, FEC Payload ID, encoding symbols.

use fec_schemes::{FecEncodingId, FecError, FecRegistry, FecScheme, Oti, PayloadId, SbnEsiLayout};
use lct_header::{
    ExtCenc, ExtFdt, ExtTime, FluteHeaderCheck, KnownExtensions, LctPacket, LctRepr, RawExtension,
    Toi, Tsi,
};

use std::borrow::Borrow;
use std::sync::Arc;

use crate::AlcError;

/// Maps LCT codepoints to FEC Encoding IDs.
///
/// RFC 5775 §5.1 leaves the codepoint to the session; ALC and FLUTE deployments (and
/// every implementation surveyed) use codepoint = FEC Encoding ID, which is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodepointMap {
    map: [Option<FecEncodingId>; 256],
}

impl Default for CodepointMap {
    fn default() -> Self {
        Self::identity()
    }
}

impl CodepointMap {
    /// Codepoint `n` means FEC Encoding ID `n`.
    pub const fn identity() -> Self {
        let mut map = [None; 256];
        let mut i = 0;
        while i < 256 {
            map[i] = Some(FecEncodingId(i as u8));
            i += 1;
        }
        Self { map }
    }

    /// No codepoint mapped.
    pub const fn empty() -> Self {
        Self { map: [None; 256] }
    }

    /// Maps `codepoint` to `id` (or unmaps it with `None`).
    pub fn set(&mut self, codepoint: u8, id: Option<FecEncodingId>) -> &mut Self {
        self.map[usize::from(codepoint)] = id;
        self
    }

    /// The FEC Encoding ID of `codepoint`.
    pub fn get(&self, codepoint: u8) -> Option<FecEncodingId> {
        self.map[usize::from(codepoint)]
    }
}

/// One entry of a parser's per-codepoint table: the scheme the codepoint alone
/// determines, its FEC Payload ID length and, where the scheme declares one, its
/// OTI-independent Payload ID layout (properties of the scheme, read once).
#[derive(Debug, Clone)]
struct Direct<S> {
    scheme: S,
    pid: PidFormat,
}

/// How to read a scheme's FEC Payload ID: its length, and the layout that lets the parser
/// decode it inline (`None`: call [`FecScheme::read_payload_id`]).
#[derive(Debug, Clone, Copy)]
struct PidFormat {
    len: usize,
    layout: Option<SbnEsiLayout>,
}

impl PidFormat {
    fn of(scheme: &dyn FecScheme) -> Self {
        let len = scheme.payload_id_len();
        // A layout that disagrees with the declared length is ignored (the scheme's own
        // reader is then used), so a faulty scheme cannot make the parser misread.
        let layout = scheme.payload_id_layout().filter(|l| l.byte_len() == len);
        Self { len, layout }
    }
}

/// The per-codepoint table (256 entries).
type DirectTable = Box<[Option<Direct<Arc<dyn FecScheme>>>]>;

/// Resolves every codepoint to the scheme it alone determines (see [`AlcParser`]).
fn direct_table(registry: &FecRegistry, codepoints: &CodepointMap) -> DirectTable {
    (0..=255u8)
        .map(|cp| {
            let id = codepoints.get(cp)?;
            let s = if id.is_under_specified() {
                registry.by_encoding_id(id)?
            } else {
                registry.get(id, None).ok()?
            };
            Some(Direct {
                pid: PidFormat::of(&**s),
                scheme: Arc::clone(s),
            })
        })
        .collect()
}

/// Parses ALC packets against a [`FecRegistry`] and a [`CodepointMap`].
///
/// Construction resolves every codepoint to its scheme once, so parsing a packet without
/// EXT_FTI costs a table lookup. Parsed packets borrow the parser (for their scheme) and the
/// datagram.
///
/// `R` is how the parser holds the registry: a borrow (`AlcParser<&FecRegistry>`, from
/// `AlcParser::new(&registry)`) or a share (`AlcParser<Arc<FecRegistry>>`, the default type,
/// for a struct that keeps its parser), or anything else that borrows as a [`FecRegistry`].
///
/// ```
/// use std::sync::Arc;
/// use alc::AlcParser;
/// use fec_schemes::FecRegistry;
///
/// // Borrowing a registry that outlives the parser:
/// let registry = FecRegistry::with_builtin();
/// let parser = AlcParser::new(&registry);
/// assert!(parser.parse(&[0u8; 4]).is_err());
///
/// // Owning a share of it, to live in a struct:
/// struct Inspector {
///     parser: AlcParser,
/// }
/// let ins = Inspector { parser: AlcParser::new(Arc::new(FecRegistry::with_builtin())) };
/// assert!(ins.parser.parse(&[0u8; 4]).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct AlcParser<R: Borrow<FecRegistry> = Arc<FecRegistry>> {
    registry: R,
    codepoints: CodepointMap,
    /// Scheme per codepoint (256 entries), when the codepoint alone determines it.
    direct: DirectTable,
    flute: Option<FluteHeaderCheck>,
}

impl<R: Borrow<FecRegistry>> AlcParser<R> {
    /// A parser with the default codepoint = FEC Encoding ID mapping.
    pub fn new(registry: R) -> Self {
        Self::with_codepoints(registry, CodepointMap::identity())
    }

    /// A parser with an explicit codepoint mapping.
    pub fn with_codepoints(registry: R, codepoints: CodepointMap) -> Self {
        let direct = direct_table(registry.borrow(), &codepoints);
        Self {
            registry,
            codepoints,
            direct,
            flute: None,
        }
    }

    /// Also apply the FLUTE header rules (RFC 6726 §3.3, §3.4) with the default policy of
    /// [`lct_header::FluteHeaderCheck`]: TSI and TOI present, EXT_FDT exactly on TOI 0,
    /// EXT_CENC only on TOI 0.
    pub fn flute(self, on: bool) -> Self {
        self.flute_check(on.then(FluteHeaderCheck::new))
    }

    /// Applies the FLUTE header rules with an explicit policy (`None`: plain ALC).
    pub fn flute_check(mut self, check: Option<FluteHeaderCheck>) -> Self {
        self.flute = check;
        self
    }

    /// The registry.
    pub fn registry(&self) -> &FecRegistry {
        self.registry.borrow()
    }

    /// The codepoint mapping.
    pub fn codepoints(&self) -> &CodepointMap {
        &self.codepoints
    }

    /// Parses one datagram.
    #[inline]
    pub fn parse<'a>(&'a self, datagram: &'a [u8]) -> Result<AlcPacket<'a>, AlcError> {
        self.parse_with_oti(datagram, None)
    }

    /// The full per-packet verdict that both `flute inspect` and the FLUTE receiver use:
    /// [`Self::parse_with_oti`], then, when the OTI is known (from EXT_FTI, or else
    /// `known_oti`), [`AlcPacket::validate`] against it (symbol length, SBN, ESI, source block
    /// length: catalogue items 28-32).
    pub fn parse_checked<'a>(
        &'a self,
        datagram: &'a [u8],
        known_oti: Option<&Oti>,
    ) -> Result<AlcPacket<'a>, AlcError> {
        let p = self.parse_with_oti(datagram, known_oti)?;
        if let Some(oti) = p.oti().or(known_oti) {
            p.validate(oti)?;
        }
        Ok(p)
    }

    /// Parses one datagram, using `known_oti` (e.g. from the FDT) to choose the scheme
    /// and decode the FEC Payload ID when the packet has no EXT_FTI. An EXT_FTI that
    /// disagrees with `known_oti` (by the scheme's own rule, `FecScheme::same_coding`) is
    /// [`AlcError::ConflictingOti`].
    #[inline]
    pub fn parse_with_oti<'a>(
        &'a self,
        datagram: &'a [u8],
        known_oti: Option<&Oti>,
    ) -> Result<AlcPacket<'a>, AlcError> {
        let direct = &self.direct;
        let lookup = |cp: u8| -> Option<(&'a dyn FecScheme, PidFormat)> {
            let d = direct.get(usize::from(cp))?.as_ref()?;
            Some((&*d.scheme, d.pid))
        };
        parse_core(
            self.registry.borrow(),
            &self.codepoints,
            self.flute.as_ref(),
            lookup,
            datagram,
            known_oti,
        )
    }
}

/// The parse behind [`AlcParser`]. `direct` gives the scheme
/// (and its FEC Payload ID length) the codepoint alone determines.
#[inline(always)]
fn parse_core<'a>(
    registry: &'a FecRegistry,
    codepoints: &CodepointMap,
    flute: Option<&FluteHeaderCheck>,
    direct: impl Fn(u8) -> Option<(&'a dyn FecScheme, PidFormat)>,
    datagram: &'a [u8],
    known_oti: Option<&Oti>,
) -> Result<AlcPacket<'a>, AlcError> {
    let lct = LctRepr::parse_bytes(datagram)?;
    let codepoint = lct.codepoint;
    let encoding_id = codepoints
        .get(codepoint)
        .ok_or(AlcError::UnknownCodepoint { codepoint })?;
    let view = LctPacket::new_unchecked(datagram);
    // `parse_bytes` checked HDR_LEN against the fixed part and the datagram.
    let header_len = view.header_len();
    // No extension area in the common data packet: then no `KnownExtensions` is built.
    let extensions = if header_len == lct.header_len() {
        None
    } else {
        Some(KnownExtensions::collect(view.into_extensions())?)
    };
    let ext = extensions.as_ref().unwrap_or(&KnownExtensions::EMPTY);
    if let Some(check) = flute {
        check.check_fields(lct.tsi, lct.toi, ext)?;
    }

    let (scheme, pid, fti_oti) = match ext.fti {
        Some(fti) => {
            let (scheme, pid, oti) = read_fti(registry, &direct, codepoint, encoding_id, fti)?;
            (scheme, pid, Some(oti))
        }
        None => {
            let (scheme, pid) =
                scheme_without_fti(registry, &direct, codepoint, encoding_id, known_oti)?;
            (scheme, pid, None)
        }
    };
    let pid_len = pid.len;
    if let Some(k) = known_oti {
        if k.encoding_id != encoding_id {
            return Err(AlcError::SchemeMismatch {
                expected: encoding_id,
                found: k.encoding_id,
            });
        }
    }

    if let (Some(f), Some(k)) = (&fti_oti, known_oti) {
        if !scheme.same_coding(f, k) {
            return Err(AlcError::ConflictingOti { encoding_id });
        }
    }

    let payload = datagram.get(header_len..).unwrap_or(&[]);
    let (payload_id_bytes, symbols) =
        payload
            .split_at_checked(pid_len)
            .ok_or(AlcError::TruncatedPayloadId {
                needed: pid_len,
                available: payload.len(),
            })?;
    if symbols.is_empty() {
        return Err(AlcError::EmptySymbol);
    }
    let oti_for_id = fti_oti.as_ref().or(known_oti);
    if let Some(oti) = oti_for_id {
        let max = scheme
            .max_symbols_per_packet(oti)
            .saturating_mul(usize::from(oti.encoding_symbol_length));
        if symbols.len() > max {
            return Err(AlcError::SymbolTooLong {
                len: symbols.len(),
                max,
            });
        }
    }
    let payload_id = match pid.layout {
        // The scheme's declared layout: the same Payload ID as its reader, without the
        // call. `payload_id_bytes` is `layout.byte_len()` bytes long (`PidFormat::of`, and the
        // split above), so this read always succeeds.
        Some(layout) => layout.read(payload_id_bytes),
        None => match scheme.read_payload_id(payload_id_bytes, oti_for_id) {
            Ok(id) => Some(id),
            Err(FecError::NeedsOti { .. }) => None,
            Err(e) => return Err(e.into()),
        },
    };
    Ok(AlcPacket {
        lct,
        encoding_id,
        scheme,
        extensions,
        oti: fti_oti,
        payload_id_bytes,
        payload_id,
        symbols,
    })
}

#[inline]
fn scheme_without_fti<'a>(
    registry: &'a FecRegistry,
    direct: &impl Fn(u8) -> Option<(&'a dyn FecScheme, PidFormat)>,
    codepoint: u8,
    encoding_id: FecEncodingId,
    known_oti: Option<&Oti>,
) -> Result<(&'a dyn FecScheme, PidFormat), AlcError> {
    if let Some(oti) = known_oti {
        if oti.encoding_id == encoding_id {
            // For a Fully-Specified ID the registry ignores the Instance ID, so the
            // codepoint's table entry is the scheme `for_oti` would return.
            if !encoding_id.is_under_specified() {
                if let Some(d) = direct(codepoint) {
                    return Ok(d);
                }
            }
            let s = &**registry.for_oti(oti)?;
            return Ok((s, PidFormat::of(s)));
        }
    }
    direct(codepoint).ok_or(AlcError::UnknownScheme {
        encoding_id,
        instance_id: None,
    })
}

#[inline(never)]
fn read_fti<'a>(
    registry: &'a FecRegistry,
    direct: &impl Fn(u8) -> Option<(&'a dyn FecScheme, PidFormat)>,
    codepoint: u8,
    encoding_id: FecEncodingId,
    fti: RawExtension<'_>,
) -> Result<(&'a dyn FecScheme, PidFormat, Oti), AlcError> {
    let bytes = fti.bytes();
    let (scheme, pid): (&'a dyn FecScheme, PidFormat) = if encoding_id.is_under_specified() {
        // The FEC Instance ID's place in EXT_FTI is the FEC building block's business.
        let s = &**registry.for_fti(encoding_id, bytes).map_err(|e| match e {
            FecError::UnknownScheme {
                encoding_id,
                instance_id,
            } => AlcError::UnknownScheme {
                encoding_id,
                instance_id,
            },
            e => e.into(),
        })?;
        (s, PidFormat::of(s))
    } else {
        // Fully-Specified: the codepoint's table entry is `registry.get(encoding_id,
        // None)`; ask the registry only for its error.
        match direct(codepoint) {
            Some(d) => d,
            None => {
                let s = &**registry.get(encoding_id, None)?;
                (s, PidFormat::of(s))
            }
        }
    };
    let oti = scheme.read_fti(bytes)?;
    if oti.encoding_id != encoding_id {
        return Err(AlcError::SchemeMismatch {
            expected: encoding_id,
            found: oti.encoding_id,
        });
    }
    Ok((scheme, pid, oti))
}

/// One parsed ALC packet, borrowing the datagram (zero copy).
#[derive(Debug, Clone)]
pub struct AlcPacket<'a> {
    lct: LctRepr,
    encoding_id: FecEncodingId,
    scheme: &'a dyn FecScheme,
    /// `None` when the header has no extension area (the common case).
    extensions: Option<KnownExtensions<'a>>,
    oti: Option<Oti>,
    payload_id_bytes: &'a [u8],
    payload_id: Option<PayloadId>,
    symbols: &'a [u8],
}

impl<'a> AlcPacket<'a> {
    /// The fixed part of the LCT header.
    #[inline]
    pub fn lct(&self) -> &LctRepr {
        &self.lct
    }

    /// TSI, if the header has one.
    #[inline]
    pub fn tsi(&self) -> Option<Tsi> {
        self.lct.tsi
    }

    /// TOI, if the header has one.
    #[inline]
    pub fn toi(&self) -> Option<Toi> {
        self.lct.toi
    }

    /// The FEC Encoding ID given by the codepoint.
    #[inline]
    pub fn encoding_id(&self) -> FecEncodingId {
        self.encoding_id
    }

    /// The FEC scheme used to read the packet.
    #[inline]
    pub fn scheme(&self) -> &'a dyn FecScheme {
        self.scheme
    }

    /// The ALC/FLUTE header extensions (EXT_FTI raw, the rest typed).
    #[inline]
    pub fn extensions(&self) -> &KnownExtensions<'a> {
        self.extensions.as_ref().unwrap_or(&KnownExtensions::EMPTY)
    }

    /// EXT_FDT, if present.
    #[inline]
    pub fn fdt(&self) -> Option<ExtFdt> {
        self.extensions().fdt
    }

    /// EXT_CENC, if present.
    #[inline]
    pub fn cenc(&self) -> Option<ExtCenc> {
        self.extensions().cenc
    }

    /// EXT_TIME, if present.
    #[inline]
    pub fn time(&self) -> Option<ExtTime> {
        self.extensions().time
    }

    /// The OTI decoded from EXT_FTI, if the packet had one.
    #[inline]
    pub fn oti(&self) -> Option<&Oti> {
        self.oti.as_ref()
    }

    /// The raw FEC Payload ID bytes.
    #[inline]
    pub fn payload_id_bytes(&self) -> &'a [u8] {
        self.payload_id_bytes
    }

    /// The decoded FEC Payload ID, when the scheme can read it without the OTI, or the
    /// packet carried EXT_FTI (or an OTI was given to the parser). See
    /// [`Self::payload_id_with`].
    #[inline]
    pub fn payload_id(&self) -> Option<PayloadId> {
        self.payload_id
    }

    /// Decodes the FEC Payload ID with `oti` (for schemes such as FEC Encoding ID 2 whose
    /// layout depends on the OTI).
    pub fn payload_id_with(&self, oti: &Oti) -> Result<PayloadId, AlcError> {
        if oti.encoding_id != self.encoding_id {
            return Err(AlcError::SchemeMismatch {
                expected: self.encoding_id,
                found: oti.encoding_id,
            });
        }
        Ok(self
            .scheme
            .read_payload_id(self.payload_id_bytes, Some(oti))?)
    }

    /// The encoding symbol bytes (one or more symbols), borrowed from the datagram.
    #[inline]
    pub fn symbols(&self) -> &'a [u8] {
        self.symbols
    }

    /// Checks the packet against the object's OTI: symbol data length, SBN below the
    /// number of blocks, ESI below the block's limit, the 129 Source Block Length, and
    /// the symbol length (E, or the object's short last symbol). Catalogue items 28–32.
    /// Returns the FEC Payload ID.
    pub fn validate(&self, oti: &Oti) -> Result<PayloadId, AlcError> {
        let id = self.payload_id_with(oti)?;
        let max = self
            .scheme
            .max_symbols_per_packet(oti)
            .saturating_mul(usize::from(oti.encoding_symbol_length));
        if self.symbols.len() > max {
            return Err(AlcError::SymbolTooLong {
                len: self.symbols.len(),
                max,
            });
        }
        let blocking = self.scheme.blocking(oti)?;
        let block = blocking.block(id.sbn)?;
        if let Some(sbl) = id.source_block_length {
            if sbl != block.source_symbols {
                return Err(AlcError::SourceBlockLength {
                    sbn: id.sbn,
                    in_packet: sbl,
                    expected: block.source_symbols,
                });
            }
        }
        let limit = self.scheme.receive_esi_limit(oti, &block);
        if id.esi >= limit {
            return Err(FecError::EsiOutOfRange { esi: id.esi, limit }.into());
        }
        if max == usize::from(oti.encoding_symbol_length) {
            let e = usize::from(block.symbol_length);
            let expected = block.source_symbol_len(id.esi).unwrap_or(e);
            let len = self.symbols.len();
            if len != expected && len != e {
                return Err(FecError::SymbolLength {
                    esi: id.esi,
                    len,
                    expected,
                }
                .into());
            }
        }
        Ok(id)
    }
}

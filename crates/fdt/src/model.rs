//! The typed FDT model.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// RFC 6726 FDT namespace.
pub const NS_RFC6726: &str = "urn:ietf:params:xml:ns:fdt";
/// RFC 3926 (FLUTE v1) and 3GPP TS 26.346 FDT namespace.
pub const NS_FLUTE_2005: &str = "urn:IETF:metadata:2005:FLUTE:FDT";
/// 3GPP TS 26.346 Rel-17 consolidated ("profiled") FDT namespace (Annex L.6).
pub const NS_MBMS_2022: &str = "urn:3GPP:metadata:2022:FLUTE:FDT";
/// 3GPP mbms2005 extensions (`Group`, `MBMS-Session-Identity`, `MBMS-Session-Identity-Expiry`).
pub const NS_MBMS2005: &str = "urn:3GPP:metadata:2005:MBMS:FLUTE:FDT";
/// 3GPP mbms2007 extensions (`Cache-Control`).
pub const NS_MBMS2007: &str = "urn:3GPP:metadata:2007:MBMS:FLUTE:FDT";
/// 3GPP mbms2008 extensions (`@FullFDT`).
pub const NS_MBMS2008: &str = "urn:3GPP:metadata:2008:MBMS:FLUTE:FDT_ext";
/// 3GPP mbms2009 extensions (`@Decryption-KEY-URI`).
pub const NS_MBMS2009: &str = "urn:3GPP:metadata:2009:MBMS:FLUTE:FDT_ext";
/// 3GPP mbms2012 extensions (alternate locations, base URLs, `@FEC-Redundancy-Level`,
/// `@File-ETag`).
pub const NS_MBMS2012: &str = "urn:3GPP:metadata:2012:MBMS:FLUTE:FDT";
/// 3GPP mbms2015 extensions (`@IndependentUnitPositions`).
pub const NS_MBMS2015: &str = "urn:3GPP:metadata:2015:MBMS:FLUTE:FDT";
/// 3GPP schema versioning (`schemaVersion`, `delimiter`).
pub const NS_SCHEMA_VERSION: &str = "urn:3gpp:metadata:2009:MBMS:schemaVersion";

/// The largest TOI: the LCT TOI field is at most 112 bits (RFC 5651 §5.1).
pub const MAX_TOI: u128 = (1u128 << 112) - 1;

/// Which flavour of FDT the writer produces and the validator enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Profile {
    /// RFC 6726 (FLUTE v2): namespace `urn:ietf:params:xml:ns:fdt`.
    Rfc6726,
    /// RFC 3926 (FLUTE v1): namespace `urn:IETF:metadata:2005:FLUTE:FDT`, no 3GPP structure.
    Rfc3926,
    /// 3GPP TS 26.346 (MBMS): namespace `urn:IETF:metadata:2005:FLUTE:FDT` with the
    /// mandatory `sv:schemaVersion` and `sv:delimiter` elements, in the sequence order of
    /// `FLUTE-FDT-3GPP-Main.xsd`.
    Mbms3gpp,
}

/// The FDT namespace a parsed document used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum FdtNamespace {
    /// `urn:ietf:params:xml:ns:fdt` (RFC 6726).
    Rfc6726,
    /// `urn:IETF:metadata:2005:FLUTE:FDT` (RFC 3926 and 3GPP TS 26.346).
    Flute2005,
    /// `urn:3GPP:metadata:2022:FLUTE:FDT` (3GPP Rel-17 consolidated schema).
    Mbms2022,
    /// No namespace at all. Not schema-valid; accepted only when
    /// [`ParseOptions::allow_no_namespace`](crate::ParseOptions) is set, and flagged here.
    None,
}

impl FdtNamespace {
    /// The namespace URI, or `None` for [`FdtNamespace::None`].
    pub fn uri(self) -> Option<&'static str> {
        match self {
            Self::Rfc6726 => Some(NS_RFC6726),
            Self::Flute2005 => Some(NS_FLUTE_2005),
            Self::Mbms2022 => Some(NS_MBMS_2022),
            Self::None => None,
        }
    }
}

/// A 32-bit NTP timestamp in seconds (the FDT `Expires` attribute, RFC 6726 §3.4.2).
///
/// NTP seconds wrap every 2^32 s (about 136 years; era 1 starts 2036-02-07T06:28:16Z), so
/// converting to a [`SystemTime`] needs a reference time: the era nearest to it is chosen.
/// This crate never reads the clock; callers pass `now` in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NtpSeconds(pub u32);

/// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
const NTP_UNIX_OFFSET: i128 = 2_208_988_800;
const ERA: i128 = 1 << 32;

impl NtpSeconds {
    /// The NTP seconds of `t`, truncated to whole seconds and reduced modulo 2^32.
    pub fn from_system_time(t: SystemTime) -> Self {
        let unix = unix_seconds(t);
        let ntp = (unix + NTP_UNIX_OFFSET).rem_euclid(ERA);
        // rem_euclid(2^32) is in 0..2^32, so it fits in u32.
        Self(u32::try_from(ntp).unwrap_or(0))
    }

    /// The absolute time of this timestamp, in the NTP era that puts it nearest to
    /// `reference`. `None` only if the result is not representable as a `SystemTime`.
    pub fn to_system_time(self, reference: SystemTime) -> Option<SystemTime> {
        let ref_ntp = unix_seconds(reference) + NTP_UNIX_OFFSET;
        let era = ref_ntp.div_euclid(ERA);
        let v = i128::from(self.0);
        let best = [era - 1, era, era + 1]
            .into_iter()
            .map(|e| e * ERA + v)
            .min_by_key(|ntp| (ntp - ref_ntp).abs())?;
        let unix = best - NTP_UNIX_OFFSET;
        let secs = Duration::from_secs(u64::try_from(unix.unsigned_abs()).ok()?);
        if unix >= 0 {
            UNIX_EPOCH.checked_add(secs)
        } else {
            UNIX_EPOCH.checked_sub(secs)
        }
    }
}

impl NtpSeconds {
    /// True if this time is before `now`, comparing on the NTP era circle: a difference of
    /// less than 2^31 s in either direction decides (RFC 5905 era handling; catalogue item
    /// 57), so an `Expires` just across the 2036 wrap is still in the future.
    pub fn is_before(self, now: SystemTime) -> bool {
        (self.0.wrapping_sub(Self::from_system_time(now).0) as i32) < 0
    }
}

/// A 64-bit NTP timestamp: seconds since 1900 modulo 2^32 and a binary fraction of a
/// second, as in EXT_TIME's Sender Current Time (RFC 5651 §5.2.2). The one NTP conversion of
/// the workspace lives here, beside [`NtpSeconds`] (its seconds are `NtpSeconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NtpTimestamp {
    /// Whole seconds.
    pub seconds: NtpSeconds,
    /// Fraction of a second, in units of 2^-32 s.
    pub fraction: u32,
}

impl NtpTimestamp {
    /// The NTP timestamp of `t` (seconds reduced modulo 2^32, fraction truncated).
    pub fn from_system_time(t: SystemTime) -> Self {
        let nanos = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.subsec_nanos(),
            // Before 1970: the fraction counts up from the whole second below.
            Err(e) if e.duration().subsec_nanos() > 0 => {
                1_000_000_000 - e.duration().subsec_nanos()
            }
            Err(_) => 0,
        };
        // nanos < 10^9, so the quotient is < 2^32.
        let fraction = ((u64::from(nanos) << 32) / 1_000_000_000) as u32;
        Self {
            seconds: NtpSeconds::from_system_time(t),
            fraction,
        }
    }
}

fn unix_seconds(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::from(d.as_secs()),
        // Before 1970: round towards minus infinity.
        Err(e) => {
            let d = e.duration();
            let s = -i128::from(d.as_secs());
            if d.subsec_nanos() > 0 { s - 1 } else { s }
        }
    }
}

/// The six `FEC-OTI-*` attributes as they appear on an `FDT-Instance` or a `File`: each is
/// optional, and the ones on a `File` override the instance-level ones
/// (see [`File::effective_oti`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FecOtiAttributes {
    /// `FEC-OTI-FEC-Encoding-ID` (xs:unsignedByte in RFC 6726; 3GPP types it as
    /// xs:unsignedLong, values above 255 are rejected).
    pub encoding_id: Option<u8>,
    /// `FEC-OTI-FEC-Instance-ID` (16 bits per RFC 5052).
    pub instance_id: Option<u16>,
    /// `FEC-OTI-Maximum-Source-Block-Length`.
    pub max_source_block_length: Option<u64>,
    /// `FEC-OTI-Encoding-Symbol-Length`.
    pub encoding_symbol_length: Option<u64>,
    /// `FEC-OTI-Max-Number-of-Encoding-Symbols`.
    pub max_number_of_encoding_symbols: Option<u64>,
    /// `FEC-OTI-Scheme-Specific-Info`, base64-decoded.
    pub scheme_specific_info: Option<Vec<u8>>,
}

impl FecOtiAttributes {
    /// `true` if no attribute is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The effective FEC Object Transmission Information of a file, as signalled in the FDT.
///
/// A plain typed struct: the sender and receiver map it to their FEC scheme types. Fields the
/// FDT does not carry stay `None` (the EXT_FTI header extension may supply them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FecOti {
    /// FEC Encoding ID (RFC 5052 §5).
    pub encoding_id: u8,
    /// FEC Instance ID, for Under-Specified schemes (Encoding ID 128..=255).
    pub instance_id: Option<u16>,
    /// Maximum source block length, in symbols.
    pub max_source_block_length: Option<u64>,
    /// Encoding symbol length, in bytes.
    pub encoding_symbol_length: Option<u64>,
    /// Maximum number of encoding symbols per block.
    pub max_number_of_encoding_symbols: Option<u64>,
    /// Scheme-specific information (for RaptorQ, Z(8) | N(16) | Al(8)).
    pub scheme_specific_info: Option<Vec<u8>>,
}

/// The mbms2007 `Cache-Control` element of a `File` (exactly one choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CacheControl {
    /// `<Expires>`: NTP seconds after which the file should be considered stale.
    Expires(u32),
    /// `<max-stale>true</max-stale>`.
    MaxStale,
    /// `<no-cache>true</no-cache>`.
    NoCache,
}

/// An mbms2012 `Alternate-Content-Location-1` or `-2` element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AlternateContentLocations {
    /// `@Availability-Time` (xs:dateTime, kept as its lexical form after a syntax check).
    pub availability_time: Option<String>,
    /// The `Alternate-Content-Location` URIs.
    pub locations: Vec<String>,
}

/// An mbms2005 `MBMS-Session-Identity-Expiry` element of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SessionIdentityExpiry {
    /// The MBMS session identity (the element content, xs:unsignedByte).
    pub session_identity: u8,
    /// `@value` (xs:unsignedInt, NTP seconds).
    pub value: u32,
}

/// A namespace-qualified XML name (the prefix is not kept: it carries no meaning).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct XmlName {
    /// Namespace URI, `None` for no namespace.
    pub namespace: Option<String>,
    /// Local name.
    pub local: String,
}

impl XmlName {
    /// A name in a namespace.
    pub fn new(namespace: Option<&str>, local: &str) -> Self {
        Self {
            namespace: namespace.map(str::to_owned),
            local: local.to_owned(),
        }
    }
}

/// An attribute this crate does not interpret (`xs:anyAttribute`), kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ExtraAttribute {
    /// The qualified name.
    pub name: XmlName,
    /// The unescaped value.
    pub value: String,
}

/// An element this crate does not interpret (`xs:any ##other`), kept as a small tree.
///
/// Comments and processing instructions inside it are dropped, adjacent text is merged, and
/// whitespace-only text between child elements is dropped; nothing else is lost. Namespace
/// prefixes are not kept (names are resolved), so the emitter declares its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct XmlElement {
    /// The qualified name.
    pub name: XmlName,
    /// Attributes (namespace declarations excluded).
    pub attributes: Vec<ExtraAttribute>,
    /// Children in document order.
    pub children: Vec<XmlNode>,
}

/// A child of an [`XmlElement`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum XmlNode {
    /// A child element.
    Element(XmlElement),
    /// Character data (unescaped).
    Text(String),
}

/// A `File` element: one transport object of the session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct File {
    /// `Content-Location` (xs:anyURI, required).
    pub content_location: String,
    /// `TOI` (xs:positiveInteger, required; 1..=2^112-1). With the `serde` feature it is
    /// written as a decimal string: JSON numbers above 2^53 lose precision in most readers.
    #[cfg_attr(feature = "serde", serde(with = "toi_as_string"))]
    pub toi: u128,
    /// `Content-Length`: length of the content before content encoding.
    pub content_length: Option<u64>,
    /// `Transfer-Length`: length of the transport object (after content encoding).
    pub transfer_length: Option<u64>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-MD5`, base64-decoded.
    pub content_md5: Option<[u8; 16]>,
    /// The `FEC-OTI-*` attributes set on this file.
    pub fec_oti: FecOtiAttributes,
    /// mbms2007 `Cache-Control`.
    pub cache_control: Option<CacheControl>,
    /// mbms2012 `Alternate-Content-Location-1` elements.
    pub alternate_content_location_1: Vec<AlternateContentLocations>,
    /// mbms2012 `Alternate-Content-Location-2` elements.
    pub alternate_content_location_2: Vec<AlternateContentLocations>,
    /// mbms2005 `Group` elements.
    pub groups: Vec<String>,
    /// mbms2005 `MBMS-Session-Identity` elements.
    pub mbms_session_identities: Vec<u8>,
    /// mbms2009 `@Decryption-KEY-URI`.
    pub decryption_key_uri: Option<String>,
    /// mbms2012 `@FEC-Redundancy-Level`.
    pub fec_redundancy_level: Option<u32>,
    /// mbms2012 `@File-ETag`.
    pub file_etag: Option<String>,
    /// mbms2015 `@IndependentUnitPositions`.
    pub independent_unit_positions: Option<Vec<u64>>,
    /// Attributes not interpreted by this crate.
    pub extra_attributes: Vec<ExtraAttribute>,
    /// Elements not interpreted by this crate.
    pub extra_elements: Vec<XmlElement>,
}

impl File {
    /// A file with the two required attributes.
    pub fn new(toi: u128, content_location: impl Into<String>) -> Self {
        Self {
            toi,
            content_location: content_location.into(),
            ..Self::default()
        }
    }

    /// The effective FEC OTI of this file within `instance`.
    ///
    /// Each `FEC-OTI-*` attribute of the `File` overrides the instance's (RFC 6726 §3.4.2).
    /// When the file names a different FEC Encoding ID than the instance, the instance's other
    /// OTI attributes belong to another scheme and are not inherited. Returns `None` when
    /// neither carries an FEC Encoding ID (the OTI must then come from EXT_FTI).
    pub fn effective_oti(&self, instance: &FdtInstance) -> Option<FecOti> {
        let own = &self.fec_oti;
        let inherited = &instance.fec_oti;
        let encoding_id = own.encoding_id.or(inherited.encoding_id)?;
        let base = match (own.encoding_id, inherited.encoding_id) {
            (Some(a), Some(b)) if a != b => &FecOtiAttributes::default(),
            _ => inherited,
        };
        Some(FecOti {
            encoding_id,
            instance_id: own.instance_id.or(base.instance_id),
            max_source_block_length: own.max_source_block_length.or(base.max_source_block_length),
            encoding_symbol_length: own.encoding_symbol_length.or(base.encoding_symbol_length),
            max_number_of_encoding_symbols: own
                .max_number_of_encoding_symbols
                .or(base.max_number_of_encoding_symbols),
            scheme_specific_info: own
                .scheme_specific_info
                .clone()
                .or_else(|| base.scheme_specific_info.clone()),
        })
    }

    /// The effective `Content-Type` (the file's, else the instance's).
    pub fn effective_content_type<'a>(&'a self, instance: &'a FdtInstance) -> Option<&'a str> {
        self.content_type
            .as_deref()
            .or(instance.content_type.as_deref())
    }

    /// The effective `Content-Encoding` (the file's, else the instance's).
    pub fn effective_content_encoding<'a>(&'a self, instance: &'a FdtInstance) -> Option<&'a str> {
        self.content_encoding
            .as_deref()
            .or(instance.content_encoding.as_deref())
    }

    /// The transport object length: `Transfer-Length`, or `Content-Length` when the file has
    /// no content encoding (RFC 6726 §3.4.2: they are then equal). An empty or `identity`
    /// Content-Encoding is no encoding.
    pub fn effective_transfer_length(&self, instance: &FdtInstance) -> Option<u64> {
        let identity = self
            .effective_content_encoding(instance)
            .is_none_or(|e| e.is_empty() || e.eq_ignore_ascii_case("identity"));
        self.transfer_length
            .or(if identity { self.content_length } else { None })
    }

    /// This file with what it inherits from `instance` filled in, for a receiver that keeps
    /// files apart from their instance: the effective `Content-Type`, `Content-Encoding` and
    /// `FEC-OTI-*` attributes ([`Self::effective_oti`]), and `Transfer-Length` from
    /// [`Self::effective_transfer_length`].
    pub fn resolved(&self, instance: &FdtInstance) -> Self {
        let mut f = self.clone();
        f.content_type = self.effective_content_type(instance).map(str::to_owned);
        f.content_encoding = self.effective_content_encoding(instance).map(str::to_owned);
        f.transfer_length = self.effective_transfer_length(instance);
        f.fec_oti = self
            .effective_oti(instance)
            .map(|o| FecOtiAttributes {
                encoding_id: Some(o.encoding_id),
                instance_id: o.instance_id,
                max_source_block_length: o.max_source_block_length,
                encoding_symbol_length: o.encoding_symbol_length,
                max_number_of_encoding_symbols: o.max_number_of_encoding_symbols,
                scheme_specific_info: o.scheme_specific_info,
            })
            .unwrap_or_default();
        f
    }

    /// Checks the FDT's transfer length against the one signalled in EXT_FTI (bad input 54).
    pub fn check_transfer_length(
        &self,
        instance: &FdtInstance,
        fti_transfer_length: u64,
    ) -> Result<(), crate::FdtError> {
        match self.effective_transfer_length(instance) {
            Some(fdt) if fdt != fti_transfer_length => {
                Err(crate::FdtError::TransferLengthMismatch {
                    toi: self.toi,
                    fdt,
                    other: fti_transfer_length,
                })
            }
            _ => Ok(()),
        }
    }
}

/// An `FDT-Instance`: the table of files of one FDT Instance ID.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FdtInstance {
    /// `Expires` (required): NTP seconds.
    pub expires: NtpSeconds,
    /// `Complete`: no new files will be announced after this instance.
    pub complete: Option<bool>,
    /// `Content-Type` default for the files.
    pub content_type: Option<String>,
    /// `Content-Encoding` default for the files.
    pub content_encoding: Option<String>,
    /// Instance-level `FEC-OTI-*` attributes.
    pub fec_oti: FecOtiAttributes,
    /// The files (at least one in a valid instance).
    pub files: Vec<File>,
    /// mbms2008 `@FullFDT`.
    pub full_fdt: Option<bool>,
    /// 3GPP `sv:schemaVersion` (mandatory in [`Profile::Mbms3gpp`]).
    pub schema_version: Option<u32>,
    /// mbms2012 `Base-URL-1` elements.
    pub base_url_1: Vec<String>,
    /// mbms2012 `Base-URL-2` elements.
    pub base_url_2: Vec<String>,
    /// mbms2005 `Group` elements.
    pub groups: Vec<String>,
    /// mbms2005 `MBMS-Session-Identity-Expiry` elements.
    pub session_identity_expiry: Vec<SessionIdentityExpiry>,
    /// Attributes not interpreted by this crate.
    pub extra_attributes: Vec<ExtraAttribute>,
    /// Elements not interpreted by this crate.
    pub extra_elements: Vec<XmlElement>,
}

impl FdtInstance {
    /// An instance with the given `Expires` and no files yet.
    pub fn new(expires: NtpSeconds) -> Self {
        Self {
            expires,
            ..Self::default()
        }
    }

    /// The first TOI listed twice, if any (RFC 6726 §3.4.2: a TOI names one file within an
    /// instance; catalogue item 52). [`Self::validate`] reports it, and a receiver that only
    /// needs this check calls it directly.
    pub fn duplicate_toi(&self) -> Option<u128> {
        let mut seen = std::collections::HashSet::with_capacity(self.files.len());
        self.files.iter().map(|f| f.toi).find(|t| !seen.insert(*t))
    }

    /// The file with the given TOI.
    pub fn file(&self, toi: u128) -> Option<&File> {
        self.files.iter().find(|f| f.toi == toi)
    }
}

/// Serde for TOIs (up to 112 bits): `lct_header::Toi`'s, a decimal string (numbers are
/// accepted on input too).
#[cfg(feature = "serde")]
mod toi_as_string {
    use lct_header::Toi;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(toi: &u128, s: S) -> Result<S::Ok, S::Error> {
        Toi(*toi).serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        Toi::deserialize(d).map(|t| t.0)
    }
}

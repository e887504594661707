//! FDT Instance contents (RFC 6726 §3.4.2), built with the `fdt` crate's model and writer.

use fec_schemes::Oti;

use crate::config::Profile;

/// The `fdt::File` of one object: required attributes, lengths, type/encoding/MD5, the
/// full FEC OTI (so receivers can decode without EXT_FTI), and the 3GPP extras in the
/// Mbms profile.
#[allow(clippy::too_many_arguments)]
pub(crate) fn file_entry(
    toi: u128,
    content_location: String,
    content_length: u64,
    content_type: Option<String>,
    content_encoding: Option<&'static str>,
    md5: Option<[u8; 16]>,
    oti: &Oti,
    scheme_specific: Vec<u8>,
) -> fdt::File {
    let mut f = fdt::File::new(toi, content_location);
    f.content_length = Some(content_length);
    f.transfer_length = Some(oti.transfer_length);
    f.content_type = content_type;
    f.content_encoding = content_encoding.map(str::to_owned);
    f.content_md5 = md5;
    f.fec_oti = fdt::FecOtiAttributes {
        encoding_id: Some(oti.encoding_id.0),
        instance_id: oti.instance_id.map(|i| i.0),
        max_source_block_length: Some(u64::from(oti.max_source_block_length)),
        encoding_symbol_length: Some(u64::from(oti.encoding_symbol_length)),
        max_number_of_encoding_symbols: oti.max_encoding_symbols.map(u64::from),
        scheme_specific_info: (!scheme_specific.is_empty()).then_some(scheme_specific),
    };
    f
}

/// The `fdt` writer profile of a sender profile.
pub(crate) fn fdt_profile(p: Profile) -> fdt::Profile {
    match p {
        Profile::Rfc6726 => fdt::Profile::Rfc6726,
        Profile::Rfc3926 => fdt::Profile::Rfc3926,
        Profile::Mbms => fdt::Profile::Mbms3gpp,
    }
}

/// Renders one FDT Instance. Fails on an empty file list (RFC 6726 §3.4.2: at least one
/// File) or anything else the writer refuses.
pub(crate) fn render(
    profile: Profile,
    expires: u32,
    complete: bool,
    full_fdt: bool,
    files: Vec<fdt::File>,
    extensions: &[fdt::XmlElement],
) -> Result<String, fdt::FdtError> {
    let mut inst = fdt::FdtInstance::new(fdt::NtpSeconds(expires));
    inst.extra_elements = extensions.to_vec();
    if complete {
        inst.complete = Some(true);
    }
    if profile == Profile::Mbms && full_fdt {
        inst.full_fdt = Some(true);
    }
    inst.files = files;
    inst.emit(fdt_profile(profile))
}

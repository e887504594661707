//! FDT Instance contents (RFC 6726 §3.4.2) for the files the sender publishes.

use std::fmt::Write as _;

use base64::Engine as _;
use fec_schemes::Oti;

use crate::config::Profile;
use crate::object::CacheControl;

/// What the FDT says about one object.
#[derive(Debug, Clone)]
pub(crate) struct FileEntry {
    pub(crate) toi: u128,
    pub(crate) content_location: String,
    pub(crate) content_length: u64,
    pub(crate) content_type: Option<String>,
    pub(crate) content_encoding: Option<&'static str>,
    pub(crate) md5: Option<[u8; 16]>,
    pub(crate) oti: Oti,
    /// FEC-OTI-Scheme-Specific-Info before base64.
    pub(crate) scheme_specific: Vec<u8>,
    pub(crate) cache_control: Option<CacheControl>,
    pub(crate) etag: Option<String>,
    pub(crate) groups: Vec<String>,
}

const NS_RFC6726: &str = "urn:ietf:params:xml:ns:fdt";
const NS_RFC3926: &str = "urn:IETF:metadata:2005:FLUTE:FDT";

/// Renders one FDT Instance. `files` is never empty (callers check: RFC 6726 §3.4.2
/// requires at least one File).
pub(crate) fn render(
    profile: Profile,
    expires: u32,
    complete: bool,
    full_fdt: bool,
    files: &[&FileEntry],
) -> String {
    let mut s = String::with_capacity(256 + 384 * files.len());
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<FDT-Instance");
    let mbms = profile == Profile::Mbms;
    match profile {
        Profile::Rfc6726 => {
            let _ = write!(s, " xmlns=\"{NS_RFC6726}\"");
        }
        Profile::Rfc3926 => {
            let _ = write!(s, " xmlns=\"{NS_RFC3926}\"");
        }
        Profile::Mbms => {
            let _ = write!(
                s,
                " xmlns=\"{NS_RFC3926}\" xmlns:mbms2005=\"urn:3GPP:metadata:2005:MBMS:FLUTE:FDT\" \
                 xmlns:mbms2007=\"urn:3GPP:metadata:2007:MBMS:FLUTE:FDT\" \
                 xmlns:mbms2008=\"urn:3GPP:metadata:2008:MBMS:FLUTE:FDT_ext\" \
                 xmlns:mbms2012=\"urn:3GPP:metadata:2012:MBMS:FLUTE:FDT\" \
                 xmlns:sv=\"urn:3gpp:metadata:2009:MBMS:schemaVersion\""
            );
        }
    }
    let _ = write!(s, " Expires=\"{expires}\"");
    if complete {
        s.push_str(" Complete=\"true\"");
    }
    if mbms && full_fdt {
        s.push_str(" mbms2008:FullFDT=\"true\"");
    }
    s.push_str(">\n");
    for f in files {
        file(&mut s, mbms, f);
    }
    if mbms {
        s.push_str("  <sv:schemaVersion>4</sv:schemaVersion>\n  <sv:delimiter>0</sv:delimiter>\n");
    }
    s.push_str("</FDT-Instance>\n");
    s
}

fn file(s: &mut String, mbms: bool, f: &FileEntry) {
    s.push_str("  <File");
    attr(s, "Content-Location", &f.content_location);
    let _ = write!(s, " TOI=\"{}\"", f.toi);
    let _ = write!(s, " Content-Length=\"{}\"", f.content_length);
    let _ = write!(s, " Transfer-Length=\"{}\"", f.oti.transfer_length);
    if let Some(ct) = &f.content_type {
        attr(s, "Content-Type", ct);
    }
    if let Some(ce) = f.content_encoding {
        attr(s, "Content-Encoding", ce);
    }
    if let Some(md5) = &f.md5 {
        attr(
            s,
            "Content-MD5",
            &base64::engine::general_purpose::STANDARD.encode(md5),
        );
    }
    let o = &f.oti;
    let _ = write!(s, " FEC-OTI-FEC-Encoding-ID=\"{}\"", o.encoding_id.0);
    if let Some(i) = o.instance_id {
        let _ = write!(s, " FEC-OTI-FEC-Instance-ID=\"{}\"", i.0);
    }
    let _ = write!(
        s,
        " FEC-OTI-Maximum-Source-Block-Length=\"{}\" FEC-OTI-Encoding-Symbol-Length=\"{}\"",
        o.max_source_block_length, o.encoding_symbol_length
    );
    if let Some(n) = o.max_encoding_symbols {
        let _ = write!(s, " FEC-OTI-Max-Number-of-Encoding-Symbols=\"{n}\"");
    }
    if !f.scheme_specific.is_empty() {
        attr(
            s,
            "FEC-OTI-Scheme-Specific-Info",
            &base64::engine::general_purpose::STANDARD.encode(&f.scheme_specific),
        );
    }
    if !mbms {
        s.push_str("/>\n");
        return;
    }
    if let Some(e) = &f.etag {
        attr(s, "mbms2012:File-ETag", e);
    }
    s.push_str(">\n");
    match f.cache_control {
        Some(CacheControl::NoCache) => s.push_str(
            "    <mbms2007:Cache-Control><mbms2007:no-cache>true</mbms2007:no-cache></mbms2007:Cache-Control>\n",
        ),
        Some(CacheControl::MaxStale) => s.push_str(
            "    <mbms2007:Cache-Control><mbms2007:max-stale>true</mbms2007:max-stale></mbms2007:Cache-Control>\n",
        ),
        Some(CacheControl::Expires(t)) => {
            let _ = writeln!(
                s,
                "    <mbms2007:Cache-Control><mbms2007:Expires>{t}</mbms2007:Expires></mbms2007:Cache-Control>"
            );
        }
        None => {}
    }
    s.push_str("    <sv:delimiter>0</sv:delimiter>\n    <sv:delimiter>0</sv:delimiter>\n");
    for g in &f.groups {
        s.push_str("    <mbms2005:Group>");
        escape(s, g);
        s.push_str("</mbms2005:Group>\n");
    }
    s.push_str("  </File>\n");
}

fn attr(s: &mut String, name: &str, value: &str) {
    s.push(' ');
    s.push_str(name);
    s.push_str("=\"");
    escape(s, value);
    s.push('"');
}

fn escape(s: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            c => s.push(c),
        }
    }
}

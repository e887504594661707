//! The FDT writer.
//!
//! Output is UTF-8, indented, with the FDT namespace as the default namespace and the 3GPP
//! extension namespaces under their customary prefixes (`mbms2005` … `mbms2015`, `sv`),
//! declared on the root only when used. Kept unknown elements declare their own namespaces.

use std::fmt::Write as _;

use bytes::Bytes;

use crate::{FdtError, Profile, error::clip, lexical, model::*};

/// The `sv:schemaVersion` written in [`Profile::Mbms3gpp`] when the model has none: the
/// `version` of `FLUTE-FDT-3GPP-Main.xsd`.
pub const DEFAULT_SCHEMA_VERSION: u32 = 3;

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

const INSTANCE_ATTRS: &[&str] = &[
    "Expires",
    "Complete",
    "Content-Type",
    "Content-Encoding",
    "FEC-OTI-FEC-Encoding-ID",
    "FEC-OTI-FEC-Instance-ID",
    "FEC-OTI-Maximum-Source-Block-Length",
    "FEC-OTI-Encoding-Symbol-Length",
    "FEC-OTI-Max-Number-of-Encoding-Symbols",
    "FEC-OTI-Scheme-Specific-Info",
];
const FILE_ATTRS: &[&str] = &[
    "Content-Location",
    "TOI",
    "Content-Length",
    "Transfer-Length",
    "Content-MD5",
];
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";
const INSTANCE_EXT_ATTRS: &[(&str, &str)] = &[(NS_MBMS2008, "FullFDT")];
const FILE_EXT_ATTRS: &[(&str, &str)] = &[
    (NS_MBMS2009, "Decryption-KEY-URI"),
    (NS_MBMS2012, "FEC-Redundancy-Level"),
    (NS_MBMS2012, "File-ETag"),
    (NS_MBMS2015, "IndependentUnitPositions"),
];

impl FdtInstance {
    /// Serialises the instance as an FDT-Instance document in the given profile.
    ///
    /// The output validates against the RFC 6726 schema ([`Profile::Rfc6726`]) or
    /// `FLUTE-FDT-3GPP-Main.xsd` ([`Profile::Mbms3gpp`]) provided kept unknown elements are
    /// in a foreign namespace. Fails if the model cannot be written validly: no file, a TOI of
    /// 0 or above 112 bits, a string holding a character XML cannot carry, an invalid name in
    /// a kept element, or an extra attribute that clashes with a modelled one.
    pub fn emit(&self, profile: Profile) -> Result<String, FdtError> {
        let mut out = String::with_capacity(256 + self.files.len() * 128);
        self.emit_into(profile, &mut out)?;
        Ok(out)
    }

    /// [`emit`](Self::emit) into a `Bytes` buffer, ready to hand to an ALC sender.
    pub fn emit_bytes(&self, profile: Profile) -> Result<Bytes, FdtError> {
        self.emit(profile).map(|s| Bytes::from(s.into_bytes()))
    }

    /// [`emit`](Self::emit), appending to `out`. On error `out` may hold a partial document.
    pub fn emit_into(&self, profile: Profile, out: &mut String) -> Result<(), FdtError> {
        Writer { profile, out }.instance(self)
    }
}

struct Writer<'o> {
    profile: Profile,
    out: &'o mut String,
}

#[derive(Default)]
struct Uses {
    m2005: bool,
    m2007: bool,
    m2008: bool,
    m2009: bool,
    m2012: bool,
    m2015: bool,
    sv: bool,
}

fn check_ncname(s: &str) -> Result<(), FdtError> {
    if lexical::is_ncname(s) {
        Ok(())
    } else {
        Err(FdtError::InvalidName { name: clip(s) })
    }
}

impl Writer<'_> {
    fn gpp(&self) -> bool {
        self.profile == Profile::Mbms3gpp
    }

    fn text(&mut self, s: &str) -> Result<(), FdtError> {
        for c in s.chars() {
            match c {
                '&' => self.out.push_str("&amp;"),
                '<' => self.out.push_str("&lt;"),
                '>' => self.out.push_str("&gt;"),
                '\r' => self.out.push_str("&#xD;"),
                c if lexical::is_xml_char(c) => self.out.push(c),
                _ => return Err(self.bad_char()),
            }
        }
        Ok(())
    }

    fn reserved_ns(&self) -> FdtError {
        FdtError::NotExpressible {
            profile: self.profile,
            reason: "a kept name is in the reserved xmlns namespace",
        }
    }

    /// Writes a kept top-level element, refusing one in the profile's own FDT namespace
    /// (the schema only admits `##other` there, and a reader would take it for FDT content).
    fn top_element(&mut self, el: &XmlElement, indent: &str) -> Result<(), FdtError> {
        let fdt_ns = match self.profile {
            Profile::Rfc6726 => NS_RFC6726,
            _ => NS_FLUTE_2005,
        };
        if el.name.namespace.as_deref() == Some(fdt_ns) {
            return Err(FdtError::NotExpressible {
                profile: self.profile,
                reason: "a kept element is in the profile's FDT namespace",
            });
        }
        self.out.push_str(indent);
        self.element(el, None)?;
        self.out.push('\n');
        Ok(())
    }

    fn bad_char(&self) -> FdtError {
        FdtError::NotExpressible {
            profile: self.profile,
            reason: "a string holds a character XML 1.0 cannot carry",
        }
    }

    fn attr(&mut self, name: &str, value: &str) -> Result<(), FdtError> {
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        for c in value.chars() {
            match c {
                '&' => self.out.push_str("&amp;"),
                '<' => self.out.push_str("&lt;"),
                '>' => self.out.push_str("&gt;"),
                '"' => self.out.push_str("&quot;"),
                '\t' => self.out.push_str("&#x9;"),
                '\n' => self.out.push_str("&#xA;"),
                '\r' => self.out.push_str("&#xD;"),
                c if lexical::is_xml_char(c) => self.out.push(c),
                _ => return Err(self.bad_char()),
            }
        }
        self.out.push('"');
        Ok(())
    }

    fn num_attr(&mut self, name: &str, v: impl std::fmt::Display) {
        let _ = write!(self.out, " {name}=\"{v}\"");
    }

    fn simple(&mut self, indent: &str, name: &str, value: &str) -> Result<(), FdtError> {
        let _ = write!(self.out, "{indent}<{name}>");
        self.text(value)?;
        let _ = writeln!(self.out, "</{name}>");
        Ok(())
    }

    fn oti(&mut self, o: &FecOtiAttributes) {
        if let Some(v) = o.encoding_id {
            self.num_attr("FEC-OTI-FEC-Encoding-ID", v);
        }
        if let Some(v) = o.instance_id {
            self.num_attr("FEC-OTI-FEC-Instance-ID", v);
        }
        if let Some(v) = o.max_source_block_length {
            self.num_attr("FEC-OTI-Maximum-Source-Block-Length", v);
        }
        if let Some(v) = o.encoding_symbol_length {
            self.num_attr("FEC-OTI-Encoding-Symbol-Length", v);
        }
        if let Some(v) = o.max_number_of_encoding_symbols {
            self.num_attr("FEC-OTI-Max-Number-of-Encoding-Symbols", v);
        }
        if let Some(v) = &o.scheme_specific_info {
            self.num_attr("FEC-OTI-Scheme-Specific-Info", lexical::base64_encode(v));
        }
    }

    /// Writes kept attributes, refusing ones that clash with modelled attributes.
    fn extra_attrs(
        &mut self,
        attrs: &[ExtraAttribute],
        modelled: &[&str],
        modelled_ext: &[(&str, &str)],
    ) -> Result<(), FdtError> {
        for (i, a) in attrs.iter().enumerate() {
            let clash_modelled = match a.name.namespace.as_deref() {
                None => modelled.contains(&a.name.local.as_str()),
                Some(ns) => modelled_ext.contains(&(ns, a.name.local.as_str())),
            };
            if clash_modelled || attrs[..i].iter().any(|b| b.name == a.name) {
                return Err(FdtError::NotExpressible {
                    profile: self.profile,
                    reason: "duplicate attribute",
                });
            }
        }
        self.foreign_attrs(attrs)
    }

    fn foreign_attrs(&mut self, attrs: &[ExtraAttribute]) -> Result<(), FdtError> {
        for (i, a) in attrs.iter().enumerate() {
            check_ncname(&a.name.local)?;
            match a.name.namespace.as_deref() {
                None => self.attr(&a.name.local, &a.value)?,
                Some(XML_NS) => self.attr(&format!("xml:{}", a.name.local), &a.value)?,
                Some(XMLNS_NS) => return Err(self.reserved_ns()),
                Some(ns) => {
                    self.attr(&format!("x{i}:{}", a.name.local), &a.value)?;
                    self.attr(&format!("xmlns:x{i}"), ns)?;
                }
            }
        }
        Ok(())
    }

    /// Writes a kept element; `parent_ns` is the default namespace in scope (`None` outside
    /// any kept element, where a declaration is always written).
    fn element(
        &mut self,
        el: &XmlElement,
        parent_ns: Option<Option<&str>>,
    ) -> Result<(), FdtError> {
        check_ncname(&el.name.local)?;
        for (i, a) in el.attributes.iter().enumerate() {
            if el.attributes[..i].iter().any(|b| b.name == a.name) {
                return Err(FdtError::NotExpressible {
                    profile: self.profile,
                    reason: "duplicate attribute",
                });
            }
        }
        let ns = el.name.namespace.as_deref();
        // Elements use the default namespace, except in the reserved `xml` namespace, which
        // has a fixed prefix and must never be declared.
        let (prefix, child_default) = match ns {
            Some(XMLNS_NS) => return Err(self.reserved_ns()),
            Some(XML_NS) => ("xml:", parent_ns),
            _ => ("", Some(ns)),
        };
        self.out.push('<');
        self.out.push_str(prefix);
        self.out.push_str(&el.name.local);
        if prefix.is_empty() && parent_ns != Some(ns) {
            self.attr("xmlns", ns.unwrap_or(""))?;
        }
        self.foreign_attrs(&el.attributes)?;
        if el.children.is_empty() {
            self.out.push_str("/>");
            return Ok(());
        }
        self.out.push('>');
        for c in &el.children {
            match c {
                XmlNode::Text(t) => self.text(t)?,
                XmlNode::Element(e) => self.element(e, child_default)?,
            }
        }
        self.out.push_str("</");
        self.out.push_str(prefix);
        self.out.push_str(&el.name.local);
        self.out.push('>');
        Ok(())
    }

    fn uses(&self, inst: &FdtInstance) -> Uses {
        let gpp = self.gpp();
        let mut u = Uses {
            m2005: !gpp && (!inst.groups.is_empty() || !inst.session_identity_expiry.is_empty()),
            m2008: inst.full_fdt.is_some(),
            m2012: !inst.base_url_1.is_empty() || !inst.base_url_2.is_empty(),
            sv: gpp || inst.schema_version.is_some(),
            ..Uses::default()
        };
        for f in &inst.files {
            u.m2005 |= !gpp && (!f.groups.is_empty() || !f.mbms_session_identities.is_empty());
            u.m2007 |= f.cache_control.is_some();
            u.m2009 |= f.decryption_key_uri.is_some();
            u.m2012 |= !f.alternate_content_location_1.is_empty()
                || !f.alternate_content_location_2.is_empty()
                || f.fec_redundancy_level.is_some()
                || f.file_etag.is_some();
            u.m2015 |= f.independent_unit_positions.is_some();
        }
        u
    }

    fn instance(&mut self, inst: &FdtInstance) -> Result<(), FdtError> {
        if inst.files.is_empty() {
            return Err(FdtError::NoFiles);
        }
        let ns = match self.profile {
            Profile::Rfc6726 => NS_RFC6726,
            _ => NS_FLUTE_2005,
        };
        let u = self.uses(inst);
        self.out
            .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<FDT-Instance");
        self.attr("xmlns", ns)?;
        for (used, prefix, uri) in [
            (u.m2005, "mbms2005", NS_MBMS2005),
            (u.m2007, "mbms2007", NS_MBMS2007),
            (u.m2008, "mbms2008", NS_MBMS2008),
            (u.m2009, "mbms2009", NS_MBMS2009),
            (u.m2012, "mbms2012", NS_MBMS2012),
            (u.m2015, "mbms2015", NS_MBMS2015),
            (u.sv, "sv", NS_SCHEMA_VERSION),
        ] {
            if used {
                let _ = write!(self.out, " xmlns:{prefix}=\"{uri}\"");
            }
        }
        self.num_attr("Expires", inst.expires.0);
        if let Some(c) = inst.complete {
            self.num_attr("Complete", c);
        }
        if let Some(v) = &inst.content_type {
            self.attr("Content-Type", v)?;
        }
        if let Some(v) = &inst.content_encoding {
            self.attr("Content-Encoding", v)?;
        }
        self.oti(&inst.fec_oti);
        if let Some(v) = inst.full_fdt {
            self.num_attr("mbms2008:FullFDT", v);
        }
        self.extra_attrs(&inst.extra_attributes, INSTANCE_ATTRS, INSTANCE_EXT_ATTRS)?;
        self.out.push_str(">\n");
        for f in &inst.files {
            self.file(f)?;
        }
        if let Some(v) = inst
            .schema_version
            .or(self.gpp().then_some(DEFAULT_SCHEMA_VERSION))
        {
            let _ = writeln!(self.out, "  <sv:schemaVersion>{v}</sv:schemaVersion>");
        }
        for v in &inst.base_url_1 {
            self.simple("  ", "mbms2012:Base-URL-1", v)?;
        }
        for v in &inst.base_url_2 {
            self.simple("  ", "mbms2012:Base-URL-2", v)?;
        }
        if self.gpp() {
            self.out.push_str("  <sv:delimiter>0</sv:delimiter>\n");
        }
        for x in &inst.extra_elements {
            self.top_element(x, "  ")?;
        }
        let p = if self.gpp() { "" } else { "mbms2005:" };
        for g in &inst.groups {
            self.simple("  ", &format!("{p}Group"), g)?;
        }
        for x in &inst.session_identity_expiry {
            let _ = writeln!(
                self.out,
                "  <{p}MBMS-Session-Identity-Expiry value=\"{}\">{}</{p}MBMS-Session-Identity-Expiry>",
                x.value, x.session_identity
            );
        }
        self.out.push_str("</FDT-Instance>\n");
        Ok(())
    }

    fn file(&mut self, f: &File) -> Result<(), FdtError> {
        if f.toi == 0 {
            return Err(FdtError::ToiZero { offset: 0 });
        }
        if f.toi > MAX_TOI {
            return Err(FdtError::ToiTooLarge {
                value: f.toi.to_string(),
                offset: 0,
            });
        }
        self.out.push_str("  <File");
        self.attr("Content-Location", &f.content_location)?;
        self.num_attr("TOI", f.toi);
        if let Some(v) = f.content_length {
            self.num_attr("Content-Length", v);
        }
        if let Some(v) = f.transfer_length {
            self.num_attr("Transfer-Length", v);
        }
        if let Some(v) = &f.content_type {
            self.attr("Content-Type", v)?;
        }
        if let Some(v) = &f.content_encoding {
            self.attr("Content-Encoding", v)?;
        }
        if let Some(v) = &f.content_md5 {
            self.num_attr("Content-MD5", lexical::base64_encode(v));
        }
        self.oti(&f.fec_oti);
        if let Some(v) = &f.decryption_key_uri {
            self.attr("mbms2009:Decryption-KEY-URI", v)?;
        }
        if let Some(v) = f.fec_redundancy_level {
            self.num_attr("mbms2012:FEC-Redundancy-Level", v);
        }
        if let Some(v) = &f.file_etag {
            self.attr("mbms2012:File-ETag", v)?;
        }
        if let Some(list) = &f.independent_unit_positions {
            let joined = list
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" ");
            self.num_attr("mbms2015:IndependentUnitPositions", joined);
        }
        let mut modelled = INSTANCE_ATTRS.to_vec();
        modelled.extend_from_slice(FILE_ATTRS);
        self.extra_attrs(&f.extra_attributes, &modelled, FILE_EXT_ATTRS)?;
        let gpp = self.gpp();
        let has_children = gpp
            || f.cache_control.is_some()
            || !f.alternate_content_location_1.is_empty()
            || !f.alternate_content_location_2.is_empty()
            || !f.extra_elements.is_empty()
            || !f.groups.is_empty()
            || !f.mbms_session_identities.is_empty();
        if !has_children {
            self.out.push_str("/>\n");
            return Ok(());
        }
        self.out.push_str(">\n");
        if let Some(c) = f.cache_control {
            let inner = match c {
                CacheControl::NoCache => "<mbms2007:no-cache>true</mbms2007:no-cache>".to_owned(),
                CacheControl::MaxStale => {
                    "<mbms2007:max-stale>true</mbms2007:max-stale>".to_owned()
                }
                CacheControl::Expires(v) => format!("<mbms2007:Expires>{v}</mbms2007:Expires>"),
            };
            let _ = writeln!(
                self.out,
                "    <mbms2007:Cache-Control>{inner}</mbms2007:Cache-Control>"
            );
        }
        if gpp {
            self.out.push_str("    <sv:delimiter>0</sv:delimiter>\n");
        }
        for (name, list) in [
            (
                "mbms2012:Alternate-Content-Location-1",
                &f.alternate_content_location_1,
            ),
            (
                "mbms2012:Alternate-Content-Location-2",
                &f.alternate_content_location_2,
            ),
        ] {
            for acl in list {
                let _ = write!(self.out, "    <{name}");
                if let Some(t) = &acl.availability_time {
                    self.attr("Availability-Time", t)?;
                }
                if acl.locations.is_empty() {
                    self.out.push_str("/>\n");
                    continue;
                }
                self.out.push('>');
                for l in &acl.locations {
                    self.out.push_str("<mbms2012:Alternate-Content-Location>");
                    self.text(l)?;
                    self.out.push_str("</mbms2012:Alternate-Content-Location>");
                }
                let _ = writeln!(self.out, "</{name}>");
            }
        }
        if gpp {
            self.out.push_str("    <sv:delimiter>0</sv:delimiter>\n");
        }
        for x in &f.extra_elements {
            self.top_element(x, "    ")?;
        }
        let p = if gpp { "" } else { "mbms2005:" };
        for g in &f.groups {
            self.simple("    ", &format!("{p}Group"), g)?;
        }
        for s in &f.mbms_session_identities {
            let _ = writeln!(
                self.out,
                "    <{p}MBMS-Session-Identity>{s}</{p}MBMS-Session-Identity>"
            );
        }
        self.out.push_str("  </File>\n");
        Ok(())
    }
}

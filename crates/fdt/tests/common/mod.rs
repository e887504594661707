//! Shared helpers for the integration tests: the proptest model strategy and fixture access.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use fdt::*;
use proptest::{collection::vec, option, prelude::*};

pub fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn uri() -> impl Strategy<Value = String> {
    "[a-z]{1,6}://[a-z0-9._/-]{0,16}"
}

fn xs_string() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 &<>\"'\t\n\r/é€;=+.-]{0,12}"
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,6}"
}

fn extra_attrs() -> impl Strategy<Value = Vec<ExtraAttribute>> {
    vec(
        (
            option::of(Just("urn:example:attr".to_owned())),
            "x-[a-z]{1,5}",
            xs_string(),
        )
            .prop_map(|(ns, local, value)| ExtraAttribute {
                name: XmlName {
                    namespace: ns,
                    local,
                },
                value,
            }),
        0..3,
    )
    .prop_map(|mut v| {
        let mut seen = Vec::new();
        v.retain(|a| {
            let fresh = !seen.contains(&a.name);
            seen.push(a.name.clone());
            fresh
        });
        v
    })
}

fn element() -> impl Strategy<Value = XmlElement> {
    let leaf = (
        prop_oneof![Just("urn:example:a"), Just("urn:example:b")],
        name(),
        extra_attrs(),
        option::of("[a-z&<>]{1,6}"),
    )
        .prop_map(|(ns, local, attributes, text)| XmlElement {
            name: XmlName::new(Some(ns), &local),
            attributes,
            children: text.into_iter().map(XmlNode::Text).collect(),
        });
    leaf.prop_recursive(3, 12, 3, |inner| {
        (
            prop_oneof![
                Just(Some("urn:example:a")),
                Just(Some("urn:example:c")),
                Just(None)
            ],
            name(),
            extra_attrs(),
            vec(inner, 1..3),
        )
            .prop_map(|(ns, local, attributes, children)| XmlElement {
                name: XmlName::new(ns, &local),
                attributes,
                children: children.into_iter().map(XmlNode::Element).collect(),
            })
    })
    // ##other forbids no-namespace elements at the top of a kept fragment.
    .prop_map(|mut e| {
        if e.name.namespace.is_none() {
            e.name.namespace = Some("urn:example:top".to_owned());
        }
        e
    })
}

fn oti() -> impl Strategy<Value = FecOtiAttributes> {
    (
        option::of(any::<u8>()),
        option::of(any::<u16>()),
        option::of(any::<u64>()),
        option::of(any::<u64>()),
        option::of(any::<u64>()),
        option::of(vec(any::<u8>(), 0..8)),
    )
        .prop_map(|(a, b, c, d, e, f)| FecOtiAttributes {
            encoding_id: a,
            instance_id: b,
            max_source_block_length: c,
            encoding_symbol_length: d,
            max_number_of_encoding_symbols: e,
            scheme_specific_info: f,
        })
}

fn acl() -> impl Strategy<Value = AlternateContentLocations> {
    (
        option::of("20[0-9]{2}-0[1-9]-1[0-9]T1[0-9]:[0-5][0-9]:[0-5][0-9](Z|\\.5\\+01:00)?"),
        vec(uri(), 0..3),
    )
        .prop_map(|(availability_time, locations)| AlternateContentLocations {
            availability_time,
            locations,
        })
}

fn cache_control() -> impl Strategy<Value = CacheControl> {
    prop_oneof![
        Just(CacheControl::NoCache),
        Just(CacheControl::MaxStale),
        any::<u32>().prop_map(CacheControl::Expires)
    ]
}

/// `max_toi` lets the xmllint test stay below libxml2's 24-digit integer limit.
pub fn file(max_toi: u128) -> impl Strategy<Value = File> {
    let core = (
        uri(),
        1..=max_toi,
        option::of(any::<u64>()),
        option::of(any::<u64>()),
        option::of(xs_string()),
        option::of(xs_string()),
        option::of(any::<[u8; 16]>()),
        oti(),
    );
    let ext = (
        option::of(cache_control()),
        vec(acl(), 0..2),
        vec(acl(), 0..2),
        vec(xs_string(), 0..2),
        vec(any::<u8>(), 0..2),
        option::of(uri()),
        option::of(any::<u32>()),
        option::of(xs_string()),
        option::of(vec(any::<u64>(), 0..3)),
    );
    (core, ext, extra_attrs(), vec(element(), 0..2)).prop_map(
        |((loc, toi, cl, tl, ct, ce, md5, oti), (cc, a1, a2, g, s, dk, fr, et, iup), xa, xe)| {
            File {
                content_location: loc,
                toi,
                content_length: cl,
                transfer_length: tl,
                content_type: ct,
                content_encoding: ce,
                content_md5: md5,
                fec_oti: oti,
                cache_control: cc,
                alternate_content_location_1: a1,
                alternate_content_location_2: a2,
                groups: g,
                mbms_session_identities: s,
                decryption_key_uri: dk,
                fec_redundancy_level: fr,
                file_etag: et,
                independent_unit_positions: iup,
                extra_attributes: xa,
                extra_elements: xe,
            }
        },
    )
}

pub fn instance(max_toi: u128) -> impl Strategy<Value = FdtInstance> {
    let core = (
        any::<u32>(),
        option::of(any::<bool>()),
        option::of(xs_string()),
        option::of(xs_string()),
        oti(),
        vec(file(max_toi), 1..4),
    );
    let ext = (
        option::of(any::<bool>()),
        option::of(any::<u32>()),
        vec(uri(), 0..2),
        vec(uri(), 0..2),
        vec(xs_string(), 0..2),
        vec(
            (any::<u8>(), any::<u32>()).prop_map(|(session_identity, value)| {
                SessionIdentityExpiry {
                    session_identity,
                    value,
                }
            }),
            0..2,
        ),
    );
    (core, ext, extra_attrs(), vec(element(), 0..2)).prop_map(
        |((exp, c, ct, ce, oti, files), (ff, sv, b1, b2, g, sie), xa, xe)| FdtInstance {
            expires: NtpSeconds(exp),
            complete: c,
            content_type: ct,
            content_encoding: ce,
            fec_oti: oti,
            files,
            full_fdt: ff,
            schema_version: sv,
            base_url_1: b1,
            base_url_2: b2,
            groups: g,
            session_identity_expiry: sie,
            extra_attributes: xa,
            extra_elements: xe,
        },
    )
}

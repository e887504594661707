//! Hand-written fixtures (RFC 6726, RFC 3926, 3GPP with every extension, 3GPP Rel-17, no
//! namespace): field-by-field checks, and conversion between profiles.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::fixture;
use fdt::*;

fn parse(name: &str) -> ParsedFdt {
    FdtInstance::parse_with(&fixture(name), &ParseOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn rfc6726_basic_fixture() {
    let p = parse("rfc6726_basic.xml");
    assert_eq!(p.namespace, FdtNamespace::Rfc6726);
    let i = &p.instance;
    assert_eq!(i.expires, NtpSeconds(2_890_842_807));
    assert_eq!(i.complete, Some(true));
    assert_eq!(i.content_type.as_deref(), Some("application/octet-stream"));
    assert_eq!(
        i.fec_oti,
        FecOtiAttributes {
            encoding_id: Some(6),
            instance_id: None,
            max_source_block_length: Some(56403),
            encoding_symbol_length: Some(1024),
            max_number_of_encoding_symbols: Some(65536),
            scheme_specific_info: Some(vec![1, 0, 1, 4]),
        }
    );
    assert_eq!(
        i.extra_attributes,
        vec![ExtraAttribute {
            name: XmlName::new(Some("urn:example:fdt-ext"), "session-label"),
            value: "news & weather".into()
        }]
    );
    assert_eq!(i.files.len(), 3);
    let f1 = &i.files[0];
    assert_eq!(
        (f1.toi, f1.content_location.as_str()),
        (1, "http://www.example.com/menu/tracklist.html")
    );
    // File 1 inherits the whole instance-level OTI.
    let oti = f1.effective_oti(i).expect("oti");
    assert_eq!(
        (
            oti.encoding_id,
            oti.encoding_symbol_length,
            oti.max_source_block_length
        ),
        (6, Some(1024), Some(56403))
    );
    assert_eq!(f1.effective_content_type(i), Some("text/html"));
    // File 2 names another scheme: only its own attributes apply.
    let f2 = &i.files[1];
    assert_eq!(
        f2.effective_oti(i),
        Some(FecOti {
            encoding_id: 0,
            encoding_symbol_length: Some(1400),
            ..FecOti::default()
        })
    );
    assert_eq!(
        (f2.content_length, f2.transfer_length),
        (Some(6100), Some(3100))
    );
    assert_eq!(f2.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(
        f2.content_md5,
        Some([
            0xf9, 0x53, 0xf9, 0x22, 0xb5, 0xa9, 0x96, 0x81, 0x64, 0x65, 0x67, 0x35, 0xd6, 0x22,
            0xc3, 0x74
        ])
    );
    assert_eq!(f2.effective_transfer_length(i), Some(3100));
    let note = &f2.extra_elements[0];
    assert_eq!(note.name, XmlName::new(Some("urn:example:fdt-ext"), "note"));
    assert_eq!(note.attributes[0].name, XmlName::new(None, "lang"));
    assert_eq!(note.children.len(), 2);
    assert_eq!(note.children[0], XmlNode::Text("first ".into()));
    let f3 = &i.files[2];
    assert_eq!(f3.toi, 1u128 << 64);
    assert_eq!(f3.effective_transfer_length(i), Some(0));
    assert_eq!(i.extra_elements[0].name.local, "signature");
    i.validate(&ValidationOptions::default()).expect("valid");
}

#[test]
fn rfc6726_max_toi_fixture() {
    let i = parse("rfc6726_max_toi.xml").instance;
    assert_eq!(i.files[0].toi, MAX_TOI);
}

#[test]
fn rfc3926_fixture() {
    let opts = ParseOptions {
        profile: Some(Profile::Rfc3926),
        ..ParseOptions::default()
    };
    let p = FdtInstance::parse_with(&fixture("rfc3926_flute_v1.xml"), &opts).expect("parse");
    assert_eq!(p.namespace, FdtNamespace::Flute2005);
    let f = &p.instance.files[0];
    assert_eq!(
        f.effective_oti(&p.instance),
        Some(FecOti {
            encoding_id: 128,
            instance_id: Some(0),
            max_source_block_length: Some(64),
            encoding_symbol_length: Some(1428),
            ..FecOti::default()
        })
    );
}

#[test]
fn mbms_3gpp_fixture_with_every_extension() {
    let opts = ParseOptions {
        profile: Some(Profile::Mbms3gpp),
        ..ParseOptions::default()
    };
    let p =
        FdtInstance::parse_with(&fixture("mbms_3gpp_full.xml"), &opts).expect("strict 3GPP parse");
    assert_eq!(p.namespace, FdtNamespace::Flute2005);
    let i = &p.instance;
    assert_eq!(i.full_fdt, Some(true));
    assert_eq!(i.complete, Some(false));
    assert_eq!(i.schema_version, Some(3));
    assert_eq!(i.base_url_1, vec!["https://cdn.example.com/"]);
    assert_eq!(i.base_url_2, vec!["https://backup.example.com/"]);
    assert_eq!(i.groups, vec!["all"]);
    assert_eq!(
        i.session_identity_expiry,
        vec![SessionIdentityExpiry {
            session_identity: 7,
            value: 3_900_007_200
        }]
    );
    assert_eq!(
        i.extra_attributes[0].name,
        XmlName::new(Some("urn:example:vendor"), "build")
    );
    assert_eq!(
        i.extra_elements[0].name,
        XmlName::new(Some("urn:example:vendor"), "carousel")
    );
    let f = &i.files[0];
    assert_eq!(f.cache_control, Some(CacheControl::Expires(3_900_003_600)));
    assert_eq!(
        f.decryption_key_uri.as_deref(),
        Some("https://keys.example.com/k1")
    );
    assert_eq!(f.fec_redundancy_level, Some(20));
    assert_eq!(f.file_etag.as_deref(), Some("\"v1\""));
    assert_eq!(f.independent_unit_positions, Some(vec![0, 4096, 8192]));
    assert_eq!(f.alternate_content_location_1.len(), 1);
    assert_eq!(
        f.alternate_content_location_1[0]
            .availability_time
            .as_deref(),
        Some("2023-08-01T10:00:00Z")
    );
    assert_eq!(f.alternate_content_location_1[0].locations.len(), 2);
    assert_eq!(
        f.alternate_content_location_2[0].locations,
        vec!["https://b1.example.com/init.mp4"]
    );
    assert_eq!(f.groups, vec!["video", "all"]);
    assert_eq!(f.mbms_session_identities, vec![7]);
    assert_eq!(f.extra_elements[0].name.local, "hint");
    assert_eq!(f.content_md5, Some(content_md5(b"")));
    // Own OTI with another encoding ID than the instance: nothing inherited.
    assert_eq!(
        f.effective_oti(i).map(|o| o.scheme_specific_info),
        Some(Some(vec![1, 0, 1, 4]))
    );
    // File 2 inherits the instance's Raptor (ID 1) OTI, whose SSI is 4 bytes.
    assert_eq!(i.files[1].effective_oti(i).map(|o| o.encoding_id), Some(1));
    assert_eq!(i.files[1].cache_control, Some(CacheControl::NoCache));
    assert_eq!(i.files[2].cache_control, Some(CacheControl::MaxStale));
    i.validate(&ValidationOptions {
        profile: Some(Profile::Mbms3gpp),
        ..ValidationOptions::default()
    })
    .expect("valid");
}

#[test]
fn mbms_2022_profiled_fixture() {
    let opts = ParseOptions {
        profile: Some(Profile::Mbms3gpp),
        ..ParseOptions::default()
    };
    let p = FdtInstance::parse_with(&fixture("mbms_2022_profiled.xml"), &opts).expect("parse");
    assert_eq!(p.namespace, FdtNamespace::Mbms2022);
    let i = &p.instance;
    assert_eq!(i.schema_version, Some(1));
    let f = &i.files[0];
    assert_eq!(f.cache_control, Some(CacheControl::Expires(3_900_000_600)));
    assert_eq!(f.fec_redundancy_level, Some(10));
    assert_eq!(f.file_etag.as_deref(), Some("abc"));
    let names: Vec<_> = f
        .extra_attributes
        .iter()
        .map(|a| a.name.local.as_str())
        .collect();
    assert_eq!(names, vec!["Repair-Start", "Repair-Limit-Percentage"]);
    // Rel-17 documents convert to the Main-schema form.
    let xml = i.emit(Profile::Mbms3gpp).expect("emit");
    assert!(
        xml.contains("mbms2012:FEC-Redundancy-Level=\"10\""),
        "{xml}"
    );
}

#[test]
fn no_namespace_fixture_is_flagged() {
    let p = parse("no_namespace.xml");
    assert_eq!(p.namespace, FdtNamespace::None);
    assert_eq!(p.instance.files[0].content_length, Some(3));
}

#[test]
fn every_fixture_converts_between_profiles_losslessly() {
    for name in [
        "rfc6726_basic.xml",
        "rfc6726_max_toi.xml",
        "rfc3926_flute_v1.xml",
        "mbms_3gpp_full.xml",
        "mbms_2022_profiled.xml",
        "no_namespace.xml",
    ] {
        let original = parse(name).instance;
        for profile in [Profile::Rfc6726, Profile::Rfc3926, Profile::Mbms3gpp] {
            let xml = original.emit(profile).expect("emit");
            let back = FdtInstance::parse_with(
                xml.as_bytes(),
                &ParseOptions {
                    profile: Some(profile),
                    ..ParseOptions::default()
                },
            )
            .unwrap_or_else(|e| panic!("{name} in {profile:?}: {e}\n{xml}"))
            .instance;
            let mut expected = original.clone();
            if profile == Profile::Mbms3gpp {
                expected
                    .schema_version
                    .get_or_insert(DEFAULT_SCHEMA_VERSION);
            }
            assert_eq!(back, expected, "{name} in {profile:?}\n{xml}");
        }
    }
}

#[test]
fn ntp_conversion_known_values() {
    assert_eq!(
        NtpSeconds::from_system_time(UNIX_EPOCH),
        NtpSeconds(2_208_988_800)
    );
    // Era 1 starts 2036-02-07T06:28:16Z = Unix 2085978496.
    let era1 = UNIX_EPOCH + Duration::from_secs(2_085_978_496);
    assert_eq!(NtpSeconds::from_system_time(era1), NtpSeconds(0));
    assert_eq!(
        NtpSeconds(0).to_system_time(era1 + Duration::from_secs(3600)),
        Some(era1)
    );
    // Shortly before the rollover a small value means "just after it".
    assert_eq!(
        NtpSeconds(10).to_system_time(era1 - Duration::from_secs(5)),
        Some(era1 + Duration::from_secs(10))
    );
    // And u32::MAX just after the rollover is one second before it.
    assert_eq!(
        NtpSeconds(u32::MAX).to_system_time(era1 + Duration::from_secs(5)),
        Some(era1 - Duration::from_secs(1))
    );
}

#[test]
fn cenc_code_points_and_names() {
    for c in 0..4 {
        assert_eq!(
            content_encoding_from_cenc(c).map(ContentEncoding::cenc_code),
            Ok(Some(c))
        );
    }
    assert_eq!(content_encoding_from_cenc(4), Err(FdtError::UnknownCenc(4)));
    // Zstd is an object encoding only: no EXT_CENC value, and no FDT codec.
    assert_eq!(ContentEncoding::Zstd.cenc_code(), None);
    assert!(matches!(
        inflate(ContentEncoding::Zstd, b"x", 10),
        Err(FdtError::Decompress { .. })
    ));
    assert_eq!(
        content_encoding_from_attribute(" GZIP "),
        Ok(ContentEncoding::Gzip)
    );
    assert_eq!(
        content_encoding_from_attribute("deflate"),
        Ok(ContentEncoding::Zlib)
    );
    assert_eq!(
        content_encoding_from_attribute("identity"),
        Ok(ContentEncoding::Null)
    );
}

#[test]
fn foreign_content_edge_cases_round_trip() {
    let doc = format!(
        r#"<FDT-Instance xmlns="{NS_FLUTE_2005}" xmlns:r="{NS_RFC6726}" xmlns:a="urn:a" xmlns:b="urn:a" Expires="1">
  <File Content-Location="a" TOI="1" xml:lang="en" a:x="1" FullFDT="true">
    <xml:note>n<i xmlns="">in</i></xml:note>
    <a:e xmlns:q="urn:q" q:y="2"><![CDATA[<raw>]]>&#xD;&amp;</a:e>
  </File>
  <r:File Content-Location="b" TOI="2"/>
  <e xmlns=""/>
</FDT-Instance>"#
    );
    let m = FdtInstance::parse(doc.as_bytes()).expect("parse");
    let f = &m.files[0];
    assert_eq!(f.extra_attributes.len(), 3);
    assert_eq!(
        f.extra_attributes[0].name,
        XmlName::new(Some("http://www.w3.org/XML/1998/namespace"), "lang")
    );
    assert_eq!(
        f.extra_elements[1].children,
        vec![XmlNode::Text("<raw>\r&".into())]
    );
    // An RFC 6726 `File` inside a 2005-namespace instance is foreign content here...
    assert_eq!(
        m.extra_elements[0].name,
        XmlName::new(Some(NS_RFC6726), "File")
    );
    // ...so it cannot be written in the RFC 6726 profile, where it would become a File.
    assert!(matches!(
        m.emit(Profile::Rfc6726),
        Err(FdtError::NotExpressible { .. })
    ));
    for profile in [Profile::Rfc3926, Profile::Mbms3gpp] {
        let xml = m.emit(profile).expect("emit");
        let back = FdtInstance::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        let mut expected = m.clone();
        if profile == Profile::Mbms3gpp {
            expected.schema_version = Some(DEFAULT_SCHEMA_VERSION);
        }
        assert_eq!(back, expected, "{xml}");
    }
    // Two prefixes bound to one namespace cannot name the same attribute twice.
    let dup = format!(
        r#"<FDT-Instance xmlns="{NS_RFC6726}" xmlns:a="urn:a" xmlns:b="urn:a" Expires="1"><File Content-Location="a" TOI="1" a:x="1" b:x="2"/></FDT-Instance>"#
    );
    assert!(matches!(
        FdtInstance::parse(dup.as_bytes()),
        Err(FdtError::Xml { .. })
    ));
}

/// RFC 5651 §5.2.2 / RFC 5905: the 64-bit NTP timestamp of EXT_TIME, the same seconds as
/// `NtpSeconds` and a 2^-32 s fraction; and the era-circle comparison of item 57.
#[test]
fn ntp_timestamp_known_values_and_era_circle() {
    let half = UNIX_EPOCH + Duration::from_millis(1500);
    let ts = NtpTimestamp::from_system_time(half);
    assert_eq!(ts.seconds, NtpSeconds(2_208_988_801));
    assert_eq!(ts.fraction, 1 << 31);
    let quarter_before_epoch = UNIX_EPOCH - Duration::from_millis(250);
    let ts = NtpTimestamp::from_system_time(quarter_before_epoch);
    assert_eq!(ts.seconds, NtpSeconds(2_208_988_799));
    assert_eq!(ts.fraction, 3 << 30);

    let era1 = UNIX_EPOCH + Duration::from_secs(2_085_978_496);
    let now = era1 - Duration::from_secs(5);
    assert!(
        !NtpSeconds(100).is_before(now),
        "just across the wrap is the future"
    );
    assert!(NtpSeconds(u32::MAX - 10).is_before(now));
    assert!(!NtpSeconds(u32::MAX - 2).is_before(now));
}

/// `File::resolved` (what a receiver keeps per file) and `duplicate_toi` (catalogue item 52).
#[test]
fn resolved_files_carry_what_they_inherit() {
    let xml = br#"<?xml version="1.0"?>
<FDT-Instance xmlns="urn:ietf:params:xml:ns:fdt" Expires="3000000000"
  Content-Type="video/mp4" FEC-OTI-FEC-Encoding-ID="0" FEC-OTI-Encoding-Symbol-Length="64"
  FEC-OTI-Maximum-Source-Block-Length="8">
  <File TOI="1" Content-Location="a" Content-Length="10" FEC-OTI-Encoding-Symbol-Length="32"/>
  <File TOI="2" Content-Location="b" Content-Length="10" Content-Encoding="identity"/>
  <File TOI="3" Content-Location="c" Content-Length="10" Content-Encoding="gzip" Content-Type="text/plain"/>
  <File TOI="4" Content-Location="d" Content-Length="10" FEC-OTI-FEC-Encoding-ID="6"/>
</FDT-Instance>"#;
    let inst = FdtInstance::parse(xml).unwrap();
    assert_eq!(inst.duplicate_toi(), None);
    let r: Vec<File> = inst.files.iter().map(|f| f.resolved(&inst)).collect();
    assert_eq!(r[0].content_type.as_deref(), Some("video/mp4"));
    assert_eq!(r[0].transfer_length, Some(10));
    assert_eq!(r[0].fec_oti.encoding_id, Some(0));
    assert_eq!(r[0].fec_oti.encoding_symbol_length, Some(32));
    assert_eq!(r[0].fec_oti.max_source_block_length, Some(8));
    // "identity" is no encoding: Content-Length is the transfer length.
    assert_eq!(r[1].transfer_length, Some(10));
    // gzip: the transfer length is unknown without Transfer-Length.
    assert_eq!(r[2].transfer_length, None);
    assert_eq!(r[2].content_type.as_deref(), Some("text/plain"));
    // Another scheme than the instance's: none of the instance's OTI attributes carry over.
    assert_eq!(r[3].fec_oti.encoding_id, Some(6));
    assert_eq!(r[3].fec_oti.encoding_symbol_length, None);

    let mut dup = inst.clone();
    dup.files.push(File::new(3, "again"));
    assert_eq!(dup.duplicate_toi(), Some(3));
}

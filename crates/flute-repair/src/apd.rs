//! The `postFileRepair` element of the Associated Delivery Procedure description
//! (3GPP TS 26.346 §9.3.1, §9.5): when and where a receiver asks for repair.
//!
//! ```xml
//! <postFileRepair xmlns="urn:3gpp:metadata:2005:MBMS:associatedProcedure"
//!                 offsetTime="5" randomTimePeriod="10">
//!   <serviceURI>http://repair.example.com/repair</serviceURI>
//! </postFileRepair>
//! ```
//!
//! A receiver waits `offsetTime + uniform(0, randomTimePeriod)` seconds after the end of the
//! transmission, then sends its request to one of the `serviceURI`s picked at random.
//!
//! In an FDT instance, the element may stand among the instance's extension elements
//! (`xs:any namespace="##other"`), alone or inside an `associatedProcedureDescription`;
//! [`PostFileRepair::find_in`] looks in both places, and [`PostFileRepair::to_element`] makes
//! the element to put there.

use std::time::Duration;

use fdt::{ExtraAttribute, FdtInstance, XmlElement, XmlName, XmlNode};

/// The APD namespace of TS 26.346 (Release 6 onwards).
pub const APD_NAMESPACE: &str = "urn:3gpp:metadata:2005:MBMS:associatedProcedure";

/// Most `serviceURI`s kept.
pub const MAX_SERVICE_URIS: usize = 16;
/// Longest `serviceURI`, in bytes.
pub const MAX_SERVICE_URI_LEN: usize = 2048;
/// Largest `offsetTime` and `randomTimePeriod` accepted, in seconds (one day).
pub const MAX_WAIT_SECS: u64 = 86_400;

/// Why a `postFileRepair` element was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApdError {
    /// `randomTimePeriod` is missing (it is required by the schema).
    #[error("postFileRepair without randomTimePeriod")]
    MissingRandomTimePeriod,
    /// A time attribute is not an unsigned integer of at most [`MAX_WAIT_SECS`].
    #[error("postFileRepair attribute {0} is not a number of seconds up to one day")]
    BadTime(&'static str),
    /// No `serviceURI`, more than [`MAX_SERVICE_URIS`], or one that is empty or longer than
    /// [`MAX_SERVICE_URI_LEN`].
    #[error("postFileRepair needs 1 to 16 serviceURI elements of 1 to 2048 bytes")]
    BadServiceUri,
}

/// The repair back-off and servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostFileRepair {
    /// Fixed wait after the end of the transmission (`offsetTime`, default 0).
    pub offset_time: Duration,
    /// Upper bound of the random wait added to it (`randomTimePeriod`).
    pub random_time_period: Duration,
    /// The repair servers (`serviceURI`), at least one.
    pub service_uris: Vec<String>,
}

impl PostFileRepair {
    /// Reads a `postFileRepair` element (any namespace prefix; the local name is checked by
    /// [`Self::find_in`], not here).
    pub fn from_element(e: &XmlElement) -> Result<Self, ApdError> {
        let attr = |name: &str| {
            e.attributes
                .iter()
                .find(|a| a.name.namespace.is_none() && a.name.local == name)
                .map(|a| a.value.trim())
        };
        let secs = |name: &'static str, v: &str| -> Result<Duration, ApdError> {
            match v.parse::<u64>() {
                Ok(s) if s <= MAX_WAIT_SECS => Ok(Duration::from_secs(s)),
                _ => Err(ApdError::BadTime(name)),
            }
        };
        let offset_time = match attr("offsetTime") {
            Some(v) => secs("offsetTime", v)?,
            None => Duration::ZERO,
        };
        let random_time_period = secs(
            "randomTimePeriod",
            attr("randomTimePeriod").ok_or(ApdError::MissingRandomTimePeriod)?,
        )?;
        let mut service_uris = Vec::new();
        for c in &e.children {
            let XmlNode::Element(c) = c else { continue };
            if c.name.local != "serviceURI" {
                continue;
            }
            let text: String = c
                .children
                .iter()
                .filter_map(|n| match n {
                    XmlNode::Text(t) => Some(t.as_str()),
                    XmlNode::Element(_) => None,
                })
                .collect();
            let uri = text.trim();
            if uri.is_empty()
                || uri.len() > MAX_SERVICE_URI_LEN
                || service_uris.len() >= MAX_SERVICE_URIS
            {
                return Err(ApdError::BadServiceUri);
            }
            service_uris.push(uri.to_owned());
        }
        if service_uris.is_empty() {
            return Err(ApdError::BadServiceUri);
        }
        Ok(Self {
            offset_time,
            random_time_period,
            service_uris,
        })
    }

    /// The `postFileRepair` of an FDT instance's extension elements, if there is one:
    /// directly among them, or inside an `associatedProcedureDescription`.
    pub fn find_in(inst: &FdtInstance) -> Option<Result<Self, ApdError>> {
        inst.extra_elements
            .iter()
            .find_map(|e| match e.name.local.as_str() {
                "postFileRepair" => Some(e),
                "associatedProcedureDescription" => child_named(e, "postFileRepair"),
                _ => None,
            })
            .map(Self::from_element)
    }

    /// The element, in the APD namespace, for an FDT instance's extension elements.
    pub fn to_element(&self) -> XmlElement {
        let ns = Some(APD_NAMESPACE);
        let mut attributes = Vec::new();
        if !self.offset_time.is_zero() {
            attributes.push(ExtraAttribute {
                name: XmlName::new(None, "offsetTime"),
                value: self.offset_time.as_secs().to_string(),
            });
        }
        attributes.push(ExtraAttribute {
            name: XmlName::new(None, "randomTimePeriod"),
            value: self.random_time_period.as_secs().to_string(),
        });
        XmlElement {
            name: XmlName::new(ns, "postFileRepair"),
            attributes,
            children: self
                .service_uris
                .iter()
                .map(|u| {
                    XmlNode::Element(XmlElement {
                        name: XmlName::new(ns, "serviceURI"),
                        attributes: Vec::new(),
                        children: vec![XmlNode::Text(u.clone())],
                    })
                })
                .collect(),
        }
    }

    /// The back-off for a uniform random draw `u` in `[0, 1)`:
    /// `offsetTime + u * randomTimePeriod`.
    pub fn backoff(&self, u: f64) -> Duration {
        let u = if u.is_finite() {
            u.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.offset_time + self.random_time_period.mul_f64(u)
    }

    /// The server for a uniform random draw `u` in `[0, 1)`.
    pub fn pick(&self, u: f64) -> &str {
        let n = self.service_uris.len();
        let u = if u.is_finite() {
            u.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let i = ((u * n as f64) as usize).min(n.saturating_sub(1));
        self.service_uris.get(i).map_or("", String::as_str)
    }
}

fn child_named<'e>(e: &'e XmlElement, local: &str) -> Option<&'e XmlElement> {
    e.children.iter().find_map(|n| match n {
        XmlNode::Element(x) if x.name.local == local => Some(x),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn sample() -> PostFileRepair {
        PostFileRepair {
            offset_time: Duration::from_secs(5),
            random_time_period: Duration::from_secs(10),
            service_uris: vec![
                "http://127.0.0.1:8080/repair".into(),
                "http://[::1]:8080/r".into(),
            ],
        }
    }

    /// TS 26.346 §9.3.1: offsetTime, randomTimePeriod (required) and serviceURI survive an
    /// FDT round trip as an extension element of FDT-Instance.
    #[test]
    fn ts26346_9_3_post_file_repair_in_an_fdt_round_trip() {
        let mut inst = FdtInstance {
            expires: fdt::NtpSeconds(4_000_000_000),
            ..FdtInstance::default()
        };
        inst.files.push(fdt::File {
            content_location: "a.bin".into(),
            toi: 1,
            content_length: Some(10),
            ..fdt::File::default()
        });
        inst.extra_elements.push(sample().to_element());
        let xml = inst.emit(fdt::Profile::Rfc6726).unwrap();
        assert!(xml.contains("postFileRepair"), "{xml}");
        let back = FdtInstance::parse(xml.as_bytes()).unwrap();
        assert_eq!(PostFileRepair::find_in(&back), Some(Ok(sample())));
    }

    #[test]
    fn nested_in_an_apd_and_defaults() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<FDT-Instance xmlns="urn:IETF:metadata:2005:FLUTE:FDT" Expires="4000000000">
  <apd:associatedProcedureDescription xmlns:apd="urn:3gpp:metadata:2005:MBMS:associatedProcedure">
    <apd:postFileRepair randomTimePeriod="3">
      <apd:serviceURI> http://127.0.0.1:1/r </apd:serviceURI>
    </apd:postFileRepair>
  </apd:associatedProcedureDescription>
  <File TOI="1" Content-Location="a" Content-Length="1"/>
</FDT-Instance>"#;
        let inst = FdtInstance::parse(xml).unwrap();
        let p = PostFileRepair::find_in(&inst).unwrap().unwrap();
        assert_eq!(p.offset_time, Duration::ZERO);
        assert_eq!(p.random_time_period, Duration::from_secs(3));
        assert_eq!(p.service_uris, vec!["http://127.0.0.1:1/r".to_owned()]);
    }

    #[test]
    fn bad_elements_are_typed_errors() {
        let mut e = sample().to_element();
        e.attributes.retain(|a| a.name.local != "randomTimePeriod");
        assert_eq!(
            PostFileRepair::from_element(&e),
            Err(ApdError::MissingRandomTimePeriod)
        );
        let mut e = sample().to_element();
        e.attributes[0].value = "-1".into();
        assert_eq!(
            PostFileRepair::from_element(&e),
            Err(ApdError::BadTime("offsetTime"))
        );
        let mut e = sample().to_element();
        e.attributes[1].value = "86401".into();
        assert_eq!(
            PostFileRepair::from_element(&e),
            Err(ApdError::BadTime("randomTimePeriod"))
        );
        let mut e = sample().to_element();
        e.children.clear();
        assert_eq!(
            PostFileRepair::from_element(&e),
            Err(ApdError::BadServiceUri)
        );
        let mut p = sample();
        p.service_uris = vec!["http://x/".into(); MAX_SERVICE_URIS + 1];
        assert_eq!(
            PostFileRepair::from_element(&p.to_element()),
            Err(ApdError::BadServiceUri)
        );
    }

    #[test]
    fn backoff_and_pick() {
        let p = sample();
        assert_eq!(p.backoff(0.0), Duration::from_secs(5));
        assert_eq!(p.backoff(0.5), Duration::from_secs(10));
        assert_eq!(p.backoff(f64::NAN), Duration::from_secs(5));
        assert_eq!(p.pick(0.0), "http://127.0.0.1:8080/repair");
        assert_eq!(p.pick(0.99), "http://[::1]:8080/r");
        assert_eq!(p.pick(1.0), "http://[::1]:8080/r");
    }
}

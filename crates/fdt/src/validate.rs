//! Semantic checks a receiver needs beyond what the parser enforces.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use md5::{Digest, Md5};

use crate::{FdtError, Profile, error::clip, model::*};

/// What [`FdtInstance::validate`] checks beyond the always-on rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationOptions {
    /// Enforce a profile's mandatory content (for [`Profile::Mbms3gpp`]: `schemaVersion`).
    pub profile: Option<Profile>,
    /// If set, an instance whose `Expires` lies before `now` is rejected. The NTP era nearest
    /// to `now` is used.
    pub now: Option<SystemTime>,
    /// Reject a `Content-Encoding` that [`crate::content_encoding_from_attribute`] does not know.
    /// Default `true`.
    pub require_known_content_encoding: bool,
    /// Accept two files with the same `Content-Location` (and different TOIs) in one
    /// instance. Default `false`: a receiver could not tell which object is current.
    pub allow_duplicate_content_location: bool,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        Self {
            profile: None,
            now: None,
            require_known_content_encoding: true,
            allow_duplicate_content_location: false,
        }
    }
}

/// The MD5 digest of `data`, for `Content-MD5` (RFC 6726 §3.4.2, RFC 1864).
pub fn content_md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

impl File {
    /// Checks `content` (the object after content decoding) against `Content-MD5`; `Ok` when
    /// the file carries no digest.
    pub fn verify_content_md5(&self, content: &[u8]) -> Result<(), FdtError> {
        match self.content_md5 {
            Some(d) if d != content_md5(content) => Err(FdtError::Md5Mismatch { toi: self.toi }),
            _ => Ok(()),
        }
    }
}

impl FdtInstance {
    /// `true` if `Expires` lies before `now` (NTP era chosen nearest to `now`).
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires.to_system_time(now).is_none_or(|t| t < now)
    }

    /// Checks the instance; returns the first problem found.
    pub fn validate(&self, options: &ValidationOptions) -> Result<(), FdtError> {
        match self.validate_all(options).into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Checks the instance and returns every problem found (for conformance testers).
    ///
    /// Always checked: at least one file; TOIs in 1..=2^112-1 and unique. The FEC OTI
    /// attributes are checked for their XML types only: what a scheme's
    /// Scheme-Specific-Info holds is the FEC scheme's to judge (`fec-schemes`; the
    /// receiver's `fdt_file_oti` and `flute inspect` ask it), so this crate keeps no list
    /// of schemes. Optionally: duplicate Content-Location,
    /// unknown Content-Encoding, expiry against `now`, and the profile's mandatory content.
    pub fn validate_all(&self, options: &ValidationOptions) -> Vec<FdtError> {
        let mut errors = Vec::new();
        if self.files.is_empty() {
            errors.push(FdtError::NoFiles);
        }
        let mut tois = HashSet::with_capacity(self.files.len());
        let mut locations: HashMap<&str, u128> = HashMap::new();
        for f in &self.files {
            if f.toi == 0 {
                errors.push(FdtError::ToiZero { offset: 0 });
            } else if f.toi > MAX_TOI {
                errors.push(FdtError::ToiTooLarge {
                    value: f.toi.to_string(),
                    offset: 0,
                });
            }
            if !tois.insert(f.toi) {
                errors.push(FdtError::DuplicateToi { toi: f.toi });
            }
            if !options.allow_duplicate_content_location {
                match locations.get(f.content_location.as_str()) {
                    Some(&first) if first != f.toi => {
                        errors.push(FdtError::DuplicateContentLocation {
                            location: clip(&f.content_location),
                            first,
                            second: f.toi,
                        })
                    }
                    Some(_) => {}
                    None => {
                        locations.insert(&f.content_location, f.toi);
                    }
                }
            }
            if options.require_known_content_encoding {
                if let Some(ce) = f.effective_content_encoding(self) {
                    if let Err(e) = crate::content_encoding_from_attribute(ce) {
                        errors.push(e);
                    }
                }
            }
        }
        if let Some(now) = options.now {
            if self.is_expired(now) {
                errors.push(FdtError::Expired {
                    expires: self.expires.0,
                });
            }
        }
        if options.profile == Some(Profile::Mbms3gpp) && self.schema_version.is_none() {
            errors.push(FdtError::MissingElement {
                parent: "FDT-Instance",
                element: "schemaVersion",
                offset: 0,
            });
        }
        errors
    }

    /// Checks that `next`, a later FDT instance of the same session, is consistent with
    /// `self`:
    ///
    /// - if `self` is `Complete="true"`, `next` adds no TOI (bad input 58), and if `next` is
    ///   also `FullFDT="true"` it lists every TOI of `self` (bad input 59);
    /// - a TOI present in both has the same effective FEC OTI (bad input 40) and the same
    ///   Content-Location, Content-Length and Transfer-Length (RFC 6726 §3.4.2: the
    ///   parameters of an object never change within a session).
    pub fn check_successor(&self, next: &Self) -> Result<(), FdtError> {
        let previous: HashMap<u128, &File> = self.files.iter().map(|f| (f.toi, f)).collect();
        for f in &next.files {
            let Some(p) = previous.get(&f.toi) else {
                if self.complete == Some(true) {
                    return Err(FdtError::AddedAfterComplete { toi: f.toi });
                }
                continue;
            };
            if p.effective_oti(self) != f.effective_oti(next) {
                return Err(FdtError::OtiConflict { toi: f.toi });
            }
            let attribute = if p.content_location != f.content_location {
                "Content-Location"
            } else if p.content_length.is_some()
                && f.content_length.is_some()
                && p.content_length != f.content_length
            {
                "Content-Length"
            } else if p.transfer_length.is_some()
                && f.transfer_length.is_some()
                && p.transfer_length != f.transfer_length
            {
                "Transfer-Length"
            } else {
                continue;
            };
            return Err(FdtError::FileConflict {
                toi: f.toi,
                attribute,
            });
        }
        if self.complete == Some(true) && next.full_fdt == Some(true) {
            let listed: HashSet<u128> = next.files.iter().map(|f| f.toi).collect();
            if let Some(missing) = self.files.iter().find(|f| !listed.contains(&f.toi)) {
                return Err(FdtError::FullFdtCompleteMismatch { toi: missing.toi });
            }
        }
        Ok(())
    }
}

//! The registry of FEC schemes, keyed by (FEC Encoding ID, FEC Instance ID).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{FecEncodingId, FecError, FecInstanceId, FecScheme, Oti, SchemeKey};

/// Maps (FEC Encoding ID, FEC Instance ID) to a scheme. Senders and receivers take one in
/// their configuration, so a scheme defined in another crate plugs in with
/// [`FecRegistry::register`] and no change anywhere else.
#[derive(Debug, Clone, Default)]
pub struct FecRegistry {
    schemes: BTreeMap<SchemeKey, Arc<dyn FecScheme>>,
}

impl FecRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry holding every built-in scheme (see [`crate::schemes`]).
    pub fn with_builtin() -> Self {
        let mut r = Self::new();
        for s in crate::schemes::builtin() {
            // Built-in keys are distinct by construction; a clash is a bug caught by tests.
            let _ = r.register(s);
        }
        r
    }

    /// Adds `scheme`. Refuses a second scheme with the same key.
    pub fn register(&mut self, scheme: Arc<dyn FecScheme>) -> Result<(), FecError> {
        let key = scheme.key();
        if self.schemes.contains_key(&key) {
            return Err(FecError::DuplicateScheme {
                encoding_id: key.encoding_id,
                instance_id: key.instance_id,
            });
        }
        self.schemes.insert(key, scheme);
        Ok(())
    }

    /// Looks a scheme up. For Fully-Specified IDs the Instance ID is ignored.
    pub fn get(
        &self,
        encoding_id: FecEncodingId,
        instance_id: Option<FecInstanceId>,
    ) -> Result<&Arc<dyn FecScheme>, FecError> {
        let key = SchemeKey::normalized(encoding_id, instance_id);
        self.schemes.get(&key).ok_or(FecError::UnknownScheme {
            encoding_id,
            instance_id,
        })
    }

    /// Looks up the scheme of an OTI.
    pub fn for_oti(&self, oti: &Oti) -> Result<&Arc<dyn FecScheme>, FecError> {
        self.get(oti.encoding_id, oti.instance_id)
    }

    /// Finds the scheme for a packet whose only clue is the FEC Encoding ID (the LCT
    /// codepoint): the Fully-Specified scheme, or the only registered instance of an
    /// Under-Specified one. Returns `None` if there is none or several.
    pub fn by_encoding_id(&self, encoding_id: FecEncodingId) -> Option<&Arc<dyn FecScheme>> {
        let mut it = self
            .schemes
            .iter()
            .filter(|(k, _)| k.encoding_id == encoding_id)
            .map(|(_, s)| s);
        let first = it.next()?;
        if it.next().is_some() {
            None
        } else {
            Some(first)
        }
    }

    /// Finds the scheme that reads an EXT_FTI `ext` (the whole extension, HET first) of FEC
    /// Encoding ID `encoding_id`. For Under-Specified IDs the FEC Instance ID sits at bytes
    /// [8..10) of EXT_FTI (RFC 5445 §4.2, §5.2, §6.2); when no scheme is registered under it,
    /// the only registered instance of the ID is used. Fully-Specified IDs ignore it.
    pub fn for_fti(
        &self,
        encoding_id: FecEncodingId,
        ext: &[u8],
    ) -> Result<&Arc<dyn FecScheme>, FecError> {
        if !encoding_id.is_under_specified() {
            return self.get(encoding_id, None);
        }
        let instance = ext
            .get(8..10)
            .map(|b| FecInstanceId(u16::from_be_bytes([b[0], b[1]])));
        match self.get(encoding_id, instance) {
            Ok(s) => Ok(s),
            Err(e) => self.by_encoding_id(encoding_id).ok_or(e),
        }
    }

    /// Iterates over the registered schemes in key order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn FecScheme>> {
        self.schemes.values()
    }
}

// The test uses ID 129/0, a Reed-Solomon scheme.
#[cfg(all(test, feature = "reed-solomon"))]
mod tests {
    use super::*;

    /// RFC 5445 §5.2: for Under-Specified IDs the FEC Instance ID is at EXT_FTI [8..10).
    #[test]
    fn rfc5445_5_2_for_fti_reads_the_instance_id() {
        let r = FecRegistry::with_builtin();
        let mut fti = [64u8, 4, 0, 0, 0, 0, 0, 40, 0, 0, 0, 4, 0, 10, 0, 12];
        let s = r
            .for_fti(FecEncodingId::SMALL_BLOCK_SYSTEMATIC, &fti)
            .unwrap();
        assert_eq!(
            s.key(),
            SchemeKey::under_specified(FecEncodingId::SMALL_BLOCK_SYSTEMATIC, FecInstanceId(0))
        );
        // An unregistered instance falls back to the only registered one.
        fti[9] = 7;
        let s = r
            .for_fti(FecEncodingId::SMALL_BLOCK_SYSTEMATIC, &fti)
            .unwrap();
        assert_eq!(s.key().instance_id, Some(FecInstanceId(0)));
        // Fully-Specified IDs ignore those bytes; unknown IDs are typed errors.
        assert_eq!(
            r.for_fti(FecEncodingId::RS_GF28, &fti)
                .unwrap()
                .key()
                .encoding_id,
            FecEncodingId::RS_GF28
        );
        assert!(matches!(
            r.for_fti(FecEncodingId::COMPACT, &fti),
            Err(FecError::UnknownScheme {
                instance_id: Some(FecInstanceId(7)),
                ..
            })
        ));
    }
}

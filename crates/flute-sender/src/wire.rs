//! Helpers for the header extensions the sender fills in: EXT_CENC (RFC 6726 §3.4.3) and
//! EXT_TIME (RFC 5651 §5.2.2). Packets themselves are emitted by `alc::AlcRepr`.

use lct_header::ExtTime;

/// EXT_TIME carrying the Sender Current Time (RFC 5651 §5.2.2).
pub(crate) fn sct(t: std::time::SystemTime) -> ExtTime {
    let (s, f) = ntp(t);
    ExtTime {
        sct_high: Some(s),
        sct_low: Some(f),
        ..ExtTime::default()
    }
}

/// NTP timestamp (seconds, fraction) of a wall-clock time; seconds wrap at 2^32 (era
/// rollover). The `fdt` crate's conversion.
pub(crate) fn ntp(t: std::time::SystemTime) -> (u32, u32) {
    let ts = fdt::NtpTimestamp::from_system_time(t);
    (ts.seconds.0, ts.fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_epoch() {
        assert_eq!(ntp(std::time::UNIX_EPOCH).0, 2_208_988_800);
    }
}

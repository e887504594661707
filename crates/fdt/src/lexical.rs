//! Lexical rules of the XML Schema datatypes used by the FDT schemas.
//!
//! Policy (strict but correct): a value is accepted exactly when it is in the lexical space of
//! its XSD type. For the integer types this means surrounding XML whitespace (`whiteSpace`
//! facet `collapse`) and a leading `+` are accepted, as XSD allows; a `-` sign, an empty
//! value, inner whitespace, non-digits and out-of-range values are rejected. With
//! [`ParseOptions::canonical_numbers`](crate::ParseOptions) set, only the canonical form
//! (no sign, no whitespace, no leading zeros) is accepted.

use base64::Engine as _;

pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

pub(crate) fn collapse(s: &str) -> &str {
    s.trim_matches(is_xml_space)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumError {
    Syntax,
    Overflow,
}

/// Parses a non-negative xs integer into a u128.
pub(crate) fn unsigned(s: &str, canonical: bool) -> Result<u128, NumError> {
    let t = collapse(s);
    if canonical && t.len() != s.len() {
        return Err(NumError::Syntax);
    }
    let digits = match t.strip_prefix('+') {
        Some(_) if canonical => return Err(NumError::Syntax),
        Some(rest) => rest,
        None => t,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumError::Syntax);
    }
    if canonical && digits.len() > 1 && digits.starts_with('0') {
        return Err(NumError::Syntax);
    }
    let mut v: u128 = 0;
    for b in digits.bytes() {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(b - b'0')))
            .ok_or(NumError::Overflow)?;
    }
    Ok(v)
}

/// Parses an xs:byte (signed, -128..=127).
pub(crate) fn byte(s: &str, canonical: bool) -> Result<i8, NumError> {
    let t = collapse(s);
    if canonical && t.len() != s.len() {
        return Err(NumError::Syntax);
    }
    let (neg, rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    if rest.starts_with('+') || rest.starts_with('-') {
        return Err(NumError::Syntax);
    }
    let mag = unsigned(rest, canonical)?;
    let v = if neg {
        -i128::try_from(mag).map_err(|_| NumError::Overflow)?
    } else {
        i128::try_from(mag).map_err(|_| NumError::Overflow)?
    };
    i8::try_from(v).map_err(|_| NumError::Overflow)
}

pub(crate) fn boolean(s: &str) -> Option<bool> {
    match collapse(s) {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Decodes xs:base64Binary: XML whitespace is ignored, padding is required, and the final
/// quantum must be canonical (as the XSD lexical grammar demands).
pub(crate) fn base64(s: &str) -> Option<Vec<u8>> {
    let compact: String = s.chars().filter(|c| !is_xml_space(*c)).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()
}

pub(crate) fn base64_encode(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A syntax check of xs:dateTime: `-?YYYY-MM-DDThh:mm:ss(.s+)?(Z|(+|-)hh:mm)?`.
pub(crate) fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize, n: usize, min: bool| -> bool {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        if min {
            *i - start >= n
        } else {
            *i - start == n
        }
    };
    let lit = |i: &mut usize, c: u8| -> bool {
        if b.get(*i) == Some(&c) {
            *i += 1;
            true
        } else {
            false
        }
    };
    if !(digits(&mut i, 4, true)
        && lit(&mut i, b'-')
        && digits(&mut i, 2, false)
        && lit(&mut i, b'-')
        && digits(&mut i, 2, false)
        && lit(&mut i, b'T')
        && digits(&mut i, 2, false)
        && lit(&mut i, b':')
        && digits(&mut i, 2, false)
        && lit(&mut i, b':')
        && digits(&mut i, 2, false))
    {
        return false;
    }
    if lit(&mut i, b'.') && !digits(&mut i, 1, true) {
        return false;
    }
    if lit(&mut i, b'Z') {
        return i == b.len();
    }
    if lit(&mut i, b'+') || lit(&mut i, b'-') {
        return digits(&mut i, 2, false)
            && lit(&mut i, b':')
            && digits(&mut i, 2, false)
            && i == b.len();
    }
    i == b.len()
}

/// `true` if `c` is a legal XML 1.0 character.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `true` if `s` is a valid NCName (simplified: ASCII letters, digits, `-`, `.`, `_` and any
/// non-ASCII character; must not start with a digit, `-` or `.`).
pub(crate) fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let start_ok =
        first.is_ascii_alphabetic() || first == '_' || (!first.is_ascii() && is_xml_char(first));
    start_ok
        && chars.all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '.' | '_')
                || (!c.is_ascii() && is_xml_char(c))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_lexical_space() {
        assert_eq!(unsigned("42", false), Ok(42));
        assert_eq!(unsigned(" +42\n", false), Ok(42));
        assert_eq!(unsigned("007", false), Ok(7));
        assert_eq!(unsigned("+42", true), Err(NumError::Syntax));
        assert_eq!(unsigned(" 42", true), Err(NumError::Syntax));
        assert_eq!(unsigned("007", true), Err(NumError::Syntax));
        for bad in [
            "", " ", "+", "-1", "-0", "4 2", "0x10", "1e3", "1.0", "++1", "٣",
        ] {
            assert_eq!(unsigned(bad, false), Err(NumError::Syntax), "{bad:?}");
        }
        assert_eq!(
            unsigned("340282366920938463463374607431768211456", false),
            Err(NumError::Overflow)
        );
    }

    #[test]
    fn byte_and_bool() {
        assert_eq!(byte("-128", false), Ok(-128));
        assert_eq!(byte("0", true), Ok(0));
        assert_eq!(byte("128", false), Err(NumError::Overflow));
        assert_eq!(byte("--1", false), Err(NumError::Syntax));
        assert_eq!(boolean(" true "), Some(true));
        assert_eq!(boolean("0"), Some(false));
        assert_eq!(boolean("TRUE"), None);
    }

    #[test]
    fn date_time_syntax() {
        assert!(is_date_time("2024-01-02T03:04:05Z"));
        assert!(is_date_time("2024-01-02T03:04:05.123+01:00"));
        assert!(is_date_time("2024-01-02T03:04:05"));
        assert!(!is_date_time("2024-01-02"));
        assert!(!is_date_time("2024-01-02T03:04:05Zjunk"));
    }

    #[test]
    fn base64_rules() {
        assert_eq!(base64("AQID"), Some(vec![1, 2, 3]));
        assert_eq!(base64("AQ ID\n"), Some(vec![1, 2, 3]));
        assert_eq!(base64("AQI"), None);
        assert_eq!(base64("AQ=="), Some(vec![1]));
        assert_eq!(base64("AR=="), None);
        assert_eq!(base64("!!!!"), None);
    }
}

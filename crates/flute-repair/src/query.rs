//! The file repair request (3GPP TS 26.346 §9.3.6): which symbols of which file a receiver
//! asks for.
//!
//! ```text
//! query        = "fileURI=" pct-encoded-uri *( "&" sbn-part )
//! sbn-part     = "SBN=" range [ ";ESI=" range *( "," range ) ]
//! range        = number [ "-" number ]          ; inclusive, first <= last
//! number       = 1*10DIGIT                       ; at most 2^32 - 1
//! ```
//!
//! - no `SBN` part: the whole file;
//! - `SBN=x` (or `SBN=a-b`) without `ESI`: the whole source block(s);
//! - `SBN=x;ESI=a,b,c-d`: those encoding symbols of block `x`.
//!
//! The query goes in the URL of a `GET` (`<serviceURI>?<query>`), or, when it is longer than
//! [`GET_QUERY_MAX`] characters, as the body of a `POST` to the same URI
//! ([`RepairQuery::http_form`]).
//!
//! `fileURI` is the file's `Content-Location` from the FDT, percent-encoded: every byte
//! except ASCII letters, digits and `-._~/:` is written `%XX`. On parsing, `%XX` is decoded
//! and `+` is taken literally (it is a URI character, not a form-encoded space).

use core::fmt::{self, Write as _};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Above this many characters the query is sent as a `POST` body instead of in the URL
/// (TS 26.346 §9.3.6: "about 200 characters").
pub const GET_QUERY_MAX: usize = 200;

/// Bytes of `fileURI` that stay as they are when encoding: RFC 3986 unreserved plus `/`
/// and `:`, so that a path or an absolute URI stays readable.
const FILE_URI_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/')
    .remove(b':');

/// An inclusive range of Source Block Numbers or Encoding Symbol IDs. `first <= last`
/// always holds for a range built by [`IdRange::new`] or by the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdRange {
    first: u32,
    last: u32,
}

impl IdRange {
    /// `first..=last`; `None` if `first > last`.
    pub const fn new(first: u32, last: u32) -> Option<Self> {
        if first <= last {
            Some(Self { first, last })
        } else {
            None
        }
    }

    /// The single value `v`.
    pub const fn single(v: u32) -> Self {
        Self { first: v, last: v }
    }

    /// First value.
    pub const fn first(self) -> u32 {
        self.first
    }

    /// Last value (inclusive).
    pub const fn last(self) -> u32 {
        self.last
    }

    /// Number of values, `1..=2^32`.
    pub const fn len(self) -> u64 {
        self.last as u64 - self.first as u64 + 1
    }

    /// Never true (a range holds at least one value); here for clippy's `len_without_is_empty`.
    pub const fn is_empty(self) -> bool {
        false
    }

    /// The values, in order.
    pub fn iter(self) -> impl Iterator<Item = u32> {
        self.first..=self.last
    }
}

impl fmt::Display for IdRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Compresses sorted, de-duplicated values into ranges of consecutive values.
pub fn ranges_of(values: impl IntoIterator<Item = u32>) -> Vec<IdRange> {
    let mut out: Vec<IdRange> = Vec::new();
    for v in values {
        match out.last_mut() {
            Some(r) if r.last.checked_add(1) == Some(v) => r.last = v,
            Some(r) if r.first <= v && v <= r.last => {}
            _ => out.push(IdRange::single(v)),
        }
    }
    out
}

/// One `SBN=...[;ESI=...]` part of a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SymbolRequest {
    /// The source block(s).
    pub sbn: IdRange,
    /// The encoding symbols asked for in each of those blocks; empty: the whole block(s).
    pub esi: Vec<IdRange>,
}

impl SymbolRequest {
    /// The whole source block(s) `sbn`.
    pub fn blocks(sbn: IdRange) -> Self {
        Self {
            sbn,
            esi: Vec::new(),
        }
    }

    /// Symbols `esi` of block `sbn`.
    pub fn symbols(sbn: u32, esi: Vec<IdRange>) -> Self {
        Self {
            sbn: IdRange::single(sbn),
            esi,
        }
    }
}

/// A file repair request: the file and the symbols wanted (none listed: the whole file).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepairQuery {
    /// The file's `Content-Location` (decoded).
    pub file_uri: String,
    /// What is asked for; empty: the whole file.
    pub parts: Vec<SymbolRequest>,
}

/// How a query travels over HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestForm {
    /// `GET <serviceURI>?<query>`.
    Get(String),
    /// `POST <serviceURI>` with the query as its body.
    Post(String),
}

/// Bounds the parser enforces (all inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Longest query string, in bytes.
    pub max_len: usize,
    /// Most `SBN` parts.
    pub max_parts: usize,
    /// Most ESI ranges over all parts.
    pub max_esi_ranges: usize,
    /// Longest decoded `fileURI`, in bytes.
    pub max_file_uri: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_len: 256 << 10,
            max_parts: 16_384,
            max_esi_ranges: 65_536,
            max_file_uri: 4096,
        }
    }
}

/// Why a query was refused. The server answers each with `400 Bad Request`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// Longer than [`QueryLimits::max_len`].
    #[error("query of {len} bytes exceeds the limit of {max}")]
    TooLong {
        /// Length of the query.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The query does not start with `fileURI=`.
    #[error("the query must start with fileURI=")]
    MissingFileUri,
    /// `fileURI` is empty, longer than [`QueryLimits::max_file_uri`], not valid UTF-8 after
    /// percent-decoding, or holds a control character.
    #[error("invalid fileURI")]
    BadFileUri,
    /// A part other than `SBN=...` (at byte `offset`).
    #[error("unexpected parameter at byte {offset}")]
    UnexpectedParameter {
        /// Byte offset of the part in the query.
        offset: usize,
    },
    /// A number or range that does not parse: empty, not decimal, above 2^32 - 1, or a
    /// range whose first value is above its last.
    #[error("invalid number or range at byte {offset}")]
    BadRange {
        /// Byte offset of the part in the query.
        offset: usize,
    },
    /// More parts or ESI ranges than the limits allow.
    #[error("too many SBN parts or ESI ranges")]
    TooManyRanges,
}

impl RepairQuery {
    /// A request for the whole file.
    pub fn whole_file(file_uri: impl Into<String>) -> Self {
        Self {
            file_uri: file_uri.into(),
            parts: Vec::new(),
        }
    }

    /// True if the whole file is asked for.
    pub fn is_whole_file(&self) -> bool {
        self.parts.is_empty()
    }

    /// The query string (without `?`).
    pub fn encode(&self) -> String {
        let mut s = String::with_capacity(16 + self.file_uri.len() + 16 * self.parts.len());
        s.push_str("fileURI=");
        s.extend(utf8_percent_encode(&self.file_uri, FILE_URI_SET));
        for p in &self.parts {
            // Writing to a String cannot fail.
            let _ = write!(s, "&SBN={}", p.sbn);
            for (i, r) in p.esi.iter().enumerate() {
                s.push_str(if i == 0 { ";ESI=" } else { "," });
                let _ = write!(s, "{r}");
            }
        }
        s
    }

    /// `GET` with the query in the URL when it is at most [`GET_QUERY_MAX`] characters,
    /// `POST` with the query as body otherwise (TS 26.346 §9.3.6).
    pub fn http_form(&self) -> RequestForm {
        let q = self.encode();
        if q.len() <= GET_QUERY_MAX {
            RequestForm::Get(q)
        } else {
            RequestForm::Post(q)
        }
    }

    /// Parses a query string (the part after `?`, or a `POST` body) under `limits`.
    pub fn parse(query: &str, limits: &QueryLimits) -> Result<Self, QueryError> {
        if query.len() > limits.max_len {
            return Err(QueryError::TooLong {
                len: query.len(),
                max: limits.max_len,
            });
        }
        // A POST body may end with a line break.
        let query = query.strip_suffix("\r\n").unwrap_or(query);
        let query = query.strip_suffix('\n').unwrap_or(query);
        let mut pieces = query.split('&');
        let first = pieces.next().unwrap_or("");
        let raw_uri = first
            .strip_prefix("fileURI=")
            .ok_or(QueryError::MissingFileUri)?;
        let file_uri = decode_uri(raw_uri, limits.max_file_uri)?;
        let mut parts = Vec::new();
        let mut esi_total = 0usize;
        let mut offset = first.len() + 1;
        for piece in pieces {
            let here = offset;
            offset += piece.len() + 1;
            let Some(spec) = piece.strip_prefix("SBN=") else {
                return Err(QueryError::UnexpectedParameter { offset: here });
            };
            if parts.len() >= limits.max_parts {
                return Err(QueryError::TooManyRanges);
            }
            let bad = QueryError::BadRange { offset: here };
            let (sbn, esi) = match spec.split_once(';') {
                None => (spec, None),
                Some((sbn, rest)) => {
                    let list = rest
                        .strip_prefix("ESI=")
                        .ok_or(QueryError::UnexpectedParameter { offset: here })?;
                    (sbn, Some(list))
                }
            };
            let sbn = parse_range(sbn).ok_or(bad.clone())?;
            let mut esis = Vec::new();
            if let Some(list) = esi {
                for r in list.split(',') {
                    esi_total += 1;
                    if esi_total > limits.max_esi_ranges {
                        return Err(QueryError::TooManyRanges);
                    }
                    esis.push(parse_range(r).ok_or(bad.clone())?);
                }
            }
            parts.push(SymbolRequest { sbn, esi: esis });
        }
        Ok(Self { file_uri, parts })
    }
}

fn decode_uri(raw: &str, max: usize) -> Result<String, QueryError> {
    if raw.is_empty() || raw.len() > max.saturating_mul(3) {
        return Err(QueryError::BadFileUri);
    }
    let s = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| QueryError::BadFileUri)?;
    if s.is_empty() || s.len() > max || s.chars().any(char::is_control) {
        return Err(QueryError::BadFileUri);
    }
    Ok(s.into_owned())
}

fn parse_number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_range(s: &str) -> Option<IdRange> {
    match s.split_once('-') {
        None => parse_number(s).map(IdRange::single),
        Some((a, b)) => IdRange::new(parse_number(a)?, parse_number(b)?),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(q: &str) -> Result<RepairQuery, QueryError> {
        RepairQuery::parse(q, &QueryLimits::default())
    }

    /// TS 26.346 §9.3.6: the example form `fileURI=...&SBN=4;ESI=4&SBN=5;ESI=2,7`.
    #[test]
    fn ts26346_9_3_6_example_query() {
        let q = parse("fileURI=http://www.example.com/news/latest.3gp&SBN=4;ESI=4&SBN=5;ESI=2,7")
            .unwrap();
        assert_eq!(q.file_uri, "http://www.example.com/news/latest.3gp");
        assert_eq!(
            q.parts,
            vec![
                SymbolRequest::symbols(4, vec![IdRange::single(4)]),
                SymbolRequest::symbols(5, vec![IdRange::single(2), IdRange::single(7)]),
            ]
        );
        assert_eq!(
            q.encode(),
            "fileURI=http://www.example.com/news/latest.3gp&SBN=4;ESI=4&SBN=5;ESI=2,7"
        );
    }

    /// TS 26.346 §9.3.6: no SBN is the whole file, SBN without ESI the whole block, and
    /// ranges `a-b` for both.
    #[test]
    fn ts26346_9_3_6_whole_file_whole_block_and_ranges() {
        let q = parse("fileURI=a.bin").unwrap();
        assert!(q.is_whole_file());
        let q = parse("fileURI=a.bin&SBN=3&SBN=5-9;ESI=0-99,120").unwrap();
        assert_eq!(q.parts[0], SymbolRequest::blocks(IdRange::single(3)));
        assert_eq!(q.parts[1].sbn, IdRange::new(5, 9).unwrap());
        assert_eq!(
            q.parts[1].esi,
            vec![IdRange::new(0, 99).unwrap(), IdRange::single(120)]
        );
        assert_eq!(q.encode(), "fileURI=a.bin&SBN=3&SBN=5-9;ESI=0-99,120");
    }

    #[test]
    fn file_uri_is_percent_encoded() {
        let q = RepairQuery::whole_file("dir/a b&c=d%e+f/é.bin");
        let s = q.encode();
        assert_eq!(s, "fileURI=dir/a%20b%26c%3Dd%25e%2Bf/%C3%A9.bin");
        assert_eq!(parse(&s).unwrap(), q);
        // '+' is literal on input.
        assert_eq!(parse("fileURI=a+b").unwrap().file_uri, "a+b");
    }

    #[test]
    fn long_queries_go_in_a_post_body() {
        let short = RepairQuery::whole_file("a.bin");
        assert_eq!(
            short.http_form(),
            RequestForm::Get("fileURI=a.bin".to_owned())
        );
        let long = RepairQuery {
            file_uri: "a.bin".into(),
            parts: (0..40)
                .map(|b| SymbolRequest::symbols(b, vec![IdRange::single(1)]))
                .collect(),
        };
        match long.http_form() {
            RequestForm::Post(body) => {
                assert!(body.len() > GET_QUERY_MAX);
                assert_eq!(parse(&body).unwrap(), long);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_queries_are_typed_errors() {
        assert_eq!(parse(""), Err(QueryError::MissingFileUri));
        assert_eq!(parse("SBN=1&fileURI=a"), Err(QueryError::MissingFileUri));
        assert_eq!(parse("fileURI="), Err(QueryError::BadFileUri));
        assert_eq!(parse("fileURI=%FF"), Err(QueryError::BadFileUri));
        assert_eq!(parse("fileURI=a%0Ab"), Err(QueryError::BadFileUri));
        assert!(matches!(
            parse("fileURI=a&x=1"),
            Err(QueryError::UnexpectedParameter { .. })
        ));
        assert!(matches!(
            parse("fileURI=a&SBN=1;X=2"),
            Err(QueryError::UnexpectedParameter { .. })
        ));
        for bad in [
            "fileURI=a&SBN=",
            "fileURI=a&SBN=-1",
            "fileURI=a&SBN=+1",
            "fileURI=a&SBN=4294967296",
            "fileURI=a&SBN=00000000001",
            "fileURI=a&SBN=5-4",
            "fileURI=a&SBN=1;ESI=",
            "fileURI=a&SBN=1;ESI=1,,2",
            "fileURI=a&SBN=1;ESI=1-2-3",
            "fileURI=a&SBN=1 ",
        ] {
            assert!(
                matches!(parse(bad), Err(QueryError::BadRange { .. })),
                "{bad}"
            );
        }
        assert_eq!(parse("fileURI=a&SBN=4294967295").unwrap().parts.len(), 1);
    }

    #[test]
    fn limits_bound_the_parse() {
        let limits = QueryLimits {
            max_len: 64,
            max_parts: 2,
            max_esi_ranges: 3,
            max_file_uri: 8,
        };
        let p = |q: &str| RepairQuery::parse(q, &limits);
        assert!(matches!(
            p(&format!("fileURI={}", "a".repeat(80))),
            Err(QueryError::TooLong { len: 88, max: 64 })
        ));
        assert_eq!(p("fileURI=123456789"), Err(QueryError::BadFileUri));
        assert_eq!(
            p("fileURI=a&SBN=1&SBN=2&SBN=3"),
            Err(QueryError::TooManyRanges)
        );
        assert_eq!(
            p("fileURI=a&SBN=1;ESI=1,2&SBN=2;ESI=3,4"),
            Err(QueryError::TooManyRanges)
        );
    }

    #[test]
    fn ranges_of_compresses_runs() {
        assert_eq!(
            ranges_of([1, 2, 3, 5, 7, 8, u32::MAX]),
            vec![
                IdRange::new(1, 3).unwrap(),
                IdRange::single(5),
                IdRange::new(7, 8).unwrap(),
                IdRange::single(u32::MAX)
            ]
        );
        assert!(ranges_of([]).is_empty());
        assert_eq!(IdRange::new(0, u32::MAX).unwrap().len(), 1 << 32);
    }
}

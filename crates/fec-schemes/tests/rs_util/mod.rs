//! Helpers shared by the `rs_*` integration tests: a tiny parser for the known-answer JSON
//! files (flat objects with integer fields `k`, `r`, `symbol_len` and a `parity` array of
//! hex strings; `m` optional, default 8) and hex helpers.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used
)]

/// One known-answer vector.
#[derive(Debug, Clone)]
pub struct Vector {
    pub m: u8,
    pub k: usize,
    pub r: usize,
    pub symbol_len: usize,
    pub parity: Vec<String>,
    pub source: Option<Vec<String>>,
}

fn int_field(obj: &str, name: &str) -> Option<usize> {
    let key = format!("\"{name}\"");
    let at = obj.find(&key)? + key.len();
    let rest = obj[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn str_array(obj: &str, name: &str) -> Option<Vec<String>> {
    let key = format!("\"{name}\"");
    let at = obj.find(&key)? + key.len();
    let rest = obj[at..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('[')?;
    let end = rest.find(']')?;
    Some(
        rest[..end]
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

/// Parses every object of the `"vectors"` array.
pub fn parse_vectors(json: &str) -> Vec<Vector> {
    let start = json.find("\"vectors\"").expect("vectors key");
    let body = &json[start..];
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut obj_start = None;
    for (i, c) in body.char_indices() {
        match c {
            '{' => {
                if depth == 0 {
                    obj_start = Some(i);
                }
                depth += 1;
            }
            '}' => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
                if depth == 0 {
                    let obj = &body[obj_start.take().expect("open brace")..=i];
                    out.push(Vector {
                        m: int_field(obj, "m").unwrap_or(8) as u8,
                        k: int_field(obj, "k").expect("k"),
                        r: int_field(obj, "r").expect("r"),
                        symbol_len: int_field(obj, "symbol_len").expect("symbol_len"),
                        parity: str_array(obj, "parity").expect("parity"),
                        source: str_array(obj, "source"),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn from_hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

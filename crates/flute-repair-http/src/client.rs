//! The repair client: fetches what a [`Receiver`] still misses from repair servers over
//! HTTP/1.1 and feeds the answers back to it.
//!
//! Every answer is treated as hostile: the status must be 200, the `Content-Type`
//! `application/simpleSymbolContainer`, the body no longer than what the request can
//! legitimately produce (symbols x (T + group header)), no slower than
//! [`ClientConfig::idle_timeout`] between pieces and [`ClientConfig::request_timeout`] in
//! all, redirects are followed at most [`ClientConfig::max_redirects`] times; the body is
//! then checked whole by [`Receiver::handle_repair_symbols`] before any symbol is used. Any
//! failure is a [`FetchError`]; the object stays incomplete and the request is retried
//! (another server picked at random, jittered exponential back-off) up to
//! [`ClientConfig::max_attempts`] times.
//!
//! Only `http://` service URIs are supported (no TLS).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use flute_receiver::{Receiver, RepairError, SessionId, Toi};
use flute_repair::{ContainerCodec, RepairQuery, RequestForm, count_symbols, split_query};
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue, LOCATION};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Settings of the repair client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The repair servers (`serviceURI`s); one is picked at random per attempt.
    pub service_uris: Vec<String>,
    /// Fixed wait before the first request (`offsetTime`).
    pub offset_time: Duration,
    /// Upper bound of the random wait added to it (`randomTimePeriod`).
    pub random_time_period: Duration,
    /// Attempts per request (first try included).
    pub max_attempts: u32,
    /// Back-off before the second attempt; doubled for each further one, with full jitter.
    pub retry_base: Duration,
    /// Time to open a TCP connection.
    pub connect_timeout: Duration,
    /// Time for a whole request (connect, headers, body).
    pub request_timeout: Duration,
    /// Longest pause between two pieces of a body (a slow trickle ends the request).
    pub idle_timeout: Duration,
    /// Largest body accepted, whatever the request (it is also bounded per request by the
    /// symbols asked for).
    pub max_response_bytes: u64,
    /// Most symbols asked for in one request (larger requests are split).
    pub max_symbols_per_request: u64,
    /// Longest query per request (above 200 characters it goes in a POST body).
    pub max_query_bytes: usize,
    /// Redirects followed per request.
    pub max_redirects: u32,
    /// Seed of the random choices (server, back-off jitter).
    pub seed: u64,
    /// Also use the repair servers the object's FDT announced (TS 26.346 §9.3.1
    /// `postFileRepair`, [`Receiver::repair_service`]), and wait at least the back-off it
    /// gives. Off by default: the FDT comes from the broadcast, and the caller decides
    /// whether to follow URLs it carries.
    pub use_announced: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            service_uris: Vec::new(),
            offset_time: Duration::ZERO,
            random_time_period: Duration::ZERO,
            max_attempts: 4,
            retry_base: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(10),
            max_response_bytes: 256 << 20,
            max_symbols_per_request: 1 << 14,
            max_query_bytes: 16 << 10,
            max_redirects: 3,
            seed: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1),
            use_announced: false,
        }
    }
}

/// Why one repair request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The service URI is not an `http://` URI with a host.
    #[error("unusable repair URI {0:?} (http:// only)")]
    BadUri(String),
    /// The TCP connection could not be made.
    #[error("cannot connect to {authority}: {reason}")]
    Connect {
        /// Host and port.
        authority: String,
        /// Why.
        reason: String,
    },
    /// The server did not answer in time, or trickled its body.
    #[error("timed out ({0})")]
    Timeout(&'static str),
    /// HTTP-level failure: a malformed answer, or a body cut short.
    #[error("HTTP: {0}")]
    Http(String),
    /// A status other than 200 (and other than a followed redirect).
    #[error("status {0}")]
    Status(u16),
    /// The answer is not `application/simpleSymbolContainer`.
    #[error("Content-Type {0:?}, not application/simpleSymbolContainer")]
    ContentType(Option<String>),
    /// The body is longer than the request can produce.
    #[error("answer longer than {max} bytes")]
    TooLarge {
        /// The bound.
        max: u64,
    },
    /// More redirects than [`ClientConfig::max_redirects`] (a loop).
    #[error("more than {0} redirects")]
    TooManyRedirects(u32),
    /// The body is not a valid symbol container for the object.
    #[error("{0}")]
    Body(RepairError),
}

/// What [`repair_all`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepairReport {
    /// Objects that finished (delivered or failed a check: see the receiver's events).
    pub objects_finished: usize,
    /// Objects still incomplete after every attempt.
    pub objects_incomplete: usize,
    /// HTTP requests made (attempts included).
    pub requests: u64,
    /// Bytes of answers used.
    pub bytes_fetched: u64,
    /// Every failed attempt: TOI and error.
    pub errors: Vec<(Toi, FetchError)>,
}

/// A small deterministic generator (SplitMix64) for the random choices.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn parse_uri(s: &str) -> Result<Uri, FetchError> {
    let bad = || FetchError::BadUri(s.to_owned());
    let uri: Uri = s.parse().map_err(|_| bad())?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        return Err(bad());
    }
    Ok(uri)
}

/// `location` (absolute, or relative to `base`) as a URI.
fn resolve(base: &Uri, location: &str) -> Result<Uri, FetchError> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return parse_uri(location);
    }
    let authority = base
        .authority()
        .map(|a| a.as_str())
        .ok_or_else(|| FetchError::BadUri(location.to_owned()))?;
    let path = if location.starts_with('/') {
        location.to_owned()
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(d, _)| d);
        format!("{dir}/{location}")
    };
    parse_uri(&format!("http://{authority}{path}"))
}

/// Fetches the answer to `query` from `service_uri`, at most `max_bytes` long.
pub async fn fetch(
    cfg: &ClientConfig,
    service_uri: &str,
    query: &RepairQuery,
    max_bytes: u64,
) -> Result<Bytes, FetchError> {
    let deadline = Instant::now() + cfg.request_timeout;
    let mut uri = parse_uri(service_uri)?;
    for _ in 0..=cfg.max_redirects {
        let left = deadline.saturating_duration_since(Instant::now());
        let hop = tokio::time::timeout(left, fetch_once(cfg, &uri, query, max_bytes, deadline))
            .await
            .map_err(|_| FetchError::Timeout("request"))??;
        match hop {
            Hop::Done(b) => return Ok(b),
            Hop::Redirect(next) => uri = next,
        }
    }
    Err(FetchError::TooManyRedirects(cfg.max_redirects))
}

enum Hop {
    Done(Bytes),
    Redirect(Uri),
}

async fn fetch_once(
    cfg: &ClientConfig,
    uri: &Uri,
    query: &RepairQuery,
    max_bytes: u64,
    deadline: Instant,
) -> Result<Hop, FetchError> {
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| FetchError::BadUri(uri.to_string()))?;
    let host_port = match uri.port_u16() {
        Some(_) => authority.clone(),
        None => format!("{authority}:80"),
    };
    let stream = tokio::time::timeout(cfg.connect_timeout, TcpStream::connect(&host_port))
        .await
        .map_err(|_| FetchError::Timeout("connect"))?
        .map_err(|e| FetchError::Connect {
            authority: authority.clone(),
            reason: e.to_string(),
        })?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let conn = tokio::spawn(conn);
    let path = uri.path();
    let sep = if uri.query().is_some() { "&" } else { "?" };
    let base = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let req = match query.http_form() {
        RequestForm::Get(q) => Request::builder()
            .method(Method::GET)
            .uri(format!("{base}{sep}{q}"))
            .body(Full::new(Bytes::new())),
        RequestForm::Post(q) => Request::builder()
            .method(Method::POST)
            .uri(base)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(q))),
    }
    .map_err(|e| FetchError::Http(e.to_string()))?;
    let mut req = req;
    if let Ok(h) = HeaderValue::from_str(&authority) {
        req.headers_mut().insert(HOST, h);
    }
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let status = resp.status();
    if status.is_redirection() {
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(FetchError::Status(status.as_u16()))?;
        let next = resolve(uri, loc)?;
        conn.abort();
        return Ok(Hop::Redirect(next));
    }
    if status != StatusCode::OK {
        conn.abort();
        return Err(FetchError::Status(status.as_u16()));
    }
    let ct = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let ok_type = ct.as_deref().is_some_and(|c| {
        c.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case(flute_repair::CONTENT_TYPE))
    });
    if !ok_type {
        conn.abort();
        return Err(FetchError::ContentType(ct));
    }
    let announced = resp
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > max_bytes) {
        conn.abort();
        return Err(FetchError::TooLarge { max: max_bytes });
    }
    let mut body = resp.into_body();
    let mut out: Vec<u8> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let wait = left.min(cfg.idle_timeout);
        let frame = match tokio::time::timeout(wait, body.frame()).await {
            Err(_) => {
                conn.abort();
                return Err(FetchError::Timeout("body"));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                conn.abort();
                return Err(FetchError::Http(e.to_string()));
            }
            Ok(Some(Ok(f))) => f,
        };
        if let Ok(data) = frame.into_data() {
            if out.len() as u64 + data.len() as u64 > max_bytes {
                conn.abort();
                return Err(FetchError::TooLarge { max: max_bytes });
            }
            out.extend_from_slice(&data);
        }
    }
    conn.abort();
    Ok(Hop::Done(Bytes::from(out)))
}

/// Waits the TS 26.346 §9.3 back-off (`offsetTime + uniform(0, randomTimePeriod)`), then
/// repairs every object `rx` keeps for repair, with a runtime of its own. Call it after the
/// transmission (or session) ended; take the receiver's events afterwards.
pub fn repair_all(rx: &mut Receiver, cfg: &ClientConfig) -> RepairReport {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let pending = rx.repair_pending();
            return RepairReport {
                objects_incomplete: pending.len(),
                errors: pending
                    .iter()
                    .map(|(_, t)| (*t, FetchError::Http(format!("runtime: {e}"))))
                    .collect(),
                ..RepairReport::default()
            };
        }
    };
    rt.block_on(repair_all_async(rx, cfg))
}

/// [`repair_all`] inside a caller's runtime.
pub async fn repair_all_async(rx: &mut Receiver, cfg: &ClientConfig) -> RepairReport {
    let mut rng = Rng(cfg.seed);
    let mut report = RepairReport::default();
    let u = rng.unit();
    let mut wait = cfg.offset_time + cfg.random_time_period.mul_f64(u);
    if cfg.use_announced {
        for (session, toi) in rx.repair_pending() {
            if let Some(p) = rx.repair_service(&session, toi) {
                wait = wait.max(p.backoff(u));
            }
        }
    }
    if !wait.is_zero() && !rx.repair_pending().is_empty() {
        tokio::time::sleep(wait).await;
    }
    for (session, toi) in rx.repair_pending() {
        if repair_one(rx, cfg, &mut rng, &mut report, session, toi).await {
            report.objects_finished += 1;
        } else {
            report.objects_incomplete += 1;
        }
    }
    report
}

/// Repairs one object; true when it finished.
async fn repair_one(
    rx: &mut Receiver,
    cfg: &ClientConfig,
    rng: &mut Rng,
    report: &mut RepairReport,
    session: SessionId,
    toi: Toi,
) -> bool {
    // Rounds: a server may answer only part of a request; ask again for the rest while
    // each round makes progress.
    let mut stalled = 0;
    while stalled < cfg.max_attempts.max(1) {
        let Some(q) = rx.repair_request_in(&session, toi) else {
            return true;
        };
        let Some(oti) = rx.repair_oti(&session, toi).cloned() else {
            return true;
        };
        let registry = rx.config().registry.clone();
        let Ok(scheme) = registry.for_oti(&oti) else {
            return false;
        };
        let Ok(codec) = ContainerCodec::new(scheme.as_ref(), &oti) else {
            return false;
        };
        let Ok(pieces) = split_query(&codec, &q, cfg.max_symbols_per_request, cfg.max_query_bytes)
        else {
            return false;
        };
        let mut uris = cfg.service_uris.clone();
        if cfg.use_announced {
            if let Some(p) = rx.repair_service(&session, toi) {
                for u in &p.service_uris {
                    if !uris.contains(u) {
                        uris.push(u.clone());
                    }
                }
            }
        }
        let before = rx.repair_stats().symbols_accepted;
        for piece in pieces {
            let symbols = count_symbols(&codec, &piece, u64::MAX).unwrap_or(u64::MAX);
            let per = (codec.symbol_length() + codec.header_len()) as u64;
            let bound = symbols.saturating_mul(per).min(cfg.max_response_bytes);
            let mut attempt = 0u32;
            loop {
                if uris.is_empty() {
                    return false;
                }
                let i = ((rng.unit() * uris.len() as f64) as usize).min(uris.len() - 1);
                report.requests += 1;
                let result = match fetch(cfg, &uris[i], &piece, bound).await {
                    Ok(body) => match rx.handle_repair_symbols(&session, toi, &body) {
                        Ok(p) => {
                            report.bytes_fetched += body.len() as u64;
                            Ok(p.finished)
                        }
                        Err(e) => Err(FetchError::Body(e)),
                    },
                    Err(e) => Err(e),
                };
                match result {
                    Ok(true) => return true,
                    Ok(false) => break,
                    Err(e) => {
                        let permanent =
                            matches!(e, FetchError::BadUri(_) | FetchError::Status(400))
                                || matches!(e, FetchError::Body(RepairError::UnknownObject { .. }));
                        report.errors.push((toi, e));
                        attempt += 1;
                        if permanent || attempt >= cfg.max_attempts.max(1) {
                            break;
                        }
                        // Full jitter: uniform(0, base * 2^(attempt-1)).
                        let cap = cfg.retry_base.saturating_mul(1 << (attempt - 1).min(16));
                        tokio::time::sleep(cap.mul_f64(rng.unit())).await;
                    }
                }
            }
        }
        if rx.repair_stats().symbols_accepted == before {
            stalled += 1;
        } else {
            stalled = 0;
        }
    }
    rx.repair_request_in(&session, toi).is_none()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn uris_and_redirect_targets() {
        assert!(parse_uri("http://127.0.0.1:8080/repair").is_ok());
        assert!(matches!(
            parse_uri("https://127.0.0.1/"),
            Err(FetchError::BadUri(_))
        ));
        assert!(matches!(parse_uri("/relative"), Err(FetchError::BadUri(_))));
        let base = parse_uri("http://127.0.0.1:1/a/b").unwrap();
        assert_eq!(
            resolve(&base, "/x").unwrap().to_string(),
            "http://127.0.0.1:1/x"
        );
        assert_eq!(
            resolve(&base, "c").unwrap().to_string(),
            "http://127.0.0.1:1/a/c"
        );
        assert_eq!(
            resolve(&base, "http://[::1]:2/z").unwrap().to_string(),
            "http://[::1]:2/z"
        );
    }

    #[test]
    fn jitter_is_uniform_in_the_unit_interval() {
        let mut r = Rng(7);
        let v: Vec<f64> = (0..1000).map(|_| r.unit()).collect();
        assert!(v.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((0.45..0.55).contains(&mean), "{mean}");
    }
}

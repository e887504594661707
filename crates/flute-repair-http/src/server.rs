//! The repair server: answers TS 26.346 §9.3.6 repair requests for the files it was given.
//!
//! - Only announced files are served: `fileURI` is looked up, as a whole string, among the
//!   `Content-Location`s the server was built with; it is never joined to a path, so no
//!   query can reach another file. Unknown files get `404 Not Found`.
//! - A malformed query, an SBN or ESI outside the file, or a query asking for more than
//!   [`ServerConfig::max_symbols_per_response`] symbols gets `400 Bad Request`; a query
//!   string or POST body longer than [`ServerConfig::max_query_bytes`] gets `400` too
//!   (`413` for a body announced longer). Methods other than GET and POST get `405`.
//! - Per client address, at most [`ServerConfig::max_requests_per_client`] requests are
//!   answered at once (`429 Too Many Requests` beyond), and every answer is bounded by the
//!   symbol limit; overall, [`ServerConfig::max_connections`] connections are served at once.
//! - Answers stream: the body is built in pieces of about [`ServerConfig::chunk_bytes`] on a
//!   blocking thread and handed over a channel of two pieces, so memory per client is a few
//!   pieces whatever the answer's size.

use std::collections::HashMap;
use std::fs::File;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use fec_schemes::{FecRegistry, Oti};
use flute_repair::{
    CONTENT_TYPE, ContainerCodec, QueryLimits, RepairQuery, ResponseError, ResponseLimits,
    count_symbols, respond_streaming,
};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE as CT, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};

/// One file the server may answer for, with the OTI it was sent with.
#[derive(Debug, Clone)]
pub struct ServedFile {
    /// Its `Content-Location` in the FDT (the `fileURI` of the queries).
    pub content_location: String,
    /// Where its bytes are (the transport object: no content encoding).
    pub path: PathBuf,
    /// The FEC OTI it was sent with.
    pub oti: Oti,
}

/// Limits and settings of the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The FEC schemes of the files.
    pub registry: Arc<FecRegistry>,
    /// Bounds of the query parser.
    pub query_limits: QueryLimits,
    /// Longest query string or POST body, in bytes.
    pub max_query_bytes: usize,
    /// Most symbols in one answer.
    pub max_symbols_per_response: u64,
    /// Most requests answered at once per client address.
    pub max_requests_per_client: usize,
    /// Most connections served at once.
    pub max_connections: usize,
    /// Symbols per group in an answer.
    pub max_group_symbols: u16,
    /// Bytes per piece of a streamed answer.
    pub chunk_bytes: usize,
    /// Time allowed for a client to send its request headers.
    pub header_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            registry: Arc::new(FecRegistry::with_builtin()),
            query_limits: QueryLimits::default(),
            max_query_bytes: 64 << 10,
            max_symbols_per_response: 1 << 16,
            max_requests_per_client: 4,
            max_connections: 1024,
            max_group_symbols: 64,
            chunk_bytes: 64 << 10,
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the server could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Two files with the same `Content-Location`.
    #[error("two files announced as {0:?}")]
    DuplicateLocation(String),
    /// A file's OTI has no scheme in the registry, or is invalid.
    #[error("{location}: invalid OTI: {reason}")]
    InvalidOti {
        /// The file.
        location: String,
        /// Why.
        reason: String,
    },
    /// A file cannot be read, or its length is not the OTI's transfer length.
    #[error("{location}: {reason}")]
    File {
        /// The file.
        location: String,
        /// Why.
        reason: String,
    },
    /// Socket error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The repair server: the files and the limits. Share it with `Arc` and run it with
/// [`serve`].
#[derive(Debug)]
pub struct RepairServer {
    files: HashMap<String, ServedFile>,
    cfg: ServerConfig,
    clients: Mutex<HashMap<IpAddr, usize>>,
}

/// An error answer: status and a one-line text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plain {
    /// Status.
    pub status: StatusCode,
    /// Body.
    pub body: String,
}

impl RepairServer {
    /// A server for `files`. Checks that every file has a usable OTI and the length the OTI
    /// says.
    pub fn new(files: Vec<ServedFile>, cfg: ServerConfig) -> Result<Self, ServerError> {
        let mut map = HashMap::new();
        for f in files {
            let scheme = cfg
                .registry
                .for_oti(&f.oti)
                .map_err(|e| ServerError::InvalidOti {
                    location: f.content_location.clone(),
                    reason: e.to_string(),
                })?;
            ContainerCodec::new(scheme.as_ref(), &f.oti).map_err(|e| ServerError::InvalidOti {
                location: f.content_location.clone(),
                reason: e.to_string(),
            })?;
            let len = std::fs::metadata(&f.path)
                .map_err(|e| ServerError::File {
                    location: f.content_location.clone(),
                    reason: e.to_string(),
                })?
                .len();
            if len != f.oti.transfer_length {
                return Err(ServerError::File {
                    location: f.content_location.clone(),
                    reason: format!(
                        "{len} bytes on disk, transfer length {}",
                        f.oti.transfer_length
                    ),
                });
            }
            let key = f.content_location.clone();
            if map.insert(key.clone(), f).is_some() {
                return Err(ServerError::DuplicateLocation(key));
            }
        }
        Ok(Self {
            files: map,
            cfg,
            clients: Mutex::new(HashMap::new()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.cfg
    }

    /// Number of files served.
    pub fn files(&self) -> usize {
        self.files.len()
    }

    /// Checks a query (no I/O): the file it names and the number of symbols it asks for, or
    /// the error answer.
    pub fn check(&self, query: &str) -> Result<(&ServedFile, RepairQuery, u64), Plain> {
        let bad = |status, body: String| Plain { status, body };
        if query.len() > self.cfg.max_query_bytes {
            return Err(bad(StatusCode::BAD_REQUEST, "query too long".into()));
        }
        let q = RepairQuery::parse(query, &self.cfg.query_limits)
            .map_err(|e| bad(StatusCode::BAD_REQUEST, e.to_string()))?;
        let Some(f) = self.files.get(&q.file_uri) else {
            return Err(bad(StatusCode::NOT_FOUND, "no such file".into()));
        };
        let scheme = self
            .cfg
            .registry
            .for_oti(&f.oti)
            .map_err(|e| bad(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let codec = ContainerCodec::new(scheme.as_ref(), &f.oti)
            .map_err(|e| bad(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let n = count_symbols(&codec, &q, self.cfg.max_symbols_per_response)
            .map_err(|e| bad(StatusCode::BAD_REQUEST, e.to_string()))?;
        Ok((f, q, n))
    }

    /// Counts one more request of `ip` in progress, or `None` at the limit.
    fn enter(self: &Arc<Self>, ip: IpAddr) -> Option<ClientGuard> {
        let mut m = self.clients.lock().ok()?;
        let n = m.entry(ip).or_insert(0);
        if *n >= self.cfg.max_requests_per_client {
            return None;
        }
        *n += 1;
        Some(ClientGuard {
            server: self.clone(),
            ip,
        })
    }

    /// Requests in progress, per client address.
    pub fn requests_in_progress(&self) -> HashMap<IpAddr, usize> {
        self.clients.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// One request in progress of a client; counted in `clients` until dropped.
struct ClientGuard {
    server: Arc<RepairServer>,
    ip: IpAddr,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.server.clients.lock() {
            if let Some(n) = m.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(&self.ip);
                }
            }
        }
    }
}

/// A response body fed by a channel of pieces; an `Err` piece ends the body with an error
/// (the client sees a truncated answer, never a short valid one).
pub struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data)))
    }
}

type Answer = Response<http_body_util::Either<http_body_util::Full<Bytes>, ChannelBody>>;

fn plain(p: Plain) -> Answer {
    let mut r = Response::new(http_body_util::Either::Left(http_body_util::Full::new(
        Bytes::from(p.body + "\n"),
    )));
    *r.status_mut() = p.status;
    r.headers_mut()
        .insert(CT, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

async fn answer(server: Arc<RepairServer>, peer: SocketAddr, req: Request<Incoming>) -> Answer {
    let err = |status: StatusCode, body: &str| {
        plain(Plain {
            status,
            body: body.to_owned(),
        })
    };
    let query = match *req.method() {
        Method::GET => req.uri().query().unwrap_or("").to_owned(),
        Method::POST => {
            let max = server.cfg.max_query_bytes;
            let announced = req
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if announced.is_some_and(|n| n > max as u64) {
                return err(StatusCode::PAYLOAD_TOO_LARGE, "query body too long");
            }
            let limited = http_body_util::Limited::new(req.into_body(), max);
            let body = match tokio::time::timeout(server.cfg.header_timeout, limited.collect())
                .await
            {
                Ok(Ok(b)) => b.to_bytes(),
                Ok(Err(_)) => return err(StatusCode::BAD_REQUEST, "query body too long or cut"),
                Err(_) => return err(StatusCode::REQUEST_TIMEOUT, "query body too slow"),
            };
            match String::from_utf8(body.to_vec()) {
                Ok(s) => s,
                Err(_) => return err(StatusCode::BAD_REQUEST, "query body is not UTF-8"),
            }
        }
        _ => {
            let mut r = err(StatusCode::METHOD_NOT_ALLOWED, "GET or POST");
            r.headers_mut()
                .insert(hyper::header::ALLOW, HeaderValue::from_static("GET, POST"));
            return r;
        }
    };
    let (file, q, _symbols) = match server.check(&query) {
        Ok(x) => (x.0.clone(), x.1, x.2),
        Err(p) => return plain(p),
    };
    // Per-client concurrency: the guard lives as long as the answer is being produced.
    let Some(guard) = server.enter(peer.ip()) else {
        return err(StatusCode::TOO_MANY_REQUESTS, "too many requests at once");
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::task::spawn_blocking(move || produce(guard, &file, &q, &tx));
    let mut r = Response::new(http_body_util::Either::Right(ChannelBody { rx }));
    r.headers_mut()
        .insert(CT, HeaderValue::from_static(CONTENT_TYPE));
    r
}

/// Builds the answer on a blocking thread, piece by piece, into `tx`.
fn produce(
    guard: ClientGuard,
    file: &ServedFile,
    q: &RepairQuery,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let server = &*guard.server;
    let result = (|| -> Result<(), ResponseError> {
        let scheme = server
            .cfg
            .registry
            .for_oti(&file.oti)
            .map_err(ResponseError::Fec)?;
        let codec =
            ContainerCodec::new(scheme.as_ref(), &file.oti).map_err(ResponseError::Container)?;
        let f = File::open(&file.path).map_err(|e| ResponseError::Read(e.to_string()))?;
        let limits = ResponseLimits {
            max_symbols: server.cfg.max_symbols_per_response,
        };
        respond_streaming(
            &codec,
            q,
            &limits,
            server.cfg.max_group_symbols,
            server.cfg.chunk_bytes,
            &mut |off, buf| read_at(&f, off, buf),
            &mut |piece| {
                tx.blocking_send(Ok(Bytes::from(piece)))
                    .map_err(|_| "client gone".to_owned())
            },
        )
        .map(|_| ())
    })();
    if let Err(e) = result {
        let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
    }
}

#[cfg(unix)]
fn read_at(f: &File, offset: u64, buf: &mut [u8]) -> Result<(), String> {
    use std::os::unix::fs::FileExt;
    f.read_exact_at(buf, offset).map_err(|e| e.to_string())
}

#[cfg(not(unix))]
fn read_at(f: &File, offset: u64, buf: &mut [u8]) -> Result<(), String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = f;
    f.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
    f.read_exact(buf).map_err(|e| e.to_string())
}

/// Serves `server` on `listener` until `shutdown` completes. Each connection is HTTP/1.1
/// with a header read timeout; at most [`ServerConfig::max_connections`] at once (further
/// ones wait in the listen queue).
pub async fn serve(
    listener: TcpListener,
    server: Arc<RepairServer>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let slots = Arc::new(Semaphore::new(server.cfg.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return Ok(()),
            },
            () = &mut shutdown => return Ok(()),
        };
        let (stream, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(x) => x,
                // Out of descriptors and the like: wait a little and go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let srv = server.clone();
        let (header_timeout, max_buf) = (
            server.cfg.header_timeout,
            server.cfg.max_query_bytes.max(8192) + 8192,
        );
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let srv = srv.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(srv, peer, req).await) }
            });
            let mut b = hyper::server::conn::http1::Builder::new();
            b.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(max_buf);
            let _ = b.serve_connection(TokioIo::new(stream), svc).await;
            drop(permit);
        });
    }
}

/// A server running on threads of its own, until [`BackgroundServer::stop`] or drop.
#[derive(Debug)]
pub struct BackgroundServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundServer {
    /// Binds `addr` (port 0: any free port) and serves `server` there with a tokio runtime
    /// of `threads` worker threads.
    pub fn start(
        server: Arc<RepairServer>,
        addr: SocketAddr,
        threads: usize,
    ) -> Result<Self, ServerError> {
        let l = std::net::TcpListener::bind(addr)?;
        l.set_nonblocking(true)?;
        let addr = l.local_addr()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .max_blocking_threads(server.cfg.max_connections.clamp(1, 512))
            .enable_all()
            .build()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("flute-repair-server".into())
            .spawn(move || {
                rt.block_on(async move {
                    if let Ok(l) = TcpListener::from_std(l) {
                        let _ = serve(l, server, async {
                            let _ = rx.await;
                        })
                        .await;
                    }
                });
            })?;
        Ok(Self {
            addr,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits for the server thread (answers in progress are dropped).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

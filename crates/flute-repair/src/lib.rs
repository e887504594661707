//! File repair for FLUTE (3GPP TS 26.346 §9.3, "Associated Delivery Procedures"), without
//! any HTTP: the two wire formats a repair client and server exchange.
//!
//! - [`RepairQuery`]: the request, `fileURI=<Content-Location>&SBN=4;ESI=4&SBN=5;ESI=2,7`,
//!   with whole-file (no `SBN`), whole-block (`SBN` without `ESI`) and range (`a-b`) forms,
//!   sent in a `GET` URL or, above [`GET_QUERY_MAX`] characters, as a `POST` body.
//! - [`ContainerCodec`]: the `application/simpleSymbolContainer` response body, a sequence
//!   of groups (16-bit Length Indicator, the scheme's FEC Payload ID, that many symbols of
//!   T bytes), read and written through the file's [`fec_schemes::FecScheme`].
//! - [`PostFileRepair`]: the back-off and server list of the APD `postFileRepair` element,
//!   read from and written into an FDT instance's extension elements.
//!
//! Both parsers take bounds, check every field against them and the object's blocking, and
//! return typed errors; they never panic on any input (property tests, and the fuzz targets
//! `repair_query` and `symbol_container`).
//!
//! The receiver side (`flute_receiver::Receiver::repair_request` and
//! `handle_repair_symbols`) builds on this crate; the HTTP client and server live in
//! `flute-repair-http`.
//!
//! # Example
//!
//! ```
//! use fec_schemes::{FecEncodingId, FecRegistry, PayloadId, schemes::no_code::CompactNoCode};
//! use flute_repair::{ContainerCodec, IdRange, QueryLimits, RepairQuery, SymbolRequest};
//!
//! // The receiver misses ESI 1 of block 0.
//! let q = RepairQuery {
//!     file_uri: "dir/file.bin".into(),
//!     parts: vec![SymbolRequest::symbols(0, vec![IdRange::single(1)])],
//! };
//! assert_eq!(q.encode(), "fileURI=dir/file.bin&SBN=0;ESI=1");
//! assert_eq!(RepairQuery::parse(&q.encode(), &QueryLimits::default())?, q);
//!
//! // The server answers with that symbol.
//! let registry = FecRegistry::with_builtin();
//! let scheme = registry.get(FecEncodingId::COMPACT_NO_CODE, None)?;
//! let oti = CompactNoCode::oti(10, 4, 2);
//! let codec = ContainerCodec::new(&**scheme, &oti)?;
//! let mut body = Vec::new();
//! let id = PayloadId { sbn: 0, esi: 1, source_block_length: None };
//! codec.write_group(&id, b"4567", &mut body)?;
//! assert_eq!(body, [0, 1, 0, 0, 0, 1, b'4', b'5', b'6', b'7']);
//! let groups = codec.parse(&body, 64)?;
//! assert_eq!(groups[0].payload_id, id);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod apd;
mod container;
mod query;
mod respond;

pub use apd::{
    APD_NAMESPACE, ApdError, MAX_SERVICE_URI_LEN, MAX_SERVICE_URIS, MAX_WAIT_SECS, PostFileRepair,
};
pub use container::{CONTENT_TYPE, ContainerCodec, ContainerError, Groups, SymbolGroup};
pub use query::{
    GET_QUERY_MAX, IdRange, QueryError, QueryLimits, RepairQuery, RequestForm, SymbolRequest,
    ranges_of,
};
pub use respond::{
    Emit, ReadAt, ResponseError, ResponseLimits, count_symbols, respond, respond_streaming,
    split_query,
};

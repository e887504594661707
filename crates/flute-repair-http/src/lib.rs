//! HTTP file repair for FLUTE (3GPP TS 26.346 §9.3) on hyper and tokio: a [`server`] that
//! answers repair requests for the files it announced, and a [`client`] that completes a
//! `flute_receiver::Receiver`'s incomplete objects from one or more repair servers.
//!
//! The formats (query, `application/simpleSymbolContainer`) and the receiver's side are
//! sans-IO, in `flute-repair` and `flute-receiver`; this crate only moves bytes, so the core
//! crates stay free of any HTTP stack.
#![forbid(unsafe_code)]
// The client reads the clock for its timeouts and back-off; this is the I/O layer.
#![allow(clippy::disallowed_methods)]

pub mod client;
pub mod server;

pub use client::{ClientConfig, FetchError, RepairReport, fetch, repair_all, repair_all_async};
pub use server::{BackgroundServer, RepairServer, ServedFile, ServerConfig, ServerError, serve};

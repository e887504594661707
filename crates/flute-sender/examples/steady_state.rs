//! Drives a sender for N packets of a carousel object and prints what was sent: the shape
//! of an I/O adapter loop, with virtual time. Used to count allocations per packet:
//!
//! ```text
//! valgrind --tool=dhat target/release/examples/steady_state 1000
//! valgrind --tool=dhat target/release/examples/steady_state 11000
//! ```
//! The difference in "total blocks" divided by 10 000 is the allocations per packet in
//! steady state (one `BlockEncoder` per source block, nothing per packet).
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use flute_sender::{AnchoredClock, Carousel, Object, Sender, SenderConfig, Tsi};

#[allow(clippy::disallowed_methods)] // an example adapter owns the clock
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let now = Instant::now();
    let clock = Arc::new(AnchoredClock::new(now, SystemTime::now()));
    let mut cfg = SenderConfig::new(Tsi(1), clock);
    cfg.fdt_carousel.interval = None;
    let mut sender = Sender::new(cfg)?;
    let data = Bytes::from(vec![0x5a; 4 << 20]);
    sender.insert_object(
        Object::from_bytes("file:///steady.bin", data).carousel(Carousel::UntilRemoved {
            interval: Duration::ZERO,
        }),
        now,
    )?;
    let mut buf = [0u8; 1500];
    let (mut packets, mut bytes) = (0usize, 0usize);
    while packets < n {
        match sender.poll_transmit(now, &mut buf) {
            Some(t) => {
                packets += 1;
                bytes += t.len; // an adapter would send &buf[..t.len] here
            }
            None => break, // an adapter would sleep until sender.poll_timeout()
        }
    }
    println!("{packets} packets, {bytes} bytes, {:?}", sender.stats());
    Ok(())
}

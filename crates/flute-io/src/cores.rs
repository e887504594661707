//! [`SenderCore`] and [`ReceiverCore`] for the workspace's sans-IO sender and receiver:
//! pure forwarding, so the adapter loops can drive them.

#[cfg(feature = "receiver")]
use std::net::SocketAddr;
use std::time::Instant;

#[cfg(feature = "receiver")]
use flute_receiver::{Endpoint, Receiver};
#[cfg(feature = "sender")]
use flute_sender::Sender;

#[cfg(feature = "receiver")]
use crate::adapter::ReceiverCore;
#[cfg(feature = "sender")]
use crate::adapter::SenderCore;

#[cfg(feature = "sender")]
impl SenderCore for Sender {
    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<usize> {
        let need = self.config().max_datagram_size;
        if buf.len() < need {
            buf.resize(need, 0);
        }
        Self::poll_transmit(self, now, buf).map(|t| t.len)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        Self::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        Self::handle_timeout(self, now);
    }
}

#[cfg(feature = "receiver")]
impl ReceiverCore for Receiver {
    fn handle_datagram(&mut self, now: Instant, src: SocketAddr, dst: SocketAddr, data: &[u8]) {
        Self::handle_datagram(
            self,
            now,
            Endpoint {
                source: Some(src.ip()),
                destination: dst,
            },
            data,
        );
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        Self::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        Self::handle_timeout(self, now);
    }
}

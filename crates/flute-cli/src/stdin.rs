//! `flute send -`: one object read from standard input, whose length is known only at the
//! end of the input (`flute_sender::Object::stream`).
//!
//! A thread reads stdin in chunks into a bounded channel; the sender loop takes them every
//! few milliseconds ([`StdinCore`]), so the symbols whose place cannot change go out while
//! the input is still coming, and the rest, with the object's FDT entry, once it ends.

use std::io::Read;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::time::{Duration, Instant};

use flute_io::SenderCore;
use flute_sender::{Sender, Toi};

/// How often the loop looks for new input when nothing else wakes it.
const TICK: Duration = Duration::from_millis(5);
/// Read size; with [`CHANNEL`] it bounds what waits between the reader and the sender.
const CHUNK: usize = 64 * 1024;
const CHANNEL: usize = 16;

/// What the reader thread hands over.
enum Input {
    Data(Vec<u8>),
    End,
    Failed(String),
}

/// Starts a thread that reads `input` to its end.
fn spawn_reader(mut input: impl Read + Send + 'static) -> Receiver<Input> {
    let (tx, rx): (SyncSender<Input>, Receiver<Input>) = sync_channel(CHANNEL);
    std::thread::spawn(move || {
        loop {
            let mut buf = vec![0u8; CHUNK];
            match input.read(&mut buf) {
                Ok(0) => {
                    let _ = tx.send(Input::End);
                    return;
                }
                Ok(n) => {
                    buf.truncate(n);
                    if tx.send(Input::Data(buf)).is_err() {
                        return; // the sender loop is gone
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Input::Failed(format!("reading standard input: {e}")));
                    return;
                }
            }
        }
    });
    rx
}

/// The sender with one object fed from a reader.
pub(crate) struct StdinCore {
    pub(crate) sender: Sender,
    toi: Toi,
    input: Receiver<Input>,
    last_now: Option<Instant>,
    /// Bytes read so far.
    pub(crate) bytes: u64,
    /// The input ended (or failed): no more polling.
    pub(crate) ended: bool,
    /// Close the session once the input ends (a finite carousel).
    close_at_end: bool,
    /// A reading or sending error, for the operator.
    pub(crate) error: Option<String>,
}

impl StdinCore {
    pub(crate) fn new(
        sender: Sender,
        toi: Toi,
        input: impl Read + Send + 'static,
        close_at_end: bool,
    ) -> Self {
        Self {
            sender,
            toi,
            input: spawn_reader(input),
            last_now: None,
            bytes: 0,
            ended: false,
            close_at_end,
            error: None,
        }
    }

    /// Hands what the reader has to the sender.
    pub(crate) fn step(&mut self, now: Instant) {
        while !self.ended {
            match self.input.try_recv() {
                Ok(Input::Data(d)) => {
                    self.bytes += d.len() as u64;
                    if let Err(e) = self.sender.write_stream(self.toi, &d) {
                        self.fail(format!("cannot send standard input: {e}"));
                    }
                }
                Ok(Input::End) => {
                    self.ended = true;
                    if let Err(e) = self.sender.finish_stream(self.toi, now) {
                        self.fail(format!(
                            "standard input ended after {} bytes, which the FEC scheme cannot \
                             carry as announced: {e} (use --fec nocode or rs, or a larger \
                             --symbol-size)",
                            self.bytes
                        ));
                    } else if self.close_at_end {
                        self.sender.close();
                    }
                }
                Ok(Input::Failed(e)) => self.fail(e),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.fail("the standard input reader stopped".into());
                }
            }
        }
    }

    fn fail(&mut self, e: String) {
        self.error.get_or_insert(e);
        self.ended = true;
        let _ = self.sender.remove_object(self.toi);
        self.sender.close();
    }
}

impl SenderCore for StdinCore {
    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<usize> {
        SenderCore::poll_transmit(&mut self.sender, now, buf)
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let inner = SenderCore::poll_timeout(&mut self.sender);
        if self.ended {
            return inner;
        }
        let tick = self.last_now.map_or_else(Instant::now, |n| n + TICK);
        Some(inner.map_or(tick, |t| t.min(tick)))
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.last_now = Some(now);
        self.step(now);
        SenderCore::handle_timeout(&mut self.sender, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::SystemTime;

    use flute_sender::{AnchoredClock, Object, SenderConfig, Tsi};

    fn core(input: &'static [u8]) -> StdinCore {
        let now = Instant::now();
        let clock = Arc::new(AnchoredClock::new(now, SystemTime::UNIX_EPOCH));
        let mut s = Sender::new(SenderConfig::new(Tsi(1), clock)).unwrap();
        let toi = s.insert_object(Object::stream("stdin"), now).unwrap();
        StdinCore::new(s, toi, input, true)
    }

    /// The whole input reaches the sender and the session closes after it.
    #[test]
    fn input_to_end_then_close() {
        let mut c = core(b"0123456789abcdef");
        let t0 = Instant::now();
        let mut packets = 0;
        let mut buf = Vec::new();
        for i in 0..2000u32 {
            let now = t0 + Duration::from_millis(u64::from(i));
            c.handle_timeout(now);
            while c.poll_transmit(now, &mut buf).is_some() {
                packets += 1;
            }
            if c.sender.is_closed() {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        assert_eq!(c.bytes, 16);
        assert!(c.ended && c.error.is_none());
        assert!(c.sender.is_closed(), "the session closed after the input");
        assert!(
            packets >= 2,
            "the FDT and the object's packet went out ({packets})"
        );
    }

    /// A failing input is reported, and the session still ends.
    #[test]
    fn read_error_is_reported() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("device gone"))
            }
        }
        let now = Instant::now();
        let clock = Arc::new(AnchoredClock::new(now, SystemTime::UNIX_EPOCH));
        let mut s = Sender::new(SenderConfig::new(Tsi(1), clock)).unwrap();
        let toi = s.insert_object(Object::stream("stdin"), now).unwrap();
        let mut c = StdinCore::new(s, toi, Broken, true);
        for i in 0..2000u32 {
            c.handle_timeout(now + Duration::from_millis(u64::from(i)));
            if c.ended {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let e = c.error.expect("an error");
        assert!(e.contains("device gone"), "{e}");
    }
}

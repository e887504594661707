//! Test support for the FLUTE toolkit: a deterministic channel simulator on virtual time,
//! and a small FLUTE packet builder ([`MiniSender`]) for hand-built streams.
//!
//! Everything is seeded: the same seed gives the same losses, duplicates and reorderings.
//! Nothing here reads a clock except [`VirtualClock::new`], which takes one `Instant` as
//! an arbitrary origin; all later times are that origin plus virtual offsets.

pub mod netns;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use fec_schemes::{FecEncodingId, FecScheme, Oti, PayloadId, SchemeSpecific};
use md5::{Digest, Md5};

/// xorshift64* (Marsaglia / Vigna): a tiny, seedable, deterministic generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; 0 is remapped).
    pub fn new(seed: u64) -> Self {
        // SplitMix64 scrambles the seed, so nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 1 } else { z })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// Virtual monotonic time.
#[derive(Debug, Clone, Copy)]
pub struct VirtualClock {
    now: Instant,
}

impl VirtualClock {
    /// A clock starting at an arbitrary origin.
    #[allow(clippy::disallowed_methods)] // the only clock read: an origin, never compared to real time
    pub fn new() -> Self {
        Self {
            now: Instant::now(),
        }
    }

    /// Current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Moves time forward by `d`.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Moves time forward to `t` (never backwards).
    pub fn advance_to(&mut self, t: Instant) {
        if t > self.now {
            self.now = t;
        }
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

/// Packet loss model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossModel {
    /// No loss.
    None,
    /// Each packet is lost independently with probability `p`.
    Uniform(f64),
    /// Two-state Gilbert-Elliott burst loss.
    GilbertElliott {
        /// P(good -> bad) per packet.
        p_good_to_bad: f64,
        /// P(bad -> good) per packet.
        p_bad_to_good: f64,
        /// Loss probability in the good state.
        loss_good: f64,
        /// Loss probability in the bad state.
        loss_bad: f64,
    },
}

impl LossModel {
    /// Long-run average loss rate.
    pub fn mean_loss(&self) -> f64 {
        match *self {
            Self::None => 0.0,
            Self::Uniform(p) => p,
            Self::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_good,
                loss_bad,
            } => {
                let pb = p_good_to_bad / (p_good_to_bad + p_bad_to_good);
                pb * loss_bad + (1.0 - pb) * loss_good
            }
        }
    }
}

/// A [`LossModel`] in motion: the model and, for Gilbert-Elliott, the current state. One
/// call of [`LossProcess::lost`] per packet, in order; the draws come from the caller's
/// [`Rng`], so a process is as reproducible as its generator. [`Channel`] uses one, and so
/// does the FEC simulator (`flute-fec-sim`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossProcess {
    model: LossModel,
    bad: bool,
}

impl LossProcess {
    /// A process that starts in the good state.
    pub fn new(model: LossModel) -> Self {
        Self { model, bad: false }
    }

    /// A process whose first state is drawn from the stationary distribution of the
    /// Gilbert-Elliott chain (bad with probability `p / (p + r)`), so that short packet
    /// sequences are not biased towards the good state. Draws nothing for the other models.
    pub fn stationary(model: LossModel, rng: &mut Rng) -> Self {
        let bad = match model {
            LossModel::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                ..
            } => {
                let total = p_good_to_bad + p_bad_to_good;
                total > 0.0 && rng.chance(p_good_to_bad / total)
            }
            LossModel::None | LossModel::Uniform(_) => false,
        };
        Self { model, bad }
    }

    /// The model.
    pub fn model(&self) -> LossModel {
        self.model
    }

    /// Whether the Gilbert-Elliott chain is in its bad state.
    pub fn is_bad(&self) -> bool {
        self.bad
    }

    /// Whether the next packet is lost. Gilbert-Elliott first moves the chain one step
    /// (good to bad with `p_good_to_bad`, bad to good with `p_bad_to_good`), then loses the
    /// packet with the new state's loss probability.
    pub fn lost(&mut self, rng: &mut Rng) -> bool {
        match self.model {
            LossModel::None => false,
            LossModel::Uniform(p) => rng.chance(p),
            LossModel::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_good,
                loss_bad,
            } => {
                if self.bad {
                    if rng.chance(p_bad_to_good) {
                        self.bad = false;
                    }
                } else if rng.chance(p_good_to_bad) {
                    self.bad = true;
                }
                rng.chance(if self.bad { loss_bad } else { loss_good })
            }
        }
    }
}

/// Channel behaviour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelConfig {
    /// Loss model.
    pub loss: LossModel,
    /// Probability that a packet is delayed by up to `reorder_delay` extra.
    pub reorder: f64,
    /// Largest extra delay of a reordered packet.
    pub reorder_delay: Duration,
    /// Probability that a packet is delivered twice.
    pub duplicate: f64,
    /// Base one-way latency.
    pub latency: Duration,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        Self {
            loss: LossModel::None,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(5),
            duplicate: 0.0,
            latency: Duration::from_millis(1),
        }
    }
}

impl ChannelConfig {
    /// A lossless channel.
    pub fn perfect() -> Self {
        Self::default()
    }
    /// Uniform loss `p`.
    pub fn uniform(p: f64) -> Self {
        Self {
            loss: LossModel::Uniform(p),
            ..Self::default()
        }
    }
    /// Burst loss with average burst length `burst` packets and mean loss about `mean`.
    pub fn bursty(mean: f64, burst: f64) -> Self {
        let r = 1.0 / burst.max(1.0);
        // pb = p / (p + r) = mean  =>  p = mean * r / (1 - mean)
        let p = mean * r / (1.0 - mean).max(1e-9);
        Self {
            loss: LossModel::GilbertElliott {
                p_good_to_bad: p,
                p_bad_to_good: r,
                loss_good: 0.0,
                loss_bad: 1.0,
            },
            ..Self::default()
        }
    }
    /// Adds reordering and duplication.
    pub fn with_reorder(mut self, p: f64, max_delay: Duration) -> Self {
        self.reorder = p;
        self.reorder_delay = max_delay;
        self
    }
    /// Adds duplication.
    pub fn with_duplicates(mut self, p: f64) -> Self {
        self.duplicate = p;
        self
    }
}

/// What a [`Channel`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Packets offered.
    pub sent: u64,
    /// Packets lost.
    pub lost: u64,
    /// Extra copies made.
    pub duplicated: u64,
    /// Packets given extra delay.
    pub reordered: u64,
    /// Packets delivered.
    pub delivered: u64,
}

/// A seeded one-way channel on virtual time, carrying items of type `T` (datagrams by
/// default; tests may attach metadata).
#[derive(Debug)]
pub struct Channel<T = Vec<u8>> {
    cfg: ChannelConfig,
    rng: Rng,
    loss: LossProcess,
    seq: u64,
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    items: HashMap<u64, T>,
    stats: ChannelStats,
}

impl<T: Clone> Channel<T> {
    /// A channel with `cfg`, seeded with `seed`.
    pub fn new(cfg: ChannelConfig, seed: u64) -> Self {
        Self {
            cfg,
            rng: Rng::new(seed),
            loss: LossProcess::new(cfg.loss),
            seq: 0,
            queue: BinaryHeap::new(),
            items: HashMap::new(),
            stats: ChannelStats::default(),
        }
    }

    fn lost(&mut self) -> bool {
        self.loss.lost(&mut self.rng)
    }

    fn enqueue(&mut self, now: Instant, packet: T) {
        let mut at = now + self.cfg.latency;
        if self.cfg.reorder > 0.0 && self.rng.chance(self.cfg.reorder) {
            let max = self.cfg.reorder_delay.as_nanos().max(1) as u64;
            at += Duration::from_nanos(self.rng.below(max) + 1);
            self.stats.reordered += 1;
        }
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq)));
        self.items.insert(self.seq, packet);
    }

    /// Offers a packet at `now`.
    pub fn send(&mut self, now: Instant, packet: T) {
        self.stats.sent += 1;
        if self.lost() {
            self.stats.lost += 1;
            return;
        }
        if self.cfg.duplicate > 0.0 && self.rng.chance(self.cfg.duplicate) {
            self.stats.duplicated += 1;
            self.enqueue(now, packet.clone());
        }
        self.enqueue(now, packet);
    }

    /// The next packet due at or before `now`.
    pub fn poll_deliver(&mut self, now: Instant) -> Option<T> {
        match self.queue.peek() {
            Some(Reverse((at, _))) if *at <= now => {
                let Reverse((_, seq)) = self.queue.pop()?;
                self.stats.delivered += 1;
                self.items.remove(&seq)
            }
            _ => None,
        }
    }

    /// When the next packet is due.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse((at, _))| *at)
    }

    /// Counters.
    pub fn stats(&self) -> ChannelStats {
        self.stats
    }
}

/// Sends `packets` through `channel`, one every `pace`, on `clock`, and hands every
/// delivered packet to `deliver(now, packet)`. Returns when the channel is empty.
pub fn drive<F: FnMut(Instant, &[u8])>(
    clock: &mut VirtualClock,
    channel: &mut Channel,
    packets: impl IntoIterator<Item = Vec<u8>>,
    pace: Duration,
    mut deliver: F,
) {
    for p in packets {
        channel.send(clock.now(), p);
        while let Some(d) = channel.poll_deliver(clock.now()) {
            deliver(clock.now(), &d);
        }
        clock.advance(pace);
    }
    while let Some(t) = channel.next_delivery() {
        clock.advance_to(t);
        while let Some(d) = channel.poll_deliver(clock.now()) {
            deliver(clock.now(), &d);
        }
    }
}

/// One datagram from a `flute_sender::Sender`, with what the sender said it carries.
#[derive(Debug, Clone)]
pub struct Tagged {
    /// The datagram.
    pub bytes: Vec<u8>,
    /// TOI (0 for the FDT).
    pub toi: u64,
    /// Source Block Number.
    pub sbn: u32,
    /// Encoding Symbol ID.
    pub esi: u32,
}

/// Runs `sender` on virtual time into `channel` until the sender is closed and the channel
/// empty (or `limit` of virtual time passed), handing each delivered datagram to
/// `deliver(now, tagged)`. The sender's timers are driven; the caller's receiver timers
/// should be driven by the caller after this returns. Returns the number of datagrams
/// sent.
pub fn drive_sender<F: FnMut(Instant, &Tagged)>(
    clock: &mut VirtualClock,
    channel: &mut Channel<Tagged>,
    sender: &mut flute_sender::Sender,
    limit: Duration,
    mut deliver: F,
) -> u64 {
    let end = clock.now() + limit;
    let mut buf = vec![0u8; 65_536];
    let mut sent = 0;
    loop {
        while let Some(t) = sender.poll_transmit(clock.now(), &mut buf) {
            let bytes = buf[..t.len].to_vec();
            channel.send(
                clock.now(),
                Tagged {
                    bytes,
                    toi: u64::try_from(t.toi.0).unwrap_or(u64::MAX),
                    sbn: t.sbn,
                    esi: t.esi,
                },
            );
            sent += 1;
            while let Some(d) = channel.poll_deliver(clock.now()) {
                deliver(clock.now(), &d);
            }
        }
        while let Some(d) = channel.poll_deliver(clock.now()) {
            deliver(clock.now(), &d);
        }
        if sender.is_closed() && channel.next_delivery().is_none() {
            break;
        }
        let next = match (sender.poll_timeout(), channel.next_delivery()) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => break,
        };
        if next > end {
            break;
        }
        // Always move forward, so a timer that is already due cannot spin.
        clock.advance_to(next.max(clock.now() + Duration::from_micros(1)));
        sender.handle_timeout(clock.now());
    }
    sent
}

/// The content encodings [`MiniSender`] applies: the workspace's one
/// [`ContentEncoding`] (`lct-header`'s). `Gzip`; `Zlib`, sent as `deflate` (the HTTP
/// coding, RFC 9110 §8.4.1.2); `Deflate`, raw DEFLATE also sent as `deflate` (what some
/// senders do). Other values send the content as it is, with no Content-Encoding.
pub use lct_header::ContentEncoding;

/// One object for [`MiniSender`].
#[derive(Debug, Clone)]
pub struct ObjectSpec {
    /// TOI.
    pub toi: u64,
    /// Content-Location.
    pub location: String,
    /// Content.
    pub data: Vec<u8>,
    /// Encoding symbol length.
    pub symbol_length: u16,
    /// Maximum source block length.
    pub max_block: u32,
    /// Repair symbols per block, as a fraction of k (rounded up).
    pub repair: f64,
    /// Content-Encoding.
    pub encoding: Option<ContentEncoding>,
    /// Include Content-MD5.
    pub md5: bool,
    /// Put EXT_FTI in every packet (otherwise only in the first of each block's
    /// round, and the FDT carries the OTI).
    pub fti_every_packet: bool,
    /// Override the Content-MD5 (for corruption tests).
    pub md5_override: Option<[u8; 16]>,
    /// Override the Content-Length announced in the FDT.
    pub content_length_override: Option<u64>,
}

impl ObjectSpec {
    /// An object with defaults: E = 64, B = 16, no repair, no encoding, with MD5.
    pub fn new(toi: u64, location: &str, data: Vec<u8>) -> Self {
        Self {
            toi,
            location: location.to_owned(),
            data,
            symbol_length: 64,
            max_block: 16,
            repair: 0.0,
            encoding: None,
            md5: true,
            fti_every_packet: true,
            md5_override: None,
            content_length_override: None,
        }
    }
    /// Sets E.
    pub fn symbol_length(mut self, e: u16) -> Self {
        self.symbol_length = e;
        self
    }
    /// Sets B.
    pub fn max_block(mut self, b: u32) -> Self {
        self.max_block = b;
        self
    }
    /// Sets the repair fraction.
    pub fn repair(mut self, r: f64) -> Self {
        self.repair = r;
        self
    }
    /// Sets the content encoding (see [`ContentEncoding`] for what is applied).
    pub fn encoding(mut self, e: ContentEncoding) -> Self {
        self.encoding = matches!(
            e,
            ContentEncoding::Gzip | ContentEncoding::Zlib | ContentEncoding::Deflate
        )
        .then_some(e);
        self
    }

    fn transport(&self) -> Vec<u8> {
        let compress = |mut w: Box<dyn std::io::Write>| {
            let _ = w.write_all(&self.data);
        };
        match self.encoding {
            None => self.data.clone(),
            Some(ContentEncoding::Gzip) => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                let _ = e.write_all(&self.data);
                e.finish().unwrap_or_default()
            }
            Some(ContentEncoding::Zlib) => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                let _ = e.write_all(&self.data);
                e.finish().unwrap_or_default()
            }
            Some(ContentEncoding::Deflate) => {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
                let _ = e.write_all(&self.data);
                let _ = compress;
                e.finish().unwrap_or_default()
            }
            Some(_) => self.data.clone(),
        }
    }
}

/// Builds an OTI for `scheme` from (L, E, B) and a repair budget: the scheme's own
/// [`FecScheme::oti_for`], or for a scheme that builds none, the plain fields. Returns `None`
/// if the scheme rejects it.
pub fn make_oti(scheme: &dyn FecScheme, l: u64, e: u16, b: u32, repair: f64) -> Option<Oti> {
    let oti = match scheme.oti_for(l, e, Some(b), repair) {
        Ok(oti) => oti,
        Err(fec_schemes::FecError::Unsupported(_)) => {
            let key = scheme.key();
            Oti {
                encoding_id: key.encoding_id,
                instance_id: key.instance_id,
                transfer_length: l,
                encoding_symbol_length: e,
                max_source_block_length: b,
                max_encoding_symbols: None,
                scheme_specific: SchemeSpecific::None,
            }
        }
        Err(_) => return None,
    };
    scheme.validate_oti(&oti).ok()?;
    // Normalise through the scheme's own EXT_FTI codec, so the OTI equals what a receiver
    // reads back (e.g. RaptorQ fills B with the largest block length).
    let mut fti = vec![0u8; scheme.fti_len(&oti)];
    scheme.write_fti(&oti, &mut fti).ok()?;
    scheme.read_fti(&fti).ok()
}

/// Transfer length claimed by [`flood_packet`]: close to RaptorQ's largest (RFC 6330
/// §4.4.1.2), and 32 bytes past a whole number of 65,528-byte symbols, so that the object's
/// last symbol is 32 bytes long.
pub const FLOOD_TRANSFER_LENGTH: u64 = 65_528 * 13_734_586 + 32;

/// One junk ALC packet of a flood (issue 13 §4): a fresh random TSI (or `tsi`) and TOI
/// from `rng`, an EXT_FTI claiming a huge RaptorQ object ([`FLOOD_TRANSFER_LENGTH`] bytes in
/// blocks of 56,403 symbols of 65,528 bytes, so that opening one block needs about 3.7 GB
/// and no symbol of it is ever accepted), and that object's last symbol (32 random bytes):
/// a well-formed packet, which the packet layer accepts, that can never make progress.
pub fn flood_packet(rng: &mut Rng, tsi: Option<u32>) -> Vec<u8> {
    let scheme = fec_schemes::schemes::raptorq::RaptorQ;
    let Some(oti) = make_oti(&scheme, FLOOD_TRANSFER_LENGTH, 65_528, 56_403, 0.0) else {
        return Vec::new();
    };
    let mut fti = vec![0u8; scheme.fti_len(&oti)];
    if scheme.write_fti(&oti, &mut fti).is_err() {
        return Vec::new();
    }
    let tsi = tsi.unwrap_or_else(|| rng.next_u64() as u32);
    // TOI 0 is the FDT: junk objects use 1..=u32::MAX.
    let toi = (rng.next_u64() as u32).max(1);
    let words = 4 + fti.len() / 4;
    let mut v = Vec::with_capacity(words * 4 + 4 + 32);
    v.push(0x10);
    v.push(0b1010_0000);
    v.push(words as u8);
    v.push(FecEncodingId::RAPTORQ.0);
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(&tsi.to_be_bytes());
    v.extend_from_slice(&toi.to_be_bytes());
    v.extend_from_slice(&fti);
    // FEC Payload ID: SBN (8 bits), ESI (24 bits) of the object's last symbol, then it.
    let Some(last) = scheme
        .blocking(&oti)
        .ok()
        .and_then(|b| b.block(u32::try_from(b.blocks.checked_sub(1)?).ok()?).ok())
    else {
        return Vec::new();
    };
    v.push(last.sbn as u8);
    v.extend_from_slice(&(last.source_symbols - 1).to_be_bytes()[1..]);
    v.extend_from_slice(&rng.bytes(32));
    v
}

/// A deliberately simple FLUTE sender for tests: builds FDT and object packets in one go.
/// It is not the production sender (`flute-sender`); it exists so receiver tests can
/// control every byte.
#[derive(Debug, Clone)]
pub struct MiniSender {
    /// TSI.
    pub tsi: u32,
    /// FEC scheme of every object and of the FDT.
    pub scheme: Arc<dyn FecScheme>,
    /// Objects.
    pub objects: Vec<ObjectSpec>,
    /// FDT Instance ID of the next FDT.
    pub fdt_instance: u32,
    /// Symbol length used for the FDT.
    pub fdt_symbol_length: u16,
    /// EXT_CENC for the FDT (1 zlib, 2 deflate, 3 gzip).
    pub fdt_cenc: Option<u8>,
    /// Blocks interleaved together.
    pub interleave: usize,
    /// FDT `Expires` (NTP seconds).
    pub expires: u32,
    /// FDT `Complete`.
    pub complete: bool,
    /// Whether the FDT lists FEC-OTI-* attributes.
    pub fdt_oti: bool,
}

impl MiniSender {
    /// A sender on `tsi` using `scheme`.
    pub fn new(tsi: u32, scheme: Arc<dyn FecScheme>) -> Self {
        Self {
            tsi,
            scheme,
            objects: Vec::new(),
            fdt_instance: 1,
            fdt_symbol_length: 512,
            fdt_cenc: None,
            interleave: 1,
            expires: u32::MAX,
            complete: false,
            fdt_oti: true,
        }
    }

    /// Adds an object.
    pub fn add(&mut self, spec: ObjectSpec) {
        self.objects.push(spec);
    }

    /// Whether this sender's scheme can carry `spec` (e.g. Raptor needs at least 4 source
    /// symbols per block, so it cannot carry a 1-byte object).
    pub fn can_send(&self, spec: &ObjectSpec) -> bool {
        self.oti_of(spec).is_some()
    }

    fn oti_of(&self, spec: &ObjectSpec) -> Option<Oti> {
        let t = spec.transport();
        make_oti(
            self.scheme.as_ref(),
            t.len() as u64,
            spec.symbol_length,
            spec.max_block,
            spec.repair,
        )
    }

    /// The FDT XML for the current objects.
    pub fn fdt_xml(&self) -> String {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let mut x = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<FDT-Instance xmlns=\"urn:ietf:params:xml:ns:fdt\" Expires=\"{}\"{}>\n",
            self.expires,
            if self.complete {
                " Complete=\"true\""
            } else {
                ""
            }
        );
        for o in &self.objects {
            let t = o.transport();
            x.push_str(&format!(
                "  <File TOI=\"{}\" Content-Location=\"{}\" Content-Length=\"{}\" Transfer-Length=\"{}\"",
                o.toi,
                o.location,
                o.content_length_override.unwrap_or(o.data.len() as u64),
                t.len()
            ));
            if let Some(e) = o.encoding {
                x.push_str(match e {
                    ContentEncoding::Gzip => " Content-Encoding=\"gzip\"",
                    _ => " Content-Encoding=\"deflate\"",
                });
            }
            if o.md5 {
                let d: [u8; 16] = o.md5_override.unwrap_or_else(|| Md5::digest(&t).into());
                x.push_str(&format!(" Content-MD5=\"{}\"", b64(&d)));
            }
            if self.fdt_oti {
                if let Some(oti) = self.oti_of(o) {
                    x.push_str(&format!(
                        " FEC-OTI-FEC-Encoding-ID=\"{}\" FEC-OTI-Encoding-Symbol-Length=\"{}\" FEC-OTI-Maximum-Source-Block-Length=\"{}\"",
                        oti.encoding_id.0, oti.encoding_symbol_length, oti.max_source_block_length
                    ));
                    if let Some(i) = oti.instance_id {
                        x.push_str(&format!(" FEC-OTI-FEC-Instance-ID=\"{}\"", i.0));
                    }
                    if let Some(n) = oti.max_encoding_symbols {
                        x.push_str(&format!(" FEC-OTI-Max-Number-of-Encoding-Symbols=\"{n}\""));
                    }
                    let ss = self.scheme.write_scheme_specific_info(&oti);
                    if !ss.is_empty() {
                        x.push_str(&format!(" FEC-OTI-Scheme-Specific-Info=\"{}\"", b64(&ss)));
                    }
                }
            }
            x.push_str("/>\n");
        }
        x.push_str("</FDT-Instance>\n");
        x
    }

    fn header(&self, toi: u64, exts: &[u8], a: bool, b: bool) -> Vec<u8> {
        let words = 4 + exts.len() / 4;
        let mut v = Vec::with_capacity(words * 4);
        v.push(0x10);
        v.push(0b1010_0000 | if a { 2 } else { 0 } | u8::from(b));
        v.push(words as u8);
        v.push(self.scheme.key().encoding_id.0);
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&self.tsi.to_be_bytes());
        v.extend_from_slice(&(toi as u32).to_be_bytes());
        v.extend_from_slice(exts);
        v
    }

    /// Encodes `data` under `oti` into packets: source symbols then `repair` fraction of
    /// repair symbols per block, `interleave` blocks at a time. `ext` is prepended to
    /// every packet's extensions; EXT_FTI is added to every packet if `fti_every` or to
    /// the first packet only otherwise.
    #[allow(clippy::too_many_arguments)]
    fn encode(
        &self,
        toi: u64,
        oti: &Oti,
        data: &[u8],
        repair: f64,
        ext: &[u8],
        fti_every: bool,
    ) -> Vec<Vec<u8>> {
        let scheme = self.scheme.as_ref();
        let mut fti = vec![0u8; scheme.fti_len(oti)];
        let fti_ok = scheme.write_fti(oti, &mut fti).is_ok();
        let Ok(blocking) = scheme.blocking(oti) else {
            return Vec::new();
        };
        let e = usize::from(oti.encoding_symbol_length);
        let mut per_block: Vec<Vec<(PayloadId, Vec<u8>)>> = Vec::new();
        for block in blocking.iter() {
            let start = block.offset as usize;
            let end = start + block.len as usize;
            let Some(slice) = data.get(start..end) else {
                continue;
            };
            let Ok(mut enc) = scheme.encoder(oti, &block, Bytes::copy_from_slice(slice)) else {
                continue;
            };
            let k = block.source_symbols;
            let r = (f64::from(k) * repair).ceil() as u32;
            let limit = enc.esi_limit().min(k.saturating_add(r));
            let mut syms = Vec::new();
            let mut buf = vec![0u8; e];
            for esi in 0..limit {
                if let Ok(n) = enc.write_symbol(esi, &mut buf) {
                    syms.push((
                        PayloadId {
                            sbn: block.sbn,
                            esi,
                            source_block_length: Some(k),
                        },
                        buf[..n].to_vec(),
                    ));
                }
            }
            per_block.push(syms);
        }
        let mut order = Vec::new();
        for group in per_block.chunks(self.interleave.max(1)) {
            let longest = group.iter().map(Vec::len).max().unwrap_or(0);
            for i in 0..longest {
                for b in group {
                    if let Some(s) = b.get(i) {
                        order.push(s);
                    }
                }
            }
        }
        let pl = scheme.payload_id_len();
        let mut out = Vec::new();
        let n = order.len();
        for (i, (id, sym)) in order.into_iter().enumerate() {
            let mut exts = ext.to_vec();
            if fti_ok && (fti_every || i == 0) {
                exts.extend_from_slice(&fti);
            }
            let mut p = self.header(toi, &exts, false, i + 1 == n && toi != 0);
            let at = p.len();
            p.resize(at + pl, 0);
            if scheme.write_payload_id(id, oti, &mut p[at..]).is_err() {
                continue;
            }
            p.extend_from_slice(sym);
            out.push(p);
        }
        out
    }

    /// The packets of the FDT instance (TOI 0, EXT_FDT, optional EXT_CENC, EXT_FTI).
    pub fn fdt_packets(&self) -> Vec<Vec<u8>> {
        let xml = self.fdt_xml().into_bytes();
        let body = match self.fdt_cenc {
            Some(1) => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                let _ = e.write_all(&xml);
                e.finish().unwrap_or_default()
            }
            Some(2) => {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
                let _ = e.write_all(&xml);
                e.finish().unwrap_or_default()
            }
            Some(3) => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                let _ = e.write_all(&xml);
                e.finish().unwrap_or_default()
            }
            _ => xml,
        };
        // Smaller symbols if the scheme needs more symbols per block (Raptor: K >= 4).
        let mut e = self.fdt_symbol_length.max(1);
        let oti = loop {
            if let Some(oti) = make_oti(self.scheme.as_ref(), body.len() as u64, e, 64, 0.5) {
                break oti;
            }
            if e <= 4 {
                return Vec::new();
            }
            e /= 2;
        };
        let mut ext = vec![192, 0x20 | ((self.fdt_instance >> 16) & 0xF) as u8];
        ext.extend_from_slice(&((self.fdt_instance & 0xFFFF) as u16).to_be_bytes());
        if let Some(c) = self.fdt_cenc {
            ext.extend_from_slice(&[193, c, 0, 0]);
        }
        self.encode(0, &oti, &body, 0.5, &ext, true)
    }

    /// The packets of object `toi` (source + repair symbols).
    pub fn object_packets(&self, toi: u64) -> Vec<Vec<u8>> {
        let Some(spec) = self.objects.iter().find(|o| o.toi == toi) else {
            return Vec::new();
        };
        let Some(oti) = self.oti_of(spec) else {
            return Vec::new();
        };
        let t = spec.transport();
        self.encode(toi, &oti, &t, spec.repair, &[], spec.fti_every_packet)
    }

    /// FDT, then every object.
    pub fn carousel_round(&self) -> Vec<Vec<u8>> {
        let mut v = self.fdt_packets();
        for o in &self.objects {
            v.extend(self.object_packets(o.toi));
        }
        v
    }

    /// A packet with the A flag (close session) and no payload beyond an FDT-less data
    /// header: TOI 1, empty symbol.
    pub fn close_session_packet(&self) -> Vec<u8> {
        let mut p = self.header(1, &[], true, false);
        p.extend_from_slice(&[0; 4]);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flood_packet_parses_as_a_huge_raptorq_object() {
        let mut rng = Rng::new(5);
        let p = flood_packet(&mut rng, Some(7));
        let hl = usize::from(p[2]) * 4;
        assert_eq!(&p[8..12], &7u32.to_be_bytes());
        let scheme = fec_schemes::schemes::raptorq::RaptorQ;
        let oti = scheme.read_fti(&p[16..hl]).unwrap();
        assert_eq!(oti.transfer_length, FLOOD_TRANSFER_LENGTH);
        let block = scheme.blocking(&oti).unwrap().block(0).unwrap();
        assert!(u64::from(block.source_symbols) * u64::from(block.symbol_length) > 1 << 30);
        assert_ne!(flood_packet(&mut rng, None)[8..16], p[8..16]);
    }

    #[test]
    fn rng_is_deterministic() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn uniform_loss_rate_is_close() {
        let mut c = Channel::new(ChannelConfig::uniform(0.2), 1);
        let clock = VirtualClock::new();
        for _ in 0..10_000 {
            c.send(clock.now(), vec![0]);
        }
        let lost = c.stats().lost as f64 / 10_000.0;
        assert!((lost - 0.2).abs() < 0.02, "{lost}");
    }

    #[test]
    fn gilbert_elliott_mean_and_bursts() {
        let cfg = ChannelConfig::bursty(0.1, 8.0);
        assert!((cfg.loss.mean_loss() - 0.1).abs() < 1e-9);
        let mut c = Channel::new(cfg, 3);
        let clock = VirtualClock::new();
        for _ in 0..50_000 {
            c.send(clock.now(), vec![0]);
        }
        let lost = c.stats().lost as f64 / 50_000.0;
        assert!((lost - 0.1).abs() < 0.03, "{lost}");
    }

    #[test]
    fn loss_process_stationary_start_has_the_mean_loss_from_the_first_packet() {
        // Gilbert (loss 1 in bad, 0 in good), p = 0.05, r = 0.3: stationary loss 1/7. Over
        // many short runs the first packet is lost at that rate only with the stationary
        // start; a start in the good state would lose it with p = 0.05 only.
        let model = LossModel::GilbertElliott {
            p_good_to_bad: 0.05,
            p_bad_to_good: 0.3,
            loss_good: 0.0,
            loss_bad: 1.0,
        };
        assert!((model.mean_loss() - 1.0 / 7.0).abs() < 1e-12);
        let mut rng = Rng::new(11);
        let runs = 40_000;
        let first_lost = (0..runs)
            .filter(|_| LossProcess::stationary(model, &mut rng).lost(&mut rng))
            .count() as f64
            / f64::from(runs);
        assert!((first_lost - 1.0 / 7.0).abs() < 0.01, "{first_lost}");
        let mut cold = LossProcess::new(model);
        assert!(!cold.is_bad());
        let mut rng = Rng::new(12);
        let lost = (0..200_000).filter(|_| cold.lost(&mut rng)).count() as f64 / 200_000.0;
        assert!((lost - 1.0 / 7.0).abs() < 0.01, "{lost}");
    }

    #[test]
    fn reorder_and_duplicate_deliver_everything() {
        let cfg = ChannelConfig::perfect()
            .with_reorder(0.5, Duration::from_millis(3))
            .with_duplicates(0.1);
        let mut c = Channel::new(cfg, 9);
        let mut clock = VirtualClock::new();
        let mut got = Vec::new();
        drive(
            &mut clock,
            &mut c,
            (0u8..100).map(|i| vec![i]),
            Duration::from_millis(1),
            |_, p| got.push(p[0]),
        );
        assert_eq!(got.len() as u64, 100 + c.stats().duplicated);
        let mut sorted = got.clone();
        sorted.dedup();
        assert_ne!(got, (0u8..100).collect::<Vec<_>>());
    }
}

//! The Monte Carlo engine: one case = one scheme, block shape, loss model and transmission
//! order, simulated over many independent trials on all cores.
//!
//! A trial sends `blocks` source blocks of K symbols, each as ESIs `0..n` (source symbols
//! first, then repair), in the case's transmission order, through the loss model. The
//! receiver pushes every packet that arrives into its block's decoder, and once the decoder
//! says it may decode, tries to decode after every symbol until it succeeds. The number of
//! symbols it had received then is the block's *reception need*; `need - K` is its
//! reception overhead. A block whose decoder never succeeded with all the symbols that
//! arrived is a decoding failure. Every decoded block is compared with the source.
//!
//! The failure-vs-overhead curve comes from the same trials: the decoder fails with the
//! first `K + j` symbols it received if its need is above `K + j`. Only blocks that received
//! at least `K + j` symbols count at `j`. Decoding with more symbols never fails where it
//! succeeded with fewer for the built-in decoders (ML decoding), so one pass gives the
//! whole curve.
//!
//! Reproducibility: trial `i` draws all its randomness (loss, random order) from a generator
//! seeded with a hash of (seed, the case's channel parameters, `i`), so results do not
//! depend on the number of threads or their scheduling, and every scheme of a run sees the
//! same loss pattern in trial `i` (common random numbers: differences between schemes are
//! not sampling noise of the channel). The source data come from the seed alone.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use fec_schemes::{BlockDecoder, FecError};
use flute_testkit::Rng;

use crate::loss::LossSpec;
use crate::scheme::Prepared;
use crate::stats::{Proportion, percentile};
use crate::{SimError, fnv1a, mix64};

/// The order in which the sender transmits the encoding symbols of an object's blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// Block after block; within a block, the source symbols (ESI `0..K`), then the repair
    /// symbols (ESI `K..n`).
    #[value(name = "source-repair", alias = "sequential")]
    SourceRepair,
    /// Round robin over the blocks (symbol `i` of block 0, symbol `i` of block 1, ...),
    /// each block in source-then-repair order: spreads a loss burst over the blocks.
    Interleaved,
    /// A uniformly random permutation of all packets of the object, new in every trial:
    /// the receiver gets random ESI sets.
    Random,
}

impl Order {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::SourceRepair => "source-repair",
            Self::Interleaved => "interleaved",
            Self::Random => "random",
        }
    }
}

/// Everything about a case except the scheme.
#[derive(Debug, Clone)]
pub struct CaseParams {
    /// Source symbols per block.
    pub k: u32,
    /// Symbol size in bytes.
    pub t: u16,
    /// Repair symbols as a fraction of K: the sender sends `K + ceil(K * repair)` per block.
    pub repair: f64,
    /// Source blocks per object (per trial).
    pub blocks: u32,
    /// The loss model.
    pub loss: LossSpec,
    /// The transmission order.
    pub order: Order,
    /// Number of trials (objects).
    pub trials: u64,
    /// The run's seed.
    pub seed: u64,
    /// Confidence level of the intervals, e.g. 0.95.
    pub confidence: f64,
}

impl CaseParams {
    /// Encoding symbols per block the sender would send: `K + ceil(K * repair)`.
    pub fn n(&self) -> u32 {
        let r = (f64::from(self.k) * self.repair).ceil();
        self.k
            .saturating_add(r.clamp(0.0, f64::from(u32::MAX)) as u32)
    }
}

/// One row of the per-case output (CSV and JSON lines).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaseRow {
    /// Scheme name as given.
    pub scheme: String,
    /// FEC Encoding ID actually used.
    pub fec_encoding_id: u8,
    /// FEC Instance ID, for Under-Specified schemes.
    pub fec_instance_id: Option<u16>,
    /// Notes about the scheme's parameters.
    pub note: String,
    /// Source symbols per block.
    pub k: u32,
    /// Symbol size (bytes).
    pub symbol_size: u16,
    /// Repair ratio asked for.
    pub repair: f64,
    /// Encoding symbols sent per block.
    pub n: u32,
    /// Blocks per object.
    pub blocks: u32,
    /// Transmission order.
    pub order: Order,
    /// Loss model.
    pub loss: String,
    /// The model's mean loss rate.
    pub loss_rate: f64,
    /// Loss rate observed over all packets of all trials.
    pub loss_observed: f64,
    /// Objects simulated.
    pub trials: u64,
    /// Blocks simulated (`trials * blocks`).
    pub block_trials: u64,
    /// Blocks not decoded with all the symbols received.
    pub block_failures: u64,
    /// Block decoding failure probability.
    pub p_fail: f64,
    /// Lower confidence bound of `p_fail`.
    pub p_fail_lo: f64,
    /// Upper confidence bound of `p_fail`.
    pub p_fail_hi: f64,
    /// Objects with at least one block not decoded.
    pub object_failures: u64,
    /// Object failure probability.
    pub p_object_fail: f64,
    /// Decoded blocks.
    pub decoded: u64,
    /// Mean reception overhead (symbols received beyond K at decoding) of decoded blocks.
    pub overhead_mean: Option<f64>,
    /// Median reception overhead.
    pub overhead_p50: Option<u32>,
    /// 90th percentile.
    pub overhead_p90: Option<u32>,
    /// 99th percentile.
    pub overhead_p99: Option<u32>,
    /// Largest.
    pub overhead_max: Option<u32>,
    /// P(failure | K received), from the curve.
    pub p_fail_at_k: Option<f64>,
    /// P(failure | K + 1 received).
    pub p_fail_at_k1: Option<f64>,
    /// P(failure | K + 2 received).
    pub p_fail_at_k2: Option<f64>,
    /// Encoding: source bytes per second of one core (encoder set-up and all n symbols),
    /// in MB/s.
    pub encode_mb_s: f64,
    /// Decoding: source bytes per second of decoder time (pushes and decoding attempts) of
    /// the decoded blocks, per core, in MB/s.
    pub decode_mb_s: Option<f64>,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// The run's seed.
    pub seed: u64,
    /// Wall-clock seconds of the case.
    pub seconds: f64,
}

/// One point of the failure-vs-overhead curve of a case.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CurvePoint {
    /// Symbols received beyond K.
    pub overhead: u32,
    /// Blocks that received at least K + overhead symbols.
    pub eligible: u64,
    /// Those whose decoder needed more than K + overhead symbols.
    pub failures: u64,
    /// `failures / eligible`.
    pub p_fail: f64,
    /// Lower confidence bound.
    pub p_fail_lo: f64,
    /// Upper confidence bound.
    pub p_fail_hi: f64,
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The summary row.
    pub row: CaseRow,
    /// Failure probability against overhead, from 0 to the first overhead with no failure.
    pub curve: Vec<CurvePoint>,
    /// The block failure probability with its interval.
    pub fail: Proportion,
}

/// What one block did in one trial.
#[derive(Debug, Clone, Copy, Default)]
struct BlockOut {
    /// Symbols received when it decoded; `u32::MAX` = never decoded.
    need: u32,
    /// Symbols received in all.
    received: u32,
}

const FAILED: u32 = u32::MAX;

#[derive(Debug, Default)]
struct TrialOut {
    lost: u64,
    decode_time: Duration,
}

/// Trials handed to a worker at a time.
const CHUNK: usize = 16;
/// Upper bound of `trials * blocks` (the engine keeps 8 bytes per block trial).
pub const MAX_BLOCK_TRIALS: u64 = 100_000_000;
/// Upper bound of the encoding symbols kept in memory per case (n * T), 1 GiB.
pub const MAX_SYMBOL_BYTES: u64 = 1 << 30;
/// Upper bound of the packets of one trial (n * blocks).
pub const MAX_PACKETS_PER_TRIAL: u64 = 10_000_000;
/// Upper bound of the curve's length.
const MAX_CURVE_POINTS: usize = 100_000;

/// Simulates one case on `threads` threads. `progress` is called with the number of trials
/// just finished.
pub fn simulate(
    p: &Prepared,
    c: &CaseParams,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<CaseResult, SimError> {
    #[allow(clippy::disallowed_methods)] // the simulator measures its own run time
    let started = Instant::now();
    let fec = |source: FecError| SimError::Fec {
        scheme: p.name.clone(),
        k: c.k,
        source,
    };
    let block_trials = c.trials.saturating_mul(u64::from(c.blocks));
    if block_trials > MAX_BLOCK_TRIALS || c.trials == 0 || c.blocks == 0 {
        return Err(SimError::BadArg(format!(
            "trials x blocks must be within 1..={MAX_BLOCK_TRIALS}"
        )));
    }
    let k = p.block.source_symbols;
    let t = usize::from(p.oti.encoding_symbol_length);
    let n = p.n;
    if u64::from(n) * t as u64 > MAX_SYMBOL_BYTES
        || u64::from(n) * u64::from(c.blocks) > MAX_PACKETS_PER_TRIAL
    {
        return Err(SimError::BadArg(format!(
            "n = {n} symbols of {t} bytes in {} blocks: more than {MAX_SYMBOL_BYTES} bytes of \
             symbols or {MAX_PACKETS_PER_TRIAL} packets per trial",
            c.blocks
        )));
    }

    // The source block and all its encoding symbols, once per case.
    let mut data_rng = Rng::new(mix64(c.seed ^ 0xDA7A_DA7A_DA7A_DA7A));
    let data = Bytes::from(data_rng.bytes(p.block.len as usize));
    let mut symbols = vec![0u8; n as usize * t];
    let mut lens = vec![0usize; n as usize];
    {
        let mut enc = p
            .scheme
            .encoder(&p.oti, &p.block, data.clone())
            .map_err(fec)?;
        for (esi, (out, len)) in symbols.chunks_exact_mut(t).zip(&mut lens).enumerate() {
            *len = enc.write_symbol(esi as u32, out).map_err(fec)?;
        }
    }
    let encode_mb_s = measure_encode(p, &data, n, t).map_err(fec)?;

    // The transmission order of the deterministic orders (the random one shuffles it).
    let base: Vec<(u32, u32)> = match c.order {
        Order::SourceRepair | Order::Random => (0..c.blocks)
            .flat_map(|b| (0..n).map(move |e| (b, e)))
            .collect(),
        Order::Interleaved => (0..n)
            .flat_map(|e| (0..c.blocks).map(move |b| (b, e)))
            .collect(),
    };
    // Everything that shapes the channel, and not the scheme: trial i of every scheme sees
    // the same losses.
    let channel_key = fnv1a(
        format!(
            "k={};n={};blocks={};order={};loss={}",
            k,
            n,
            c.blocks,
            c.order.name(),
            c.loss.label()
        )
        .as_bytes(),
    );

    let shared = Shared {
        p,
        c,
        k,
        t,
        data: &data,
        symbols: &symbols,
        lens: &lens,
        base: &base,
        channel_key,
    };
    let blocks = c.blocks as usize;
    let mut outs = vec![BlockOut::default(); block_trials as usize];
    let mut trial_outs: Vec<TrialOut> = (0..c.trials).map(|_| TrialOut::default()).collect();
    let next = AtomicUsize::new(0);
    let abort = AtomicBool::new(false);
    let first_error: Mutex<Option<SimError>> = Mutex::new(None);
    let trials = c.trials as usize;
    // Hand each worker disjoint chunks of the output vectors through a shared queue of
    // chunk indices; the slices are split up front so no locking is needed on results.
    let chunks: Vec<Mutex<Option<Chunk<'_>>>> = outs
        .chunks_mut(CHUNK * blocks)
        .zip(trial_outs.chunks_mut(CHUNK))
        .enumerate()
        .map(|(i, (blocks, trials))| {
            Mutex::new(Some(Chunk {
                first: i * CHUNK,
                blocks,
                trials,
            }))
        })
        .collect();
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, trials.div_ceil(CHUNK)) {
            s.spawn(|| {
                let mut w = Worker::new(&shared);
                loop {
                    if abort.load(Ordering::Relaxed) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = chunks.get(i) else { return };
                    let taken = slot.lock().map(|mut g| g.take()).unwrap_or(None);
                    let Some(chunk) = taken else {
                        continue;
                    };
                    for (j, tout) in chunk.trials.iter_mut().enumerate() {
                        let trial = chunk.first + j;
                        let out = &mut chunk.blocks[j * blocks..(j + 1) * blocks];
                        if let Err(e) = w.trial(trial as u64, out, tout) {
                            abort.store(true, Ordering::Relaxed);
                            if let Ok(mut g) = first_error.lock() {
                                g.get_or_insert(e);
                            }
                            return;
                        }
                    }
                    progress(chunk.trials.len() as u64);
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }

    Ok(aggregate(
        p,
        c,
        &outs,
        &trial_outs,
        encode_mb_s,
        started.elapsed(),
    ))
}

/// Source bytes per second (MB/s) of building an encoder and writing all `n` symbols, on
/// one core: repeated for at least 50 ms (and at most 1000 times).
fn measure_encode(p: &Prepared, data: &Bytes, n: u32, t: usize) -> Result<f64, FecError> {
    let mut buf = vec![0u8; t];
    let mut reps = 0u32;
    #[allow(clippy::disallowed_methods)] // throughput measurement
    let start = Instant::now();
    loop {
        let mut enc = p.scheme.encoder(&p.oti, &p.block, data.clone())?;
        for esi in 0..n {
            enc.write_symbol(esi, &mut buf)?;
        }
        reps += 1;
        if reps >= 1000 || start.elapsed() >= Duration::from_millis(50) {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    Ok(f64::from(reps) * p.block.len as f64 / secs / 1e6)
}

/// A run of consecutive trials and their output slots, handed to one worker.
struct Chunk<'a> {
    first: usize,
    blocks: &'a mut [BlockOut],
    trials: &'a mut [TrialOut],
}

struct Shared<'a> {
    p: &'a Prepared,
    c: &'a CaseParams,
    k: u32,
    t: usize,
    data: &'a Bytes,
    symbols: &'a [u8],
    lens: &'a [usize],
    base: &'a [(u32, u32)],
    channel_key: u64,
}

struct Worker<'a> {
    s: &'a Shared<'a>,
    order: Vec<(u32, u32)>,
    lost: Vec<bool>,
    decoders: Vec<Option<Box<dyn BlockDecoder>>>,
    times: Vec<Duration>,
}

impl<'a> Worker<'a> {
    fn new(s: &'a Shared<'a>) -> Self {
        Self {
            s,
            order: s.base.to_vec(),
            lost: vec![false; s.base.len()],
            decoders: Vec::new(),
            times: vec![Duration::ZERO; s.c.blocks as usize],
        }
    }

    fn trial(
        &mut self,
        trial: u64,
        out: &mut [BlockOut],
        tout: &mut TrialOut,
    ) -> Result<(), SimError> {
        let s = self.s;
        let (k, t) = (s.k, s.t);
        let fec = |source: FecError| SimError::Fec {
            scheme: s.p.name.clone(),
            k,
            source,
        };
        let mut rng = Rng::new(mix64(mix64(s.c.seed ^ s.channel_key) ^ trial));
        if s.c.order == Order::Random {
            self.order.copy_from_slice(s.base);
            for i in (1..self.order.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                self.order.swap(i, j);
            }
        }
        let mut loss = s.c.loss.start(&mut rng);
        for (lost, &(b, _)) in self.lost.iter_mut().zip(&self.order) {
            *lost = loss.lost(&mut rng);
            if !*lost {
                out[b as usize].received += 1;
            } else {
                tout.lost += 1;
            }
        }
        for o in out.iter_mut() {
            o.need = FAILED;
        }
        self.decoders.clear();
        for _ in 0..s.c.blocks {
            self.decoders
                .push(Some(s.p.scheme.decoder(&s.p.oti, &s.p.block).map_err(fec)?));
        }
        self.times.fill(Duration::ZERO);
        let mut pushed = vec![0u32; s.c.blocks as usize];
        let mut open = s.c.blocks;
        for (&lost, &(b, esi)) in self.lost.iter().zip(&self.order) {
            if lost {
                continue;
            }
            let bi = b as usize;
            let Some(dec) = self.decoders[bi].as_mut() else {
                continue;
            };
            let e = esi as usize;
            let sym = &s.symbols[e * t..e * t + s.lens[e]];
            #[allow(clippy::disallowed_methods)] // decoder time
            let t0 = Instant::now();
            dec.push(esi, sym).map_err(fec)?;
            pushed[bi] += 1;
            let mut done = false;
            if dec.is_decodable() {
                match dec.decode() {
                    Ok(bytes) => {
                        self.times[bi] += t0.elapsed();
                        if bytes != *s.data {
                            return Err(SimError::WrongDecode {
                                scheme: s.p.name.clone(),
                                k,
                                trial,
                            });
                        }
                        out[bi].need = pushed[bi];
                        done = true;
                    }
                    Err(FecError::DecodeFailed | FecError::NotEnoughSymbols { .. }) => {
                        self.times[bi] += t0.elapsed();
                    }
                    Err(e) => return Err(fec(e)),
                }
            } else {
                self.times[bi] += t0.elapsed();
            }
            if done {
                self.decoders[bi] = None;
                open -= 1;
                if open == 0 {
                    break;
                }
            }
        }
        tout.decode_time = out
            .iter()
            .zip(&self.times)
            .filter(|(o, _)| o.need != FAILED)
            .map(|(_, d)| *d)
            .sum();
        Ok(())
    }
}

fn aggregate(
    p: &Prepared,
    c: &CaseParams,
    outs: &[BlockOut],
    trial_outs: &[TrialOut],
    encode_mb_s: f64,
    elapsed: Duration,
) -> CaseResult {
    let k = p.block.source_symbols;
    let blocks = c.blocks as usize;
    let block_trials = outs.len() as u64;
    let failures = outs.iter().filter(|o| o.need == FAILED).count() as u64;
    let object_failures = outs
        .chunks(blocks)
        .filter(|t| t.iter().any(|o| o.need == FAILED))
        .count() as u64;
    let mut overheads: Vec<u32> = outs
        .iter()
        .filter(|o| o.need != FAILED)
        .map(|o| o.need.saturating_sub(k))
        .collect();
    overheads.sort_unstable();
    let decoded = overheads.len() as u64;
    let overhead_mean = (decoded > 0)
        .then(|| overheads.iter().map(|&o| f64::from(o)).sum::<f64>() / decoded as f64);
    let sent = block_trials * u64::from(p.n);
    let lost: u64 = trial_outs.iter().map(|t| t.lost).sum();
    let decode_secs: f64 = trial_outs.iter().map(|t| t.decode_time.as_secs_f64()).sum();
    let decode_mb_s = (decoded > 0 && decode_secs > 0.0)
        .then(|| decoded as f64 * p.block.len as f64 / decode_secs / 1e6);

    let curve = curve(outs, k, c.confidence);
    let at = |j: usize| {
        curve.get(j).map(|pt| pt.p_fail).or_else(|| {
            // Past the curve's end nothing failed (if any block was eligible there).
            curve.last().filter(|l| l.failures == 0).map(|_| 0.0)
        })
    };
    let fail = Proportion::new(failures, block_trials, c.confidence);
    let key = p.scheme.key();
    let row = CaseRow {
        scheme: p.name.clone(),
        fec_encoding_id: key.encoding_id.0,
        fec_instance_id: key.instance_id.map(|i| i.0),
        note: p.note.clone().unwrap_or_default(),
        k,
        symbol_size: p.oti.encoding_symbol_length,
        repair: c.repair,
        n: p.n,
        blocks: c.blocks,
        order: c.order,
        loss: c.loss.label(),
        loss_rate: c.loss.mean_loss(),
        loss_observed: if sent == 0 {
            0.0
        } else {
            lost as f64 / sent as f64
        },
        trials: c.trials,
        block_trials,
        block_failures: failures,
        p_fail: fail.p,
        p_fail_lo: fail.lo,
        p_fail_hi: fail.hi,
        object_failures,
        p_object_fail: object_failures as f64 / c.trials as f64,
        decoded,
        overhead_mean,
        overhead_p50: percentile(&overheads, 50.0),
        overhead_p90: percentile(&overheads, 90.0),
        overhead_p99: percentile(&overheads, 99.0),
        overhead_max: overheads.last().copied(),
        p_fail_at_k: at(0),
        p_fail_at_k1: at(1),
        p_fail_at_k2: at(2),
        encode_mb_s,
        decode_mb_s,
        confidence: c.confidence,
        seed: c.seed,
        seconds: elapsed.as_secs_f64(),
    };
    CaseResult { row, curve, fail }
}

/// P(failure | the first K + j symbols received) for j = 0, 1, ... up to and including the
/// first j without failure (or the largest j any block reached).
fn curve(outs: &[BlockOut], k: u32, confidence: f64) -> Vec<CurvePoint> {
    let max_extra = outs
        .iter()
        .map(|o| o.received.saturating_sub(k))
        .max()
        .unwrap_or(0) as usize;
    if outs.iter().all(|o| o.received < k) {
        return Vec::new();
    }
    let len = (max_extra + 1).min(MAX_CURVE_POINTS);
    // Difference arrays: a block is eligible at j <= received - K, and fails at
    // j <= min(received, need - 1) - K.
    let mut eligible = vec![0i64; len + 1];
    let mut failing = vec![0i64; len + 1];
    for o in outs.iter().filter(|o| o.received >= k) {
        let top = ((o.received - k) as usize).min(len - 1);
        eligible[0] += 1;
        eligible[top + 1] -= 1;
        let last_failing = if o.need == FAILED {
            o.received
        } else {
            o.need.saturating_sub(1).min(o.received)
        };
        if last_failing >= k {
            let top = ((last_failing - k) as usize).min(len - 1);
            failing[0] += 1;
            failing[top + 1] -= 1;
        }
    }
    let mut out = Vec::new();
    let (mut e, mut f) = (0i64, 0i64);
    for j in 0..len {
        e += eligible[j];
        f += failing[j];
        if e <= 0 {
            break;
        }
        let prop = Proportion::new(f as u64, e as u64, confidence);
        out.push(CurvePoint {
            overhead: j as u32,
            eligible: e as u64,
            failures: f as u64,
            p_fail: prop.p,
            p_fail_lo: prop.lo,
            p_fail_hi: prop.hi,
        });
        if f == 0 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bo(need: u32, received: u32) -> BlockOut {
        BlockOut { need, received }
    }

    #[test]
    fn curve_counts_eligible_and_failing_blocks() {
        // K = 10: needs 10, 11, 12 and a failure with 11 received, one block with 9.
        let outs = [
            bo(10, 15),
            bo(11, 11),
            bo(12, 20),
            bo(FAILED, 11),
            bo(FAILED, 9),
        ];
        let c = curve(&outs, 10, 0.95);
        let got: Vec<(u32, u64, u64)> = c
            .iter()
            .map(|p| (p.overhead, p.eligible, p.failures))
            .collect();
        // j=0: 4 eligible; fail: need 11, need 12, failed. j=1: 4 eligible (15, 11, 20, 11);
        // fail: need 12, failed. j=2: eligible 15, 20; fail: none -> stop.
        assert_eq!(got, [(0, 4, 3), (1, 4, 2), (2, 2, 0)]);
    }

    #[test]
    fn n_is_k_plus_ceil_k_times_repair() {
        let c = CaseParams {
            k: 256,
            t: 16,
            repair: 0.2,
            blocks: 1,
            loss: LossSpec::Model(flute_testkit::LossModel::None),
            order: Order::SourceRepair,
            trials: 1,
            seed: 1,
            confidence: 0.95,
        };
        assert_eq!(c.n(), 256 + 52);
    }
}

//! Decoding on other threads (issue 19 §1): with `ReceiverConfig::decode_jobs`, jobs run on
//! worker threads or completed in reverse order give the same events, in the same order,
//! and the same objects as decoding inside `handle_datagram`. The jobs are block decodes
//! and content pieces (Content-MD5 and content decoding, RFC 6726 §3.4.2 and the FDT's
//! Content-Encoding): objects with both, and objects whose content is corrupt, are in the
//! session.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use fec_schemes::FecRegistry;
use flute_receiver::{
    DecodeDone, DecodeJob, Endpoint, FixedWallClock, Receiver, ReceiverConfig, ReceiverEvent,
};
use flute_sender::{
    AnchoredClock, ContentEncoding, Object, Repair, Sender, SenderConfig, Toi, Tsi,
};
use flute_testkit::{Rng, VirtualClock, make_oti};

/// The first TOI of the content objects (`session`), sent whole.
const CONTENT_TOI: u128 = 200;
/// Of these, the ones with one byte of one packet flipped: a corrupt gzip stream (with
/// Content-MD5), and a wrong Content-MD5.
const CORRUPT: [u128; 2] = [203, 204];

/// Datagrams of a session with one object per built-in scheme (several blocks each, with
/// Content-MD5, every other one gzip-encoded), 8 % of them dropped by a seeded coin, plus a
/// No-Code object sent whole, and No-Code objects of several blocks sent whole with
/// Content-MD5 and gzip, deflate or no content encoding, two of them corrupt (`CORRUPT`).
fn session(drop_seed: u64) -> Vec<Vec<u8>> {
    let mut clock = VirtualClock::new();
    let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let cfg = SenderConfig::new(Tsi(4), Arc::new(AnchoredClock::new(clock.now(), wall)));
    let mut tx = Sender::new(cfg).unwrap();
    let reg = FecRegistry::with_builtin();
    let mut rng = Rng::new(19);
    for (i, scheme) in reg.iter().enumerate() {
        let len = 40_000 + 997 * i as u64;
        let Some(oti) = make_oti(scheme.as_ref(), len, 256, 32, 0.5) else {
            continue;
        };
        let enc = if i % 2 == 0 {
            ContentEncoding::Gzip
        } else {
            ContentEncoding::Null
        };
        let obj = Object::from_bytes(format!("o{i}.bin"), Bytes::from(rng.bytes(len as usize)))
            .fec(oti)
            .repair(Repair::Percent(50))
            .interleave(2)
            .content_encoding(enc)
            .content_md5(true);
        tx.insert_object(obj, clock.now()).unwrap();
    }
    let nocode = reg.iter().find(|s| s.key().encoding_id.0 == 0).unwrap();
    let encodings = [
        ContentEncoding::Gzip,
        ContentEncoding::Null,
        ContentEncoding::Deflate,
        ContentEncoding::Gzip,
        ContentEncoding::Null,
    ];
    for (j, enc) in encodings.into_iter().enumerate() {
        // Compressible content, so that the encoded objects still have several blocks.
        let len = 60_000 + 1_003 * j;
        let data: Vec<u8> = (0..len)
            .map(|k| {
                if k % 7 == 0 {
                    rng.bytes(1)[0]
                } else {
                    (k % 13) as u8
                }
            })
            .collect();
        let oti = make_oti(nocode.as_ref(), len as u64, 256, 8, 0.0).unwrap();
        let obj = Object::from_bytes(format!("c{j}.bin"), Bytes::from(data))
            .toi(Toi(CONTENT_TOI + j as u128))
            .fec_with(move |l| {
                let mut o = oti.clone();
                o.transfer_length = l;
                o
            })
            .content_encoding(enc)
            .content_md5(true);
        tx.insert_object(obj, clock.now()).unwrap();
    }
    tx.insert_object(
        Object::from_bytes("plain.bin", Bytes::from(rng.bytes(30_000))),
        clock.now(),
    )
    .unwrap();
    tx.close();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 2048];
    let mut drop = Rng::new(drop_seed);
    let mut sent = std::collections::HashMap::<u128, usize>::new();
    for _ in 0..1_000_000 {
        while let Some(t) = tx.poll_transmit(clock.now(), &mut buf) {
            let n = sent.entry(t.toi.0).or_default();
            *n += 1;
            let mut p = buf[..t.len].to_vec();
            if CORRUPT.contains(&t.toi.0) && *n == 4 {
                // The fourth packet of the object: its last byte is content.
                *p.last_mut().unwrap() ^= 0x5A;
            }
            if t.toi.0 == 0 || t.toi.0 >= CONTENT_TOI || drop.below(100) >= 8 {
                out.push(p);
            }
        }
        match tx.poll_timeout() {
            Some(t) => clock.advance_to(t),
            None => break,
        }
        tx.handle_timeout(clock.now());
    }
    assert!(tx.is_closed());
    out
}

fn receiver(jobs: bool) -> Receiver {
    let mut cfg = ReceiverConfig::default();
    cfg.wall_clock = Some(Arc::new(FixedWallClock(
        UNIX_EPOCH + Duration::from_secs(1_800_000_001),
    )));
    cfg.decode_jobs = jobs;
    Receiver::new(cfg)
}

/// Events as text, and the delivered objects.
fn record(ev: ReceiverEvent, log: &mut Vec<String>) {
    log.push(format!("{ev:?}"));
}

#[derive(Clone, Copy, Debug)]
enum Runner {
    Threads,
    Reversed,
    /// After each packet, a seeded coin finishes zero or more held jobs, picked at random:
    /// older jobs often wait behind younger ones.
    Random(u64),
    /// Like worker threads, deterministically: each job finishes 0 to 23 packets after it
    /// was handed out (seeded), so a failed decode meets the next packets of its block
    /// while a younger job is still out.
    Lagged(u64),
}

fn run_with_jobs(packets: &[Vec<u8>], runner: Runner) -> (Vec<String>, usize) {
    let mut rx = receiver(true);
    let mut clock = VirtualClock::new();
    let mut log = Vec::new();
    let (jtx, jrx) = mpsc::channel::<DecodeJob>();
    let jrx = Arc::new(Mutex::new(jrx));
    let (dtx, drx) = mpsc::channel::<DecodeDone>();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let jrx = Arc::clone(&jrx);
            let dtx = dtx.clone();
            std::thread::spawn(move || {
                loop {
                    let job = jrx.lock().unwrap().recv();
                    let Ok(job) = job else { return };
                    if dtx.send(job.run()).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    let mut held: VecDeque<DecodeJob> = VecDeque::new();
    let mut coin = Rng::new(match runner {
        Runner::Random(seed) | Runner::Lagged(seed) => seed,
        _ => 1,
    });
    let mut lagged: VecDeque<(usize, DecodeJob)> = VecDeque::new();
    let mut jobs = 0;
    for (i, p) in packets.iter().enumerate() {
        clock.advance(Duration::from_micros(100));
        rx.handle_datagram(clock.now(), Endpoint::default(), p);
        // Jobs come from datagrams and from results given back (an object's next content
        // piece waits for the one before).
        while let Some(job) = rx.poll_work() {
            jobs += 1;
            match runner {
                Runner::Threads => jtx.send(job).unwrap(),
                Runner::Reversed | Runner::Random(_) => held.push_back(job),
                Runner::Lagged(_) => lagged.push_back((i + coin.below(24) as usize, job)),
            }
        }
        match runner {
            Runner::Threads => {
                while let Ok(done) = drx.try_recv() {
                    rx.complete(done);
                }
            }
            // Every 50 packets, the held jobs finish newest first.
            Runner::Reversed if i % 50 == 49 => {
                while let Some(job) = held.pop_back() {
                    rx.complete(job.run());
                }
            }
            Runner::Reversed => {}
            Runner::Lagged(_) => {
                while lagged.front().is_some_and(|(due, _)| *due <= i) {
                    if let Some((_, job)) = lagged.pop_front() {
                        rx.complete(job.run());
                    }
                }
            }
            Runner::Random(_) => {
                while !held.is_empty() && coin.below(2) == 0 {
                    let i = coin.below(held.len() as u64) as usize;
                    if let Some(job) = held.remove(i) {
                        rx.complete(job.run());
                    }
                }
            }
        }
        while let Some(ev) = rx.poll_event() {
            record(ev, &mut log);
        }
    }
    // The rest, in the runner's order where it has one; jobs that results release run as
    // they come.
    loop {
        let job = held
            .pop_back()
            .or_else(|| lagged.pop_front().map(|(_, j)| j));
        match job {
            Some(job) => rx.complete(job.run()),
            None if matches!(runner, Runner::Threads) && rx.jobs_pending() > 0 => {
                rx.complete(drx.recv().unwrap());
            }
            None => {}
        }
        let mut any = false;
        while let Some(job) = rx.poll_work() {
            jobs += 1;
            any = true;
            match runner {
                Runner::Threads => jtx.send(job).unwrap(),
                _ => held.push_back(job),
            }
        }
        if !any && held.is_empty() && lagged.is_empty() && rx.jobs_pending() == 0 {
            break;
        }
    }
    drop(jtx);
    for w in workers {
        w.join().unwrap();
    }
    finish(&mut rx, &mut clock, &mut log);
    (log, jobs)
}

fn finish(rx: &mut Receiver, clock: &mut VirtualClock, log: &mut Vec<String>) {
    while let Some(ev) = rx.poll_event() {
        record(ev, log);
    }
    for _ in 0..100 {
        let Some(t) = rx.poll_timeout() else { break };
        clock.advance_to(t);
        rx.handle_timeout(clock.now());
        while let Some(ev) = rx.poll_event() {
            record(ev, log);
        }
    }
}

#[test]
fn decode_jobs_give_the_same_events_in_the_same_order() {
    for seed in [7, 8, 9, 10] {
        same_events(seed);
    }
}

fn same_events(seed: u64) {
    let packets = session(seed);
    let mut plain = receiver(false);
    let mut clock = VirtualClock::new();
    let mut expected = Vec::new();
    for p in &packets {
        clock.advance(Duration::from_micros(100));
        plain.handle_datagram(clock.now(), Endpoint::default(), p);
        assert!(plain.poll_work().is_none(), "no jobs without decode_jobs");
        while let Some(ev) = plain.poll_event() {
            record(ev, &mut expected);
        }
    }
    finish(&mut plain, &mut clock, &mut expected);
    let complete = expected
        .iter()
        .filter(|e| e.starts_with("ObjectComplete"))
        .count();
    assert!(complete >= 6, "objects delivered without jobs: {complete}");
    // The content objects: three delivered, the corrupt ones failed with the typed reason
    // of their fault (corrupt gzip: a decoding error or, past the decoder, Content-MD5).
    for j in 0..5u128 {
        let toi = format!("toi: Toi({}),", CONTENT_TOI + j);
        let line = expected
            .iter()
            .find(|e| {
                (e.starts_with("ObjectComplete") || e.starts_with("ObjectFailed"))
                    && e.contains(&toi)
            })
            .unwrap_or_else(|| panic!("no outcome for TOI {}", CONTENT_TOI + j));
        match CONTENT_TOI + j {
            203 => assert!(
                line.contains("ContentDecoding") || line.contains("Md5Mismatch"),
                "{line}"
            ),
            204 => assert!(line.contains("Md5Mismatch"), "{line}"),
            _ => assert!(line.starts_with("ObjectComplete"), "{line}"),
        }
    }
    let runners = [Runner::Threads, Runner::Reversed]
        .into_iter()
        .chain((0..4).map(|k| Runner::Random(seed * 1000 + k)))
        .chain((0..8).map(|k| Runner::Lagged(seed * 1000 + k)));
    for runner in runners {
        let (got, jobs) = run_with_jobs(&packets, runner);
        assert!(jobs >= 10, "{runner:?}: {jobs} decode jobs");
        let first = got.iter().zip(&expected).position(|(a, b)| a != b);
        if let Some(i) = first {
            for k in i.saturating_sub(6)..(i + 4).min(got.len()) {
                eprintln!("GOT {k}: {}", &got[k][..got[k].len().min(200)]);
            }
            for k in i.saturating_sub(6)..(i + 4).min(expected.len()) {
                eprintln!("EXP {k}: {}", &expected[k][..expected[k].len().min(200)]);
            }
        }
        assert_eq!(
            first.map(|i| (&got[i], &expected[i])),
            None,
            "seed {seed} {runner:?}: first differing event"
        );
        assert_eq!(
            got.len(),
            expected.len(),
            "seed {seed} {runner:?}: event count"
        );
    }
}

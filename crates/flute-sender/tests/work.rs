//! Coding ahead on other threads (issue 19 §1): with encode jobs run on worker threads in
//! whatever order they finish, the sender emits exactly the packets, in exactly the order,
//! that it emits with no jobs at all.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::VecDeque;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use fec_schemes::FecRegistry;
use flute_sender::{Carousel, EncodeDone, EncodeJob, Object, Repair, Sender, SenderConfig};

/// How the jobs are run.
#[derive(Clone, Copy, Debug)]
enum Runner {
    /// No jobs (`encode_ahead` 0).
    None,
    /// Worker threads with random delays; results taken as they come.
    Threads,
    /// On the driving thread, completed in reverse order of hand-out.
    Reversed,
}

fn objects(reg: &FecRegistry) -> Vec<Object> {
    let mut out = Vec::new();
    for (i, scheme) in reg.iter().enumerate() {
        let len = 20_000 + 3_001 * i;
        let Some(oti) = oti_for(&**scheme, len as u64, 1000) else {
            continue;
        };
        out.push(
            Object::from_bytes(format!("file:///o{i}.bin"), data(len, i as u8))
                .fec(oti)
                .repair(Repair::Percent(50))
                .interleave(1 + (i as u32 % 3))
                .carousel(Carousel::Times {
                    times: 2,
                    interval: Duration::from_millis(5),
                }),
        );
    }
    out
}

struct Pool {
    tx: Option<mpsc::Sender<EncodeJob>>,
    rx: mpsc::Receiver<EncodeDone>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Pool {
    fn new(threads: usize) -> Self {
        let (jtx, jrx) = mpsc::channel::<EncodeJob>();
        let jrx = std::sync::Arc::new(std::sync::Mutex::new(jrx));
        let (dtx, drx) = mpsc::channel();
        let handles = (0..threads)
            .map(|w| {
                let jrx = jrx.clone();
                let dtx = dtx.clone();
                std::thread::spawn(move || {
                    let mut x = w as u64 * 0x9e37_79b9_7f4a_7c15 + 1;
                    loop {
                        let job = jrx.lock().unwrap().recv();
                        let Ok(job) = job else { return };
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        std::thread::sleep(Duration::from_micros(x % 300));
                        if dtx.send(job.run()).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        Self {
            tx: Some(jtx),
            rx: drx,
            handles,
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.tx.take();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// Sends everything on virtual time and returns the datagrams, plus how many jobs ran
/// and how often the sender waited for one.
fn run(runner: Runner) -> (Vec<Vec<u8>>, usize, usize) {
    let reg = FecRegistry::with_builtin();
    let t0 = t0();
    let mut cfg: SenderConfig = config(t0);
    cfg.encode_ahead = match runner {
        Runner::None => 0,
        _ => 6,
    };
    let mut s = Sender::new(cfg).unwrap();
    for o in objects(&reg) {
        s.insert_object(o, t0).unwrap();
    }
    s.close();
    let pool = matches!(runner, Runner::Threads).then(|| Pool::new(2));
    let mut held: VecDeque<EncodeJob> = VecDeque::new();
    let (mut jobs, mut waits) = (0, 0);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1500];
    let mut now: Instant = t0;
    for _ in 0..1_000_000 {
        // Hand out what the sender offers; take back what is finished.
        while let Some(job) = s.poll_work() {
            jobs += 1;
            match &pool {
                Some(p) => p.tx.as_ref().unwrap().send(job).unwrap(),
                None => held.push_back(job),
            }
        }
        if let Some(p) = &pool {
            while let Ok(done) = p.rx.try_recv() {
                s.complete(done);
            }
        }
        if let Some(t) = s.poll_transmit(now, &mut buf) {
            out.push(buf[..t.len].to_vec());
            continue;
        }
        if s.is_waiting_for_work() {
            waits += 1;
            match &pool {
                Some(p) => s.complete(p.rx.recv().unwrap()),
                None => {
                    // Reversed: run and give back every held job, newest first.
                    while let Some(job) = held.pop_back() {
                        s.complete(job.run());
                    }
                }
            }
            continue;
        }
        if s.is_closed() {
            break;
        }
        match s.poll_timeout() {
            Some(t) if t > now => now = t,
            _ => break,
        }
    }
    assert!(s.is_closed(), "{runner:?}: the session ended");
    if let Some(p) = &pool {
        while s.jobs_in_flight() > 0 {
            s.complete(p.rx.recv().unwrap());
        }
    }
    while let Some(job) = held.pop_back() {
        s.complete(job.run());
    }
    assert_eq!(s.jobs_in_flight(), 0);
    (out, jobs, waits)
}

#[test]
fn jobs_on_threads_give_the_same_packets_in_the_same_order() {
    let (plain, jobs0, _) = run(Runner::None);
    assert_eq!(jobs0, 0, "no jobs without encode_ahead");
    assert!(plain.len() > 500, "{} packets", plain.len());
    for runner in [Runner::Threads, Runner::Reversed] {
        let (got, jobs, waits) = run(runner);
        assert!(jobs > 10, "{runner:?}: {jobs} jobs ran");
        assert_eq!(got.len(), plain.len(), "{runner:?}: packet count");
        let first = got.iter().zip(&plain).position(|(a, b)| a != b);
        assert_eq!(first, None, "{runner:?}: first differing packet");
        eprintln!("{runner:?}: {jobs} jobs, waited {waits} times");
    }
}

/// Removing an object while its jobs run: the late results are dropped, nothing hangs.
#[test]
fn removal_with_jobs_in_flight() {
    let reg = FecRegistry::with_builtin();
    let t0 = t0();
    let mut cfg = config(t0);
    cfg.encode_ahead = 4;
    let mut s = Sender::new(cfg).unwrap();
    let objs = objects(&reg);
    let mut tois = Vec::new();
    for o in objs {
        tois.push(s.insert_object(o, t0).unwrap());
    }
    let mut jobs = Vec::new();
    while let Some(j) = s.poll_work() {
        jobs.push(j);
    }
    assert_eq!(jobs.len(), 4, "encode_ahead bounds the jobs");
    assert_eq!(s.jobs_in_flight(), 4);
    let victim = jobs[0].toi();
    s.remove_object(victim).unwrap();
    for j in jobs {
        s.complete(j.run());
    }
    assert_eq!(s.jobs_in_flight(), 0);
    s.close();
    let (sent, _) = drive(&mut s, t0, 1_000_000);
    assert!(s.is_closed());
    assert!(
        sent.iter().all(|p| p.t.toi != victim),
        "nothing of the removed object"
    );
}

//! Live delivery in the sender (issue 17 §2): object deadlines and priority preemption,
//! on virtual time through the sans-IO API.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use fec_schemes::FecRegistry;
use flute_sender::{Carousel, FdtCarousel, Object, Pacing, PacingUnit, Sender, SenderEvent, Toi};

fn events(s: &mut Sender) -> Vec<SenderEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// Wire bytes (datagram + 28 bytes IPv4/UDP) of `sent`.
fn wire(sent: &[Sent]) -> u64 {
    sent.iter().map(|p| p.t.len as u64 + 28).sum()
}

/// A deadline under a rate limit: the object that cannot make it stops at its deadline
/// (no packet at or after it, no close-object flag), is counted and reported, and the
/// next FDT instance no longer lists it; the object without deadline still completes.
#[test]
fn deadline_expires_under_a_rate_limit() {
    let t0 = t0();
    let mut c = config(t0);
    // 1 Mbit/s on the wire: 125 kB/s, so a 100 kB object needs about 0.8 s.
    c.pacing = Some(Pacing {
        bits_per_second: 1_000_000,
        burst_bytes: 2000,
        unit: PacingUnit::Wire,
        overhead: 28,
    });
    c.fdt_carousel = FdtCarousel {
        interval: Some(Duration::from_millis(100)),
        ..FdtCarousel::default()
    };
    let mut s = Sender::new(c).unwrap();
    let deadline = t0 + Duration::from_millis(300);
    let late = s
        .insert_object(
            Object::from_bytes("live/seg1.m4s", data(100_000, 1)).deadline(deadline),
            t0,
        )
        .unwrap();
    let steady = s
        .insert_object(Object::from_bytes("live/init.mp4", data(20_000, 2)), t0)
        .unwrap();
    // Run until both are done (the expired one by its deadline), then close.
    let (mut sent, now) = drive(&mut s, t0, 2000);
    assert!(now >= deadline);
    s.close();
    let (rest, _) = drive(&mut s, now, 2000);
    sent.extend(rest);
    assert!(
        s.is_closed(),
        "{:?} {:?} {:?}",
        s.stats(),
        sent.len(),
        events(&mut s)
    );

    let of = |toi: Toi| sent.iter().filter(move |p| p.t.toi == toi);
    assert!(of(late).count() > 0, "it started before its deadline");
    assert!(
        of(late).all(|p| p.at < deadline),
        "nothing at or after the deadline"
    );
    assert!(of(late).count() < 100, "it did not complete (100 symbols)");
    assert!(of(late).all(|p| !p.t.close_object));
    assert_eq!(of(steady).filter(|p| p.t.close_object).count(), 1);
    let st = s.stats();
    assert_eq!(st.objects_expired, 1);
    assert_eq!(st.objects_sent, 1);
    let ev = events(&mut s);
    assert!(
        ev.contains(&SenderEvent::ObjectExpired { toi: late }),
        "{ev:?}"
    );
    assert!(!ev.contains(&SenderEvent::ObjectExpired { toi: steady }));

    // FDT: instances sent after the deadline do not describe the expired object.
    let reg = FecRegistry::with_builtin();
    let instances = fdt_instances(&reg, &sent);
    let first_after = sent
        .iter()
        .filter(|p| p.t.toi == Toi(0) && p.at > deadline)
        .filter_map(|p| p.t.fdt_instance_id)
        .next()
        .expect("an FDT instance after the deadline");
    let inst = &instances[&first_after];
    assert!(inst.files.iter().all(|f| f.toi != late.0), "{inst:?}");
    assert!(
        instances
            .values()
            .any(|i| i.files.iter().any(|f| f.toi == late.0))
    );
}

/// An object sent completely before its deadline is not expired, and the deadline does
/// not hold back the session's end.
#[test]
fn deadline_met_is_not_counted() {
    let t0 = t0();
    let mut s = Sender::new(config(t0)).unwrap();
    let toi = s
        .insert_object(
            Object::from_bytes("a", data(5000, 3)).deadline(t0 + Duration::from_secs(10)),
            t0,
        )
        .unwrap();
    s.close();
    let (sent, _) = drive(&mut s, t0, 1000);
    assert!(s.is_closed());
    assert!(sent.iter().any(|p| p.t.toi == toi && p.t.close_object));
    assert_eq!(s.stats().objects_expired, 0);
    assert_eq!(s.stats().objects_sent, 1);
}

/// A deadline already past at insertion: nothing of the object is sent.
#[test]
fn deadline_in_the_past_sends_nothing() {
    let t0 = t0();
    let mut s = Sender::new(config(t0)).unwrap();
    let now = t0 + Duration::from_secs(1);
    let toi = s
        .insert_object(Object::from_bytes("a", data(5000, 4)).deadline(t0), now)
        .unwrap();
    let (sent, _) = drive(&mut s, now, 1000);
    assert!(sent.iter().all(|p| p.t.toi != toi));
    assert_eq!(s.stats().objects_expired, 1);
}

/// Priority preemption under pacing: a low-priority object repeated by the carousel is on
/// the air when a high-priority object arrives. From the next packet on, only the new FDT
/// instance and then the new object's data go out until it is complete, and the paced
/// rate holds across the switch.
#[test]
fn high_priority_object_preempts_a_carousel() {
    let t0 = t0();
    let mut c = config(t0);
    let rate = 2_000_000u64;
    let burst = 3000u64;
    c.pacing = Some(Pacing {
        bits_per_second: rate,
        burst_bytes: burst,
        unit: PacingUnit::Wire,
        overhead: 28,
    });
    let mut s = Sender::new(c).unwrap();
    let low = s
        .insert_object(
            Object::from_bytes("carousel/big", data(200_000, 5))
                .priority(0)
                .carousel(Carousel::UntilRemoved {
                    interval: Duration::ZERO,
                }),
            t0,
        )
        .unwrap();
    // Let the carousel run for half a second.
    let mut sent = Vec::new();
    let mut buf = vec![0u8; 1500];
    let mut now = t0;
    let switch = t0 + Duration::from_millis(500);
    while now < switch {
        match s.poll_transmit(now, &mut buf) {
            Some(t) => sent.push(Sent {
                t,
                at: now,
                bytes: buf[..t.len].to_vec(),
            }),
            None => now = s.poll_timeout().unwrap().min(switch),
        }
    }
    assert!(sent.iter().filter(|p| p.t.toi == low).count() > 50);
    let before = sent.len();
    let high = s
        .insert_object(
            Object::from_bytes("live/seg7.m4s", data(30_000, 6)).priority(9),
            now,
        )
        .unwrap();
    let (after, end) = {
        let mut out = Vec::new();
        while !out
            .iter()
            .any(|p: &Sent| p.t.toi == high && p.t.close_object)
        {
            match s.poll_transmit(now, &mut buf) {
                Some(t) => out.push(Sent {
                    t,
                    at: now,
                    bytes: buf[..t.len].to_vec(),
                }),
                None => now = s.poll_timeout().unwrap(),
            }
            assert!(out.len() < 1000, "the high-priority object never completed");
        }
        (out, now)
    };
    // Nothing of the carousel between the insertion and the end of the new object: only
    // FDT packets, then its data.
    let intruders: Vec<_> = after.iter().filter(|p| p.t.toi == low).collect();
    assert!(intruders.is_empty(), "{} carousel packets", intruders.len());
    let first_data = after.iter().position(|p| p.t.toi == high).unwrap();
    assert!(after[..first_data].iter().all(|p| p.t.toi == Toi(0)));
    assert_eq!(after.iter().filter(|p| p.t.toi == high).count(), 30);
    // The carousel resumes afterwards.
    let (more, _) = drive(&mut s, end, 20);
    assert!(more.iter().any(|p| p.t.toi == low));
    // The rate holds across the switch: what left from the switch to the end is within
    // the token bucket's allowance (rate over the interval plus one burst and one packet).
    let elapsed = (end - switch).as_secs_f64();
    let allowed = rate as f64 / 8.0 * elapsed + burst as f64 + 1500.0;
    assert!(
        (wire(&after) as f64) <= allowed,
        "{} bytes in {elapsed} s",
        wire(&after)
    );
    // And it was not idle either: the new object went out at the paced rate.
    assert!((wire(&after) as f64) >= rate as f64 / 8.0 * elapsed * 0.9);
    assert!(before > 0);
}

/// `set_priority` on an object the sender does not have is a typed error.
#[test]
fn set_priority_unknown_object() {
    let t0 = t0();
    let mut s = Sender::new(config(t0)).unwrap();
    assert!(matches!(
        s.set_priority(Toi(7), 1),
        Err(flute_sender::SendError::UnknownToi(Toi(7)))
    ));
    let toi = s
        .insert_object(Object::from_bytes("a", data(100, 1)), t0)
        .unwrap();
    s.set_priority(toi, 3).unwrap();
    s.close();
    let (sent, _) = drive(&mut s, t0, 100);
    assert!(sent.iter().any(|p| p.t.toi == toi && p.t.close_object));
}

//! Objects: from the first symbol to delivery or failure (decoding, the sink, timeouts,
//! eviction, events).

use std::sync::Arc;
use std::time::Instant;

use fec_schemes::FecEncodingId;

use crate::assembly::{Assembly, Pushed};
use crate::config::ReceiverConfig;
use crate::fdt_model::fdt_file_oti;
use crate::liveness::{Liveness, Standing, pick_victim};
use crate::work::{DecodeJob, JobKind};
use fdt::File as FdtFile;
use lct_header::{ContentEncoding, Toi};

use crate::events::*;
use crate::packet::LctView;
use crate::pipeline::{Pipeline, supported_encoding};
use crate::session::*;
use crate::sink::{ObjectLocation, ObjectMeta, ObjectSink};
use crate::stats::DropReason;

pub(crate) fn meta(session: SessionId, toi: u128, f: &FdtFile) -> ObjectMeta {
    ObjectMeta {
        session,
        toi: Toi(toi),
        content_location: f.content_location.clone(),
        content_type: f.content_type.clone(),
        content_length: f.content_length,
        content_md5: None,
    }
}

/// Opens the sink's writer for object `toi` of `session` and the output pipeline in front of
/// it (every path to delivery goes through here: live, empty objects, file repair). When the
/// sink verifies Content-MD5 itself and the object has no content encoding, the digest goes
/// to the sink ([`ObjectMeta::content_md5`]) and the pipeline does not hash.
pub(crate) fn open_pipeline(
    cfg: &ReceiverConfig,
    sink: &mut dyn ObjectSink,
    session: SessionId,
    toi: u128,
    f: &FdtFile,
) -> Result<Pipeline, FailReason> {
    let identity = f
        .content_encoding
        .as_deref()
        .is_none_or(|e| ContentEncoding::from_token(e) == Some(ContentEncoding::Null));
    let by_sink = sink.verifies_md5() && identity;
    let mut m = meta(session, toi, f);
    if by_sink {
        m.content_md5 = f.content_md5;
    }
    let w = sink.open(&m)?;
    Pipeline::new(
        w,
        f.content_encoding.as_deref(),
        f.content_md5.filter(|_| !by_sink).map(|m| m.to_vec()),
        f.content_length,
        cfg.max_object_size,
        cfg.zstd_window_log_max,
    )
}

/// A zero-length object needs no packet: the FDT entry is all there is (item 36).
pub(crate) fn deliver_empty(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    toi: u128,
    f: &FdtFile,
) {
    let result = (|| {
        if !supported_encoding(f.content_encoding.as_deref()) {
            return Err(FailReason::UnsupportedContentEncoding(
                f.content_encoding.clone().unwrap_or_default(),
            ));
        }
        let p = open_pipeline(cfg, ctx.sink.as_mut(), s.id, toi, f)?;
        p.finish()
    })();
    report(cfg, ctx, s, toi, f, result);
}

pub(crate) fn report(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    toi: u128,
    f: &FdtFile,
    result: Result<(ObjectLocation, u64), FailReason>,
) {
    s.mark_finished(toi, cfg.max_finished_memory);
    match result {
        Ok((location, len)) => {
            s.stats.objects_completed += 1;
            ctx.events.push_back(ReceiverEvent::ObjectComplete {
                session: s.id,
                toi: Toi(toi),
                content_location: f.content_location.clone(),
                location,
                content_length: len,
            });
        }
        Err(reason) => {
            s.stats.objects_failed += 1;
            ctx.events.push_back(ReceiverEvent::ObjectFailed {
                session: s.id,
                toi: Toi(toi),
                reason,
            });
        }
    }
}

pub(crate) fn fail_object(ctx: &mut Ctx, s: &mut Session, toi: u128, reason: FailReason) {
    let Some(mut o) = s.objects.remove(&toi) else {
        return;
    };
    ctx.objects = ctx.objects.saturating_sub(1);
    // Its pipeline out in a content job: the job's result will be dropped, and the object
    // cannot be parked for repair (part of its bytes are in that job).
    let content_out = ctx.work.content_out(s.id, toi);
    // A hash kept apart (`Pipeline::split_md5`) comes back into the pipeline, so that an
    // object kept for repair is still checked.
    let hash = ctx.work.split.remove(&(s.id, toi)).and_then(|sp| sp.idle);
    if let (Some(h), Some(p)) = (hash, o.pipeline.as_mut()) {
        p.merge_md5(h);
    }
    ctx.work.drop_lane(s.id, toi);
    // File repair: an incomplete object with an FDT entry may be kept instead (`repair.rs`).
    if let Some(file) = o.file.clone().filter(|_| !content_out) {
        if ctx.repair.accepts(s.id, toi, &reason, o.asm.held()) {
            let (asm, pipeline) = (o.asm, o.pipeline);
            let service = s.post_file_repair.clone();
            let event = ctx.repair.park(
                (s.id, toi),
                (asm, file, pipeline),
                reason,
                service,
                &mut ctx.budget,
            );
            ctx.events.push_back(event);
            return;
        }
    }
    o.asm.release(&mut ctx.budget);
    if let Some(p) = o.pipeline.take() {
        p.abort();
    }
    // Not remembered as finished: a carousel repetition may start it again.
    if matches!(reason, FailReason::Evicted { .. }) {
        s.stats.objects_evicted += 1;
    } else {
        s.stats.objects_failed += 1;
    }
    ctx.events.push_back(ReceiverEvent::ObjectFailed {
        session: s.id,
        toi: Toi(toi),
        reason,
    });
}

/// The object idle timeout of `toi` expired. An object with decoded blocks is kept,
/// dormant, for the sender's next round of the same TOI (its undecoded blocks are released);
/// one without fails.
pub(crate) fn object_idle(ctx: &mut Ctx, s: &mut Session, toi: u128) {
    let Some(o) = s.objects.get_mut(&toi) else {
        return;
    };
    let reason = if o.file.is_none() {
        FailReason::NoFdtEntry
    } else if o.asm.decoded_blocks() > 0 {
        o.asm.release_undecoded(&mut ctx.budget);
        o.dormant = true;
        return;
    } else {
        FailReason::Timeout {
            missing_blocks: o.asm.blocks() - o.asm.decoded_blocks(),
        }
    };
    fail_object(ctx, s, toi, reason);
}

/// Makes room in the full object table for a new object of session `s`, by the rule of
/// [`crate::liveness`], among the objects of `s`. False if all of them are delivering.
pub(crate) fn evict_an_object(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    now: Instant,
) -> bool {
    let window = cfg.object_idle_timeout;
    let victim = pick_victim(s.objects.iter().map(|(toi, o)| {
        let standing = if o.dormant {
            Standing::Stale(o.live.last_progress.unwrap_or(o.live.last_activity))
        } else {
            o.live.standing(now, window)
        };
        (*toi, standing)
    }));
    let Some(toi) = victim else {
        return false;
    };
    let made_progress = s
        .objects
        .get(&toi)
        .is_some_and(|o| o.live.last_progress.is_some());
    fail_object(ctx, s, toi, FailReason::Evicted { made_progress });
    true
}

pub(crate) fn attach_file(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    toi: u128,
    file: Arc<FdtFile>,
) {
    let Some(o) = s.objects.get_mut(&toi) else {
        return;
    };
    if let Some(l) = fdt_transfer_length(&file) {
        if l != o.asm.oti.transfer_length {
            let fti = o.asm.oti.transfer_length;
            finish_object(
                cfg,
                ctx,
                s,
                toi,
                Some(Err(FailReason::TransferLengthMismatch { fdt: l, fti })),
            );
            return;
        }
    }
    o.file = Some(file);
    advance(cfg, ctx, s, toi);
}

/// Writes out whatever is ready, and finishes the object if it is complete.
pub(crate) fn advance(cfg: &ReceiverConfig, ctx: &mut Ctx, s: &mut Session, toi: u128) {
    let id = s.id;
    let Some(o) = s.objects.get_mut(&toi) else {
        return;
    };
    let Some(file) = o.file.clone() else {
        return;
    };
    if cfg.decode_jobs {
        advance_in_jobs(cfg, ctx, s, toi, file);
        return;
    }
    let result = (|| {
        if o.pipeline.is_none() {
            o.pipeline = Some(open_pipeline(cfg, ctx.sink.as_mut(), id, toi, &file)?);
        }
        let blocks = o.asm.take_in_order(&mut ctx.budget);
        if let Some(p) = &mut o.pipeline {
            for b in blocks {
                p.write(&b)?;
            }
        }
        if o.asm.is_complete() {
            match o.pipeline.take() {
                Some(p) => p.finish().map(Some),
                None => Ok(None),
            }
        } else {
            Ok(None)
        }
    })();
    match result {
        Ok(None) => {}
        Ok(Some(done)) => finish_object(cfg, ctx, s, toi, Some(Ok(done))),
        Err(e) => finish_object(cfg, ctx, s, toi, Some(Err(e))),
    }
}

/// [`advance`] with decode jobs: the ready blocks leave as a content job
/// ([`crate::work::Work::content`]) with a barrier here, where the pipeline would have
/// taken them. A complete object leaves the table now, as it would inline; its event comes
/// when the job is applied (`Receiver::complete`).
fn advance_in_jobs(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    toi: u128,
    file: Arc<FdtFile>,
) {
    let id = s.id;
    let Some(o) = s.objects.get_mut(&toi) else {
        return;
    };
    let out = ctx.work.content_out(id, toi);
    if o.pipeline.is_none() && !out {
        match open_pipeline(cfg, ctx.sink.as_mut(), id, toi, &file) {
            Ok(mut p) => {
                // Without content encoding, the digest is all a piece needs: the hash runs
                // in the jobs and the writes stay here, beside it.
                if let Some(h) = p.split_md5() {
                    let split = crate::work::Split {
                        idle: Some(h),
                        commit: None,
                    };
                    ctx.work.split.insert((id, toi), split);
                }
                o.pipeline = Some(p);
            }
            Err(e) => {
                finish_object(cfg, ctx, s, toi, Some(Err(e)));
                return;
            }
        }
    }
    let blocks = o.asm.take_in_order(&mut ctx.budget);
    let finish = o.asm.is_complete();
    if blocks.is_empty() && !finish {
        return;
    }
    let split = ctx.work.split.contains_key(&(id, toi));
    let pipeline = if split {
        // The writes, as inline: a failed write fails the object here.
        if let Some(p) = &mut o.pipeline {
            if let Err(e) = blocks.iter().try_for_each(|b| p.write(b)) {
                finish_object(cfg, ctx, s, toi, Some(Err(e)));
                return;
            }
        }
        let writer = if finish { o.pipeline.take() } else { None };
        let sp = ctx.work.split.entry((id, toi)).or_default();
        sp.commit = writer;
        sp.idle.take()
    } else {
        o.pipeline.take()
    };
    if finish {
        if let Some(mut o) = s.objects.remove(&toi) {
            ctx.objects = ctx.objects.saturating_sub(1);
            o.asm.release(&mut ctx.budget);
        }
        s.mark_finished(toi, cfg.max_finished_memory);
    }
    let n = ctx.events.len();
    ctx.work
        .content(id, toi, &file, pipeline, blocks, finish, n);
}

pub(crate) fn finish_object(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    toi: u128,
    result: Option<Result<(ObjectLocation, u64), FailReason>>,
) {
    let Some(result) = result else {
        return;
    };
    let Some(mut o) = s.objects.remove(&toi) else {
        return;
    };
    ctx.objects = ctx.objects.saturating_sub(1);
    ctx.work.drop_lane(s.id, toi);
    o.asm.release(&mut ctx.budget);
    if let Some(p) = o.pipeline.take() {
        p.abort();
    }
    let file = o
        .file
        .clone()
        .unwrap_or_else(|| Arc::new(FdtFile::new(toi, String::new())));
    report(cfg, ctx, s, toi, &file, result);
}

pub(crate) fn process_data(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    now: Instant,
    view: &LctView<'_>,
    raw: &[u8],
) {
    let toi = view.toi;
    // The common case first, with one lookup. A TOI in `objects` is never in `finished`:
    // finishing removes the object, and a finished TOI is never started again.
    if push_data(cfg, ctx, s, now, view) {
        return;
    }
    if s.finished.contains(&toi) {
        s.stats.drop(DropReason::Done);
        return;
    }
    let oti = oti_from_fti(view).or_else(|| {
        s.files
            .get(&toi)
            .and_then(|f| fdt_file_oti(&cfg.registry, f, FecEncodingId(view.codepoint)).ok())
    });
    let Some(oti) = oti else {
        // Neither EXT_FTI nor a usable FDT entry yet (item 42).
        buffer(ctx, cfg, s, now, PendingKey::Object(toi), view, raw);
        return;
    };
    let Ok(scheme) = cfg.registry.for_oti(&oti).cloned() else {
        s.stats.drop(DropReason::UnknownScheme);
        return;
    };
    if oti.transfer_length > cfg.max_object_size {
        s.mark_finished(toi, cfg.max_finished_memory);
        s.stats.objects_failed += 1;
        ctx.events.push_back(ReceiverEvent::ObjectFailed {
            session: s.id,
            toi: Toi(toi),
            reason: FailReason::TooLarge,
        });
        return;
    }
    if ctx.objects >= cfg.max_concurrent_objects && !evict_an_object(cfg, ctx, s, now) {
        s.stats.drop(DropReason::ObjectLimit);
        return;
    }
    let Ok(mut asm) = Assembly::new(oti, scheme) else {
        s.stats.drop(DropReason::BadFti);
        return;
    };
    asm.defer = cfg.decode_jobs;
    let transfer_length = asm.oti.transfer_length;
    ctx.objects += 1;
    s.objects.insert(
        toi,
        ObjectState {
            asm,
            file: None,
            pipeline: None,
            live: Liveness::new(now),
            dormant: false,
            sender_closed: false,
            fti_seen: None,
        },
    );
    ctx.events.push_back(ReceiverEvent::ObjectStarted {
        session: s.id,
        toi: Toi(toi),
        transfer_length,
        content_location: s.files.get(&toi).map(|f| f.content_location.clone()),
    });
    let _ = push_data(cfg, ctx, s, now, view);
    replay(ctx, cfg, s, now, PendingKey::Object(toi));
    if let Some(file) = s.files.get(&toi).cloned() {
        if s.objects.get(&toi).is_some_and(|o| o.file.is_none()) {
            attach_file(cfg, ctx, s, toi, file);
        }
    }
}

/// Pushes the packet's symbols into object `view.toi`; false (and nothing done) if that
/// object is not in progress.
pub(crate) fn push_data(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    now: Instant,
    view: &LctView<'_>,
) -> bool {
    let toi = view.toi;
    let id = s.id;
    let Some(o) = s.objects.get_mut(&toi) else {
        return false;
    };
    if let Some(fti) = view.fti {
        if o.fti_seen.as_deref() != Some(fti) {
            // alc already decoded this EXT_FTI (`view.fti_oti`); the object's scheme says
            // whether it is the coding the object started with.
            match &view.fti_oti {
                Some(oti) if o.asm.scheme.same_coding(oti, &o.asm.oti) => {
                    o.fti_seen = Some(fti.into());
                }
                _ => {
                    // Conflicting OTI for the same TOI (item 40).
                    s.stats.drop(DropReason::BadFti);
                    return true;
                }
            }
        }
    }
    // Any packet of the object is activity, even a symbol that is not needed any more: its
    // sender is still sending it (issue 13 §1).
    o.live.touch(now);
    o.dormant = false;
    if view.close_object {
        // B flag: no more packets will be sent for this object. It stays open (it may
        // still complete from packets in flight) until its idle timeout.
        o.sender_closed = true;
    }
    match push_symbol(
        &mut o.asm,
        view,
        &mut ctx.budget,
        &mut s.stats.symbols_accepted,
    ) {
        Err(r) | Ok(Pushed::Dropped(r)) => s.stats.drop(r),
        Ok(Pushed::Accepted) => o.live.progress(now),
        Ok(Pushed::Deferred(sbn)) => {
            o.live.progress(now);
            let seq = ctx.work.next_seq();
            if let Some(dec) = o.asm.hand_out(sbn, seq) {
                let job = DecodeJob {
                    seq,
                    session: id,
                    toi,
                    kind: JobKind::Block { sbn, dec },
                };
                ctx.work.push(job, ctx.events.len());
            }
            return true;
        }
        Ok(Pushed::Held(_)) => {
            let seq = ctx.work.next_seq();
            o.asm.hold(seq);
            ctx.work.push_symbol(seq, id, toi, ctx.events.len());
            return true;
        }
        Ok(Pushed::Decoded(_)) => {
            o.live.progress(now);
            s.stats.blocks_decoded += 1;
            ctx.events.push_back(ReceiverEvent::Progress {
                session: id,
                toi: Toi(toi),
                blocks_decoded: o.asm.decoded_blocks(),
                blocks_total: o.asm.blocks(),
            });
            advance(cfg, ctx, s, toi);
            return true;
        }
    }
    if o.asm.is_complete() {
        // Zero-block object (transfer length 0) started from EXT_FTI.
        advance(cfg, ctx, s, toi);
    }
    true
}

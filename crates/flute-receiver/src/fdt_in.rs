//! FDT instances in: assembling TOI 0, EXT_CENC, parsing with the `fdt` crate, instance
//! order, and attaching files to objects.

use std::sync::Arc;
use std::time::Instant;

use crate::assembly::{Assembly, Pushed};
use crate::config::ReceiverConfig;
use crate::fdt_model::{FdtLimits, parse_fdt};
use lct_header::ContentEncoding;

use crate::events::*;
use crate::object::*;
use crate::packet::LctView;
use crate::session::*;
use crate::stats::DropReason;

pub(crate) fn process_fdt(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    now: Instant,
    view: &LctView<'_>,
    raw: &[u8],
) {
    let Some((_, id)) = view.fdt else {
        return;
    };
    if s.fdt_seen.contains(&id) {
        if s.current_fdt == Some(id) {
            s.touch_listed_objects(now);
        }
        s.stats.drop(DropReason::Done);
        return;
    }
    let fti = oti_from_fti(view);
    if !s.fdt_asm.contains_key(&id) {
        let Some(oti) = fti.clone() else {
            // Without EXT_FTI the FDT instance's length is unknown: keep the packet until
            // a packet of the same instance brings it.
            buffer(ctx, cfg, s, now, PendingKey::Fdt(id), view, raw);
            return;
        };
        if oti.transfer_length > cfg.max_fdt_size {
            s.stats.drop(DropReason::FdtRejected);
            return;
        }
        let Ok(scheme) = cfg.registry.for_oti(&oti).cloned() else {
            s.stats.drop(DropReason::UnknownScheme);
            return;
        };
        let Ok(asm) = Assembly::new(oti, scheme) else {
            s.stats.drop(DropReason::BadFti);
            return;
        };
        if s.fdt_asm.len() >= MAX_FDT_ASSEMBLIES {
            if let Some(old) = s
                .fdt_asm
                .iter()
                .min_by_key(|(_, f)| f.last)
                .map(|(k, _)| *k)
            {
                if let Some(mut f) = s.fdt_asm.remove(&old) {
                    f.asm.release(&mut ctx.budget);
                }
            }
        }
        s.fdt_asm.insert(
            id,
            FdtAsm {
                asm,
                cenc: view.cenc,
                buf: Vec::new(),
                last: now,
            },
        );
        replay(ctx, cfg, s, now, PendingKey::Fdt(id));
        if s.fdt_seen.contains(&id) {
            s.stats.drop(DropReason::Done);
            return;
        }
    }
    let Some(f) = s.fdt_asm.get_mut(&id) else {
        return;
    };
    if let Some(oti) = &fti {
        if !f.asm.scheme.same_coding(oti, &f.asm.oti) {
            s.stats.drop(DropReason::BadFti);
            return;
        }
    }
    if f.cenc.is_none() {
        f.cenc = view.cenc;
    }
    f.last = now;
    match push_symbol(
        &mut f.asm,
        view,
        &mut ctx.budget,
        &mut s.stats.symbols_accepted,
    ) {
        Err(r) | Ok(Pushed::Dropped(r)) => s.stats.drop(r),
        // FDT assemblies never defer (`Assembly::defer` is off).
        Ok(Pushed::Accepted | Pushed::Deferred(_) | Pushed::Held(_)) => {}
        Ok(Pushed::Decoded(_)) => {
            for b in f.asm.take_in_order(&mut ctx.budget) {
                f.buf.extend_from_slice(&b);
            }
        }
    }
    if f.asm.is_complete() {
        if let Some(f) = s.fdt_asm.remove(&id) {
            s.fdt_seen.push_back(id);
            while s.fdt_seen.len() > FDT_SEEN_MEMORY {
                s.fdt_seen.pop_front();
            }
            finish_fdt(cfg, ctx, s, now, id, f.cenc, f.buf);
        }
    }
}

/// EXT_CENC decompression with an output cap (`fdt::inflate`; catalogue items 20, 61).
pub(crate) fn inflate(cenc: Option<ContentEncoding>, data: Vec<u8>, cap: u64) -> Option<Vec<u8>> {
    match cenc {
        None | Some(ContentEncoding::Null) => Some(data),
        Some(c) => fdt::inflate(c, &data, usize::try_from(cap).unwrap_or(usize::MAX)).ok(),
    }
}

pub(crate) fn finish_fdt(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    now: Instant,
    id: u32,
    cenc: Option<ContentEncoding>,
    buf: Vec<u8>,
) {
    let Some(xml) = inflate(cenc, buf, cfg.max_fdt_size) else {
        s.stats.drop(DropReason::FdtRejected);
        return;
    };
    let limits = FdtLimits {
        max_files: cfg.max_fdt_files,
        max_depth: 32,
        max_attr_len: 64 * 1024,
    };
    let Ok(info) = parse_fdt(&xml, &limits) else {
        s.stats.drop(DropReason::FdtRejected);
        return;
    };
    if let Some(clock) = &cfg.wall_clock {
        if info.expires.is_before(clock.wall_time(now)) {
            s.stats.drop(DropReason::FdtRejected);
            return;
        }
    }
    // Newest by instance-ID order on the 20-bit circle (RFC 6726 §3.4.1; item 19).
    let newer = s
        .current_fdt
        .is_none_or(|cur| lct_header::fdt_instance_newer(id, cur));
    let mut touched = Vec::new();
    if newer {
        s.listed = info.files.iter().map(|f| f.toi).collect();
    }
    let post_file_repair = flute_repair::PostFileRepair::find_in(&info);
    for file in info.files {
        let known = s.files.contains_key(&file.toi);
        if !known && s.fdt_complete && newer {
            // Complete="true" promised no new files in *later* instances (RFC 6726 §3.4.2;
            // item 58). An older instance that arrives after it (reordering, or a
            // carousel copy) describes files of the session from before: they are used.
            continue;
        }
        if known && !newer {
            continue;
        }
        touched.push(file.toi);
        s.files.insert(file.toi, Arc::new(file));
    }
    if newer {
        s.forget_finished_files();
        s.current_fdt = Some(id);
        if info.complete == Some(true) {
            s.fdt_complete = true;
        }
        if let Some(Ok(p)) = post_file_repair {
            s.post_file_repair = Some(p);
        }
    }
    s.stats.fdt_instances += 1;
    s.touch_listed_objects(now);
    ctx.events.push_back(ReceiverEvent::FdtReceived {
        session: s.id,
        instance_id: id,
        files: s.files.len(),
        complete: info.complete == Some(true),
    });
    touched.sort_unstable();
    for toi in touched {
        if s.finished.contains(&toi) {
            continue;
        }
        let Some(file) = s.files.get(&toi).cloned() else {
            continue;
        };
        if s.objects.contains_key(&toi) {
            let attach = s.objects.get(&toi).is_some_and(|o| o.file.is_none());
            if attach {
                attach_file(cfg, ctx, s, toi, file);
            }
        } else if s.pending.iter().any(|p| p.key == PendingKey::Object(toi)) {
            replay(ctx, cfg, s, now, PendingKey::Object(toi));
        } else if fdt_transfer_length(&file) == Some(0) {
            deliver_empty(cfg, ctx, s, toi, &file);
        }
    }
}

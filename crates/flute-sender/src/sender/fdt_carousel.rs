//! The FDT side of the sender: building FDT Instances from the live objects, their
//! carousel, and the packets that carry them (RFC 6726 §3.4).

use super::*;

impl Sender {
    pub(super) fn build_instance(&mut self, now: Instant, tois: Vec<u128>) -> Option<FdtInstance> {
        let files: Vec<fdt::File> = tois
            .iter()
            .filter_map(|t| self.objects.get(t).map(|o| o.file.clone()))
            .collect();
        if files.is_empty() {
            return None; // never an empty FDT Instance
        }
        let wall = self.cfg.clock.wall_time(now);
        let expires = wire::ntp(wall + self.cfg.fdt_carousel.expires_after).0;
        let full = self.cfg.fdt_mode == FdtMode::Full;
        let built = fdt_out::render(
            self.cfg.profile,
            expires,
            self.closing && full,
            full,
            files,
            &self.cfg.fdt_extensions,
        )
        .map_err(SendError::from)
        .and_then(|xml| match self.cfg.fdt_encoding {
            ContentEncoding::Null => Ok(xml.into_bytes()),
            c if c.cenc_code().is_some() => Ok(fdt::compress(c, xml.as_bytes())?),
            _ => Err(SendError::InvalidConfig("FDT Content-Encoding")),
        })
        .and_then(|data| {
            let oti = fdt_oti_template(&self.cfg, data.len() as u64);
            let blocking = self.fdt_scheme.blocking(&oti)?;
            Ok((data, oti, blocking))
        });
        let (data, oti, blocking) = match built {
            Ok(b) => b,
            Err(e) => {
                // E.g. an `fdt_fec` OTI that cannot carry an instance this large.
                self.stats.fdt_errors += 1;
                self.events.push_back(SenderEvent::FdtFailed { error: e });
                return None;
            }
        };
        let id = self.fdt_next_id;
        self.fdt_next_id = (id + 1) & FDT_ID_MASK;
        self.stats.fdt_instances += 1;
        Some(FdtInstance {
            id,
            queued: false,
            data: Bytes::from(data),
            oti,
            blocking,
            created: wall,
            tois,
            published: false,
        })
    }

    /// Brings the FDT Instances in line with the live objects.
    pub(super) fn refresh_fdt(&mut self, now: Instant) {
        self.fdt_dirty = false;
        match self.cfg.fdt_mode {
            FdtMode::Full => {
                if self.fdt_tx.is_some() && !self.objects.is_empty() {
                    // Let the instance in flight finish first: aborting it on every insert
                    // could starve the objects it announces.
                    self.fdt_dirty = true;
                    return;
                }
                // Objects of unknown length are described once their length is known.
                let mut tois: Vec<u128> = self
                    .objects
                    .iter()
                    .filter(|(_, o)| o.stream.is_none())
                    .map(|(t, _)| *t)
                    .collect();
                tois.sort_unstable();
                // The same TOIs are not the same instance if an object left since: a new
                // object may use its TOI again, and the instance describes the old one.
                let dead = std::mem::take(&mut self.fdt_dead);
                let replaced = dead.iter().any(|t| self.objects.contains_key(t));
                let same = self
                    .fdt_instances
                    .first_key_value()
                    .is_some_and(|(_, i)| i.tois == tois)
                    && !self.closing
                    && !replaced;
                if same {
                    return;
                }
                let inst = self.build_instance(now, tois);
                self.replace_instances(inst.into_iter().collect(), now);
            }
            FdtMode::PerObject => {
                // Drop the instances of objects that are gone; add one per new object.
                // Only the objects that left or came since the last refresh are looked
                // at, so a refresh costs what changed, not the number of live objects.
                // An instance of a removed object goes even when a new object already uses
                // its TOI again: it describes the old one (location, length, OTI). The new
                // object gets its own instance below, from `fdt_unbuilt`.
                for toi in std::mem::take(&mut self.fdt_dead) {
                    if let Some(seq) = self.fdt_by_toi.remove(&toi) {
                        self.remove_instance(seq);
                    }
                }
                for (generation, toi) in std::mem::take(&mut self.fdt_unbuilt) {
                    let current = self
                        .objects
                        .get(&toi)
                        .is_some_and(|o| o.pending && o.generation == generation);
                    if !current {
                        continue;
                    }
                    let has = self
                        .fdt_by_toi
                        .get(&toi)
                        .is_some_and(|s| self.fdt_instances.contains_key(s));
                    if has {
                        continue;
                    }
                    match self.build_instance(now, vec![toi]) {
                        Some(inst) => self.push_instance(inst),
                        // Tried again at the next refresh.
                        None => self.fdt_unbuilt.push((generation, toi)),
                    }
                }
            }
        }
    }

    /// Adds a new instance (`FdtMode::PerObject`) at the end of the carousel and of the
    /// send queue.
    fn push_instance(&mut self, mut inst: FdtInstance) {
        let seq = self.fdt_seq;
        self.fdt_seq += 1;
        if let [toi] = inst.tois[..] {
            self.fdt_by_toi.insert(toi, seq);
        }
        inst.queued = true;
        self.fdt_queued += 1;
        self.fdt_queue.push_back(seq);
        self.fdt_instances.insert(seq, inst);
    }

    /// Removes an instance; its entry in the send queue is skipped when it comes up.
    fn remove_instance(&mut self, seq: u64) {
        let Some(inst) = self.fdt_instances.remove(&seq) else {
            return;
        };
        if inst.queued {
            self.fdt_queued -= 1;
        }
        if self.fdt_tx.as_ref().is_some_and(|t| t.seq == seq) {
            self.fdt_tx = None;
        }
    }

    pub(super) fn replace_instances(&mut self, new: Vec<FdtInstance>, _now: Instant) {
        if let Some((_, old)) = self.fdt_instances.pop_last() {
            self.last_fdt = Some(old);
        }
        self.fdt_instances.clear();
        self.fdt_by_toi.clear();
        self.fdt_queue.clear();
        self.fdt_queued = 0;
        self.fdt_tx = None;
        for inst in new {
            self.push_instance(inst);
        }
        if self.fdt_instances.is_empty() {
            self.fdt_next_carousel = None;
        }
    }

    /// Replaces every instance by a fresh one (new ID, new Expires).
    pub(super) fn rebuild_all_fdt(&mut self, now: Instant) {
        match self.cfg.fdt_mode {
            FdtMode::Full => {
                let tois = self
                    .fdt_instances
                    .first_key_value()
                    .map(|(_, i)| i.tois.clone())
                    .unwrap_or_default();
                let inst = self.build_instance(now, tois);
                self.replace_instances(inst.into_iter().collect(), now);
            }
            FdtMode::PerObject => {
                let old = std::mem::take(&mut self.fdt_instances);
                let mut new = Vec::with_capacity(old.len());
                for i in old.into_values() {
                    match self.build_instance(now, i.tois.clone()) {
                        Some(n) => new.push(n),
                        None => {
                            // Its objects still waiting for an announcement get another try
                            // at the next refresh.
                            for t in &i.tois {
                                if let Some(o) = self.objects.get(t).filter(|o| o.pending) {
                                    self.fdt_unbuilt.push((o.generation, *t));
                                }
                            }
                        }
                    }
                    self.last_fdt = Some(i);
                }
                self.replace_instances(new, now);
            }
        }
    }

    pub(super) fn fdt_header<'o>(
        &self,
        inst_id: u32,
        oti: &'o Oti,
        sbn: u32,
        esi: u32,
        now: Instant,
    ) -> Result<AlcRepr<'o>, SendError> {
        let pid = PayloadId {
            sbn,
            esi,
            source_block_length: None,
        };
        let mut h = AlcRepr::new(self.cfg.tsi, Toi(0), oti, pid)?;
        h.fdt = Some(ExtFdt {
            version: self.cfg.profile.flute_version(),
            instance_id: inst_id,
        });
        h.cenc = match self.cfg.fdt_encoding {
            ContentEncoding::Null => None,
            e => e.cenc_code().map(|_| ExtCenc { encoding: e }),
        };
        h.time = self
            .cfg
            .fdt_ext_time
            .then(|| wire::sct(self.cfg.clock.wall_time(now)));
        // The FDT object's OTI goes in EXT_FTI on every FDT packet (RFC 6726 §3.4.1).
        h.send_fti = true;
        Ok(h)
    }

    /// Next packet of the FDT Instance being sent.
    pub(super) fn next_fdt_packet(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        loop {
            if self.fdt_tx.is_none() {
                let seq = self.fdt_queue.pop_front()?;
                let Some(inst) = self.fdt_instances.get_mut(&seq) else {
                    continue; // removed since it was queued
                };
                inst.queued = false;
                self.fdt_queued -= 1;
                self.fdt_tx = Some(FdtTx {
                    seq,
                    id: inst.id,
                    sbn: 0,
                    esi: 0,
                    enc: None,
                });
            }
            let (seq, id) = self.fdt_tx.as_ref().map(|t| (t.seq, t.id))?;
            let Some(inst) = self.fdt_instances.get(&seq) else {
                self.fdt_tx = None;
                continue;
            };
            let Ok(spec) = inst.blocking.block(self.fdt_tx.as_ref()?.sbn) else {
                self.fdt_tx = None;
                continue;
            };
            let (sbn, esi) = self.fdt_tx.as_ref().map(|t| (t.sbn, t.esi))?;
            let Ok(header) = self.fdt_header(id, &inst.oti, sbn, esi, now) else {
                self.fdt_tx = None;
                continue;
            };
            let tx = self.fdt_tx.as_mut()?;
            if tx.enc.is_none() {
                let r = spec.offset as usize..(spec.offset + spec.len) as usize;
                tx.enc = self
                    .fdt_scheme
                    .encoder(&inst.oti, &spec, inst.data.slice(r))
                    .ok();
            }
            let Some(enc) = tx.enc.as_mut() else {
                self.fdt_tx = None;
                continue;
            };
            let Ok(len) = write_packet(&header, &*self.fdt_scheme, None, Some(enc), buf) else {
                self.fdt_tx = None;
                continue;
            };
            // Advance.
            let tx = self.fdt_tx.as_mut()?;
            tx.esi += 1;
            if tx.esi >= spec.source_symbols {
                tx.esi = 0;
                tx.sbn += 1;
                tx.enc = None;
            }
            if u64::from(tx.sbn) >= inst.blocking.blocks {
                self.fdt_tx = None;
                self.fdt_sent(seq, now);
            }
            self.stats.fdt_packets += 1;
            self.last_payload = len.1;
            return Some(Transmit {
                len: len.0,
                toi: Toi(0),
                sbn,
                esi,
                fdt_instance_id: Some(id),
                close_object: false,
                close_session: false,
            });
        }
    }

    pub(super) fn fdt_sent(&mut self, seq: u64, now: Instant) {
        let Some(inst) = self.fdt_instances.get_mut(&seq) else {
            return;
        };
        if !inst.published {
            inst.published = true;
            self.events.push_back(SenderEvent::FdtPublished {
                instance_id: inst.id,
                files: inst.tois.len(),
            });
        }
        let tois = inst.tois.clone();
        for toi in tois {
            if let Some(o) = self.objects.get_mut(&toi).filter(|o| o.pending) {
                o.pending = false;
                self.pending_announce.remove(&o.generation);
                self.enqueue(toi);
            }
        }
        if self.fdt_next_carousel.is_none() {
            if let Some(iv) = self.cfg.fdt_carousel.interval {
                self.fdt_next_carousel = Some(now + self.fdt_repeat_interval(iv));
            }
        }
    }

    /// The close-session packet when nothing else is left: packet 0 of the last FDT
    /// Instance sent, with A set.
    pub(super) fn close_packet(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        let inst = match self.last_fdt.take() {
            Some(i) => i,
            None => {
                let (_, i) = self.fdt_instances.pop_last()?;
                if i.queued {
                    self.fdt_queued -= 1;
                }
                i
            }
        };
        let spec = inst.blocking.block(0).ok()?;
        let r = spec.offset as usize..(spec.offset + spec.len) as usize;
        let mut enc = self
            .fdt_scheme
            .encoder(&inst.oti, &spec, inst.data.slice(r))
            .ok()?;
        let mut header = self.fdt_header(inst.id, &inst.oti, 0, 0, now).ok()?;
        header.lct.close_session = true;
        let (len, payload) =
            write_packet(&header, &*self.fdt_scheme, None, Some(&mut enc), buf).ok()?;
        self.stats.fdt_packets += 1;
        self.last_payload = payload;
        Some(Transmit {
            len,
            toi: Toi(0),
            sbn: 0,
            esi: 0,
            fdt_instance_id: Some(inst.id),
            close_object: false,
            close_session: true,
        })
    }
}

/// The OTI of the FDT Instances: `SenderConfig::fdt_fec`, or the objects' default.
pub(super) fn fdt_oti_template(cfg: &SenderConfig, transfer_length: u64) -> Oti {
    let mut o = cfg
        .fdt_fec
        .clone()
        .unwrap_or_else(|| default_oti(cfg, transfer_length));
    o.transfer_length = transfer_length;
    o
}

//! The data side of the sender: the object scheduler (priority queues, objects taking
//! turns, interleaved blocks) and the ALC packets that carry the objects' symbols.

use super::*;

impl ObjEntry {
    fn is_last_pass(&self, closing: bool) -> bool {
        match self.carousel {
            Carousel::Times { times, .. } => self.passes_done + 1 >= times.max(1),
            Carousel::UntilRemoved { .. } => closing,
        }
    }

    fn interval(&self) -> Duration {
        match self.carousel {
            Carousel::Times { interval, .. } | Carousel::UntilRemoved { interval } => interval,
        }
    }

    /// Blocks coded ahead and not used yet.
    fn ready_count(&self) -> usize {
        self.prepared.values().filter(|e| e.is_some()).count()
    }

    /// Loads the next group of `interleave` blocks, taking those coded ahead. `false`
    /// (nothing loaded) while one of them is still being coded.
    fn load_group(&mut self) -> Result<bool, SendError> {
        let end = self
            .next_sbn
            .saturating_add(u64::from(self.interleave))
            .min(self.blocking.blocks);
        let running = (self.next_sbn..end).any(|sbn| {
            u32::try_from(sbn).is_ok_and(|s| matches!(self.prepared.get(&s), Some(None)))
        });
        if running {
            return Ok(false);
        }
        self.group.clear();
        self.cursor = 0;
        self.group_left = 0;
        let oti = &self.oti;
        for _ in 0..self.interleave {
            if self.next_sbn >= self.blocking.blocks {
                break;
            }
            let sbn = u32::try_from(self.next_sbn).map_err(|_| SendError::InvalidConfig("SBN"))?;
            let spec = self.blocking.block(sbn)?;
            let enc = match self.prepared.remove(&sbn).flatten() {
                Some(enc) => enc,
                None => {
                    let len =
                        usize::try_from(spec.len).map_err(|_| SendError::InvalidConfig("block"))?;
                    let data = self.source.read_block(spec.offset, len)?;
                    self.scheme.encoder(oti, &spec, data)?
                }
            };
            let k = spec.source_symbols;
            let end = repair_esis(enc.as_ref(), k, self.repair).end;
            self.group_left += u64::from(end);
            self.group.push(ActiveBlock {
                enc,
                sbn,
                k,
                next_esi: 0,
                end_esi: end,
            });
            self.next_sbn += 1;
        }
        Ok(true)
    }
}

/// The repair ESIs a block of `k` source symbols is sent with: `k..k + repair`, capped by
/// what the encoder can produce. One function for the encode job and the sending.
pub(super) fn repair_esis(enc: &dyn BlockEncoder, k: u32, repair: Repair) -> Range<u32> {
    let limit = enc.esi_limit().max(k);
    k..k.saturating_add(repair.symbols(k)).min(limit)
}

impl Sender {
    pub(super) fn next_data_packet(&mut self, now: Instant, buf: &mut [u8]) -> Produced {
        let per_queue = self.cfg.objects_per_queue.max(1);
        loop {
            // The highest-priority queue with an object ready.
            let objects = &mut self.objects;
            let prio = self.queues.iter_mut().rev().find_map(|(p, q)| {
                while q.active.len() < per_queue {
                    match q.waiting.pop_front() {
                        Some(t) => {
                            if let Some(o) = objects.get_mut(&t) {
                                o.waiting = o.waiting.saturating_sub(1);
                            }
                            q.active.push(t);
                        }
                        None => break,
                    }
                }
                (!q.active.is_empty()).then_some(*p)
            });
            let Some(q) = prio.and_then(|p| self.queues.get_mut(&p)) else {
                return Produced::Nothing;
            };
            let idx = q.rr % q.active.len();
            q.rr = idx + 1;
            let toi = q.active[idx];
            match self.object_packet(toi, now, buf) {
                Ok(Some(t)) => return Produced::Packet(t),
                // Waiting for an encode job: nothing else may go first (same order as
                // with one thread).
                Ok(None) if self.stalled => return Produced::Nothing,
                Ok(None) => {}
                Err(error) => {
                    let o = self.take_object(toi);
                    self.forget(toi, o.as_ref());
                    self.stats.objects_failed += 1;
                    self.events.push_back(SenderEvent::ObjectFailed {
                        toi: Toi(toi),
                        error,
                    });
                }
            }
        }
    }

    pub(super) fn object_packet(
        &mut self,
        toi: u128,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<Transmit>, SendError> {
        let closing = self.closing;
        let fti_mode = self.cfg.fti;
        let tsi = self.cfg.tsi.0;
        let o = self
            .objects
            .get_mut(&toi)
            .ok_or(SendError::UnknownToi(Toi(toi)))?;
        if o.stream.is_some() {
            return self.early_packet(toi, buf);
        }
        if !o.in_pass {
            o.in_pass = true;
            o.pass_start = Some(now);
            o.next_sbn = 0;
            o.group.clear();
            o.group_left = 0;
        }
        if o.group_left == 0 && o.next_sbn < o.blocking.blocks {
            let before = o.ready_count();
            let loaded = o.load_group();
            self.ready_blocks -= before - o.ready_count();
            if !loaded? {
                self.stalled = true;
                return Ok(None);
            }
        }
        if o.fti.as_ref().is_none_or(|f| *f.oti() != o.oti) {
            o.fti = EncodedFti::new(&*o.scheme, &o.oti).ok();
        }
        // The encoded EXT_FTI's own OTI (equal to `o.oti`): `emit_header_with` then uses the
        // cached bytes without even comparing the OTI.
        let fti = o.fti.as_ref();
        let oti = fti.map_or(&o.oti, EncodedFti::oti);
        let scheme = &*o.scheme;
        if o.group.is_empty() {
            // Zero-length object: nothing to send (ALC carries no empty symbols, RFC 5775
            // §4); receivers complete it from the FDT (Transfer-Length 0).
            let last = o.is_last_pass(closing);
            if !o.started {
                o.started = true;
                self.events
                    .push_back(SenderEvent::ObjectStarted { toi: Toi(toi) });
            }
            self.finish_pass(toi, now, last);
            return Ok(None);
        }
        let n = o.group.len();
        let mut i = o.cursor % n;
        while o.group[i].next_esi >= o.group[i].end_esi {
            i = (i + 1) % n;
        }
        let b = &mut o.group[i];
        let (sbn, esi, k) = (b.sbn, b.next_esi, b.k);
        b.next_esi += 1;
        o.cursor = i + 1;
        o.group_left -= 1;
        let pass_done = o.group_left == 0 && o.next_sbn >= o.blocking.blocks;
        let pid = PayloadId {
            sbn,
            esi,
            source_block_length: Some(k),
        };
        let mut header = AlcRepr::new(Tsi(tsi), Toi(toi), oti, pid)?;
        header.send_fti = match fti_mode {
            FtiMode::Always => true,
            FtiMode::FirstSymbolOfBlock => esi == 0,
            FtiMode::Never => false,
        };
        // B on the real last packet: after every symbol of every block of the last pass.
        header.lct.close_object = pass_done && o.is_last_pass(closing);
        let enc = &mut o.group[i].enc;
        let (len, payload) = write_packet(&header, scheme, fti, Some(enc), buf)?;
        let last = header.lct.close_object;
        if esi < k {
            self.stats.source_symbols += 1;
        } else if k > 0 {
            self.stats.repair_symbols += 1;
        }
        self.last_payload = payload;
        if !o.started {
            o.started = true;
            self.events
                .push_back(SenderEvent::ObjectStarted { toi: Toi(toi) });
        }
        if pass_done {
            self.finish_pass(toi, now, last);
        }
        Ok(Some(Transmit {
            len,
            toi: Toi(toi),
            sbn,
            esi,
            fdt_instance_id: None,
            close_object: last,
            close_session: false,
        }))
    }

    /// The next early source symbol of an object of unknown length (ESI `i` of block 0,
    /// bytes `i·E ..`, no EXT_FTI: the transfer length is not known), or `None` after
    /// taking the object out of its queue until more bytes come (`write_stream`).
    fn early_packet(&mut self, toi: u128, buf: &mut [u8]) -> Result<Option<Transmit>, SendError> {
        let tsi = self.cfg.tsi;
        let o = self
            .objects
            .get_mut(&toi)
            .ok_or(SendError::UnknownToi(Toi(toi)))?;
        let e = usize::from(o.oti.encoding_symbol_length);
        let Some(st) = o.stream.as_mut() else {
            return Ok(None);
        };
        if st.sent >= st.prefix.min((st.data.len() / e) as u64) {
            st.parked = true;
            if let Some(q) = self.queues.get_mut(&o.priority) {
                q.active.retain(|t| *t != toi);
                q.waiting.retain(|t| *t != toi);
            }
            // Every entry of an object is in its priority's queue.
            o.waiting = 0;
            return Ok(None);
        }
        let esi = u32::try_from(st.sent).map_err(|_| SendError::InvalidConfig("ESI"))?;
        let pid = PayloadId {
            sbn: 0,
            esi,
            source_block_length: None,
        };
        let mut header = AlcRepr::new(tsi, Toi(toi), &o.oti, pid)?;
        header.send_fti = false;
        let scheme = &*o.scheme;
        let hlen = header.header_len(scheme);
        let at = st.sent as usize * e;
        buf.get_mut(hlen..hlen + e)
            .ok_or(SendError::BufferTooSmall(hlen + e))?
            .copy_from_slice(&st.data[at..at + e]);
        header.emit_header(scheme, buf)?;
        st.sent += 1;
        self.stats.source_symbols += 1;
        self.stats.early_symbols += 1;
        self.last_payload = e;
        if !o.started {
            o.started = true;
            self.events
                .push_back(SenderEvent::ObjectStarted { toi: Toi(toi) });
        }
        Ok(Some(Transmit {
            len: hlen + e,
            toi: Toi(toi),
            sbn: 0,
            esi,
            fdt_instance_id: None,
            close_object: false,
            close_session: false,
        }))
    }

    /// A pass over object `toi` is complete: report it, then retire the object (`last`)
    /// or schedule its next pass.
    pub(super) fn finish_pass(&mut self, toi: u128, now: Instant, last: bool) {
        let Some(o) = self.objects.get_mut(&toi) else {
            return;
        };
        o.in_pass = false;
        o.passes_done += 1;
        o.group.clear();
        let pass = o.passes_done;
        let next_start = o.pass_start.map(|s| s + o.interval());
        let prio = o.priority;
        self.events.push_back(SenderEvent::CarouselCycleDone {
            toi: Toi(toi),
            pass,
        });
        if let Some(q) = self.queues.get_mut(&prio) {
            q.active.retain(|t| *t != toi);
        }
        if last {
            let o = self.take_object(toi);
            self.forget(toi, o.as_ref());
            self.stats.objects_sent += 1;
            self.events
                .push_back(SenderEvent::ObjectSent { toi: Toi(toi) });
            // With no object left, bring the FDT in line now, so that "is this the
            // session's last packet" is known before the packet leaves. Otherwise the FDT
            // drops the object at its next repetition (`fdt_stale`).
            if self.objects.is_empty() {
                self.refresh_fdt(now);
            }
        } else {
            match next_start {
                Some(t) if t > now => {
                    o.timers += 1;
                    self.timers.push((t, toi));
                    self.next_timer = Some(self.next_timer.map_or(t, |n| n.min(t)));
                }
                _ => {
                    o.waiting += 1;
                    self.queues.entry(prio).or_default().waiting.push_back(toi);
                }
            }
        }
    }
}

/// Writes one ALC packet into `buf`: the symbol of `enc` for the packet's ESI, straight
/// into its place after the header and FEC Payload ID, then the header itself.
/// Returns (datagram length, symbol length).
pub(super) fn write_packet(
    header: &AlcRepr<'_>,
    scheme: &dyn FecScheme,
    fti: Option<&EncodedFti>,
    enc: Option<&mut Box<dyn BlockEncoder>>,
    buf: &mut [u8],
) -> Result<(usize, usize), SendError> {
    let hlen = header.header_len(scheme);
    let n = match enc {
        Some(enc) => {
            let e = usize::from(header.oti.encoding_symbol_length);
            let out = buf
                .get_mut(hlen..hlen + e)
                .ok_or(SendError::BufferTooSmall(hlen + e))?;
            enc.write_symbol(header.payload_id.esi, out)?
        }
        None => 0,
    };
    header.emit_header_with(scheme, fti, buf)?;
    Ok((hlen + n, n))
}

pub(super) fn default_oti(cfg: &SenderConfig, transfer_length: u64) -> Oti {
    Oti {
        encoding_id: FecEncodingId::COMPACT_NO_CODE,
        instance_id: None,
        transfer_length,
        encoding_symbol_length: cfg.symbol_length,
        max_source_block_length: cfg.max_source_block_length,
        max_encoding_symbols: None,
        scheme_specific: SchemeSpecific::None,
    }
}

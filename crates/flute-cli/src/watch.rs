//! `flute send --watch DIR` (issue 17 §1): live delivery of the files a packager writes.
//!
//! The directory is watched recursively through the `notify` crate (inotify on Linux). A
//! file is sent once it is *complete*: closed after writing or renamed into place, and then
//! unchanged (length and modification time) over a settle period. On Linux, where inotify
//! reports the close of a written file, a file that was modified since its last close is
//! never taken, however long it stays quiet, so a writer that pauses mid-file is waited
//! for; elsewhere the settle period alone decides. Each complete file becomes a new object
//! (a replaced file replaces the object of the same Content-Location), and the sender
//! describes it in a new FDT instance. `--keep N` and `--keep-for D` take old objects out of
//! the carousel and, at the next FDT instance, out of the FDT. A new object's first pass
//! goes ahead of the carousel (priority preemption, packet by packet, at the same rate);
//! then it takes turns with the others.
//!
//! A file found in a directory just created may have been written before the watch on that
//! directory began, so its events are unknown: it waits until it stayed unchanged for 2 s
//! (or the settle period, if longer).
//!
//! Names starting with `.` or ending in `.tmp`, `.part` or `~` are never sent: those are
//! the temporary names packagers and editors write before renaming into place.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use flute_io::{DatagramSink, PcapSink, SenderCore, TxBatch};
use flute_sender::{Sender, Toi};
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher as _};

/// How often the watcher's queue is looked at when the sender has nothing sooner to do.
const TICK: Duration = Duration::from_millis(5);

/// Priority of an object in its first pass: ahead of the carousel.
const NEWEST: u8 = 1;
/// Priority of the objects the carousel repeats.
const CAROUSEL: u8 = 0;

/// Whether this platform's watcher reports the close of a file opened for writing.
const HAS_CLOSE_EVENTS: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// How long a file must stay unchanged when the watcher may have missed its writer's
/// events: a file already in a directory when that directory's own watch began (a
/// directory just created, whose files the writer may have opened before the watch).
const UNSURE_QUIET: Duration = Duration::from_secs(2);

/// What the events say about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Created or written: open for writing until its close.
    Written,
    /// Closed after writing, or renamed into place.
    Closed,
    /// Found by a directory scan: its writer's events may have come before the watch.
    Unsure,
    /// Some other change: no news about its state.
    Other,
}

/// What the watcher knows about one file that is not sent yet.
#[derive(Debug)]
struct Pending {
    /// Written since the last close-after-write (only meaningful with close events).
    open: bool,
    /// Found by a scan, with no event of its own since: waits [`UNSURE_QUIET`] at least.
    unsure: bool,
    /// Not taken before this time.
    settle_until: Instant,
    /// (length, modification time) when last looked at.
    seen: Option<(u64, SystemTime)>,
}

/// One object sent from the watched directory.
#[derive(Debug)]
struct Live {
    toi: Toi,
    location: String,
    added: Instant,
    /// Its first pass went out whole.
    sent_once: bool,
}

/// A file that became complete: where it is and its Content-Location.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Ready {
    pub(crate) path: PathBuf,
    pub(crate) location: String,
}

/// A file's length and modification time, if it is a file.
fn stat(path: &Path) -> Option<(u64, SystemTime)> {
    std::fs::metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| seen_of(&m))
}

fn seen_of(meta: &std::fs::Metadata) -> (u64, SystemTime) {
    (
        meta.len(),
        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
    )
}

/// The directory watcher with its settle check. It knows nothing of FLUTE: it turns file
/// system events into complete files.
pub(crate) struct DirWatch {
    root: PathBuf,
    prefix: String,
    settle: Duration,
    _watcher: notify::RecommendedWatcher,
    events: mpsc::Receiver<notify::Result<notify::Event>>,
    pending: HashMap<PathBuf, Pending>,
}

/// How long a file must stay unchanged: the settle period, at least [`UNSURE_QUIET`] for a
/// file the watcher may have missed events of.
fn quiet(settle: Duration, unsure: bool) -> Duration {
    if unsure {
        settle.max(UNSURE_QUIET)
    } else {
        settle
    }
}

/// True for the temporary names that are never sent.
fn ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".tmp")
        || name.ends_with(".part")
}

impl DirWatch {
    /// Watches `root` (a directory) recursively. Files are announced as
    /// `<root's name>/<relative path>`, as `flute send DIR` does.
    pub(crate) fn new(root: &Path, settle: Duration) -> Result<Self, String> {
        let meta =
            std::fs::metadata(root).map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
        if !meta.is_dir() {
            return Err(format!("--watch {}: not a directory", root.display()));
        }
        let root = root
            .canonicalize()
            .map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
        let prefix = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "root".to_owned());
        let (tx, events) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |ev| {
            // The receiving side only goes away when the watch ends.
            let _ = tx.send(ev);
        })
        .map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
        watcher
            .watch(&root, RecursiveMode::Recursive)
            .map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
        Ok(Self {
            root,
            prefix,
            settle,
            _watcher: watcher,
            events,
            pending: HashMap::new(),
        })
    }

    /// The Content-Location of `path` under the root, or `None` for a path outside it or
    /// with an ignored component.
    fn location(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let mut loc = self.prefix.clone();
        for c in rel.components() {
            let s = c.as_os_str().to_str()?;
            if ignored(s) {
                return None;
            }
            loc.push('/');
            loc.push_str(s);
        }
        Some(loc)
    }

    fn note(&mut self, path: PathBuf, now: Instant, what: Seen) {
        if self.location(&path).is_none() {
            return;
        }
        let snapshot = stat(&path);
        let p = self.pending.entry(path).or_insert(Pending {
            open: false,
            unsure: what == Seen::Unsure,
            settle_until: now,
            seen: None,
        });
        match what {
            Seen::Written => (p.open, p.unsure) = (true, false),
            Seen::Closed => (p.open, p.unsure) = (false, false),
            Seen::Unsure | Seen::Other => {}
        }
        p.settle_until = now + quiet(self.settle, p.unsure);
        // Length and time as of this event: the settle period counts from here, once (a
        // first look at the deadline and a second period after it made a renamed file wait
        // twice the period; docs/benchmarks.md, live latency).
        p.seen = if p.open { None } else { snapshot };
    }

    /// Takes the watcher's events so far; returns the files complete at `now`.
    pub(crate) fn poll(&mut self, now: Instant) -> Result<Vec<Ready>, String> {
        while let Ok(ev) = self.events.try_recv() {
            let ev = ev.map_err(|e| format!("watching {}: {e}", self.root.display()))?;
            match ev.kind {
                EventKind::Create(CreateKind::Folder) => {
                    // Files written into a new directory before its watch began raise no
                    // event of their own.
                    for p in ev.paths {
                        self.scan_dir(&p, now, Seen::Unsure);
                    }
                }
                EventKind::Create(_) | EventKind::Modify(ModifyKind::Data(_)) => {
                    for p in ev.paths {
                        self.note(p, now, Seen::Written);
                    }
                }
                EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
                    for p in ev.paths {
                        self.note(p, now, Seen::Closed);
                    }
                }
                EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
                    for p in ev.paths {
                        self.pending.remove(&p);
                    }
                }
                EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                    for p in ev.paths {
                        if p.is_dir() {
                            // Moved in whole: its files are complete.
                            self.scan_dir(&p, now, Seen::Closed);
                        } else {
                            self.note(p, now, Seen::Closed);
                        }
                    }
                }
                EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                    // paths = [from, to]
                    let mut it = ev.paths.into_iter();
                    if let Some(from) = it.next() {
                        self.pending.remove(&from);
                    }
                    for p in it {
                        if p.is_dir() {
                            // Moved in whole: its files are complete.
                            self.scan_dir(&p, now, Seen::Closed);
                        } else {
                            self.note(p, now, Seen::Closed);
                        }
                    }
                }
                EventKind::Modify(_) | EventKind::Any | EventKind::Other => {
                    for p in ev.paths {
                        self.note(p, now, Seen::Other);
                    }
                }
                EventKind::Access(_) => {}
            }
        }
        let mut ready = Vec::new();
        let due: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|(_, p)| p.settle_until <= now && !(HAS_CLOSE_EVENTS && p.open))
            .map(|(k, _)| k.clone())
            .collect();
        for path in due {
            let meta = match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => m,
                // Gone, or a directory: nothing to send.
                _ => {
                    self.pending.remove(&path);
                    continue;
                }
            };
            let now_seen = seen_of(&meta);
            let Some(p) = self.pending.get_mut(&path) else {
                continue;
            };
            if p.seen != Some(now_seen) {
                // Changed since the last look (or never looked at): one more settle period.
                p.seen = Some(now_seen);
                p.settle_until = now + quiet(self.settle, p.unsure);
                continue;
            }
            self.pending.remove(&path);
            if let Some(location) = self.location(&path) {
                ready.push(Ready { path, location });
            }
        }
        ready.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(ready)
    }

    /// Notes every file under `dir` (a directory moved or created in the tree).
    fn scan_dir(&mut self, dir: &Path, now: Instant, what: Seen) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                self.scan_dir(&p, now, what);
            } else {
                self.note(p, now, what);
            }
        }
    }

    /// The earliest settle deadline, if a file is waiting for one.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pending
            .values()
            .filter(|p| !(HAS_CLOSE_EVENTS && p.open))
            .map(|p| p.settle_until)
            .min()
    }
}

/// How long objects stay in the carousel and the FDT.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Keep {
    /// At most this many objects (the newest).
    pub(crate) count: Option<usize>,
    /// Only objects added less than this long ago.
    pub(crate) age: Option<Duration>,
}

/// Makes an object of a complete file.
pub(crate) type MakeObject<'a> = dyn FnMut(&Ready) -> Result<flute_sender::Object, String> + 'a;

/// The sender plus the watched directory, as the adapter loop sees it: every timer first
/// takes the files that became complete and applies the keep policy.
pub(crate) struct WatchCore<'a> {
    pub(crate) sender: Sender,
    watch: DirWatch,
    keep: Keep,
    make: Box<MakeObject<'a>>,
    live: VecDeque<Live>,
    last_now: Option<Instant>,
    /// Set once the session is closing: no more files are taken.
    pub(crate) closing: bool,
    /// Errors about single files (unreadable, refused by the sender), for the operator.
    pub(crate) notes: Vec<String>,
    /// Objects added and removed so far.
    pub(crate) added: u64,
    pub(crate) removed: u64,
}

impl<'a> WatchCore<'a> {
    pub(crate) fn new(
        sender: Sender,
        watch: DirWatch,
        keep: Keep,
        make: Box<MakeObject<'a>>,
    ) -> Self {
        Self {
            sender,
            watch,
            keep,
            make,
            live: VecDeque::new(),
            last_now: None,
            closing: false,
            notes: Vec::new(),
            added: 0,
            removed: 0,
        }
    }

    /// Takes complete files and applies the keep policy at `now`.
    pub(crate) fn step(&mut self, now: Instant) -> Result<(), String> {
        if self.closing {
            return Ok(());
        }
        for r in self.watch.poll(now)? {
            let obj = match (self.make)(&r) {
                // The newest file goes ahead of the carousel for its first pass
                // (lowered again by `first_pass_done`).
                Ok(o) => o.priority(NEWEST),
                Err(e) => {
                    self.notes.push(e);
                    continue;
                }
            };
            // A replaced file: the new object replaces the old one of the same location.
            if let Some(i) = self.live.iter().position(|l| l.location == r.location) {
                if let Some(old) = self.live.remove(i) {
                    self.remove(old.toi);
                }
            }
            match self.sender.insert_object(obj, now) {
                Ok(toi) => {
                    self.added += 1;
                    self.notes
                        .push(format!("added {} as TOI {}", r.location, toi.0));
                    self.live.push_back(Live {
                        toi,
                        location: r.location,
                        added: now,
                        sent_once: false,
                    });
                }
                Err(e) => self
                    .notes
                    .push(format!("cannot add {}: {e}", r.path.display())),
            }
        }
        if let Some(n) = self.keep.count {
            while self.live.len() > n {
                if let Some(old) = self.live.pop_front() {
                    self.retire(old, "--keep");
                }
            }
        }
        if let Some(age) = self.keep.age {
            while self.live.front().is_some_and(|l| l.added + age <= now) {
                if let Some(old) = self.live.pop_front() {
                    self.retire(old, "--keep-for");
                }
            }
        }
        Ok(())
    }

    /// An object finished its first pass: from now on it takes turns with the carousel.
    pub(crate) fn first_pass_done(&mut self, toi: Toi) {
        if let Some(l) = self.live.iter_mut().find(|l| l.toi == toi) {
            l.sent_once = true;
        }
        // It may have finished for good and left the sender: nothing to lower then.
        let _ = self.sender.set_priority(toi, CAROUSEL);
    }

    /// Closes the session (the first Ctrl-C): no more files are taken, the files whose first
    /// pass went out whole leave the carousel at once, and those still in their first pass
    /// finish it before the close-session packet. Without this every file in the carousel
    /// finished its current repetition first, which at a slow `--rate` kept the sender
    /// running for a minute after Ctrl-C (found by scripts/soak.sh at 200 kbit/s). Returns
    /// how many files left at once and how many are still in their first pass. (The
    /// summary's "removed" counts only what `--keep`, `--keep-for` and replaced files took
    /// out.)
    pub(crate) fn close(&mut self) -> (usize, usize) {
        if self.closing {
            return (0, 0);
        }
        self.closing = true;
        let (done, left): (VecDeque<Live>, VecDeque<Live>) = std::mem::take(&mut self.live)
            .into_iter()
            .partition(|l| l.sent_once);
        let mut gone = 0;
        for l in done {
            // An object that already finished its passes may be gone from the sender.
            if self.sender.remove_object(l.toi).is_ok() {
                gone += 1;
            }
        }
        self.live = left;
        self.sender.close();
        (gone, self.live.len())
    }

    /// Takes `old` out by the keep policy `why`; says so when its first pass had not gone
    /// out whole, since then no receiver can have it (files coming faster than `--rate`
    /// sends them, for the carousel `--keep` allows; seen in scripts/soak.sh).
    fn retire(&mut self, old: Live, why: &str) {
        if !old.sent_once && self.sender.remove_object(old.toi).is_ok() {
            self.removed += 1;
            self.notes.push(format!(
                "warning: {} left the carousel ({why}) before its first pass went out whole: \
                 receivers cannot have it; raise --rate or {why}",
                old.location
            ));
            return;
        }
        self.remove(old.toi);
    }

    fn remove(&mut self, toi: Toi) {
        // An object that already finished its passes may be gone from the sender.
        if self.sender.remove_object(toi).is_ok() {
            self.removed += 1;
        }
    }
}

impl SenderCore for WatchCore<'_> {
    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<usize> {
        SenderCore::poll_transmit(&mut self.sender, now, buf)
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let inner = SenderCore::poll_timeout(&mut self.sender);
        if self.closing {
            return inner;
        }
        let mut t = self.last_now.map(|n| n + TICK);
        let settle = self.watch.next_deadline();
        for x in [inner, self.keep_deadline(), settle].into_iter().flatten() {
            t = Some(t.map_or(x, |t| t.min(x)));
        }
        t
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.last_now = Some(now);
        if let Err(e) = self.step(now) {
            self.notes.push(e);
            self.closing = true;
            self.sender.close();
        }
        SenderCore::handle_timeout(&mut self.sender, now);
    }
}

impl WatchCore<'_> {
    fn keep_deadline(&self) -> Option<Instant> {
        let age = self.keep.age?;
        self.live.front().map(|l| l.added + age)
    }
}

/// A capture written in real time: `--watch` with `--no-send` waits for files as they come,
/// so the capture's clock is the real one, not the virtual clock of an offline run.
pub(crate) struct LivePcap(pub(crate) PcapSink);

impl DatagramSink for LivePcap {
    fn now(&mut self) -> Instant {
        Instant::now()
    }
    fn wait_until(&mut self, deadline: Instant, shutdown: &AtomicBool) {
        flute_io::sleep_until(deadline, shutdown);
    }
    fn send(&mut self, batch: &TxBatch) -> std::io::Result<()> {
        // PcapSink stamps datagrams with its own clock: bring it to now.
        self.0.wait_until(Instant::now(), &AtomicBool::new(false));
        self.0.send(batch)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_ignored() {
        for n in [".seg1.m4s", "seg1.m4s.tmp", "seg1.part", "seg1~"] {
            assert!(ignored(n), "{n}");
        }
        assert!(!ignored("seg1.m4s"));
    }

    #[test]
    fn watching_a_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a");
        std::fs::write(&f, b"x").unwrap();
        let e = DirWatch::new(&f, Duration::ZERO).err().unwrap();
        assert!(e.contains("not a directory"), "{e}");
        let e = DirWatch::new(&dir.path().join("missing"), Duration::ZERO)
            .err()
            .unwrap();
        assert!(e.contains("cannot watch"), "{e}");
    }

    /// Polls `w` at virtual time `at` until the watcher thread has delivered an event that
    /// makes `cond` true (inotify events arrive asynchronously; bounded to 10 s).
    fn wait_for(w: &mut DirWatch, at: Instant, cond: impl Fn(&DirWatch) -> bool) -> Vec<Ready> {
        let give_up = Instant::now() + Duration::from_secs(10);
        let mut got = Vec::new();
        while !cond(w) {
            assert!(Instant::now() < give_up, "no file system event came");
            got.extend(w.poll(at).unwrap());
            std::thread::yield_now();
        }
        got
    }

    /// Settle check on virtual time: a file being written is never taken, however quiet;
    /// after its close it is taken once it stayed unchanged for a settle period.
    #[test]
    fn a_half_written_file_is_never_taken() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("live");
        std::fs::create_dir(&root).unwrap();
        let settle = Duration::from_millis(100);
        let mut w = DirWatch::new(&root, settle).unwrap();
        let t0 = Instant::now();
        let mut f = std::fs::File::create(root.join("seg1.m4s")).unwrap();
        f.write_all(b"first half").unwrap();
        f.flush().unwrap();
        let path = w.root.join("seg1.m4s");
        let got = wait_for(&mut w, t0, |w| w.pending.get(&path).is_some_and(|p| p.open));
        assert!(got.is_empty());
        if HAS_CLOSE_EVENTS {
            // Still open after an hour of quiet: not taken.
            assert!(w.poll(t0 + Duration::from_secs(3600)).unwrap().is_empty());
            assert!(w.next_deadline().is_none());
        }
        f.write_all(b", second half").unwrap();
        drop(f);
        let t1 = t0 + Duration::from_secs(3601);
        let got = wait_for(&mut w, t1, |w| {
            w.pending.get(&path).is_some_and(|p| !p.open)
        });
        assert!(got.is_empty());
        // Within the settle period: nothing. Unchanged since the close at its end: taken.
        assert!(w.poll(t1 + settle / 2).unwrap().is_empty());
        let got = w.poll(t1 + settle).unwrap();
        assert_eq!(
            got,
            vec![Ready {
                path: path.clone(),
                location: "live/seg1.m4s".into()
            }]
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"first half, second half");
        assert!(w.pending.is_empty());
    }

    /// A file found by scanning a new directory (its writer's events may have been missed)
    /// waits [`UNSURE_QUIET`] of no change, not just the settle period.
    #[test]
    fn a_file_found_by_a_scan_waits_longer() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("live");
        std::fs::create_dir_all(root.join("new")).unwrap();
        std::fs::write(root.join("new/seg.m4s"), b"maybe half").unwrap();
        let settle = Duration::from_millis(50);
        let mut w = DirWatch::new(&root, settle).unwrap();
        let t0 = Instant::now();
        let sub = w.root.join("new");
        w.scan_dir(&sub, t0, Seen::Unsure);
        assert_eq!(w.next_deadline(), Some(t0 + UNSURE_QUIET));
        assert!(w.poll(t0 + settle * 2).unwrap().is_empty());
        assert!(
            w.poll(t0 + UNSURE_QUIET - Duration::from_millis(1))
                .unwrap()
                .is_empty()
        );
        let got = w.poll(t0 + UNSURE_QUIET).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].location, "live/new/seg.m4s");
    }

    /// A packager's temporary file renamed into place (in a subdirectory) is taken under
    /// its final name only.
    #[test]
    fn renamed_into_place_is_taken_under_its_final_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("live");
        std::fs::create_dir_all(root.join("video")).unwrap();
        let mut w = DirWatch::new(&root, Duration::ZERO).unwrap();
        let t0 = Instant::now();
        std::fs::write(root.join("video/.seg2.tmp"), b"segment two").unwrap();
        std::fs::rename(root.join("video/.seg2.tmp"), root.join("video/seg2.m4s")).unwrap();
        let target = w.root.join("video/seg2.m4s");
        // Settle 0: unchanged since its rename, so taken by the poll that sees the event.
        let give_up = Instant::now() + Duration::from_secs(10);
        let mut got = Vec::new();
        while got.is_empty() {
            assert!(Instant::now() < give_up, "no file system event came");
            got.extend(w.poll(t0).unwrap());
            std::thread::yield_now();
        }
        assert!(!w.pending.contains_key(&target));
        let locs: Vec<_> = got.iter().map(|r| r.location.as_str()).collect();
        assert_eq!(locs, ["live/video/seg2.m4s"]);
    }
}

//! UDP sockets for FLUTE: IPv4 and IPv6, unicast and multicast (any-source and
//! source-specific joins), interface choice, TTL / hop limit, multicast loopback, large
//! socket buffers, and batched I/O (`sendmmsg`/`recvmmsg` with UDP GSO/GRO on Linux, one
//! system call per datagram elsewhere or when batching is switched off).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};

#[cfg(target_os = "linux")]
use crate::sys;

/// Socket options shared by [`UdpSender`] and [`UdpReceiver`].
#[derive(Clone, Debug)]
pub struct UdpOptions {
    /// Network interface by name (`lo`, `eth0`): used for multicast joins and as the
    /// multicast output interface. `None` lets the kernel route.
    pub interface: Option<String>,
    /// IPv4 TTL / IPv6 hop limit for multicast and unicast datagrams.
    pub ttl: u32,
    /// Whether this host's own multicast datagrams are looped back to local receivers.
    pub multicast_loop: bool,
    /// Requested SO_SNDBUF of a sender in bytes (the kernel may cap it at `wmem_max`).
    pub buffer_bytes: usize,
    /// Requested SO_RCVBUF of a receiver in bytes. The kernel caps it at
    /// `net.core.rmem_max`; on Linux, a process allowed to (root, `CAP_NET_ADMIN`) then
    /// gets it anyway (`SO_RCVBUFFORCE`). [`UdpReceiver::recv_buffer_bytes`] says what was
    /// granted. Default 32 MiB: at several Gbit/s a receive loop that loses the CPU for a
    /// few milliseconds would otherwise overflow the buffer and lose datagrams (measured on
    /// loopback, docs/benchmarks.md).
    pub recv_buffer_bytes: usize,
    /// Use `sendmmsg`/`recvmmsg` and UDP GSO/GRO where the kernel offers them.
    pub batched: bool,
    /// Forbid IP fragmentation of sent datagrams (DF / `IPV6_DONTFRAG`, Linux): a datagram
    /// larger than the path MTU fails with `EMSGSIZE` instead of leaving in fragments,
    /// which multicast receivers often drop. Default `true`.
    pub dont_fragment: bool,
}

impl Default for UdpOptions {
    fn default() -> Self {
        Self {
            interface: None,
            ttl: 1,
            multicast_loop: true,
            buffer_bytes: 8 << 20,
            recv_buffer_bytes: 32 << 20,
            batched: true,
            dont_fragment: true,
        }
    }
}

/// The MTU that limits datagrams to a destination, and where it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathMtu {
    /// The MTU in bytes (IP header included).
    pub mtu: u32,
    /// The interface it belongs to, when one was named (`UdpOptions::interface`); `None`
    /// when the kernel's route to the destination gave it.
    pub interface: Option<String>,
}

impl std::fmt::Display for PathMtu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.interface {
            Some(i) => write!(f, "interface {i}, MTU {}", self.mtu),
            None => write!(f, "route MTU {}", self.mtu),
        }
    }
}

/// The MTU of the way to `dest`: the named interface's (`opts.interface`), or else the MTU
/// of the kernel's route to `dest` (a connected socket's `IP_MTU` / `IPV6_MTU`). Linux only;
/// elsewhere an `Unsupported` error.
pub fn path_mtu(
    dest: SocketAddr,
    bind: Option<SocketAddr>,
    opts: &UdpOptions,
) -> io::Result<PathMtu> {
    #[cfg(target_os = "linux")]
    {
        if let Some(name) = &opts.interface {
            // Validates the name (and that the interface exists) before it names a file.
            sys::if_index(name)?;
            let path = format!("/sys/class/net/{name}/mtu");
            let text = std::fs::read_to_string(&path)
                .map_err(|e| with_context(e, format!("cannot read the MTU of {name} ({path})")))?;
            let mtu = text.trim().parse().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{path}: not a number: {text:?}"),
                )
            })?;
            return Ok(PathMtu {
                mtu,
                interface: Some(name.clone()),
            });
        }
        let sock = Socket::new(domain(&dest), Type::DGRAM, Some(Protocol::UDP))
            .map_err(|e| with_context(e, "cannot create UDP socket"))?;
        if let Some(b) = bind {
            sock.bind(&b.into())
                .map_err(|e| with_context(e, format!("cannot bind {b}")))?;
        }
        sock.connect(&dest.into())
            .map_err(|e| with_context(e, format!("no route to {dest}")))?;
        let mtu = sys::path_mtu(&sock, dest.is_ipv6())
            .map_err(|e| with_context(e, format!("cannot read the path MTU to {dest}")))?;
        Ok(PathMtu {
            mtu,
            interface: None,
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (dest, bind, opts);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "reading the path MTU is only supported on Linux",
        ))
    }
}

fn domain(addr: &SocketAddr) -> Domain {
    if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    }
}

fn interface_index(opts: &UdpOptions) -> io::Result<u32> {
    match &opts.interface {
        None => Ok(0),
        #[cfg(target_os = "linux")]
        Some(name) => sys::if_index(name),
        #[cfg(not(target_os = "linux"))]
        Some(name) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("choosing an interface by name ({name}) is only supported on Linux"),
        )),
    }
}

fn with_context(e: io::Error, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// What kind of batching a socket ended up with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchMode {
    /// One `send_to` / `recv_from` per datagram.
    Plain,
    /// `sendmmsg` / `recvmmsg`.
    Mmsg,
    /// `sendmmsg` with UDP_SEGMENT (GSO) / `recvmmsg` with UDP_GRO.
    Gso,
}

/// A run of datagrams ready to send: contiguous bytes plus each datagram's length.
#[derive(Debug, Default)]
pub struct TxBatch {
    data: Vec<u8>,
    lens: Vec<usize>,
}

impl TxBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends one datagram.
    pub fn push(&mut self, datagram: &[u8]) {
        self.data.extend_from_slice(datagram);
        self.lens.push(datagram.len());
    }
    /// Number of datagrams.
    pub fn len(&self) -> usize {
        self.lens.len()
    }
    /// True when no datagram is queued.
    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }
    /// Total payload bytes.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }
    /// Forgets all datagrams, keeping the allocation.
    pub fn clear(&mut self) {
        self.data.clear();
        self.lens.clear();
    }
    /// Iterates over the datagrams.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut off = 0;
        self.lens.iter().map(move |&l| {
            let d = &self.data[off..off + l];
            off += l;
            d
        })
    }
}

/// A UDP socket sending to one destination (unicast or multicast group).
#[derive(Debug)]
pub struct UdpSender {
    sock: Socket,
    dest: SockAddr,
    dest_std: SocketAddr,
    mode: BatchMode,
    gso_refused: Option<io::Error>,
    #[cfg(target_os = "linux")]
    runs: Vec<sys::TxRun>,
}

impl UdpSender {
    /// Opens a socket that sends to `dest`, bound to `bind` (or an ephemeral port).
    pub fn open(dest: SocketAddr, bind: Option<SocketAddr>, opts: &UdpOptions) -> io::Result<Self> {
        let sock = Socket::new(domain(&dest), Type::DGRAM, Some(Protocol::UDP))
            .map_err(|e| with_context(e, "cannot create UDP socket"))?;
        let _ = sock.set_send_buffer_size(opts.buffer_bytes);
        let ifindex = interface_index(opts)?;
        let bind = bind.unwrap_or_else(|| match dest {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        });
        sock.bind(&bind.into())
            .map_err(|e| with_context(e, format!("cannot bind {bind}")))?;
        match dest.ip() {
            IpAddr::V4(g) if g.is_multicast() => {
                sock.set_multicast_ttl_v4(opts.ttl)?;
                sock.set_multicast_loop_v4(opts.multicast_loop)?;
                if ifindex != 0 {
                    #[cfg(target_os = "linux")]
                    sys::set_multicast_if_v4_index(&sock, ifindex)
                        .map_err(|e| with_context(e, "IP_MULTICAST_IF"))?;
                }
            }
            IpAddr::V6(g) if g.is_multicast() => {
                sock.set_multicast_hops_v6(opts.ttl)?;
                sock.set_multicast_loop_v6(opts.multicast_loop)?;
                if ifindex != 0 {
                    sock.set_multicast_if_v6(ifindex)
                        .map_err(|e| with_context(e, "IPV6_MULTICAST_IF"))?;
                }
            }
            IpAddr::V4(_) => sock.set_ttl_v4(opts.ttl.max(1))?,
            IpAddr::V6(_) => sock.set_unicast_hops_v6(opts.ttl.max(1))?,
        }
        #[cfg(target_os = "linux")]
        if opts.dont_fragment {
            sys::set_dont_fragment(&sock, dest.is_ipv6())
                .map_err(|e| with_context(e, "cannot forbid IP fragmentation"))?;
        }
        let mode = if !opts.batched || !cfg!(target_os = "linux") {
            BatchMode::Plain
        } else {
            #[cfg(target_os = "linux")]
            let gso = sys::gso_supported(&sock);
            #[cfg(not(target_os = "linux"))]
            let gso = false;
            if gso { BatchMode::Gso } else { BatchMode::Mmsg }
        };
        Ok(Self {
            sock,
            dest: dest.into(),
            dest_std: dest,
            mode,
            gso_refused: None,
            #[cfg(target_os = "linux")]
            runs: Vec::new(),
        })
    }

    /// Why UDP GSO was given up at run time, if it was: the error the kernel or the path
    /// returned for a GSO send (EIO, EINVAL or EMSGSIZE on NICs and kernels without it). The
    /// socket then goes on with plain `sendmmsg`; callers tell the operator once.
    pub fn gso_refused(&self) -> Option<&io::Error> {
        self.gso_refused.as_ref()
    }

    /// The destination address.
    pub fn dest(&self) -> SocketAddr {
        self.dest_std
    }

    /// The local address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("socket has no IP address"))
    }

    /// The batching mode in use.
    pub fn mode(&self) -> BatchMode {
        self.mode
    }

    /// Sends every datagram of `batch`, blocking while the socket buffer is full.
    pub fn send(&mut self, batch: &TxBatch) -> io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let r = match self.mode {
            BatchMode::Plain => self.send_plain(batch),
            #[cfg(target_os = "linux")]
            _ => self.send_mmsg(batch),
            #[cfg(not(target_os = "linux"))]
            _ => self.send_plain(batch),
        };
        r.map_err(|e| with_context(e, format!("cannot send to {}", self.dest_std)))
    }

    fn send_plain(&mut self, batch: &TxBatch) -> io::Result<()> {
        for d in batch.iter() {
            self.sock.send_to(d, &self.dest)?;
        }
        Ok(())
    }

    #[cfg(target_os = "linux")]
    fn send_mmsg(&mut self, batch: &TxBatch) -> io::Result<()> {
        // Group consecutive equal-size datagrams into GSO runs (the last of a run may be
        // shorter); without GSO every datagram is its own message.
        self.runs.clear();
        let gso = self.mode == BatchMode::Gso;
        let mut off = 0;
        for &l in &batch.lens {
            let extend = gso
                && self.runs.last().is_some_and(|r| {
                    r.len % (r.segment as usize) == 0
                        && l <= r.segment as usize
                        && l > 0
                        && r.count < sys::GSO_MAX_SEGMENTS
                        && r.len + l <= sys::GSO_MAX_BYTES
                });
            match self.runs.last_mut() {
                Some(r) if extend => {
                    r.len += l;
                    r.count += 1;
                }
                _ => self.runs.push(sys::TxRun {
                    start: off,
                    len: l,
                    segment: l.max(1) as u16,
                    count: 1,
                }),
            }
            off += l;
        }
        let mut done = 0;
        while done < self.runs.len() {
            match sys::send_runs(&self.sock, &self.dest, &batch.data, &self.runs[done..]) {
                Ok(n) => done += n.max(1),
                Err(e)
                    if gso
                        && matches!(
                            e.raw_os_error(),
                            Some(libc::EIO | libc::EINVAL | libc::EMSGSIZE)
                        ) =>
                {
                    // The path refused GSO (no checksum offload, a driver or kernel without
                    // it): fall back for good, and remember why. Only the datagrams not sent
                    // yet (the refused run and those after it) go again, one message each,
                    // so that nothing already on the wire is sent twice; a datagram that is
                    // itself too large then fails with its own error.
                    self.mode = BatchMode::Mmsg;
                    self.gso_refused = Some(e);
                    let rest = one_per_datagram(&self.runs[done..]);
                    let mut sent = 0;
                    while sent < rest.len() {
                        sent += sys::send_runs(&self.sock, &self.dest, &batch.data, &rest[sent..])?
                            .max(1);
                    }
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// `runs` split into one run per datagram (GSO runs into their segments; the last segment
/// of a run may be shorter).
#[cfg(target_os = "linux")]
fn one_per_datagram(runs: &[sys::TxRun]) -> Vec<sys::TxRun> {
    let mut out = Vec::new();
    for r in runs {
        let seg = usize::from(r.segment).max(1);
        let mut at = 0;
        while at < r.len {
            let len = seg.min(r.len - at);
            out.push(sys::TxRun {
                start: r.start + at,
                len,
                segment: len.max(1) as u16,
                count: 1,
            });
            at += len;
        }
    }
    out
}

/// A UDP socket receiving FLUTE datagrams on a unicast address or a multicast group.
pub struct UdpReceiver {
    sock: Socket,
    local: SocketAddr,
    source_filter: Option<IpAddr>,
    mode: BatchMode,
    #[cfg(target_os = "linux")]
    rx: sys::RxBufs,
    /// The same descriptor seen as a std socket, for the plain `recv_from` path.
    plain_sock: std::net::UdpSocket,
    plain: Vec<u8>,
}

impl std::fmt::Debug for UdpReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpReceiver")
            .field("local", &self.local)
            .field("mode", &self.mode)
            .finish()
    }
}

impl UdpReceiver {
    /// Binds `listen`. When its address is a multicast group the socket joins it on the
    /// chosen interface, source-specifically when `source` is given (SSM), otherwise any
    /// source (ASM). For unicast, `source` filters datagrams by sender address.
    pub fn bind(listen: SocketAddr, source: Option<IpAddr>, opts: &UdpOptions) -> io::Result<Self> {
        let sock = Socket::new(domain(&listen), Type::DGRAM, Some(Protocol::UDP))
            .map_err(|e| with_context(e, "cannot create UDP socket"))?;
        let _ = sock.set_recv_buffer_size(opts.recv_buffer_bytes);
        // Linux reports twice the size set (the kernel's bookkeeping share); below the
        // request, `net.core.rmem_max` capped it: a privileged process may go beyond.
        #[cfg(target_os = "linux")]
        if sock.recv_buffer_size().unwrap_or(0) < opts.recv_buffer_bytes {
            let _ = sys::force_recv_buffer(&sock, opts.recv_buffer_bytes);
        }
        let ifindex = interface_index(opts)?;
        let multicast = listen.ip().is_multicast();
        if multicast {
            sock.set_reuse_address(true)?;
            if listen.is_ipv6() {
                sock.set_only_v6(true)?;
            }
        }
        sock.bind(&listen.into())
            .map_err(|e| with_context(e, format!("cannot listen on {listen}")))?;
        if let Some(s) = source {
            if s.is_ipv4() != listen.is_ipv4() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("source {s} and listen address {listen} are of different IP families"),
                ));
            }
        }
        if multicast {
            let join = match (listen.ip(), source) {
                #[cfg(target_os = "linux")]
                (g, Some(s)) => sys::join_ssm(&sock, &g, &s, ifindex),
                #[cfg(not(target_os = "linux"))]
                (IpAddr::V4(g), Some(IpAddr::V4(s))) => {
                    sock.join_ssm_v4(&s, &g, &Ipv4Addr::UNSPECIFIED)
                }
                (IpAddr::V4(g), _) => {
                    sock.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(ifindex))
                }
                (IpAddr::V6(g), _) => sock.join_multicast_v6(&g, ifindex),
            };
            join.map_err(|e| {
                let iface = opts.interface.as_deref().unwrap_or("the default interface");
                with_context(
                    e,
                    format!("cannot join multicast group {} on {iface}", listen.ip()),
                )
            })?;
        }
        let local = sock.local_addr()?.as_socket().unwrap_or(listen);
        let mode = if !opts.batched || !cfg!(target_os = "linux") {
            BatchMode::Plain
        } else {
            #[cfg(target_os = "linux")]
            let gro = sys::enable_gro(&sock);
            #[cfg(not(target_os = "linux"))]
            let gro = false;
            if gro { BatchMode::Gso } else { BatchMode::Mmsg }
        };
        Ok(Self {
            plain_sock: sock.try_clone()?.into(),
            sock,
            local,
            source_filter: if multicast { None } else { source },
            mode,
            #[cfg(target_os = "linux")]
            rx: sys::RxBufs::new(),
            plain: vec![0; 65_536],
        })
    }

    /// The bound local address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The batching mode in use.
    pub fn mode(&self) -> BatchMode {
        self.mode
    }

    /// The receive buffer the kernel granted, in bytes as the kernel counts them (on Linux
    /// twice the size set, half of it for bookkeeping). Compare with
    /// [`UdpOptions::recv_buffer_bytes`]: smaller means `net.core.rmem_max` capped it.
    pub fn recv_buffer_bytes(&self) -> usize {
        self.sock.recv_buffer_size().unwrap_or(0)
    }

    /// Waits up to `timeout` (forever when `None`) for datagrams and hands each one to `f`
    /// with its source address. Returns how many were delivered (0 on timeout).
    pub fn recv(
        &mut self,
        timeout: Option<Duration>,
        f: &mut dyn FnMut(SocketAddr, &[u8]),
    ) -> io::Result<usize> {
        // A zero timeout means "block forever" to the kernel: use the smallest real one.
        let t = timeout.map(|t| t.max(Duration::from_micros(1)));
        self.sock.set_read_timeout(t)?;
        let filter = self.source_filter;
        let keep = |src: &SocketAddr| filter.is_none_or(|s| s == src.ip());
        let r = match self.mode {
            BatchMode::Plain => match self.plain_sock.recv_from(&mut self.plain) {
                Ok((n, src)) => {
                    if keep(&src) {
                        f(src, &self.plain[..n]);
                        Ok(1)
                    } else {
                        Ok(0)
                    }
                }
                Err(e) => Err(e),
            },
            #[cfg(target_os = "linux")]
            _ => match sys::recv_batch(&self.sock, &mut self.rx) {
                Ok(_) => {
                    let mut n = 0;
                    let data = self.rx.data();
                    for &(off, len, src) in &self.rx.datagrams {
                        if keep(&src) {
                            f(src, &data[off..off + len]);
                            n += 1;
                        }
                    }
                    Ok(n)
                }
                Err(e) => Err(e),
            },
            #[cfg(not(target_os = "linux"))]
            _ => Ok(0),
        };
        match r {
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(0)
            }
            other => other,
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod gso_fallback_tests {
    use super::*;

    /// After a refused GSO run, only that run and the ones after it are sent again, split
    /// into their datagrams (the mtu-netns branch found the whole batch resent, i.e.
    /// duplicates on the wire).
    #[test]
    fn the_rest_is_split_into_datagrams() {
        let runs = [
            sys::TxRun {
                start: 0,
                len: 3000,
                segment: 1000,
                count: 3,
            },
            sys::TxRun {
                start: 3000,
                len: 2500,
                segment: 1000,
                count: 3,
            },
            sys::TxRun {
                start: 5500,
                len: 40,
                segment: 40,
                count: 1,
            },
        ];
        let rest = one_per_datagram(&runs[1..]);
        let spans: Vec<(usize, usize)> = rest.iter().map(|r| (r.start, r.len)).collect();
        assert_eq!(spans, [(3000, 1000), (4000, 1000), (5000, 500), (5500, 40)]);
        assert!(
            rest.iter()
                .all(|r| r.count == 1 && usize::from(r.segment) == r.len)
        );
        // Nothing of the first run, which was sent, comes back.
        assert!(rest.iter().all(|r| r.start >= 3000));
    }
}

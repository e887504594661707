//! The one place in the workspace that calls libc directly (Linux only): batched UDP
//! I/O with `sendmmsg`/`recvmmsg`, UDP GSO (`UDP_SEGMENT`) and GRO (`UDP_GRO`), plus the
//! socket options `socket2` does not cover (interface index lookup, `IP_MULTICAST_IF`
//! by index, IPv6 source-specific joins).
//!
//! Every `unsafe` block below carries a SAFETY comment. The invariants are always the same:
//! the pointers handed to the kernel point into buffers owned by the caller that outlive the
//! call, and the lengths passed with them are the lengths of those buffers.
#![allow(unsafe_code)]

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{SockAddr, Socket};

/// Largest UDP payload a GSO super-datagram may carry (the UDP length field is 16 bits).
pub(crate) const GSO_MAX_BYTES: usize = 65_000;
/// The kernel refuses more segments than this in one GSO send (`UDP_MAX_SEGMENTS`).
pub(crate) const GSO_MAX_SEGMENTS: usize = 64;
/// Messages per `sendmmsg`/`recvmmsg` call.
pub(crate) const MMSG_BATCH: usize = 32;

const SOL_UDP: libc::c_int = 17;
const UDP_SEGMENT: libc::c_int = 103;
const UDP_GRO: libc::c_int = 104;

/// Resolves an interface name such as `lo` to its index.
pub(crate) fn if_index(name: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name contains NUL"))?;
    // SAFETY: `c` is a valid NUL-terminated string that lives across the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no network interface named {name:?}"),
        ));
    }
    Ok(idx)
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: `val` points to a live, initialised `T` and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (val as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Forbids fragmentation of what this socket sends: `IP_MTU_DISCOVER = IP_PMTUDISC_DO`
/// (the DF bit, and `EMSGSIZE` instead of local fragmentation), or for IPv6
/// `IPV6_MTU_DISCOVER = IPV6_PMTUDISC_DO` and `IPV6_DONTFRAG`.
/// SO_RCVBUFFORCE: a receive buffer of `bytes` beyond `net.core.rmem_max`; needs
/// `CAP_NET_ADMIN` (fails with `EPERM` otherwise, which leaves the capped size in place).
pub(crate) fn force_recv_buffer(sock: &Socket, bytes: usize) -> io::Result<()> {
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    setsockopt(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &v)
}

pub(crate) fn set_dont_fragment(sock: &Socket, ipv6: bool) -> io::Result<()> {
    let fd = sock.as_raw_fd();
    if ipv6 {
        let v: libc::c_int = libc::IPV6_PMTUDISC_DO;
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MTU_DISCOVER, &v)?;
        let one: libc::c_int = 1;
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_DONTFRAG, &one)
    } else {
        let v: libc::c_int = libc::IP_PMTUDISC_DO;
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, &v)
    }
}

/// The path MTU the kernel knows for a *connected* socket's route (`IP_MTU` /
/// `IPV6_MTU`).
pub(crate) fn path_mtu(sock: &Socket, ipv6: bool) -> io::Result<u32> {
    let (level, name) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_MTU)
    } else {
        (libc::IPPROTO_IP, libc::IP_MTU)
    };
    let mut val: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `val` and `len` are live locals of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&mut val as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    u32::try_from(val).map_err(|_| io::Error::other("negative path MTU"))
}

/// `IP_MULTICAST_IF` with an `ip_mreqn`, i.e. by interface index (works for `lo`, which
/// has no routable address of its own besides 127.0.0.1).
pub(crate) fn set_multicast_if_v4_index(sock: &Socket, ifindex: u32) -> io::Result<()> {
    // SAFETY: ip_mreqn is plain old data; all-zero is a valid value.
    let mut req: libc::ip_mreqn = unsafe { zeroed() };
    req.imr_ifindex = ifindex as libc::c_int;
    setsockopt(
        sock.as_raw_fd(),
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_IF,
        &req,
    )
}

/// `MCAST_JOIN_SOURCE_GROUP` (RFC 3678): a source-specific join by interface index, for
/// IPv4 and IPv6 alike. `group` and `source` must be of the socket's address family.
pub(crate) fn join_ssm(
    sock: &Socket,
    group: &IpAddr,
    source: &IpAddr,
    ifindex: u32,
) -> io::Result<()> {
    // SAFETY: group_source_req and sockaddr_storage are plain old data; zero is valid.
    let mut req: libc::group_source_req = unsafe { zeroed() };
    req.gsr_interface = ifindex;
    for (slot, addr) in [(&mut req.gsr_group, group), (&mut req.gsr_source, source)] {
        match addr {
            IpAddr::V4(a) => {
                // SAFETY: sockaddr_storage is large enough and aligned for sockaddr_in.
                let sin = unsafe {
                    &mut *(slot as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
            }
            IpAddr::V6(a) => {
                // SAFETY: sockaddr_storage is large enough and aligned for sockaddr_in6.
                let sin6 = unsafe {
                    &mut *(slot as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_addr.s6_addr = a.octets();
            }
        }
    }
    let level = if group.is_ipv4() {
        libc::IPPROTO_IP
    } else {
        libc::IPPROTO_IPV6
    };
    setsockopt(sock.as_raw_fd(), level, libc::MCAST_JOIN_SOURCE_GROUP, &req)
}

/// Asks for UDP GRO on a receiving socket. Returns whether the kernel accepted it.
pub(crate) fn enable_gro(sock: &Socket) -> bool {
    let one: libc::c_int = 1;
    setsockopt(sock.as_raw_fd(), SOL_UDP, UDP_GRO, &one).is_ok()
}

/// Probes whether `UDP_SEGMENT` (GSO) is known to this kernel.
pub(crate) fn gso_supported(sock: &Socket) -> bool {
    let mut val: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `val` and `len` are live locals of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            SOL_UDP,
            UDP_SEGMENT,
            (&mut val as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    rc == 0
}

/// One message of a `sendmmsg` call: a run of `count` equal-size datagrams (the last one
/// may be shorter) stored contiguously at `start..start+len`, sent as one GSO write when
/// `count > 1`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TxRun {
    pub(crate) start: usize,
    pub(crate) len: usize,
    pub(crate) segment: u16,
    pub(crate) count: usize,
}

/// Space for one `cmsghdr` carrying a `u16` (UDP_SEGMENT) or `c_int` (UDP_GRO), aligned.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
struct CmsgBuf([u8; 64]);

/// Sends `runs` (each one datagram or one GSO run) to `dest` with `sendmmsg`.
/// Returns the number of runs the kernel accepted (at least 1 unless an error is returned).
pub(crate) fn send_runs(
    sock: &Socket,
    dest: &SockAddr,
    data: &[u8],
    runs: &[TxRun],
) -> io::Result<usize> {
    let n = runs.len().min(MMSG_BATCH);
    // SAFETY: these are plain-old-data C structs; all-zero is valid for each.
    let mut iov: [libc::iovec; MMSG_BATCH] = unsafe { zeroed() };
    let mut msgs: [libc::mmsghdr; MMSG_BATCH] = unsafe { zeroed() };
    let mut cmsgs = [CmsgBuf([0; 64]); MMSG_BATCH];
    for i in 0..n {
        let run = runs[i];
        let slice = &data[run.start..run.start + run.len];
        iov[i].iov_base = slice.as_ptr() as *mut libc::c_void;
        iov[i].iov_len = slice.len();
        let hdr = &mut msgs[i].msg_hdr;
        hdr.msg_name = dest.as_ptr() as *mut libc::c_void;
        hdr.msg_namelen = dest.len();
        hdr.msg_iov = &mut iov[i];
        hdr.msg_iovlen = 1;
        if run.count > 1 {
            // SAFETY: CMSG_SPACE is a pure computation on a constant size.
            let space = unsafe { libc::CMSG_SPACE(size_of::<u16>() as u32) } as usize;
            hdr.msg_control = cmsgs[i].0.as_mut_ptr().cast();
            hdr.msg_controllen = space;
            // SAFETY: msg_control points to 64 aligned bytes owned by `cmsgs`, larger than
            // `space`, so CMSG_FIRSTHDR is non-null and CMSG_DATA has room for a u16.
            unsafe {
                let cm = libc::CMSG_FIRSTHDR(hdr);
                (*cm).cmsg_level = SOL_UDP;
                (*cm).cmsg_type = UDP_SEGMENT;
                (*cm).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as usize;
                std::ptr::write_unaligned(libc::CMSG_DATA(cm).cast::<u16>(), run.segment);
            }
        }
    }
    loop {
        // SAFETY: `msgs[..n]` are initialised headers whose pointers (iov, name, control)
        // refer to `iov`, `dest`, `cmsgs` and `data`, all alive for the call.
        let rc = unsafe { libc::sendmmsg(sock.as_raw_fd(), msgs.as_mut_ptr(), n as u32, 0) };
        if rc >= 0 {
            return Ok(rc as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Receive-side buffers for `recvmmsg`: `MMSG_BATCH` slots of 64 KiB, each possibly holding
/// a GRO super-datagram that is split into its segments after the call.
pub(crate) struct RxBufs {
    data: Vec<u8>,
    names: Vec<libc::sockaddr_storage>,
    cmsgs: Vec<CmsgBuf>,
    /// (offset, len, source) of each datagram received by the last call.
    pub(crate) datagrams: Vec<(usize, usize, SocketAddr)>,
}

const SLOT: usize = 65_536;

impl RxBufs {
    pub(crate) fn new() -> Self {
        Self {
            data: vec![0; SLOT * MMSG_BATCH],
            // SAFETY: sockaddr_storage is plain old data; zero is valid.
            names: vec![unsafe { zeroed() }; MMSG_BATCH],
            cmsgs: vec![CmsgBuf([0; 64]); MMSG_BATCH],
            datagrams: Vec::with_capacity(MMSG_BATCH * 8),
        }
    }

    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }
}

/// Receives up to `MMSG_BATCH` messages (blocking for the first one, subject to the
/// socket's read timeout) and splits GRO super-datagrams. Returns the datagram count.
pub(crate) fn recv_batch(sock: &Socket, bufs: &mut RxBufs) -> io::Result<usize> {
    bufs.datagrams.clear();
    // SAFETY: plain-old-data C structs; all-zero is valid.
    let mut iov: [libc::iovec; MMSG_BATCH] = unsafe { zeroed() };
    let mut msgs: [libc::mmsghdr; MMSG_BATCH] = unsafe { zeroed() };
    let base = bufs.data.as_mut_ptr();
    for i in 0..MMSG_BATCH {
        // SAFETY: i * SLOT + SLOT <= data.len(), so the pointer stays in bounds.
        iov[i].iov_base = unsafe { base.add(i * SLOT) }.cast();
        iov[i].iov_len = SLOT;
        let hdr = &mut msgs[i].msg_hdr;
        hdr.msg_name = (&mut bufs.names[i] as *mut libc::sockaddr_storage).cast();
        hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        hdr.msg_iov = &mut iov[i];
        hdr.msg_iovlen = 1;
        hdr.msg_control = bufs.cmsgs[i].0.as_mut_ptr().cast();
        hdr.msg_controllen = 64;
    }
    let rc = loop {
        // SAFETY: every header points into `bufs` (data, names, cmsgs) and `iov`, all of
        // which outlive the call and have the lengths given.
        let rc = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                msgs.as_mut_ptr(),
                MMSG_BATCH as u32,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if rc >= 0 {
            break rc as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    for (i, msg) in msgs.iter().enumerate().take(rc) {
        let len = msg.msg_len as usize;
        let src = sockaddr_to_std(&bufs.names[i]);
        let mut seg = len;
        let hdr = &msg.msg_hdr;
        // SAFETY: the kernel filled msg_control/msg_controllen; the CMSG_* macros only
        // walk within that buffer.
        unsafe {
            let mut cm = libc::CMSG_FIRSTHDR(hdr);
            while !cm.is_null() {
                if (*cm).cmsg_level == SOL_UDP && (*cm).cmsg_type == UDP_GRO {
                    let v = std::ptr::read_unaligned(libc::CMSG_DATA(cm).cast::<libc::c_int>());
                    if v > 0 {
                        seg = v as usize;
                    }
                }
                cm = libc::CMSG_NXTHDR(hdr, cm);
            }
        }
        let start = i * SLOT;
        let mut off = 0;
        while off < len {
            let l = seg.min(len - off);
            bufs.datagrams.push((start + off, l, src));
            off += l;
        }
        if len == 0 {
            bufs.datagrams.push((start, 0, src));
        }
    }
    Ok(bufs.datagrams.len())
}

fn sockaddr_to_std(ss: &libc::sockaddr_storage) -> SocketAddr {
    match ss.ss_family as libc::c_int {
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let a = unsafe { &*(ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            ))
        }
        _ => {
            // SAFETY: recvmmsg on an AF_INET socket fills a sockaddr_in.
            let a = unsafe { &*(ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            SocketAddr::V4(SocketAddrV4::new(
                u32::from_be(a.sin_addr.s_addr).into(),
                u16::from_be(a.sin_port),
            ))
        }
    }
}

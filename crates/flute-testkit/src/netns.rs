//! Two test hosts joined by a cable: a pair of Linux network namespaces created by the test
//! itself, linked by a veth pair with a chosen MTU and private addresses (10.77.x.0/24 and
//! fd77:x::/64) that exist only inside them, so nothing the test sends can leave them.
//!
//! Needs root and iproute2's `ip`. [`NetnsPair::new`] fails with a sentence saying which
//! command failed and why; tests that use it are `#[ignore]`d in a plain `cargo test` and
//! run by `.ci/steps/netns.sh` (as root), where such a failure fails the test. Everything is
//! deleted when the pair is dropped.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// One end of a [`NetnsPair`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The namespace's name (for `ip netns exec`).
    pub netns: String,
    /// The veth interface's name inside it.
    pub interface: String,
    /// Its IPv4 address.
    pub ipv4: String,
    /// Its IPv6 address.
    pub ipv6: String,
}

impl Host {
    /// `program args…` to be run inside this host's namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.netns, program]);
        c
    }

    /// Runs `ip args…` inside this namespace and returns its output (fails with the reason).
    pub fn ip(&self, args: &[&str]) -> Result<Output, String> {
        run(Command::new("ip").arg("-n").arg(&self.netns).args(args))
    }

    /// A counter of `/proc/net/snmp` (IPv4, e.g. `Ip` `FragCreates`) or `/proc/net/snmp6`
    /// (e.g. `Ip6FragCreates`, give `section` as "") as this namespace sees it.
    pub fn snmp(&self, section: &str, field: &str) -> Result<u64, String> {
        let file = if section.is_empty() {
            "/proc/net/snmp6"
        } else {
            "/proc/net/snmp"
        };
        let out = run(self.command("cat").arg(file))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if section.is_empty() {
            return text
                .lines()
                .find_map(|l| {
                    let mut it = l.split_whitespace();
                    (it.next() == Some(field)).then(|| it.next()?.parse().ok())?
                })
                .ok_or_else(|| format!("no {field} in {file}"));
        }
        // Two lines per section: names, then values.
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&format!("{section}:")))
            .collect();
        let (names, values) = match lines.as_slice() {
            [n, v, ..] => (n, v),
            _ => return Err(format!("no {section} section in {file}")),
        };
        let i = names
            .split_whitespace()
            .position(|n| n == field)
            .ok_or_else(|| format!("no {section} {field} in {file}"))?;
        values
            .split_whitespace()
            .nth(i)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("unreadable {section} {field} in {file}"))
    }
}

/// Two namespaces joined by a veth pair; deleted on drop.
#[derive(Debug)]
pub struct NetnsPair {
    /// The first host (10.77.x.1, fd77:x::1).
    pub a: Host,
    /// The second host (10.77.x.2, fd77:x::2).
    pub b: Host,
}

fn run(cmd: &mut Command) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| {
        format!("cannot run {shown}: {e} (network namespace tests need iproute2's `ip`)")
    })?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed ({}): {} (network namespace tests need root)",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out)
}

impl NetnsPair {
    /// Creates the two namespaces and the veth pair between them with this `mtu`, both
    /// interfaces up with their IPv4 and IPv6 addresses (no duplicate address detection),
    /// loopback up, and multicast routed out of the veth.
    pub fn new(mtu: u32) -> Result<Self, String> {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        // Unique per process and per pair; interface names stay within 15 characters.
        let id = format!("{}{n}", std::process::id() % 100_000);
        let subnet = (std::process::id() % 200 + n) % 250 + 1;
        let host = |side: &str, last: u8| Host {
            netns: format!("flute-{id}-{side}"),
            interface: format!("fv{id}{side}"),
            ipv4: format!("10.77.{subnet}.{last}"),
            ipv6: format!("fd77:{subnet:x}::{last}"),
        };
        let pair = Self {
            a: host("a", 1),
            b: host("b", 2),
        };
        pair.create(mtu).map(|()| pair)
    }

    fn create(&self, mtu: u32) -> Result<(), String> {
        for h in [&self.a, &self.b] {
            run(Command::new("ip").args(["netns", "add", &h.netns]))?;
        }
        run(Command::new("ip").args([
            "link",
            "add",
            &self.a.interface,
            "netns",
            &self.a.netns,
            "type",
            "veth",
            "peer",
            "name",
            &self.b.interface,
            "netns",
            &self.b.netns,
        ]))?;
        let mtu = mtu.to_string();
        for h in [&self.a, &self.b] {
            h.ip(&["link", "set", "lo", "up"])?;
            h.ip(&["link", "set", &h.interface, "mtu", &mtu, "up"])?;
            h.ip(&[
                "addr",
                "add",
                &format!("{}/24", h.ipv4),
                "dev",
                &h.interface,
            ])?;
            h.ip(&[
                "-6",
                "addr",
                "add",
                &format!("{}/64", h.ipv6),
                "dev",
                &h.interface,
                "nodad",
            ])?;
            h.ip(&["route", "add", "224.0.0.0/4", "dev", &h.interface])?;
        }
        Ok(())
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it, and with it the pair.
        for h in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", &h.netns]).output();
        }
    }
}

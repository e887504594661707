"""Shared helpers for the flute_rs test suite."""

import random
import socket

import pytest


def pseudo_random(n: int, seed: int = 1) -> bytes:
    """Deterministic pseudo-random bytes."""
    return random.Random(seed).randbytes(n)


def drop_every(packets, n: int, phase: int = 3):
    """Drops data packet i (TOI != 0, counted from 1) when i % n == phase; FDT packets pass."""
    import flute_rs

    out = []
    i = 0
    for p in packets:
        if flute_rs.parse_packet(p).toi != 0:
            i += 1
            if i % n == phase:
                continue
        out.append(p)
    return out


def send_all(sender, now=0.0, batch=4096):
    """Closes nothing; reads every datagram due at `now`."""
    out = []
    while True:
        got = sender.read_many(batch, now=now)
        out.extend(got)
        if len(got) < batch:
            return out


def completed(events):
    import flute_rs

    return [e for e in events if isinstance(e, flute_rs.ObjectComplete)]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def payload():
    return pseudo_random(200_000)

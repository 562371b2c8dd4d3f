"""Loopback fixtures for the eyeballs tests: listeners, refused ports and black holes on
127.0.0.1 and ::1 only. No name is ever resolved by the system resolver: names go through
the static ``hosts=`` table."""

from __future__ import annotations

import os
import select
import socket
from typing import Iterator, List, Tuple

import pytest


@pytest.fixture(autouse=True)
def _numeric_lookups_only(monkeypatch):
    """No test may ask the machine's resolver (its resolv.conf names a real server): every
    ``socket.getaddrinfo`` call of a test (CPython's own ``create_connection``, compared
    with eyeballs', calls it) gets ``AI_NUMERICHOST``, so a name fails at once with
    ``EAI_NONAME`` instead of becoming a DNS query. eyeballs' own lookups go through the
    static ``hosts=`` table."""
    real = socket.getaddrinfo

    def numeric(host, port, family=0, type=0, proto=0, flags=0):
        return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)

    monkeypatch.setattr(socket, "getaddrinfo", numeric)


@pytest.fixture(autouse=True)
def _no_history_across_tests():
    """Every test starts with an empty history store: what one test's races taught (a
    refused port, later reused by another test's listener) must not order another's."""
    import eyeballs

    eyeballs.flush_history()


def open_fds() -> int:
    """How many descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def _listener(family: int, host: str, port: int = 0, backlog: int = 128) -> socket.socket:
    s = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    s.listen(backlog)
    return s


def _fill(listener: socket.socket) -> List[socket.socket]:
    """Fills a backlog-0 listener's accept queue with connections nobody accepts, until a
    handshake no longer completes: from then on the kernel drops its SYNs (a black hole)."""
    fillers = []
    addr = listener.getsockname()[:2]
    for _ in range(16):
        c = socket.socket(listener.family, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex(addr)
        if not select.select([], [c], [], 0.3)[1]:
            c.close()
            return fillers
        fillers.append(c)
    raise RuntimeError("the accept queue never filled")


class Pair:
    """A port on which ::1 and 127.0.0.1 each are a listener, a black hole or refused."""

    def __init__(self, v6: str, v4: str) -> None:
        self.sockets: List[socket.socket] = []
        for _ in range(20):
            try:
                self._open(v6, v4)
                return
            except OSError:
                self.close()
        raise RuntimeError("no port free on both families")

    def _open(self, v6: str, v4: str) -> None:
        # The first side picks the port; the other takes the same one.
        probe = _listener(socket.AF_INET6, "::1")
        self.port = probe.getsockname()[1]
        probe.close()
        for family, host, kind in ((socket.AF_INET6, "::1", v6), (socket.AF_INET, "127.0.0.1", v4)):
            if kind == "listen":
                self.sockets.append(_listener(family, host, self.port))
            elif kind == "hole":
                hole = _listener(family, host, self.port, backlog=0)
                self.sockets.append(hole)
                self.sockets.extend(_fill(hole))
            elif kind == "refuse":
                # Bound and not listening: holds the port, refuses connections.
                s = socket.socket(family, socket.SOCK_STREAM)
                if family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((host, self.port))
                self.sockets.append(s)
            else:
                raise ValueError(kind)

    def close(self) -> None:
        for s in self.sockets:
            s.close()
        self.sockets = []


#: The static table every name test uses: both loopback addresses for one name.
HOSTS = {"dual.test": ["::1", "127.0.0.1"], "v6only.test": ["::1"], "v4only.test": ["127.0.0.1"]}


@pytest.fixture
def listener() -> Iterator[Tuple[str, int]]:
    """A listening socket on 127.0.0.1."""
    s = _listener(socket.AF_INET, "127.0.0.1")
    yield s.getsockname()[:2]
    s.close()


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 and ::1 that refuses connections."""
    p = Pair("refuse", "refuse")
    yield p.port
    p.close()


@pytest.fixture
def pair_factory() -> Iterator:
    made: List[Pair] = []

    def make(v6: str, v4: str) -> Pair:
        p = Pair(v6, v4)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()

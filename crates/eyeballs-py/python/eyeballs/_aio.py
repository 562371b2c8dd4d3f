"""asyncio: :func:`start_connection` (aiohappyeyeballs' signature and semantics) and
:func:`open_connection` (asyncio streams, resolved by eyeballs' own resolver).

Both run the race in Rust on the tokio driver, on one runtime thread per process (made at
the first race, and anew in a forked child): the event loop never blocks on a race. The
runtime thread completes an asyncio future with ``loop.call_soon_threadsafe``. Cancelling
the awaiting task (``task.cancel()``, ``asyncio.wait_for``, ``asyncio.timeout``) cancels the
race: before the ``CancelledError`` propagates, the race is dropped on the runtime thread,
which closes every socket it opened.

Deliberate differences from aiohappyeyeballs 2.7.1 (the same inputs otherwise give the same
winner and the same attempts in the same order; tests/test_asyncio.py checks it side by side):

- The addresses are sorted by RFC 6724 (HE-4) within each family, keeping the caller's
  order among equals (addresses ``getaddrinfo`` returned are sorted so already), and a
  repeated address is tried once. The family of the first address leads, as there.
- ``happy_eyeballs_delay=None`` with ``interleave=None``: one attempt after another, all
  addresses of the first address's family first, then the other family's (aiohappyeyeballs
  keeps the given order exactly; it is the same for a list grouped by family, which is what
  ``getaddrinfo`` returns). With ``interleave=N`` the families alternate after the first N
  (HE-4.8) in both.
- ``happy_eyeballs_delay`` below 10 ms is a ``ValueError`` (HE-5.10).
- A connect error is reported as asyncio's ``sock_connect`` reports one that arrives after
  ``EINPROGRESS`` (``OSError(errno, "Connect call failed ADDRESS")``) even when the kernel
  refused at once; a failed bind is reported with its errno and the OS's message.
- Only ``AF_INET`` and ``AF_INET6`` TCP addresses, no ``socket_factory`` (the patched
  ``aiohappyeyeballs.start_connection`` hands any other call to the original).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple

from . import _eyeballs

AddrInfo = Tuple[int, int, int, str, Tuple[Any, ...]]

__all__ = ["open_connection", "start_connection"]


async def start_connection(
    addr_infos: Sequence[AddrInfo],
    *,
    local_addr_infos: Optional[Sequence[AddrInfo]] = None,
    happy_eyeballs_delay: Optional[float] = None,
    interleave: Optional[int] = None,
    loop: Optional[asyncio.AbstractEventLoop] = None,
) -> socket.socket:
    """Connect to one of ``addr_infos`` and return the connected, non-blocking socket: the
    signature and semantics of ``aiohappyeyeballs.start_connection`` (2.7.1), with the race
    in Rust (module docs list the deliberate differences).

    - ``addr_infos``: ``getaddrinfo``-style 5-tuples ``(family, type, proto, canonname,
      sockaddr)``, tried in this order (RFC 6724 sorted within a family, the first
      address's family leading).
    - ``local_addr_infos``: 5-tuples to bind each socket to: the first of the attempt's
      family that binds; an attempt of a family with none fails.
    - ``happy_eyeballs_delay``: seconds between attempt starts (the Connection Attempt
      Delay, HE-5.7; at least 0.01, HE-5.10). ``None`` (the default, as in
      aiohappyeyeballs): one attempt after another, the next when the previous fails.
    - ``interleave``: how many addresses of the first family go before the families
      alternate (HE-4.8); ``None``: 1 with a delay, no interleaving without one.
    - ``loop``: the event loop (default: the running loop).

    Raises ``ValueError`` for an empty ``addr_infos``; when every attempt fails, what
    aiohappyeyeballs raises: the one error (``OSError(errno, "Connect call failed
    ADDRESS")``), the first when all have the same text, else ``OSError(errno, "Multiple
    exceptions: ...")`` (the errno when all share it, else none). The exception carries
    the race's :class:`~eyeballs.Report` as ``.report``.
    """
    if not addr_infos:
        raise ValueError("addr_infos must not be empty")
    current = loop or asyncio.get_running_loop()
    infos = list(addr_infos)
    families = {info[0] for info in infos}
    if not families <= {socket.AF_INET, socket.AF_INET6}:
        raise ValueError("eyeballs races AF_INET and AF_INET6 addresses only")
    if happy_eyeballs_delay is None and interleave is None:
        # No interleaving, as aiohappyeyeballs (module docs): the first family's run is
        # every address.
        interleave = len(infos)
    addrs = [_triple(info[4], info[0]) for info in infos]
    local = None
    if local_addr_infos is not None:
        local = [_triple(info[4], info[0]) for info in local_addr_infos]
    try:
        fd, family, report = await _race(
            current,
            None,
            0,
            addrs=addrs,
            attempt_delay=happy_eyeballs_delay,
            interleave=interleave,
            prefer_ipv4=infos[0][0] == socket.AF_INET,
            local_addrs=local,
        )
    except OSError as e:
        failed = getattr(e, "report", None)
        if failed is None or not failed.attempts:
            raise
        raise _aiohappyeyeballs_error(failed, infos) from None
    winner = _info_of(infos, report.winner)
    return _socket(fd, family, winner[2] if winner else socket.IPPROTO_TCP)


async def open_connection(
    host: str,
    port: int,
    *,
    limit: int = 2**16,
    happy_eyeballs_delay: Optional[float] = _eyeballs.DEFAULT_ATTEMPT_DELAY,
    interleave: Optional[int] = None,
    resolution_delay: Optional[float] = None,
    family: int = socket.AF_UNSPEC,
    local_addr: Optional[Tuple[str, int]] = None,
    timeout: Optional[float] = None,
    hosts: Optional[Mapping[str, Iterable[str]]] = None,
    **kwds: Any,
) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to ``host`` on ``port`` and return ``(reader, writer)``, as
    :func:`asyncio.open_connection` does, resolving ``host`` with eyeballs' own resolver:
    AAAA and A asked apart, attempts starting on the first answer, waiting the Resolution
    Delay for AAAA after A (HE-3.6), instead of one ``getaddrinfo`` call first.

    - ``happy_eyeballs_delay`` (default :data:`~eyeballs.DEFAULT_ATTEMPT_DELAY`, HE-5.7;
      ``None``: one after another), ``interleave`` (default 1, HE-4.8),
      ``resolution_delay`` (default :data:`~eyeballs.DEFAULT_RESOLUTION_DELAY`, HE-3.6),
      ``family`` (``AF_UNSPEC``, ``AF_INET`` or ``AF_INET6`` only) and ``hosts`` (a static
      table ``{name: [ip, ...]}`` instead of the system resolver) are
      :func:`~eyeballs.create_connection`'s.
    - ``local_addr``: ``(ip, port)`` to bind each socket to (an IP literal).
    - ``timeout``: seconds for the whole race, resolution included (``None``: no limit);
      ``TimeoutError`` when it runs out.
    - ``limit`` and every other keyword (``ssl``, ``server_hostname``,
      ``ssl_handshake_timeout`` …) go to :func:`asyncio.open_connection`; with ``ssl``,
      ``server_hostname`` defaults to ``host``.

    Raises what :func:`~eyeballs.create_connection` raises (``OSError`` with errno,
    ``socket.gaierror``, ``TimeoutError``), with the race's report as ``.report``.
    """
    from . import _host, _port, _source

    name = _host(host)
    number = _port(port)
    loop = asyncio.get_running_loop()
    local = None
    if local_addr is not None:
        ips, local_port = _source(local_addr)
        local = [(ip, local_port, 0) for ip in ips]
    table = None
    if hosts is not None:
        table = [(str(n), [str(ip) for ip in ips]) for n, ips in hosts.items()]
    if timeout is not None and timeout <= 0:
        raise TimeoutError("timed out")
    fd, winner_family, _ = await _race(
        loop,
        name,
        number,
        timeout=timeout,
        attempt_delay=happy_eyeballs_delay,
        resolution_delay=resolution_delay,
        interleave=interleave,
        family=int(family),
        local_addrs=local,
        hosts=table,
    )
    sock = _socket(fd, winner_family, socket.IPPROTO_TCP)
    if kwds.get("ssl") and kwds.get("server_hostname") is None:
        kwds["server_hostname"] = host
    try:
        return await asyncio.open_connection(sock=sock, limit=limit, **kwds)
    except BaseException:
        sock.close()
        raise


async def _race(loop: asyncio.AbstractEventLoop, host: Optional[str], port: int, **kw: Any):
    """Runs one race on the runtime thread; returns ``(fd, family, report)``. Cancelling
    the caller cancels the race, every socket closed before ``CancelledError`` goes on.

    The runtime thread never runs Python: it stores the outcome and makes
    ``pending.fileno()`` readable; the loop takes the outcome on its own thread
    (:func:`_settle`)."""
    from . import _log

    pending = _eyeballs.start(host, port, **kw)
    fut: asyncio.Future = loop.create_future()
    signal = pending.fileno()
    loop.add_reader(signal, _settle, fut, pending)
    try:
        try:
            fd, family, report = await fut
        finally:
            loop.remove_reader(signal)
            pending.close()
    except BaseException as e:
        # Cancelled (or interrupted): stop the race, which closes its sockets (an outcome
        # not taken yet, too), before the exception goes on; a winner taken in the
        # meantime is closed here.
        pending.cancel()
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            os.close(fut.result()[0])
        failed = getattr(e, "report", None)
        if failed is not None:
            _log(failed)
        raise
    _log(report)
    return fd, family, report


def _settle(fut: asyncio.Future, pending: Any) -> None:
    """Runs on the event loop when the race's descriptor is readable: takes the outcome
    and completes the future. A cancelled future leaves the outcome to ``pending.cancel()``,
    which closes a winner."""
    if fut.done():
        return
    outcome = pending.outcome()
    if outcome is None:
        return
    if outcome[0] == "ok":
        fut.set_result(outcome[1:])
    elif outcome[0] == "error":
        fut.set_exception(outcome[1])
    else:
        fut.cancel()


def _socket(fd: int, family: int, proto: int) -> socket.socket:
    """The non-blocking ``socket.socket`` owning ``fd`` (closed if that fails)."""
    try:
        sock = socket.socket(family, socket.SOCK_STREAM, proto, fd)
    except BaseException:
        os.close(fd)
        raise
    sock.setblocking(False)
    return sock


def _triple(sockaddr: Tuple[Any, ...], family: int) -> Tuple[str, int, int]:
    """``(ip, port, scope_id)`` of a socket address tuple."""
    host, port = str(sockaddr[0]), int(sockaddr[1])
    scope = int(sockaddr[3]) if family == socket.AF_INET6 and len(sockaddr) >= 4 else 0
    return host, port, scope


def _key(host: str, port: int) -> Tuple[Any, int]:
    return ipaddress.ip_address(host.split("%", 1)[0]), port


def _info_of(infos: List[AddrInfo], addr: Optional[Tuple[str, int]]) -> Optional[AddrInfo]:
    """The first address info of ``addr`` (``(ip, port)`` as a report gives it)."""
    if addr is None:
        return None
    want = _key(*addr)
    for info in infos:
        if _key(str(info[4][0]), int(info[4][1])) == want:
            return info
    return None


def _shown(info: Optional[AddrInfo], addr: Tuple[str, int]) -> Tuple[Any, ...]:
    """The address as asyncio's ``sock_connect`` shows it: IPv6 as a 4-tuple."""
    if info is None:
        return tuple(addr)
    sockaddr = tuple(info[4])
    if info[0] == socket.AF_INET6:
        return (sockaddr + (0, 0))[:4] if len(sockaddr) < 4 else sockaddr
    return sockaddr


def _aiohappyeyeballs_error(report: Any, infos: List[AddrInfo]) -> OSError:
    """The exception aiohappyeyeballs raises for these failed attempts (docstring of
    :func:`start_connection`), carrying ``report``."""
    errors: List[OSError] = []
    for attempt in report.attempts:
        if attempt.errno is not None:
            shown = _shown(_info_of(infos, attempt.address), attempt.address)
            errors.append(OSError(attempt.errno, f"Connect call failed {shown}"))
        elif attempt.error is not None:
            errors.append(OSError(attempt.error))
    if not errors:
        errors.append(OSError(report.verdict))
    first = errors[0]
    if len(errors) == 1 or all(str(e) == str(first) for e in errors):
        chosen = first
    else:
        message = "Multiple exceptions: {}".format(", ".join(str(e) for e in errors))
        if all(e.errno == first.errno for e in errors) and first.errno is not None:
            chosen = OSError(first.errno, message)
        else:
            chosen = OSError(message)
    chosen.report = report  # type: ignore[attr-defined]
    return chosen


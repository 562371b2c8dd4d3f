"""Happy Eyeballs (RFC 8305) connections for Python, with a Rust core.

``socket.create_connection`` tries a host's addresses one after another, so one black-holed
address (a broken IPv6 path, say) stalls the connection for a whole TCP timeout.
:func:`create_connection` is a drop-in replacement that asks for AAAA and A at once, sorts the
answers (RFC 6724), interleaves the families and races staggered attempts 250 ms apart; the
first to connect wins and every other socket is closed. The race runs in Rust (the
``eyeballs`` crate) with the GIL released; Ctrl-C cancels it.

>>> import eyeballs
>>> sock = eyeballs.create_connection(("example.com", 443), timeout=10)  # doctest: +SKIP

:func:`connect` does the same and also returns the race's :class:`Report` (which address won,
each query and attempt with its times and outcome). Each race's verdict is logged on the
``"eyeballs"`` logger at DEBUG level.

For asyncio, :func:`start_connection` has aiohappyeyeballs' signature and semantics (what
aiohttp calls) and :func:`open_connection` gives asyncio streams for a host name, resolved
by eyeballs' own resolver; both run the race on a runtime thread and never block the event
loop. :func:`patch` (or ``import eyeballs.auto``) makes urllib3, so ``requests``, and
aiohttp use eyeballs without a change to their callers; :func:`unpatch` undoes it.

Every default (the attempt delay, the Resolution Delay, the interleaving) is the Rust crate's
``Config::default()``: see :data:`DEFAULT_ATTEMPT_DELAY` and friends.
"""

from __future__ import annotations

import errno as _errno
import logging as _logging
import math as _math
import operator as _operator
import os as _os
import socket as _socket
from typing import Any, Iterable, Mapping, NamedTuple, Optional, Tuple, Union

from . import _eyeballs
from ._eyeballs import (
    ATTEMPT_DELAY_FLOOR,
    DEFAULT_ATTEMPT_DELAY,
    DEFAULT_FIRST_ADDRESS_FAMILY_COUNT,
    DEFAULT_RESOLUTION_DELAY,
    Attempt,
    Query,
    Report,
    flush_history,
)

__all__ = [
    "ATTEMPT_DELAY_FLOOR",
    "DEFAULT_ATTEMPT_DELAY",
    "DEFAULT_FIRST_ADDRESS_FAMILY_COUNT",
    "DEFAULT_RESOLUTION_DELAY",
    "Attempt",
    "Connection",
    "Query",
    "Report",
    "connect",
    "create_connection",
    "flush_history",
    "open_connection",
    "patch",
    "patched",
    "start_connection",
    "unpatch",
]

_logger = _logging.getLogger("eyeballs")

#: The sentinel ``socket.create_connection`` uses for "the default timeout".
_GLOBAL_DEFAULT_TIMEOUT: Any = _socket._GLOBAL_DEFAULT_TIMEOUT  # type: ignore[attr-defined]

#: The largest timeout CPython accepts, in seconds (a 64-bit count of nanoseconds).
_MAX_TIMEOUT = (2**63 - 1) / 1e9

Address = Tuple[Union[str, bytes, bytearray, None], Union[int, str, bytes, None]]


class Connection(NamedTuple):
    """A connected socket and the report of the race that made it."""

    #: The connected socket, as ``socket.create_connection`` returns it.
    socket: _socket.socket
    #: What the race did.
    report: Report


def create_connection(
    address: Address,
    timeout: Optional[float] = _GLOBAL_DEFAULT_TIMEOUT,
    source_address: Optional[Tuple[str, int]] = None,
    *,
    all_errors: bool = False,
    happy_eyeballs_delay: Optional[float] = DEFAULT_ATTEMPT_DELAY,
    interleave: Optional[int] = None,
    resolution_delay: Optional[float] = None,
    family: int = _socket.AF_UNSPEC,
    hosts: Optional[Mapping[str, Iterable[str]]] = None,
) -> _socket.socket:
    """Connect to ``address`` (``(host, port)``) and return the socket: a drop-in for
    :func:`socket.create_connection`, with the same arguments and the same exceptions, whose
    connection attempts race (RFC 8305) instead of waiting for each other.

    - ``host``: a name (resolved by eyeballs' own resolver: the system's ``getaddrinfo``
      asked for AAAA and A apart, each answer used as it arrives), an IP literal, or
      ``None`` for the local host. ``port``: a number, a numeric string or a service name.
    - ``timeout``: as for ``socket.create_connection`` the socket's timeout
      (:meth:`socket.socket.settimeout`; the default is :func:`socket.getdefaulttimeout`);
      it also bounds the whole call, name resolution included (CPython applies it to each
      address in turn). ``None``: blocking, no limit.
    - ``source_address``: ``(host, port)`` to bind each socket to before connecting.
    - ``all_errors``: when every attempt fails, raise an :class:`ExceptionGroup` of every
      attempt's error instead of the last one's.
    - ``happy_eyeballs_delay``: seconds between the start of one attempt and the next
      (the Connection Attempt Delay, HE-5.7; at least :data:`ATTEMPT_DELAY_FLOOR`, HE-5.10);
      ``None``: one attempt after another, as ``asyncio`` means it.
    - ``interleave``: how many addresses of the first family go before the families
      alternate (HE-4.8; default :data:`DEFAULT_FIRST_ADDRESS_FAMILY_COUNT`).
    - ``resolution_delay``: how long to wait for AAAA after A answered first (HE-3.6;
      default :data:`DEFAULT_RESOLUTION_DELAY`).
    - ``family``: ``socket.AF_UNSPEC`` (both, IPv6 first), ``AF_INET`` or ``AF_INET6`` only.
    - ``hosts``: a static table ``{name: [ip, ...]}`` answering names instead of the system
      resolver (a name not in it does not exist).

    Raises what ``socket.create_connection`` raises: :class:`OSError` with ``errno``
    (``ConnectionRefusedError`` …), :class:`socket.gaierror` when the name does not resolve,
    :class:`TimeoutError` when ``timeout`` runs out, ``TypeError``, ``ValueError`` or
    ``OverflowError`` for bad arguments. An exception from a race carries its
    :class:`Report` as ``.report``. A ``KeyboardInterrupt`` (or any exception a signal
    handler raises) cancels the race and closes every socket before it propagates.
    """
    return _connect(
        address,
        timeout,
        source_address,
        all_errors,
        happy_eyeballs_delay,
        interleave,
        resolution_delay,
        family,
        hosts,
    )[0]


def connect(
    address: Address,
    timeout: Optional[float] = _GLOBAL_DEFAULT_TIMEOUT,
    source_address: Optional[Tuple[str, int]] = None,
    *,
    all_errors: bool = False,
    happy_eyeballs_delay: Optional[float] = DEFAULT_ATTEMPT_DELAY,
    interleave: Optional[int] = None,
    resolution_delay: Optional[float] = None,
    family: int = _socket.AF_UNSPEC,
    hosts: Optional[Mapping[str, Iterable[str]]] = None,
) -> Connection:
    """:func:`create_connection`, returning the socket with the race's :class:`Report`
    (``sock, report = eyeballs.connect(...)``). Same arguments and exceptions."""
    return Connection(
        *_connect(
            address,
            timeout,
            source_address,
            all_errors,
            happy_eyeballs_delay,
            interleave,
            resolution_delay,
            family,
            hosts,
        )
    )


def _connect(
    address: Address,
    timeout: Optional[float],
    source_address: Optional[Tuple[str, int]],
    all_errors: bool,
    happy_eyeballs_delay: Optional[float],
    interleave: Optional[int],
    resolution_delay: Optional[float],
    family: int,
    hosts: Optional[Mapping[str, Iterable[str]]],
) -> Tuple[_socket.socket, Report]:
    """The body of :func:`connect` and :func:`create_connection`: ``(sock, report)``."""
    host, port = address
    host = _host(host)
    port = _port(port)
    limit = _timeout(_socket.getdefaulttimeout() if timeout is _GLOBAL_DEFAULT_TIMEOUT else timeout)
    source_ips, source_port = _source(source_address)
    if limit == 0.0:
        # A non-blocking connect: CPython's raises EINPROGRESS at once, so does this.
        raise BlockingIOError(_errno.EINPROGRESS, _os.strerror(_errno.EINPROGRESS))
    table = None
    if hosts is not None:
        table = [(str(name), [str(ip) for ip in ips]) for name, ips in hosts.items()]
    try:
        # Positional, in the signature's order: keyword matching costs more than the rest
        # of this function.
        fd, winner_family, report = _eyeballs.race(
            host,
            port,
            limit,
            happy_eyeballs_delay,
            resolution_delay,
            interleave,
            int(family),
            source_ips,
            source_port,
            table,
            all_errors,
        )
    except Exception as e:
        failed = getattr(e, "report", None)
        if failed is not None:
            _log(failed)
        raise
    try:
        # Family, type and protocol given: the socket need not ask the kernel for them.
        sock = _socket.socket(winner_family, _socket.SOCK_STREAM, _socket.IPPROTO_TCP, fd)
    except BaseException:
        # The descriptor is ours until a socket owns it.
        _os.close(fd)
        raise
    if timeout is not _GLOBAL_DEFAULT_TIMEOUT:
        sock.settimeout(timeout)
    _log(report)
    return sock, report


def _log(report: Report) -> None:
    """Logs a race's verdict on the ``eyeballs`` logger at DEBUG level."""
    if _logger.isEnabledFor(_logging.DEBUG):
        _logger.debug(
            "%s (%d attempts, %d queries)",
            report.verdict,
            len(report.attempts),
            len(report.queries),
            extra={"eyeballs_report": report},
        )


def _host(host: object) -> Optional[str]:
    """The host as ``getaddrinfo`` takes it: a str encoded with the ``idna`` codec (its
    ``UnicodeError`` for a bad name, as CPython's), bytes as they are, or ``None``."""
    if host is None:
        return None
    if isinstance(host, str):
        if host.isascii() and _plain_ascii_labels(host):
            # What the idna codec makes of an ASCII name with no empty or long label: the
            # name itself (the codec costs more than the rest of the call's Python).
            name = host
        else:
            name = host.encode("idna").decode("ascii")
    elif isinstance(host, (bytes, bytearray)):
        name = bytes(host).decode("latin-1")
    else:
        raise TypeError("getaddrinfo() argument 1 must be string or None")
    if name.startswith("["):
        # getaddrinfo takes no brackets around an IPv6 literal (the Rust parser would).
        raise _socket.gaierror(_socket.EAI_NONAME, "Name or service not known")
    return name


def _plain_ascii_labels(name: str) -> bool:
    """Whether every dot-separated label of ``name`` (a trailing dot allowed) has 1 to 63
    characters: then the idna codec leaves an ASCII name as it is."""
    labels = name.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    return all(0 < len(label) < 64 for label in labels)


def _port(port: object) -> int:
    """The port as ``getaddrinfo`` takes it: an int, a numeric string, a service name
    (``/etc/services``), or ``None`` (port 0). A number above 65535 is an ``OverflowError``
    here, where CPython wraps it around."""
    if port is None:
        return 0
    if type(port) is int:
        if not -(2**63) <= port < 2**63:
            raise OverflowError("Python int too large to convert to C long")
        if port < 0:
            raise _service_error()
        if port > 65535:
            raise OverflowError("create_connection(): port must be 0-65535.")
        return port
    if isinstance(port, (str, bytes, bytearray)):
        text = port.decode("latin-1") if isinstance(port, (bytes, bytearray)) else port
        if text == "":
            return 0
        if text.isascii() and text.isdigit():
            return _port(int(text))
        try:
            return _socket.getservbyname(text, "tcp")
        except (OSError, UnicodeError):
            raise _service_error() from None
    raise OSError("Int or String expected")


def _service_error() -> _socket.gaierror:
    return _socket.gaierror(_socket.EAI_SERVICE, "Servname not supported for ai_socktype")


def _timeout(timeout: object) -> Optional[float]:
    """The timeout in seconds, checked as :meth:`socket.socket.settimeout` checks it (same
    exceptions and messages)."""
    if timeout is None:
        return None
    if isinstance(timeout, float):
        if _math.isnan(timeout):
            raise ValueError("Invalid value NaN (not a number)")
        if _math.isinf(timeout) or abs(timeout) > _MAX_TIMEOUT:
            raise OverflowError("timestamp out of range for platform time_t")
        value: float = timeout
    else:
        value = _operator.index(timeout)  # type: ignore[arg-type]
        if abs(value) > _MAX_TIMEOUT:
            raise OverflowError("timestamp too large to convert to C _PyTime_t")
    if value < 0:
        raise ValueError("Timeout value out of range")
    return float(value)


def _source(source_address: object) -> Tuple[list, int]:
    """The source IPs and port for ``source_address`` (checked as ``socket.bind`` checks
    an AF_INET address); ``([], 0)`` for none. A name is resolved with
    ``socket.getaddrinfo``, as ``bind`` does."""
    if not source_address:
        return [], 0
    if not isinstance(source_address, tuple):
        raise TypeError(
            f"bind(): AF_INET address must be tuple, not {type(source_address).__name__}"
        )
    if len(source_address) != 2:
        raise TypeError("AF_INET address must be a pair (host, port)")
    host, port = source_address
    port = _operator.index(port)
    if not 0 <= port <= 65535:
        raise OverflowError("bind(): port must be 0-65535.")
    if host == "":
        return [], port
    if not isinstance(host, str):
        raise TypeError(f"str, bytes or bytearray expected, not {type(host).__name__}")
    for af in (_socket.AF_INET6, _socket.AF_INET):
        try:
            _socket.inet_pton(af, host.split("%", 1)[0])
        except OSError:
            continue
        return [host], port
    infos = _socket.getaddrinfo(host, None, 0, _socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos)), port


from ._aio import open_connection, start_connection  # noqa: E402 (they use the helpers above)
from ._patch import patch, patched, unpatch  # noqa: E402

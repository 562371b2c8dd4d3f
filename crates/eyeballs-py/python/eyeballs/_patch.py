"""``eyeballs.patch()`` / ``eyeballs.unpatch()``: Happy Eyeballs for code that was not
written for it, by replacing the functions libraries look up when they connect.

What is replaced, each only if its module can be imported (it is imported then):

- ``urllib3.util.connection.create_connection`` (urllib3 2.x): ``urllib3.connection``
  does ``from .util import connection`` and calls ``connection.create_connection(...)``
  at each connect, so replacing the module's attribute reaches every ``HTTPConnection``,
  and so ``requests``, ``pip``'s vendored copy aside. The replacement keeps urllib3's
  rules: ``[v6]`` hosts lose their brackets, an invalid name is
  ``LocationParseError``, ``allowed_gai_family()`` (IPv4 only without IPv6 support)
  chooses the families, urllib3's default timeout sentinel leaves the socket's timeout at
  ``socket.getdefaulttimeout()``.
- ``aiohappyeyeballs.start_connection``: aiohttp does ``import aiohappyeyeballs`` and calls
  ``aiohappyeyeballs.start_connection(...)`` at each connect, so the package attribute is
  the one to replace. A call with a ``socket_factory`` or an address that is neither
  ``AF_INET`` nor ``AF_INET6`` goes to the original.
- with ``socket=True``, ``socket.create_connection`` (``http.client``, ``smtplib``,
  ``ftplib`` … call it by that name).

urllib3's ``socket_options`` (default ``[(IPPROTO_TCP, TCP_NODELAY, 1)]``) are set on the
winning socket after the race, before urllib3 gets it, not on each attempt before its
connect: the race runs in Rust with the GIL released and has no Python socket to call
``setsockopt`` on. Every option urllib3 users set in practice (``TCP_NODELAY``,
``SO_KEEPALIVE`` and the ``TCP_KEEP*`` values, buffer sizes) takes effect after the
handshake just the same; an option that must be on the SYN (``IP_TOS`` of the SYN,
``SO_RCVBUF`` for the window scale) applies only from the first data segment on.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

__all__ = ["patch", "patched", "unpatch"]

_lock = threading.Lock()
#: (module name, attribute) -> (module, the original), for what is patched now.
_saved: Dict[Tuple[str, str], Tuple[Any, Any]] = {}


def patch(*, socket: bool = False) -> List[str]:
    """Makes urllib3 (so ``requests``) and aiohappyeyeballs (so aiohttp) connect with
    eyeballs; with ``socket=True`` also ``socket.create_connection``. Idempotent (a second
    call patches only what the first did not), thread-safe, undone by :func:`unpatch`.
    Returns what is patched now, as ``"module.attribute"`` names (:func:`patched`)."""
    targets: List[Tuple[str, str, Callable[..., Any]]] = [
        ("urllib3.util.connection", "create_connection", _urllib3_create_connection),
        ("aiohappyeyeballs", "start_connection", _aiohappyeyeballs_start_connection),
    ]
    if socket:
        from . import create_connection

        targets.append(("socket", "create_connection", create_connection))
    with _lock:
        for module_name, attribute, replacement in targets:
            if (module_name, attribute) in _saved:
                continue
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            original = getattr(module, attribute, None)
            if original is None:
                continue
            _saved[(module_name, attribute)] = (module, original)
            setattr(module, attribute, replacement)
        return _names()


def unpatch() -> None:
    """Puts back exactly what :func:`patch` replaced (the very objects that were there).
    Idempotent and thread-safe; nothing to undo is no error."""
    with _lock:
        for (_, attribute), (module, original) in _saved.items():
            setattr(module, attribute, original)
        _saved.clear()


def patched() -> List[str]:
    """What is patched now: ``"module.attribute"`` names, sorted."""
    with _lock:
        return _names()


def _names() -> List[str]:
    return sorted(f"{m}.{a}" for m, a in _saved)


def _original(module_name: str, attribute: str) -> Optional[Any]:
    with _lock:
        saved = _saved.get((module_name, attribute))
    if saved is not None:
        return saved[1]
    return getattr(importlib.import_module(module_name), attribute, None)


#: urllib3's default timeout, for a call that gives none (urllib3's sentinel is imported
#: only when urllib3 is).
_UNSET: Any = object()


def _urllib3_create_connection(
    address: Tuple[str, int],
    timeout: Any = _UNSET,
    source_address: Optional[Tuple[str, int]] = None,
    socket_options: Optional[Sequence[Tuple[Any, ...]]] = None,
):
    """urllib3's ``util.connection.create_connection`` with the race of
    :func:`eyeballs.create_connection` (module docs)."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import connection as _connection
    from urllib3.util.timeout import _DEFAULT_TIMEOUT

    from . import _GLOBAL_DEFAULT_TIMEOUT, create_connection

    host, port = address
    if host.startswith("["):
        host = host.strip("[]")
    try:
        host.encode("idna")
    except UnicodeError:
        raise LocationParseError(f"'{host}', label empty or too long") from None
    sock = create_connection(
        (host, port),
        _GLOBAL_DEFAULT_TIMEOUT if timeout is _DEFAULT_TIMEOUT or timeout is _UNSET else timeout,
        source_address,
        family=_connection.allowed_gai_family(),
    )
    try:
        for option in socket_options or ():
            sock.setsockopt(*option)
    except BaseException:
        sock.close()
        raise
    return sock


async def _aiohappyeyeballs_start_connection(
    addr_infos: Sequence[Tuple[Any, ...]],
    *,
    local_addr_infos: Optional[Sequence[Tuple[Any, ...]]] = None,
    happy_eyeballs_delay: Optional[float] = None,
    interleave: Optional[int] = None,
    loop: Any = None,
    socket_factory: Any = None,
):
    """``aiohappyeyeballs.start_connection`` by :func:`eyeballs.start_connection` (module
    docs: a ``socket_factory`` or another family goes to the original)."""
    import socket as _socket

    from ._aio import start_connection

    families = {info[0] for info in addr_infos}
    if socket_factory is not None or not families <= {_socket.AF_INET, _socket.AF_INET6}:
        original = _original("aiohappyeyeballs", "start_connection")
        return await original(
            addr_infos,
            local_addr_infos=local_addr_infos,
            happy_eyeballs_delay=happy_eyeballs_delay,
            interleave=interleave,
            loop=loop,
            socket_factory=socket_factory,
        )
    return await start_connection(
        addr_infos,
        local_addr_infos=local_addr_infos,
        happy_eyeballs_delay=happy_eyeballs_delay,
        interleave=interleave,
        loop=loop,
    )

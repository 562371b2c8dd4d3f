"""eyeballs.start_connection against aiohappyeyeballs 2.7.1, side by side, and
eyeballs.open_connection; loopback only (IP literals and the static ``hosts=`` table).

aiohappyeyeballs' attempts are recorded where it makes them (``loop.sock_connect``);
eyeballs' come from the race's report (the DEBUG record on the ``eyeballs`` logger). The
deliberate differences are listed in ``eyeballs._aio``'s docstring; none of them shows on
these inputs (each family's addresses given together, loopback addresses that sort equal).
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import signal
import socket
import sys
import time

import aiohappyeyeballs
import pytest

import eyeballs
from conftest import HOSTS, Pair, open_fds

V6, V4 = socket.AF_INET6, socket.AF_INET

#: The descriptors an eyeballs race in flight holds besides its sockets: the two ends of the
#: socket pair that tells the event loop it has ended (the runtime thread never runs
#: Python, src/aio.rs).
RACE_SIGNAL_FDS = 2


def info(family: int, port: int, host: str = ""):
    """A getaddrinfo-style 5-tuple (as socket.getaddrinfo gives for a literal)."""
    if family == V6:
        return (V6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host or "::1", port, 0, 0))
    return (V4, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host or "127.0.0.1", port))


def run(coro, timeout=5.0):
    async def bounded():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def key(addr):
    return (addr[0], addr[1])


async def with_aiohappyeyeballs(infos, **kw):
    """(outcome, attempts) of aiohappyeyeballs' start_connection."""
    loop = asyncio.get_running_loop()
    attempts = []
    real = loop.sock_connect

    async def recording(sock, address):
        attempts.append(key(address))
        return await real(sock, address)

    loop.sock_connect = recording
    try:
        return await outcome_of(aiohappyeyeballs.start_connection(infos, **kw)), attempts
    finally:
        del loop.sock_connect


async def with_eyeballs(infos, caplog, **kw):
    """(outcome, attempts) of eyeballs' start_connection."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="eyeballs"):
        result = await outcome_of(eyeballs.start_connection(infos, **kw))
    reports = [r.eyeballs_report for r in caplog.records if r.name == "eyeballs"]
    assert len(reports) == 1
    return result, [a.address for a in reports[0].attempts]


async def outcome_of(coro):
    try:
        sock = await coro
    except Exception as e:  # noqa: BLE001 - comparing every kind
        return (type(e), e.errno if isinstance(e, OSError) else None, str(e))
    with sock:
        assert type(sock) is socket.socket and sock.getblocking() is False
        return ("ok", key(sock.getpeername()), sock.family, sock.proto)


def both(infos, caplog, **kw):
    async def main():
        theirs = await with_aiohappyeyeballs(infos, **kw)
        ours = await with_eyeballs(infos, caplog, **kw)
        return theirs, ours

    return run(main())


def refused_ports(n):
    """n ports on both ::1 and 127.0.0.1 that refuse."""
    pairs = [Pair("refuse", "refuse") for _ in range(n)]
    return pairs


# -- side by side: the same winner and the same attempts in the same order -----------------


@pytest.mark.parametrize(
    "layout, delay, order",
    [
        (("listen", "listen"), 0.25, (V6, V4)),  # HE-5.7: the first wins, no second attempt
        (("hole", "listen"), 0.1, (V6, V4)),  # HE-5.7: the second starts after the delay
        (("refuse", "listen"), 0.25, (V6, V4)),  # HE-5.5: a failure starts the next at once
        (("refuse", "listen"), None, (V6, V4)),  # delay None: one after another
        (("listen", "refuse"), 0.25, (V4, V6)),  # the first address's family leads
        (("listen", "hole"), 0.1, (V4, V6)),
    ],
)
def test_he_5_7_same_winner_and_attempts_as_aiohappyeyeballs(pair_factory, caplog, layout, delay, order):
    pair = pair_factory(*layout)
    infos = [info(f, pair.port) for f in order]
    theirs, ours = both(infos, caplog, happy_eyeballs_delay=delay)
    assert ours == theirs
    assert ours[0][0] == "ok"


@pytest.mark.parametrize(
    "delay, interleave",
    [(0.25, None), (0.25, 1), (0.25, 2), (0.25, 3), (None, None), (None, 1), (None, 2)],
)
def test_he_4_8_interleave_gives_aiohappyeyeballs_order(caplog, delay, interleave):
    pairs = refused_ports(3)
    try:
        infos = [info(V6, p.port) for p in pairs] + [info(V4, p.port) for p in pairs]
        theirs, ours = both(infos, caplog, happy_eyeballs_delay=delay, interleave=interleave)
    finally:
        for p in pairs:
            p.close()
    assert ours == theirs
    assert len(ours[1]) == 6
    # Every attempt refused: the same exception, "Multiple exceptions: ..." with the errno.
    assert ours[0][:2] == (ConnectionRefusedError, 111)
    assert ours[0][2].startswith("[Errno 111] Multiple exceptions: [Errno 111] Connect call failed")


def test_one_failure_raises_that_error_as_aiohappyeyeballs(refused_port, caplog):
    infos = [info(V4, refused_port)]
    theirs, ours = both(infos, caplog, happy_eyeballs_delay=0.25)
    assert ours == theirs
    assert ours[0] == (ConnectionRefusedError, 111, f"[Errno 111] Connect call failed ('127.0.0.1', {refused_port})")


def test_the_exception_carries_the_report(refused_port):
    with pytest.raises(ConnectionRefusedError) as caught:
        run(eyeballs.start_connection([info(V6, refused_port), info(V4, refused_port)], happy_eyeballs_delay=0.25))
    assert [a.family for a in caught.value.report.attempts] == ["ipv6", "ipv4"]


def test_delay_none_is_one_attempt_after_another_as_aiohappyeyeballs(pair_factory):
    # A black hole first: the second attempt never starts (both wait for the hole).
    warm_up()
    pair = pair_factory("hole", "listen")
    infos = [info(V6, pair.port), info(V4, pair.port)]

    async def sockets_after(start):
        """Descriptors the start opened 0.5 s in (then it is cancelled)."""
        before = open_fds()
        task = asyncio.ensure_future(start(infos, happy_eyeballs_delay=None))
        await asyncio.sleep(0.5)
        during = open_fds() - before
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return during

    async def main():
        loop = asyncio.get_running_loop()
        seen = []
        real = loop.sock_connect

        async def recording(sock, address):
            seen.append(key(address))
            return await real(sock, address)

        loop.sock_connect = recording
        theirs = await sockets_after(aiohappyeyeballs.start_connection)
        del loop.sock_connect
        return seen, theirs, await sockets_after(eyeballs.start_connection)

    seen, theirs, ours = run(main())
    assert seen == [("::1", pair.port)]
    assert theirs == 1
    assert ours == theirs + RACE_SIGNAL_FDS


@pytest.mark.parametrize("delay", [0.25, None])
def test_local_addr_infos_bind_each_socket_as_aiohappyeyeballs(pair_factory, delay):
    pair = pair_factory("listen", "listen")
    infos = [info(V4, pair.port)]

    def free_port():
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        return port

    async def bound(start):
        # A port of its own for each: the first connection's TIME_WAIT holds its 4-tuple.
        lport = free_port()
        sock = await start(infos, local_addr_infos=[info(V4, lport)], happy_eyeballs_delay=delay)
        with sock:
            return sock.getsockname() == ("127.0.0.1", lport)

    async def main():
        return await bound(aiohappyeyeballs.start_connection), await bound(eyeballs.start_connection)

    assert run(main()) == (True, True)


def test_local_addr_infos_of_another_family_fail_as_aiohappyeyeballs(pair_factory, caplog):
    pair = pair_factory("listen", "listen")
    theirs, ours = both([info(V6, pair.port)], caplog, local_addr_infos=[info(V4, 0)], happy_eyeballs_delay=0.25)
    # aiohappyeyeballs fails before its sock_connect; eyeballs' report lists the attempt.
    assert ours[0] == theirs[0]
    assert ours[0] == (OSError, None, "no matching local address with family=<AddressFamily.AF_INET6: 10> found")


def test_local_addr_infos_pick_the_attempts_family(pair_factory, caplog):
    pair = pair_factory("refuse", "listen")
    local = [info(V6, 0, "::1"), info(V4, 0, "127.0.0.1")]
    theirs, ours = both([info(V6, pair.port), info(V4, pair.port)], caplog, local_addr_infos=local, happy_eyeballs_delay=0.25)
    assert ours == theirs and ours[0][0] == "ok"


def test_empty_addr_infos_is_value_error_as_aiohappyeyeballs():
    for start in (aiohappyeyeballs.start_connection, eyeballs.start_connection):
        with pytest.raises(ValueError, match="addr_infos must not be empty"):
            run(start([]))


def test_he_5_10_a_delay_below_the_floor_is_value_error(listener):
    with pytest.raises(ValueError):
        run(eyeballs.start_connection([info(V4, listener[1])], happy_eyeballs_delay=0.001))


def test_loop_argument_is_honoured(listener):
    async def main():
        loop = asyncio.get_running_loop()
        sock = await eyeballs.start_connection([info(V4, listener[1])], loop=loop)
        sock.close()
        return True

    assert run(main())


# -- the event loop is never blocked; cancellation closes every socket -------------------


def test_the_event_loop_runs_while_a_race_waits(pair_factory):
    pair = pair_factory("hole", "listen")
    infos = [info(V6, pair.port), info(V4, pair.port)]

    async def main():
        ticks = 0
        stop = False

        async def tick():
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0.005)

        ticker = asyncio.ensure_future(tick())
        start = time.monotonic()
        sock = await eyeballs.start_connection(infos, happy_eyeballs_delay=0.25)
        took = time.monotonic() - start
        stop = True
        await ticker
        sock.close()
        return ticks, took

    ticks, took = run(main())
    assert 0.2 < took < 1.0, took
    assert ticks > 20  # ~50 in 250 ms; a blocked loop would give 1


def warm_up():
    """One race, so that the runtime thread's own descriptors (epoll, eventfd) exist
    before fds are counted."""
    server = socket.create_server(("127.0.0.1", 0))
    with server:
        run(eyeballs.start_connection([info(V4, server.getsockname()[1])])).close()


@pytest.mark.parametrize("how", ["cancel", "wait_for"])
def test_cancelling_the_task_cancels_the_race_and_closes_every_socket(pair_factory, how):
    warm_up()
    pair = pair_factory("hole", "hole")
    infos = [info(V6, pair.port), info(V4, pair.port)]

    async def main():
        before = open_fds()
        if how == "cancel":
            task = asyncio.ensure_future(eyeballs.start_connection(infos, happy_eyeballs_delay=0.05))
            await asyncio.sleep(0.3)
            during = open_fds()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            during = None
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(eyeballs.start_connection(infos, happy_eyeballs_delay=0.05), 0.3)
        return before, during, open_fds()

    before, during, after = asyncio.run(main())
    if during is not None:
        assert during == before + 2 + RACE_SIGNAL_FDS  # both attempts' sockets were open
    assert after == before


def test_open_connection_cancelled_closes_every_socket(pair_factory):
    warm_up()
    pair = pair_factory("hole", "hole")

    async def main():
        before = open_fds()
        task = asyncio.ensure_future(eyeballs.open_connection("dual.test", pair.port, hosts=HOSTS))
        await asyncio.sleep(0.4)
        during = open_fds()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return before, during, open_fds()

    before, during, after = asyncio.run(main())
    assert during == before + 2 + RACE_SIGNAL_FDS
    assert after == before


def wait_done(pending, within=3.0):
    deadline = time.monotonic() + within
    while not pending.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pending.done()


def test_an_outcome_nobody_takes_is_closed_with_its_pending(pair_factory):
    # The race wins with no loop to take the winner: dropping the Pending closes it.
    warm_up()
    pair = pair_factory("hole", "listen")
    before = open_fds()
    from eyeballs import _eyeballs

    pending = _eyeballs.start(None, 0, addrs=[("::1", pair.port, 0), ("127.0.0.1", pair.port, 0)], attempt_delay=0.1)
    wait_done(pending)
    # The winner, kept for whoever takes it, and the signal's read end.
    assert open_fds() == before + 2
    del pending
    assert open_fds() == before


def test_the_outcome_is_taken_once_and_cancel_after_the_end_closes_nothing_taken(listener):
    warm_up()
    from eyeballs import _eyeballs

    pending = _eyeballs.start(None, 0, addrs=[("127.0.0.1", listener[1], 0)])
    wait_done(pending)
    kind, fd, family, report = pending.outcome()
    sock = socket.socket(family, socket.SOCK_STREAM, 0, fd)
    try:
        assert (kind, sock.getpeername(), report.outcome) == ("ok", listener, "connected")
        assert pending.outcome() is None
        assert pending.cancel() is False
        sock.getpeername()  # still open: a taken winner is the caller's
        assert pending.outcome() == ("cancelled",)
    finally:
        sock.close()


def test_cancel_after_the_end_closes_a_winner_not_taken(listener):
    warm_up()
    from eyeballs import _eyeballs

    before = open_fds()
    pending = _eyeballs.start(None, 0, addrs=[("127.0.0.1", listener[1], 0)])
    wait_done(pending)
    assert pending.cancel() is False
    assert pending.outcome() == ("cancelled",)
    assert open_fds() == before + 1  # the signal's read end, until the Pending goes
    del pending
    assert open_fds() == before


def test_a_race_ends_while_python_keeps_the_gil(listener):
    # The runtime thread never takes the GIL (src/aio.rs): a race ends while this thread
    # keeps it (a switch interval of 60 s: no other thread gets the GIL unless this one
    # blocks, and it does not). A runtime thread that needed the GIL to deliver its outcome
    # would wait, and `done()` would stay false; at interpreter exit it aborted the process.
    warm_up()
    from eyeballs import _eyeballs

    previous = sys.getswitchinterval()
    sys.setswitchinterval(60)
    try:
        pending = _eyeballs.start(None, 0, addrs=[("127.0.0.1", listener[1], 0)])
        deadline = time.monotonic() + 3
        while not pending.done() and time.monotonic() < deadline:
            pass
        ended = pending.done()
    finally:
        sys.setswitchinterval(previous)
    assert ended
    os.close(pending.outcome()[1])


EXIT_SCRIPT = """
import socket, sys
sys.path.insert(0, sys.argv[1])
from conftest import _fill, _listener
from eyeballs import _eyeballs

hole = _listener(socket.AF_INET, "127.0.0.1", backlog=0)
fillers = _fill(hole)
port = hole.getsockname()[1]
# Races that end (their 50 ms timeout) while the interpreter finalizes: freeing this
# takes longer than that.
pendings = [_eyeballs.start(None, 0, addrs=[("127.0.0.1", port, 0)], timeout=0.05) for _ in range(8)]
big = [[i] for i in range(3_000_000)]
print("exiting", flush=True)
"""


def test_the_interpreter_exits_cleanly_while_races_end():
    import subprocess

    here = os.path.dirname(os.path.abspath(__file__))
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, here], capture_output=True, timeout=60)
        assert (done.returncode, done.stdout, done.stderr) == (0, b"exiting\n", b"")


def test_races_work_in_a_forked_child(listener):
    warm_up()  # the parent's runtime thread exists; the child has to make its own
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            sock = asyncio.run(asyncio.wait_for(eyeballs.start_connection([info(V4, listener[1])]), 3))
            code = 0 if sock.getpeername() == listener else 2
            sock.close()
        finally:
            os.write(w, bytes([code]))
            os._exit(code)
    os.close(w)
    try:
        ready, _, _ = select.select([r], [], [], 10)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        assert ready, "the child's race did not end"
        assert os.read(r, 1) == b"\x00"
    finally:
        os.close(r)
        os.waitpid(pid, 0)


# -- open_connection: streams, resolved by eyeballs ---------------------------------------


def test_he_5_7_open_connection_falls_back_and_streams_flow(pair_factory):
    pair = pair_factory("hole", "listen")

    async def main():
        start = time.monotonic()
        reader, writer = await eyeballs.open_connection("dual.test", pair.port, hosts=HOSTS)
        took = time.monotonic() - start
        peer, _ = pair.sockets[-1].accept()
        with peer:
            writer.write(b"ping")
            await writer.drain()
            assert peer.recv(4) == b"ping"
            peer.sendall(b"pong")
            assert await reader.readexactly(4) == b"pong"
        assert writer.get_extra_info("peername")[:2] == ("127.0.0.1", pair.port)
        writer.close()
        await writer.wait_closed()
        return took

    took = run(main())
    assert 0.2 < took < 1.0, took


def test_he_3_4_open_connection_asks_aaaa_and_a_and_prefers_ipv6(pair_factory, caplog):
    pair = pair_factory("listen", "listen")

    async def main():
        with caplog.at_level(logging.DEBUG, logger="eyeballs"):
            _, writer = await eyeballs.open_connection("dual.test", pair.port, hosts=HOSTS)
        family = writer.get_extra_info("socket").family
        writer.close()
        return family

    assert run(main()) == V6
    (report,) = [r.eyeballs_report for r in caplog.records if r.name == "eyeballs"]
    assert sorted(q.record for q in report.queries) == ["A", "AAAA"]


def test_open_connection_raises_as_create_connection(refused_port):
    with pytest.raises(socket.gaierror):
        run(eyeballs.open_connection("nope.test", 80, hosts=HOSTS))
    with pytest.raises(ConnectionRefusedError) as caught:
        run(eyeballs.open_connection("dual.test", refused_port, hosts=HOSTS))
    assert caught.value.report.cause == "refused"


def test_d4_open_connection_timeout(pair_factory):
    pair = pair_factory("hole", "hole")
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        run(eyeballs.open_connection("dual.test", pair.port, hosts=HOSTS, timeout=0.3))
    assert 0.25 < time.monotonic() - start < 1.0

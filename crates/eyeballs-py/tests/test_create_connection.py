"""eyeballs.create_connection against socket.create_connection, on loopback only.

Every test uses IP literals (127.0.0.1, ::1) or names from the static ``hosts=`` table, never
the system resolver. Names of race tests carry the requirement ID they check
(/work/shared/spec/rfc-checklist.md).
"""

from __future__ import annotations

import errno
import logging
import math
import signal
import socket
import threading
import time

import pytest

import eyeballs
from conftest import HOSTS, open_fds

# -- arguments and exceptions, compared with CPython's own create_connection -------------


def outcome(connect, address, **kwargs):
    """What a create_connection call gives: ("ok", peer) or (exception type, args)."""
    try:
        sock = connect(address, **kwargs)
    except BaseException as e:  # noqa: BLE001 - comparing every kind
        if isinstance(e, BaseExceptionGroup):
            return (type(e), e.args[0], [(type(x), x.args) for x in e.exceptions])
        return (type(e), e.args)
    with sock:
        return ("ok", sock.getpeername()[:2])


def address_cases(port, refused):
    """(address, note) pairs whose outcome must be CPython's."""
    return [
        (("127.0.0.1", port), "int port"),
        (("127.0.0.1", str(port)), "numeric str port"),
        (("127.0.0.1", str(port).encode()), "bytes port"),
        ((b"127.0.0.1", port), "bytes host"),
        (("127.0.0.1", refused), "refused"),
        (("::1", refused), "refused over IPv6"),
        ((None, port), "host None: the local host"),
        (("127.0.0.1", None), "port None: 0"),
        (("127.0.0.1", 0), "port 0"),
        (("127.0.0.1", ""), "empty port"),
        (("127.0.0.1", -1), "negative port"),
        (("127.0.0.1", 2**64), "port beyond a C long"),
        (("127.0.0.1", 1.5), "float port"),
        (("127.0.0.1", True), "bool port"),
        (("127.0.0.1", "nosuchservice"), "unknown service"),
        (("", port), "empty host"),
        ((1, port), "int host"),
        (("[::1]", port), "bracketed literal"),
        (("a" * 300, port), "label too long for idna"),
        (("127.0.0.1",), "tuple of one"),
        (("127.0.0.1", port, 0), "tuple of three"),
        (5, "not a tuple"),
    ]


def test_arguments_and_exceptions_are_cpythons(listener, refused_port):
    port = listener[1]
    for address, note in address_cases(port, refused_port):
        want = outcome(socket.create_connection, address, timeout=5)
        got = outcome(eyeballs.create_connection, address, timeout=5)
        assert got == want, f"{note}: {address!r}"


@pytest.mark.parametrize("timeout", [-1, -0.5, math.nan, math.inf, "1", 10**30, 1e300, b"1", [1]])
def test_bad_timeouts_raise_as_cpython(listener, timeout):
    want = outcome(socket.create_connection, listener, timeout=timeout)
    got = outcome(eyeballs.create_connection, listener, timeout=timeout)
    assert got == want


@pytest.mark.parametrize("timeout", [0, 0.0])
def test_zero_timeout_is_a_non_blocking_connect_as_in_cpython(listener, timeout):
    want = outcome(socket.create_connection, listener, timeout=timeout)
    assert want == (BlockingIOError, (errno.EINPROGRESS, "Operation now in progress"))
    assert outcome(eyeballs.create_connection, listener, timeout=timeout) == want


@pytest.mark.parametrize(
    "source", [("127.0.0.1", 0), ("", 0), ("127.0.0.1",), "x", ["127.0.0.1", 0], ("127.0.0.1", -1), ("127.0.0.1", 70000), ("127.0.0.1", "x")]
)
def test_source_address_forms_are_cpythons(listener, source):
    def laddr(connect):
        try:
            with connect(listener, source_address=source) as s:
                return ("ok", s.getsockname()[0])
        except Exception as e:  # noqa: BLE001
            return (type(e), e.args)

    assert laddr(eyeballs.create_connection) == laddr(socket.create_connection)


def test_source_address_with_a_port_binds_it(listener):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with eyeballs.create_connection(listener, source_address=("127.0.0.1", port)) as s:
        assert s.getsockname() == ("127.0.0.1", port)


def test_deliberate_differences_from_cpython(listener):
    # CPython hands 65536 to getaddrinfo, which wraps it to port 0 (refused); a NUL ends
    # CPython's host string early. Here both are errors of the input.
    assert outcome(socket.create_connection, ("127.0.0.1", 65536), timeout=5)[0] is ConnectionRefusedError
    assert outcome(eyeballs.create_connection, ("127.0.0.1", 65536), timeout=5)[0] is OverflowError
    assert outcome(eyeballs.create_connection, ("127.0.0.1\x00", listener[1]), timeout=5)[0] is socket.gaierror


# -- the socket handed back --------------------------------------------------------------


@pytest.mark.parametrize("timeout", [None, 2.5, 7])
def test_the_socket_is_a_real_socket_with_the_callers_timeout(listener, timeout):
    with eyeballs.create_connection(listener, timeout=timeout) as s, socket.create_connection(listener, timeout=timeout) as c:
        assert type(s) is socket.socket
        assert (s.family, s.type, s.proto) == (c.family, c.type, c.proto)
        assert s.gettimeout() == c.gettimeout()
        assert s.getblocking() == c.getblocking()
        assert s.get_inheritable() is False
        assert s.getpeername() == listener


def test_the_default_timeout_is_socket_getdefaulttimeout(listener):
    socket.setdefaulttimeout(3.0)
    try:
        with eyeballs.create_connection(listener) as s:
            assert s.gettimeout() == 3.0
    finally:
        socket.setdefaulttimeout(None)
    with eyeballs.create_connection(listener) as s:
        assert s.gettimeout() is None


def test_the_descriptor_is_owned_by_the_socket_alone(listener):
    before = open_fds()
    s = eyeballs.create_connection(listener)
    assert open_fds() == before + 1
    fd = s.fileno()
    s.close()
    assert open_fds() == before
    with pytest.raises(OSError):
        socket.socket(fileno=fd)  # closed once, by the socket: nothing left to own


def test_data_flows_over_the_socket():
    server = socket.create_server(("127.0.0.1", 0))
    with server, eyeballs.create_connection(server.getsockname(), timeout=5) as c:
        peer, _ = server.accept()
        with peer:
            c.sendall(b"ping")
            assert peer.recv(4) == b"ping"


# -- resolution --------------------------------------------------------------------------


def test_he_3_4_names_resolve_through_the_static_table(pair_factory):
    pair = pair_factory("listen", "listen")
    sock, report = eyeballs.connect(("dual.test", pair.port), timeout=5, hosts=HOSTS)
    with sock:
        # HE-2.2: IPv6 first.
        assert sock.family == socket.AF_INET6
    assert report.host == "dual.test"
    assert sorted(q.record for q in report.queries) == ["A", "AAAA"]
    # AAAA answered; the A answer may come after ::1 connected (loopback connects in
    # microseconds), when the race is over and the query counts as cancelled.
    outcomes = {q.record: q.outcome for q in report.queries}
    assert outcomes["AAAA"] == "ok" and outcomes["A"] in ("ok", "cancelled"), outcomes


@pytest.mark.parametrize(
    "name, family, code",
    [
        ("nope.test", socket.AF_UNSPEC, socket.EAI_NONAME),
        ("v6only.test", socket.AF_INET, socket.EAI_NODATA),
        ("v4only.test", socket.AF_INET6, socket.EAI_NODATA),
    ],
)
def test_resolution_failures_are_gaierror(name, family, code):
    before = open_fds()
    with pytest.raises(socket.gaierror) as caught:
        eyeballs.create_connection((name, 80), timeout=5, hosts=HOSTS, family=family)
    assert caught.value.errno == code
    assert caught.value.report.cause in ("no_such_name", "no_addresses")
    assert open_fds() == before


# -- failures ----------------------------------------------------------------------------


def test_refused_is_connection_refused_error_with_errno_and_report(refused_port):
    before = open_fds()
    with pytest.raises(ConnectionRefusedError) as caught:
        eyeballs.create_connection(("dual.test", refused_port), timeout=5, hosts=HOSTS)
    e = caught.value
    assert (e.errno, e.strerror) == (errno.ECONNREFUSED, "Connection refused")
    assert e.report.outcome == "failed" and e.report.cause == "refused"
    assert [a.errno for a in e.report.attempts] == [errno.ECONNREFUSED] * 2
    assert open_fds() == before


def test_all_errors_gives_an_exception_group_of_every_attempt(refused_port):
    # CPython's own shape, for one address ...
    want = outcome(socket.create_connection, ("127.0.0.1", refused_port), all_errors=True)
    assert outcome(eyeballs.create_connection, ("127.0.0.1", refused_port), all_errors=True) == want
    # ... and for two, one error per attempt in the order they started.
    with pytest.raises(ExceptionGroup) as caught:
        eyeballs.create_connection(("dual.test", refused_port), hosts=HOSTS, all_errors=True)
    group = caught.value
    assert group.args[0] == "create_connection failed"
    assert [type(e) for e in group.exceptions] == [ConnectionRefusedError] * 2
    assert [a.family for a in group.report.attempts] == ["ipv6", "ipv4"]


def test_invalid_delay_is_value_error_he_5_10(listener):
    with pytest.raises(ValueError):
        eyeballs.create_connection(listener, happy_eyeballs_delay=0.001)


# -- the race ----------------------------------------------------------------------------


def test_he_5_7_black_holed_ipv6_falls_back_to_ipv4_after_the_attempt_delay(pair_factory):
    pair = pair_factory("hole", "listen")
    before = open_fds()
    start = time.monotonic()
    sock, report = eyeballs.connect(("dual.test", pair.port), timeout=10, hosts=HOSTS)
    took = time.monotonic() - start
    with sock:
        assert sock.family == socket.AF_INET
        assert sock.getpeername()[:2] == ("127.0.0.1", pair.port)
    assert 0.2 < took < 1.5, took
    first, second = report.attempts
    assert (first.family, first.outcome) == ("ipv6", "aborted")  # HE-5.3: the loser closed
    assert (second.family, second.outcome) == ("ipv4", "connected")
    assert 240 <= second.started_ms - first.started_ms <= 450
    assert report.winner == ("127.0.0.1", pair.port)
    assert open_fds() == before


def test_he_5_7_same_fallback_with_cpython_takes_the_whole_timeout(pair_factory):
    # The problem being solved: CPython waits for the black hole first (here ::1 literal
    # then 127.0.0.1 literal, tried one after another by a loop like CPython's).
    pair = pair_factory("hole", "listen")
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        socket.create_connection(("::1", pair.port), timeout=0.5)
    assert time.monotonic() - start >= 0.45


def test_happy_eyeballs_delay_none_is_one_attempt_after_another(pair_factory):
    pair = pair_factory("hole", "listen")
    start = time.monotonic()
    with pytest.raises(TimeoutError) as caught:
        eyeballs.create_connection(("dual.test", pair.port), timeout=0.6, hosts=HOSTS, happy_eyeballs_delay=None)
    assert 0.5 < time.monotonic() - start < 2.0
    assert [a.family for a in caught.value.report.attempts] == ["ipv6"]


def test_happy_eyeballs_delay_is_the_attempt_delay(pair_factory):
    pair = pair_factory("hole", "listen")
    _, report = eyeballs.connect(("dual.test", pair.port), timeout=5, hosts=HOSTS, happy_eyeballs_delay=0.1)
    first, second = report.attempts
    assert 90 <= second.started_ms - first.started_ms <= 300


def test_d4_timeout_bounds_the_call_and_raises_timeout_error(pair_factory):
    pair = pair_factory("hole", "hole")
    before = open_fds()
    start = time.monotonic()
    with pytest.raises(TimeoutError) as caught:
        eyeballs.create_connection(("dual.test", pair.port), timeout=0.5, hosts=HOSTS)
    took = time.monotonic() - start
    assert 0.45 < took < 1.5, took
    assert caught.value.args == ("timed out",)
    assert caught.value.report.cause == "timed_out"
    assert len(caught.value.report.attempts) == 2
    assert open_fds() == before


def test_d4_timeout_with_all_errors_groups_each_attempt(pair_factory):
    pair = pair_factory("hole", "hole")
    with pytest.raises(ExceptionGroup) as caught:
        eyeballs.create_connection(("dual.test", pair.port), timeout=0.4, hosts=HOSTS, all_errors=True)
    assert [e.args for e in caught.value.exceptions] == [("timed out",)] * 2


# -- cancellation, the GIL ---------------------------------------------------------------


class Interrupted(Exception):
    pass


def _raise_interrupted(signum, frame):
    raise Interrupted


@pytest.mark.parametrize("family_layout", [("hole", "hole")])
def test_a_signal_handlers_exception_cancels_the_race_and_closes_every_socket(pair_factory, family_layout):
    pair = pair_factory(*family_layout)
    before = open_fds()
    old = signal.signal(signal.SIGALRM, _raise_interrupted)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.4)
        start = time.monotonic()
        with pytest.raises(Interrupted):
            eyeballs.create_connection(("dual.test", pair.port), hosts=HOSTS)  # no timeout
        took = time.monotonic() - start
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert 0.35 < took < 0.4 + 0.3, took
    assert open_fds() == before


def test_ctrl_c_raises_keyboard_interrupt_and_closes_every_socket(pair_factory):
    pair = pair_factory("hole", "hole")
    before = open_fds()
    # Python's own Ctrl-C handler, whatever this process inherited: a process started in the
    # background of a non-interactive shell has SIGINT ignored, and Python then installs none.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, signal.raise_signal, (signal.SIGINT,))
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            eyeballs.create_connection(("dual.test", pair.port), hosts=HOSTS)
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - start < 0.3 + 0.3
    assert open_fds() == before


def test_the_gil_is_released_during_the_race(pair_factory):
    pair = pair_factory("hole", "listen")
    ticks = []
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    try:
        eyeballs.create_connection(("dual.test", pair.port), timeout=5, hosts=HOSTS).close()
    finally:
        stop.set()
        t.join()
    assert len(ticks) > 50  # the race took ~250 ms; a held GIL would allow ~5 ticks


def test_races_from_many_threads_at_once():
    errors = []
    server = socket.create_server(("127.0.0.1", 0))
    listener = server.getsockname()
    done = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not done.is_set():
            try:
                server.accept()[0].close()
            except TimeoutError:
                pass

    acceptor = threading.Thread(target=accept)
    acceptor.start()

    def one():
        try:
            for _ in range(20):
                eyeballs.create_connection(listener, timeout=5).close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    acceptor.join()
    server.close()
    assert errors == []


# -- the report and logging --------------------------------------------------------------


def test_the_report_tells_the_winner_and_each_attempt(listener):
    sock, report = eyeballs.connect(listener, timeout=5)
    sock.close()
    assert report.outcome == "connected" and report.cause is None
    assert report.winner == listener
    (a,) = report.attempts
    assert (a.address, a.family, a.outcome, a.errno, a.error) == (listener, "ipv4", "connected", None, None)
    assert 0 <= a.started_ms <= a.ended_ms <= report.elapsed_ms + 0.001
    assert report.queries == []
    assert "connected to 127.0.0.1" in str(report) and "#0 connect" in str(report)
    assert repr(report).startswith("<eyeballs.Report connected")


def test_each_race_is_logged_at_debug_on_the_eyeballs_logger(listener, refused_port, caplog):
    with caplog.at_level(logging.DEBUG, logger="eyeballs"):
        eyeballs.create_connection(listener).close()
        with pytest.raises(ConnectionRefusedError):
            eyeballs.create_connection(("127.0.0.1", refused_port))
    records = [r for r in caplog.records if r.name == "eyeballs"]
    assert [r.levelno for r in records] == [logging.DEBUG] * 2
    assert records[0].getMessage().startswith("connected to 127.0.0.1")
    assert records[1].getMessage().startswith("failed after")
    assert records[1].eyeballs_report.cause == "refused"


def test_defaults_come_from_the_rust_config():
    assert eyeballs.DEFAULT_ATTEMPT_DELAY == 0.25  # HE-5.7
    assert eyeballs.DEFAULT_RESOLUTION_DELAY == 0.05  # HE-3.6
    assert eyeballs.DEFAULT_FIRST_ADDRESS_FAMILY_COUNT == 1  # HE-4.8
    assert eyeballs.ATTEMPT_DELAY_FLOOR == 0.01  # HE-5.10
    import inspect

    sig = inspect.signature(eyeballs.create_connection)
    assert sig.parameters["happy_eyeballs_delay"].default == eyeballs.DEFAULT_ATTEMPT_DELAY
    assert list(sig.parameters)[:4] == ["address", "timeout", "source_address", "all_errors"]

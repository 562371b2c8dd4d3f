"""eyeballs.patch() / unpatch(): what is replaced, idempotence, thread safety, exact
restoration, and requests, urllib3, http.client and aiohttp through the patched functions
against a loopback HTTP server (IP literals only: no name is resolved)."""

from __future__ import annotations

import asyncio
import http.client
import http.server
import logging
import socket
import socketserver
import threading

import aiohappyeyeballs
import aiohttp
import pytest
import requests
import urllib3
import urllib3.util.connection

import eyeballs

URLLIB3 = "urllib3.util.connection.create_connection"
AIOHE = "aiohappyeyeballs.start_connection"
SOCKET = "socket.create_connection"


@pytest.fixture(autouse=True)
def _unpatched():
    """Every test starts and ends unpatched."""
    eyeballs.unpatch()
    yield
    eyeballs.unpatch()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):  # noqa: N802 - http.server's name
        body = b"hello from " + self.server.server_address[0].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


class _Server(socketserver.ThreadingTCPServer):
    # socketserver's TCPServer: no getfqdn on bind (http.server.HTTPServer would resolve).
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def http_server():
    """An HTTP server on 127.0.0.1, in a thread; yields its URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/"
    server.shutdown()
    thread.join()
    server.server_close()


def races(caplog):
    """The eyeballs races logged so far."""
    return [r.eyeballs_report for r in caplog.records if r.name == "eyeballs"]


# -- what patch() does --------------------------------------------------------------------


def test_patch_replaces_urllib3_and_aiohappyeyeballs_and_unpatch_restores_them_exactly():
    originals = (urllib3.util.connection.create_connection, aiohappyeyeballs.start_connection, socket.create_connection)
    assert eyeballs.patched() == []
    assert eyeballs.patch() == [AIOHE, URLLIB3]
    assert urllib3.util.connection.create_connection is not originals[0]
    assert aiohappyeyeballs.start_connection is not originals[1]
    assert socket.create_connection is originals[2]  # only with socket=True
    eyeballs.unpatch()
    assert eyeballs.patched() == []
    now = (urllib3.util.connection.create_connection, aiohappyeyeballs.start_connection, socket.create_connection)
    assert all(a is b for a, b in zip(now, originals))


def test_patch_is_idempotent_and_socket_is_optional():
    original = socket.create_connection
    first = eyeballs.patch()
    replaced = urllib3.util.connection.create_connection
    assert eyeballs.patch() == first
    assert urllib3.util.connection.create_connection is replaced  # not wrapped twice
    assert eyeballs.patch(socket=True) == [AIOHE, SOCKET, URLLIB3]
    assert socket.create_connection is eyeballs.create_connection
    eyeballs.unpatch()
    eyeballs.unpatch()  # nothing left: no error
    assert socket.create_connection is original


def test_patch_and_unpatch_from_many_threads_end_consistent():
    originals = (urllib3.util.connection.create_connection, aiohappyeyeballs.start_connection, socket.create_connection)
    barrier = threading.Barrier(8)

    def churn(i):
        barrier.wait()
        for _ in range(200):
            eyeballs.patch(socket=bool(i % 2))
            eyeballs.unpatch()

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    now = (urllib3.util.connection.create_connection, aiohappyeyeballs.start_connection, socket.create_connection)
    assert all(a is b for a, b in zip(now, originals))
    eyeballs.patch()
    assert urllib3.util.connection.create_connection is not originals[0]


def test_import_eyeballs_auto_patches():
    import importlib

    import eyeballs.auto

    eyeballs.unpatch()
    importlib.reload(eyeballs.auto)
    assert eyeballs.patched() == [AIOHE, URLLIB3]


def test_the_patched_urllib3_function_keeps_urllib3s_signature():
    import inspect

    eyeballs.patch()
    ours = inspect.signature(urllib3.util.connection.create_connection)
    eyeballs.unpatch()
    theirs = inspect.signature(urllib3.util.connection.create_connection)
    assert list(ours.parameters) == list(theirs.parameters)


# -- clients through the patched functions ------------------------------------------------


def test_requests_after_patch_connects_with_eyeballs(http_server, caplog):
    eyeballs.patch()
    with caplog.at_level(logging.DEBUG, logger="eyeballs"):
        response = requests.get(http_server, timeout=5)
    assert response.status_code == 200 and response.text == "hello from 127.0.0.1"
    (report,) = races(caplog)
    assert report.outcome == "connected" and report.winner[0] == "127.0.0.1"


def test_requests_after_unpatch_no_longer_uses_eyeballs(http_server, caplog):
    eyeballs.patch()
    eyeballs.unpatch()
    with caplog.at_level(logging.DEBUG, logger="eyeballs"):
        assert requests.get(http_server, timeout=5).status_code == 200
    assert races(caplog) == []


def test_urllib3_errors_stay_urllib3s(refused_port, pair_factory):
    eyeballs.patch()
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        requests.get(f"http://127.0.0.1:{refused_port}/", timeout=5)
    assert isinstance(caught.value.args[0].reason, urllib3.exceptions.NewConnectionError)
    pair = pair_factory("hole", "hole")
    with pytest.raises(requests.exceptions.ConnectTimeout):
        requests.get(f"http://[::1]:{pair.port}/", timeout=0.3)


def test_urllib3_socket_options_are_set_on_the_socket(http_server):
    eyeballs.patch()
    port = int(http_server.rsplit(":", 1)[1].strip("/"))
    options = urllib3.connection.HTTPConnection.default_socket_options + [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    conn = urllib3.connection.HTTPConnection("127.0.0.1", port, socket_options=options, timeout=5)
    conn.connect()
    try:
        assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert conn.sock.gettimeout() == 5
    finally:
        conn.close()


def test_http_client_goes_through_socket_create_connection_when_asked(http_server, caplog):
    port = int(http_server.rsplit(":", 1)[1].strip("/"))
    eyeballs.patch(socket=True)
    with caplog.at_level(logging.DEBUG, logger="eyeballs"):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/")
        assert conn.getresponse().read() == b"hello from 127.0.0.1"
        conn.close()
    assert len(races(caplog)) == 1


def test_aiohttp_after_patch_connects_with_eyeballs(http_server, caplog):
    eyeballs.patch()

    async def main():
        async with aiohttp.ClientSession() as session:
            async with session.get(http_server) as response:
                return response.status, await response.text()

    with caplog.at_level(logging.DEBUG, logger="eyeballs"):
        assert asyncio.run(main()) == (200, "hello from 127.0.0.1")
    (report,) = races(caplog)
    assert report.outcome == "connected"


def test_the_patched_aiohappyeyeballs_hands_a_socket_factory_to_the_original(listener, caplog):
    eyeballs.patch()
    made = []

    def factory(addr_info):
        made.append(addr_info)
        return socket.socket(addr_info[0], addr_info[1], addr_info[2])

    infos = [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", listener)]

    async def main():
        sock = await aiohappyeyeballs.start_connection(infos, socket_factory=factory)
        sock.close()

    with caplog.at_level(logging.DEBUG, logger="eyeballs"):
        asyncio.run(main())
    assert made == infos and races(caplog) == []

"""The Python side of tests/lab.rs, run in the lab's client namespace (where getaddrinfo,
and so eyeballs' system resolver, asks the lab's DNS server only):

    python lab_client.py MODE URL TIMEOUT

MODE: ``requests`` (requests.get after eyeballs.patch()), ``requests-unpatched``,
``aiohttp`` (an aiohttp ClientSession GET after eyeballs.patch()), ``open_connection``
(eyeballs.open_connection and an HTTP/1.0 GET by hand). Prints one JSON object: ``ms``
from the call to the response (name resolution included), ``body`` or ``error``, and the
eyeballs ``winner`` and ``races`` logged (their reports' winners)."""

import asyncio
import json
import logging
import sys
import time
from urllib.parse import urlsplit

import eyeballs

winners = []


class Recorder(logging.Handler):
    def emit(self, record):
        report = getattr(record, "eyeballs_report", None)
        if report is not None:
            winners.append(report.winner and report.winner[0])


logger = logging.getLogger("eyeballs")
logger.setLevel(logging.DEBUG)
logger.addHandler(Recorder())


def run_requests(url, timeout):
    import requests

    return requests.get(url, timeout=timeout).text


def run_aiohttp(url, timeout):
    import aiohttp

    async def main():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.get(url) as response:
                return await response.text()

    return asyncio.run(main())


def run_open_connection(url, timeout):
    parts = urlsplit(url)

    async def main():
        reader, writer = await eyeballs.open_connection(parts.hostname, parts.port, timeout=timeout)
        writer.write(f"GET / HTTP/1.0\r\nHost: {parts.hostname}\r\n\r\n".encode())
        await writer.drain()
        data = await reader.read()
        writer.close()
        return data.split(b"\r\n\r\n", 1)[1].decode()

    return asyncio.run(main())


def main():
    mode, url, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    # Imported before the clock starts: only the connection is timed.
    import aiohttp  # noqa: F401
    import requests  # noqa: F401

    if mode in ("requests", "aiohttp"):
        eyeballs.patch()
    run = {
        "requests": run_requests,
        "requests-unpatched": run_requests,
        "aiohttp": run_aiohttp,
        "open_connection": run_open_connection,
    }[mode]
    result = {}
    start = time.perf_counter()
    try:
        result["body"] = run(url, timeout)
    except Exception as e:  # noqa: BLE001 - the failure is the result
        result["error"] = f"{type(e).__name__}: {e}"
    result["ms"] = (time.perf_counter() - start) * 1e3
    result["races"] = winners
    print(json.dumps(result))


main()

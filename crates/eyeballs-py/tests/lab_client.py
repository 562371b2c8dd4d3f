"""The Python side of tests/lab.rs, run in the lab's client namespace (where getaddrinfo,
and so eyeballs' system resolver, asks the lab's DNS server only):

    python lab_client.py MODE URL TIMEOUT

MODE: ``requests`` (requests.get after eyeballs.patch()), ``requests-twice`` (two of them in
one process: the second knows what the first taught), ``requests-unpatched``,
``aiohttp`` (an aiohttp ClientSession GET after eyeballs.patch()), ``open_connection``
(eyeballs.open_connection and an HTTP/1.0 GET by hand). Prints one JSON object: ``ms``
from the call to the response (name resolution included), ``body`` or ``error``, and each
eyeballs race logged (``races``: its winner's address and when, in milliseconds from the
start of the race, the winning attempt started)."""

import asyncio
import json
import logging
import sys
import time
from urllib.parse import urlsplit

import eyeballs

races = []


class Recorder(logging.Handler):
    def emit(self, record):
        report = getattr(record, "eyeballs_report", None)
        if report is not None:
            won = [a for a in report.attempts if a.outcome == "connected"]
            races.append(
                {
                    "winner": report.winner and report.winner[0],
                    "won_started_ms": won[0].started_ms if won else None,
                }
            )


logger = logging.getLogger("eyeballs")
logger.setLevel(logging.DEBUG)
logger.addHandler(Recorder())


def run_requests(url, timeout):
    import requests

    return requests.get(url, timeout=timeout).text


def run_requests_twice(url, timeout):
    run_requests(url, timeout)
    return run_requests(url, timeout)


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

    if mode in ("requests", "requests-twice", "aiohttp"):
        eyeballs.patch()
    run = {
        "requests": run_requests,
        "requests-twice": run_requests_twice,
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
    result["races"] = races
    print(json.dumps(result))


main()

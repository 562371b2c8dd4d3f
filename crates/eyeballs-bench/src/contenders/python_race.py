# Times Python connections to HOST:PORT inside one interpreter (start-up is not counted).
# Run by eyeballs-bench in the lab's client namespace, where getaddrinfo asks the lab DNS.
#
#   python python_race.py MODE DELAY HOST PORT RUNS TIMEOUT LONG [CONNECTS]
#
# MODE   asyncio           loop.create_connection(host, port, happy_eyeballs_delay=DELAY)
#        aiohappyeyeballs  loop.getaddrinfo, then aiohappyeyeballs.start_connection(
#                          infos, happy_eyeballs_delay=DELAY)  (how aiohttp uses it)
#        eyeballs-start    the same with eyeballs.start_connection (the eyeballs package)
#        socket            socket.create_connection((host, port), timeout=TIMEOUT)
#        eyeballs          eyeballs.create_connection((host, port), timeout=TIMEOUT,
#                          happy_eyeballs_delay=DELAY)  (its own resolver: AAAA and A apart)
#                          The two blocking calls run on an executor thread (one per run).
# DELAY  seconds, or "none" for the library's default (None: one address after another)
# TIMEOUT  seconds: the overall cap of one run (asyncio.wait_for)
# LONG   seconds: when the first run takes at least this long, the other runs are started
#        together (they only wait on timers) so that the benchmark stays short
# CONNECTS  calls per run, one after another in this interpreter (default 1); with more than
#        one (the history part: is the second connection to the host faster?), each line is
#        prefixed with the call's number, "1 ok MS", "2 ok MS", and a run's time for LONG is
#        the sum of its calls
#
# Before the first run, one untimed lookup of "localhost" (from /etc/hosts) starts the
# executor thread that runs getaddrinfo; the executor gets one thread per run, so that runs
# started together do not wait for each other's getaddrinfo.
#
# Prints one line per run: "ok MS" or "fail MS REASON", milliseconds from the call to the
# connected socket (or the error), name resolution included.
import asyncio
import concurrent.futures
import socket
import sys
import time

if sys.argv[1] == "aiohappyeyeballs":
    import aiohappyeyeballs
if sys.argv[1] in ("eyeballs", "eyeballs-start"):
    import eyeballs


async def one(mode, delay, host, port, timeout):
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    try:
        if mode == "asyncio":
            transport, _ = await asyncio.wait_for(
                loop.create_connection(
                    asyncio.Protocol, host, port, happy_eyeballs_delay=delay
                ),
                timeout,
            )
            elapsed = time.perf_counter() - start
            transport.close()
        elif mode in ("socket", "eyeballs"):
            if mode == "socket":
                call = lambda: socket.create_connection((host, port), timeout=timeout)
            else:
                kw = {} if delay is None else {"happy_eyeballs_delay": delay}
                call = lambda: eyeballs.create_connection((host, port), timeout=timeout, **kw)
            sock = await loop.run_in_executor(None, call)
            elapsed = time.perf_counter() - start
            sock.close()
        else:
            start_connection = (
                eyeballs.start_connection
                if mode == "eyeballs-start"
                else aiohappyeyeballs.start_connection
            )

            async def connect():
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                return await start_connection(infos, happy_eyeballs_delay=delay)

            sock = await asyncio.wait_for(connect(), timeout)
            elapsed = time.perf_counter() - start
            sock.close()
        return "ok %.3f" % (elapsed * 1e3)
    except asyncio.TimeoutError:
        elapsed = time.perf_counter() - start
        return "fail %.3f timed out after %gs" % (elapsed * 1e3, timeout)
    except Exception as e:  # every failure is a result to report, not a crash
        elapsed = time.perf_counter() - start
        reason = (type(e).__name__ + ": " + str(e)).replace("\n", " ")
        return "fail %.3f %s" % (elapsed * 1e3, reason)


async def run(mode, delay, host, port, timeout, connects):
    # One run: CONNECTS calls in a row; its lines and its total milliseconds.
    lines, total = [], 0.0
    for i in range(connects):
        line = await one(mode, delay, host, port, timeout)
        total += float(line.split()[1])
        lines.append(line if connects == 1 else "%d %s" % (i + 1, line))
    return lines, total


async def main():
    mode, delay, host, port, runs, timeout, long_run = sys.argv[1:8]
    connects = int(sys.argv[8]) if len(sys.argv) > 8 else 1
    delay = None if delay == "none" else float(delay)
    port, runs = int(port), int(runs)
    timeout, long_run = float(timeout), float(long_run)
    loop = asyncio.get_running_loop()
    # One executor thread per run: runs started together must not queue for getaddrinfo
    # behind each other (the default pool has min(32, CPUs + 4) threads). A lone call is
    # unaffected.
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=runs + 4))
    # Untimed warm-up: the executor thread that runs getaddrinfo, answered from /etc/hosts
    # (no DNS query, no connection).
    await loop.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)
    first, first_ms = await run(mode, delay, host, port, timeout, connects)
    print("\n".join(first), flush=True)
    rest = runs - 1
    if rest <= 0:
        return
    if first_ms >= long_run * 1e3:
        results = await asyncio.gather(
            *(run(mode, delay, host, port, timeout, connects) for _ in range(rest))
        )
    else:
        results = []
        for _ in range(rest):
            results.append(await run(mode, delay, host, port, timeout, connects))
            await asyncio.sleep(0.01)
    for lines, _ in results:
        print("\n".join(lines), flush=True)


asyncio.run(main())

# CPU time of a Python connect on loopback: socket.create_connection against
# eyeballs.create_connection (the eyeballs package), each with no timeout and with timeout=5.
# Run by eyeballs-bench in a network namespace of its own (the lab's client side).
#
#   python python_cost.py CONNECTIONS ROUNDS
#
# Each way makes CONNECTIONS sequential connections per round to a listener on 127.0.0.1
# that nobody accepts from (an accepting thread would compete for the GIL): its backlog is
# long enough for the round, and a new listener is made for every round and way, so no
# accept queue fills. Each connection is closed as soon as it is made. Rounds rotate the
# order of the ways. CPU time is the process's (time.process_time: this thread plus the
# interpreter's, the kernel's share of the connect included; eyeballs runs the race on the
# calling thread). Prints one JSON line per way: its name and the median round's CPU
# microseconds per connection and connections per second.
import json
import socket
import statistics
import sys
import time

import eyeballs

N = int(sys.argv[1])
ROUNDS = int(sys.argv[2])

WAYS = [
    ("socket.create_connection", socket.create_connection, {}),
    ("eyeballs.create_connection", eyeballs.create_connection, {}),
    ("socket.create_connection, timeout=5", socket.create_connection, {"timeout": 5}),
    ("eyeballs.create_connection, timeout=5", eyeballs.create_connection, {"timeout": 5}),
]


def batch(connect, kwargs, n):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(n + 16)
    addr = listener.getsockname()
    try:
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        for _ in range(n):
            connect(addr, **kwargs).close()
        return time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        listener.close()


for _, connect, kwargs in WAYS:
    batch(connect, kwargs, min(200, N))  # warm-up: imports, first-use costs
cpu = {name: [] for name, _, _ in WAYS}
rate = {name: [] for name, _, _ in WAYS}
for r in range(ROUNDS):
    for k in range(len(WAYS)):
        name, connect, kwargs = WAYS[(k + r) % len(WAYS)]
        used, wall = batch(connect, kwargs, N)
        cpu[name].append(used / N * 1e6)
        rate[name].append(N / wall)
for name, _, _ in WAYS:
    print(
        json.dumps(
            {
                "way": name,
                "cpu_us": statistics.median(cpu[name]),
                "per_second": statistics.median(rate[name]),
            }
        )
    )

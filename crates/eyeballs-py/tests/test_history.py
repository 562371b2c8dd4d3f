"""The process's history store (issue 12): every call shares it, so a path that failed no
longer leads the next connection to the host; ``flush_history`` forgets. Loopback only."""

from __future__ import annotations

import eyeballs

#: ``dual.test`` is ::1 (refusing, in these tests) and 127.0.0.1 (listening).
HOSTS = {"dual.test": ["::1", "127.0.0.1"]}


def test_a_refused_address_no_longer_leads_the_next_connection(pair_factory):
    pair = pair_factory("refuse", "listen")
    sock, first = eyeballs.connect(("dual.test", pair.port), timeout=5, hosts=HOSTS)
    sock.close()
    assert [a.address[0] for a in first.attempts] == ["::1", "127.0.0.1"]
    assert first.attempts[0].outcome == "refused"
    assert not first.history_reordered

    sock, second = eyeballs.connect(("dual.test", pair.port), timeout=5, hosts=HOSTS)
    sock.close()
    assert [a.address[0] for a in second.attempts] == ["127.0.0.1"]
    assert second.history_reordered
    assert "used last" in second.attempts[0].history
    assert second.attempts[0].delay_ms >= 100.0


def test_flush_history_forgets(pair_factory):
    pair = pair_factory("refuse", "listen")
    for _ in range(2):
        sock, _ = eyeballs.connect(("dual.test", pair.port), timeout=5, hosts=HOSTS)
        sock.close()
    eyeballs.flush_history()
    sock, report = eyeballs.connect(("dual.test", pair.port), timeout=5, hosts=HOSTS)
    sock.close()
    assert [a.address[0] for a in report.attempts] == ["::1", "127.0.0.1"]
    assert all(a.history is None for a in report.attempts)

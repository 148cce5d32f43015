"""The member served by two processes on PostgreSQL (`TANDEM_INTEROP_BACKEND=postgres`): the
proxy really alternated requests between them, one process was killed with SIGKILL during the
suite while a GET was in flight to it, and the tests after the kill passed against the survivor
and the restarted process. Named to run last: it reads what the whole session recorded
(pgnode.EVENTS, pgnode.KILLS, conftest.OUTCOMES).

The proxy's own rule (a POST whose process died in flight is answered 502 and never sent again;
a GET is retried on the other process) is tested against two fake processes, on either backend.
"""

import socket
import threading
import time

import pytest
import requests

import conftest
import pgnode

on_postgres = pytest.mark.skipif(
    not conftest.ON_POSTGRES,
    reason="SQLite serves a node from one process: no second process to alternate with or kill")


def answered(node=None):
    return [e for e in pgnode.EVENTS
            if e["backend"] is not None and (node is None or e["node"] == node)]


@on_postgres
def test_requests_alternated_between_the_two_processes():
    nodes = sorted({e["node"] for e in answered()} - {"fake"})
    assert len(nodes) >= 5, nodes
    busy = 0
    for name in nodes:
        # While both processes were up (not between a kill and the restart): strict round
        # robin, less the requests that had to go elsewhere.
        down = [(k["killed"], k["restarted"] or float("inf")) for k in pgnode.KILLS
                if k["node"] == name]
        events = [e for e in answered(name)
                  if not any(t0 <= e["started"] <= t1 or t0 <= e["finished"] <= t1
                             for t0, t1 in down)]
        counts = {b: sum(1 for e in events if e["backend"] == b) for b in ("a", "b")}
        if len(events) < 20:
            continue
        busy += 1
        detoured = sum(1 for e in events if len(e["tried"]) > 1)
        slack = 2 + detoured + 2 * len(down)
        assert abs(counts["a"] - counts["b"]) <= slack, (name, counts, detoured)
    assert busy >= 3, "too few nodes answered 20 requests or more"


@on_postgres
def test_a_process_was_killed_mid_run_and_the_suite_went_on():
    assert len(pgnode.KILLS) == 1, pgnode.KILLS
    kill = pgnode.KILLS[0]
    assert kill["signal"] == 9 and kill["backend"] == "a", kill
    assert kill["restarted"] is not None and kill["new_pid"] != kill["pid"], kill
    name = kill["node"]
    # The GET in flight at the kill was lost there and answered by the survivor.
    lost = [e for e in pgnode.EVENTS if e.get("kill")]
    assert len(lost) == 1, lost
    assert lost[0]["tried"] == ["a", "b"] and lost[0]["backend"] == "b", lost
    assert lost[0]["status"] < 500, lost
    # Later requests of that node: served by the survivor, and by the restarted process.
    after = [e for e in answered(name) if e["started"] > kill["killed"]]
    by_b = [e for e in after if e["backend"] == "b"]
    by_new_a = [e for e in after if e["backend"] == "a" and e["started"] >= kill["restarted"]]
    assert by_b and by_new_a, (len(by_b), len(by_new_a))
    assert all(e["status"] < 500 for e in after), [e for e in after if e["status"] >= 500]
    assert not any(e["status"] in (502, 503) for e in pgnode.EVENTS if e["node"] != "fake")
    # The test during which it happened, and every test after it, passed (or was skipped).
    assert (kill["test"], "passed") in [(n, o) for n, o, _ in conftest.OUTCOMES], kill
    later = [(n, o) for n, o, t in conftest.OUTCOMES
             if t > kill["killed"] and "test_zz_two_processes" not in n]
    assert len(later) >= 5, later
    assert all(o in ("passed", "skipped") for _, o in later), [x for x in later if x[1] != "passed"]
    print("killed %s/%s (pid %d) during %s %s in %s; %d later tests; after it b answered %d, "
          "the restarted a %d" % (name, kill["backend"], kill["pid"], kill["method"], kill["path"],
                                  kill["test"], len(later), len(by_b), len(by_new_a)))


class Fake:
    """A fake process: `drop` reads a request and closes without answering (it died with the
    request in flight); otherwise it answers 200 naming itself."""

    def __init__(self, name, drop):
        self.name, self.up, self.seen = name, True, []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.drop = drop
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    method, _, _ = pgnode.read_request(conn)
                except (pgnode.BadRequest, OSError):
                    continue
                self.seen.append(method)
                if not self.drop:
                    body = self.name.encode()
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close"
                                 b"\r\n\r\n%s" % (len(body), body))


def test_the_proxy_retries_a_lost_get_and_never_a_lost_post():
    a, b = Fake("a", drop=True), Fake("b", drop=False)

    class Pair:
        name, kill_ok, backends = "fake", False, {"a": a, "b": b}

    proxy = pgnode.Proxy(Pair, pgnode.free_port())
    try:
        url = "http://127.0.0.1:%d/x" % proxy.port
        r = requests.post(url, data="{}", timeout=10)  # a's turn: lost, not retried
        assert r.status_code == 502 and "not retried" in r.text
        assert (a.seen, b.seen) == (["POST"], [])
        r = requests.get(url, timeout=10)  # b's turn
        assert (r.status_code, r.text) == (200, "b")
        r = requests.get(url, timeout=10)  # a's turn: lost there, retried on b
        assert (r.status_code, r.text) == (200, "b")
        assert (a.seen, b.seen) == (["POST", "GET"], ["GET", "GET"])
        b.up = False  # nothing to retry on: a lost GET is a 503, still no second POST
        r = requests.post(url, data="{}", timeout=10)
        assert r.status_code in (502, 503) and a.seen.count("POST") == 2 and b.seen == ["GET", "GET"]
    finally:
        proxy.close()
        a.sock.close()
        b.sock.close()
        time.sleep(0.1)

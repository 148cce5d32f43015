#!/usr/bin/env python3
"""Tandem vs medallion: TAXII ingest and paging, and the cost of releasability filtering.

Run through bench/run.sh (which builds `tandem` in release and creates bench/.venv). Prints a
table `metric | tandem | medallion | ratio | target` and notes on what limited each figure.

The client is deliberately thin: envelopes are serialized before the clock starts, POSTs go out
on several `requests.Session`s in threads, pages are read without decoding every object (the
`next` token is at the start of the envelope; objects are counted by their `spec_version` key,
and the first page of each run is fully decoded and checked). Client and server CPU time are
measured (`/proc`), so the output says whether the client or the server was the bottleneck.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

TAXII = "application/taxii+json;version=2.1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
REL_EXT = "extension-definition--7d672761-f8ff-4c5e-9337-dc547165f993"
TANDEM_IDENTITY = "identity--5f1b3a0e-2d6c-4c1e-9a57-7e3c1b4d2a90"
REL_IRQ = "marking-definition--2b9f6c1e-3d4a-4f5b-8c7d-9e0f1a2b3c4d"
PASSWORD = "bench-dev-only"
NEXT_RE = re.compile(rb'"next"\s*:\s*"([^"]+)"')
MORE_RE = re.compile(rb'"more"\s*:\s*(true|false)')

# ---------------------------------------------------------------------------------------------
# Data


def stamp(i):
    t = 1735689600 + i // 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (i % 1000)


def make_object(i, markings=(GREEN,)):
    """A valid STIX 2.1 object; the type cycles through indicators, incidents, malware, etc."""
    u = uuid.UUID(int=(0x5EED << 96) | i, version=4)
    ts = stamp(i)
    kind = i % 6
    base = {"spec_version": "2.1", "created": ts, "modified": ts,
            "object_marking_refs": list(markings)}
    if kind in (0, 1):
        return dict(base, type="indicator", id="indicator--%s" % u, name="bench indicator %d" % i,
                    pattern="[ipv4-addr:value = '10.%d.%d.%d']" % (i >> 16 & 255, i >> 8 & 255,
                                                                    i & 255),
                    pattern_type="stix", valid_from=ts, indicator_types=["malicious-activity"])
    if kind == 2:
        return dict(base, type="incident", id="incident--%s" % u, name="bench incident %d" % i,
                    description="Synthetic incident for the ingest benchmark.")
    if kind == 3:
        return dict(base, type="malware", id="malware--%s" % u, name="bench malware %d" % i,
                    is_family=False, malware_types=["backdoor"])
    if kind == 4:
        return dict(base, type="location", id="location--%s" % u, name="place %d" % i,
                    latitude=33.0 + (i % 1000) / 1000.0, longitude=44.0 + (i % 997) / 1000.0,
                    country="IQ")
    return dict(base, type="threat-actor", id="threat-actor--%s" % u, name="actor %d" % i,
                threat_actor_types=["terrorist"])


def rel_irq_marking():
    return {"type": "marking-definition", "spec_version": "2.1", "id": REL_IRQ,
            "created": "2025-01-01T00:00:00.000Z", "created_by_ref": TANDEM_IDENTITY,
            "name": "REL TO IRQ",
            "extensions": {REL_EXT: {"extension_type": "property-extension", "rel_to": ["IRQ"]}}}


def envelopes(objects, size):
    return [json.dumps({"objects": objects[i:i + size]}).encode()
            for i in range(0, len(objects), size)]


# ---------------------------------------------------------------------------------------------
# Processes


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU seconds of a process (and its reaped children)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return sum(int(x) for x in fields[11:15]) / tick


def self_cpu():
    t = os.times()
    return t.user + t.system


def server_pids(server):
    """The processes that serve as `server`: several `tandem serve` on one database set `pids`
    (and `objects_urls`, one per process); a single server has `proc`."""
    return getattr(server, "pids", None) or [server.proc.pid]


def server_cpu(server):
    """User + system CPU seconds of every process of `server`."""
    return sum(cpu_seconds(p) for p in server_pids(server))


def wait_idle(server, quiet=0.02, window=0.5, limit=30.0):
    """Waits until `server` has used under `quiet` of a core over `window` seconds (at most
    `limit` seconds): a node signs the versions an import stored unsigned when it starts, and
    that start-up work must not be counted as the CPU of the first reads measured after it.
    Returns the seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        c0 = server_cpu(server)
        time.sleep(window)
        if server_cpu(server) - c0 < quiet * window:
            break
    return time.perf_counter() - t0


def objects_urls(server):
    return getattr(server, "objects_urls", None) or [server.objects_url]


def wait_http(url, auth, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            r = requests.get(url, headers={"Accept": TAXII}, auth=auth, timeout=5)
            if r.status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server at %s did not answer" % url)


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Tandem:
    def __init__(self, binary, workdir):
        self.binary, self.dir = binary, workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.config = os.path.join(workdir, "tandem.toml")
        with open(self.config, "w") as f:
            f.write("""[node]
member = "USA"
listen = "127.0.0.1:%d"
data_dir = "data"
max_content_length = 104857600

[[members]]
code = "USA"
name = "United States"

[[members]]
code = "IRQ"
name = "Iraq"

[[users]]
name = "usa"
member = "USA"
password = "%s"

[[users]]
name = "irq"
member = "IRQ"
password = "%s"
""" % (self.port, PASSWORD, PASSWORD))
        self.proc = None
        self.base = "http://127.0.0.1:%d" % self.port

    def start(self):
        log = open(os.path.join(self.dir, "serve.log"), "ab")
        self.proc = subprocess.Popen([self.binary, "serve", "--config", self.config],
                                     stdout=log, stderr=log, env={**os.environ, "RUST_LOG": "warn"})
        wait_http(self.base + "/taxii2/", ("usa", PASSWORD), self.proc)
        r = requests.get(self.base + "/api/collections/", headers={"Accept": TAXII},
                         auth=("usa", PASSWORD))
        self.objects_url = "%s/api/collections/%s/objects/" % (
            self.base, r.json()["collections"][0]["id"])
        return self

    def stop(self):
        stop(self.proc)


class Medallion:
    def __init__(self, venv_bin, workdir):
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        coll = str(uuid.uuid4())
        data = {
            "/discovery": {"title": "bench", "description": "", "contact": "",
                           "default": self.base + "/api1/", "api_roots": [self.base + "/api1/"]},
            "api1": {"information": {"title": "api1", "description": "",
                                     "versions": [TAXII], "max_content_length": 104857600},
                     "status": [],
                     "collections": [{"id": coll, "title": "bench", "description": "",
                                      "can_read": True, "can_write": True,
                                      "media_types": ["application/stix+json;version=2.1"],
                                      "objects": [], "manifest": []}]},
        }
        data_path = os.path.join(workdir, "data.json")
        with open(data_path, "w") as f:
            json.dump(data, f)
        config = {"backend": {"module": "medallion.backends.memory_backend",
                              "module_class": "MemoryBackend", "filename": data_path},
                  "users": {"usa": PASSWORD}, "taxii": {"max_page_size": 1000}}
        self.config = os.path.join(workdir, "medallion.json")
        with open(self.config, "w") as f:
            json.dump(config, f)
        self.venv_bin = venv_bin
        self.objects_url = "%s/api1/collections/%s/objects/" % (self.base, coll)
        self.dir = workdir

    def start(self):
        log = open(os.path.join(self.dir, "medallion.log"), "ab")
        self.proc = subprocess.Popen([os.path.join(self.venv_bin, "medallion"), "--host",
                                      "127.0.0.1", "--port", str(self.port), self.config],
                                     stdout=log, stderr=log)
        wait_http(self.base + "/taxii2/", ("usa", PASSWORD), self.proc)
        return self

    def stop(self):
        stop(self.proc)


# ---------------------------------------------------------------------------------------------
# Workloads


def ingest(server, bodies, clients, user="usa"):
    """POSTs every envelope; returns (objects stored, seconds, client cpu s, server cpu s).
    A server of several processes: each client holds a keep-alive connection to every one and
    sends its envelopes to them in turn."""
    sessions = threading.local()
    headers = {"Accept": TAXII, "Content-Type": TAXII}
    urls = objects_urls(server)
    started = iter(range(1 << 30))  # a different first process per client thread

    def send(body):
        s = getattr(sessions, "s", None)
        if s is None:
            s = sessions.s = requests.Session()
            s.auth = (user, PASSWORD)
            sessions.n = next(started)
        url = urls[sessions.n % len(urls)]
        sessions.n += 1
        r = s.post(url, data=body, headers=headers, timeout=600)
        if r.status_code != 202:
            raise RuntimeError("POST %s: %s" % (r.status_code, r.text[:300]))
        st = r.json()
        if st.get("failure_count"):
            raise RuntimeError("failures: %s" % json.dumps(st.get("failures", [])[:3]))
        return st["success_count"]

    c0, s0, t0 = self_cpu(), server_cpu(server), time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        stored = sum(pool.map(send, bodies))
    t1 = time.perf_counter()
    return stored, t1 - t0, self_cpu() - c0, server_cpu(server) - s0


def page_all(server, user="usa", limit=1000, max_objects=None, params=None):
    """Pages with `next` until the end (or max_objects); returns (objects, pages, s, client cpu,
    server cpu). A server of several processes gets the pages in turn (a `next` token from one
    process is followed on the other), over one keep-alive connection to each."""
    s = requests.Session()
    s.auth = (user, PASSWORD)
    headers = {"Accept": TAXII}
    q = dict(params or {}, limit=str(limit))
    urls = objects_urls(server)
    count = pages = 0
    c0, s0, t0 = self_cpu(), server_cpu(server), time.perf_counter()
    token = None
    while True:
        if token:
            q["next"] = token
        r = s.get(urls[pages % len(urls)], params=q, headers=headers, timeout=600)
        if r.status_code != 200:
            raise RuntimeError("GET %s: %s" % (r.status_code, r.text[:300]))
        body = r.content
        if pages == 0:  # check the first page fully
            env = json.loads(body)
            n = len(env.get("objects", []))
            assert n == body.count(b'"spec_version":'), "object count heuristic is off"
        count += body.count(b'"spec_version":')
        pages += 1
        head = body[:400]
        more = MORE_RE.search(head)
        if not more or more.group(1) == b"false":
            break
        m = NEXT_RE.search(head) or NEXT_RE.search(body)
        if not m:
            raise RuntimeError("more is true but there is no next")
        token = m.group(1).decode()
        if max_objects and count >= max_objects:
            break
    t1 = time.perf_counter()
    return count, pages, t1 - t0, self_cpu() - c0, server_cpu(server) - s0


# ---------------------------------------------------------------------------------------------


def fmt_rate(x):
    return "{:,.0f}".format(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tandem", required=True, help="release tandem binary")
    ap.add_argument("--venv-bin", default=os.path.join(os.path.dirname(__file__), ".venv", "bin"))
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--envelope", type=int, default=500)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--medallion-objects", type=int, default=5_000,
                    help="objects POSTed to medallion (its ingest slows as it fills)")
    ap.add_argument("--medallion-page-objects", type=int, default=1_000,
                    help="objects paged from medallion (its pages are slow)")
    ap.add_argument("--releasability-objects", type=int, default=1_000_000)
    ap.add_argument("--skip-releasability", action="store_true")
    args = ap.parse_args()

    # Under bench/.work (git-ignored), not /tmp: shared machines clean /tmp.
    base = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".work")
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="run-", dir=base)
    rows, notes = [], []
    print("# Tandem benchmark  %s" % time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    print("# machine: %d CPUs, %s; python %s" % (os.cpu_count(), os.uname().machine,
                                                 sys.version.split()[0]))
    print("# work dir: %s; load average %s" % (work, open("/proc/loadavg").read().strip()))
    sys.stdout.flush()
    try:
        # -- 1+2: tandem ingest and paging -------------------------------------------------
        objs = [make_object(i) for i in range(args.objects)]
        bodies = envelopes(objs, args.envelope)
        t = Tandem(args.tandem, os.path.join(work, "tandem")).start()
        stored, secs, ccpu, scpu = ingest(t, bodies, args.clients)
        assert stored == args.objects, stored
        t_ingest = stored / secs
        t_ingest_cpu = stored / scpu
        notes.append("tandem ingest: %d objects in %d envelopes of %d over %d connections: "
                     "%.2f s wall; server CPU %.2f s (%.0f%% of one core), client CPU %.2f s"
                     % (stored, len(bodies), args.envelope, args.clients, secs, scpu,
                        100 * scpu / secs, ccpu))
        count, pages, secs, ccpu, scpu = page_all(t)
        assert count == args.objects, count
        t_page = count / secs
        t_page_cpu = count / scpu
        notes.append("tandem paging: %d objects in %d pages (limit 1000, next): %.2f s; server "
                     "CPU %.2f s, client CPU %.2f s" % (count, pages, secs, scpu, ccpu))
        # added_after resumption as a second paging mode (one page per request).
        t.stop()
        sys.stdout.flush()

        # -- 3: medallion ------------------------------------------------------------------
        n = args.medallion_objects
        m = Medallion(args.venv_bin, os.path.join(work, "medallion")).start()
        mb = envelopes(objs[:n], args.envelope)
        stored, secs, ccpu, scpu = ingest(m, mb, args.clients)
        m_ingest = stored / secs
        m_ingest_cpu = stored / max(scpu, 1e-9)
        notes.append("medallion ingest: first %d objects (its memory backend scans the "
                     "collection per object, so the rate falls as it fills): %.2f s, server CPU "
                     "%.2f s" % (stored, secs, scpu))
        m.stop()
        # Paging on a separate, smaller medallion collection: each of its pages costs
        # O(collection x manifest) (find_headers scans the manifest for every object), so its
        # rate falls quadratically with the collection size; a page of 1,000 out of 5,000 takes
        # many minutes.
        pn = args.medallion_page_objects
        m = Medallion(args.venv_bin, os.path.join(work, "medallion-paging")).start()
        ingest(m, envelopes(objs[:pn], args.envelope), args.clients)
        count, pages, secs, ccpu, scpu = page_all(m)
        m_page = count / secs
        m_page_cpu = count / max(scpu, 1e-9)
        notes.append("medallion paging: a collection of its first %d objects, read in %d pages "
                     "(limit 1000, next): %.2f s, server CPU %.2f s (the cost of a page grows "
                     "with the square of the collection size)" % (count, pages, secs, scpu))
        m.stop()

        rows.append(("TAXII ingest, objects/s (tandem %dk; medallion first %dk)"
                     % (args.objects // 1000, n // 1000), t_ingest, m_ingest,
                     ">= 20,000 and >= 5x"))
        rows.append(("TAXII paging, objects/s (limit 1000; medallion: %dk collection)"
                     % (pn // 1000), t_page, m_page, ">= 50,000"))
        rows.append(("  ingest, objects per server CPU-second", t_ingest_cpu, m_ingest_cpu, ""))
        rows.append(("  paging, objects per server CPU-second", t_page_cpu, m_page_cpu, ""))
        sys.stdout.flush()

        # -- 4: releasability cost ---------------------------------------------------------
        if not args.skip_releasability:
            total = args.releasability_objects
            r = Tandem(args.tandem, os.path.join(work, "rel"))
            files = []
            chunk = 100_000
            gen0 = time.perf_counter()
            for start in range(0, total, chunk):
                part = []
                if start == 0:
                    part.append(rel_irq_marking())
                for i in range(start, min(total, start + chunk)):
                    part.append(make_object(10_000_000 + i,
                                            (REL_IRQ,) if i % 10 == 0 else (AMBER,)))
                path = os.path.join(r.dir, "part-%04d.json" % (start // chunk))
                with open(path, "w") as f:
                    json.dump({"type": "bundle", "id": "bundle--%s" % uuid.uuid4(),
                               "objects": part}, f)
                files.append(path)
            gen = time.perf_counter() - gen0
            imp0 = time.perf_counter()
            p = subprocess.run([args.tandem, "import", "--config", r.config, "--quiet",
                                "--batch", "5000", *files], capture_output=True, text=True)
            imp = time.perf_counter() - imp0
            if p.returncode != 0:
                raise RuntimeError("import failed: %s %s" % (p.stdout, p.stderr))
            notes.append("releasability data: %d objects (10%% REL TO IRQ, 90%% TLP:AMBER, "
                         "originator USA) generated in %.1f s, `tandem import` in %.1f s "
                         "(%s objects/s): %s" % (total + 1, gen, imp,
                                                 fmt_rate((total + 1) / imp),
                                                 p.stdout.strip().splitlines()[0]))
            for f in files:
                os.remove(f)
            r.start()
            settled = wait_idle(r)
            notes.append("releasability node: idle %.1f s after its start (start-up signing of "
                         "the imported versions) before the paging below" % settled)
            res = {}
            for user in ("usa", "irq"):
                count, pages, secs, ccpu, scpu = page_all(r, user=user)
                res[user] = (count, pages, secs, scpu)
                rows.append(("list all as %s, objects per server CPU-second" % user.upper(),
                             count / max(scpu, 1e-9), None, ""))
                notes.append("releasability paging as %s: %d objects delivered in %d pages, "
                             "%.2f s; server CPU %.2f s, client CPU %.2f s"
                             % (user.upper(), count, pages, secs, scpu, ccpu))
            r.stop()
            (uc, _, us, _), (ic, _, is_, _) = res["usa"], res["irq"]
            assert uc == total + 1 and ic == total // 10 + 1, (uc, ic)  # + the marking
            rows.append(("list all as originator USA, objects/s", uc / us, None, ""))
            rows.append(("list all as IRQ (sees 10%), objects/s", ic / is_, None, ""))
            us_per = us / uc * 1e6
            irq_per = is_ / ic * 1e6
            rows.append(("  cost per delivered object, USA, us", us_per, None, ""))
            rows.append(("  cost per delivered object, IRQ, us", irq_per, None,
                         "<= 2x USA (ratio %.2f)" % (irq_per / us_per)))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print()
    print("| metric | tandem | medallion | ratio | target |")
    print("|---|---:|---:|---:|---|")
    for name, tv, mv, target in rows:
        ratio = ("%.1fx" % (tv / mv)) if mv else ""
        tvs = ("%.2f" % tv) if tv < 100 else fmt_rate(tv)
        print("| %s | %s | %s | %s | %s |" % (name, tvs, fmt_rate(mv) if mv else "-", ratio,
                                              target))
    print()
    for n_ in notes:
        print("- " + n_)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Performance near the machine's limit (issue 18): one run, one report.

Run through bench/perf.sh, which builds the release binary and the Rust helpers (the
`readload` load generator and the `raw_sqlite` reference, both examples of tandem-testkit) and
creates bench/.venv. Writes bench/results/perf-<UTC date-time>/report.md with SVG plots beside
it, and prints the report.

What it measures, at each store size of `--sizes` (default 10k, 100k, 1M objects):

- ingest through TAXII POST: envelopes of `--envelope` (500) realistic objects (an incident
  with the Tandem incident extension, its location and a `located-at` relationship per unit,
  threat actors for the cells; 5% TLP:GREEN, 5% REL TO IRQ, 90% TLP:AMBER) over 1 and 4
  keep-alive connections into a fresh node; objects/s, MB/s, server CPU per object, and the
  rate of the last tenth of the run (does cost grow with the store?). The reference in the same
  run: the same objects inserted straight into SQLite with the same durability (`raw_sqlite`);
- reads on the store the 4-connection run filled, as USA (sees all) and IRQ (sees 10%): a full
  walk with `next` (one client), and with 1, 8 and 64 concurrent clients (`readload`): a page
  after a random `added_after`, `match[type]`, `match[id]` with 100 ids, get-by-id, versions;
  throughput and p50/p99 latency;
- memory: the node's resident set idle after the load, and its peak under the read load;
- federation: backfill of a newly joined member (testkit's `backfill`), at each size up to
  `--backfill-max`.

Benchmarks are not tests: nothing here asserts a speed; every figure is printed next to its
target and, where one exists, its reference from the same run, with the machine's load.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (AMBER, GREEN, PASSWORD, REL_IRQ, TAXII, Tandem,  # noqa: E402
                   ingest, page_all, rel_irq_marking, server_cpu, server_pids)

INCIDENT_EXT = "extension-definition--447704c2-c7f8-4c08-993a-83a938df3ee7"
ADMIN1 = ["SY-DY", "SY-HA", "SY-RA", "SY-HI", "SY-HM", "SY-DI", "SY-RD", "SY-ID", "SY-HL",
          "IQ-NI", "IQ-AN", "IQ-SD", "IQ-DI", "IQ-KI", "IQ-BG"]
SUB_EVENTS = [("Battles", "Armed clash"), ("Explosions/Remote violence", "Air/drone strike"),
              ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
              ("Explosions/Remote violence", "Suicide bomb"),
              ("Violence against civilians", "Abduction/forced disappearance"),
              ("Strategic developments", "Arrests"),
              ("Strategic developments", "Disrupted weapons use")]
CELLS = 100


def uid(kind, i):
    return "%s--%s" % (kind, uuid.UUID(int=(0x7E4D << 112) | (hash_kind(kind) << 96) | i,
                                        version=4))


def hash_kind(kind):
    return sum(kind.encode()) & 0xFFFF


def stamp(i):
    t = 1420070400 + i * 37  # from 2015, 37 s apart
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (i % 1000)


def marking(i):
    m = i % 20
    return GREEN if m == 0 else REL_IRQ if m == 1 else AMBER


def preamble():
    """The REL TO IRQ marking and the cells (threat actors), TLP:GREEN."""
    objs = [rel_irq_marking()]
    for c in range(CELLS):
        ts = stamp(c)
        objs.append({"type": "threat-actor", "spec_version": "2.1", "id": uid("threat-actor", c),
                     "created": ts, "modified": ts, "name": "ISIS cell %d" % c,
                     "threat_actor_types": ["terrorist"], "object_marking_refs": [GREEN]})
    return objs


def unit(i):
    """One incident, its location and its relationship to the cell, under one marking."""
    ts, mk = stamp(i), [marking(i)]
    rnd = random.Random(i)
    lat, lon = 33.0 + rnd.random() * 4.0, 38.0 + rnd.random() * 6.0
    day = time.strftime("%Y-%m-%d", time.gmtime(1420070400 + i * 37))
    et, st = SUB_EVENTS[i % len(SUB_EVENTS)]
    loc_id, inc_id, cell = uid("location", i), uid("incident", i), uid("threat-actor", i % CELLS)
    killed = rnd.randint(0, 12)
    location = {"type": "location", "spec_version": "2.1", "id": loc_id, "created": ts,
                "modified": ts, "name": "near village %d" % i, "latitude": round(lat, 5),
                "longitude": round(lon, 5), "precision": 2000.0,
                "country": "SY" if lon < 41.5 else "IQ", "object_marking_refs": mk}
    incident = {"type": "incident", "spec_version": "2.1", "id": inc_id, "created": ts,
                "modified": ts, "name": "%s near village %d" % (st, i),
                "description": "Reported %s; %d killed according to the source." % (st.lower(),
                                                                                   killed),
                "object_marking_refs": mk,
                "extensions": {INCIDENT_EXT: {
                    "extension_type": "property-extension", "event_type": et,
                    "sub_event_type": st,
                    "time": {"start": day, "end": day, "precision": "day"},
                    "place": {"location_refs": [loc_id], "precision": 2,
                              "admin1": ADMIN1[i % len(ADMIN1)]},
                    "actors": [{"actor_ref": cell, "role": "perpetrator"}],
                    "fatalities": {"best": killed, "low": max(0, killed - 2), "high": killed + 3},
                    "sources": [{"name": "field report", "reliability": "B",
                                 "credibility": 2}]}}}
    rel = {"type": "relationship", "spec_version": "2.1", "id": uid("relationship", i),
           "created": ts, "modified": ts, "relationship_type": "located-at",
           "source_ref": inc_id, "target_ref": loc_id, "object_marking_refs": mk}
    return [location, incident, rel]


def dataset(n):
    objs = preamble()
    i = 0
    while len(objs) < n:
        objs.extend(unit(CELLS + i))
        i += 1
    return objs[:n]


# ---------------------------------------------------------------------------------------------


def rss_kb(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def loadavg():
    return open("/proc/loadavg").read().split()[:3]


def run_raw(helper, objs, envelope, work):
    path = os.path.join(work, "objects.ndjson")
    with open(path, "w") as f:
        for o in objs:
            f.write(json.dumps(o))
            f.write("\n")
    db = os.path.join(work, "raw.sqlite")
    p = subprocess.run([helper, "--objects", path, "--db", db, "--envelope", str(envelope)],
                       capture_output=True, text=True)
    os.remove(path)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    if p.returncode != 0:
        raise RuntimeError("raw_sqlite: %s" % p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def node(binary, work, storage=None, start=True):
    """A node as bench.py configures it, but for 64 clients from one address: they stand for
    analysts at separate machines, so the per-address connection cap (64 by default, a defence
    against one host holding every slot) is raised for the run. `storage`: the text of a
    `[storage]` section (default: none, so SQLite in data_dir). `start=False` returns it
    configured but not started."""
    t = Tandem(binary, work)
    with open(t.config) as f:
        text = f.read()
    text = text.replace("max_content_length = 104857600\n",
                        "max_content_length = 104857600\nmax_connections_per_address = 1024\n", 1)
    if storage:
        # Before the first [[members]], so the section is a top-level table of its own.
        text = text.replace("\n[[members]]", "\n[storage]\n%s\n\n[[members]]" % storage.strip(), 1)
    with open(t.config, "w") as f:
        f.write(text)
    return t.start() if start else t


def run_ingest(binary, objs, bodies, clients, work):
    """A fresh node; POSTs every envelope; returns the figures and the running node."""
    t = node(binary, work)
    tail_from = int(len(bodies) * 0.9)
    stored, secs, ccpu, scpu = ingest(t, bodies[:tail_from], clients)
    s2, secs2, ccpu2, scpu2 = ingest(t, bodies[tail_from:], clients)
    stored, total_secs = stored + s2, secs + secs2
    assert stored == len(objs), (stored, len(objs))
    nbytes = sum(len(b) for b in bodies)
    return t, {"objects": stored, "secs": total_secs, "rate": stored / total_secs,
               "tail_rate": s2 / secs2, "mb_s": nbytes / 1e6 / total_secs,
               "server_cpu": scpu + scpu2, "client_cpu": ccpu + ccpu2,
               "cpu_us_per_object": (scpu + scpu2) / stored * 1e6,
               "cores": (scpu + scpu2) / total_secs}


def read_paths(node, objs, user, kind, sample_times, rnd):
    coll = node.objects_url[len(node.base):]
    visible = [o for o in objs if user == "usa" or o.get("object_marking_refs") in
               ([GREEN], [REL_IRQ]) or o["type"] == "marking-definition"]
    out = []
    for _ in range(400):
        if kind == "page":
            out.append("%s?limit=1000&added_after=%s" % (coll, rnd.choice(sample_times)))
        elif kind == "type":
            out.append("%s?limit=1000&match[type]=incident&added_after=%s"
                       % (coll, rnd.choice(sample_times)))
        elif kind == "ids100":
            ids = ",".join(rnd.choice(objs)["id"] for _ in range(100))
            out.append("%s?match[id]=%s" % (coll, ids))
        elif kind == "get":
            out.append("%s%s/" % (coll, rnd.choice(visible)["id"]))
        elif kind == "versions":
            out.append("%s%s/versions/" % (coll, rnd.choice(visible)["id"]))
    return out


def date_samples(node, user, want=200):
    """`X-TAXII-Date-Added-Last` of pages across the collection: added_after values to start
    reads from."""
    s = requests.Session()
    s.auth = (user, PASSWORD)
    times, token = [], None
    while True:
        q = {"limit": "1000"}
        if token:
            q["next"] = token
        r = s.get(node.objects_url, params=q, headers={"Accept": TAXII}, timeout=600)
        r.raise_for_status()
        last = r.headers.get("X-TAXII-Date-Added-Last")
        if last:
            times.append(last)
        env = r.json()
        if not env.get("more"):
            break
        token = env["next"]
    rnd = random.Random(7)
    # Starting points in the first 90% so that most pages are full.
    times = times[: max(1, int(len(times) * 0.9))]
    return [rnd.choice(times) for _ in range(want)]


def readload(helper, node, user, paths_file, concurrency, secs):
    """`readload` against `node`; a node of several processes (`bases`, `pids`) gets every
    worker's requests in turn. Server CPU and the peak resident set are summed over them."""
    pids = server_pids(node)
    c0 = server_cpu(node)
    peak = [0]
    done = threading.Event()

    def watch():
        while not done.wait(0.2):
            peak[0] = max(peak[0], sum(rss_kb(p) for p in pids))
    w = threading.Thread(target=watch, daemon=True)
    w.start()
    bases = [a for b in (getattr(node, "bases", None) or [node.base]) for a in ("--base", b)]
    p = subprocess.run([helper, *bases, "--user", user, "--password", PASSWORD,
                        "--paths", paths_file, "--concurrency", str(concurrency),
                        "--secs", str(secs)], capture_output=True, text=True)
    done.set()
    w.join()
    if p.returncode != 0:
        raise RuntimeError("readload: %s" % p.stderr)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["server_cpu"] = server_cpu(node) - c0
    r["peak_rss_kb"] = peak[0]
    return r


def backfill(helper, n):
    p = subprocess.run([helper, "--objects", str(n)], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("backfill: %s %s" % (p.stdout[-2000:], p.stderr[-2000:]))
    return p.stdout.strip()


# ---------------------------------------------------------------------------------------------
# SVG plots (no plotting library: the benchmark runs with what the venv already has)

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def svg_lines(path, title, xlabel, ylabel, xs, series, logx=True):
    """series: [(name, [y or None per x])]."""
    import math
    w, h, ml, mr, mt, mb = 640, 360, 70, 170, 40, 50
    pw, ph = w - ml - mr, h - mt - mb
    ys = [y for _, vals in series for y in vals if y is not None]
    ymax = max(ys) * 1.1 if ys else 1
    fx = (lambda x: math.log10(x)) if logx else (lambda x: x)
    x0, x1 = fx(min(xs)), fx(max(xs))
    span = (x1 - x0) or 1

    def px(x):
        return ml + (fx(x) - x0) / span * pw

    def py(y):
        return mt + ph - y / ymax * ph
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="12">' % (w, h), '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="14" font-weight="bold">%s</text>' % (ml, title),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (ml, mt + ph, ml + pw, mt + ph),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (ml, mt, ml, mt + ph)]
    for k in range(6):
        y = ymax * k / 5
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (ml - 6, py(y) + 4, short(y)))
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (ml, py(y), ml + pw, py(y)))
    for x in xs:
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (px(x), mt + ph + 18, short(x)))
    out.append('<text x="%d" y="%d" text-anchor="middle">%s</text>' % (ml + pw / 2, h - 8, xlabel))
    out.append('<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>'
               % (mt + ph / 2, mt + ph / 2, ylabel))
    for n, (name, vals) in enumerate(series):
        c = COLOURS[n % len(COLOURS)]
        pts = [(px(x), py(y)) for x, y in zip(xs, vals) if y is not None]
        if pts:
            out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                       % (c, " ".join("%.1f,%.1f" % p for p in pts)))
            out.extend('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (x, y, c) for x, y in pts)
        ly = mt + 14 + n * 18
        out.append('<rect x="%d" y="%d" width="12" height="4" fill="%s"/>' % (ml + pw + 14, ly - 4, c))
        out.append('<text x="%d" y="%d">%s</text>' % (ml + pw + 32, ly, name))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))


def short(v):
    if v >= 1e6:
        return "%gM" % round(v / 1e6, 2)
    if v >= 1e3:
        return "%gk" % round(v / 1e3, 1)
    return "%g" % round(v, 2)


def n_(x):
    return "{:,.0f}".format(x)


def size_name(n):
    return "%dM" % (n // 1_000_000) if n >= 1_000_000 and n % 1_000_000 == 0 else "%dk" % (n // 1000)


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tandem", required=True)
    ap.add_argument("--readload", required=True)
    ap.add_argument("--raw-sqlite", required=True)
    ap.add_argument("--backfill", required=True)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--envelope", type=int, default=500)
    ap.add_argument("--read-secs", type=float, default=2.0)
    ap.add_argument("--concurrency", default="1,8,64")
    ap.add_argument("--backfill-max", type=int, default=1_000_000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--header", default="")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    conc = [int(c) for c in args.concurrency.split(",")]
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".work")
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="perf-", dir=base)
    started = time.time()
    load0 = loadavg()
    res = {"ingest": {}, "raw": {}, "walk": {}, "reads": {}, "memory": {}, "backfill": {}}

    def log(msg):
        print("[%6.0f s] %s" % (time.time() - started, msg), file=sys.stderr, flush=True)
    try:
        for n in sizes:
            objs = dataset(n)
            bodies = [json.dumps({"objects": objs[i:i + args.envelope]}).encode()
                      for i in range(0, len(objs), args.envelope)]
            log("%s: %d envelopes" % (size_name(n), len(bodies)))
            res["raw"][n] = run_raw(args.raw_sqlite, objs, args.envelope, work)
            log("  raw sqlite %s rows/s" % n_(res["raw"][n]["rows_per_s"]))
            for clients in (1, 4):
                d = os.path.join(work, "node-%d-%d" % (n, clients))
                node, fig = run_ingest(args.tandem, objs, bodies, clients, d)
                res["ingest"][(n, clients)] = fig
                log("  ingest %d conn: %s objects/s (%.0f%% of a core)" % (clients, n_(fig["rate"]), fig["cores"] * 100))
                if clients == 1:
                    node.stop()
                    shutil.rmtree(d, ignore_errors=True)
            del bodies
            # Reads on the 4-connection node.
            time.sleep(2)
            mem = {"idle_rss_kb": rss_kb(node.proc.pid)}
            for user in ("usa", "irq"):
                count, pages, secs, ccpu, scpu = page_all(node, user=user)
                res["walk"][(n, user)] = {"objects": count, "secs": secs, "rate": count / secs,
                                          "server_cpu": scpu}
            samples = {u: date_samples(node, u) for u in ("usa", "irq")}
            rnd = random.Random(n)
            peak = 0
            for user in ("usa", "irq"):
                for kind in ("page", "type", "ids100", "get", "versions"):
                    pf = os.path.join(work, "paths-%s-%s.txt" % (user, kind))
                    with open(pf, "w") as f:
                        f.write("\n".join(read_paths(node, objs, user, kind, samples[user], rnd)))
                    for c in conc:
                        r = readload(args.readload, node, user, pf, c, args.read_secs)
                        res["reads"][(n, user, kind, c)] = r
                        peak = max(peak, r["peak_rss_kb"])
                log("  reads as %s done" % user)
            mem["peak_rss_kb"] = max(peak, rss_kb(node.proc.pid, "VmHWM"))
            mem["after_rss_kb"] = rss_kb(node.proc.pid)
            res["memory"][n] = mem
            node.stop()
            shutil.rmtree(os.path.join(work, "node-%d-4" % n), ignore_errors=True)
            del objs
            if n <= args.backfill_max:
                res["backfill"][n] = backfill(args.backfill, n)
                log("  backfill: %s" % res["backfill"][n].splitlines()[-1][:120])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load1 = loadavg()
    report = write_report(args, res, sizes, conc, load0, load1, time.time() - started)
    print(report)


def write_report(args, res, sizes, conc, load0, load1, wall):
    L = []
    L.append("# Tandem performance report, %s UTC" % time.strftime("%Y-%m-%d %H:%M", time.gmtime()))
    L.append("")
    if args.header:
        L.append(args.header)
        L.append("")
    L.append("Machine: %d CPUs (%s), load average at start %s, at end %s; the whole run took %.0f s. "
             "Client and node share the machine's cores, so every figure below includes the "
             "client's cost on the same CPUs; the load average says what else ran."
             % (os.cpu_count(), os.uname().machine, " ".join(load0), " ".join(load1), wall))
    L.append("")
    L.append("## Ingest (TAXII POST, envelopes of %d, realistic incidents, locations, "
             "relationships; 90%% TLP:AMBER, 5%% REL TO IRQ, 5%% TLP:GREEN)" % args.envelope)
    L.append("")
    L.append("Reference: the same rows inserted straight into SQLite (WAL, synchronous=FULL, one "
             "transaction per envelope, a unique (id, version) key and a type index) in the same run.")
    L.append("")
    L.append("| store size | connections | objects/s | last 10%, objects/s | MB/s | server CPU µs/object | cores used | raw SQLite rows/s | Tandem / raw | target |")
    L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n in sizes:
        for c in (1, 4):
            f = res["ingest"].get((n, c))
            if not f:
                continue
            raw = res["raw"][n]["rows_per_s"]
            target = ">= 30,000 and >= 70% of raw" if c == 1 else ">= 60,000 and >= 70% of raw"
            L.append("| %s | %d | %s | %s | %.1f | %.1f | %.2f | %s | %.0f%% | %s |"
                     % (size_name(n), c, n_(f["rate"]), n_(f["tail_rate"]), f["mb_s"],
                        f["cpu_us_per_object"], f["cores"], n_(raw), 100 * f["rate"] / raw, target))
    L.append("")
    L.append("![ingest](ingest.svg)")
    L.append("")
    svg_lines(os.path.join(args.out, "ingest.svg"), "Ingest, objects/s", "objects stored", "objects/s",
              sizes, [("Tandem, 1 connection", [res["ingest"].get((n, 1), {}).get("rate") for n in sizes]),
                      ("Tandem, 4 connections", [res["ingest"].get((n, 4), {}).get("rate") for n in sizes]),
                      ("raw SQLite insert", [res["raw"][n]["rows_per_s"] for n in sizes])])

    L.append("## Reads")
    L.append("")
    L.append("A full walk with `limit=1000` and `next`, one client (target: paging >= 200,000 objects/s):")
    L.append("")
    L.append("| store size | reader | objects delivered | objects/s | server CPU s |")
    L.append("|---:|---|---:|---:|---:|")
    for n in sizes:
        for u in ("usa", "irq"):
            w = res["walk"].get((n, u))
            if w:
                L.append("| %s | %s | %s | %s | %.2f |" % (size_name(n), u.upper(), n_(w["objects"]),
                                                          n_(w["rate"]), w["server_cpu"]))
    L.append("")
    svg_lines(os.path.join(args.out, "paging.svg"), "Full walk with next, objects/s", "objects stored",
              "objects/s", sizes,
              [("USA (sees all)", [res["walk"].get((n, "usa"), {}).get("rate") for n in sizes]),
               ("IRQ (sees 10%)", [res["walk"].get((n, "irq"), {}).get("rate") for n in sizes])])
    L.append("![paging](paging.svg)")
    L.append("")
    kinds = [("page", "page after a random added_after (limit 1000)"),
             ("type", "match[type]=incident after a random added_after (limit 1000)"),
             ("ids100", "match[id] with 100 ids"), ("get", "get by id"), ("versions", "versions of an id")]
    L.append("Concurrent clients (closed loop, one keep-alive connection each, %.1f s per cell; "
             "`readload`). Targets: get-by-id p99 < 1 ms at 1M objects." % args.read_secs)
    L.append("")
    for n in sizes:
        L.append("### %s objects stored" % size_name(n))
        L.append("")
        L.append("| request | reader | clients | requests/s | objects/s | p50 ms | p99 ms | errors | server CPU s |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for kind, label in kinds:
            for u in ("usa", "irq"):
                for c in conc:
                    r = res["reads"].get((n, u, kind, c))
                    if r:
                        L.append("| %s | %s | %d | %s | %s | %.2f | %.2f | %d | %.2f |"
                                 % (label, u.upper(), c, n_(r["rps"]), n_(r["objects_per_s"]),
                                    r["p50_ms"], r["p99_ms"], r["errors"], r["server_cpu"]))
        L.append("")
    big = sizes[-1]
    svg_lines(os.path.join(args.out, "get-p99.svg"), "get by id, p99 ms (%s stored)" % size_name(big),
              "concurrent clients", "p99 ms", conc,
              [("USA", [res["reads"].get((big, "usa", "get", c), {}).get("p99_ms") for c in conc]),
               ("IRQ", [res["reads"].get((big, "irq", "get", c), {}).get("p99_ms") for c in conc])])
    L.append("![get p99](get-p99.svg)")
    L.append("")
    L.append("## Memory (resident set of the node process)")
    L.append("")
    L.append("| store size | idle after ingest, MB | peak under reads, MB | after reads, MB | target |")
    L.append("|---:|---:|---:|---:|---|")
    for n in sizes:
        m = res["memory"].get(n)
        if m:
            L.append("| %s | %.0f | %.0f | %.0f | idle < 200, loaded < 400 |"
                     % (size_name(n), m["idle_rss_kb"] / 1024, m["peak_rss_kb"] / 1024,
                        m["after_rss_kb"] / 1024))
    L.append("")
    if res["backfill"]:
        L.append("## Federation: backfill of a newly joined member (testkit `backfill`, target 1M in < 20 s)")
        L.append("")
        for n, text in res["backfill"].items():
            L.append("%s objects:" % size_name(n))
            L.append("")
            L.append("```")
            L.append(text)
            L.append("```")
            L.append("")
    report = "\n".join(L) + "\n"
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(report)
    with open(os.path.join(args.out, "raw.json"), "w") as f:
        json.dump({k: {str(kk): vv for kk, vv in v.items()} for k, v in res.items()}, f, indent=1)
    return report


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""SQLite, PostgreSQL with one process and PostgreSQL with two processes, side by side, over
TAXII against real `tandem serve` processes (issue 14's benchmark).

Run through bench/postgres_scale.sh, which builds the release binary and testkit's `readload`
and creates bench/.venv. The dataset, the POST client, the paging walk and the read load are
bench/perf.py's (issue 18), imported, not copied:

- `sqlite`: one `tandem serve` on its embedded store (WAL, synchronous=FULL);
- `pg1`: one `tandem serve` on a fresh database of a throw-away PostgreSQL cluster;
- `pg2`: two `tandem serve` processes on one fresh database (one node key copied into both data
  directories, as the README's load-balancer setup says); every client keeps a keep-alive
  connection to each and sends its requests to them in turn (round robin, as a load balancer
  without stickiness would), a paging walk included: a `next` token from one process is
  followed on the other.

The cluster is Debian's PostgreSQL (`initdb`/`pg_ctl` from /usr/lib/postgresql/<v>/bin) under a
temporary directory, on a free port, with durable settings (fsync, synchronous_commit and
full_page_writes on): an acknowledged POST is on disk in every target. The settings the server
reports are printed in the report.

Per target: ingest of every envelope (500 objects) with 1 and with 4 connections, each into a
fresh store; on the 4-connection store: a full walk with `next` as USA (sees all) and IRQ (sees
10%), get-by-id with 1 and 8 clients, filtered listings (match[type]=incident after a random
added_after; a page after a random added_after) and the resident memory. CPU is counted from
/proc (utime + stime): the `tandem serve` processes, and the PostgreSQL cluster (the postmaster
with every live child, backends, WAL writer, checkpointer, autovacuum; children that exited
are in the postmaster's cutime/cstime). The client runs on the same two cores.

Benchmarks are not tests: nothing here asserts a speed.
"""

import argparse
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import cpu_seconds, free_port, ingest, page_all  # noqa: E402
from perf import (dataset, date_samples, loadavg, n_, node, read_paths,  # noqa: E402
                  readload, rss_kb, size_name)

TARGETS = ("sqlite", "pg1", "pg2")


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# ---------------------------------------------------------------------------------------------
# The PostgreSQL cluster


def pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("no /usr/lib/postgresql/<version>/bin/initdb: apt-get install postgresql")
    return os.path.dirname(found[-1])


class Cluster:
    """A throw-away cluster, durable: fsync, synchronous_commit and full_page_writes on."""

    SETTINGS = ("server_version", "fsync", "synchronous_commit", "full_page_writes",
                "wal_sync_method", "wal_level", "shared_buffers", "max_connections",
                "shared_preload_libraries")

    def __init__(self, work, shared_buffers, statements):
        self.bin = pg_bin()
        self.root = os.geteuid() == 0
        self.dir = tempfile.mkdtemp(prefix="pg-", dir=work)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        if self.root:
            subprocess.run(["chown", "postgres:postgres", self.dir], check=True)
        self.run("initdb", "-D", self.data, "-U", "tandem", "-A", "trust", "-E", "UTF8",
                 "--locale=C")
        opts = ["-c listen_addresses=127.0.0.1", "-p %d" % self.port, "-k %s" % self.dir,
                "-c fsync=on", "-c synchronous_commit=on", "-c full_page_writes=on",
                "-c max_connections=200", "-c shared_buffers=%s" % shared_buffers]
        if statements:
            opts.append("-c shared_preload_libraries=pg_stat_statements")
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "server.log"), "-w",
                 "-o", " ".join(opts), "start")
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        self.statements = statements

    def run(self, prog, *args, capture=False):
        cmd = [os.path.join(self.bin, prog), *args]
        if self.root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("%s failed: %s %s" % (prog, p.stdout, p.stderr))
        return p.stdout

    def url(self, db):
        return "postgres://tandem@127.0.0.1:%d/%s" % (self.port, db)

    def sql(self, sql, db="postgres"):
        return self.run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "tandem", "-d", db,
                        "-v", "ON_ERROR_STOP=1", "-At", "-c", sql)

    def create(self, db):
        self.sql("CREATE DATABASE %s" % db)
        if self.statements:
            self.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", db)
        return self.url(db)

    def drop(self, db):
        self.sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)

    def settings(self):
        rows = self.sql("SELECT name, current_setting(name), '' FROM pg_settings WHERE name IN (%s) "
                        "ORDER BY name" % ", ".join("'%s'" % s for s in self.SETTINGS))
        return [r.split("|") for r in rows.strip().splitlines()]

    def pids(self):
        kids = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                with open(stat) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == self.pid:
                kids.append(int(stat.split("/")[2]))
        return kids

    def cpu(self):
        """CPU seconds of the whole cluster: the postmaster's own and its reaped children's
        (cutime, cstime) plus every live child's."""
        total = cpu_seconds(self.pid)
        for p in self.pids():
            try:
                total += cpu_seconds(p)
            except OSError:  # exited in between: then reaped into the postmaster's cutime
                pass
        return total

    def pss_kb(self):
        """Proportional set size of the cluster (shared buffers counted once, split among the
        processes that touched them)."""
        total = 0
        for p in [self.pid, *self.pids()]:
            try:
                with open("/proc/%d/smaps_rollup" % p) as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total

    def db_size(self, db):
        return int(self.sql("SELECT pg_database_size('%s')" % db).strip())

    def top_statements(self, db, n=12):
        return self.sql("SELECT calls, round(total_exec_time::numeric, 1), "
                        "round(mean_exec_time::numeric, 3), rows, "
                        "left(regexp_replace(query, '\\s+', ' ', 'g'), 160) "
                        "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE "
                        "datname = '%s') ORDER BY total_exec_time DESC LIMIT %d" % (db, n), db)

    def stop(self):
        try:
            self.run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Targets


class Group:
    """Several `tandem serve` processes serving one node on one database."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.pids = [t.proc.pid for t in nodes]
        self.objects_urls = [t.objects_url for t in nodes]
        self.bases = [t.base for t in nodes]
        first = nodes[0]
        self.proc, self.base, self.objects_url = first.proc, first.base, first.objects_url

    def stop(self):
        for t in self.nodes:
            t.stop()


def start_target(binary, kind, work, cluster, db):
    """A fresh store for `kind`; returns (server, its data directories)."""
    if kind == "sqlite":
        d = os.path.join(work, "sqlite")
        return node(binary, d), [d]
    storage = 'backend = "postgres"\nurl = "%s"' % cluster.create(db)
    if kind == "pg1":
        d = os.path.join(work, "pg1")
        return node(binary, d, storage), [d]
    a, b = os.path.join(work, "pg2-a"), os.path.join(work, "pg2-b")
    ta = node(binary, a, storage, start=False)
    tb = node(binary, b, storage, start=False)
    # One node, one key: A creates its node key and secrets key (and applies the migrations),
    # B gets copies of both before it starts.
    ta.start()
    os.makedirs(os.path.join(b, "data"), exist_ok=True)
    for name in ("node.key", "secrets.key"):
        src = os.path.join(a, "data", name)
        if os.path.exists(src):
            shutil.copy2(src, os.path.join(b, "data", name))
    tb.start()
    return Group([ta, tb]), [a, b]


def discard(server, dirs, cluster, db):
    server.stop()
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    if cluster and db:
        cluster.drop(db)


def tandem_rss_kb(server, field="VmRSS"):
    pids = getattr(server, "pids", None) or [server.proc.pid]
    return [rss_kb(p, field) for p in pids]


def du_kb(dirs):
    total = 0
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in files:
                try:
                    total += os.path.getsize(os.path.join(root, f))
                except OSError:
                    pass
    return total // 1024


def run_target(args, kind, objs, bodies, work, cluster, log):
    """Every figure of one target."""
    pg = cluster if kind != "sqlite" else None
    res = {"load_start": uptime(), "ingest": {}, "walk": {}, "reads": {}}
    log("%s: %s" % (kind, res["load_start"]))
    for clients in (1, 4):
        db = "tandem_%s_c%d" % (kind, clients) if pg else None
        server, dirs = start_target(args.tandem, kind, work, cluster, db)
        tail_from = int(len(bodies) * 0.9)
        p0 = pg.cpu() if pg else 0.0
        stored, secs, ccpu, scpu = ingest(server, bodies[:tail_from], clients)
        s2, secs2, ccpu2, scpu2 = ingest(server, bodies[tail_from:], clients)
        pgcpu = (pg.cpu() - p0) if pg else 0.0
        total = stored + s2
        assert total == len(objs), (total, len(objs))
        fig = {"objects": total, "secs": secs + secs2, "rate": total / (secs + secs2),
               "tail_rate": s2 / secs2, "tandem_cpu": scpu + scpu2, "pg_cpu": pgcpu,
               "client_cpu": ccpu + ccpu2}
        res["ingest"][clients] = fig
        log("  ingest %d conn: %s objects/s (last 10%%: %s); tandem %.1f µs/object, "
            "PostgreSQL %.1f µs/object" % (clients, n_(fig["rate"]), n_(fig["tail_rate"]),
                                           fig["tandem_cpu"] / total * 1e6,
                                           pgcpu / total * 1e6))
        if clients == 1:
            discard(server, dirs, cluster, db)
    # Reads on the 4-connection store.
    time.sleep(2)
    res["idle_rss_kb"] = tandem_rss_kb(server)
    res["pg_pss_kb"] = pg.pss_kb() if pg else 0
    res["disk_kb"] = du_kb(dirs) + (pg.db_size(db) // 1024 if pg else 0)
    for user in ("usa", "irq"):
        p0 = pg.cpu() if pg else 0.0
        count, pages, secs, ccpu, scpu = page_all(server, user=user)
        res["walk"][user] = {"objects": count, "pages": pages, "secs": secs, "rate": count / secs,
                             "tandem_cpu": scpu, "pg_cpu": (pg.cpu() - p0) if pg else 0.0}
        log("  walk as %s: %s objects in %.1f s, %s objects/s"
            % (user.upper(), n_(count), secs, n_(count / secs)))
    samples = {u: date_samples(server, u) for u in ("usa", "irq")}
    rnd = random.Random(len(objs))
    peak = 0
    for user in ("usa", "irq"):
        for kind_, conc in (("get", (1, 8)), ("type", (1,)), ("page", (1,))):
            pf = os.path.join(work, "paths-%s-%s-%s.txt" % (kind, user, kind_))
            with open(pf, "w") as f:
                f.write("\n".join(read_paths(server, objs, user, kind_, samples[user], rnd)))
            for c in conc:
                p0 = pg.cpu() if pg else 0.0
                r = readload(args.readload, server, user, pf, c, args.read_secs)
                r["pg_cpu"] = (pg.cpu() - p0) if pg else 0.0
                res["reads"]["%s/%s/%d" % (user, kind_, c)] = r
                peak = max(peak, r["peak_rss_kb"])
    log("  reads done")
    res["peak_rss_kb"] = max(peak, sum(tandem_rss_kb(server, "VmHWM")))
    res["after_rss_kb"] = tandem_rss_kb(server)
    if pg and cluster.statements:
        res["statements"] = cluster.top_statements(db)
    discard(server, dirs, cluster, db)
    res["load_end"] = uptime()
    log("%s done: %s" % (kind, res["load_end"]))
    return res


# ---------------------------------------------------------------------------------------------
# The report


def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "-"


def fmt(v, digits=0):
    if v is None:
        return "-"
    return ("{:,.%df}" % digits).format(v)


def write_report(args, n, res, settings, header, started):
    L = []
    L.append("# SQLite, PostgreSQL x1, PostgreSQL x2: `tandem serve` over TAXII, %s objects (%s UTC)"
             % (n_(n), time.strftime("%Y-%m-%d %H:%M", time.gmtime())))
    L.append("")
    if header:
        L.append(header)
        L.append("")
    L.append("Command: `%s`. Machine: %d CPUs (%s), shared with other sessions; the whole run "
             "took %.0f s. Client, `tandem serve` processes and PostgreSQL share the two cores."
             % (args.command, os.cpu_count(), os.uname().machine, time.time() - started))
    L.append("")
    L.append("Load (`uptime`) at the start and end of each target:")
    L.append("")
    for k in TARGETS:
        if k in res:
            L.append("- %s: start `%s`; end `%s`" % (k, res[k]["load_start"], res[k]["load_end"]))
    L.append("")
    L.append("PostgreSQL settings as the server reported them (`pg_settings`):")
    L.append("")
    L.append(", ".join("`%s = %s%s`" % (a, b, c) for a, b, c in settings))
    L.append("")
    L.append("SQLite: the node's store, WAL with `synchronous = FULL`. pg1: one `tandem serve`. "
             "pg2: two `tandem serve` processes on one database, each client alternating between "
             "them request by request (one keep-alive connection to each).")
    L.append("")
    have = [k for k in TARGETS if k in res]
    cols = " | ".join(have)
    L.append("| figure | %s | pg1/sqlite | pg2/pg1 |" % cols)
    L.append("|---|%s---:|---:|" % ("---:|" * len(have)))

    def row(label, get, digits=0):
        vals = {}
        for k in have:
            try:
                vals[k] = get(res[k])
            except (KeyError, ZeroDivisionError):
                vals[k] = None
        L.append("| %s | %s | %s | %s |" % (label, " | ".join(fmt(vals[k], digits) for k in have),
                                            ratio(vals.get("pg1"), vals.get("sqlite")),
                                            ratio(vals.get("pg2"), vals.get("pg1"))))

    for c in (1, 4):
        row("ingest, %d connection%s, objects/s" % (c, "s" if c > 1 else ""),
            lambda r, c=c: r["ingest"][c]["rate"])
        row("  last 10%% of it, objects/s" % (), lambda r, c=c: r["ingest"][c]["tail_rate"])
        row("  `tandem serve` CPU, µs/object", lambda r, c=c: r["ingest"][c]["tandem_cpu"] /
            r["ingest"][c]["objects"] * 1e6, 1)
        row("  PostgreSQL CPU, µs/object", lambda r, c=c: r["ingest"][c]["pg_cpu"] /
            r["ingest"][c]["objects"] * 1e6, 1)
        row("  server CPU in all, µs/object", lambda r, c=c: (r["ingest"][c]["tandem_cpu"] +
            r["ingest"][c]["pg_cpu"]) / r["ingest"][c]["objects"] * 1e6, 1)
    for u in ("usa", "irq"):
        row("full walk with `next` (limit 1000) as %s, objects/s" % u.upper(),
            lambda r, u=u: r["walk"][u]["rate"])
        row("  server CPU in all, µs/object delivered", lambda r, u=u: (r["walk"][u]["tandem_cpu"] +
            r["walk"][u]["pg_cpu"]) / r["walk"][u]["objects"] * 1e6, 1)
    for u in ("usa", "irq"):
        for c in (1, 8):
            key = "%s/get/%d" % (u, c)
            row("get-by-id as %s, %d client%s, requests/s" % (u.upper(), c, "s" if c > 1 else ""),
                lambda r, key=key: r["reads"][key]["rps"])
            row("  p50 ms", lambda r, key=key: r["reads"][key]["p50_ms"], 2)
            row("  p99 ms", lambda r, key=key: r["reads"][key]["p99_ms"], 2)
    for u in ("usa", "irq"):
        row("match[type]=incident after a random added_after (limit 1000) as %s, 1 client, "
            "objects/s" % u.upper(), lambda r, u=u: r["reads"]["%s/type/1" % u]["objects_per_s"])
        row("page after a random added_after (limit 1000) as %s, 1 client, objects/s" % u.upper(),
            lambda r, u=u: r["reads"]["%s/page/1" % u]["objects_per_s"])
    row("`tandem serve` resident memory idle after ingest, MB (sum of processes)",
        lambda r: sum(r["idle_rss_kb"]) / 1024)
    row("  peak under the reads, MB (sum of processes)", lambda r: r["peak_rss_kb"] / 1024)
    row("PostgreSQL proportional set size idle after ingest, MB", lambda r: r["pg_pss_kb"] / 1024
        if r["pg_pss_kb"] else None)
    row("store on disk after ingest, MB (data dirs + database)", lambda r: r["disk_kb"] / 1024)
    L.append("")
    errors = sum(r["errors"] for k in have for r in res[k]["reads"].values())
    L.append("Read-load errors (non-2xx or failed requests) in all cells: %d. The walk counts "
             "objects delivered: USA %s, IRQ %s (every target)." % (
                 errors, "/".join(n_(res[k]["walk"]["usa"]["objects"]) for k in have),
                 "/".join(n_(res[k]["walk"]["irq"]["objects"]) for k in have)))
    L.append("")
    L.append("Each get-by-id and listing cell is `readload` (closed loop, one keep-alive connection "
             "per client and per process, %.1f s). CPU from /proc (utime + stime): `tandem serve` "
             "the processes of the target; PostgreSQL the postmaster and all its children "
             "(backends, WAL writer, checkpointer, autovacuum; exited ones through the "
             "postmaster's cutime/cstime). Memory: VmRSS/VmHWM of the `tandem serve` processes; "
             "PostgreSQL's Pss from smaps_rollup." % args.read_secs)
    L.append("")
    for k in have:
        if res[k].get("statements"):
            L.append("pg_stat_statements, %s, top statements by total time "
                     "(calls | total ms | mean ms | rows | query):" % k)
            L.append("")
            L.append("```")
            L.append(res[k]["statements"].strip())
            L.append("```")
            L.append("")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tandem", required=True)
    ap.add_argument("--readload", required=True)
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--envelope", type=int, default=500)
    ap.add_argument("--read-secs", type=float, default=3.0)
    ap.add_argument("--shared-buffers", default="256MB")
    ap.add_argument("--pg-stat-statements", action="store_true",
                    help="load pg_stat_statements and print each target's top statements")
    ap.add_argument("--out", required=True, help="the Markdown report to write")
    ap.add_argument("--header", default="")
    ap.add_argument("--command", default="bench/postgres_scale.sh")
    args = ap.parse_args()
    targets = [t for t in args.targets.split(",") if t]
    base = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".work")
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="pgscale-", dir=base)
    os.chmod(work, 0o755)
    started = time.time()

    def log(msg):
        print("[%6.0f s] %s" % (time.time() - started, msg), file=sys.stderr, flush=True)
    cluster = None
    res = {}
    try:
        objs = dataset(args.objects)
        bodies = [json.dumps({"objects": objs[i:i + args.envelope]}).encode()
                  for i in range(0, len(objs), args.envelope)]
        log("%s objects, %d envelopes; load %s" % (size_name(args.objects), len(bodies),
                                                     " ".join(loadavg())))
        settings = []
        if any(t != "sqlite" for t in targets):
            cluster = Cluster(work, args.shared_buffers, args.pg_stat_statements)
            settings = cluster.settings()
            log("PostgreSQL on port %d: %s" % (cluster.port, settings))
        for k in targets:
            res[k] = run_target(args, k, objs, bodies, work, cluster, log)
    finally:
        if cluster:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    report = write_report(args, args.objects, res, settings, args.header, started)
    with open(args.out, "w") as f:
        f.write(report)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump({"objects": args.objects, "settings": settings,
                   "targets": {k: {kk: ({str(a): b for a, b in vv.items()}
                                        if isinstance(vv, dict) else vv)
                                   for kk, vv in v.items()} for k, v in res.items()}}, f, indent=1)
    print(report)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The plans PostgreSQL runs for the filtered listing of bench/postgres_scale.py
(`match[type]=incident` after a random `added_after`, limit 1000) as USA (sees every object)
and as IRQ (sees 10%): one `tandem serve` on a throw-away cluster (postgres_scale.py's), the
benchmark's dataset ingested over TAXII, then `auto_explain` (ANALYZE, BUFFERS) switched on for
the node's sessions and the same reads made; prints each listing's plan as the server logged it,
with its real parameters. Not a test, not a benchmark: a diagnosis.

    bench/.venv/bin/python bench/postgres_explain.py --tandem target/release/tandem --objects 100000
"""

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import requests  # noqa: E402
from bench import PASSWORD, TAXII, ingest  # noqa: E402
from perf import dataset, date_samples, loadavg  # noqa: E402
from postgres_scale import Cluster, start_target  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tandem", required=True)
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--envelope", type=int, default=500)
    ap.add_argument("--reads", type=int, default=3, help="listings per user")
    args = ap.parse_args()
    base = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".work")
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="pgexplain-", dir=base)
    os.chmod(work, 0o755)
    cluster = server = None
    try:
        objs = dataset(args.objects)
        bodies = [__import__("json").dumps({"objects": objs[i:i + args.envelope]}).encode()
                  for i in range(0, len(objs), args.envelope)]
        print("load %s" % " ".join(loadavg()), file=sys.stderr)
        cluster = Cluster(work, "256MB", False)
        db = "tandem_explain"
        server, _ = start_target(args.tandem, "pg1", work, cluster, db)
        stored, secs, _, _ = ingest(server, bodies, 4)
        print("ingested %d objects in %.0f s" % (stored, secs), file=sys.stderr)
        # What autovacuum would do in time: statistics and the visibility map current.
        cluster.sql("VACUUM ANALYZE objects", db)
        for setting in ("session_preload_libraries = 'auto_explain'",
                        "auto_explain.log_min_duration = 0", "auto_explain.log_analyze = on",
                        "auto_explain.log_buffers = on", "auto_explain.log_timing = on"):
            cluster.sql("ALTER DATABASE %s SET %s" % (db, setting))
        # New sessions load it: restart the node so that its pool reconnects.
        server.stop()
        server.start()
        log = os.path.join(cluster.dir, "server.log")
        samples = {u: date_samples(server, u) for u in ("usa", "irq")}
        rnd = random.Random(1)
        coll = server.objects_url
        for user in ("usa", "irq"):
            s = requests.Session()
            s.auth = (user, PASSWORD)
            for _ in range(args.reads):
                with open(log) as f:
                    f.seek(0, 2)
                    start = f.tell()
                after = rnd.choice(samples[user])
                t0 = time.time()
                r = s.get(coll, params={"limit": 1000, "match[type]": "incident",
                                        "added_after": after}, headers={"Accept": TAXII})
                took = time.time() - t0
                r.raise_for_status()
                n = len(r.json().get("objects", []))
                time.sleep(0.5)
                with open(log) as f:
                    f.seek(start)
                    text = f.read()
                plans = [p for p in re.split(r"\n(?=\S.*LOG:)", text) if "FROM objects o" in p]
                print("\n==== %s: match[type]=incident added_after=%s: %d objects in %.3f s "
                      "(%d listing statements)" % (user.upper(), after, n, took, len(plans)))
                for p in plans:
                    print(p.strip())
                    print("----")
    finally:
        if server:
            server.stop()
        if cluster:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

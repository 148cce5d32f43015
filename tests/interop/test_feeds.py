"""`tandem feed add|list|remove` against a real medallion TAXII 2.1 server started here (memory
backend, two objects a page, so every round pages; medallion's objects added by one POST share
one date_added, so a cursor at that instant sees them again under an inclusive added_after).

The running node polls the feed: what medallion holds appears in the node's collection, a later
POST to medallion arrives too, nothing arrives twice, the cursor persists (`feed list`), and the
feed's marking narrows what comes in.
"""

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

from conftest import AMBER, GREEN, free_port, start_node, tandem_binary, write_config

COLLECTION = "472c94ae-3113-4e3e-a4dd-a9f4ac7471d4"
TAXII = "application/taxii+json;version=2.1"
FEEDER = ("feeder", "feed-dev-only")


def medallion(tmp_path):
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    data = {
        "/discovery": {"title": "medallion", "default": base + "/api1/",
                       "api_roots": [base + "/api1/"]},
        "api1": {"information": {"title": "api1", "versions": [TAXII],
                                 "max_content_length": 9765625},
                 "status": [],
                 "collections": [{"id": COLLECTION, "title": "feed", "can_read": True,
                                  "can_write": True,
                                  "media_types": ["application/stix+json;version=2.1"],
                                  "objects": [], "manifest": []}]},
    }
    (tmp_path / "data.json").write_text(json.dumps(data))
    conf = {"backend": {"module": "medallion.backends.memory_backend",
                        "module_class": "MemoryBackend",
                        "filename": str(tmp_path / "data.json")},
            "users": {FEEDER[0]: FEEDER[1]}, "taxii": {"max_page_size": 2}}
    (tmp_path / "medallion.json").write_text(json.dumps(conf))
    exe = Path(sys.executable).parent / "medallion"
    proc = subprocess.Popen([str(exe), "--port", str(port), str(tmp_path / "medallion.json")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            requests.get(base + "/taxii2/", auth=FEEDER, headers={"Accept": TAXII}, timeout=2)
            return proc, "%s/api1/collections/%s/" % (base, COLLECTION)
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("medallion did not start")


def indicators(n, tag):
    return [{"type": "indicator", "spec_version": "2.1", "id": "indicator--%s" % uuid.uuid4(),
             "created": "2025-11-20T00:00:00.000Z", "modified": "2025-11-20T00:00:00.000Z",
             "name": "%s %d" % (tag, i), "pattern": "[ipv4-addr:value = '198.51.100.%d']" % i,
             "pattern_type": "stix", "valid_from": "2025-11-20T00:00:00Z",
             "object_marking_refs": [GREEN]} for i in range(n)]


def post(url, objects):
    r = requests.post(url + "objects/", json={"objects": objects}, auth=FEEDER,
                      headers={"Accept": TAXII, "Content-Type": TAXII}, timeout=30)
    assert r.status_code in (200, 202), r.text


def run(*args):
    return subprocess.run([tandem_binary(), *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def held(node, user):
    r = node.get(node.coll_url + "objects/", user=user, params={"match[type]": "indicator"})
    assert r.status_code == 200, r.text
    return [o["name"] for o in r.json().get("objects", [])]


def eventually(what, check, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("never true: %s" % what)


def test_a_node_polls_a_medallion_collection(tmp_path):
    proc, url = medallion(tmp_path)
    try:
        post(url, indicators(5, "first"))
        config = write_config(tmp_path / "node")  # start_node rewrites it, same data directory
        p = run("feed", "add", "medallion", "--url", url, "--username", FEEDER[0], "--password",
                FEEDER[1], "--interval", "1", "--marking", AMBER, "--config", config)
        assert p.returncode == 0, p.stderr
        node = start_node(tmp_path / "node")
        try:
            eventually("the first five arrive", lambda: len(held(node, "usa")) == 5)
            # The objects are TLP:GREEN, but the feed adds TLP:AMBER: only the node's own
            # member reads them (markings combine most restrictively; a feed only narrows).
            assert held(node, "irq") == []
            post(url, indicators(3, "second"))
            eventually("the next three arrive", lambda: len(held(node, "usa")) == 8)
            # Several more rounds (inclusive added_after, pages at the cursor): nothing twice.
            time.sleep(4)
            names = held(node, "usa")
            assert sorted(names) == sorted(set(names)) and len(names) == 8, names
            listed = run("feed", "list", "--config", config)
            assert "medallion" in listed.stdout and "after 20" in listed.stdout, listed.stdout
        finally:
            node.stop()
        p = run("feed", "remove", "medallion", "--config", config)
        assert p.returncode == 0 and "removed" in p.stdout, p.stdout + p.stderr
        assert "medallion" not in run("feed", "list", "--config", config).stdout
    finally:
        proc.kill()
        proc.wait()

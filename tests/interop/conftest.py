"""Fixtures for the interoperability tests: a real `tandem serve` process on a loopback port.

The binary is built once per session (`cargo build -p tandem`, honouring CARGO_TARGET_DIR).
`start_node(config)` starts a node from a `NodeConfig` and waits until `/taxii2/` answers; tests
may stop it and start another process on the same data directory (restart tests). Every node
started is killed at the end of the session.

`TANDEM_INTEROP_BACKEND` chooses the storage (`sqlite`, the default, or `postgres`). On
PostgreSQL (see pgnode.py) `write_config` gives each node directory a fresh database on the
session's throw-away server, and a node is two `tandem serve` processes on that database behind
a round-robin proxy on the node's port; one process of one node is killed during the suite and
restarted (test_zz_two_processes.py proves it). The tests see the same `Node` either way.
"""

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

import pgnode

REPO = Path(__file__).resolve().parents[2]
TAXII = "application/taxii+json;version=2.1"
PASSWORD = "interop-dev-only"

# Users of several members, with clearances. Names are "<member>-<clearance>" in lower case.
USERS = [
    ("usa", "USA", "SECRET"),
    ("usa-low", "USA", "UNCLASSIFIED"),
    ("irq", "IRQ", "SECRET"),
    ("irq-low", "IRQ", "UNCLASSIFIED"),
    ("syr", "SYR", "SECRET"),
    ("jor", "JOR", "CONFIDENTIAL"),
]
MEMBERS = [("USA", "United States"), ("IRQ", "Iraq"), ("SYR", "Syria"), ("JOR", "Jordan")]
# LVNT: Levant partners (IRQ and JOR, not SYR).
GROUPS = [("LVNT", "Levant partners", ["IRQ", "JOR"])]


BACKEND = os.environ.get("TANDEM_INTEROP_BACKEND", "sqlite")
if BACKEND not in ("sqlite", "postgres"):
    raise RuntimeError("TANDEM_INTEROP_BACKEND: sqlite or postgres, not %r" % BACKEND)
ON_POSTGRES = BACKEND == "postgres"

# Outcomes of the tests so far, for test_zz_two_processes.py: (nodeid, outcome, finished at).
OUTCOMES = []


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        OUTCOMES.append((report.nodeid, report.outcome, time.time()))


def pytest_report_header(config):
    return "tandem interop backend: %s" % BACKEND


def pytest_terminal_summary(terminalreporter):
    """On PostgreSQL: the requests each process of each node answered, and the kill."""
    if not ON_POSTGRES:
        return
    counts = {}
    for e in pgnode.EVENTS:
        per = counts.setdefault(e["node"], {"a": 0, "b": 0, None: 0})
        per[e["backend"]] += 1
    write = terminalreporter.write_line
    write("requests answered per process (a, b; unanswered):")
    for name, per in counts.items():
        write("  %s: a %d, b %d; %d" % (name, per["a"], per["b"], per[None]))
    for k in pgnode.KILLS:
        write("killed %s/%s (pid %d, signal %d) during %s %s in %s; restarted %.1f s later"
              % (k["node"], k["backend"], k["pid"], k["signal"], k["method"], k["path"], k["test"],
                 (k["restarted"] or float("nan")) - k["killed"]))


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR") or (REPO / "target"))


_BINARY = None


def _cargo_build(*args):
    """Runs `cargo build -q ARGS`; a failure stops the whole session at once (every test needs
    the binary), showing cargo's output."""
    p = subprocess.run(["cargo", "build", "-q", *args], cwd=REPO, capture_output=True, text=True)
    if p.returncode != 0:
        pytest.exit("cargo build %s failed:\n%s" % (" ".join(args), p.stderr[-4000:]),
                    returncode=1)


def tandem_binary():
    """Builds `tandem` once (debug) and returns the path of the binary."""
    global _BINARY
    if _BINARY is None and os.environ.get("TANDEM_BIN"):
        _BINARY = os.environ["TANDEM_BIN"]  # a prebuilt binary (development)
    if _BINARY is None:
        _cargo_build("-p", "tandem")
        path = target_dir() / "debug" / "tandem"
        if not path.is_absolute():
            path = REPO / path
        assert path.exists(), "tandem binary not found at %s" % path
        _BINARY = str(path)
    return _BINARY


_DEMO = None


def demo_export_binary():
    """Builds the demo data set writer (`tandem-demo`'s `export` example) once."""
    global _DEMO
    if _DEMO is None and os.environ.get("TANDEM_DEMO_BIN"):
        _DEMO = os.environ["TANDEM_DEMO_BIN"]
    if _DEMO is None:
        _cargo_build("-p", "tandem-demo", "--example", "export")
        path = target_dir() / "debug" / "examples" / "export"
        if not path.is_absolute():
            path = REPO / path
        _DEMO = str(path)
    return _DEMO


free_port = pgnode.free_port  # a free loopback port (tests import it from here)


_CLUSTER = None
_DATABASES = {}  # node directory -> its database's url (postgres)


def cluster():
    """The session's PostgreSQL server, started on first use."""
    global _CLUSTER
    if _CLUSTER is None:
        _CLUSTER = pgnode.Cluster()
    return _CLUSTER


def database_of(directory):
    """The database of the node in `directory` (postgres): created once, the same on every
    later `write_config` of that directory (a restart, or a CLI command before `serve`)."""
    key = str(Path(directory).resolve())
    if key not in _DATABASES:
        _DATABASES[key] = cluster().database()
    return _DATABASES[key]


def write_config(directory, member="USA", port=None, max_content_length=None, page_size_max=None,
                 users=USERS):
    """Writes `directory/tandem.toml` (data in `directory/data`) and returns its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    lines = ["[node]", 'member = "%s"' % member, 'listen = "127.0.0.1:%d"' % port,
             'data_dir = "data"', 'title = "Tandem interop node"']
    if max_content_length:
        lines.append("max_content_length = %d" % max_content_length)
    if page_size_max:
        lines.append("page_size_max = %d" % page_size_max)
    for code, name in MEMBERS:
        lines += ["", "[[members]]", 'code = "%s"' % code, 'name = "%s"' % name]
    for code, name, members in GROUPS:
        lines += ["", "[[groups]]", 'code = "%s"' % code, 'name = "%s"' % name,
                  "members = %s" % json.dumps(members)]
    for name, m, clearance in users:
        lines += ["", "[[users]]", 'name = "%s"' % name, 'member = "%s"' % m,
                  'password = "%s"' % PASSWORD, 'clearance = "%s"' % clearance]
    if ON_POSTGRES:
        lines += ["", "[storage]", 'backend = "postgres"', 'url = "%s"' % database_of(directory)]
    path = directory / "tandem.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _answers(base):
    """Whether the node at `base` answers discovery."""
    try:
        r = requests.get(base + "/taxii2/", headers={"Accept": TAXII}, auth=("usa", PASSWORD),
                         timeout=2)
        return r.status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # a loaded machine answers late
        return False


class Node:
    """A running node: one `tandem serve` process (SQLite), or two on one PostgreSQL database
    behind a round-robin proxy on the node's port (pgnode.py)."""

    def __init__(self, config_path, log_path):
        self.config = Path(config_path)
        self.dir = self.config.parent
        self.name = "%s/%s" % (self.dir.parent.name, self.dir.name)
        text = self.config.read_text()
        self.port = int(text.split('listen = "127.0.0.1:')[1].split('"')[0])
        self.base = "http://127.0.0.1:%d" % self.port
        self.api = self.base + "/api/"
        self.log_path = log_path
        self.proc = None
        self._coll = None
        # PostgreSQL: the two processes, the proxy, and whether this node may take the kill.
        self.backends = {}
        self.proxy = None
        self.kill_ok = False

    @staticmethod
    def ready(base):
        return _answers(base)

    # -- process ----------------------------------------------------------------------------
    def start(self, timeout=60):
        if ON_POSTGRES:
            return self._start_pair(timeout)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([tandem_binary(), "serve", "--config", str(self.config)],
                                     stdout=log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "RUST_LOG": "warn"})
        log.close()  # the child holds its own descriptor
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("tandem serve exited with %s:\n%s"
                                   % (self.proc.returncode, Path(self.log_path).read_text()))
            if _answers(self.base):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("tandem serve did not answer within %ss" % timeout)

    def _start_pair(self, timeout):
        """Processes `a` then `b` (so `a` makes the node key both use), then the proxy."""
        text = self.config.read_text()
        if not self.backends:
            self.backends = {n: pgnode.Backend(self, n, tandem_binary()) for n in ("a", "b")}
        try:
            for backend in self.backends.values():
                backend.write_config(text, self.port)
                backend.start(self.ready, timeout)
            if self.proxy is None:
                self.proxy = pgnode.Proxy(self, self.port)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self):
        if self.proxy is not None:
            self.proxy.close()
            self.proxy = None
        for backend in self.backends.values():
            backend.stop()
        pgnode.stop_process(self.proc)
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    # -- helpers ------------------------------------------------------------------------------
    @property
    def collection_id(self):
        if self._coll is None:
            r = self.get(self.api + "collections/")
            r.raise_for_status()
            self._coll = [c for c in r.json()["collections"] if c.get("alias") == "intel"
                          or len(r.json()["collections"]) == 1][0]["id"]
        return self._coll

    @property
    def coll_url(self):
        return "%scollections/%s/" % (self.api, self.collection_id)

    def get(self, url, user="usa", params=None, headers=None):
        h = {"Accept": TAXII}
        h.update(headers or {})
        return requests.get(url, params=params, headers=h, auth=(user, PASSWORD), timeout=60)

    def post(self, objects, user="usa", raw=None, headers=None):
        h = {"Accept": TAXII, "Content-Type": TAXII}
        h.update(headers or {})
        data = raw if raw is not None else json.dumps({"objects": objects})
        return requests.post(self.coll_url + "objects/", data=data, headers=h,
                             auth=(user, PASSWORD), timeout=120)

    def add(self, objects, user="usa"):
        """Posts objects, asserts all succeeded, returns the status."""
        r = self.post(objects, user=user)
        assert r.status_code == 202, r.text
        status = r.json()
        assert status["failure_count"] == 0, status.get("failures")
        return status

    def cli(self, *args, check=False):
        return subprocess.run([tandem_binary(), *args[:1], "--config", str(self.config), *args[1:]],
                              capture_output=True, text=True, check=check)

    def server(self, user="usa"):
        from taxii2client.v21 import Server
        return Server(self.base + "/taxii2/", user=user, password=PASSWORD)

    def collection(self, user="usa"):
        from taxii2client.v21 import Collection
        return Collection(self.coll_url, user=user, password=PASSWORD)


_NODES = []


def start_node(directory, **config):
    """Writes a config in `directory` (see write_config) and starts a node from it."""
    path = write_config(directory, **config)
    node = Node(path, Path(directory) / "serve.log")
    _NODES.append(node)
    return node.start()


@pytest.fixture(scope="session")
def binary():
    return tandem_binary()


@pytest.fixture(scope="session", autouse=True)
def _kill_nodes():
    yield
    for n in _NODES:
        n.stop()
    if _CLUSTER is not None:
        _CLUSTER.stop()


@pytest.fixture(scope="module")
def node(tmp_path_factory, binary):
    """A fresh node per test module (on PostgreSQL, the one whose process `a` is killed during
    the suite is one of these: pgnode.KILL_AFTER)."""
    n = start_node(tmp_path_factory.mktemp("node"))
    n.kill_ok = True
    yield n
    n.stop()


@pytest.fixture
def node_factory(tmp_path_factory, binary):
    """Starts nodes with a given configuration; stopped at the end of the test."""
    started = []

    def make(directory=None, **config):
        n = start_node(directory or tmp_path_factory.mktemp("node"), **config)
        started.append(n)
        return n

    yield make
    for n in started:
        n.stop()


# -- STIX object builders ------------------------------------------------------------------------

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
REL_EXT = "extension-definition--7d672761-f8ff-4c5e-9337-dc547165f993"
TANDEM_IDENTITY = "identity--5f1b3a0e-2d6c-4c1e-9a57-7e3c1b4d2a90"


def new_id(kind):
    return "%s--%s" % (kind, uuid.uuid4())


def ts(seconds=0, base=1735689600, micros=None):
    """A STIX timestamp `seconds` after 2025-01-01T00:00:00Z, with milliseconds."""
    t = time.gmtime(base + int(seconds))
    frac = ".%06d" % micros if micros is not None else ".000"
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + frac + "Z"


def indicator(oid=None, modified=None, created=None, markings=(GREEN,), **extra):
    created = created or ts()
    obj = {
        "type": "indicator", "spec_version": "2.1", "id": oid or new_id("indicator"),
        "created": created, "modified": modified or created,
        "name": extra.pop("name", "interop indicator"),
        "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
        "valid_from": "2025-01-01T00:00:00Z",
    }
    if markings:
        obj["object_marking_refs"] = list(markings)
    obj.update(extra)
    return obj


def rel_marking(rel_to, classification=None):
    """A releasability marking-definition (Tandem's extension), like
    `tandem_model::incident::releasability::releasability_marking`."""
    order = sorted(rel_to, key=lambda c: (c != "USA", len(c), c))
    rel = "REL TO " + ", ".join(order)
    ext = {"extension_type": "property-extension", "rel_to": order}
    if classification:
        ext["classification"] = classification
    return {
        "type": "marking-definition", "spec_version": "2.1", "id": new_id("marking-definition"),
        "created": ts(), "created_by_ref": TANDEM_IDENTITY,
        "name": "%s//%s" % (classification, rel) if classification else rel,
        "extensions": {REL_EXT: ext},
    }


def ids_of(envelope):
    return [o["id"] for o in envelope.get("objects", [])]

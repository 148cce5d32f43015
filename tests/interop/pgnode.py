"""A member served by two `tandem serve` processes on PostgreSQL, for the interop tests
(`TANDEM_INTEROP_BACKEND=postgres`; conftest.py picks it).

- `Cluster`: a throw-away PostgreSQL server started once per session (Debian's `initdb` and
  `postgres` under a temporary directory, on a free loopback port, with the server's durable
  defaults: `fsync`, `synchronous_commit` and `full_page_writes` on), or the server at
  `TANDEM_PG_URL`. `database()` creates a fresh database per node. A watchdog shell stops the
  server and removes its directory once the pytest process is gone, however it ended.
- `Proxy`: a small HTTP round-robin proxy on the port the tests use. It reads one request per
  client connection, hands consecutive requests to the two processes in turn, and answers with
  `Connection: close` (so a keep-alive client cannot pin itself to one process). A process that
  refuses connections is skipped (nothing was sent, so any request may go elsewhere). A request
  that was sent but got no answer (its process died) is retried on the other process only when
  it is idempotent (GET, HEAD, OPTIONS); any other request gets a 502 and is never sent twice.
  Every request is recorded in `EVENTS` (which process answered, status, the test running).
- The kill: the first module-scoped node (`kill_ok`) to answer `KILL_AFTER` requests (300:
  today the Schemathesis module's node, which answers about 2,000, so many follow the kill)
  has its process `a` killed with SIGKILL while a GET is in flight to it (the request
  is sent but its last bytes are held back until the process is dead, so the GET is certainly
  lost there and retried on `b`). Process `a` is then restarted in the background and put back
  in the rotation once it answers. `KILLS` records what happened; test_zz_two_processes.py
  proves it against `EVENTS` and the outcomes of the tests that ran afterwards.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

IDEMPOTENT = {"GET", "HEAD", "OPTIONS"}
# Requests the first module-scoped node answers before its process `a` is killed.
KILL_AFTER = int(os.environ.get("TANDEM_INTEROP_KILL_AFTER", "300"))

EVENTS = []  # one dict per proxied request, in the order they finished
KILLS = []  # one dict per kill
_LOCK = threading.Lock()
_KILL_STATE = {"armed": True}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc):
    """Stops a child process: SIGTERM, then SIGKILL after 10 s (None or already ended: nothing)."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the PostgreSQL server ------------------------------------------------------------------------

def _bin_dir():
    versions = []
    for entry in Path("/usr/lib/postgresql").glob("*/bin/initdb"):
        try:
            versions.append((int(entry.parent.parent.name), entry.parent))
        except ValueError:
            pass
    if not versions:
        raise RuntimeError("PostgreSQL is not installed: no /usr/lib/postgresql/<version>/bin/initdb "
                           "(scripts/test.sh installs Debian's postgresql) and TANDEM_PG_URL is not set")
    return sorted(versions)[-1][1]


class Cluster:
    """One PostgreSQL server for the session; `database()` hands out fresh databases."""

    def __init__(self):
        self.dir = None
        self.psql = None
        self.count = 0
        url = os.environ.get("TANDEM_PG_URL", "").strip()
        if url:
            self.base = url
            self.psql = shutil.which("psql") or str(_bin_dir() / "psql")
        else:
            self.base = self._start()
        self.sql("SELECT 1", retry_for=60)

    def _start(self):
        bin_dir = _bin_dir()
        self.psql = str(bin_dir / "psql")
        root = os.geteuid() == 0
        as_server = ["runuser", "-u", "postgres", "--"] if root else []
        self.dir = Path(tempfile.mkdtemp(prefix="tandem-interop-pg-"))
        if root:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        p = subprocess.run([*as_server, str(bin_dir / "initdb"), "-D", str(data), "-U", "tandem",
                            "-A", "trust", "-E", "UTF8", "--locale=C"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("initdb failed: %s" % p.stderr)
        port = free_port()
        # The server's durable defaults (fsync, synchronous_commit, full_page_writes) are kept:
        # an acknowledged write must survive the kill of a process, as it would in production.
        script = r'''
            "$1" -D "$2" -p "$3" -k "$5" -c listen_addresses=127.0.0.1 -c max_connections=300 \
                >"$5/server.log" 2>&1 &
            pid=$!
            while [ -d "/proc/$4" ] && kill -0 "$pid" 2>/dev/null; do sleep 1; done
            kill -INT "$pid" 2>/dev/null
            wait "$pid"
            rm -rf "$5"
        '''
        subprocess.Popen([*as_server, "/bin/sh", "-c", script, "tandem-interop-pg",
                          str(bin_dir / "postgres"), str(data), str(port), str(os.getpid()),
                          str(self.dir)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
        return "postgres://tandem@127.0.0.1:%d/postgres" % port

    def sql(self, statement, url=None, retry_for=0):
        deadline = time.time() + retry_for
        while True:
            p = subprocess.run([self.psql, url or self.base, "-v", "ON_ERROR_STOP=1", "-qAt",
                                "-c", statement], capture_output=True, text=True)
            if p.returncode == 0:
                return p.stdout
            if time.time() >= deadline:
                log = ""
                if self.dir is not None and (self.dir / "server.log").exists():
                    log = (self.dir / "server.log").read_text()[-2000:]
                raise RuntimeError("psql %r failed: %s\n%s" % (statement, p.stderr, log))
            time.sleep(0.2)

    def database(self):
        """The url of a fresh, empty database on the server."""
        self.count += 1
        name = "interop_%d_%d" % (os.getpid(), self.count)
        self.sql("CREATE DATABASE %s" % name)
        parts = urllib.parse.urlsplit(self.base)
        return urllib.parse.urlunsplit(parts._replace(path="/" + name))

    def stop(self):
        """Stops the server started here (the watchdog also would, once pytest is gone)."""
        if self.dir is None:
            return
        pid_file = self.dir / "data" / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, signal.SIGINT)
        except (OSError, ValueError, IndexError):
            pass


# -- the round-robin proxy ------------------------------------------------------------------------

class BadRequest(Exception):
    pass


def _read_head(conn):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            raise BadRequest("connection closed before a request head")
        buf += chunk
        if len(buf) > 1 << 20:
            raise BadRequest("request head too large")
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def _recv_exact(conn, n, have):
    while len(have) < n:
        chunk = conn.recv(min(1 << 20, n - len(have)))
        if not chunk:
            raise BadRequest("body cut short")
        have += chunk
    return have


def _read_chunked(conn, have):
    """The raw bytes of a chunked body, up to and including its last chunk and trailers."""
    body, pos = have, 0
    while True:
        while b"\r\n" not in body[pos:]:
            chunk = conn.recv(65536)
            if not chunk:
                raise BadRequest("chunked body cut short")
            body += chunk
        line_end = body.index(b"\r\n", pos)
        size = int(body[pos:line_end].split(b";")[0].strip() or b"0", 16)
        pos = line_end + 2
        if size == 0:
            while b"\r\n\r\n" not in body[pos - 2:]:
                chunk = conn.recv(65536)
                if not chunk:
                    raise BadRequest("chunked trailer cut short")
                body += chunk
            return body[:body.index(b"\r\n\r\n", pos - 2) + 4]
        body = _recv_exact(conn, pos + size + 2, body)
        pos += size + 2


def read_request(conn):
    """(method, target, raw request to forward with `Connection: close`) of one request."""
    head, rest = _read_head(conn)
    lines = head.split(b"\r\n")
    try:
        method, target, _version = lines[0].decode("latin-1").split(" ", 2)
    except ValueError:
        raise BadRequest("bad request line")
    headers, length, chunked = [], 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key in (b"connection", b"keep-alive", b"proxy-connection"):
            continue
        if key == b"content-length":
            length = int(value.strip())
        if key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        headers.append(line)
    body = _read_chunked(conn, rest) if chunked else _recv_exact(conn, length, rest)[:length]
    raw = b"\r\n".join([lines[0], *headers, b"Connection: close"]) + b"\r\n\r\n" + body
    return method, target, raw


class Proxy:
    """Round-robin HTTP proxy on `port` to `node.backends` (see the module doc)."""

    def __init__(self, node, port):
        self.node = node
        self.port = port
        self.next = 0
        self.served = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(128)
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.running = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _order(self):
        """The processes to try for the next request: its turn first, then the other."""
        with self.lock:
            names = list(self.node.backends)
            first = self.next % len(names)
            self.next += 1
        return names[first:] + names[:first]

    def _serve(self, conn):
        started = time.time()
        try:
            conn.settimeout(300)
            method, target, raw = read_request(conn)
        except (BadRequest, OSError, ValueError):
            conn.close()
            return
        event = {"node": self.node.name, "method": method, "path": target.split("?")[0],
                 "test": os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0],
                 "started": started, "tried": [], "status": None, "backend": None}
        try:
            for name in self._order():
                backend = self.node.backends[name]
                if not backend.up:
                    continue
                event["tried"].append(name)
                outcome = self._forward(conn, backend, method, raw, event)
                if outcome == "answered":
                    event["backend"] = name
                    break
                if outcome == "lost" and method not in IDEMPOTENT:
                    # Sent, not answered: the process may have acted on it. Never send it twice.
                    event["status"] = 502
                    _answer(conn, 502, "the process died with this %s in flight; not retried" % method)
                    break
            else:
                event["status"] = 503
                _answer(conn, 503, "no process is serving")
        finally:
            event["finished"] = time.time()
            with _LOCK:
                EVENTS.append(event)
            conn.close()

    def _kill_now(self, backend, method):
        """Whether this request is the one during which process `a` is killed."""
        if not (self.node.kill_ok and backend.name == "a" and method == "GET"):
            return False
        with _LOCK:
            if not _KILL_STATE["armed"] or self.served < KILL_AFTER:
                return False
            _KILL_STATE["armed"] = False
        return True

    def _forward(self, conn, backend, method, raw, event):
        """'refused' (nothing sent), 'lost' (sent, no answer) or 'answered' (relayed)."""
        kill = self._kill_now(backend, method)
        try:
            up = socket.create_connection(("127.0.0.1", backend.port), timeout=10)
        except OSError:
            backend.up = False  # the background restart or start() puts it back
            return "refused"
        up.settimeout(300)
        try:
            try:
                if kill:
                    up.sendall(raw[:-2])  # all but the head's last CRLF: in flight, unfinished
                    record = backend.kill()
                    record.update(test=event["test"], method=method, path=event["path"])
                    with _LOCK:
                        KILLS.append(record)
                    event["kill"] = True
                    up.sendall(raw[-2:])
                else:
                    up.sendall(raw)
            except OSError:
                pass  # a process may answer (413) and close before reading the whole body
            try:
                first = up.recv(65536)
            except OSError:
                first = b""
            if not first:
                return "lost"
            try:
                event["status"] = int(first.split(b" ", 2)[1])
            except (IndexError, ValueError):
                event["status"] = -1
            with self.lock:
                self.served += 1
            try:
                conn.sendall(first)
                while True:
                    chunk = up.recv(1 << 20)
                    if not chunk:
                        break
                    conn.sendall(chunk)
            except OSError:
                pass  # the client went away, or the process died mid-answer (the client sees it)
            return "answered"
        finally:
            up.close()


def _answer(conn, status, text):
    reason = {502: "Bad Gateway", 503: "Service Unavailable"}[status]
    body = text.encode()
    try:
        conn.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (status, reason.encode(), len(body), body))
    except OSError:
        pass


# -- one `tandem serve` process of a node ---------------------------------------------------------

class Backend:
    """Process `name` of a node: its own config (its own port; the proxy's URL as `public_url`,
    so discovery names the address clients use) beside the node's, on the same data directory
    (node key) and the same database."""

    def __init__(self, node, name, binary):
        self.node = node
        self.name = name
        self.binary = binary
        self.port = free_port()
        self.config = node.dir / ("tandem-%s.toml" % name)
        self.log_path = node.dir / ("serve-%s.log" % name)
        self.proc = None
        self.up = False
        self.restarter = None

    def write_config(self, text, proxy_port):
        listen = 'listen = "127.0.0.1:%d"' % proxy_port
        assert listen in text, text
        self.config.write_text(text.replace(listen, 'listen = "127.0.0.1:%d"\npublic_url = '
                                            '"http://127.0.0.1:%d/"' % (self.port, proxy_port)))

    def start(self, ready, timeout=60):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "serve", "--config", str(self.config)],
                                     stdout=log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "RUST_LOG": "warn"})
        log.close()  # the child holds its own descriptor
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("tandem serve (%s) exited with %s:\n%s"
                                   % (self.name, self.proc.returncode, self.log_path.read_text()))
            if ready("http://127.0.0.1:%d" % self.port):
                self.up = True
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("tandem serve (%s) did not answer within %ss" % (self.name, timeout))

    def kill(self):
        """SIGKILL, then a restart in the background; returns the kill's record."""
        self.up = False
        pid = self.proc.pid
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        record = {"node": self.node.name, "backend": self.name, "pid": pid,
                  "signal": -self.proc.returncode, "killed": time.time(), "restarted": None}

        def restart():
            time.sleep(1)
            self.start(self.node.ready)
            record["restarted"] = time.time()
            record["new_pid"] = self.proc.pid

        self.restarter = threading.Thread(target=restart, daemon=True)
        self.restarter.start()
        return record

    def stop(self):
        if self.restarter is not None:
            self.restarter.join()
            self.restarter = None
        self.up = False
        stop_process(self.proc)
        self.proc = None

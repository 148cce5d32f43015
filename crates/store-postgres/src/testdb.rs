//! A throw-away PostgreSQL server for tests (feature `testdb`, dev-only): started once per test
//! process and handed out as one fresh, empty schema per store.
//!
//! With `TANDEM_PG_URL` set (`postgres://user@host:port/db`), that server is used instead. Else
//! `initdb` and `postgres` from `/usr/lib/postgresql/<version>/bin` (Debian's `postgresql`
//! package, which `scripts/test.sh` installs) make a cluster under a temporary directory, on a
//! free loopback port, run as the `postgres` user when the tests run as root (initdb refuses
//! root). A watchdog shell beside the server stops it and deletes the directory once the test
//! process is gone, however it ended. PostgreSQL missing is a test failure with a clear message,
//! never a skip.
//!
//! The cluster runs with `fsync = off`: tests prove behaviour, not crash durability (the store
//! itself always asks for `synchronous_commit = on`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

struct Server {
    /// `postgres://user@host:port/db` of the server, without options.
    base: String,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(0);

/// The url of a fresh, empty schema on the test server (a store opened on it starts empty).
/// Panics, with what to install, when no server can be had.
pub fn fresh_url() -> String {
    let server = SERVER.get_or_init(|| match std::env::var("TANDEM_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Server { base: url.trim().to_string() },
        _ => start().unwrap_or_else(|e| panic!("{e}")),
    });
    let schema = format!("t_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let sql = format!("CREATE SCHEMA {schema}");
    run_sql(&server.base, &sql).unwrap_or_else(|e| panic!("creating test schema on {}: {e}", server.base));
    with_schema(&server.base, &schema)
}

/// `base` with its sessions' `search_path` set to `schema`.
fn with_schema(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// Runs `sql` (one or more statements) on `url`, retrying while the server starts up (up to
/// 60 s); the first error otherwise.
pub fn run_sql(url: &str, sql: &str) -> Result<(), String> {
    let url = url.to_string();
    let sql = sql.to_string();
    // Its own thread and runtime: the caller may be on a runtime thread.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let attempt = async {
                    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
                    let driver = tokio::spawn(conn);
                    let out = client.batch_execute(&sql).await;
                    drop(client);
                    let _ = driver.await;
                    out
                };
                match attempt.await {
                    Ok(()) => return Ok(()),
                    Err(e) if Instant::now() < deadline && e.code().is_none_or(|c| c.code().starts_with("57")) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => return Err(format!("{e} ({e:?})")),
                }
            }
        })
    })
    .join()
    .map_err(|_| "the SQL thread panicked".to_string())?
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb`.
fn bin_dir() -> Result<PathBuf, String> {
    let missing = || {
        "PostgreSQL is not installed: no /usr/lib/postgresql/<version>/bin/initdb. Install Debian's \
         `postgresql` package (scripts/test.sh does: apt-get install -y postgresql) or set TANDEM_PG_URL \
         to a server the tests may create schemas on"
            .to_string()
    };
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| missing())?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b).ok_or_else(missing)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args...`, as the `postgres` user when running as root.
fn as_server_user(root: bool, program: &Path) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("binding a free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn start() -> Result<Server, String> {
    let bin = bin_dir()?;
    let root = is_root();
    let dir = std::env::temp_dir().join(format!("tandem-pg-{}-{}", std::process::id(), free_port()?));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    if root {
        let ok = Command::new("chown").arg("postgres:postgres").arg(&dir).status().is_ok_and(|s| s.success());
        if !ok {
            return Err(format!("chown postgres {} failed (is there a postgres user?)", dir.display()));
        }
    }
    let data = dir.join("data");
    let out = as_server_user(root, &bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-U", "tandem", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
        .output()
        .map_err(|e| format!("running initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let port = free_port()?;
    // The watchdog: runs the server, and stops it and removes the directory once this test
    // process is gone (checked through /proc, which works across users).
    let script = r#"
        "$1" -D "$2" -p "$3" -k "$5" -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off \
            -c max_connections=400 -c shared_buffers=32MB >"$5/server.log" 2>&1 &
        pid=$!
        while [ -d "/proc/$4" ] && kill -0 "$pid" 2>/dev/null; do sleep 1; done
        kill -INT "$pid" 2>/dev/null
        wait "$pid"
        rm -rf "$5"
    "#;
    let mut watchdog = as_server_user(root, Path::new("/bin/sh"));
    watchdog
        .arg("-c")
        .arg(script)
        .arg("tandem-pg-watchdog")
        .arg(bin.join("postgres"))
        .arg(&data)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .arg(&dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    watchdog.spawn().map_err(|e| format!("starting postgres: {e}"))?;
    let base = format!("postgres://tandem@127.0.0.1:{port}/postgres");
    run_sql(&base, "SELECT 1").map_err(|e| {
        let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        format!("the test PostgreSQL server did not come up: {e}\n{log}")
    })?;
    Ok(Server { base })
}

//! Snapshots of SQLite files for `tandem backup` and their checks for `tandem restore`.
//!
//! It exists so that a serving node can be backed up without stopping it and a damaged copy is
//! never put in place: `VACUUM INTO` reads the database in one read transaction (WAL mode lets
//! writers go on), so the copy holds exactly what was committed when it began, and a snapshot is
//! checked (SQLite's integrity check, then every stored version's content hash recomputed from
//! its body) before a restore uses it. The functions take any SQLite file, so the audit log is
//! copied and checked by the same code; its hash chain is checked by `tandem_audit::verify`.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use tandem_model::canonical::map_hash;

use crate::{Result, StoreError};

/// Writes a consistent copy of the database at `db` to `out` (which must not exist yet).
pub fn vacuum_into(db: &Path, out: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    let target = out.to_str().ok_or_else(|| StoreError::backend(format!("{} is not UTF-8", out.display())))?;
    conn.execute("VACUUM INTO ?1", [target])?;
    Ok(())
}

/// `PRAGMA integrity_check` of an SQLite file: `Ok(())` or the problems it reports.
pub fn integrity_check(path: &Path) -> Result<std::result::Result<(), String>> {
    let conn = open_snapshot(path)?;
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let lines: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<std::result::Result<_, _>>()?;
    Ok(if lines == ["ok"] { Ok(()) } else { Err(lines.join("; ")) })
}

/// What [`verify_store`] found in a store snapshot.
#[derive(Debug, Default)]
pub struct StoreCheck {
    /// Object versions whose content hash was recomputed.
    pub versions: u64,
    /// `id|version` of every version whose body no longer matches its content hash, or does not
    /// parse.
    pub damaged: Vec<String>,
}

/// Checks a store snapshot: its integrity, then every version's content hash.
pub fn verify_store(path: &Path) -> Result<StoreCheck> {
    if let Err(problems) = integrity_check(path)? {
        return Err(StoreError::Corrupt(format!("integrity check of {}: {problems}", path.display())));
    }
    let conn = open_snapshot(path)?;
    let mut stmt = conn.prepare("SELECT stix_id, version, content_hash, body FROM objects")?;
    let mut rows = stmt.query([])?;
    let mut check = StoreCheck::default();
    while let Some(row) = rows.next()? {
        let (id, version): (String, String) = (row.get(0)?, row.get(1)?);
        let (stored, body): (Vec<u8>, String) = (row.get(2)?, row.get(3)?);
        check.versions += 1;
        let intact = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&body)
            .is_ok_and(|map| map_hash(&map).as_slice() == stored.as_slice());
        if !intact {
            check.damaged.push(format!("{id}|{version}"));
        }
    }
    Ok(check)
}

fn open_snapshot(path: &Path) -> Result<Connection> {
    if !path.is_file() {
        return Err(StoreError::backend(format!("{} does not exist", path.display())));
    }
    Ok(Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_verifies_and_an_edited_body_is_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::SqliteStore::open(dir.path()).expect("open");
        let obj = serde_json::json!({"type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "created": "2025-01-01T00:00:00.000Z",
            "modified": "2025-01-01T00:00:00.000Z", "pattern": "[ipv4-addr:value = '10.0.0.1']",
            "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z"});
        let map = obj.as_object().cloned().expect("an object");
        let incoming = crate::Incoming::new(tandem_model::StixObject::from_map_unchecked(map));
        crate::ObjectStore::put(&store, "intel", "USA", vec![incoming]).expect("put");
        let out = dir.path().join("copy.sqlite");
        vacuum_into(store.path(), &out).expect("vacuum into");
        let check = verify_store(&out).expect("verify");
        assert_eq!((check.versions, check.damaged.len()), (1, 0));

        let conn = Connection::open(&out).expect("open copy");
        conn.execute("UPDATE objects SET body = replace(body, '10.0.0.1', '10.0.0.2')", []).expect("edit");
        drop(conn);
        let check = verify_store(&out).expect("verify");
        assert_eq!(check.damaged, ["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f|".to_string() + &version(&out)]);
        assert!(vacuum_into(store.path(), &out).is_err(), "VACUUM INTO never overwrites");
    }

    fn version(path: &Path) -> String {
        let conn = Connection::open(path).expect("open");
        conn.query_row("SELECT version FROM objects", [], |r| r.get(0)).expect("version")
    }
}

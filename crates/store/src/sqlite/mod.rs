//! The embedded SQLite backend (WAL).

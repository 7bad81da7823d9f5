//! The audit database's schema: opening it in WAL mode and bringing it to the current schema
//! version with an ordered list of migrations recorded in `PRAGMA user_version`.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

/// Every migration, in order: migration `i` takes the database from version `i` to `i + 1`.
/// Append only; a released migration never changes.
const MIGRATIONS: &[&str] = &[
    // 1: one row per predicted record (or per failed request).
    "CREATE TABLE predictions (
        id         INTEGER PRIMARY KEY,
        time       TEXT    NOT NULL,
        request_id TEXT    NOT NULL,
        model      TEXT    NOT NULL,
        version    INTEGER,
        route      TEXT    NOT NULL,
        row_index  INTEGER NOT NULL,
        features   TEXT,
        outputs    TEXT,
        latency_ms REAL    NOT NULL,
        status     INTEGER NOT NULL,
        error      TEXT
    );
    CREATE INDEX predictions_time ON predictions (time);",
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the audit database has schema version {found}, newer than this build's {SCHEMA_VERSION}"
    )]
    TooNew { found: u32 },
}

/// Opens (creating if needed) the database for writing: WAL journal, migrations applied.
/// `durable` asks SQLite to sync the WAL on every commit, so a committed row survives a power
/// cut too; otherwise a commit survives a crash of the process but not of the machine.
pub fn open_for_writing(path: &Path, durable: bool) -> Result<Connection, SchemaError> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "NORMAL" })?;
    // Readers (the `audit` command) may hold the database briefly; wait rather than fail.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens an existing database read-only and checks that this build understands its schema.
pub fn open_for_reading(path: &Path) -> Result<Connection, SchemaError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let found = user_version(&conn)?;
    if found > SCHEMA_VERSION {
        return Err(SchemaError::TooNew { found });
    }
    Ok(conn)
}

fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Applies the missing migrations, each in its own transaction with its version bump, so a
/// crash mid-way leaves the database at a whole version.
fn migrate(conn: &mut Connection) -> Result<(), SchemaError> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(SchemaError::TooNew { found });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_gets_every_migration_and_reopening_changes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.db");
        let conn = open_for_writing(&path, false).expect("opens");
        assert_eq!(user_version(&conn).expect("version"), SCHEMA_VERSION);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("journal mode");
        assert_eq!(mode, "wal");
        drop(conn);
        let conn = open_for_writing(&path, true).expect("reopens");
        assert_eq!(user_version(&conn).expect("version"), SCHEMA_VERSION);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.db");
        let conn = Connection::open(&path).expect("opens");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("sets version");
        drop(conn);
        assert!(matches!(
            open_for_writing(&path, false),
            Err(SchemaError::TooNew { .. })
        ));
        assert!(matches!(
            open_for_reading(&path),
            Err(SchemaError::TooNew { .. })
        ));
    }
}

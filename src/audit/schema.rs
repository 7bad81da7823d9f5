//! The audit database's schema: opening it in WAL mode and bringing it to the current schema
//! version with an ordered list of migrations recorded in `PRAGMA user_version`.
//!
//! The current schema stores small requests in `request_chunks`: a few rows per transaction,
//! each a JSON array of requests (store.rs has the layout), with the range of their arrival
//! times (indexed by `first_time`, for retention by age). Large JSON requests, and every
//! request written before schema 4, have one row each in `request_rows` (their features and
//! outputs JSON text; BLOBs for layout 'v2-binary' in schema 5). The `requests` view shows one
//! row per request from both: its columns, and its records' features and outputs as two JSON
//! arrays with one element per record. `first_row` is the number of records stored before it
//! (never reused, so record ids stay stable when old requests are deleted); `first_index` is
//! the index of its first element in the request (0, except for rows carried over from
//! schema 1). The `predictions` view shows one row per record, as readers expect:
//! `id = first_row + row_index + 1`. A request with `layout` 'v2' holds instead the V2 JSON
//! request and answer documents as they went over the wire, and the view slices each input
//! and output tensor along its first dimension: row `k` of a tensor is `data[k]` when the
//! data is nested or the shape has one dimension, else the `k`-th run of
//! `len(data) / shape[0]` elements. A request with `layout` 'v2-binary' has its tensors in
//! Triton's binary form (binary.rs) in the tensor files beside the database, its features and
//! outputs being references to them (tensor_files.rs; schema 5 kept them as BLOBs): the view
//! lists its records without features and outputs, and `prediction-api audit` decodes them.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

/// The `predictions` view of schemas 3 and 4: one row per record of `requests`, V2
/// documents sliced along their tensors' first dimension.
macro_rules! predictions_view {
    () => {
        concat!(predictions_view_body!(), ";")
    };
}

/// The view of schema 3 and 4 without its closing semicolon, so that schema 5 can extend it.
macro_rules! predictions_view_body {
    () => {
        "CREATE VIEW predictions AS
        SELECT r.first_row + coalesce(e.key, 0) + 1 AS id,
               r.time, r.request_id, r.model, r.version, r.route,
               r.first_index + coalesce(e.key, 0) AS row_index,
               r.features -> e.key AS features,
               r.outputs -> e.key AS outputs,
               r.latency_ms, r.status, r.error
        FROM requests AS r LEFT JOIN json_each(r.features) AS e
        WHERE r.layout IS NULL
        UNION ALL
        SELECT first_row + k + 1, time, request_id, model, version, route, k,
               (SELECT json_group_object(t.value ->> '$.name', CASE WHEN json_type(t.value, '$.data[0]') = 'array'
                          OR json_array_length(t.value, '$.shape') <= 1
                     THEN t.value -> ('$.data[' || k || ']')
                     ELSE json((SELECT json_group_array(CASE d.type WHEN 'true' THEN json('true')
                                                   WHEN 'false' THEN json('false')
                                                   ELSE d.value END)
                           FROM json_each(t.value, '$.data') AS d
                           WHERE d.key >= k * (json_array_length(t.value, '$.data')
                                               / (t.value ->> '$.shape[0]'))
                             AND d.key < (k + 1) * (json_array_length(t.value, '$.data')
                                                    / (t.value ->> '$.shape[0]'))))
                END)
                FROM json_each(features, '$.inputs') AS t),
               (SELECT json_group_object(t.value ->> '$.name', CASE WHEN json_type(t.value, '$.data[0]') = 'array'
                          OR json_array_length(t.value, '$.shape') <= 1
                     THEN t.value -> ('$.data[' || k || ']')
                     ELSE json((SELECT json_group_array(CASE d.type WHEN 'true' THEN json('true')
                                                   WHEN 'false' THEN json('false')
                                                   ELSE d.value END)
                           FROM json_each(t.value, '$.data') AS d
                           WHERE d.key >= k * (json_array_length(t.value, '$.data')
                                               / (t.value ->> '$.shape[0]'))
                             AND d.key < (k + 1) * (json_array_length(t.value, '$.data')
                                                    / (t.value ->> '$.shape[0]'))))
                END)
                FROM json_each(outputs, '$.outputs') AS t),
               latency_ms, status, error
        FROM (SELECT r.*, d.key / (CASE WHEN json_type(r.features, '$.inputs[0].data[0]') = 'array' THEN 1
                   ELSE json_array_length(r.features, '$.inputs[0].data')
                        / (r.features ->> '$.inputs[0].shape[0]') END) AS k
              FROM requests AS r JOIN json_each(r.features, '$.inputs[0].data') AS d
              WHERE r.layout = 'v2' AND d.key % (CASE WHEN json_type(r.features, '$.inputs[0].data[0]') = 'array' THEN 1
                   ELSE json_array_length(r.features, '$.inputs[0].data')
                        / (r.features ->> '$.inputs[0].shape[0]') END) = 0)"
    };
}

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
    // 2: one stored row per request, its records' features and outputs as JSON arrays; the
    // `predictions` view still shows one row per record. A 1,000-record request is then one
    // insert instead of a thousand, so the trail keeps up with batch traffic.
    "CREATE TABLE requests (
        id          INTEGER PRIMARY KEY,
        first_row   INTEGER NOT NULL,
        rows        INTEGER NOT NULL,
        first_index INTEGER NOT NULL DEFAULT 0,
        time        TEXT    NOT NULL,
        request_id  TEXT    NOT NULL,
        model       TEXT    NOT NULL,
        version     INTEGER,
        route       TEXT    NOT NULL,
        features    TEXT,
        outputs     TEXT,
        latency_ms  REAL    NOT NULL,
        status      INTEGER NOT NULL,
        error       TEXT
    );
    INSERT INTO requests (id, first_row, rows, first_index, time, request_id, model, version,
                          route, features, outputs, latency_ms, status, error)
        SELECT id, id - 1, 1, row_index, time, request_id, model, version, route,
               CASE WHEN features IS NULL THEN NULL ELSE '[' || features || ']' END,
               CASE WHEN outputs IS NULL THEN NULL ELSE '[' || outputs || ']' END,
               latency_ms, status, error
        FROM predictions;
    DROP TABLE predictions;
    CREATE INDEX requests_time ON requests (time);
    CREATE VIEW predictions AS
        SELECT r.first_row + coalesce(e.key, 0) + 1 AS id,
               r.time, r.request_id, r.model, r.version, r.route,
               r.first_index + coalesce(e.key, 0) AS row_index,
               r.features -> e.key AS features,
               r.outputs -> e.key AS outputs,
               r.latency_ms, r.status, r.error
        FROM requests AS r LEFT JOIN json_each(r.features) AS e;",
    // 3: V2 JSON requests are stored as the request and answer documents that went over the
    // wire (`layout` 'v2'); the view splits their tensors into records. (`json(...)` around a
    // subquery: newer SQLite drops the JSON subtype a subquery's value had.)
    concat!(
        "ALTER TABLE requests ADD COLUMN layout TEXT;
    DROP VIEW predictions;
    ",
        predictions_view!()
    ),
    // 4: the writer stores a transaction's small requests as a few rows of `request_chunks`,
    // a JSON array of requests each, instead of one row per request: an insert and its index
    // entries cost more than a single record's texts. Large requests keep one row each, in the
    // table `requests` becomes (`request_rows`); `requests` is now a view over both, and
    // `predictions` reads it as before. A chunk's request is `[first_row, rows, time,
    // request_id, model, version, route, latency_ms, status, error, layout, features,
    // outputs]`.
    concat!(
        "DROP VIEW predictions;
    ALTER TABLE requests RENAME TO request_rows;
    CREATE TABLE request_chunks (
        id         INTEGER PRIMARY KEY,
        first_row  INTEGER NOT NULL,
        rows       INTEGER NOT NULL,
        first_time TEXT    NOT NULL,
        last_time  TEXT    NOT NULL,
        requests   TEXT    NOT NULL
    );
    CREATE INDEX request_chunks_first_time ON request_chunks (first_time);
    CREATE VIEW requests AS
        SELECT first_row, rows, first_index, time, request_id, model, version, route,
               features, outputs, latency_ms, status, error, layout
        FROM request_rows
        UNION ALL
        SELECT r.value ->> 0, r.value ->> 1, 0, r.value ->> 2, r.value ->> 3, r.value ->> 4,
               r.value ->> 5, r.value ->> 6, r.value ->> 11, r.value ->> 12, r.value ->> 7,
               r.value ->> 8, r.value ->> 9, r.value ->> 10
        FROM request_chunks AS c, json_each(c.requests) AS r;
    ",
        predictions_view!()
    ),
    // 5: large requests are stored as their tensors in Triton's binary form (`layout`
    // 'v2-binary': a JSON header, then the tensors' bytes; binary.rs). SQL cannot decode
    // them, so the view shows their records without features and outputs;
    // `prediction-api audit` reads them. Their `rows` records are numbered by `json_each`
    // over an array of that many zeros: `hex(zeroblob(n))` is 2n '0' characters, each '00'
    // becomes '0,' and the last comma goes (SQLite has no built-in row generator).
    concat!(
        "DROP VIEW predictions;
    ",
        predictions_view_body!(),
        "
        UNION ALL
        SELECT r.first_row + s.key + 1, r.time, r.request_id, r.model, r.version, r.route,
               r.first_index + s.key, NULL, NULL, r.latency_ms, r.status, r.error
        FROM requests AS r
             JOIN json_each('[' || rtrim(replace(hex(zeroblob(r.rows)), '00', '0,'), ',') || ']')
                  AS s
        WHERE r.layout = 'v2-binary';"
    ),
    // 6: a request stored as tensors is now a chunk's request whose features and outputs are
    // references into the tensor files beside the database (`{"file", "offset", "length"}`,
    // tensor_files.rs), no longer a row of `request_rows` holding them as BLOBs (rows
    // written before stay readable). The tables and views are unchanged: the version tells an
    // older build that it cannot read these requests.
    "-- no change to the tables",
    // 7: a large V2 request's sides are its body and answer as they went over the wire
    // (binary.rs): V2 documents with members besides the tensors, JSON tensor data, and a
    // `header_length` in the reference. The tables and views are unchanged: the version tells
    // an older build that it cannot read these requests.
    "-- no change to the tables",
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
    #[error(
        "the audit database has schema version {found}, older than this build's {SCHEMA_VERSION}: \
         the server migrates it when it starts with this database"
    )]
    TooOld { found: u32 },
}

/// The writer's page cache, in KiB.
const WRITER_CACHE_KIB: i64 = 256;

/// The page size of a new audit database.
pub const PAGE_SIZE: i64 = 16 * 1024;

/// Opens (creating if needed) the database for writing: WAL journal, migrations applied.
/// `durable` asks SQLite to sync the WAL on every commit, so a committed row survives a power
/// cut too; otherwise a commit survives a crash of the process but not of the machine.
pub fn open_for_writing(path: &Path, durable: bool) -> Result<Connection, SchemaError> {
    let mut conn = Connection::open(path)?;
    // Only a new file takes it (before WAL is on). Fewer, larger pages make a large request's
    // texts fewer WAL frames and checkpoint writes: measured, the writer spends about 30% less
    // on 1,000-record requests than with 4 KiB pages.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "NORMAL" })?;
    // Readers (the `audit` command) may hold the database briefly; wait rather than fail.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // The writer only appends, so a large page cache buys it nothing, and cycling through the
    // default 2 MiB evicts the request threads' data from the caches they share with it.
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens an existing database read-only and checks that it has this build's schema (reading
/// never migrates: the server may be writing it).
pub fn open_for_reading(path: &Path) -> Result<Connection, SchemaError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    match user_version(&conn)? {
        SCHEMA_VERSION => Ok(conn),
        found if found > SCHEMA_VERSION => Err(SchemaError::TooNew { found }),
        found => Err(SchemaError::TooOld { found }),
    }
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

/// A database at an older schema `version`, for migration tests.
#[cfg(test)]
pub(super) fn create_at_version(path: &Path, version: u32) -> Connection {
    let conn = Connection::open(path).expect("creates");
    for sql in &MIGRATIONS[..version as usize] {
        conn.execute_batch(sql).expect("migrates");
    }
    conn.pragma_update(None, "user_version", version)
        .expect("sets the version");
    conn
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
        let page_size = |c: &Connection| -> i64 {
            c.pragma_query_value(None, "page_size", |r| r.get(0))
                .expect("page size")
        };
        assert_eq!(page_size(&conn), PAGE_SIZE);
        drop(conn);
        let conn = open_for_writing(&path, true).expect("reopens");
        assert_eq!(user_version(&conn).expect("version"), SCHEMA_VERSION);
        assert_eq!(page_size(&conn), PAGE_SIZE);
    }

    #[test]
    fn an_existing_database_keeps_its_page_size() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.db");
        let conn = Connection::open(&path).expect("creates");
        conn.execute_batch(
            "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE t (x);",
        )
        .expect("a 4 KiB database");
        drop(conn);
        let conn = open_for_writing(&path, false).expect("migrates");
        let size: i64 = conn
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .expect("page size");
        assert_eq!(size, 4096);
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

    #[test]
    fn reading_an_older_schema_asks_for_the_server_to_migrate_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.db");
        drop(create_at_version(&path, SCHEMA_VERSION - 1));
        let refused = open_for_reading(&path).map(drop);
        assert!(
            matches!(refused, Err(SchemaError::TooOld { found }) if found == SCHEMA_VERSION - 1),
            "{refused:?}"
        );
        drop(open_for_writing(&path, false).expect("migrates"));
        assert!(open_for_reading(&path).is_ok());
    }

    #[test]
    fn schema_1_rows_read_the_same_through_the_view_after_the_migration() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.db");
        let conn = Connection::open(&path).expect("opens");
        conn.execute_batch(MIGRATIONS[0]).expect("schema 1");
        conn.pragma_update(None, "user_version", 1)
            .expect("version 1");
        conn.execute_batch(
            r#"INSERT INTO predictions VALUES
                 (7, '2026-11-27T10:00:00.000Z', 'a', 'iris', 1, '/predict/{model}', 3,
                  '{"x":1.5}', '{"label":"setosa"}', 0.5, 200, NULL),
                 (8, '2026-11-27T10:00:01.000Z', 'b', 'nope', NULL, '/predict/{model}', 0,
                  NULL, NULL, 0.1, 404, 'no model');"#,
        )
        .expect("schema 1 rows");
        drop(conn);
        let conn = open_for_writing(&path, false).expect("migrates");
        type Text = Option<String>;
        let rows: Vec<(i64, i64, Text, Text, Text)> = conn
            .prepare("SELECT id, row_index, features, outputs, error FROM predictions ORDER BY id")
            .expect("view")
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .expect("reads")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(
            rows,
            [
                (
                    7,
                    3,
                    Some(r#"{"x":1.5}"#.into()),
                    Some(r#"{"label":"setosa"}"#.into()),
                    None
                ),
                (8, 0, None, None, Some("no model".into())),
            ]
        );
    }

    #[test]
    fn the_view_has_one_row_per_record_with_its_own_features_and_outputs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = open_for_writing(&dir.path().join("audit.db"), false).expect("opens");
        conn.execute_batch(
            r#"INSERT INTO request_rows (first_row, rows, time, request_id, model, route,
                                         features, outputs, latency_ms, status)
               VALUES (10, 3, 't', 'r', 'm', '/x', '[{"a":1}, "s", [1,2]]',
                       '[true, null, {"y":2.5}]', 1.0, 200);"#,
        )
        .expect("a request");
        let rows: Vec<(i64, i64, String, String)> = conn
            .prepare("SELECT id, row_index, features, outputs FROM predictions ORDER BY id")
            .expect("view")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("reads")
            .collect::<Result<_, _>>()
            .expect("rows");
        let texts = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            rows.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
            [(11, 0), (12, 1), (13, 2)]
        );
        assert_eq!(
            rows.iter().map(|r| texts(&r.2, &r.3)).collect::<Vec<_>>(),
            [
                texts(r#"{"a":1}"#, "true"),
                texts(r#""s""#, "null"),
                texts("[1,2]", r#"{"y":2.5}"#)
            ]
        );
    }
}

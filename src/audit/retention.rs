//! Retention: deleting the requests older than the age limit and the oldest requests beyond
//! the row limit. A request is kept or deleted whole, so the row limit keeps at most
//! `max_rows` records; a chunk holding requests on both sides of a limit is rewritten with
//! the ones it keeps.

use std::time::SystemTime;

use rusqlite::{Connection, ToSql, params};

use super::Retention;

/// The most rows of `request_rows` one rule deletes per pass.
const ROW_BUDGET: i64 = 10_000;
/// The most chunks one rule deletes per pass (about 64 KiB of texts each), so a pass never
/// stalls the writes for long.
const CHUNK_BUDGET: i64 = 1_024;

/// One retention pass, `stored` being the records stored so far; true when a rule used its
/// whole budget, so more is left to delete.
pub fn enforce(conn: &Connection, keep: &Retention, stored: i64) -> rusqlite::Result<bool> {
    let mut more = false;
    if let Some(age) = keep.max_age {
        let cutoff = SystemTime::now()
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let cutoff = humantime::format_rfc3339_millis(cutoff).to_string();
        more |= by_age(conn, &cutoff)?;
    }
    if let Some(max_rows) = keep.max_rows {
        let keep_from = stored.saturating_sub(i64::try_from(max_rows).unwrap_or(i64::MAX));
        more |= by_rows(conn, keep_from)?;
    }
    Ok(more)
}

/// The number of the oldest record still stored (`stored`, the next one's, when none is):
/// the tensor files before it can go. Both tables grow in id order with growing `first_row`,
/// so each one's oldest row is its first by id.
pub fn oldest_kept(conn: &Connection, stored: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT min(coalesce((SELECT first_row FROM request_rows ORDER BY id LIMIT 1), ?1),
                    coalesce((SELECT first_row FROM request_chunks ORDER BY id LIMIT 1), ?1))",
        [stored],
        |r| r.get(0),
    )
}

/// Deletes the requests that arrived before `cutoff` (the stored time format).
fn by_age(conn: &Connection, cutoff: &str) -> rusqlite::Result<bool> {
    let own_rows = conn.execute(
        "DELETE FROM request_rows WHERE id IN \
         (SELECT id FROM request_rows WHERE time < ?1 ORDER BY time LIMIT ?2)",
        params![cutoff, ROW_BUDGET],
    )?;
    // Every chunk to delete or trim starts before the cutoff: the index on first_time finds
    // them without reading the newer ones.
    let chunks = conn.execute(
        "DELETE FROM request_chunks WHERE id IN (SELECT id FROM request_chunks \
         WHERE first_time < ?1 AND last_time < ?1 ORDER BY first_time LIMIT ?2)",
        params![cutoff, CHUNK_BUDGET],
    )?;
    let straddling: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM request_chunks WHERE first_time < ?1 AND last_time >= ?1 LIMIT ?2",
        )?
        .query_map(params![cutoff, CHUNK_BUDGET], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in straddling {
        keep_requests(conn, id, "r.value ->> 2 >= ?2", &cutoff)?;
    }
    Ok(own_rows as i64 >= ROW_BUDGET || chunks as i64 >= CHUNK_BUDGET)
}

/// Deletes the requests whose first record comes before record number `keep_from`.
fn by_rows(conn: &Connection, keep_from: i64) -> rusqlite::Result<bool> {
    // Requests and chunks are stored in id order with growing first_row, so the ones to
    // delete are a prefix by id: read from the oldest and stop at the first one to keep.
    let own_rows = delete_prefix(
        conn,
        "SELECT id, first_row, rows FROM request_rows ORDER BY id LIMIT ?1",
        "DELETE FROM request_rows WHERE id <= ?1",
        keep_from,
        ROW_BUDGET,
    )?;
    let chunks = delete_prefix(
        conn,
        "SELECT id, first_row, rows FROM request_chunks ORDER BY id LIMIT ?1",
        "DELETE FROM request_chunks WHERE id <= ?1",
        keep_from,
        CHUNK_BUDGET,
    )?;
    if let Some(id) = chunks.straddling {
        keep_requests(conn, id, "r.value ->> 0 >= ?2", &keep_from)?;
    }
    Ok(own_rows.deleted >= ROW_BUDGET || chunks.deleted >= CHUNK_BUDGET)
}

struct Prefix {
    deleted: i64,
    /// The first stored row that holds records on both sides of `keep_from`.
    straddling: Option<i64>,
}

/// Deletes the oldest stored rows (`select` lists them as id, first_row, rows, oldest first)
/// whose records all come before `keep_from`, at most `budget` of them.
fn delete_prefix(
    conn: &Connection,
    select: &str,
    delete: &str,
    keep_from: i64,
    budget: i64,
) -> rusqlite::Result<Prefix> {
    let mut oldest = conn.prepare_cached(select)?;
    let mut stored = oldest.query([budget])?;
    let mut last = None;
    let mut straddling = None;
    while let Some(row) = stored.next()? {
        let (id, first_row, rows): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
        if first_row >= keep_from {
            break;
        }
        if first_row + rows > keep_from {
            straddling = Some(id);
            break;
        }
        last = Some(id);
    }
    drop(stored);
    let deleted = match last {
        Some(id) => conn.execute(delete, [id])? as i64,
        None => 0,
    };
    Ok(Prefix {
        deleted,
        straddling,
    })
}

/// Rewrites chunk `id` with only the requests for which `keep` holds (an SQL condition on
/// `r.value`, the request's array, and `?2`, bound to `bound`), and its columns to match; a
/// chunk that keeps none is deleted.
fn keep_requests(
    conn: &Connection,
    id: i64,
    keep: &str,
    bound: &dyn ToSql,
) -> rusqlite::Result<()> {
    let sql = format!(
        "UPDATE request_chunks AS c
         SET requests = k.requests, first_row = k.first_row, rows = k.rows,
             first_time = k.first_time, last_time = k.last_time
         FROM (SELECT json_group_array(json(r.value) ORDER BY r.key) AS requests,
                      min(r.value ->> 0) AS first_row, sum(r.value ->> 1) AS rows,
                      min(r.value ->> 2) AS first_time, max(r.value ->> 2) AS last_time
               FROM request_chunks AS c2, json_each(c2.requests) AS r
               WHERE c2.id = ?1 AND {keep}) AS k
         WHERE c.id = ?1 AND k.rows IS NOT NULL"
    );
    let kept = conn.execute(&sql, params![id, bound])?;
    if kept == 0 {
        conn.execute("DELETE FROM request_chunks WHERE id = ?1", [id])?;
    }
    Ok(())
}

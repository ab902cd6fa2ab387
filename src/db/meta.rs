//! `app_meta`: small persistent facts (seed marker, generated demo JWT secret).

use rusqlite::{Connection, OptionalExtension};

pub fn get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT value FROM app_meta WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()
}

pub fn set(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO app_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

/// Returns the stored value for `key`, or stores and returns `make()` if there is none. Used
/// for the demo JWT secret so tokens survive restarts without a secrets file.
pub fn get_or_insert_with(conn: &Connection, key: &str, make: impl FnOnce() -> String) -> rusqlite::Result<String> {
    conn.prepare_cached("INSERT INTO app_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING")?
        .execute([key, &make()])?;
    Ok(get(conn, key)?.unwrap_or_default())
}

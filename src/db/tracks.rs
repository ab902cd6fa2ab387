//! The live tracks ([`crate::live::slots::Track`]): per event and game server, the last
//! observed play and the change times seen, so a restart of the backend neither renumbers
//! plays (their identity in `/live`, the calendar and the notifier) nor forgets the slots.

use rusqlite::{params, Connection};

use crate::live::slots::{Track, MAX_SAMPLES};

/// The tracks stored for `event`, by server number. A row whose change times do not parse
/// (it cannot be written so) counts as having none.
pub fn load(conn: &Connection, event: &str) -> rusqlite::Result<Vec<(i64, Track)>> {
    let mut st = conn.prepare_cached(
        "SELECT server, play, kacky_id, start_ms, changes_ms FROM live_tracks WHERE event = ?1 ORDER BY server",
    )?;
    let rows = st.query_map([event], |r| {
        let changes: String = r.get(4)?;
        let mut changes_ms: Vec<i64> = serde_json::from_str(&changes).unwrap_or_default();
        changes_ms.truncate(MAX_SAMPLES);
        Ok((r.get(0)?, Track { play: r.get(1)?, current: r.get(2)?, start_ms: r.get(3)?, seen: 1, changes_ms }))
    })?;
    rows.collect()
}

/// Stores (or replaces) the tracks of these servers of `event`, in one transaction.
pub fn save(conn: &mut Connection, event: &str, tracks: &[(i64, Track)], now: i64) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO live_tracks (event, server, play, kacky_id, start_ms, changes_ms, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (event, server) DO UPDATE SET play = excluded.play, \
             kacky_id = excluded.kacky_id, start_ms = excluded.start_ms, changes_ms = excluded.changes_ms, \
             updated_at = excluded.updated_at",
        )?;
        for (server, t) in tracks {
            let changes = serde_json::to_string(&t.changes_ms).unwrap_or_else(|_| "[]".into());
            st.execute(params![event, server, t.play, t.current, t.start_ms, changes, now])?;
        }
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_round_trip_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(&dir.path().join("t.db")).unwrap();
        db.migrate().unwrap();
        let mut conn = db.conn().unwrap();
        let track =
            Track { play: 41, current: 230, start_ms: 1_717_243_200_500, seen: 7, changes_ms: vec![44_000, 46_500] };
        save(&mut conn, "KK7", &[(3, track.clone())], 1).unwrap();
        save(&mut conn, "KK8", &[(3, Track { play: 1, ..track.clone() })], 1).unwrap();
        let loaded = load(&conn, "KK7").unwrap();
        assert_eq!(loaded, vec![(3, Track { seen: 1, ..track.clone() })]);
        save(&mut conn, "KK7", &[(3, Track { play: 42, changes_ms: vec![], ..track })], 2).unwrap();
        assert_eq!(load(&conn, "KK7").unwrap()[0].1.play, 42);
        assert_eq!(load(&conn, "KK8").unwrap()[0].1.play, 1);
    }
}

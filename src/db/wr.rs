//! World-record leaderboard: who holds how many WRs of a type.

use std::collections::HashMap;

use rusqlite::Connection;

use crate::domain::{EventType, Game};

/// One holder on the leaderboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub login: String,
    /// Raw `$`-formatted nickname of the holder's most recent WR; the login when only known
    /// through the TMX mapping.
    pub nickname: String,
    pub nwrs: i64,
}

struct Acc {
    login: String,
    nickname: Option<(String, i64, String)>, // (date, wr id, nickname) of the latest own-login row
    nwrs: i64,
}

/// WR rows resolve to a login: their own, or for TMX/DEDI rows (empty login) the mapped game
/// login of the TMX user name. Logins group case-insensitively and ignore trailing spaces,
/// like the old MariaDB collation, and are shown without them. Order: most WRs first, then
/// login.
pub fn leaderboard(conn: &Connection, t: EventType) -> rusqlite::Result<Vec<Holder>> {
    let mapped_col = match t.game() {
        Game::Tmnf => "tmf_login",
        Game::Tm2020 => "tm20_login",
    };
    let sql = format!(
        "SELECT w.id, w.nickname, w.login, w.date, \
           (SELECT x.{mapped_col} FROM tmx_tmlogin_mapping x \
             WHERE w.login = '' AND x.tmx_login = w.nickname COLLATE NOCASE AND x.{mapped_col} IS NOT NULL LIMIT 1) \
         FROM events e JOIN maps m ON m.event_id = e.id JOIN worldrecords w ON w.map_id = m.id \
         WHERE e.type = ?1"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let mut groups: HashMap<String, Acc> = HashMap::new();
    let mut rows = st.query([t.as_upper()])?;
    while let Some(r) = rows.next()? {
        let (id, nickname, login, date): (i64, String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        let mapped: Option<String> = r.get(4)?;
        let own = !login.is_empty();
        // Shown without trailing blanks: the old data has a few (`dawidnh6 ` in the mapping).
        let login = login.trim_end().to_owned();
        let resolved = if own { login.clone() } else { mapped.unwrap_or_default().trim_end().to_owned() };
        if resolved.is_empty() {
            continue;
        }
        let key = resolved.to_lowercase();
        let acc = groups.entry(key).or_insert_with(|| Acc { login: resolved.clone(), nickname: None, nwrs: 0 });
        acc.nwrs += 1;
        if own {
            let newer = acc.nickname.as_ref().is_none_or(|(d, i, _)| (&date, id) > (d, *i));
            if newer {
                acc.login = login;
                acc.nickname = Some((date, id, nickname));
            }
        }
    }
    let mut out: Vec<Holder> = groups
        .into_values()
        .map(|a| Holder {
            nickname: a.nickname.map(|(_, _, n)| n).unwrap_or_else(|| a.login.clone()),
            login: a.login,
            nwrs: a.nwrs,
        })
        .collect();
    out.sort_by(|a, b| b.nwrs.cmp(&a.nwrs).then_with(|| a.login.to_lowercase().cmp(&b.login.to_lowercase())));
    Ok(out)
}

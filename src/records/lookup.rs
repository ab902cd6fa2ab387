//! The records look-ups the pages and bots make: a player's game login (from their profile),
//! their personal bests in the current event, and the current event's maps they have not
//! finished. Combines the [`RecordsClient`] with the database; every upstream call runs on the
//! records API's own threads ([`crate::outbound`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::{RecordsClient, RecordsError, Upstream, BUDGET};
use crate::db::{self, Db, DbError};
use crate::domain::{Edition, EventType, Game};
use crate::outbound::{Outbound, Service};

/// Why a look-up has no answer.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The records API could not be asked (→ 504/502).
    #[error(transparent)]
    Records(#[from] RecordsError),
    /// It answered, but not what was asked for (→ 502).
    #[error("{0}")]
    BadAnswer(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The records client plus what the look-ups need: the database and the current event.
pub struct Records {
    pub client: Arc<RecordsClient>,
    db: Db,
    event: (EventType, Edition),
    outbound: Outbound,
}

impl Records {
    pub fn new(client: RecordsClient, db: Db, event: (EventType, Edition), outbound: Outbound) -> Self {
        Self { client: Arc::new(client), db, event, outbound }
    }

    /// GET `segments` (each percent-encoded) with an optional raw query, on the records API's
    /// own threads ([`crate::outbound`]), within [`BUDGET`]: when the call fails, answers 5xx or
    /// takes longer, the last good answer of the URL stands in (`stale_since` set), else the
    /// error comes back at once. When the records API's threads are all busy and their queue is
    /// full, the call is not made ([`RecordsError::Unreachable`] saying so, or the stale answer).
    pub async fn get(&self, segments: Vec<String>, query: Option<String>) -> Result<Upstream, RecordsError> {
        let url = self.client.url(&segments, query.as_deref())?;
        let client = self.client.clone();
        let call = self.outbound.run(Service::Records, move || client.get(&segments, query.as_deref()));
        let result = match tokio::time::timeout(BUDGET, call).await {
            Ok(Ok(result)) => result,
            Ok(Err(busy)) => Err(RecordsError::Unreachable(busy.to_string())),
            // A call that started goes on until its own timeout on its thread, nobody waits for
            // it; one still queued is never made.
            Err(_) => Err(RecordsError::Timeout),
        };
        let down = match &result {
            Ok(up) => up.status >= 500,
            Err(RecordsError::BadSegment(_)) => false,
            Err(_) => true,
        };
        if down {
            if let Some(stale) = self.client.last_good(&url) {
                return Ok(stale);
            }
        }
        result
    }

    /// The user's game login for a type: the login of its family's game (TMNF for KK, TM2020 for KR
    /// and KX); empty when unset.
    pub async fn game_login(&self, user_id: i64, t: EventType) -> Result<String, DbError> {
        let f = self.db.run(move |c| db::users::fields(c, user_id)).await?;
        Ok(match t.game() {
            Game::Tmnf => f.tmnf,
            Game::Tm2020 => f.tm20,
        }
        .trim()
        .to_owned())
    }

    /// The current event's kacky ids, ascending.
    pub async fn current_ids(&self) -> Result<Vec<i64>, DbError> {
        let (t, e) = self.event;
        self.db.run(move |c| db::current::ids(c, t, e)).await
    }

    /// PBs of `login` in the current event: kacky id → PB object, ascending, current maps only.
    pub async fn finished_pbs(&self, login: &str) -> Result<BTreeMap<i64, Value>, LookupError> {
        Ok(self.pbs_and_ids(login).await?.0)
    }

    /// Current-event maps `login` has not finished, ascending.
    pub async fn unfinned_ids(&self, login: &str) -> Result<Vec<i64>, LookupError> {
        let (done, ids) = self.pbs_and_ids(login).await?;
        Ok(ids.into_iter().filter(|id| !done.contains_key(id)).collect())
    }

    /// [`Self::finished_pbs`] plus the current event's ids it was filtered by (one query).
    async fn pbs_and_ids(&self, login: &str) -> Result<(BTreeMap<i64, Value>, Vec<i64>), LookupError> {
        let (t, edition) = self.event;
        let segments = vec!["pb".to_owned(), login.to_owned(), t.as_upper().to_owned(), edition.to_string()];
        let up = self.get(segments, None).await?;
        if !up.ok() {
            return Err(LookupError::BadAnswer(format!("the records API answered {}", up.status)));
        }
        let Some(Value::Object(map)) = up.json() else {
            return Err(LookupError::BadAnswer("the records API answered something that is not a JSON object".into()));
        };
        let ids = self.current_ids().await?;
        let pbs = map
            .into_iter()
            .filter_map(|(k, v)| {
                k.trim().parse::<i64>().ok().filter(|id| ids.binary_search(id).is_ok()).map(|id| (id, v))
            })
            .collect();
        Ok((pbs, ids))
    }
}

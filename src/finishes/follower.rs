//! The follower: one background task that, during the event window, polls the records API for
//! the followed players' personal bests (`/pb/<login>/<type>/<edition>`) and, for KR, the
//! per-map leaderboards (`/leaderboard/kr/<kacky id>?positions=1`), one request per slot of
//! the [`super::budget`], and stores and publishes what changed.
//!
//! The followed players are read again after every walk through them, the maps after every
//! walk through those. A player's first poll only learns their state. A failing request (the
//! records API down, a bad answer) changes nothing: it shows in `/healthz`, and the player or
//! map simply comes again in its next turn. Requests wait for their slot on the injectable
//! clock, so the budget holds in clock time; the task stops with its guard or at shutdown.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::budget::{self, Job, RoundRobin};
use super::diff::{diff, read_pbs};
use super::{wr, Finishes};
use crate::clock::Clock;
use crate::db::finishes::Pb;
use crate::db::wr_ingest::MapRef;
use crate::db::{self, Db, DbError};
use crate::domain::{Edition, EventType, FinishItem};
use crate::event::EventWindow;
use crate::records::{RecordsClient, Upstream};

/// The longest the follower waits without looking again when it has nothing to poll.
const IDLE_S: i64 = 60;
/// How often old happenings are pruned.
const PRUNE_EVERY_H: i64 = 1;

/// What the follower needs, and nothing else. Built from the application state with
/// `From<&AppState>` (in `api::state`).
#[derive(Clone)]
pub struct FollowContext {
    pub finishes: Finishes,
    pub records: Arc<RecordsClient>,
    pub db: Db,
    pub clock: Clock,
    pub window: Option<EventWindow>,
    pub shutdown: CancellationToken,
    /// The current event.
    pub event: (EventType, Edition),
    /// `finish_milestones`, ascending.
    pub milestones: Arc<[i64]>,
    /// Whether the records API knows this event type at all (and so: follow it).
    pub follows: bool,
    /// Whether world records are looked up in the per-map leaderboards (KR).
    pub wr_lookups: bool,
    /// Called when a world record changed (the answer cache's generation moves on).
    pub data_changed: Arc<dyn Fn() + Send + Sync>,
    /// The threads the records API is called on ([`crate::outbound`]).
    pub outbound: crate::outbound::Outbound,
}

/// Owns the follower task; dropping it stops the task.
pub struct FollowerGuard(Option<JoinHandle<()>>);

impl Drop for FollowerGuard {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Starts the follower (needs a tokio runtime) when the event has a window and records.
pub fn start(ctx: FollowContext) -> FollowerGuard {
    if ctx.window.is_none() || !ctx.follows {
        return FollowerGuard(None);
    }
    FollowerGuard(Some(tokio::spawn(run(ctx))))
}

/// What a player poll works with: the player and the current event's ids.
#[derive(Clone)]
struct Player {
    login: String,
    ids: Arc<[i64]>,
}

async fn run(ctx: FollowContext) {
    let interval = Duration::from_std(budget::interval(ctx.finishes.rate_per_min())).unwrap_or(Duration::seconds(1));
    let mut rr: RoundRobin<Player, MapRef> = RoundRobin::default();
    let mut pruned: Option<DateTime<Utc>> = None;
    loop {
        let now = ctx.clock.now();
        if pruned.is_none_or(|t| now - t >= Duration::hours(PRUNE_EVERY_H)) {
            pruned = Some(now);
            prune(&ctx, now).await;
        }
        let Some(window) = ctx.window else { return };
        let wake = if now < window.start {
            Some(window.start)
        } else if now > window.end {
            Some(now + Duration::hours(PRUNE_EVERY_H))
        } else {
            None
        };
        if let Some(wake) = wake {
            ctx.finishes.note_running(false, 0, 0);
            if !wait(&ctx, wake, false).await {
                return;
            }
            continue;
        }
        if let Err(e) = refill(&ctx, &mut rr).await {
            tracing::error!("finish feed: cannot read the followed players: {e:#}");
        }
        let (players, maps) = rr.sizes();
        ctx.finishes.note_running(true, players, maps);
        let Some(job) = rr.next_job() else {
            if !wait(&ctx, now + Duration::seconds(IDLE_S), true).await {
                return;
            }
            continue;
        };
        let outcome = match job {
            Job::Player(p) => poll_player(&ctx, p, now).await,
            Job::Map(m) => poll_map(&ctx, m, now).await,
        };
        if let Err(e) = &outcome {
            tracing::warn!("finish feed: {e}");
        }
        ctx.finishes.note_request(now, outcome);
        if !wait(&ctx, now + interval, false).await {
            return;
        }
    }
}

/// Sleeps until `at` on the clock (or, with `on_followed`, until the followed players change);
/// `false` when the server shuts down.
async fn wait(ctx: &FollowContext, at: DateTime<Utc>, on_followed: bool) -> bool {
    tokio::select! {
        () = ctx.clock.sleep_until(at) => true,
        () = ctx.finishes.followed_notified(), if on_followed => true,
        () = ctx.shutdown.cancelled() => false,
    }
}

/// Fresh lists for the walks that ended.
async fn refill(ctx: &FollowContext, rr: &mut RoundRobin<Player, MapRef>) -> Result<(), DbError> {
    let (t, edition) = ctx.event;
    if rr.needs_players() {
        let (logins, ids) = ctx
            .db
            .run(move |c| Ok::<_, rusqlite::Error>((db::finishes::followed(c, t)?, db::current::ids(c, t, edition)?)))
            .await?;
        let ids: Arc<[i64]> = ids.into();
        rr.set_players(logins.into_iter().map(|login| Player { login, ids: ids.clone() }).collect());
    }
    if rr.needs_maps() {
        let maps = if ctx.wr_lookups {
            ctx.db.run(move |c| db::wr_ingest::event_maps(c, t, edition)).await?
        } else {
            Vec::new()
        };
        rr.set_maps(maps);
    }
    Ok(())
}

/// One GET on the records API's threads, always asking the upstream.
async fn fetch(ctx: &FollowContext, segments: Vec<String>, query: Option<String>) -> Result<Upstream, String> {
    let client = ctx.records.clone();
    let up = ctx
        .outbound
        .run(crate::outbound::Service::Records, move || client.get_fresh(&segments, query.as_deref()))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if up.ok() {
        Ok(up)
    } else {
        Err(format!("the records API answered {}", up.status))
    }
}

async fn poll_player(ctx: &FollowContext, p: Player, now: DateTime<Utc>) -> Result<(), String> {
    let (t, edition) = ctx.event;
    let segments = vec!["pb".to_owned(), p.login.clone(), t.as_upper().to_owned(), edition.to_string()];
    let up =
        fetch(ctx, segments, None).await.map_err(|e| format!("personal bests of {}: {e}", p.login.escape_debug()))?;
    let pbs = up.json().as_ref().and_then(|v| read_pbs(v, &p.ids)).ok_or_else(|| {
        format!(
            "personal bests of {}: the records API answered something that is not a JSON object",
            p.login.escape_debug()
        )
    })?;
    let milestones = ctx.milestones.clone();
    let to_discord = ctx.finishes.to_discord();
    let login = p.login;
    let items = ctx
        .db
        .run(move |c| apply_pbs(c, (t, edition), &login, &pbs, &milestones, now, to_discord))
        .await
        .map_err(|e| format!("storing a poll: {e}"))?;
    ctx.finishes.publish(items);
    Ok(())
}

/// Compares a player's poll with what is known and stores the outcome, in one transaction: the
/// first poll learns, later ones store their happenings and the new state together.
fn apply_pbs(
    conn: &mut rusqlite::Connection,
    event: (EventType, Edition),
    login: &str,
    pbs: &BTreeMap<i64, Pb>,
    milestones: &[i64],
    now: DateTime<Utc>,
    to_discord: bool,
) -> rusqlite::Result<Vec<FinishItem>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut items = Vec::new();
    match db::finishes::known(&tx, event, login)? {
        None => {
            let all: Vec<(i64, Pb)> = pbs.iter().map(|(id, pb)| (*id, *pb)).collect();
            db::finishes::learn(&tx, event, login, &all, now)?;
        }
        Some(known) => {
            let d = diff(login, &known, pbs, milestones);
            for e in &d.events {
                items.extend(db::finishes::insert(&tx, event, e, now, to_discord)?);
            }
            db::finishes::learn(&tx, event, login, &d.updates, now)?;
        }
    }
    tx.commit()?;
    Ok(items)
}

async fn poll_map(ctx: &FollowContext, m: MapRef, now: DateTime<Utc>) -> Result<(), String> {
    let segments = vec!["leaderboard".to_owned(), "kr".to_owned(), m.kacky_id.to_string()];
    let up = fetch(ctx, segments, Some(wr::leaderboard_query(&m.version)))
        .await
        .map_err(|e| format!("leaderboard of #{}: {e}", m.kacky_id))?;
    let Some(mut record) = up.json().as_ref().and_then(wr::read_leaderboard) else {
        // No finish on the map yet, or an answer without a usable top entry.
        return Ok(());
    };
    record.date = wr::date_or(&record.date, now);
    let (current, to_discord) = (ctx.event, ctx.finishes.to_discord());
    let (offer, item) = ctx
        .db
        .run(move |c| wr::record(c, current, &m, &record, now, to_discord))
        .await
        .map_err(|e| format!("storing a world record: {e}"))?;
    if offer.changed() {
        (ctx.data_changed)();
    }
    ctx.finishes.publish(item);
    Ok(())
}

async fn prune(ctx: &FollowContext, now: DateTime<Utc>) {
    let (event, end) = (ctx.event, ctx.window.map(|w| w.end));
    match ctx.db.run(move |c| db::finishes::prune(c, event, end, now)).await {
        Ok(0) => {}
        Ok(n) => tracing::info!("finish feed: {n} happenings older than the retention dropped"),
        Err(e) => tracing::error!("finish feed: pruning failed: {e:#}"),
    }
}

//! # kacky-backend
//!
//! One binary serving the Kacky event website's API: the KK/KR history, accounts and personal
//! spreadsheets, the live event dashboard and schedule, alarm notifications, the finish feed
//! and the admin tools, backed by one SQLite file.
//!
//! A tour, following a request:
//! - [`config`] reads the three YAML files of the old system (plus `KACKY_*` overrides) into
//!   [`config::Settings`]. Each key is declared once, as a field of its file's serde struct
//!   (`config/files.rs`, with its default and its lenient reader from `config/values.rs`);
//!   unknown keys are reported, and every error names the file, the key and what was expected.
//!   servers.yaml is [`config::Servers`]. With no files at all it yields a demo.
//! - [`domain`] holds the types every layer shares (event type, edition, kacky id, difficulty,
//!   user name, password rule), parsed once at the edge and trusted past it, and describes each
//!   event family once ([`domain::FAMILIES`]: KK, KR, KX; code, name, game, records API or not).
//! - [`prepare`] opens the database ([`db::Db`]: r2d2 pool, pragmas), applies the embedded
//!   migrations and loads the embedded history seed ([`db::seed`]) into an empty database.
//!   All SQL lives below [`db`], one module per aggregate; [`db::history`] writes events, maps
//!   and world records for the seed, the import and the admin upload alike; a
//!   [`db::DbError`] names what failed (SQLite, pool, migration, integrity, directory, seed).
//! - [`api::router`] holds the route table; every handler carries its `#[utoipa::path]`
//!   annotation, its module registers it with `utoipa_axum::routes!`, and the document they make
//!   up is served at `/openapi.json` ([`api::openapi`]). Infrastructure shared by the handler
//!   modules sits in `api/{state,error,response,input,auth,sessions,cache,streams}.rs`:
//!   [`api::AppState`], one [`api::ApiError`] for every failure (429s, 503s and auth rejections
//!   included), the shared answers (`"OK"`, text, ETag'd JSON), the body readers, the auth
//!   extractors with their in-memory token checks, the one answer cache for every computed
//!   answer ([`api::cache`]: history, live and schedule answers, per user where personal, keyed
//!   by what they depend on), the admission of `/live` streams ([`api::streams`]: in all and per
//!   client). Handler modules import none of each other. Each request body is one struct that
//!   serde reads as the old frontends send it (`api/input.rs`: lenient field readers, the old
//!   400 messages naming the key) and that documents the body; `TryFrom` turns it into domain
//!   types. They call `db::…` through [`db::Db::run`] (off the async runtime) and answer JSON
//!   in the old shapes, from `Serialize` structs that document the answers too; `/healthz`
//!   gathers the typed health of each part from its owner.
//! - [`live`], in the order its data flows: the [`live::lineup`] (servers and playlists,
//!   resolved at start); the [`live::poller`] asks the [`live::source`] (the game-server API, or
//!   the [`live::simulator`] in testing mode), merges each answer into a new
//!   [`live::LiveSnapshot`] (per server a [`live::state::ServerState`]), learns each server's
//!   slot and numbers its plays ([`live::slots`], kept in [`db::tracks`]) and publishes it
//!   through the [`live::Live`] handle; the pure rotation math projects that to any instant
//!   with the slot as input ([`live::rotation`], [`live::schedule`]), and the
//!   [`live::timetable`] with absolute play times, built once per second and snapshot, feeds
//!   `/schedule`, `/alarms`, the calendar, `/live` ([`live::feed`]) and the notifier, which all
//!   name a play by its identity (server, play number). No two submodules of `live` import
//!   each other.
//! - [`finishes`]: the follower polls the records API during the event within a request budget
//!   ([`finishes::budget`]), turns what changed into finish/PB/WR/milestone happenings
//!   ([`finishes::diff`], [`finishes::wr`]), stores them ([`db::finishes`]) and publishes them to
//!   `/finishes`, `/live` and the Discord finish poster ([`notify::finishes`]); world records
//!   sent by the records updater (`PUT /manage/worldrecords/…`) take the same path.
//! - [`oauth`] is the Discord side of the account link (`/discord/link`); [`notify::mentions`]
//!   decides who a Discord message may ping (verified ids only once linking is configured).
//! - [`notify`] rings alarms on Discord: a pure rule ([`notify::due`]) picks the plays whose
//!   reminder time has come, the planner claims them in SQLite ([`db::notifications`]) and
//!   delivers one message per play. [`calendar`] writes the iCalendar feed; [`records`]
//!   talks to the records API (each request answered within 2.5 s, the last good answer standing
//!   in when it is slow or down); [`mail`] sends reset mails; [`auth`] signs tokens and hashes
//!   passwords on the [`hashpool`] threads; [`ratelimit`] limits guesses (per client, an IPv6
//!   client by its /64, with bounded work and memory). Every outgoing HTTP call (records API,
//!   game servers, Discord, SendGrid) runs on the bounded threads of [`outbound`], never on the
//!   blocking pool that [`db::Db::run`] uses; both `hashpool` and `outbound` are [`workers`]
//!   pools (bounded queues, abandoned jobs skipped).
//! - [`serve`] runs the connection loop of [`server`] (header, body and idle timeouts, a
//!   write-stall deadline, a connection cap with a 1024-deep listen backlog, a bounded graceful
//!   shutdown) beside the background tasks ([`Background`]).
//! - [`metrics`] counts requests, polls, deliveries, cache hits, hashing and pool waits through
//!   the `metrics` facade (one call per event) and serves them in Prometheus text on the private
//!   `metrics_listen` port, never on the public one.
//! - [`event`] decides the event phase from the configured window and the injectable [`clock`].
//! - [`tmtext`] turns Trackmania `$`-formatted names into plain text or safe HTML; [`mapcsv`]
//!   reads the admin's map list upload; [`import`] reads the old MariaDB dump.
//!
//! The reference for operators, players and developers is in `docs/` (start at the README).
#![forbid(unsafe_code)]

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

pub mod api;
pub mod auth;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod event;
pub mod finishes;
pub mod hashpool;
pub mod import;
pub mod live;
pub mod mail;
pub mod mapcsv;
pub mod metrics;
pub mod notify;
pub mod oauth;
pub mod outbound;
pub mod ratelimit;
pub mod records;
pub mod server;
pub mod tmtext;
pub mod workers;

use api::AppState;
use clock::Clock;
use config::{Secret, Settings};
use db::Db;
use event::EventWindow;

/// Opens and migrates the database (schema, then the user name keys when the name rule
/// changed), seeds the history if the database is new, and fills in a generated JWT secret for
/// the demo. Blocking: call before serving or via `spawn_blocking`.
pub fn prepare(mut settings: Settings, clock: Clock) -> Result<AppState, db::DbError> {
    db::fs::warn_if_network_fs(&settings.database);
    let db = Db::open(&settings.database)?;
    db.migrate()?;
    // One-time data migration after an upgrade of the user name rule (see `db::users::rekey`).
    if let Some(r) = db::users::rekey(&mut *db.conn()?)? {
        tracing::info!(
            "user name keys follow the current rules ({} name keys changed, {} look-alike keys computed)",
            r.changed,
            r.lookalikes
        );
        for (id, name) in r.kept_old {
            tracing::warn!("user id {id} `{}` means the same name as an older account under the current rule: it keeps its old key and logs in with its name as before", name.escape_debug());
        }
    }
    if db::seed::seed_if_empty(&mut *db.conn()?)? {
        tracing::info!("loaded the embedded KK/KR history into {}", settings.database.display());
    }
    if !settings.jwt_secret.is_set() {
        let secret = db::meta::get_or_insert_with(&*db.conn()?, "demo_jwt_secret", random_secret)?;
        settings.jwt_secret = Secret(secret);
        tracing::warn!("no jwt_secret configured: using a generated one kept in the database. THIS IS A DEMO SETUP, NOT FOR PRODUCTION");
    }
    let window = EventWindow::from_settings(&settings, clock.now());
    let live_streams = api::streams::StreamSlots::new(settings.live_max_streams, settings.live_max_streams_per_client);
    let settings_webhook = settings.discord_webhook_url.clone();
    // The hash that unknown names are checked against is made on a hashing thread, at start-up.
    let hasher = Arc::new(hashpool::HashPool::new(hashpool::default_threads()));
    let lineup = live::Lineup::load(&settings, &*db.conn()?)?;
    let tracks = db::tracks::load(&*db.conn()?, &format!("{}{}", settings.eventtype, settings.edition))?;
    let live = live::Live::new(lineup, &settings, window, tracks);
    let current_ids = db::current::ids(&*db.conn()?, settings.eventtype, settings.edition)?;
    // The testing fixtures' leaderboards start at the stored world records.
    let current_wrs = db::maps::sheet(&*db.conn()?, settings.eventtype, Some(settings.edition.get()), None)?
        .into_iter()
        .filter_map(|m| Some((m.kacky_id, (m.wr_score?, m.wr_login))))
        .collect();
    if settings.demo {
        finishes::follow_demo_players(&mut *db.conn()?, clock.now())?;
    }
    let oauth = oauth::DiscordOAuth::from_settings(&settings).map(Arc::new);
    let finishes = finishes::Finishes::new(settings.records_rate_per_min, settings.discord_finish_webhook_url.is_set());
    let outbound = outbound::Outbound::new();
    Ok(AppState::new(api::state::AppStateInner {
        records: Arc::new(records::Records::new(
            records::RecordsClient::from_settings(&settings, current_ids).simulating(clock.clone(), current_wrs),
            db.clone(),
            (settings.eventtype, settings.edition),
            outbound.clone(),
        )),
        outbound,
        cache: Arc::default(),
        sessions: Arc::default(),
        dummy_hash: hasher.run_blocking(|| auth::hash_password("not-a-real-password")).unwrap_or_default().into(),
        hasher,
        jwt: Arc::new(auth::Jwt::new(settings.jwt_secret.expose())),
        limiter: Arc::new(ratelimit::RateLimiter::new(settings.login_rate_per_min)),
        mailer: Arc::new(mail::Mailer::from_settings(&settings)),
        settings: Arc::new(settings),
        db,
        clock,
        window,
        live,
        notifier: notify::Notifier::new(settings_webhook.expose()),
        finishes,
        oauth,
        live_streams,
        shutdown: tokio_util::sync::CancellationToken::new(),
    }))
}

/// 256 bits from the OS CSPRNG as 64 hex digits: for generated secrets and feed tokens.
pub fn random_secret() -> String {
    random_hex::<32>()
}

/// `N` bytes from the OS CSPRNG as hex: unguessable and unique without coordination.
pub fn random_hex<const N: usize>() -> String {
    use rand::Rng;
    let mut bytes = [0u8; N];
    rand::rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Serves the API on `listener` until `shutdown` resolves, then lets open requests finish for
/// at most `shutdown_grace_s` (see [`server`] for the timeouts and the connection cap), and
/// alarm messages being delivered as long. Starts the background tasks (poller, live feed,
/// notifier) and stops them, and every open `/live` stream, when `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let _background = Background::start(&state);
    let token = state.shutdown.clone();
    let limits = server::Limits::from_settings(&state.settings);
    // From the shutdown signal on, alarm messages in flight get the same grace as requests.
    let (notifier, grace, signalled, stopped) =
        (state.notifier.clone(), limits.shutdown_grace, token.clone(), token.clone());
    let deliveries = tokio::spawn(async move {
        signalled.cancelled().await;
        notifier.finish_deliveries(grace).await
    });
    let app = api::router(state);
    let signal = async move {
        shutdown.await;
        token.cancel();
    };
    let served = server::run(listener, app, limits, signal).await;
    stopped.cancel();
    let _ = deliveries.await;
    served
}

/// The background tasks of a serving process; dropping it stops them.
pub struct Background {
    _poller: live::PollerGuard,
    _feed: live::feed::FeedGuard,
    _notifier: notify::NotifierGuard,
    _follower: finishes::FollowerGuard,
    _poster: notify::finishes::PosterGuard,
}

impl Background {
    /// Starts the game-server poller, the live feed, the notifier and the finish follower on the
    /// current runtime.
    pub fn start(state: &AppState) -> Self {
        Self {
            _poller: live::poller::start(state.into()),
            _feed: live::feed::start(state.into()),
            _notifier: notify::start(state.into()),
            _follower: finishes::start(state.into()),
            _poster: notify::finishes::start(state.into()),
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received, finishing open requests");
}

/// Sets up `tracing` per `logtype`/`loglevel` (`RUST_LOG` wins when set).
///
/// Lines are written by a background thread (`tracing-appender`), so a slow terminal or disk
/// never holds up a request; keep the returned guard alive until exit, it flushes on drop.
pub fn init_logging(settings: &Settings) -> Result<tracing_appender::non_blocking::WorkerGuard, String> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.loglevel));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let (result, guard) = match &settings.log_target {
        config::LogTarget::Stdout => {
            // Colours only on a terminal: under systemd the lines go to the journal as text.
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
            let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
            (builder.with_ansi(ansi).with_writer(writer).try_init(), guard)
        }
        config::LogTarget::File(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| format!("logfile {}: {e}", path.display()))?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("logfile {}: {e}", path.display()))?;
            let (writer, guard) = tracing_appender::non_blocking(file);
            (builder.with_ansi(false).with_writer(writer).try_init(), guard)
        }
    };
    result.map(|()| guard).map_err(|e| e.to_string())
}

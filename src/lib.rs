//! # kacky-backend
//!
//! One binary serving the Kacky event website's API: the KK/KR history, accounts and personal
//! spreadsheets, the live event dashboard and the admin tools, backed by one SQLite file.
//!
//! A tour, following a request:
//! - [`config`] reads the three YAML files of the old system (plus `KACKY_*` overrides) into
//!   [`config::Settings`]; with no files at all it yields a demo configuration.
//! - [`prepare`] opens the database ([`db::Db`]: r2d2 pool, pragmas), applies the embedded
//!   migrations and loads the embedded history seed ([`db::seed`]) into an empty database.
//! - [`api::router`] holds the route table; handlers validate input, call `db::…` functions
//!   through [`db::Db::run`] (off the async runtime) and answer JSON in the old shapes.
//! - [`event`] decides the event phase from the configured window and the injectable [`clock`].
//! - [`tmtext`] turns Trackmania `$`-formatted names into plain text or safe HTML.
#![forbid(unsafe_code)]

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod event;
pub mod hashpool;
pub mod import;
pub mod live;
pub mod mail;
pub mod mapcsv;
pub mod ratelimit;
pub mod records;
pub mod tmtext;

use api::AppState;
use clock::Clock;
use config::{Secret, Settings};
use db::Db;
use event::EventWindow;

/// Opens and migrates the database, seeds the history if the database is new, and fills in a
/// generated JWT secret for the demo. Blocking: call before serving or via `spawn_blocking`.
pub fn prepare(mut settings: Settings, clock: Clock) -> Result<AppState, db::DbError> {
    db::fs::warn_if_network_fs(&settings.database);
    let db = Db::open(&settings.database)?;
    let schema_version = db.migrate()?;
    if db::seed::seed_if_empty(&mut *db.conn()?)? {
        tracing::info!("loaded the embedded KK/KR history into {}", settings.database.display());
    }
    if !settings.jwt_secret.is_set() {
        let secret = db::meta::get_or_insert_with(&*db.conn()?, "demo_jwt_secret", random_secret)?;
        settings.jwt_secret = Secret(secret);
        tracing::warn!("no jwt_secret configured: using a generated one kept in the database. THIS IS A DEMO SETUP, NOT FOR PRODUCTION");
    }
    let window = EventWindow::from_settings(&settings, clock.now());
    let live = live::Live::new(live::Lineup::load(&settings, &*db.conn()?)?, &settings);
    let current_ids = db::current::ids(&*db.conn()?, settings.eventtype, settings.edition)?;
    Ok(AppState {
        records: Arc::new(records::RecordsClient::from_settings(&settings, current_ids)),
        cache: Arc::default(),
        hasher: Arc::new(hashpool::HashPool::new(hashpool::default_threads())),
        jwt: Arc::new(auth::Jwt::new(settings.jwt_secret.expose())),
        limiter: Arc::new(ratelimit::RateLimiter::new(settings.login_rate_per_min)),
        mailer: Arc::new(mail::Mailer::from_settings(&settings)),
        reset_latency_ms: Arc::new(std::sync::atomic::AtomicU64::new(300)),
        settings: Arc::new(settings),
        db,
        clock,
        window,
        live,
        schema_version,
    })
}

fn random_secret() -> String {
    use rand::Rng;
    let mut bytes = [0u8; 32];
    rand::rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes open requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let _poller = start_background(&state);
    serve_router(listener, api::router(state), shutdown).await
}

/// Starts the background work (the game-server poller) on the current tokio runtime; it
/// stops when the returned guard is dropped. [`serve`] calls it; callers of [`serve_router`]
/// call it themselves.
pub fn start_background(state: &AppState) -> live::PollerGuard {
    live::poller::start(state)
}

/// Serves an already built router (see [`api::router_with`]).
pub async fn serve_router(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
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
pub fn init_logging(settings: &Settings) -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.loglevel));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match &settings.log_target {
        config::LogTarget::Stdout => builder.try_init(),
        config::LogTarget::File(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| format!("logfile {}: {e}", path.display()))?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("logfile {}: {e}", path.display()))?;
            builder.with_ansi(false).with_writer(std::sync::Mutex::new(file)).try_init()
        }
    };
    result.map_err(|e| e.to_string())
}

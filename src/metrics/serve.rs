//! The private metrics port: installs the Prometheus recorder (once per process) and answers
//! `GET /metrics` with the text exposition format; everything else there is a JSON 404.

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use super::names;
use crate::api::{ApiError, AppState};
use crate::server::{self, Limits};

/// Upper bounds (seconds) of the request latency buckets: a cached answer takes well under a
/// millisecond, a login about 50 ms (argon2), a slow records call seconds.
const HTTP_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Upper bounds (seconds) of the database pool wait buckets: normally microseconds; seconds mean
/// all 8 connections were busy.
const POOL_BUCKETS: &[f64] = &[0.0001, 0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 10.0];
/// How often histograms are folded in between scrapes, so memory stays bounded without one.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use. `None` only when another
/// recorder was installed first (not done anywhere in this crate); then `/metrics` says so.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE.get_or_init(install).as_ref()
}

/// Whether the recorder is installed (for the gauges that count up and down).
pub(super) fn installed() -> bool {
    HANDLE.get().is_some_and(Option::is_some)
}

fn install() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(names::HTTP_DURATION.into()), HTTP_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(names::DB_POOL_WAIT.into()), POOL_BUCKETS));
    match builder.and_then(PrometheusBuilder::install_recorder) {
        Ok(handle) => {
            describe_all();
            zero_series();
            Some(handle)
        }
        Err(e) => {
            tracing::error!("cannot install the metrics recorder: {e}");
            None
        }
    }
}

/// The `# HELP` lines.
fn describe_all() {
    describe_counter!(names::HTTP_REQUESTS, "Answered HTTP requests by route template, method and status.");
    describe_histogram!(names::HTTP_DURATION, Unit::Seconds, "Time from request to response head, by route template.");
    describe_gauge!(names::LIVE_STREAMS_OPEN, "Open /live event streams.");
    describe_gauge!(names::LIVE_STREAMS_MAX, "The most /live event streams allowed at once (live_max_streams).");
    describe_counter!(names::POLLS, "Game-server polls by result (ok, failed).");
    describe_counter!(names::POLL_SERVER_RESULTS, "What each poll brought per configured server (ok, error, failed).");
    describe_gauge!(names::POLL_AGE, Unit::Seconds, "Seconds since each server's last good observation.");
    describe_counter!(names::NOTIFIER_DELIVERIES, "Alarm notification messages to Discord by outcome (sent, failed).");
    describe_counter!(names::FINISH_FEED_DELIVERIES, "Finish-feed deliveries by outcome.");
    describe_counter!(names::ANSWER_CACHE, "Answer-cache lookups by result (hit, miss).");
    describe_gauge!(names::HASHING_QUEUE, "Password hashes waiting for a hashing thread.");
    describe_histogram!(names::DB_POOL_WAIT, Unit::Seconds, "Time spent waiting for a pooled database connection.");
    describe_counter!(names::DB_POOL_TIMEOUTS, "Database connection requests that timed out.");
}

/// The series of a fixed label set exist from the start (at 0), so a dashboard shows "0"
/// instead of "no data" and `rate()` sees the first increment.
fn zero_series() {
    for result in ["ok", "failed"] {
        counter!(names::POLLS, "result" => result).increment(0);
    }
    for outcome in ["sent", "failed"] {
        counter!(names::NOTIFIER_DELIVERIES, "outcome" => outcome).increment(0);
        counter!(names::FINISH_FEED_DELIVERIES, "outcome" => outcome).increment(0);
    }
    for result in ["hit", "miss"] {
        counter!(names::ANSWER_CACHE, "result" => result).increment(0);
    }
    counter!(names::DB_POOL_TIMEOUTS).increment(0);
    gauge!(names::HASHING_QUEUE).set(0.0);
}

/// The metrics port's routes: `GET /metrics` and a JSON 404 for anything else.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(|method: Method, uri: axum::http::Uri| async move {
            ApiError::not_found(format!("no such endpoint: {method} {}", uri.path()))
        })
        .with_state(state)
}

/// Serves [`router`] on `listener` until the state's shutdown token is cancelled (the public
/// server's shutdown). Installs the recorder first, so it counts from the start.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let handle = handle();
    let shutdown = state.shutdown.clone();
    let upkeep = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            loop {
                tokio::select! {
                    _ = every.tick() => { if let Some(h) = handle { h.run_upkeep() } }
                    () = shutdown.cancelled() => break,
                }
            }
        }
    });
    // A scrape is one small request: tight read deadlines and a handful of connections.
    let limits = Limits {
        header_read: Duration::from_secs(5),
        request: Duration::from_secs(10),
        keepalive_idle: Duration::from_secs(120),
        max_connections: 16,
        shutdown_grace: Duration::from_secs(1),
        write_stall: Duration::from_secs(10),
    };
    let served = server::run(listener, router(state), limits, shutdown.cancelled_owned()).await;
    upkeep.abort();
    served
}

/// `GET /metrics`: the gauges read off the state now, then everything recorded.
async fn scrape(State(state): State<AppState>) -> Response {
    let Some(handle) = handle() else {
        return ApiError::Msg(StatusCode::SERVICE_UNAVAILABLE, "the metrics recorder is not installed".into())
            .into_response();
    };
    read_state(&state);
    let body = handle.render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// What is cheaper to read at scrape time than to track at every change.
fn read_state(state: &AppState) {
    gauge!(names::LIVE_STREAMS_MAX).set(state.live_streams.caps().0 as f64);
    gauge!(names::LIVE_STREAMS_OPEN).set(state.live_streams.open() as f64);
    let now = state.clock.now();
    let snapshot = state.live.snapshot();
    for (server, live) in state.live.lineup().servers.iter().zip(&snapshot.servers) {
        if let Some(observed) = &live.observed {
            let age = now.signed_duration_since(observed.at).num_milliseconds().max(0) as f64 / 1000.0;
            gauge!(names::POLL_AGE, "server" => server.number.to_string(), "name" => server.name.clone()).set(age);
        }
    }
}

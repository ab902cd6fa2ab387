//! Operational metrics in Prometheus text, served on a private port (`metrics_listen`) and
//! never on the public one.
//!
//! Recording goes through the `metrics` facade: every function here is a one-line call for the
//! code that knows something happened, and costs next to nothing while no recorder is installed
//! (`metrics_listen` unset, the default). The recorder (`metrics-exporter-prometheus`) is
//! installed once per process by [`serve`] when the private port is configured; what can be read
//! off the state at any moment (open `/live` streams, the age of each game server's last good
//! poll) is filled in at scrape time instead of being tracked at every change.
//!
//! Metric names live in [`names`]; add a new one there, describe it in `describe_all`, give it a
//! function here, and list it in the metrics table of docs/OPERATIONS.md. Label values are always from a
//! closed set (route templates, status codes, outcome words, configured server names), never
//! from request input, so a client cannot grow the number of series.

use std::time::Duration;

use chrono::{DateTime, Utc};
use metrics::{counter, gauge, histogram};

use crate::live::{Lineup, LiveSnapshot};

mod serve;

pub use serve::{handle, router, serve};

/// Every metric's name, in one place (the metrics table in docs/OPERATIONS.md and the Grafana dashboard use
/// the same names).
pub mod names {
    /// Counter: answered requests by `route` template, `method` and `status`.
    pub const HTTP_REQUESTS: &str = "kacky_http_requests_total";
    /// Histogram: seconds from request to response head, by `route` template.
    pub const HTTP_DURATION: &str = "kacky_http_request_duration_seconds";
    /// Gauge (at scrape): `/live` streams open now.
    pub const LIVE_STREAMS_OPEN: &str = "kacky_live_streams_open";
    /// Gauge (at scrape): the most `/live` streams allowed (`live_max_streams`).
    pub const LIVE_STREAMS_MAX: &str = "kacky_live_streams_max";
    /// Counter: game-server polls by `result` (`ok`, `failed`).
    pub const POLLS: &str = "kacky_polls_total";
    /// Counter: per configured server (`server` number, `name`), what a poll brought for it
    /// (`ok`, `error`: skipped, missing or off its playlist; `failed`: the poll failed as a whole).
    pub const POLL_SERVER_RESULTS: &str = "kacky_poll_server_results_total";
    /// Gauge (at scrape): seconds since each server's last good observation.
    pub const POLL_AGE: &str = "kacky_poll_age_seconds";
    /// Counter: alarm notification messages (one Discord message tells one or more players) by
    /// `outcome` (`sent`, `failed`).
    pub const NOTIFIER_DELIVERIES: &str = "kacky_notifier_deliveries_total";
    /// Counter: finish-feed messages (a message batches several happenings) by `outcome`
    /// (`sent`, `failed`).
    pub const FINISH_FEED_DELIVERIES: &str = "kacky_finish_feed_deliveries_total";
    /// Counter: answer-cache lookups by `result` (`hit`, `miss`).
    pub const ANSWER_CACHE: &str = "kacky_answer_cache_requests_total";
    /// Gauge: password hashes waiting for a hashing thread.
    pub const HASHING_QUEUE: &str = "kacky_hashing_queue_depth";
    /// Histogram: seconds a caller waited for a database connection from the pool.
    pub const DB_POOL_WAIT: &str = "kacky_db_pool_wait_seconds";
    /// Counter: requests for a database connection that gave up (pool exhausted for 10 s).
    pub const DB_POOL_TIMEOUTS: &str = "kacky_db_pool_timeouts_total";
}

/// One answered request: `route` is the matched template (`/spreadsheet/{eventtype}/{edition}`),
/// or `unmatched` for the 404 fallback, never the raw path.
pub fn http_request(route: &str, method: &axum::http::Method, status: u16, elapsed: Duration) {
    use axum::http::Method;
    let method = match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let route = route.to_owned();
    counter!(names::HTTP_REQUESTS, "route" => route.clone(), "method" => method, "status" => status.to_string())
        .increment(1);
    histogram!(names::HTTP_DURATION, "route" => route).record(elapsed.as_secs_f64());
}

/// A game-server poll observed at `at` finished: `ok` when the answer was usable; `next` is the
/// state it produced, so each configured server counts `ok` when the answer had a good entry
/// for it (observed at `at`, no error).
pub fn poll(ok: bool, lineup: &Lineup, next: &LiveSnapshot, at: DateTime<Utc>) {
    counter!(names::POLLS, "result" => if ok { "ok" } else { "failed" }).increment(1);
    for (server, live) in lineup.servers.iter().zip(&next.servers) {
        let good = live.last_error.is_none() && live.observed.as_ref().is_some_and(|o| o.at == at);
        let (number, name) = (server.number, server.name.clone());
        let result = match (ok, good) {
            (false, _) => "failed",
            (true, true) => "ok",
            (true, false) => "error",
        };
        counter!(names::POLL_SERVER_RESULTS, "server" => number.to_string(), "name" => name, "result" => result)
            .increment(1);
    }
}

/// One alarm notification message was delivered (`sent`) or given up (`failed`).
pub fn notifier_delivery(outcome: &'static str) {
    counter!(names::NOTIFIER_DELIVERIES, "outcome" => outcome).increment(1);
}

/// One finish-feed message was delivered or given up; `outcome` is `sent` or `failed`.
pub fn finish_feed_delivery(outcome: &'static str) {
    counter!(names::FINISH_FEED_DELIVERIES, "outcome" => outcome).increment(1);
}

/// An answer-cache lookup: `hit` when the answer was there (or being computed by another
/// caller), else `miss`.
pub fn answer_cache(hit: bool) {
    counter!(names::ANSWER_CACHE, "result" => if hit { "hit" } else { "miss" }).increment(1);
}

/// A password hash was queued for a hashing thread. Keep the ticket with the job and drop it
/// when the job starts (or is dropped unrun): the queue depth goes down again.
#[must_use = "the queue depth goes down when the ticket is dropped"]
pub fn hashing_queued() -> QueueTicket {
    // Only a ticket that counted up counts down: a job queued before the recorder was installed
    // must not leave the gauge at -1 for good.
    let counted = serve::installed();
    if counted {
        gauge!(names::HASHING_QUEUE).increment(1.0);
    }
    QueueTicket { counted }
}

/// See [`hashing_queued`].
pub struct QueueTicket {
    counted: bool,
}

impl Drop for QueueTicket {
    fn drop(&mut self) {
        if self.counted {
            gauge!(names::HASHING_QUEUE).decrement(1.0);
        }
    }
}

/// r2d2's event hook: records how long every checkout waited and every checkout that timed out.
/// Installed on the database pool by [`crate::db::Db::open`].
#[derive(Debug, Default)]
pub struct PoolEvents;

impl r2d2::HandleEvent for PoolEvents {
    fn handle_checkout(&self, event: r2d2::event::CheckoutEvent) {
        histogram!(names::DB_POOL_WAIT).record(event.duration().as_secs_f64());
    }

    fn handle_timeout(&self, event: r2d2::event::TimeoutEvent) {
        histogram!(names::DB_POOL_WAIT).record(event.timeout().as_secs_f64());
        counter!(names::DB_POOL_TIMEOUTS).increment(1);
    }
}

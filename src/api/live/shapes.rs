//! Answer shapes that the handlers build with `json!()`, for the OpenAPI document only.
#![allow(dead_code)]

use std::collections::BTreeMap;

use utoipa::ToSchema;

/// `/event/<login>/nextunfinned`: kacky id → where and when.
#[derive(ToSchema)]
pub struct NextUnfinned(BTreeMap<String, NextSlot>);

#[derive(ToSchema)]
pub struct NextSlot {
    pub server: i64,
    /// Whole minutes
    #[schema(rename = "upcomingIn")]
    pub upcoming_in: i64,
}

/// `/event/nextrun/<id>`: one key, the kacky id, with where and when (`null`s when no known
/// server plays it), plus `currentlyRunning` (the number of the server running the map now,
/// or `false`) and, while it runs, `timeLeft`/`timeLimit`.
#[derive(ToSchema)]
#[schema(example = json!({"75": {"server": 3, "upcomingIn": 0}, "currentlyRunning": 3, "timeLeft": 312,
    "timeLimit": 10}))]
pub struct NextRun {
    #[schema(rename = "currentlyRunning", inline)]
    pub currently_running: Running,
    /// While it runs: seconds left
    #[schema(rename = "timeLeft", nullable = false)]
    pub time_left: Option<i64>,
    /// While it runs: minutes per map on that server
    #[schema(rename = "timeLimit", nullable = false)]
    pub time_limit: Option<i64>,
    #[serde(flatten)]
    pub slot: BTreeMap<String, RunSlot>,
}

#[derive(ToSchema)]
#[serde(untagged)]
pub enum Running {
    No(bool),
    Server(i64),
}

/// Where and when a map runs next (`null`: no known server plays it).
#[derive(ToSchema)]
pub struct RunSlot {
    #[schema(required = true)]
    pub server: Option<i64>,
    /// Whole minutes
    #[schema(rename = "upcomingIn", required = true)]
    pub upcoming_in: Option<i64>,
}

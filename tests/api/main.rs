//! HTTP integration tests: the real router on 127.0.0.1 with a real SQLite file per test.

mod common;

mod accounts;
mod admin;
mod bad_input;
mod binary;
mod bodies;
mod caching;
mod connections;
mod crash;
mod discord_link;
mod families;
mod finishes;
mod frontends;
mod guessing;
mod hashing;
mod import;
mod live;
mod live_streams;
mod maps_unique;
mod mariadb;
mod mentions;
mod metrics;
mod names;
mod notify;
mod notify_delivery;
mod openapi;
mod outbound;
mod public;
mod records;
mod schedule;
mod sim_world;
mod simulation;
mod streamer;
mod timetable;
mod worldrecords;

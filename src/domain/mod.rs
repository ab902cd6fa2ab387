//! The types every layer shares, parsed once at the edge (HTTP handler, config loader, CLI)
//! and trusted past it: a value of one of these types is valid by construction, so `db`,
//! `live` and `api` never re-check it. This module depends on nothing else of the project.
//!
//! - [`EventType`], [`Edition`], [`KackyId`]: which event and which map; [`FAMILIES`] describes
//!   each event family once (code, name, game, whether the records API serves it);
//! - [`Difficulty`]: a player's own 0–6 rating of a map;
//! - [`FinishKind`] and [`FinishItem`]: the finish feed's happenings;
//! - [`GameLogin`]: a TMNF/TM2020 login in a profile;
//! - [`UserName`] and [`NewPassword`]: the account rules, written once, with the name keys
//!   ([`username_key`], [`lookalike_key`]).

mod event;
mod family;
mod finish;
mod login;
mod user;

pub use event::{Difficulty, Edition, EditionSel, EventType, KackyId};
pub use family::{codes_listed, Family, Game, FAMILIES};
pub use finish::{FinishItem, FinishKind};
pub use login::{GameLogin, GAME_LOGIN_MAX};
pub use user::{
    is_hidden_char, legacy_username_key, lookalike_key, lookalike_key_rule, username_key, username_key_rule,
    NewPassword, UserName, LEGACY_KEY_PREFIX, PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX,
};

/// Why a raw value is not a valid domain value; the message names the field and the rule, so
/// the API can answer it as a 400 as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

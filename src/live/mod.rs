//! The live event: rotation math ([`rotation`]), the game-server API answer and its testing
//! fixtures ([`gameserver`]).

pub mod gameserver;
pub mod rotation;

//! The request budget: the follower sends one request every `60 s / records_rate_per_min`,
//! never faster, and the slots go round-robin between the two queues: the followed players
//! and the world-record look-ups. While both queues have work they take turns; a queue alone
//! gets every slot. Pure, so the arithmetic is unit-tested.

use std::time::Duration;

/// The time between two requests at `rate_per_min`.
pub fn interval(rate_per_min: u32) -> Duration {
    Duration::from_secs(60) / rate_per_min.max(1)
}

/// The longest a happening waits before its poll, in slots: a player is polled once per
/// round of the player queue, which takes twice as many slots while the look-ups share them.
pub fn worst_case_slots(own: usize, other: usize) -> usize {
    if other == 0 {
        own
    } else {
        own.saturating_mul(2)
    }
}

/// The worst-case delay of a queue of `own` items beside `other`, at `rate_per_min`, plus the
/// time one request may take.
pub fn worst_case_delay(own: usize, other: usize, rate_per_min: u32, request: Duration) -> Duration {
    if own == 0 {
        return Duration::ZERO;
    }
    interval(rate_per_min).saturating_mul(u32::try_from(worst_case_slots(own, other)).unwrap_or(u32::MAX)) + request
}

/// What the next slot is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job<P, M> {
    Player(P),
    Map(M),
}

/// Two queues served in turns. Each queue is walked in order; when a walk ends the caller
/// may hand in a fresh list ([`Self::needs_players`], [`Self::needs_maps`]).
#[derive(Debug)]
pub struct RoundRobin<P, M> {
    players: Vec<P>,
    next_player: usize,
    maps: Vec<M>,
    next_map: usize,
    players_turn: bool,
}

impl<P: Clone, M: Clone> Default for RoundRobin<P, M> {
    fn default() -> Self {
        Self { players: Vec::new(), next_player: 0, maps: Vec::new(), next_map: 0, players_turn: true }
    }
}

impl<P: Clone, M: Clone> RoundRobin<P, M> {
    /// Whether the player queue was walked through (or never filled): time for a fresh list.
    pub fn needs_players(&self) -> bool {
        self.next_player >= self.players.len()
    }

    pub fn needs_maps(&self) -> bool {
        self.next_map >= self.maps.len()
    }

    /// Starts a new walk over `players`.
    pub fn set_players(&mut self, players: Vec<P>) {
        self.players = players;
        self.next_player = 0;
    }

    pub fn set_maps(&mut self, maps: Vec<M>) {
        self.maps = maps;
        self.next_map = 0;
    }

    /// Sizes of the current lists (players, maps).
    pub fn sizes(&self) -> (usize, usize) {
        (self.players.len(), self.maps.len())
    }

    /// The next job: the other queue's turn if it has work left, else this one's; `None` when
    /// both walks are done (refill them, then ask again).
    pub fn next_job(&mut self) -> Option<Job<P, M>> {
        let player_left = self.next_player < self.players.len();
        let map_left = self.next_map < self.maps.len();
        let take_player = match (player_left, map_left) {
            (false, false) => return None,
            (true, false) => true,
            (false, true) => false,
            (true, true) => self.players_turn,
        };
        self.players_turn = !take_player;
        if take_player {
            self.next_player += 1;
            Some(Job::Player(self.players[self.next_player - 1].clone()))
        } else {
            self.next_map += 1;
            Some(Job::Map(self.maps[self.next_map - 1].clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_spreads_the_rate_over_a_minute() {
        assert_eq!(interval(60), Duration::from_secs(1));
        assert_eq!(interval(600), Duration::from_millis(100));
        assert_eq!(interval(0), Duration::from_secs(60));
    }

    #[test]
    fn turns_alternate_while_both_queues_have_work() {
        let mut rr: RoundRobin<&str, i64> = RoundRobin::default();
        rr.set_players(vec!["a", "b", "c"]);
        rr.set_maps(vec![1]);
        let jobs: Vec<_> = std::iter::from_fn(|| rr.next_job()).collect();
        assert_eq!(jobs, vec![Job::Player("a"), Job::Map(1), Job::Player("b"), Job::Player("c")]);
        assert!(rr.needs_players() && rr.needs_maps());
        // Refilled only the maps: the maps run alone.
        rr.set_maps(vec![1, 2]);
        assert_eq!(rr.next_job(), Some(Job::Map(1)));
        assert_eq!(rr.next_job(), Some(Job::Map(2)));
        assert_eq!(rr.next_job(), None);
    }

    /// Over any stretch of slots, a player queue of n beside a busy map queue is served within
    /// 2n slots: the bound `/healthz` reports.
    #[test]
    fn every_player_is_served_within_the_worst_case() {
        for (n, m) in [(1usize, 0usize), (3, 75), (10, 4), (5, 5)] {
            let mut rr: RoundRobin<usize, usize> = RoundRobin::default();
            let mut last = vec![0usize; n];
            for slot in 1..=2000usize {
                if rr.needs_players() {
                    rr.set_players((0..n).collect());
                }
                if rr.needs_maps() {
                    rr.set_maps((0..m).collect());
                }
                if let Some(Job::Player(p)) = rr.next_job() {
                    assert!(slot - last[p] <= worst_case_slots(n, m), "n={n} m={m} slot={slot}");
                    last[p] = slot;
                }
            }
        }
    }

    #[test]
    fn the_delay_grows_with_the_queues_and_shrinks_with_the_rate() {
        let req = Duration::from_secs(5);
        assert_eq!(worst_case_delay(10, 0, 60, req), Duration::from_secs(15));
        assert_eq!(worst_case_delay(10, 75, 60, req), Duration::from_secs(25));
        assert_eq!(worst_case_delay(10, 75, 120, req), Duration::from_secs(15));
        assert_eq!(worst_case_delay(0, 75, 60, req), Duration::ZERO);
    }
}

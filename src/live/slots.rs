//! Learning each server's real slot, and numbering its plays.
//!
//! A real game server does not start the next map the instant the time limit is up: loading
//! and the podium take a while (about 45 s on KK, 5–20 s on KR, different every time). The
//! rotation math needs the *slot*, the time from one map's start to the next one's: the time
//! limit plus the change time. Assuming no change time puts a KK play six hours ahead about
//! 25 minutes early. So the poller learns it from what it sees:
//!
//! - Every observation of a server (current map, seconds played, when) gives an estimate of
//!   when the current map started. [`Track::observe`] decides which *play* that is: the
//!   server's plays are numbered (one more per map), and the observed map gets the number
//!   closest to where the last known play plus the slot projects it, never going back. Starts
//!   that jitter by a second, a map restarted in place, an admin skipping maps, polls missed
//!   during an outage or a restart of the backend all keep the numbering right, and with it
//!   the identity `(server, play)` that `/live`, the calendar and the notifier share.
//! - When the play number moves on by `k` (1 to [`MAX_STEPS`]) and the server did not just
//!   restart, the time between the two starts, divided by `k`, minus the time limit is one
//!   measured change time. Skipped maps (negative) and restarts or long gaps (more than
//!   [`MAX_CHANGE_MS`]) are not samples. A server keeps its last [`MAX_SAMPLES`].
//! - [`change_estimates`]: each server's change time is the trimmed mean of its samples, shrunk
//!   towards the mean of the servers that share its prior (`map_change_s` of config.yaml, or
//!   the server's own in servers.yaml), which starts at that prior. Servers of one event
//!   change maps alike, so a server learns from its siblings until its own history speaks
//!   (at least five changes); how far it is pulled towards them then follows how much the
//!   servers really differ.
//!
//! Pure: the poller passes the observations in and keeps the tracks in the live state.

/// Most maps between two observed plays for the time between them to count as a sample.
pub const MAX_STEPS: i64 = 4;
/// Longest plausible change time: anything longer was a restart or an outage, not a change.
pub const MAX_CHANGE_MS: i64 = 180_000;
/// Shortest accepted change time: a second of jitter either side of an instant change.
const MIN_CHANGE_MS: i64 = -2_000;
/// Change times kept per server (a week of KK maps is about 900).
pub const MAX_SAMPLES: usize = 200;
/// A start estimate this far from the play's known start means the map started again.
const RESTART_JUMP_MS: i64 = 10_000;
/// Observations averaged into a start estimate at most (older ones fade).
const MAX_SEEN: i64 = 32;
/// How many samples the prior counts as.
const PRIOR_WEIGHT: f64 = 1.0;
/// Samples a server needs before its own mean counts apart from its siblings'.
const MIN_OWN: usize = 5;

/// One server's rotation, as far as the learning needs it.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    pub playlist: &'a [i64],
    pub timelimit_ms: i64,
    /// The slot learned so far (time limit plus estimated change time).
    pub slot_ms: i64,
}

/// One observation of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// Kacky id of the current map.
    pub current: i64,
    /// When it started by this observation (observed instant minus seconds played), unix ms.
    pub start_ms: i64,
    /// The server reported an empty `recently_played`: it has just restarted.
    pub restarted: bool,
}

/// What is known about one server's plays: the last observed play and the change times seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// The last observed play's number.
    pub play: i64,
    /// Its map.
    pub current: i64,
    /// Its estimated start, unix ms: the mean of its observations.
    pub start_ms: i64,
    /// Observations in that mean.
    pub seen: i64,
    /// Measured change times in ms, oldest first.
    pub changes_ms: Vec<i64>,
}

impl Track {
    /// The first observation of a server: its play number is the map's index in the playlist
    /// (round 0), or 0 for a map outside it.
    pub fn first(playlist: &[i64], obs: &Observation) -> Self {
        let index = playlist.iter().position(|&m| m == obs.current).unwrap_or(0);
        let play = i64::try_from(index).unwrap_or(0);
        Self { play, current: obs.current, start_ms: obs.start_ms, seen: 1, changes_ms: Vec::new() }
    }

    /// The track after one more observation. A map outside the playlist changes nothing (the
    /// rotation is projected from the last map in it until the server comes back to it).
    #[must_use]
    pub fn observe(&self, rot: &Rotation, obs: &Observation) -> Self {
        let Some(play) = self.play_of(rot, obs) else { return self.clone() };
        if play == self.play {
            if (obs.start_ms - self.start_ms).abs() > RESTART_JUMP_MS {
                // The same map again from the start (a restart in place): same play, new start.
                return Self { start_ms: obs.start_ms, seen: 1, ..self.clone() };
            }
            let seen = (self.seen + 1).min(MAX_SEEN);
            let start_ms = self.start_ms + (obs.start_ms - self.start_ms) / seen;
            return Self { start_ms, seen, ..self.clone() };
        }
        let mut changes_ms = self.changes_ms.clone();
        let steps = play - self.play;
        if !obs.restarted && steps <= MAX_STEPS {
            let change = (obs.start_ms - self.start_ms) / steps - rot.timelimit_ms;
            if (MIN_CHANGE_MS..=MAX_CHANGE_MS).contains(&change) {
                changes_ms.push(change);
                if changes_ms.len() > MAX_SAMPLES {
                    changes_ms.drain(..changes_ms.len() - MAX_SAMPLES);
                }
            }
        }
        Self { play, current: obs.current, start_ms: obs.start_ms, seen: 1, changes_ms }
    }

    /// The number of the observed play: of the plays at or after the last known one whose
    /// playlist position holds the observed map, the one nearest to where the slot projects
    /// the observed start (ties to the earlier). `None` for a map outside the playlist.
    fn play_of(&self, rot: &Rotation, obs: &Observation) -> Option<i64> {
        let len = i64::try_from(rot.playlist.len()).ok().filter(|&l| l > 0)?;
        let slot = rot.slot_ms.max(1);
        // Where the observed start falls, in thousandths of a play.
        let projected = self
            .play
            .saturating_mul(1000)
            .saturating_add(obs.start_ms.saturating_sub(self.start_ms).saturating_mul(1000) / slot);
        let mut best: Option<(i64, i64)> = None;
        for (i, _) in rot.playlist.iter().enumerate().filter(|(_, &m)| m == obs.current) {
            let i = i64::try_from(i).ok()?;
            let first = self.play + (i - self.play).rem_euclid(len);
            let rounds = div_round(projected.saturating_sub(first.saturating_mul(1000)), len * 1000).max(0);
            for m in [rounds - 1, rounds, rounds + 1].into_iter().filter(|&m| m >= 0) {
                let q = first.saturating_add(m.saturating_mul(len));
                let distance = q.saturating_mul(1000).abs_diff(projected);
                let distance = i64::try_from(distance).unwrap_or(i64::MAX);
                if best.is_none_or(|(d, b)| (distance, q) < (d, b)) {
                    best = Some((distance, q));
                }
            }
        }
        best.map(|(_, q)| q)
    }
}

/// `a / b` rounded to the nearest integer (`b > 0`).
fn div_round(a: i64, b: i64) -> i64 {
    a.saturating_add(b / 2).div_euclid(b)
}

/// One server's input to [`change_estimates`].
#[derive(Debug, Clone, Copy)]
pub struct Learning<'a> {
    /// The change time assumed before any is seen (`map_change_s`), ms.
    pub prior_ms: i64,
    pub changes_ms: &'a [i64],
}

/// The mean and count of `samples` without their lowest and highest tenth (a skip near a
/// map's end or an unflagged restart must not pull the mean).
fn trimmed(samples: &[i64]) -> Option<(f64, f64, usize)> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let cut = sorted.len() / 10;
    let kept = &sorted[cut..sorted.len() - cut];
    if kept.is_empty() {
        return None;
    }
    let n = kept.len() as f64;
    let mean = kept.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = kept.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    Some((mean, var, kept.len()))
}

/// Every server's estimated change time in ms, in the order given (see the module docs).
#[must_use]
pub fn change_estimates(servers: &[Learning]) -> Vec<i64> {
    let mut out = vec![0; servers.len()];
    let mut priors: Vec<i64> = servers.iter().map(|s| s.prior_ms).collect();
    priors.sort_unstable();
    priors.dedup();
    for prior in priors {
        let group: Vec<usize> = (0..servers.len()).filter(|&i| servers[i].prior_ms == prior).collect();
        let stats: Vec<Option<(f64, f64, usize)>> = group.iter().map(|&i| trimmed(servers[i].changes_ms)).collect();
        let (mut sum, mut count, mut within, mut dof) = (prior as f64 * PRIOR_WEIGHT, PRIOR_WEIGHT, 0.0, 0.0);
        for (mean, var, n) in stats.iter().flatten() {
            sum += mean * *n as f64;
            count += *n as f64;
            within += var * (*n as f64 - 1.0);
            dof += *n as f64 - 1.0;
        }
        let pool = sum / count;
        let data_mean =
            if count > PRIOR_WEIGHT { (sum - prior as f64 * PRIOR_WEIGHT) / (count - PRIOR_WEIGHT) } else { pool };
        // The spread of single changes; 10 s until enough are seen.
        let within = if dof >= 2.0 { within / dof } else { 100.0e6 };
        // How much the servers' true means differ: what their means spread beyond the noise.
        let means: Vec<(f64, usize)> =
            stats.iter().flatten().filter(|s| s.2 >= MIN_OWN).map(|&(m, _, n)| (m, n)).collect();
        let between = if means.len() >= 2 {
            let spread = means.iter().map(|(m, _)| (m - data_mean).powi(2)).sum::<f64>() / means.len() as f64;
            let noise = means.iter().map(|&(_, n)| within / n as f64).sum::<f64>() / means.len() as f64;
            (spread - noise).max(0.0)
        } else {
            0.0
        };
        for (slot, stat) in group.iter().zip(&stats) {
            let estimate = match stat {
                Some((mean, _, n)) if between > 0.0 && *n >= MIN_OWN => {
                    let w = between / (between + within / *n as f64);
                    w * mean + (1.0 - w) * pool
                }
                _ => pool,
            };
            out[*slot] = estimate.round() as i64;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    const LIST: [i64; 5] = [11, 12, 13, 14, 15];
    const T: i64 = 600_000;

    fn rot(slot_ms: i64) -> Rotation<'static> {
        Rotation { playlist: &LIST, timelimit_ms: T, slot_ms }
    }

    fn obs(current: i64, start_s: i64) -> Observation {
        Observation { current, start_ms: start_s * 1000, restarted: false }
    }

    #[test]
    fn jitter_keeps_the_play_and_averages_the_start() {
        let t = Track::first(&LIST, &obs(13, 1000));
        assert_eq!(t.play, 2);
        let t = t.observe(&rot(T), &obs(13, 1001));
        let t = t.observe(&rot(T), &obs(13, 999));
        let t = t.observe(&rot(T), &obs(13, 1001));
        assert_eq!((t.play, t.seen), (2, 4));
        assert!((t.start_ms - 1_000_000).abs() <= 500, "{}", t.start_ms);
        assert!(t.changes_ms.is_empty());
    }

    #[test]
    fn map_changes_count_plays_and_measure_the_change_time() {
        let t = Track::first(&LIST, &obs(14, 0));
        // Next map 645 s later: one play on, 45 s of change time.
        let t = t.observe(&rot(T), &obs(15, 645));
        assert_eq!((t.play, t.changes_ms.clone()), (4, vec![45_000]));
        // Wrapping around to the first map.
        let t = t.observe(&rot(T), &obs(11, 1290));
        assert_eq!((t.play, t.current), (5, 11));
        // Two maps missed (an outage): two plays on, the time split between them.
        let t = t.observe(&rot(645_000), &obs(14, 1290 + 3 * 650));
        assert_eq!(t.play, 8);
        assert_eq!(t.changes_ms, vec![45_000, 45_000, 50_000]);
    }

    #[test]
    fn skips_restarts_and_long_gaps_are_no_samples() {
        let t = Track::first(&LIST, &obs(11, 0));
        // An admin skips after 200 s: the next map is the next play, no sample.
        let t = t.observe(&rot(T), &obs(12, 230));
        assert_eq!((t.play, t.changes_ms.len()), (1, 0));
        // The server restarts and resumes with the next map: a play on, no sample.
        let restarted = Observation { restarted: true, ..obs(13, 230 + 500) };
        let t = t.observe(&rot(T), &restarted);
        assert_eq!((t.play, t.changes_ms.len()), (2, 0));
        // A restart in place: the same map from the start is still the same play.
        let t = t.observe(&rot(T), &obs(13, 230 + 700));
        assert_eq!((t.play, t.start_ms, t.changes_ms.len()), (2, 930_000, 0));
        // The next change after it is a normal one again.
        let t = t.observe(&rot(T), &obs(14, 930 + 640));
        assert_eq!((t.play, t.changes_ms.clone()), (3, vec![40_000]));
        // Hours without observations (the backend was down): many plays on, no sample.
        let t = t.observe(&rot(640_000), &obs(11, 1570 + 12 * 640 + 3));
        assert_eq!((t.play, t.changes_ms.len()), (15, 1));
        // A map outside the playlist changes nothing.
        assert_eq!(t.observe(&rot(640_000), &obs(99, 20_000)), t);
    }

    #[test]
    fn the_numbering_never_goes_back_and_follows_the_projection() {
        // The server jumps from 11 to 13 at once (two skips between polls): forwards, not
        // back to the 13 of the round before.
        let t = Track::first(&LIST, &obs(11, 0)).observe(&rot(T), &obs(13, 55));
        assert_eq!(t.play, 2);
        // The same map a whole round later (an outage longer than a round) is the next round.
        let t = t.observe(&rot(T), &obs(13, 55 + 5 * 600 + 30));
        assert_eq!(t.play, 7);
        // Repeats: the occurrence the projection points at.
        let list = [1, 2, 1, 3];
        let r = Rotation { playlist: &list, timelimit_ms: T, slot_ms: T };
        let t = Track::first(&list, &obs(1, 0));
        assert_eq!(t.observe(&r, &obs(1, 1200)).play, 2);
        assert_eq!(t.observe(&r, &obs(1, 2400)).play, 4);
        assert_eq!(t.observe(&r, &obs(1, 3)).play, 0);
    }

    #[test]
    fn learns_a_realistic_server_to_within_a_second() {
        // KK-like: 30–60 s changes, starts seen with a second of jitter, one poll a minute.
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut t = Track::first(&LIST, &obs(11, 0));
        let (mut start, mut slot) = (0i64, T);
        for n in 1..=300 {
            let change = rng.random_range(30_000..=60_000);
            let next = start + T + change;
            for _poll in (start / 1000 + 5..next / 1000).step_by(60) {
                let jitter = rng.random_range(-1_000..=1_000);
                let seen = Observation { current: LIST[(n - 1) % 5], start_ms: start + jitter, restarted: false };
                t = t.observe(&rot(slot), &seen);
            }
            start = next;
            slot = T + change_estimates(&[Learning { prior_ms: 0, changes_ms: &t.changes_ms }])[0];
        }
        assert_eq!(t.changes_ms.len(), MAX_SAMPLES);
        let learned = change_estimates(&[Learning { prior_ms: 0, changes_ms: &t.changes_ms }])[0];
        assert!((learned - 45_000).abs() < 2_500, "{learned}");
        assert_eq!(t.play, 299);
    }

    #[test]
    fn servers_learn_from_their_siblings_and_keep_their_own_prior() {
        // Nothing seen: the prior.
        let none = change_estimates(&[Learning { prior_ms: 10_000, changes_ms: &[] }]);
        assert_eq!(none, [10_000]);
        // Three KK-like servers with a few changes each share what they saw; a server with
        // its own prior (servers.yaml) learns apart.
        let a = [44_000, 46_000, 45_000];
        let b = [47_000, 43_000];
        let own = [12_000, 14_000, 13_000, 11_000];
        let est = change_estimates(&[
            Learning { prior_ms: 10_000, changes_ms: &a },
            Learning { prior_ms: 10_000, changes_ms: &b },
            Learning { prior_ms: 10_000, changes_ms: &[] },
            Learning { prior_ms: 20_000, changes_ms: &own },
        ]);
        assert!(est[..3].iter().all(|&e| (38_000..45_000).contains(&e)), "{est:?}");
        assert_eq!(est[0], est[2], "alike servers share one estimate");
        assert!((12_000..16_000).contains(&est[3]), "{est:?}");
        // Servers that really differ keep their own estimates once they have the samples.
        let fast = vec![10_000; 50];
        let slow = vec![50_000; 50];
        let est = change_estimates(&[
            Learning { prior_ms: 30_000, changes_ms: &fast },
            Learning { prior_ms: 30_000, changes_ms: &slow },
        ]);
        assert!((est[0] - 10_000).abs() < 1_000 && (est[1] - 50_000).abs() < 1_000, "{est:?}");
        // An outlier does not pull the estimate (trimmed).
        let mut odd = vec![45_000; 20];
        odd.push(179_000);
        let est = change_estimates(&[Learning { prior_ms: 45_000, changes_ms: &odd }]);
        assert_eq!(est, [45_000]);
    }
}

use super::*;
use chrono::{Duration, TimeZone};

/// A fixed instant, so tests never depend on the real clock.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
}

fn obs(current: i64, time_played_s: i64, at: DateTime<Utc>) -> Observed {
    Observed { current, time_played_s, at }
}

/// A view with a slot of `tl` whole minutes (an overflowing one is invalid: 0).
fn view<'a>(number: i64, tl: i64, playlist: &'a [i64], observed: &'a Observed) -> ServerView<'a> {
    ServerView { number, slot_ms: tl.checked_mul(60_000).unwrap_or(0), playlist, observed, play: 0 }
}

#[test]
fn minutes_floors() {
    assert_eq!(minutes(0), 0);
    assert_eq!(minutes(59), 0);
    assert_eq!(minutes(60), 1);
    assert_eq!(minutes(119), 1);
    assert_eq!(minutes(118_800), 1980);
}

#[test]
fn position_without_projection() {
    let o = obs(3, 100, t0());
    let list = [1, 2, 3, 4];
    let s = view(1, 10, &list, &o);
    let now = t0() + Duration::seconds(50);
    let expected = Position { index: 2, current: 3, played_s: 150, play: 0, left_s: 450 };
    assert_eq!(position(&s, now), Some(expected));
    assert_eq!(time_left_s(&s, now), Some(450));
    assert_eq!(next_play_s(&s, 3, now), Some(0));
}

#[test]
fn wrap_around_map_near_start() {
    // Current is the second to last; map 2 is at index 1: distance 3.
    let list = [1, 2, 3, 4, 5];
    let o = obs(4, 120, t0());
    let s = view(1, 10, &list, &o);
    assert_eq!(time_left_s(&s, t0()), Some(480));
    assert_eq!(next_play_s(&s, 5, t0()), Some(480));
    assert_eq!(next_play_s(&s, 1, t0()), Some(480 + 600));
    assert_eq!(next_play_s(&s, 2, t0()), Some(480 + 2 * 600));
    assert_eq!(upcoming(&s, t0(), 4), vec![4, 5, 1, 2]);
}

#[test]
fn map_three_positions_ahead() {
    let list = [10, 20, 30, 40, 50, 60];
    let o = obs(20, 300, t0());
    let s = view(1, 15, &list, &o);
    let now = t0() + Duration::seconds(60);
    let left = time_left_s(&s, now).unwrap();
    assert_eq!(left, 900 - 360);
    assert_eq!(next_play_s(&s, 50, now), Some(left + 2 * 900));
}

#[test]
fn wait_longer_than_a_day_is_exact() {
    let list: Vec<i64> = (1..=100).collect();
    let o = obs(1, 300, t0());
    let s = view(1, 20, &list, &o);
    let now = t0() + Duration::seconds(60);
    // 840 s left on map 1, then 98 full maps before map 100.
    let wait = next_play_s(&s, 100, now).unwrap();
    assert_eq!(wait, 840 + 98 * 1200);
    assert!(wait > 86_400);
    assert_eq!(minutes(wait), 1974);
}

#[test]
fn elapsed_across_midnight_and_days() {
    let list: Vec<i64> = (1..=100).collect();
    let at = Utc.with_ymd_and_hms(2024, 6, 1, 23, 50, 0).unwrap();
    let o = obs(1, 0, at);
    let s = view(1, 20, &list, &o);
    // 20 minutes later, past midnight: exactly one map further.
    let now = Utc.with_ymd_and_hms(2024, 6, 2, 0, 10, 0).unwrap();
    assert_eq!(position(&s, now).unwrap().current, 2);
    assert_eq!(position(&s, now).unwrap().played_s, 0);
    // Two days and 30 minutes later: 145 maps (wrapping to index 45), 10 min in.
    let now = at + Duration::days(2) + Duration::minutes(30);
    let p = position(&s, now).unwrap();
    assert_eq!((p.index, p.current, p.played_s), (45, 46, 600));
}

#[test]
fn earliest_over_several_servers() {
    let a_list = [1, 2, 3, 4];
    let b_list = [5, 6, 3, 7];
    let oa = obs(1, 0, t0());
    let ob = obs(6, 0, t0());
    let servers = [view(1, 10, &a_list, &oa), view(2, 10, &b_list, &ob)];
    // Map 3: server 1 in 1200 s, server 2 in 600 s.
    assert_eq!(earliest(&servers, 3, t0()), Some((2, 600)));
    assert_eq!(earliest(&servers, 1, t0()), Some((1, 0)));
    assert_eq!(earliest(&servers, 99, t0()), None);
}

#[test]
fn earliest_tie_goes_to_first_server() {
    let list = [1, 2, 3];
    let o = obs(1, 60, t0());
    let servers = [view(7, 10, &list, &o), view(3, 10, &list, &o)];
    assert_eq!(earliest(&servers, 2, t0()), Some((7, 540)));
    assert_eq!(earliest(&[], 2, t0()), None);
}

#[test]
fn projection_after_two_and_a_half_timelimits() {
    let list = [1, 2, 3, 4, 5];
    let o = obs(2, 0, t0());
    let s = view(1, 10, &list, &o);
    let now = t0() + Duration::seconds(1500);
    let expected = Position { index: 3, current: 4, played_s: 300, play: 2, left_s: 300 };
    assert_eq!(position(&s, now), Some(expected));
    assert_eq!(time_left_s(&s, now), Some(300));
    assert_eq!(upcoming(&s, now, 4), vec![4, 5, 1, 2]);
    assert_eq!(next_play_s(&s, 2, now), Some(300 + 2 * 600));
}

#[test]
fn observed_time_already_beyond_timelimit() {
    let list = [1, 2, 3];
    let o = obs(3, 650, t0());
    let s = view(1, 10, &list, &o);
    let p = position(&s, t0()).unwrap();
    assert_eq!((p.index, p.current, p.played_s), (0, 1, 50));
    assert_eq!(time_left_s(&s, t0()), Some(550));
    // Exactly at the limit the next map starts with a full timelimit.
    let o = obs(3, 600, t0());
    let s = view(1, 10, &list, &o);
    assert_eq!(position(&s, t0()).unwrap().current, 1);
    assert_eq!(time_left_s(&s, t0()), Some(600));
}

#[test]
fn now_before_observation_is_clamped() {
    let list = [1, 2, 3];
    let o = obs(2, 100, t0());
    let s = view(1, 10, &list, &o);
    let now = t0() - Duration::hours(3);
    assert_eq!(position(&s, now).unwrap().played_s, 100);
    assert_eq!(time_left_s(&s, now), Some(500));
    let o = obs(2, -40, t0());
    let s = view(1, 10, &list, &o);
    assert_eq!(position(&s, now).unwrap().played_s, 0);
}

#[test]
fn observed_map_not_in_playlist() {
    let list = [1, 2, 3];
    let o = obs(9, 100, t0());
    let s = view(1, 10, &list, &o);
    assert_eq!(position(&s, t0()), None);
    assert_eq!(time_left_s(&s, t0()), None);
    assert_eq!(upcoming(&s, t0(), 4), vec![9]);
    assert_eq!(upcoming(&s, t0(), 0), Vec::<i64>::new());
    assert_eq!(next_play_s(&s, 9, t0()), Some(0));
    assert_eq!(next_play_s(&s, 2, t0()), None);
    // Once its timelimit has passed we no longer know anything.
    assert_eq!(next_play_s(&s, 9, t0() + Duration::seconds(500)), None);
}

#[test]
fn empty_playlist() {
    let o = obs(4, 0, t0());
    let s = view(1, 10, &[], &o);
    assert_eq!(position(&s, t0()), None);
    assert_eq!(time_left_s(&s, t0()), None);
    assert_eq!(upcoming(&s, t0(), 3), vec![4]);
    assert_eq!(next_play_s(&s, 4, t0()), Some(0));
    assert_eq!(next_play_s(&s, 5, t0()), None);
    assert_eq!(earliest(&[s], 4, t0()), Some((1, 0)));
}

#[test]
fn non_positive_timelimit() {
    let list = [1, 2, 3];
    let o = obs(1, 0, t0());
    for tl in [0, -5, i64::MAX] {
        let s = view(1, tl, &list, &o);
        assert_eq!(position(&s, t0()), None, "tl {tl}");
        assert_eq!(time_left_s(&s, t0()), None);
        assert_eq!(upcoming(&s, t0(), 2), vec![1]);
        assert_eq!(next_play_s(&s, 1, t0()), None);
        assert_eq!(next_play_s(&s, 2, t0()), None);
    }
}

#[test]
fn repeats_use_first_occurrence_and_nearest_distance() {
    let list = [5, 1, 2, 5, 3];
    let o = obs(5, 0, t0());
    let s = view(1, 10, &list, &o);
    assert_eq!(position(&s, t0()).unwrap().index, 0);
    assert_eq!(next_play_s(&s, 3, t0()), Some(600 + 3 * 600));
    // From index 2 (map 2), map 5 comes again at index 3, not index 0.
    let now = t0() + Duration::seconds(1200);
    assert_eq!(position(&s, now).unwrap().index, 2);
    assert_eq!(next_play_s(&s, 5, now), Some(600));
    assert_eq!(next_play_s(&s, 3, now), Some(600 + 600));
    assert_eq!(next_play_s(&s, 1, now), Some(600 + 3 * 600));
}

#[test]
fn upcoming_on_short_and_long_lists() {
    let one = [7];
    let o = obs(7, 0, t0());
    let s = view(1, 10, &one, &o);
    assert_eq!(upcoming(&s, t0(), 4), vec![7, 7, 7, 7]);
    assert_eq!(next_play_s(&s, 7, t0() + Duration::hours(5)), Some(0));

    let two = [1, 2];
    let o = obs(2, 0, t0());
    let s = view(1, 10, &two, &o);
    assert_eq!(upcoming(&s, t0(), 4), vec![2, 1, 2, 1]);
    assert_eq!(next_play_s(&s, 1, t0()), Some(600));

    let twenty: Vec<i64> = (101..=120).collect();
    let o = obs(119, 0, t0());
    let s = view(1, 10, &twenty, &o);
    assert_eq!(upcoming(&s, t0(), 4), vec![119, 120, 101, 102]);
    assert_eq!(upcoming(&s, t0(), 1), vec![119]);
    assert!(upcoming(&s, t0(), 0).is_empty());
}

#[test]
fn extreme_values_do_not_panic() {
    let list = [1, 2, 3];
    let o = obs(1, i64::MAX, t0());
    let s = view(1, 10, &list, &o);
    let far = Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap();
    assert!(position(&s, far).is_some());
    assert!(next_play_s(&s, 3, far).is_some());
    let s = ServerView { slot_ms: i64::MAX, ..view(1, 10, &list, &o) };
    assert!(next_play_s(&s, 3, far).is_some());
    let o = obs(1, 0, t0());
    let s = ServerView { slot_ms: 1, play: i64::MAX - 1, ..view(1, 10, &list, &o) };
    assert!(position(&s, far).is_some());
}

#[test]
fn a_slot_with_a_change_time_and_a_fraction_of_a_second() {
    // 10 minutes plus 45.5 s of change time: plays start 645.5 s apart, on whole seconds
    // (rounded up), so a day of them is not off by the fractions.
    let list = [1, 2, 3, 4];
    let o = obs(1, 0, t0());
    let s = ServerView { slot_ms: 645_500, ..view(1, 10, &list, &o) };
    assert_eq!(offset_s(1, 645_500), 646);
    assert_eq!(offset_s(2, 645_500), 1291);
    let p = position(&s, t0() + Duration::seconds(645)).unwrap();
    assert_eq!((p.current, p.played_s, p.left_s, p.play), (1, 645, 1, 0));
    let p = position(&s, t0() + Duration::seconds(646)).unwrap();
    assert_eq!((p.current, p.played_s, p.left_s, p.play), (2, 0, 645, 1));
    assert_eq!(next_play_s(&s, 3, t0()), Some(1291));
    // 134 plays later (a day) the start is exact to the second.
    assert_eq!(offset_s(134, 645_500), 86_497);
    let p = position(&s, t0() + Duration::seconds(86_497)).unwrap();
    assert_eq!((p.play, p.played_s, p.current), (134, 0, list[134 % 4]));
}

#[test]
fn play_numbers_count_on_and_pick_the_occurrence_of_repeats() {
    let list = [5, 1, 5, 2];
    let o = obs(5, 0, t0());
    // Play 42 is at index 42 mod 4 = 2: the second 5.
    let s = ServerView { play: 42, ..view(1, 10, &list, &o) };
    let p = position(&s, t0()).unwrap();
    assert_eq!((p.index, p.play), (2, 42));
    let p = position(&s, t0() + Duration::minutes(25)).unwrap();
    assert_eq!((p.index, p.current, p.play), (0, 5, 44));
    // A play number that does not point at the observed map: its first occurrence.
    let s = ServerView { play: 41, ..view(1, 10, &list, &o) };
    assert_eq!(position(&s, t0()).unwrap().index, 0);
}

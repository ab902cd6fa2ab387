//! What a poll of a player's personal bests means: the records API's answer read into bests,
//! and compared with what was known before into happenings. Pure, so every rule is unit-tested.
//!
//! Rules: a map not known before is a `finish` (with the finish count after it); a lower score
//! than the known one is a `pb`; each of the milestones the finish count passes is a
//! `milestone`. A map missing from an answer stays known (an answer missing maps, say during
//! an upstream hiccup, is not news, and a map coming back is not finished twice); a worse
//! score is ignored; a changed rank alone is learned silently.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::db::finishes::{NewEvent, Pb};
use crate::domain::FinishKind;

/// The bests in an answer of `/pb/<login>/<type>/<edition>` (`{"<kacky id>": {"score": ms,
/// "kacky_rank": n, "date": unix}, …}`), restricted to the kacky ids in `ids` (ascending).
/// Entries without a whole positive score are skipped. `None` when the answer is not a JSON
/// object.
pub fn read_pbs(answer: &Value, ids: &[i64]) -> Option<BTreeMap<i64, Pb>> {
    let map = answer.as_object()?;
    let pbs = map
        .iter()
        .filter_map(|(key, v)| {
            let id = key.trim().parse::<i64>().ok().filter(|id| ids.binary_search(id).is_ok())?;
            let score = v.get("score").and_then(Value::as_i64).filter(|s| *s > 0)?;
            let rank = v.get("kacky_rank").and_then(Value::as_i64).filter(|r| *r > 0);
            Some((id, Pb { score, rank }))
        })
        .collect();
    Some(pbs)
}

/// The outcome of one poll: happenings in the order they are announced, and the bests to
/// store.
#[derive(Debug, Default, PartialEq)]
pub struct Diff {
    pub events: Vec<NewEvent>,
    pub updates: Vec<(i64, Pb)>,
}

/// Compares a poll of `login` with what was `known`; `milestones` ascending.
pub fn diff(login: &str, known: &BTreeMap<i64, Pb>, now: &BTreeMap<i64, Pb>, milestones: &[i64]) -> Diff {
    let mut out = Diff::default();
    let before = i64::try_from(known.len()).unwrap_or(i64::MAX);
    let mut count = before;
    for (&id, &pb) in now {
        let event = |kind, previous_score, count| NewEvent {
            kind,
            login: login.to_owned(),
            kacky_id: Some(id),
            score: Some(pb.score),
            rank: pb.rank,
            previous_score,
            count,
        };
        match known.get(&id) {
            None => {
                count += 1;
                out.events.push(event(FinishKind::Finish, None, Some(count)));
                out.updates.push((id, pb));
            }
            Some(old) if pb.score < old.score => {
                out.events.push(event(FinishKind::Pb, Some(old.score), None));
                out.updates.push((id, pb));
            }
            Some(old) if pb.score == old.score && pb.rank != old.rank => out.updates.push((id, pb)),
            Some(_) => {}
        }
    }
    for &m in milestones.iter().filter(|&&m| before < m && m <= count) {
        out.events.push(NewEvent {
            kind: FinishKind::Milestone,
            login: login.to_owned(),
            kacky_id: None,
            score: None,
            rank: None,
            previous_score: None,
            count: Some(m),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pbs(entries: &[(i64, i64, i64)]) -> BTreeMap<i64, Pb> {
        entries.iter().map(|&(id, score, rank)| (id, Pb { score, rank: Some(rank) })).collect()
    }

    fn kinds(d: &Diff) -> Vec<(FinishKind, Option<i64>, Option<i64>)> {
        d.events.iter().map(|e| (e.kind, e.kacky_id, e.count.or(e.previous_score))).collect()
    }

    #[test]
    fn answers_are_read_for_the_current_maps_only() {
        let answer = json!({
            "201": {"score": 21_000, "kacky_rank": 3, "date": 1.7e9},
            " 202": {"score": 22_000, "kacky_rank": 1, "date": 1.7e9},
            "17": {"score": 1, "kacky_rank": 1},
            "203": {"score": "fast"},
            "204": {"score": 0},
            "x": {"score": 5}
        });
        let read = read_pbs(&answer, &[201, 202, 203, 204]).unwrap();
        assert_eq!(read, pbs(&[(201, 21_000, 3), (202, 22_000, 1)]));
        assert_eq!(read_pbs(&json!([]), &[1]), None);
        assert_eq!(read_pbs(&json!({}), &[1]), Some(BTreeMap::new()));
    }

    #[test]
    fn new_maps_are_finishes_lower_scores_pbs_and_the_rest_is_quiet() {
        let known = pbs(&[(201, 30_000, 5), (202, 25_000, 2), (203, 40_000, 9)]);
        // 201 improved, 202 same score but a new rank, 203 missing, 204 new, 205 worse? no: new too.
        let now = pbs(&[(201, 29_500, 4), (202, 25_000, 3), (204, 50_000, 7), (205, 60_000, 1)]);
        let d = diff("hunter", &known, &now, &[15]);
        assert_eq!(
            kinds(&d),
            vec![
                (FinishKind::Pb, Some(201), Some(30_000)),
                (FinishKind::Finish, Some(204), Some(4)),
                (FinishKind::Finish, Some(205), Some(5)),
            ]
        );
        assert_eq!(d.events[1].score, Some(50_000));
        assert_eq!(d.events[1].rank, Some(7));
        assert_eq!(d.updates.iter().map(|u| u.0).collect::<Vec<_>>(), vec![201, 202, 204, 205]);
        // A worse score or the same answer again is no news.
        let worse = pbs(&[(201, 31_000, 6)]);
        assert_eq!(diff("hunter", &known, &worse, &[15]), Diff::default());
    }

    #[test]
    fn milestones_fire_once_when_the_count_passes_them() {
        let known: BTreeMap<i64, Pb> = (1..=14).map(|i| (i, Pb { score: 10_000, rank: None })).collect();
        let mut now = known.clone();
        now.insert(15, Pb { score: 10_000, rank: None });
        let d = diff("p", &known, &now, &[15, 25, 40, 50]);
        assert_eq!(kinds(&d), vec![(FinishKind::Finish, Some(15), Some(15)), (FinishKind::Milestone, None, Some(15))]);
        // A jump past two milestones in one poll announces both, in order.
        let jump: BTreeMap<i64, Pb> = (1..=26).map(|i| (i, Pb { score: 10_000, rank: None })).collect();
        let d = diff("p", &known, &jump, &[15, 25, 40, 50]);
        let milestones: Vec<_> = d.events.iter().filter(|e| e.kind == FinishKind::Milestone).map(|e| e.count).collect();
        assert_eq!(milestones, vec![Some(15), Some(25)]);
        // Already past 15: not again.
        let d = diff("p", &now, &now, &[15]);
        assert!(d.events.is_empty());
    }
}

//! The Discord messages of the finish feed: one line per happening (`🏁` a first finish, `⏱`
//! a better personal best, `🏆` a new world record, `🎉` a milestone), with the mentions of the
//! accounts that follow the player and may be pinged, batched into as few messages as
//! Discord's limits allow. Names are made inert and only the listed ids may ring
//! (`allowed_mentions.parse` is empty), so `@everyone` never does. Pure, so the text is
//! unit-tested.

use serde_json::{json, Value};

use super::message::{inert, MAX_CONTENT, MAX_MENTIONS};
use crate::domain::{FinishItem, FinishKind};

/// `m:ss.mmm` (or `h:mm:ss.mmm`) of a score in milliseconds.
pub fn time(ms: i64) -> String {
    let ms = ms.max(0);
    let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}.{milli:03}")
    } else {
        format!("{m}:{s:02}.{milli:03}")
    }
}

/// The line of one happening of the event `label` (`KR4`), without mentions.
pub fn line(label: &str, item: &FinishItem) -> String {
    let who = inert(&item.login);
    let map = item.kacky_id.map(|id| format!("**#{id}**")).unwrap_or_default();
    let score = item.score.map(time).unwrap_or_default();
    let rank = item.rank.map(|r| format!(" (rank {r})")).unwrap_or_default();
    match item.kind {
        FinishKind::Finish => format!("\u{1f3c1} **{who}** finished {map} in {score}{rank}"),
        FinishKind::Pb => {
            let gain = match (item.previous_score, item.score) {
                (Some(p), Some(s)) if p > s => format!(", {} faster", time(p - s)),
                _ => String::new(),
            };
            format!("\u{23f1}\u{fe0f} **{who}** improved {map} to {score}{rank}{gain}")
        }
        FinishKind::Wr => {
            let was = item.previous_score.map(|p| format!(" (was {})", time(p))).unwrap_or_default();
            format!("\u{1f3c6} New world record on {label} {map}: {score} by **{who}**{was}")
        }
        FinishKind::Milestone => {
            let n = item.count.unwrap_or_default();
            format!("\u{1f389} **{who}** has finished **{n}** maps of {label}")
        }
    }
}

/// The webhook bodies for these lines (each with the ids it mentions), in order: as few as
/// fit in [`MAX_CONTENT`] characters and [`MAX_MENTIONS`] mentions each. A line too long for
/// one message alone is cut.
pub fn bodies(lines: &[(String, Vec<String>)]) -> Vec<(Value, usize)> {
    let mut out = Vec::new();
    let (mut content, mut ids, mut count) = (String::new(), Vec::<String>::new(), 0usize);
    for (text, mention) in lines {
        let mut text = text.clone();
        let mut mention: Vec<String> = mention.iter().take(MAX_MENTIONS).cloned().collect();
        for id in &mention {
            text.push_str(&format!(" <@{id}>"));
        }
        if text.chars().count() > MAX_CONTENT {
            text = text.chars().take(MAX_CONTENT - 1).collect::<String>() + "\u{2026}";
            mention.retain(|id| text.contains(&format!("<@{id}>")));
        }
        let fits = content.is_empty()
            || (content.chars().count() + 1 + text.chars().count() <= MAX_CONTENT
                && ids.len() + mention.len() <= MAX_MENTIONS);
        if !fits {
            out.push((body(&content, &ids), count));
            (content, ids, count) = (String::new(), Vec::new(), 0);
        }
        if !content.is_empty() {
            content.push('\n');
        }
        content.push_str(&text);
        for id in mention {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        count += 1;
    }
    if count > 0 {
        out.push((body(&content, &ids), count));
    }
    out
}

fn body(content: &str, ids: &[String]) -> Value {
    json!({"content": content, "allowed_mentions": {"parse": [], "users": ids}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn item(kind: FinishKind, login: &str, id: Option<i64>, score: Option<i64>, prev: Option<i64>) -> FinishItem {
        FinishItem {
            id: 1,
            kind,
            login: login.into(),
            kacky_id: id,
            score,
            rank: Some(3).filter(|_| kind == FinishKind::Finish),
            previous_score: prev,
            count: Some(25).filter(|_| kind == FinishKind::Milestone),
            at: Utc::now(),
        }
    }

    #[test]
    fn scores_read_like_trackmania_times() {
        assert_eq!(time(21_322), "0:21.322");
        assert_eq!(time(83_005), "1:23.005");
        assert_eq!(time(3_723_004), "1:02:03.004");
    }

    #[test]
    fn each_kind_has_its_line_and_names_are_inert() {
        let l = line("KR4", &item(FinishKind::Finish, "@everyone", Some(226), Some(30_000), None));
        assert_eq!(l, "\u{1f3c1} **@\u{200b}everyone** finished **#226** in 0:30.000 (rank 3)");
        let l = line("KR4", &item(FinishKind::Pb, "a_b", Some(226), Some(29_500), Some(30_000)));
        assert!(l.contains("**a\\_b** improved **#226** to 0:29.500, 0:00.500 faster"), "{l}");
        let l = line("KR4", &item(FinishKind::Wr, "TeraTM", Some(17), Some(21_000), Some(21_322)));
        assert_eq!(l, "\u{1f3c6} New world record on KR4 **#17**: 0:21.000 by **TeraTM** (was 0:21.322)");
        let l = line("KR4", &item(FinishKind::Milestone, "x", None, None, None));
        assert_eq!(l, "\u{1f389} **x** has finished **25** maps of KR4");
    }

    #[test]
    fn lines_are_batched_within_the_limits() {
        let lines: Vec<(String, Vec<String>)> =
            (0..300).map(|i| (format!("line {i} {}", "x".repeat(40)), vec![format!("{:018}", i % 150)])).collect();
        let b = bodies(&lines);
        assert!(b.len() > 1);
        assert_eq!(b.iter().map(|(_, n)| n).sum::<usize>(), 300, "every line once");
        for (body, _) in &b {
            let content = body["content"].as_str().unwrap();
            assert!(content.chars().count() <= MAX_CONTENT);
            let users = body["allowed_mentions"]["users"].as_array().unwrap();
            assert!(users.len() <= MAX_MENTIONS);
            assert_eq!(body["allowed_mentions"]["parse"], json!([]));
            for u in users {
                assert!(content.contains(&format!("<@{}>", u.as_str().unwrap())));
            }
        }
        assert!(bodies(&[]).is_empty());
        let long = bodies(&[("y".repeat(5000), vec![])]);
        assert_eq!(long[0].0["content"].as_str().unwrap().chars().count(), MAX_CONTENT);
    }
}

//! The Discord message of one play: the event, the map number and author, the server, the start
//! as a Discord timestamp, a mention of each player whose profile holds a Discord user id, and
//! the other players by name, unpinged. Mentions are allowed only for those ids
//! (`allowed_mentions.parse` is empty), so `@everyone`/`@here` can never ring, whatever a name
//! says. Pure, so the text is unit-tested.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Discord's limit on a message's `content`.
pub const MAX_CONTENT: usize = 2000;
/// Discord's limit on `allowed_mentions.users`.
pub const MAX_MENTIONS: usize = 100;

/// What the message says about the play.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// `KK7`.
    pub event_label: String,
    pub kacky_id: i64,
    pub author: String,
    pub server: i64,
    /// The server's difficulty word, empty if none.
    pub difficulty: String,
    pub start: DateTime<Utc>,
}

/// A player to tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    pub name: String,
    /// The profile's `discord` field.
    pub discord: String,
}

/// The Discord user id in a profile's `discord` field: a snowflake of 17–20 digits, also
/// accepted as a mention `<@…>` / `<@!…>`. Anything else (an old `name#1234` handle) is no id.
pub fn discord_id(field: &str) -> Option<&str> {
    let f = field.trim();
    let inner = f.strip_prefix("<@").and_then(|r| r.strip_suffix('>')).map(|r| r.trim_start_matches('!')).unwrap_or(f);
    ((17..=20).contains(&inner.len()) && inner.bytes().all(|b| b.is_ascii_digit())).then_some(inner)
}

/// Text from players or admins, made inert: no markdown, no mention syntax, one line.
pub fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '#' | '[' | ']' | '(' | ')' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{200b}"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn header(n: &Notice) -> String {
    let unix = n.start.timestamp();
    let server = if n.difficulty.is_empty() {
        format!("server {}", n.server)
    } else {
        format!("server {} ({})", n.server, inert(&n.difficulty))
    };
    format!(
        "\u{23f0} **{}** map **#{}** by {} comes up on {server} <t:{unix}:R> (<t:{unix}:t>).",
        n.event_label,
        n.kacky_id,
        inert(&n.author)
    )
}

/// The webhook bodies for one play: usually one; more when the mentions and names do not fit
/// in [`MAX_CONTENT`] characters or [`MAX_MENTIONS`] mentions.
pub fn bodies(notice: &Notice, recipients: &[Recipient]) -> Vec<Value> {
    let head = header(notice);
    let mut bodies = Vec::new();
    let (mut content, mut ids): (String, Vec<String>) = (head.clone(), Vec::new());
    let mut names_started = false;
    let tokens = recipients
        .iter()
        .filter_map(|r| discord_id(&r.discord).map(|id| (format!("<@{id}>"), Some(id.to_owned()))))
        .chain(recipients.iter().filter(|r| discord_id(&r.discord).is_none()).map(|r| (inert(&r.name), None)));
    for (token, id) in tokens {
        let separator = match (&id, names_started) {
            (Some(_), _) if ids.is_empty() => "\n",
            (Some(_), _) => " ",
            (None, false) => "\nAlso alarmed: ",
            (None, true) => ", ",
        };
        let too_long = content.chars().count() + separator.chars().count() + token.chars().count() > MAX_CONTENT;
        if too_long || (id.is_some() && ids.len() == MAX_MENTIONS) {
            bodies.push(body(content, &ids));
            content = format!("{head} (continued)");
            ids.clear();
            let separator = if id.is_some() { "\n" } else { "\nAlso alarmed: " };
            content.push_str(separator);
        } else {
            content.push_str(separator);
        }
        if id.is_none() {
            names_started = true;
        }
        content.push_str(&token);
        if let Some(id) = id {
            ids.push(id);
        }
    }
    bodies.push(body(content, &ids));
    bodies
}

fn body(content: String, ids: &[String]) -> Value {
    json!({"content": content, "allowed_mentions": {"parse": [], "users": ids}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn notice() -> Notice {
        Notice {
            event_label: "KK7".into(),
            kacky_id: 215,
            author: "some*author".into(),
            server: 3,
            difficulty: "white".into(),
            start: Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap(),
        }
    }

    fn r(name: &str, discord: &str) -> Recipient {
        Recipient { name: name.into(), discord: discord.into() }
    }

    #[test]
    fn ids_are_snowflakes() {
        assert_eq!(discord_id(" 123456789012345678 "), Some("123456789012345678"));
        assert_eq!(discord_id("<@!123456789012345678>"), Some("123456789012345678"));
        for no in ["", "name#1234", "1234", "123456789012345678901", "12345678901234567a"] {
            assert_eq!(discord_id(no), None, "{no}");
        }
    }

    #[test]
    fn one_message_mentions_ids_and_names_the_others() {
        let b = bodies(&notice(), &[r("hunter", "123456789012345678"), r("@everyone", "old#1234"), r("bob", "")]);
        assert_eq!(b.len(), 1);
        let content = b[0]["content"].as_str().unwrap();
        assert!(
            content.starts_with(
                "\u{23f0} **KK7** map **#215** by some\\*author comes up on server 3 (white) <t:1717243200:R>"
            ),
            "{content}"
        );
        assert!(content.contains("\n<@123456789012345678>\nAlso alarmed: @\u{200b}everyone, bob"), "{content}");
        assert_eq!(b[0]["allowed_mentions"], json!({"parse": [], "users": ["123456789012345678"]}));
    }

    #[test]
    fn long_lists_are_split_within_the_limits() {
        let many: Vec<Recipient> = (0..250)
            .map(|i| {
                if i % 2 == 0 {
                    r(&format!("player{i}"), &format!("{:018}", i))
                } else {
                    r(&format!("player{i}"), "")
                }
            })
            .collect();
        let b = bodies(&notice(), &many);
        assert!(b.len() > 1);
        let mut mentioned = 0;
        for body in &b {
            let content = body["content"].as_str().unwrap();
            assert!(content.chars().count() <= MAX_CONTENT);
            let users = body["allowed_mentions"]["users"].as_array().unwrap();
            assert!(users.len() <= MAX_MENTIONS);
            for u in users {
                assert!(content.contains(&format!("<@{}>", u.as_str().unwrap())));
            }
            mentioned += users.len();
        }
        assert_eq!(mentioned, 125);
        let all: String = b.iter().map(|x| x["content"].as_str().unwrap()).collect();
        assert!((0..250).filter(|i| i % 2 == 1).all(|i| all.contains(&format!("player{i}"))));
    }
}

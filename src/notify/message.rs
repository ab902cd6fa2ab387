//! The Discord message of one play: the event, the map number and author, the server, the start
//! as a Discord timestamp, a mention of each player who may be pinged (the id the mention rules
//! chose, [`super::mentions`]), and the other players by name, unpinged. Mentions are allowed only for those ids
//! (`allowed_mentions.parse` is empty), so `@everyone`/`@here` can never ring, whatever a name
//! says. Each id is mentioned once even when several accounts give it (Discord refuses a
//! message whose `allowed_mentions.users` repeats an id). Long lists are split into several
//! messages; each says which accounts it tells, so deliveries are recorded message by message.
//! Pure, so the text is unit-tested.

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
    /// The account (what the delivery is recorded for).
    pub user_id: i64,
    pub name: String,
    /// The Discord id to ping, as the mention rules decided ([`super::mentions`]); `None`:
    /// listed by name.
    pub mention: Option<String>,
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

/// One webhook message and the accounts it tells.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub body: Value,
    pub users: Vec<i64>,
}

/// What one recipient line holds: a mention (an id, with every account that gives it) or a
/// name.
struct Token {
    text: String,
    id: Option<String>,
    users: Vec<i64>,
}

/// The mentions first (one per distinct id, in the order the ids first appear), then the
/// names of the players without an id.
fn tokens(recipients: &[Recipient]) -> Vec<Token> {
    let mut mentions: Vec<Token> = Vec::new();
    let mut names = Vec::new();
    for r in recipients {
        match r.mention.as_deref() {
            Some(id) => match mentions.iter_mut().find(|t| t.id.as_deref() == Some(id)) {
                Some(t) => t.users.push(r.user_id),
                None => {
                    mentions.push(Token { text: format!("<@{id}>"), id: Some(id.to_owned()), users: vec![r.user_id] })
                }
            },
            None => names.push(Token { text: inert(&r.name), id: None, users: vec![r.user_id] }),
        }
    }
    mentions.extend(names);
    mentions
}

/// The webhook messages for one play: usually one; more when the mentions and names do not
/// fit in [`MAX_CONTENT`] characters or [`MAX_MENTIONS`] mentions.
pub fn bodies(notice: &Notice, recipients: &[Recipient]) -> Vec<Chunk> {
    let head = header(notice);
    let mut chunks = Vec::new();
    let (mut content, mut ids, mut users): (String, Vec<String>, Vec<i64>) = (head.clone(), Vec::new(), Vec::new());
    let mut names_started = false;
    for token in tokens(recipients) {
        let separator = match (&token.id, names_started) {
            (Some(_), _) if ids.is_empty() => "\n",
            (Some(_), _) => " ",
            (None, false) => "\nAlso alarmed: ",
            (None, true) => ", ",
        };
        let too_long = content.chars().count() + separator.chars().count() + token.text.chars().count() > MAX_CONTENT;
        if too_long || (token.id.is_some() && ids.len() == MAX_MENTIONS) {
            chunks.push(chunk(content, &ids, std::mem::take(&mut users)));
            content = format!("{head} (continued)");
            ids.clear();
            content.push_str(if token.id.is_some() { "\n" } else { "\nAlso alarmed: " });
        } else {
            content.push_str(separator);
        }
        if token.id.is_none() {
            names_started = true;
        }
        content.push_str(&token.text);
        ids.extend(token.id);
        users.extend(token.users);
    }
    chunks.push(chunk(content, &ids, users));
    chunks
}

fn chunk(content: String, ids: &[String], users: Vec<i64>) -> Chunk {
    Chunk { body: json!({"content": content, "allowed_mentions": {"parse": [], "users": ids}}), users }
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

    /// A recipient whose typed `discord` field rings when it holds an id (the rules without
    /// the account link).
    fn r(name: &str, discord: &str) -> Recipient {
        let user_id = name.bytes().map(i64::from).sum();
        Recipient { user_id, name: name.into(), mention: discord_id(discord).map(str::to_owned) }
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
        let chunks = bodies(&notice(), &[r("hunter", "123456789012345678"), r("@everyone", "old#1234"), r("bob", "")]);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].users.len(), 3);
        let b: Vec<&Value> = chunks.iter().map(|c| &c.body).collect();
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
                let discord = if i % 2 == 0 { format!("{:018}", i) } else { String::new() };
                Recipient { user_id: i, ..r(&format!("player{i}"), &discord) }
            })
            .collect();
        let chunks = bodies(&notice(), &many);
        assert!(chunks.len() > 1);
        let told: Vec<i64> = chunks.iter().flat_map(|c| c.users.clone()).collect();
        assert_eq!(told.len(), 250, "every account is in exactly one message");
        let b: Vec<&Value> = chunks.iter().map(|c| &c.body).collect();
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
        for c in &chunks {
            let content = c.body["content"].as_str().unwrap();
            for u in &c.users {
                let i = *u;
                let named = content.contains(&format!("<@{:018}>", i)) || content.contains(&format!("player{i}"));
                assert!(named, "the message tells the accounts it lists: {i}");
            }
        }
    }

    #[test]
    fn an_id_given_by_two_accounts_is_mentioned_once() {
        let same = "123456789012345678";
        let chunks = bodies(&notice(), &[r("main", same), r("alt", &format!("<@{same}>")), r("bob", "")]);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].body["allowed_mentions"]["users"], json!([same]));
        let content = chunks[0].body["content"].as_str().unwrap();
        assert_eq!(content.matches(same).count(), 1, "{content}");
        let mut users = chunks[0].users.clone();
        users.sort_unstable();
        let mut expected = vec![r("main", "").user_id, r("alt", "").user_id, r("bob", "").user_id];
        expected.sort_unstable();
        assert_eq!(users, expected, "both accounts are told");
    }
}

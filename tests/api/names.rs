//! User names: normalised at registration, hidden characters refused, look-alikes collide;
//! existing accounts keep their names, logins and tokens across the key migration.

use std::time::{Duration, Instant};

use kacky_backend::domain::UserName;
use serde_json::{json, Value};

use crate::common::{payload, spawn, spawn_with, Options, TestApp};

async fn register(app: &TestApp, user: &str) -> (u16, Value) {
    app.post_json("/register", json!({"user": user, "pwd": "password1", "mail": "x@example.com"}), None).await
}

#[tokio::test]
async fn each_kind_of_odd_name_is_refused_or_collides() {
    let app = spawn().await;
    assert_eq!(register(&app, "bob").await, (201, json!("Created")));
    let conflict = (409, json!("Conflict"));
    // Blanks: trailing (as before), leading, and NBSP (NFKC makes it a space) are trimmed.
    assert_eq!(register(&app, "bob ").await, conflict, "trailing blank");
    assert_eq!(register(&app, " bob").await, conflict, "leading blank");
    assert_eq!(register(&app, "bob\u{a0}").await, conflict, "NBSP");
    assert_eq!(register(&app, "\u{a0}BOB\u{3000}").await, conflict, "NBSP, ideographic space, case");
    // Compatibility forms and look-alikes from other scripts mean the same name.
    assert_eq!(register(&app, "ｂｏｂ").await, conflict, "fullwidth letters (NFKC)");
    assert_eq!(register(&app, "b\u{43e}b").await, conflict, "Cyrillic о");
    assert_eq!(register(&app, "\u{412}\u{41e}\u{412}").await, conflict, "Cyrillic ВОВ");
    assert_eq!(register(&app, "b0b").await, conflict, "digit zero (TR39 skeleton)");
    // Invisible and control characters are refused with the rule and the code point.
    for (name, code) in [
        ("b\u{200b}ob", "U+200B"),
        ("bob\u{0}", "U+0000"),
        ("\u{202e}bob", "U+202E"),
        ("bo\u{200d}b", "U+200D"),
        ("bob\u{feff}", "U+FEFF"),
        ("b\tob", "U+0009"),
        ("\u{2800}", "U+2800"),
    ] {
        let (s, b) = register(&app, name).await;
        assert_eq!(s, 400, "{name:?}: {b}");
        let msg = b["msg"].as_str().unwrap();
        assert!(msg.contains("must not contain control, format or invisible characters"), "{msg}");
        assert!(msg.contains(code), "{name:?}: {msg}");
    }
    assert_eq!(register(&app, "\u{a0} \u{3000}").await.0, 400, "blank after NFKC");
    let n: i64 = app.sql().query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1, "only bob was created");

    // A name is stored normalised; it logs in as typed at registration or as stored.
    assert_eq!(register(&app, "\u{a0}Ｃarol ").await, (201, json!("Created")));
    let stored: String =
        app.sql().query_row("SELECT username FROM users WHERE username_key = 'carol'", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, "Carol");
    app.login("\u{a0}Ｃarol ", "password1").await;
    let t = app.login("carol", "password1").await;
    assert_eq!(payload(&t)["sub"], "carol", "the token names the user as typed at login (old behaviour)");
    // Look-alikes do not log in to someone else's account: a login needs the name itself.
    let (s, b) = app.post_json("/login", json!({"user": "b\u{43e}b", "pwd": "password1"}), None).await;
    assert_eq!((s, b), (401, json!("Wrong username or password")));
    // Password reset finds accounts by the same key.
    let (s, _) = app.post_json("/pwdreset", json!({"user": " BOB", "mail": "x@example.com"}), None).await;
    assert_eq!(s, 200);
}

/// Accounts as the previous version stored them: names it accepted, keys under its rule
/// (lower case, trailing blanks removed), no key-rule marker.
fn make_old_accounts(app: &TestApp, renames: &[(&str, &str, &str)]) {
    let db = app.sql();
    for (tmp, name, old_key) in renames {
        let n = db
            .execute("UPDATE users SET username = ?2, username_key = ?3 WHERE username = ?1", [tmp, name, old_key])
            .unwrap();
        assert_eq!(n, 1, "{tmp}");
    }
    db.execute("DELETE FROM app_meta WHERE key = 'users.username_key_rule'", []).unwrap();
}

#[tokio::test]
async fn existing_accounts_keep_their_names_logins_and_tokens() {
    let app = spawn().await;
    let names = ["Anna", "tmp-lead", "tmp-wide", "tmp-cyr", "tmp-zwsp"];
    let mut tokens = Vec::new();
    for (i, n) in names.iter().enumerate() {
        tokens.push(app.register_login(n, &format!("password-{i}")).await);
    }
    // What the previous version allowed: a leading blank, fullwidth letters, a Cyrillic А, a
    // zero-width space. Keys were its own: lower case, trailing blanks removed.
    let old = [
        ("tmp-lead", " anna", " anna"),
        ("tmp-wide", "ａｎｎａ", "ａｎｎａ"),
        ("tmp-cyr", "\u{410}nna", "\u{430}nna"),
        ("tmp-zwsp", "an\u{200b}na", "an\u{200b}na"),
    ];
    make_old_accounts(&app, &old);
    let dir = app.stop().await;
    let app = spawn_with(Options { dir: Some(dir), ..Default::default() }).await;

    // The oldest keeps the key; the newer ones that mean the same name keep their old key behind
    // `OLD:`; the Cyrillic one is only a look-alike and gets its own new key.
    let keys: Vec<(String, String)> = {
        let db = app.sql();
        let mut st = db.prepare("SELECT username, username_key FROM users ORDER BY id").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    let expected = [
        ("Anna", "anna"),
        (" anna", "OLD: anna"),
        ("ａｎｎａ", "OLD:ａｎｎａ"),
        ("\u{410}nna", "\u{430}nna"),
        ("an\u{200b}na", "OLD:an\u{200b}na"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect();
    assert_eq!(keys, expected, "names unchanged, keys recomputed once");

    // Every account logs in with its name spelt as before (the old rule: any case, trailing
    // blanks), and its tokens from before the upgrade keep working.
    let logins = [("ANNA ", 0), (" anna", 1), (" ANNA", 1), ("ａｎｎａ", 2), ("\u{410}NNA", 3), ("AN\u{200b}NA", 4)];
    for (login, i) in logins {
        let t = app.login(login, &format!("password-{i}")).await;
        assert_eq!(payload(&t)["uid"], payload(&tokens[i])["uid"], "{login:?}");
        assert_eq!(payload(&t)["sub"], login);
    }
    for (i, t) in tokens.iter().enumerate() {
        assert_eq!(app.get_auth("/usermgnt", t).await.0, 200, "token of {}", names[i]);
    }
    // Nobody can register any of these names again.
    for name in ["anna", " Anna", "ａｎｎａ", "\u{430}nna", "\u{410}NNA"] {
        assert_eq!(register(&app, name).await, (409, json!("Conflict")), "{name:?}");
    }
    // `admin promote` finds accounts the same way.
    {
        let conn = app.sql();
        assert!(kacky_backend::db::users::set_admin(&conn, " ANNA", true).unwrap());
        let admins: Vec<String> = conn
            .prepare("SELECT username FROM users WHERE is_admin = 1")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(admins, [" anna"]);
    }

    // The migration ran once: a later start leaves the keys alone.
    let dir = app.stop().await;
    let app = spawn_with(Options { dir: Some(dir), ..Default::default() }).await;
    let n: i64 =
        app.sql().query_row("SELECT COUNT(*) FROM users WHERE username_key LIKE 'OLD:%'", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 3);
    app.login(" anna", "password-1").await;
}

/// The import keeps accounts the old system kept apart: a dump with ` admin` next to `Admin`
/// (different names under the old collation, the same under the current key) imports both,
/// the later one under `OLD:` + its old key, exactly as the start-up key migration does, and
/// importing the same dump again changes nothing. Look-alikes import as separate accounts.
#[test]
fn an_import_with_names_that_now_mean_the_same_keeps_both_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let (dump, _) = crate::import::broken_dump(
        dir.path(),
        "INSERT INTO `kack_users` (`id`, `username`, `password`, `mail`) VALUES (7, ' admin', 'ab', 'cd'), (8, '\u{410}dmin', 'ab', 'cd');\n",
    );
    crate::import::import_ok(dir.path(), &dump);
    let keys = || {
        let db = rusqlite::Connection::open(dir.path().join("kacky.db")).unwrap();
        let mut st = db.prepare("SELECT id, username_key FROM users WHERE id IN (1, 7, 8) ORDER BY id").unwrap();
        st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    let first = keys();
    assert_eq!(first[0], (1, "admin".to_owned()));
    assert_eq!(first[1], (7, "OLD: admin".to_owned()), "the later account keeps its old key");
    assert_eq!(first[2].0, 8);
    assert!(!first[2].1.starts_with("OLD:"), "a look-alike is its own name: {first:?}");
    // Again: the same keys (the stored `OLD:` form counts as the account's own).
    crate::import::import_ok(dir.path(), &dump);
    assert_eq!(keys(), first);
    // Two accounts with the same name under the old rule itself still stop the import.
    let (dump, line) = crate::import::broken_dump(
        dir.path(),
        "INSERT INTO `kack_users` (`id`, `username`, `password`, `mail`) VALUES (9, 'ADMIN ', 'ab', 'cd');\n",
    );
    let err = crate::import::import_fails(dir.path(), &dump);
    assert!(err.contains(&format!("line {line}")) && err.contains("already used by user id"), "{err}");
}

/// The streamer target means one account, found as a login finds a typed name: of `Anna` and
/// the older ` anna` (now the same name, kept apart under `OLD:`), only the one that logs in
/// with the target sees the message.
#[tokio::test]
async fn a_streamer_target_means_the_account_that_logs_in_with_it() {
    let app = spawn().await;
    app.register_login("Anna", "password-0").await;
    app.register_login("tmp-lead", "password-1").await;
    make_old_accounts(&app, &[("tmp-lead", " anna", " anna")]);
    let dir = app.stop().await;
    let app = spawn_with(Options { dir: Some(dir), ..Default::default() }).await;
    let anna = app.login("Anna", "password-0").await;
    let lead = app.login(" anna", "password-1").await;
    app.post_json("/post", json!({"pwd": "streampw", "message": "hi"}), None).await;

    let seen = |target: &'static str| {
        let (app, anna, lead) = (&app, &anna, &lead);
        async move {
            let set = app.post_json("/target", json!({"pwd": "streampw", "target": target}), None).await;
            assert_eq!(set, (200, json!("OK")));
            (
                app.get_auth("/stream", anna).await.1["data"].clone(),
                app.get_auth("/stream", lead).await.1["data"].clone(),
            )
        }
    };
    assert_eq!(seen("ANNA").await, (json!("hi"), json!("")));
    assert_eq!(seen(" anna").await, (json!(""), json!("hi")));
    assert_eq!(seen("nobody").await, (json!(""), json!("")));
}

/// 10,000 accounts (keys computed by the start-up rekey, as after an upgrade): a registration
/// reads the look-alike key through its index instead of computing it for every account inside
/// the write transaction, so it holds the write lock well under 20 ms.
#[tokio::test]
async fn with_ten_thousand_accounts_a_registration_checks_look_alikes_through_the_index() {
    let app = spawn().await;
    {
        let mut db = app.sql();
        let tx = db.transaction().unwrap();
        for i in 0..10_000 {
            let name = format!("player{i}");
            tx.execute("INSERT INTO users (username, username_key, password, mail) VALUES (?1, ?1, 'x', 'm')", [&name])
                .unwrap();
        }
        tx.execute("DELETE FROM app_meta WHERE key = 'users.lookalike_key_rule'", []).unwrap();
        tx.commit().unwrap();
    }
    let app = spawn_with(Options { dir: Some(app.stop().await), ..Default::default() }).await;
    let db = app.sql();
    let missing: i64 =
        db.query_row("SELECT COUNT(*) FROM users WHERE lookalike_key IS NULL", [], |r| r.get(0)).unwrap();
    assert_eq!(missing, 0, "the start-up rekey computed every look-alike key");
    let plans: Vec<String> = db
        .prepare("EXPLAIN QUERY PLAN SELECT EXISTS (SELECT 1 FROM users WHERE lookalike_key = 'x')")
        .unwrap()
        .query_map([], |r| r.get(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(plans.iter().any(|p| p.contains("INDEX users_lookalike_key")), "{plans:?}");

    // The database part of a registration, timed directly (argon2 is not part of the lock).
    let mut conn = app.state.db.conn().unwrap();
    let mut best = Duration::MAX;
    for i in 0..3 {
        let name = UserName::parse(&format!("newcomer{i}")).unwrap();
        let started = Instant::now();
        let created = kacky_backend::db::users::create(&mut conn, &name, "hash", "mail", false).unwrap();
        best = best.min(started.elapsed());
        assert!(created.is_some());
    }
    eprintln!("a registration's transaction with 10,000 accounts: {best:?} (best of 3)");
    assert!(best < Duration::from_millis(20), "{best:?}");
    drop(conn);

    // And over HTTP: a look-alike of one of them is refused, a new name is not.
    assert_eq!(register(&app, "p1ayer4242").await.0, 409, "`1` looks like `l`");
    assert_eq!(register(&app, "PLAYER9999").await.0, 409);
    assert_eq!(register(&app, "someone new").await.0, 201);
}

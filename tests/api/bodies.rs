//! Request bodies as the old frontends and clients send them, bad ones included: every refusal
//! keeps the status and message the hand-written checks gave before the bodies became typed
//! structs (issue 23), recorded from that build.

use reqwest::Method;
use serde_json::Value;

use crate::admin::admin_token;
use crate::common::spawn;

/// `<x*81>` in a case stands for 81 `x`.
fn expand(s: &str) -> String {
    match s.split_once('<').and_then(|(head, rest)| Some((head, rest.split_once('>')?))) {
        Some((head, (run, tail))) => {
            let (c, n) = run.split_once('*').unwrap();
            format!("{head}{}{}", c.repeat(n.parse().unwrap()), expand(tail))
        }
        None => s.to_owned(),
    }
}

/// One case a line: method, path, body `=>` the 400 answer. The profile and sheet are sent
/// with a player's token, `/manage…` and `/mapinfo…` with an admin's.
const REFUSED: &str = r#"
POST /register {"user": "x", "pwd": "password1"} => {"msg": "`mail` is missing"}
POST /register {"user": 5, "pwd": "password1", "mail": "a@b.cd"} => {"msg": "`user` must be a string, got a number"}
POST /register {"user": "<x*81>", "pwd": "password1", "mail": "a@b.cd"} => {"msg": "`user` is longer than 80 characters"}
POST /register {"user": "", "pwd": "password1", "mail": "a@b.cd"} => {"msg": "`user` must have at least 1 characters"}
POST /register {"user": "shortpw", "pwd": "short", "mail": "a@b.cd"} => {"msg": "`pwd` must have 8 to 80 characters"}
POST /register {"user": "nomail", "pwd": "password1", "mail": "not-a-mail"} => {"msg": "`mail` must be a mail address"}
POST /register ["a", "list"] => {"msg": "expected a JSON object, got a list"}
POST /register "str" => {"msg": "expected a JSON object, got a string"}
POST /register 5 => {"msg": "expected a JSON object, got a number"}
POST /register {} => {"msg": "`user` is missing"}
POST /register {"user": null, "pwd": "password1", "mail": "a@b.cd"} => {"msg": "`user` is missing"}
POST /register {"user": "a\u200bb", "pwd": "password1", "mail": "a@b.cd"} => {"msg": "`user` must not contain control, format or invisible characters (it contains U+200B)"}
POST /register {"user": "   ", "pwd": "password1", "mail": "a@b.cd"} => {"msg": "`user` must not be blank"}
POST /register {"user": "okname", "pwd": "password1", "mail": "ab"} => {"msg": "`mail` must have at least 3 characters"}
POST /register {"user": "okname", "pwd": ["x"], "mail": "a@b.cd"} => {"msg": "`pwd` must be a string, got a list"}
POST /login {"user": "kim"} => {"msg": "`pwd` is missing"}
POST /login {"user": "kim", "pwd": ["x"]} => {"msg": "`pwd` must be a string, got a list"}
POST /login {"user": null, "pwd": "x"} => {"msg": "`user` is missing"}
POST /login {"user": "<y*81>", "pwd": "x"} => {"msg": "`user` is longer than 80 characters"}
POST /login {"user": "", "pwd": "x"} => {"msg": "`user` must have at least 1 characters"}
POST /login [1] => {"msg": "expected a JSON object, got a list"}
POST /pwdreset {} => {"msg": "expected either `user` and `mail` (request a token) or `token` and `pwd` (set a new password)"}
POST /pwdreset {"token": "abc", "pwd": "password9"} => {"msg": "`token` must have at least 6 characters"}
POST /pwdreset {"user": "kim", "mail": 7} => {"msg": "`mail` must be a string, got a number"}
POST /pwdreset {"token": "zzzzz", "pwd": "password9"} => {"msg": "`token` must have at least 6 characters"}
POST /pwdreset {"token": 123456, "pwd": "password9"} => {"msg": "`token` must be a string, got a number"}
POST /pwdreset {"token": "zzzzzz", "pwd": "short"} => {"msg": "`pwd` must have 8 to 80 characters"}
POST /pwdreset {"user": "kim", "mail": "<y*81>"} => {"msg": "`mail` is longer than 80 characters"}
POST /pwdreset {"user": "", "mail": "a@b.cd"} => {"msg": "`user` must have at least 1 characters"}
POST /pwdreset {"user": "kim", "mail": ""} => {"msg": "`mail` must have at least 1 characters"}
POST /pwdreset {"token": null, "pwd": "x"} => {"msg": "expected either `user` and `mail` (request a token) or `token` and `pwd` (set a new password)"}
POST /pwdreset [1] => {"msg": "expected a JSON object, got a list"}
POST /usermgnt {"tmnf": "<x*51>"} => {"msg": "`tmnf` is longer than 50 characters"}
POST /usermgnt {"mail": "nope"} => {"msg": "`mail` must be a mail address"}
POST /usermgnt {"tmnf": "changed", "tm20": 5} => {"msg": "`tm20` must be a string, got a number"}
POST /usermgnt {"discord": "<x*81>"} => {"msg": "`discord` is longer than 80 characters"}
POST /usermgnt {"tmnf": "a\nb"} => {"msg": "`tmnf` must hold only letters, digits, `_`, `-` and `.` (a game login); it contains U+000A"}
POST /usermgnt {"tm20": ".."} => {"msg": "`tm20` must not be `.` or `..`"}
POST /usermgnt {"finish_feed": 2} => {"msg": "`finish_feed` must be true or false, got a number"}
POST /usermgnt {"finish_feed": "yes"} => {"msg": "`finish_feed` must be true or false, got a string"}
POST /usermgnt {"pwd": "short"} => {"msg": "`pwd` must have 8 to 80 characters"}
POST /usermgnt {"pwd": 5} => {"msg": "`pwd` must be a string, got a number"}
POST /usermgnt {"mail": 5} => {"msg": "`mail` must be a string, got a number"}
POST /usermgnt [] => {"msg": "expected a JSON object, got a list"}
POST /usermgnt {"pwd": "<p*81>"} => {"msg": "`pwd` is longer than 80 characters"}
POST /spreadsheet/kk {"diff": 2} => {"msg": "`mapid` is missing"}
POST /spreadsheet/kk {"mapid": "201", "diff": 7} => {"msg": "`diff` must be a whole number from 0 to 6, got 7"}
POST /spreadsheet/kk {"mapid": "201", "diff": "3"} => {"msg": "`diff` must be a whole number from 0 to 6, got \"3\""}
POST /spreadsheet/kk {"mapid": "201", "diff": 2.5} => {"msg": "`diff` must be a whole number from 0 to 6, got 2.5"}
POST /spreadsheet/kk {"mapid": "201", "clip": "<c*151>"} => {"msg": "`clip` is longer than 150 characters"}
POST /spreadsheet/kk {"mapid": "abc", "diff": 1} => {"msg": "`mapid` must be a kacky id, got \"abc\""}
POST /spreadsheet/kk {"mapid": {"x": 1}, "diff": 1} => {"msg": "`mapid` must be a kacky id string, got an object"}
POST /spreadsheet/kk {"mapid": null} => {"msg": "`mapid` must be a kacky id string, got null"}
POST /spreadsheet/kk {"mapid": 201.5} => {"msg": "`mapid` must be a whole number"}
POST /spreadsheet/kk {"mapid": "201", "clip": 5} => {"msg": "`clip` must be a string, got a number"}
POST /spreadsheet/kk {"mapid": "201", "diff": true} => {"msg": "`diff` must be a whole number from 0 to 6, got true"}
POST /spreadsheet/kk {"mapid": "201", "diff": -1} => {"msg": "`diff` must be a whole number from 0 to 6, got -1"}
POST /spreadsheet/kk [1] => {"msg": "expected a JSON object, got a list"}
POST /manage/events {"create": 5} => {"msg": "`create` must be an object"}
POST /manage/events {"create": "x"} => {"msg": "`create` must be an object"}
POST /manage/events {"create": []} => {"msg": "`create` must be an object"}
POST /manage/events {"create": true} => {"msg": "`create` must be an object"}
POST /manage/events {"visible": 5} => {"msg": "`visible` must be an object with `id` and `value`"}
POST /manage/events {"visible": "x"} => {"msg": "`visible` must be an object with `id` and `value`"}
POST /manage/events {"visible": []} => {"msg": "`visible` must be an object with `id` and `value`"}
POST /manage/events {"visible": {}} => {"msg": "`id` is missing"}
POST /manage/events {"visible": {"id": 1}} => {"msg": "`visible.value` must be true, false or \"on\", got nothing"}
POST /manage/events {"visible": {"id": 1, "value": null}} => {"msg": "`visible.value` must be true, false or \"on\", got null"}
POST /manage/events {"visible": {"id": 1, "value": "maybe"}} => {"msg": "`visible.value` must be true, false or \"on\", got a string"}
POST /manage/events {"visible": {"id": 1, "value": [1]}} => {"msg": "`visible.value` must be true, false or \"on\", got a list"}
POST /manage/events {"visible": {"id": "x", "value": true}} => {"msg": "`id` must be a whole number, got a string"}
POST /manage/events {"visible": {"id": [1], "value": true}} => {"msg": "`id` must be a whole number, got a list"}
POST /manage/events {"visible": {"value": true}} => {"msg": "`id` is missing"}
POST /manage/events {"visible": {"id": " 1 ", "value": 2}} => {"msg": "`visible.value` must be true, false or \"on\", got a number"}
POST /manage/events {"create": {"type": "kk", "edition": "9", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`name` is missing"}
POST /manage/events {"create": {"name": "  ", "type": "kk", "edition": "9", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`name` is missing"}
POST /manage/events {"create": {"name": 5, "type": "kk", "edition": "9", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`name` must be a string, got a number"}
POST /manage/events {"create": {"name": "<n*81>", "type": "kk", "edition": "9", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`name` is longer than 80 characters"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "edition": "9", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`type` must be KK, KR or KX"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": 5, "edition": "9", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`type` must be KK, KR or KX"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "zz", "edition": "9", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`type` must be KK, KR or KX"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "kk", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`edition` is missing"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "kk", "edition": "x", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`edition` must be a whole number, got a string"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "kk", "edition": [1], "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`edition` must be a whole number, got a list"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "kk", "edition": -1, "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`edition` must not be negative"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "kk", "edition": 9.5, "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`edition` must be a whole number, got a number"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "kk", "edition": "9", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`startDate` is missing"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "kk", "edition": "9", "startDate": 5, "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`startDate` must be a string, got a number"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "kk", "edition": "9", "startDate": "<x*20>", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`startDate` is longer than 19 characters"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "kk", "edition": "9", "startDate": "someday", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => "Invalid date format!"
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "kk", "edition": "9", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "maxID": "350"}} => {"msg": "`minID` is missing"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "kk", "edition": "9", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "a", "maxID": "350"}} => {"msg": "`minID` must be a whole number, got a string"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "kk", "edition": "9", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": null}} => {"msg": "`maxID` must be a whole number, got null"}
POST /manage/events {"create": {"name": "Kackiest Kacky 9", "type": "kk", "edition": null, "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`edition` must be a whole number, got null"}
POST /manage/events {"create": {"name": null, "type": "kk", "edition": "9", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}} => {"msg": "`name` is missing"}
POST /manage/events {"create": {}} => {"msg": "`name` is missing"}
POST /manage/events {"create": {"name": 5, "edition": []}} => {"msg": "`name` must be a string, got a number"}
POST /manage/events [1] => {"msg": "expected a JSON object, got a list"}
POST /mapinfo/kk/9999 [1] => {"msg": "expected a JSON object, got a list"}
POST /mapinfo/kk/abc {"reset": 1} => {"msg": "`abc` is not a kacky id"}
PUT /manage/followed {} => {"msg": "`logins` is missing"}
PUT /manage/followed {"logins": null} => {"msg": "`logins` must be a list of strings, got null"}
PUT /manage/followed {"logins": "x"} => {"msg": "`logins` must be a list of strings, got a string"}
PUT /manage/followed {"logins": [1]} => {"msg": "`logins` must be a list of strings, found a number"}
PUT /manage/followed {"logins": ["ok", 5]} => {"msg": "`logins` must be a list of strings, found a number"}
PUT /manage/followed {"logins": [""]} => {"msg": "every login must have 1 to 50 characters and no control characters, got \"\""}
PUT /manage/followed {"logins": ["a\nb"]} => {"msg": "every login must have 1 to 50 characters and no control characters, got \"a\\nb\""}
PUT /manage/followed {"logins": ["<l*51>"]} => {"msg": "every login must have 1 to 50 characters and no control characters, got \"<l*51>\""}
PUT /manage/followed [1] => {"msg": "expected a JSON object, got a list"}
PUT /manage/worldrecords/kk/202 {"login": "x", "source": "KKDB"} => {"msg": "`score` is missing"}
PUT /manage/worldrecords/kk/202 {"score": 1, "login": "x", "source": "KKDB"} => {"msg": "`score` must be milliseconds from 2 to 86400000"}
PUT /manage/worldrecords/kk/202 {"score": "fast", "login": "x", "source": "KKDB"} => {"msg": "`score` must be a whole number, got a string"}
PUT /manage/worldrecords/kk/202 {"score": null, "login": "x", "source": "KKDB"} => {"msg": "`score` must be a whole number, got null"}
PUT /manage/worldrecords/kk/202 {"score": 1.5, "login": "x", "source": "KKDB"} => {"msg": "`score` must be milliseconds from 2 to 86400000"}
PUT /manage/worldrecords/kk/202 {"score": 86400001, "login": "x", "source": "KKDB"} => {"msg": "`score` must be milliseconds from 2 to 86400000"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "source": "KKDB"} => {"msg": "`login` or `nickname` must name the holder"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": 5, "source": "KKDB"} => {"msg": "`login` must be a string, got a number"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "<l*81>", "source": "KKDB"} => {"msg": "`login` is longer than 80 characters"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "x", "source": "KKDB", "nickname": "<n*201>"} => {"msg": "`nickname` is longer than 200 characters"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "a\tb", "source": "KKDB"} => {"msg": "`login` and `nickname` must not hold control characters"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "x", "source": "no spaces"} => {"msg": "`source` must be 1 to 16 letters, digits, `_` or `-` (like NADO)"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "x"} => {"msg": "`source` must be 1 to 16 letters, digits, `_` or `-` (like NADO)"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "x", "source": 5} => {"msg": "`source` must be a string, got a number"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "x", "source": "sssssssssssssssss"} => {"msg": "`source` is longer than 16 characters"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "x", "source": "KKDB", "date": "yesterday"} => {"msg": "`date` must be YYYY-MM-DD HH:MM:SS, RFC 3339 or unix seconds, got \"yesterday\""}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "x", "source": "KKDB", "date": [1]} => {"msg": "`date` must be YYYY-MM-DD HH:MM:SS, RFC 3339 or unix seconds, got a list"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "x", "source": "KKDB", "date": 1e+30} => {"msg": "`date` must be YYYY-MM-DD HH:MM:SS, RFC 3339 or unix seconds, got 1e+30"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "x", "source": "KKDB", "date": true} => {"msg": "`date` must be YYYY-MM-DD HH:MM:SS, RFC 3339 or unix seconds, got a boolean"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "x", "source": "KKDB", "version": "beta"} => {"msg": "`version` must look like [v2], v2 or 2, got \"beta\""}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "x", "source": "KKDB", "version": [1]} => {"msg": "`version` must be a string or a number, got a list"}
PUT /manage/worldrecords/kk/202 {"score": 1000, "login": "x", "source": "KKDB", "version": 0} => {"msg": "`version` must look like [v2], v2 or 2, got \"0\""}
PUT /manage/worldrecords/kk/202 [1, 2] => {"msg": "expected a JSON object, got a list"}
PUT /manage/worldrecords/kk/abc {"score": 1000, "login": "x", "source": "KKDB"} => {"msg": "`abc` is not a kacky id"}
"#;

#[tokio::test]
async fn bad_bodies_get_the_same_400_messages_as_before() {
    let app = spawn().await;
    let user = app.register_login("probe", "password1").await;
    let admin = admin_token(&app, "boss").await;
    for case in REFUSED.lines().filter(|l| !l.is_empty()) {
        let (request, answer) = case.split_once(" => ").unwrap();
        let (method, rest) = request.split_once(' ').unwrap();
        let (path, body) = rest.split_once(' ').unwrap();
        let token = if path.starts_with("/manage") || path.starts_with("/mapinfo") {
            Some(admin.as_str())
        } else if path.starts_with("/usermgnt") || path.starts_with("/spreadsheet") {
            Some(user.as_str())
        } else {
            None
        };
        let body: Value = serde_json::from_str(&expand(body)).unwrap();
        let expected: Value = serde_json::from_str(&expand(answer)).unwrap();
        let got = app.send_json(Method::from_bytes(method.as_bytes()).unwrap(), path, body, token).await;
        assert_eq!(got, (400, expected), "{case}");
    }
}

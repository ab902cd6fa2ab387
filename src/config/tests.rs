//! The loader against hand-written and arbitrary files.

use super::*;

fn src(yaml: &str) -> Source {
    Source::plain("config.yaml", serde_yaml::from_str(yaml).unwrap())
}

/// One declaration per key: the two files' keys are disjoint (so a `KACKY_*` variable
/// sets one key of one file), the old system's ignored keys are not among them, and a
/// file holding every key of its struct loads.
#[test]
fn every_key_is_declared_once_in_one_file() {
    let (config, secrets) = (files::declared::<ConfigFile>(), files::declared::<SecretsFile>());
    assert!(config.contains(&"port") && secrets.contains(&"jwt_secret"));
    for key in config.iter().chain(secrets) {
        let files = [config, secrets, CONFIG_COMPAT, SECRETS_COMPAT].iter().filter(|f| f.contains(key)).count();
        assert_eq!(files, 1, "{key}");
    }
    let every = |keys: &[&str], value: &str| keys.iter().map(|k| format!("{k}: {value}\n")).collect::<String>();
    let (cfg, sec) = (src(&every(config, "~")), src(&every(secrets, "https://x")));
    Settings::from_sources(&cfg, &sec, false).unwrap();
}

#[test]
fn old_file_with_db_keys_loads() {
    let cfg = src("port: 5005\nbind_hosts: 0.0.0.0\ncompstart: 2023-08-17T20:00\ncompend: '2023-09-17T22:00:00'\neventtype: KR\nedition: 4\nplaylist: custom\nlogtype: STDOUT\nloglevel: INFO\ndbhost: x\ndbport: 3306\ntesting_mode: 0\n");
    let sec = src("jwt_secret: abc\napi_pwd: p\ndbuser: root\n");
    let s = Settings::from_sources(&cfg, &sec, false).unwrap();
    assert_eq!(s.bind_hosts, "0.0.0.0");
    assert_eq!(s.eventtype, EventType::Kr);
    assert!(s.compstart.unwrap() < s.compend.unwrap());
    assert!(!s.testing_mode);
}

#[test]
fn connection_keys_have_defaults_a_day_at_most_and_refuse_zero() {
    let s = Settings::from_sources(&src(""), &src("jwt_secret: x"), false).unwrap();
    let keys = (s.header_read_timeout_s, s.request_timeout_s, s.keepalive_idle_timeout_s, s.shutdown_grace_s);
    assert_eq!(keys, (5, 30, 60, 10));
    assert_eq!(s.max_connections, 768);
    assert_eq!((s.live_max_streams, s.live_max_streams_per_client, s.write_stall_timeout_s), (384, 8, 30));
    let s = Settings::from_sources(
        &src("max_connections: 100\nrequest_timeout_s: 999999999"),
        &src("jwt_secret: x"),
        false,
    );
    let s = s.unwrap();
    assert_eq!((s.max_connections, s.request_timeout_s), (100, 86_400));
    let e = Settings::from_sources(&src("header_read_timeout_s: 0"), &src("jwt_secret: x"), false).unwrap_err();
    assert_eq!(e.to_string(), "config.yaml: key `header_read_timeout_s`: expected a positive integer, found 0");
}

/// Streams can never take every connection: the cap is checked against
/// `max_connections` at start, and follows it by default.
#[test]
fn live_streams_leave_a_quarter_of_the_connections() {
    let load = |yaml: &str| Settings::from_sources(&src(yaml), &src("jwt_secret: x"), false);
    let e = load("live_max_streams: 1000").unwrap_err();
    assert_eq!(
        e.to_string(),
        "config.yaml: key `live_max_streams`: expected 1 to 576 (three quarters of max_connections, 768, so \
         streams leave connections for the other requests; raise max_connections for more), found 1000"
    );
    assert!(load("live_max_streams: 0").is_err());
    assert_eq!(load("live_max_streams: 576").unwrap().live_max_streams, 576);
    assert_eq!(load("max_connections: 8000").unwrap().live_max_streams, 4000);
    assert_eq!(load("max_connections: 8000\nlive_max_streams: 5000").unwrap().live_max_streams, 5000);
    assert_eq!(load("max_connections: 1").unwrap().live_max_streams, 1);
}

#[test]
fn metrics_listen_is_off_by_default_and_names_a_bad_address() {
    let s = Settings::from_sources(&src(""), &src("jwt_secret: x"), false).unwrap();
    assert_eq!(s.metrics_listen, None);
    let s = Settings::from_sources(&src("metrics_listen: '[::1]:9091'"), &src("jwt_secret: x"), false).unwrap();
    assert_eq!(s.metrics_listen, Some("[::1]:9091".parse().unwrap()));
    let e = Settings::from_sources(&src("metrics_listen: 127.0.0.1:5005"), &src("jwt_secret: x"), false);
    assert_eq!(
        e.unwrap_err().to_string(),
        "config.yaml: key `metrics_listen`: expected another port than the public one (127.0.0.1:5005)"
    );
    let e = Settings::from_sources(&src("metrics_listen: 9091"), &src("jwt_secret: x"), false).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config.yaml: key `metrics_listen`: expected an IP address and port like 127.0.0.1:9091, found \"9091\""
    );
}

#[test]
fn kx_join_links_and_records_cache() {
    let s = Settings::from_sources(&src("eventtype: kx"), &src("jwt_secret: x"), false).unwrap();
    assert_eq!((s.eventtype, s.join_url_template.as_str(), s.records_cache_s), (EventType::Kx, "", 30));
    let demo = Settings::from_sources(&src("eventtype: KK"), &src(""), true).unwrap();
    assert_eq!(demo.join_url_template, "tmtp://#join={login}", "the demo links to its game");
    let s = Settings::from_sources(
        &src("join_url_template: 'x://{login}'\nrecords_cache_s: 0"),
        &src("jwt_secret: x"),
        false,
    );
    assert_eq!(s.map(|s| (s.join_url_template, s.records_cache_s)).unwrap(), ("x://{login}".to_owned(), 0));
    let e =
        Settings::from_sources(&src("join_url_template: tmtp://#join=a"), &src("jwt_secret: x"), false).unwrap_err();
    assert!(e.to_string().starts_with("config.yaml: key `join_url_template`: expected a link with {login}"), "{e}");
    let e = Settings::from_sources(&src("records_cache_s: -1"), &src("jwt_secret: x"), false).unwrap_err();
    assert!(e.to_string().contains("records_cache_s"), "{e}");
}

#[test]
fn readme_spelling_bind_host_is_accepted() {
    let s = Settings::from_sources(&src("bind_host: 10.0.0.1"), &src("jwt_secret: x"), false).unwrap();
    assert_eq!(s.bind_hosts, "10.0.0.1");
}

#[test]
fn errors_name_key_and_expectation() {
    let e = Settings::from_sources(&src("port: abc"), &src("jwt_secret: x"), false).unwrap_err();
    assert_eq!(e.to_string(), "config.yaml: key `port`: expected an integer, found the string \"abc\"");
    let e = Settings::from_sources(&src("loglevel: \"__import__('os')\""), &src("jwt_secret: x"), false).unwrap_err();
    assert!(e.to_string().contains("loglevel"));
    let e = Settings::from_sources(&src("port: 1"), &src("api_pwd: x"), false).unwrap_err();
    assert!(e.to_string().contains("jwt_secret"));
}

mod arbitrary {
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;
    use proptest::sample::select;
    use serde_yaml::{Mapping, Value};

    use super::super::*;

    /// YAML values of small depth, with strings the loader gives meaning to.
    fn value() -> impl Strategy<Value = Value> {
        let words = [
            "KK",
            "kr",
            "KX",
            "custom",
            "linear",
            "FILE",
            "STDOUT",
            "DEBUG",
            "warning",
            "2023-08-17T20:00",
            "2023-08-17",
            "2023-08-17 20:00:00",
            "2023-08-17T20:00:00+02:00",
            "9999-99-99",
            "~/x/k.log",
            "",
            "1.2.3.4",
            "0",
            "-1",
            "http://x/",
            "a, b",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| Value::Number(n.into())),
            (-5i64..100).prop_map(|n| Value::Number(n.into())),
            any::<f64>().prop_map(|f| Value::Number(f.into())),
            select(words.to_vec()).prop_map(|s| Value::String(s.into())),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(2, 16, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(Value::Sequence),
                btree_map("[a-z_]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Mapping(m.into_iter().map(|(k, v)| (Value::String(k), v)).collect())),
            ]
        })
    }

    fn to_text(map: Mapping) -> String {
        serde_yaml::to_string(&map).unwrap_or_default()
    }

    /// A file's text: a mapping of mostly declared keys, or YAML-like noise, or anything.
    fn file(kind: Kind) -> impl Strategy<Value = String> {
        let keys: Vec<String> = match kind {
            Kind::Config => files::declared::<ConfigFile>(),
            Kind::Secrets => files::declared::<SecretsFile>(),
        }
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
        let key = prop_oneof![3 => select(keys), 1 => "[a-z_]{1,10}"];
        // Most files start from a loadable one (a secrets file needs `jwt_secret`), so the
        // checks after the first key are reached too.
        let base: Mapping = match kind {
            Kind::Secrets => serde_yaml::from_str("jwt_secret: x").unwrap(),
            Kind::Config => Mapping::new(),
        };
        prop_oneof![
            6 => btree_map(key, value(), 0..4).prop_map(move |m| {
                let mut file = base.clone();
                file.extend(m.into_iter().map(|(k, v)| (Value::String(k), v)));
                to_text(file)
            }),
            1 => "[a-z_:\\- \\[\\]{}\n0-9'\"#&*!|>%@`,.]{0,64}",
            1 => ".{0,64}",
        ]
    }

    /// servers.yaml: server names to mostly well-formed entries.
    fn servers() -> impl Strategy<Value = String> {
        let field = select(vec!["server_number", "timelimit", "maps", "difficulty", "server_login", "serverlogin"]);
        let field_value = prop_oneof![
            value(),
            (-2i64..4).prop_map(|n| Value::Number(n.into())),
            vec(-3i64..300, 0..5)
                .prop_map(|v| Value::Sequence(v.into_iter().map(|n| Value::Number(n.into())).collect())),
        ];
        let entry = prop_oneof![
            4 => btree_map(field, field_value, 0..6)
                .prop_map(|m| Value::Mapping(m.into_iter().map(|(k, v)| (Value::String(k.into()), v)).collect())),
            1 => value(),
        ];
        prop_oneof![
            4 => btree_map("[A-Za-z0-9 ]{0,8}", entry, 0..4)
                .prop_map(|m| to_text(m.into_iter().map(|(k, v)| (Value::String(k), v)).collect())),
            1 => ".{0,64}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Whatever the three files hold, loading them gives settings or a `ConfigError`
        /// (which `main` turns into exit code 2), never a panic.
        #[test]
        fn arbitrary_files_load_or_fail_cleanly(config in file(Kind::Config), secrets in file(Kind::Secrets), servers in servers()) {
            let dir = tempfile::tempdir().unwrap();
            let put = |name: &str, text: &str| {
                let path = dir.path().join(name);
                std::fs::write(&path, text).unwrap();
                Some(path)
            };
            let paths = ConfigPaths {
                config: put("config.yaml", &config),
                secrets: put("secrets.yaml", &secrets),
                servers: put("servers.yaml", &servers),
            };
            if let Err(e) = Settings::load(&paths) {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}

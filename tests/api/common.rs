//! Test harness: the real router served on 127.0.0.1:0 with a fresh SQLite file per test.

use std::path::{Path, PathBuf};

use kacky_backend::api::AppState;
use kacky_backend::clock::Clock;
use kacky_backend::config::{ConfigPaths, Settings};
use serde_json::Value;
use tokio::sync::oneshot;

/// A config.yaml for a KK7 event that is live "now" (not in testing mode).
pub const LIVE_KK7: &str = "eventtype: KK\nedition: 7\ncompstart: 2000-01-01T00:00\ncompend: 2100-01-01T00:00\n";
pub const SECRETS: &str =
    "jwt_secret: test-secret-please-change\napi_pwd: pw\nrecords_api_key: rk\nmsg_send_pwd: streampw\n";

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

pub struct Options<'a> {
    pub config: &'a str,
    pub secrets: &'a str,
    pub servers: Option<&'a str>,
    pub clock: Clock,
    /// Reuse this directory (and its kacky.db) instead of a new one.
    pub dir: Option<tempfile::TempDir>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self { config: LIVE_KK7, secrets: SECRETS, servers: None, clock: Clock::system(), dir: None }
    }
}

pub fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

pub async fn spawn() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(o: Options<'_>) -> TestApp {
    let dir = o.dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
    let db = dir.path().join("kacky.db");
    let config = format!("{}\ndatabase: {}\n", o.config, db.display());
    let paths = ConfigPaths {
        config: Some(write(dir.path(), "config.yaml", &config)),
        secrets: Some(write(dir.path(), "secrets.yaml", o.secrets)),
        servers: o.servers.map(|s| write(dir.path(), "servers.yaml", s)),
    };
    let settings = Settings::load(&paths).expect("test config loads");
    let clock = o.clock.clone();
    let state = tokio::task::spawn_blocking(move || kacky_backend::prepare(settings, clock))
        .await
        .unwrap()
        .expect("app prepares");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let serve_state = state.clone();
    let handle = tokio::spawn(async move {
        kacky_backend::serve(listener, serve_state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestApp {
        base: format!("http://{addr}"),
        state,
        client: reqwest::Client::new(),
        dir,
        shutdown: Some(tx),
        handle: Some(handle),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.client.get(self.url(path)).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.client.get(self.url(path)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A direct SQLite connection on the same file, for cross-checking.
    pub fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.state.settings.database).unwrap()
    }

    /// Stops the server and hands back the directory (database kept) for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A small fake HTTP service (SendGrid, records API, game servers) on 127.0.0.1:0, stopped
/// when dropped.
pub struct Fake {
    pub base: String,
    handle: tokio::task::JoinHandle<()>,
}

impl Fake {
    pub async fn start(router: axum::Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let handle = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { base, handle }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
        self.send_json(reqwest::Method::POST, path, body, token).await
    }

    /// A request with a JSON body (PUT, DELETE …) and an optional token.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
        token: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> (u16, Value) {
        let r =
            self.client.get(self.url(path)).header("Authorization", format!("Bearer {token}")).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Registers `user` (password `pwd`, mail `<user>@example.com`) and logs in.
    pub async fn register_login(&self, user: &str, pwd: &str) -> String {
        let (s, _) = self
            .post_json(
                "/register",
                serde_json::json!({"user": user, "pwd": pwd, "mail": format!("{user}@example.com")}),
                None,
            )
            .await;
        assert_eq!(s, 201, "register {user}");
        self.login(user, pwd).await
    }

    pub async fn login(&self, user: &str, pwd: &str) -> String {
        let (s, body) = self.post_json("/login", serde_json::json!({"user": user, "pwd": pwd}), None).await;
        assert_eq!(s, 200, "login {user}: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }
}

/// The decoded JWT payload, the way the frontend reads it.
pub fn payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

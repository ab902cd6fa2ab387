//! The OpenAPI document at `/openapi.json` against the router, both ways:
//! - every documented operation is routed: each path and method of the document, its path
//!   parameters filled with the documented examples, reaches a handler (neither the router's
//!   fallback 404 nor 405), and no other method is routed on a documented path (405);
//! - every route is documented: no route is registered outside `utoipa_axum::routes!`, whose
//!   routes *are* their `#[utoipa::path]` annotations (the only exception is `/openapi.json`
//!   itself, which the document lists too).
//!
//! Plus the document's shape: OpenAPI 3.1, the security schemes, the answers the middleware adds
//! to every operation, and the statuses of some representative operations.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::common::{spawn_with, Options, TestApp, LIVE_KK7, SECRETS};

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The test app with a bot token (so `/alarms/upcoming` exists) and a records API that refuses
/// connections at once (so the records endpoints answer 502 without going to the network).
async fn app() -> TestApp {
    let config = format!("{LIVE_KK7}records_api_url: http://127.0.0.1:9\n");
    let secrets = format!("{SECRETS}bot_api_token: bot-token-123\n");
    spawn_with(Options { config: &config, secrets: &secrets, ..Options::default() }).await
}

async fn document(app: &TestApp) -> Value {
    let r = app.client.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    r.json().await.unwrap()
}

/// The operations of the document: (path template, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((path.clone(), method.clone(), op.clone()));
        }
    }
    ops
}

/// `path` with its `{name}` parameters replaced by the documented examples.
fn concrete(path: &str, op: &Value) -> String {
    let mut out = path.to_owned();
    for p in op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "path") {
        let name = p["name"].as_str().unwrap();
        let example = p["example"].as_str().unwrap_or_else(|| panic!("{path}: path parameter {name} has no example"));
        out = out.replace(&format!("{{{name}}}"), example);
    }
    assert!(!out.contains('{'), "{path}: a path parameter is not documented");
    out
}

fn statuses(doc: &Value, path: &str, method: &str) -> Vec<String> {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not documented");
    op["responses"].as_object().unwrap().keys().cloned().collect()
}

fn assert_statuses(doc: &Value, path: &str, method: &str, expected: &[&str]) {
    let documented = statuses(doc, path, method);
    for s in expected {
        assert!(documented.iter().any(|d| d == s), "{method} {path} does not document {s}: {documented:?}");
    }
}

/// The router's own "no such route" answers: the fallback's 404 and 405.
fn unrouted(status: u16, body: &str) -> bool {
    status == 405 || (status == 404 && body.contains("no such endpoint"))
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_no_other_method_is() {
    let app = app().await;
    let doc = document(&app).await;
    let ops = operations(&doc);
    assert!(ops.len() >= 40, "{} operations", ops.len());
    for (path, method, op) in &ops {
        let url = app.url(&concrete(path, op));
        let mut req = app.client.request(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), &url);
        if op["requestBody"]["content"]["application/json"].is_object() {
            req = req.header("content-type", "application/json").body("{}");
        }
        let r = req.timeout(Duration::from_secs(10)).send().await.unwrap();
        let status = r.status().as_u16();
        // `/live` streams forever: its status is all there is to read.
        let body = if path == "/live" { String::new() } else { r.text().await.unwrap() };
        assert!(!unrouted(status, &body), "{} {path} ({url}) is documented but not routed: {status} {body}", method);
    }
    // The other methods on every documented path are not routed (HEAD and OPTIONS are answered by
    // axum for GET and by the CORS layer for every path).
    for (path, item) in doc["paths"].as_object().unwrap() {
        let any = item.as_object().unwrap().values().next().unwrap();
        let url = app.url(&concrete(path, any));
        for method in METHODS.iter().filter(|m| !item.as_object().unwrap().contains_key(**m)) {
            let r = app.client.request(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), &url);
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), 405, "{method} {path} is routed but not documented");
        }
    }
}

/// Every `.rs` file below `dir`.
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Routes come only from `routes!(…)` of `#[utoipa::path]` handlers, so each is in the document.
/// A plain axum registration anywhere in the crate fails here, except the one route of the
/// private metrics port (`src/metrics/`, a listener of its own and not part of the API), which
/// may register `GET /metrics` and nothing else.
#[test]
fn no_route_is_registered_outside_the_annotations() {
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let plain = [".route(", ".route_service(", ".nest(", ".nest_service(", ".fallback_service(", "Router::new("];
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            // `OpenApiRouter::new()` collects annotated routes only.
            let plain_code = code.replace("OpenApiRouter::new(", "");
            let metrics_port = file.parent().is_some_and(|d| d.ends_with("src/metrics"))
                && (code == "Router::new()" || code.starts_with(".route(\"/metrics\", get("));
            if plain.iter().any(|p| plain_code.contains(p))
                && !code.starts_with(".route(openapi::PATH,")
                && !metrics_port
            {
                found.push(format!("{}:{}: {code}", file.display(), i + 1));
            }
        }
    }
    assert!(found.is_empty(), "routes registered without an OpenAPI annotation:\n{}", found.join("\n"));
    let table = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api/mod.rs")).unwrap();
    assert_eq!(table.matches(".route(openapi::PATH,").count(), 1);
    assert!(files.len() > 20, "the scan found the sources");
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_security_and_the_answers() {
    let app = app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."), "{}", doc["openapi"]);
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(doc["info"]["description"].as_str().unwrap().contains("README"));

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["login"]["type"], "http");
    assert_eq!(schemes["login"]["scheme"], "bearer");
    assert_eq!(schemes["login"]["bearerFormat"], "JWT");
    assert_eq!(schemes["bot"]["scheme"], "bearer");
    assert!(schemes["bot"]["description"].as_str().unwrap().contains("bot_api_token"));
    let security = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
    assert_eq!(security("/usermgnt", "get"), serde_json::json!([{"login": []}]));
    assert_eq!(security("/dashboard", "get"), serde_json::json!([{}, {"login": []}]), "optional login");
    assert_eq!(security("/alarms/upcoming", "get"), serde_json::json!([{"bot": []}]));
    let feed = &doc["paths"]["/calendar/{file}"]["get"];
    assert!(feed["description"].as_str().unwrap().contains("credential"));
    assert!(feed["security"].is_null(), "the feed token is in the path");

    // The shared error body: `{"msg"}` or an old JSON string.
    let error = &doc["components"]["schemas"]["Error"]["oneOf"];
    assert_eq!(error[0]["required"], serde_json::json!(["msg"]));
    assert_eq!(error[1]["type"], "string");

    // What the layers outside the handlers answer, on every operation.
    for (path, method, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.contains_key("413"), "{method} {path}: no 413");
        if op["requestBody"].is_object() {
            assert!(responses.contains_key("408"), "{method} {path} reads a body: no 408");
        }
        if op["requestBody"]["content"]["application/json"].is_object() && path != "/events" {
            assert!(responses.contains_key("415"), "{method} {path} reads JSON: no 415");
        }
        assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {path}: no tag");
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{method} {path}: no summary");
        for (status, r) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let has_error_body = r["content"].as_object().is_some_and(|c| !c.is_empty());
                assert!(has_error_body, "{method} {path} {status}: no body described");
            }
        }
    }
    assert!(!doc["paths"].as_object().unwrap().keys().any(|p| p.contains('*')), "catch-alls are OpenAPI templates");

    // Representative operations.
    assert_statuses(&doc, "/register", "post", &["201", "400", "408", "409", "413", "415", "500"]);
    assert_statuses(&doc, "/login", "post", &["200", "401", "429"]);
    assert!(doc["paths"]["/login"]["post"]["responses"]["429"]["headers"]["Retry-After"].is_object());
    assert_statuses(&doc, "/spreadsheet/{event}/{edition}", "get", &["200", "304", "404"]);
    let sheet = &doc["paths"]["/spreadsheet/{event}/{edition}"]["get"]["responses"];
    assert!(sheet["200"]["headers"]["ETag"].is_object() && sheet["200"]["headers"]["Cache-Control"].is_object());
    assert_eq!(sheet["200"]["content"]["application/json"]["schema"]["items"]["$ref"], "#/components/schemas/SheetRow");
    assert_statuses(&doc, "/spreadsheet/{event}", "post", &["200", "400", "401", "404", "422"]);
    assert_statuses(&doc, "/manage/maps", "post", &["200", "400", "401", "409", "422"]);
    let upload = &doc["paths"]["/manage/maps"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"];
    assert!(upload.is_object(), "the map upload is multipart");
    assert_statuses(&doc, "/records/{path}", "get", &["200", "400", "502", "504", "default"]);
    assert_statuses(&doc, "/healthz", "get", &["200", "503"]);
    assert_statuses(&doc, "/live", "get", &["200", "503"]);
    assert!(doc["paths"]["/live"]["get"]["responses"]["200"]["content"]["text/event-stream"].is_object());
    assert!(doc["paths"]["/calendar/{file}"]["get"]["responses"]["200"]["content"]["text/calendar; charset=utf-8"]
        .is_object());
    let finned = &doc["paths"]["/event/{login}/finned"]["get"]["responses"]["200"]["content"];
    assert!(finned["application/json"].is_object() && finned["text/html; charset=utf-8"].is_object());
    assert_statuses(&doc, "/alarms/upcoming", "get", &["200", "400", "401", "404", "422"]);
    for method in ["put", "delete"] {
        assert_statuses(&doc, "/alarms/{event}/{kacky_id}", method, &["204", "400", "401", "404", "422"]);
        assert_eq!(security("/alarms/{event}/{kacky_id}", method), serde_json::json!([{"login": []}]));
    }
    assert_eq!(security("/events", "get"), serde_json::json!([{}, {"login": []}]), "admins get more");
    let stale = &doc["paths"]["/records/{path}"]["get"]["responses"]["200"]["headers"];
    assert!(stale["X-Records-Stale"].is_object() && stale["Age"].is_object(), "{stale}");
    let card = &doc["components"]["schemas"]["DashboardServer"]["properties"];
    assert_eq!(card["serverJoin"]["type"], "string");
    assert_statuses(&doc, "/finishes", "get", &["200", "400"]);
    assert_statuses(&doc, "/manage/followed", "put", &["200", "400", "401"]);
    assert_statuses(&doc, "/manage/worldrecords/{type}/{kacky_id}", "put", &["200", "400", "401", "404", "409"]);
    assert_eq!(
        security("/manage/worldrecords/{type}/{kacky_id}", "put"),
        serde_json::json!([{"writer": []}, {"login": []}]),
        "the updater's token or an admin's login"
    );
    assert!(schemes["writer"]["description"].as_str().unwrap().contains("records_writer_token"));
    assert_statuses(&doc, "/discord/callback", "get", &["200", "303", "400", "404", "502"]);
    let linked = &doc["paths"]["/discord/callback"]["get"]["responses"]["200"]["content"];
    assert!(linked["application/json"].is_object() && linked["text/html; charset=utf-8"].is_object());
}

/// A few answers of the running app checked against what the document says of them.
#[tokio::test]
async fn answers_match_the_documented_statuses_and_types() {
    let app = app().await;
    let doc = document(&app).await;
    let checks: [(&str, &str, &str, &str); 7] = [
        ("/register", "post", "/register", "not json"),
        ("/spreadsheet/{event}/{edition}", "get", "/spreadsheet/xx/7", ""),
        ("/schedule", "get", "/schedule?hours=0", ""),
        ("/alarms/upcoming", "get", "/alarms/upcoming", ""),
        ("/usermgnt", "get", "/usermgnt", ""),
        ("/", "get", "/", ""),
        ("/event/{login}/finned", "get", "/event/%FF/finned", ""),
    ];
    for (path, method, url, body) in checks {
        let mut req = app.client.request(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), app.url(url));
        if !body.is_empty() {
            req = req.header("content-type", "application/json").body(body);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16().to_string();
        let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
        let documented = &doc["paths"][path][method]["responses"][&status];
        assert!(documented.is_object(), "{method} {url}: {status} is not documented");
        assert!(
            documented["content"][&content_type].is_object(),
            "{method} {url}: {status} {content_type} is not documented"
        );
    }
}

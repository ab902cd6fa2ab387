//! Bench-only: the throughput ceiling of this machine for an answer of a given size. A bare
//! axum server, without any of the project's middleware, that answers every GET with one
//! file's bytes (`application/json`). `bench/run.sh` measures each endpoint of the backend
//! beside this server answering the very same bytes, in the same run, and prints the share.
//!
//! Usage: `cargo run --release --example bench_ceiling -- <port> <body-file>`

use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
use axum::Router;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port = args.next().and_then(|p| p.parse::<u16>().ok()).unwrap_or(0);
    let file = args.next().expect("usage: bench_ceiling <port> <body-file>");
    let body = Bytes::from(std::fs::read(&file)?);
    let app = Router::new().fallback(get(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body) }
    }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("ceiling listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}

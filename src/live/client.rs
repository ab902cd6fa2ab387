//! The game-server API client: one GET with small timeouts, the body of a 200 answer or a
//! typed reason why not, never with the password in any text.

use std::io;
use std::time::Duration;

/// Upper bounds of the HTTP timeouts; below them the poll interval wins, so a hanging API never
/// delays the next poll.
const MAX_CONNECT: Duration = Duration::from_secs(5);
const MAX_READ: Duration = Duration::from_secs(10);

/// A ureq agent with small timeouts plus the URL and password to call.
#[derive(Clone)]
pub struct HttpSource {
    agent: ureq::Agent,
    url: String,
    password: String,
    read_timeout: Duration,
}

/// Why a poll brought no usable body. The `Display` texts end up in `/healthz`
/// (`gameserver.last_error`) and in the log, so none of them may contain the game-server
/// password: variants holding text from ureq (whose errors can quote the URL, and with it
/// `?password=…`) get it redacted when they are made, see `HttpSource::get`.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// No answer within the read timeout, while connecting/waiting or while reading the body.
    #[error("{step} timed out: no answer within {} s", .after.as_secs())]
    Timeout { step: Step, after: Duration },
    /// The API answered with another status than 200.
    #[error("the game-server API answered HTTP {0}")]
    Status(u16),
    /// The request failed on the socket: connection refused, reset …
    #[error("the request failed: {0}")]
    Request(#[source] io::Error),
    /// The request could not be made for another reason: DNS, TLS, protocol, a bad URL …
    /// (ureq's text, redacted; ureq's errors carry no further source).
    #[error("the game-server API is unreachable: {0}")]
    Unreachable(String),
    /// The answer's body could not be read: connection lost, too large, not UTF-8 …
    #[error("reading the answer failed: {0}")]
    Body(#[source] io::Error),
    /// The call was not made: the game-server API's threads are busy or gone.
    #[error("{0}")]
    Outbound(#[source] crate::outbound::OutboundError),
}

/// Which part of a poll a timeout hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Request,
    Body,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Request => "the request",
            Self::Body => "reading the answer",
        })
    }
}

/// Largest answer body read (the limit ureq 2's `into_string` had).
const BODY_LIMIT: u64 = 10 * 1024 * 1024;

impl HttpSource {
    /// Timeouts follow the poll interval, below [`MAX_CONNECT`] and [`MAX_READ`].
    pub(super) fn new(url: &str, password: &str, poll_interval_s: u64) -> Self {
        let read_timeout = MAX_READ.min(Duration::from_secs(poll_interval_s.max(1)));
        let connect = MAX_CONNECT.min(read_timeout);
        let agent = crate::outbound::agent(connect, connect + read_timeout, Some(read_timeout));
        Self { agent, url: url.to_owned(), password: password.to_owned(), read_timeout }
    }

    /// The URL polled (for `/healthz`; never the password).
    pub(super) fn url(&self) -> &str {
        &self.url
    }

    /// GET `<url>?password=<api_pwd>`; the body of a 200 answer, else why not.
    /// Blocking: run it on the game-server API's threads ([`crate::outbound`]).
    pub(super) fn get(&self) -> Result<String, PollError> {
        let mut response =
            self.agent.get(&self.url).query("password", &self.password).call().map_err(|e| self.request_error(e))?;
        match response.status().as_u16() {
            200 => response.body_mut().with_config().limit(BODY_LIMIT).read_to_string().map_err(|e| self.body_error(e)),
            code => Err(PollError::Status(code)),
        }
    }

    fn request_error(&self, e: ureq::Error) -> PollError {
        match e {
            e if is_timeout(&e) => self.timeout(Step::Request),
            ureq::Error::Io(io) => PollError::Request(io),
            e => PollError::Unreachable(self.redact(e.to_string())),
        }
    }

    fn body_error(&self, e: ureq::Error) -> PollError {
        match e {
            e if is_timeout(&e) => self.timeout(Step::Body),
            ureq::Error::Io(io) => PollError::Body(io),
            e => PollError::Body(io::Error::other(self.redact(e.to_string()))),
        }
    }

    fn timeout(&self, step: Step) -> PollError {
        PollError::Timeout { step, after: self.read_timeout }
    }

    /// `text` with the password, as typed and as percent-encoded in the query, replaced.
    fn redact(&self, text: String) -> String {
        if self.password.is_empty() {
            return text;
        }
        text.replace(&self.password, "***").replace(&query_encoded(&self.password), "***")
    }
}

fn is_timeout(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Timeout(_) => true,
        ureq::Error::Io(io) => io.kind() == io::ErrorKind::TimedOut,
        _ => false,
    }
}

/// `value` percent-encoded the way ureq encodes query values (the WHATWG query set plus the
/// characters that have a meaning in a query), so it can be found in ureq's texts.
fn query_encoded(value: &str) -> String {
    const KEEP_OUT: &[u8] = b" \"#$%&'+,/:;<=>?@[\\]^`{|}";
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if b.is_ascii_control() || !b.is_ascii() || KEEP_OUT.contains(&b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::thread;

    use super::*;

    const PASSWORD: &str = "s3cret p@ss/wörd&x=1";

    /// A one-shot HTTP server on 127.0.0.1: reads the request head, sends `reply` (if any)
    /// and then holds the connection for `hold`. Returns the URL and the request head.
    fn serve(reply: Option<&'static [u8]>, hold: Duration) -> (String, thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api", listener.local_addr().unwrap());
        let handle = thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            if let Some(reply) = reply {
                conn.write_all(reply).unwrap();
            }
            thread::sleep(hold);
            String::from_utf8_lossy(&head).into_owned()
        });
        (url, handle)
    }

    fn assert_no_password(text: &str) {
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(!text.contains(&query_encoded(PASSWORD)), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[test]
    fn answers_200_with_the_body_and_sends_the_password_as_query() {
        let (url, server) = serve(Some(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]"), Duration::ZERO);
        assert_eq!(HttpSource::new(&url, PASSWORD, 5).get().unwrap(), "[]");
        let head = server.join().unwrap();
        // The redaction looks for the password in exactly the form ureq puts on the wire.
        let expected = format!("GET /api?password={} HTTP/1.1\r\n", query_encoded(PASSWORD));
        assert!(head.starts_with(&expected), "{head}");
    }

    #[test]
    fn other_statuses_are_typed() {
        let (url, _server) = serve(Some(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"), Duration::ZERO);
        let e = HttpSource::new(&url, PASSWORD, 5).get().unwrap_err();
        assert!(matches!(e, PollError::Status(503)), "{e:?}");
        assert_eq!(e.to_string(), "the game-server API answered HTTP 503");
    }

    #[test]
    fn a_silent_server_times_out_after_the_read_timeout() {
        let (url, _server) = serve(None, Duration::from_secs(3));
        let started = std::time::Instant::now();
        let e = HttpSource::new(&url, PASSWORD, 1).get().unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        assert!(matches!(e, PollError::Timeout { step: Step::Request, .. }), "{e:?}");
        assert_eq!(e.to_string(), "the request timed out: no answer within 1 s");
    }

    #[test]
    fn a_stalled_body_times_out_while_reading() {
        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[1,";
        let (url, _server) = serve(Some(reply), Duration::from_secs(3));
        let e = HttpSource::new(&url, PASSWORD, 1).get().unwrap_err();
        assert!(matches!(e, PollError::Timeout { step: Step::Body, .. }), "{e:?}");
        assert_eq!(e.to_string(), "reading the answer timed out: no answer within 1 s");
    }

    #[test]
    fn a_cut_body_is_a_body_error() {
        let (url, _server) = serve(Some(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[1,"), Duration::ZERO);
        let e = HttpSource::new(&url, PASSWORD, 5).get().unwrap_err();
        assert!(matches!(e, PollError::Body(_)), "{e:?}");
        assert!(e.to_string().starts_with("reading the answer failed: "), "{e}");
        assert_no_password(&e.to_string());
    }

    #[test]
    fn a_refused_connection_keeps_its_io_source_and_not_the_password() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = HttpSource::new(&format!("http://127.0.0.1:{port}/api"), PASSWORD, 5).get().unwrap_err();
        assert!(matches!(&e, PollError::Request(io) if io.kind() == io::ErrorKind::ConnectionRefused), "{e:?}");
        assert!(e.to_string().starts_with("the request failed: "), "{e}");
        assert!(std::error::Error::source(&e).is_some());
        assert_no_password(&e.to_string());
    }

    #[test]
    fn errors_quoting_the_url_are_redacted() {
        // ureq's "bad uri" texts quote the URL (today without the query, but nothing promises
        // that), so every text taken from ureq goes through `redact`.
        for url in ["/api", "no-scheme.example/api", "ftp://example.invalid/api", "http:///api", "http://[::1/api"] {
            let e = HttpSource::new(url, PASSWORD, 5).get().unwrap_err();
            assert!(matches!(e, PollError::Unreachable(_)), "{url}: {e:?}");
            assert!(e.to_string().starts_with("the game-server API is unreachable: "), "{e}");
            assert_no_password(&e.to_string());
            assert_no_password(&format!("{e:?}"));
        }
        let source = HttpSource::new("http://x/", PASSWORD, 5);
        let text = format!("bad uri: http://x/?password={} and {PASSWORD}", query_encoded(PASSWORD));
        assert_eq!(source.redact(text), "bad uri: http://x/?password=*** and ***");
        assert_eq!(HttpSource::new("http://x/", "", 5).redact("as is".into()), "as is");
    }

    #[test]
    fn query_encoding_matches_the_url_rules() {
        assert_eq!(query_encoded("abc-._~!*()09"), "abc-._~!*()09");
        assert_eq!(query_encoded("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}

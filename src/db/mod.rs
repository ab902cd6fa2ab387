//! SQLite access: the connection pool with its pragmas, embedded migrations, the history seed,
//! and one module per aggregate. All SQL lives below this module; functions take a
//! `&Connection` and return domain structs, and async callers go through [`Db::run`].

use std::path::Path;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension};

pub mod admin;
pub mod alarms;
pub mod backup;
pub mod calendar;
pub mod current;
pub mod discord;
pub mod events;
pub mod finishes;
pub mod fs;
pub mod history;
pub mod import;
pub mod maps;
pub mod meta;
pub mod notifications;
pub mod seed;
pub mod sheet;
pub mod stream;
pub mod tracks;
pub mod users;
pub mod wr;
pub mod wr_ingest;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Everything that can go wrong below the API layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] refinery::Error),
    /// `PRAGMA foreign_key_check` found a row the migrations left pointing nowhere (they run
    /// with foreign keys off); the server does not start on such a database.
    #[error("after the migrations, {row} points at a missing row")]
    Integrity { row: String },
    /// The database file's directory could not be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A CSV file of the embedded history does not parse (caught by the tests, never in a
    /// released binary).
    #[error("seed data is broken: {file}: {source}")]
    Seed {
        file: String,
        #[source]
        source: csv::Error,
    },
    /// A CSV file of the history is not in the binary (in debug builds `rust-embed` reads
    /// `seed/` from the disk, so a missing file shows here).
    #[error("seed data is broken: {file} is not embedded")]
    SeedMissing { file: String },
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// servers.yaml does not fit the database (a playlist names a map the current event lacks);
    /// `main` exits with code 2 as for every configuration problem.
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
}

pub type Pool = r2d2::Pool<SqliteConnectionManager>;

/// Cheap-to-clone handle on the pool; the only way the async code touches SQLite.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

/// Applied to every new connection. WAL lets readers run beside the single writer;
/// `synchronous=NORMAL` in WAL mode can lose the last transactions on power loss (never
/// corrupts), a fair trade for a site whose data is re-creatable; `busy_timeout` makes a second
/// writer wait instead of failing.
fn init_connection(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_millis(5000))?;
    // 1 MiB of page cache per connection instead of 2: repeated reads are answered from the
    // response cache, and the operating system caches the file anyway.
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -1024;")?;
    Ok(())
}

/// WAL mode is a property of the file: set it once through a single connection before the
/// pool opens several at once (concurrent switches would race for the lock).
fn enable_wal(path: &Path) -> rusqlite::Result<()> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_millis(5000))?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
    Ok(())
}

impl Db {
    /// Opens (creating if needed) the database file and builds the pool.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| DbError::CreateDir { path: parent.to_owned(), source })?;
        }
        enable_wal(path)?;
        let manager = SqliteConnectionManager::file(path).with_init(init_connection);
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(10))
            .event_handler(Box::new(crate::metrics::PoolEvents))
            .build(manager)?;
        Ok(Self { pool })
    }

    /// A pooled connection for synchronous callers (CLI commands, start-up).
    pub fn conn(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` on a pooled connection on the blocking thread pool, so SQLite never blocks the
    /// async runtime and no connection is held across an `.await`. `f` returns the `db`
    /// functions' own errors (`rusqlite::Error` or [`DbError`]); callers get a [`DbError`],
    /// which the API layer turns into a logged 500.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn).map_err(Into::into)
        })
        .await?
    }

    /// Applies pending migrations; returns the schema version afterwards.
    ///
    /// They run with foreign keys off, SQLite's procedure for rebuilding a table (a CHECK
    /// cannot be changed in place, V5): dropping the old table must not cascade. So a
    /// migration deletes dependent rows itself instead of relying on `ON DELETE CASCADE`, and
    /// after the run `PRAGMA foreign_key_check` must find nothing (else this fails and the
    /// server does not start).
    pub fn migrate(&self) -> Result<i64, DbError> {
        let mut conn = self.conn()?;
        // Outside a transaction, so the pragma takes effect; restored before the connection
        // goes back to the pool, whatever happened.
        conn.execute_batch("PRAGMA foreign_keys = OFF;")?;
        let ran = embedded::migrations::runner().run(&mut *conn).map_err(DbError::from).and_then(|_| {
            let broken: Option<String> = conn
                .query_row("SELECT \"table\" || ' row ' || rowid FROM pragma_foreign_key_check LIMIT 1", [], |r| {
                    r.get(0)
                })
                .optional()?;
            match broken {
                Some(row) => Err(DbError::Integrity { row }),
                None => Ok(()),
            }
        });
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        ran?;
        schema_version(&conn)
    }
}

/// The highest applied migration version.
pub fn schema_version(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn.query_row("SELECT COALESCE(MAX(version), 0) FROM refinery_schema_history", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Litestream's guidance (litestream.io/tips): WAL, `busy_timeout` 5 s (it takes short write
    /// locks to checkpoint), `synchronous=NORMAL`. SQLite's own autocheckpoint stays on (1,000
    /// pages): Litestream advises turning it off only for tens of thousands of write
    /// transactions a second, and the binary must keep its WAL bounded without Litestream too.
    /// `.ci/litestream` checks the combination under load.
    #[test]
    fn pooled_connections_follow_litestreams_guidance() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("kacky.db")).unwrap();
        let conn = db.conn().unwrap();
        let pragma =
            |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, rusqlite::types::Value>(0));
        use rusqlite::types::Value::{Integer, Text};
        assert_eq!(pragma("journal_mode").unwrap(), Text("wal".into()));
        assert_eq!(pragma("busy_timeout").unwrap(), Integer(5000));
        assert_eq!(pragma("synchronous").unwrap(), Integer(1), "NORMAL");
        assert_eq!(pragma("wal_autocheckpoint").unwrap(), Integer(1000));
    }
}

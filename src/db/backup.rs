//! Operator tools on the database file: a consistent online copy (`backup`) and the health
//! check behind `check-config`. Both open the file without creating it, so a typo in the path
//! is reported instead of producing an empty database.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Why a backup or check failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("database {} does not exist", .0.display())]
    Missing(PathBuf),
    #[error("{} already exists; pass --force to overwrite it", .0.display())]
    Exists(PathBuf),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Db(#[from] super::DbError),
    #[error("integrity check of {} failed: {report}", path.display())]
    Corrupt { path: PathBuf, report: String },
}

/// What `check` found.
#[derive(Debug)]
pub struct Health {
    /// The applied schema version, `None` when the file was never migrated.
    pub schema_version: Option<i64>,
}

/// Opens an existing database read-write without creating it, waiting for a busy writer the
/// way the server does.
fn open_existing(path: &Path, flags: OpenFlags) -> Result<Connection, BackupError> {
    if !path.is_file() {
        return Err(BackupError::Missing(path.to_owned()));
    }
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

/// Copies the live database to `target` with `VACUUM INTO`, which reads one consistent
/// snapshot while the server keeps writing (WAL). The copy is written next to `target`,
/// checked, and only then moved into place, so a failed run never leaves a broken backup and
/// never destroys the previous one. Returns the size of the copy.
pub fn backup(db_path: &Path, target: &Path, force: bool) -> Result<u64, BackupError> {
    if !force && target.exists() {
        return Err(BackupError::Exists(target.to_owned()));
    }
    let conn = open_existing(db_path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let tmp = temp_path(target);
    remove_if_present(&tmp)?;
    let tmp_text = tmp.to_string_lossy().into_owned();
    let copied = conn
        .execute("VACUUM INTO ?1", [&tmp_text])
        .map_err(BackupError::from)
        .and_then(|_| integrity_check(&Connection::open(&tmp)?, &tmp));
    if let Err(e) = copied.and_then(|_| place(&tmp, target, force)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let io = |source| BackupError::Io { path: target.to_owned(), source };
    Ok(std::fs::metadata(target).map_err(io)?.len())
}

/// `.<name>.tmp-<pid>` in the target's directory, so the final rename stays on one filesystem.
fn temp_path(target: &Path) -> PathBuf {
    let name = target.file_name().map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
    target.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn remove_if_present(path: &Path) -> Result<(), BackupError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(BackupError::Io { path: path.to_owned(), source: e }),
        _ => Ok(()),
    }
}

/// Moves the finished copy to `target`. Without `force` a hard link claims the name atomically
/// (failing if it appeared meanwhile); filesystems without hard links fall back to a rename.
fn place(tmp: &Path, target: &Path, force: bool) -> Result<(), BackupError> {
    let io = |source| BackupError::Io { path: target.to_owned(), source };
    if force {
        return std::fs::rename(tmp, target).map_err(io);
    }
    match std::fs::hard_link(tmp, target) {
        Ok(()) => std::fs::remove_file(tmp).map_err(io),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(BackupError::Exists(target.to_owned())),
        Err(_) if target.exists() => Err(BackupError::Exists(target.to_owned())),
        Err(_) => std::fs::rename(tmp, target).map_err(io),
    }
}

/// `PRAGMA integrity_check`: anything but the single row `ok` is corruption, and so is a
/// check that cannot even run because SQLite finds the file malformed (a damaged schema page).
fn integrity_check(conn: &Connection, path: &Path) -> Result<(), BackupError> {
    let corrupt = |e: rusqlite::Error| match e.sqlite_error_code() {
        // Damage the check itself trips over (a broken page of the schema or of an index).
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
            BackupError::Corrupt { path: path.to_owned(), report: e.to_string() }
        }
        _ => e.into(),
    };
    let mut st = conn.prepare("PRAGMA integrity_check").map_err(corrupt)?;
    let lines = st
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(corrupt)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt)?;
    if lines == ["ok"] {
        return Ok(());
    }
    let mut report = lines.iter().take(5).map(String::as_str).collect::<Vec<_>>().join("; ");
    if lines.len() > 5 {
        report += &format!(" … and {} more", lines.len() - 5);
    }
    Err(BackupError::Corrupt { path: path.to_owned(), report })
}

/// Opens the database read-only, runs the integrity check and reads the schema version, for
/// `check-config`. Safe while the server runs.
pub fn check(db_path: &Path) -> Result<Health, BackupError> {
    let conn = open_existing(db_path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    integrity_check(&conn, db_path)?;
    let migrated: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'refinery_schema_history')",
        [],
        |r| r.get(0),
    )?;
    let schema_version = if migrated { Some(super::schema_version(&conn)?) } else { None };
    Ok(Health { schema_version })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_path_is_hidden_next_to_the_target() {
        let p = temp_path(Path::new("/x/y/kacky.bak"));
        assert_eq!(p.parent(), Some(Path::new("/x/y")));
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(".kacky.bak.tmp-"), "{name}");
    }

    #[test]
    fn backup_refuses_existing_target_and_missing_source() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
        let out = dir.path().join("b.db");
        assert!(backup(&db, &out, false).unwrap() > 0);
        assert!(matches!(backup(&db, &out, false), Err(BackupError::Exists(_))));
        assert!(backup(&db, &out, true).is_ok());
        let missing = dir.path().join("nope.db");
        assert!(matches!(backup(&missing, &out, true), Err(BackupError::Missing(_))));
        assert!(!missing.exists());
        assert_eq!(check(&out).unwrap().schema_version, None);
    }
}

//! Command line: parses arguments and calls the library. `serve` is the default.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kacky_backend::clock::Clock;
use kacky_backend::config::{ConfigPaths, Settings};

#[derive(Parser)]
#[command(name = "kacky-backend", version, about = "Backend of the Kacky event website (one binary, one SQLite file)")]
struct Cli {
    /// config.yaml (default: $CONFIG_FILE, else ./config.yaml)
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// secrets.yaml (default: $SECRETS_FILE, else ./secrets.yaml)
    #[arg(long, global = true)]
    secrets: Option<PathBuf>,
    /// servers.yaml (default: $SERVERS_FILE, else ./servers.yaml)
    #[arg(long, global = true)]
    servers: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Create or upgrade the database schema and load the history, then exit.
    Migrate,
    /// Validate the configuration files (code 2 on a problem), then check the database file
    /// if it exists (code 1 when its integrity check fails).
    CheckConfig,
    /// Import the old backend's MariaDB data from a mysqldump / phpMyAdmin SQL file into the
    /// database, in one transaction (nothing is written on an error).
    ImportMysql {
        /// The SQL dump file.
        dump: PathBuf,
    },
    /// Write a consistent copy of the database to FILE; safe while the server runs.
    Backup {
        /// Where to write the copy.
        file: PathBuf,
        /// Overwrite FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Manage accounts without touching SQL.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account (the password is read from stdin unless --password is given).
    Create {
        username: String,
        #[arg(long)]
        password: Option<String>,
        /// Mail address for password resets.
        #[arg(long, default_value = "")]
        mail: String,
    },
    /// Give an existing account admin rights.
    Promote { username: String },
    /// Take admin rights away (their tokens stop working on admin endpoints at once).
    Demote { username: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let paths = ConfigPaths { config: cli.config, secrets: cli.secrets, servers: cli.servers };
    let settings = match Settings::load(&paths) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Flushes the log lines still queued when main returns.
    let _log_writer = match kacky_backend::init_logging(&settings) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("error: cannot set up logging: {e}");
            return ExitCode::from(2);
        }
    };
    for ignored in &settings.ignored_keys {
        ignored.log();
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Migrate => migrate(settings),
        Command::CheckConfig => check_config(&settings),
        Command::ImportMysql { dump } => import_mysql(&settings, &dump),
        Command::Backup { file, force } => backup(&settings, &file, force),
        Command::Admin(cmd) => admin(settings, cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            // servers.yaml not fitting the database is a configuration problem too.
            let config = matches!(e.downcast_ref(), Some(kacky_backend::db::DbError::Config(_)));
            if config {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.demo {
        tracing::warn!("no config.yaml found: serving a DEMO (history + simulated live event) on 127.0.0.1:{}. Not for production.", settings.port);
    }
    let addr = format!("{}:{}", settings.bind_hosts, settings.port);
    log_local_zone();
    let metrics_addr = settings.metrics_listen;
    if metrics_addr.is_some() {
        // Before anything is recorded, so start-up work (migrations, the first poll) counts too.
        kacky_backend::metrics::handle();
    }
    let state = kacky_backend::prepare(settings, Clock::system())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let served = runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(&addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        tracing::info!("listening on http://{}", listener.local_addr()?);
        if let Some(metrics) = metrics_addr {
            let listener = tokio::net::TcpListener::bind(metrics)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {metrics} (metrics_listen): {e}"))?;
            tracing::info!("metrics on http://{}/metrics", listener.local_addr()?);
            if metrics.ip().is_unspecified() {
                tracing::warn!("metrics_listen {metrics} answers on every network interface: keep the port firewalled");
            }
            tokio::spawn(kacky_backend::metrics::serve(listener, state.clone()));
        }
        kacky_backend::serve(listener, state, kacky_backend::shutdown_signal()).await?;
        Ok(())
    });
    // A blocking task still running (a database call in `spawn_blocking`) must not hold up the
    // exit: the grace period for open requests has passed already. Outgoing HTTP calls run on
    // threads of their own (`outbound`), which end with the process.
    runtime.shutdown_timeout(SHUTDOWN_BLOCKING_WAIT);
    served
}

/// Config date-times without an offset are local time: which zone that is, so a wrong `TZ`
/// shows before the event starts an hour off.
fn log_local_zone() {
    let zone = kacky_backend::clock::describe_local_zone(chrono::Utc::now());
    tracing::info!("config date-times without an offset (compstart, compend, testing_compstart, testing_compend) are read in the local time zone {zone}");
}

/// How long the exit waits for blocking tasks after the server has stopped.
const SHUTDOWN_BLOCKING_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

fn migrate(settings: Settings) -> anyhow::Result<()> {
    let state = kacky_backend::prepare(settings, Clock::system())?;
    let version = kacky_backend::db::schema_version(&*state.db.conn()?)?;
    println!("database {} is at schema version {version}", state.settings.database.display());
    Ok(())
}

fn check_config(settings: &Settings) -> anyhow::Result<()> {
    println!("configuration OK{}", if settings.demo { " (no config.yaml: demo mode)" } else { "" });
    let zone = kacky_backend::clock::describe_local_zone(chrono::Utc::now());
    println!("date-times without an offset are read in the local time zone {zone}");
    println!(
        "event: {}{}, servers configured: {}",
        settings.eventtype.as_upper(),
        settings.edition,
        settings.servers.list.len()
    );
    let database = &settings.database;
    if !database.exists() {
        println!("database {} does not exist yet (it is created at the first start)", database.display());
        return Ok(());
    }
    let health = kacky_backend::db::backup::check(database)?;
    match health.schema_version {
        Some(v) => println!("database {}: integrity ok, schema version {v}", database.display()),
        None => println!("database {}: integrity ok, not migrated yet", database.display()),
    }
    Ok(())
}

/// Migrates (without seeding, so the dump's history is not mixed with the built-in one) and
/// imports; prints per-table counts and notes.
fn import_mysql(settings: &Settings, dump: &std::path::Path) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let db = kacky_backend::db::Db::open(&settings.database)?;
    db.migrate()?;
    let summary = kacky_backend::import::import_file(&db, dump, std::io::stderr().is_terminal())
        .map_err(|e| anyhow::anyhow!("import of {} failed, nothing was written: {e}", dump.display()))?;
    println!("imported {} into {}", dump.display(), settings.database.display());
    print!("{summary}");
    Ok(())
}

fn backup(settings: &Settings, file: &std::path::Path, force: bool) -> anyhow::Result<()> {
    let bytes = kacky_backend::db::backup::backup(&settings.database, file, force)?;
    println!("backup of {} written to {} ({bytes} bytes, integrity ok)", settings.database.display(), file.display());
    Ok(())
}

fn admin(settings: Settings, cmd: AdminCommand) -> anyhow::Result<()> {
    use kacky_backend::domain::{NewPassword, UserName};
    use kacky_backend::{auth, db::users};
    let state = kacky_backend::prepare(settings, Clock::system())?;
    let mut conn = state.db.conn()?;
    match cmd {
        AdminCommand::Create { username, password, mail } => {
            let password = match password {
                Some(p) => p,
                None => {
                    eprint!("password for {username}: ");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let name = UserName::parse(&username)?;
            let password = NewPassword::parse(&password, "--password")?;
            let hash = auth::hash_password(password.expose());
            let created = users::create(&mut conn, &name, &hash, &auth::sha256_hex(&mail), true)?;
            anyhow::ensure!(created.is_some(), "user {username} already exists (use `admin promote`)");
            println!("created admin {username}");
        }
        AdminCommand::Promote { username } => {
            anyhow::ensure!(users::set_admin(&conn, &username, true)?, "no user {username}");
            println!("{username} is now an admin");
        }
        AdminCommand::Demote { username } => {
            anyhow::ensure!(users::set_admin(&conn, &username, false)?, "no user {username}");
            println!("{username} is no longer an admin");
        }
    }
    Ok(())
}

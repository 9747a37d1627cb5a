//! The command line: `serve`, `migrate`, `admin create`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::auth::model::{AccountInput, Role};
use crate::auth::service::{NewAccount, insert_account};
use crate::config::{Overrides, Settings};
use crate::db::Database;
use crate::startup::{Application, open_database};

#[derive(Debug, Parser)]
#[command(
    name = "nongsan",
    version,
    about = "Backend for agricultural e-commerce marketplaces"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default when no command is given).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage administrator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Import history from another platform: an NDJSON file (see API.md, Imports).
    Import {
        /// The NDJSON file; `-` reads standard input.
        file: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Load the demo history into an empty database.
    Demo {
        /// Multiply every count and amount (benchmarks use 10).
        #[arg(long, default_value_t = 1)]
        scale: u32,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Check the books.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Recompute the statistics rollups from the raw tables.
    RebuildRollups {
        /// Only compare the stored rollups with a recomputation; exit 1 if they differ.
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Default, Args)]
struct DatabaseArgs {
    /// Database URL: postgres://… or a SQLite file path (overrides DATABASE_URL and config).
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Debug, Default, Args)]
struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long)]
    bind: Option<String>,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Load the demo data set when the database is empty (loopback addresses only: its
    /// passwords are public).
    #[arg(long)]
    demo: bool,
    /// Allow `--demo` on an address other machines can reach.
    #[arg(long, requires = "demo")]
    public_demo: bool,
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Verify that every entry balances and every balance is the sum of its entries; exit 1 if not.
    Check {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an administrator; the password is read from standard input (one line).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        full_name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub fn run() -> ExitCode {
    crate::memory::limit_malloc_arenas();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    match execute(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_settings(bind: Option<String>, database: &DatabaseArgs) -> anyhow::Result<Settings> {
    let settings = Settings::load(&Overrides {
        bind,
        database_url: database.database_url.clone(),
    })?;
    crate::telemetry::init(&settings.log);
    Ok(settings)
}

fn execute(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let settings = load_settings(args.bind, &args.database)?;
            if args.demo && !args.public_demo && !is_loopback_bind(&settings.server.bind) {
                anyhow::bail!(
                    "serve --demo will not listen on {}: anyone who can reach it can sign in with the \
                     demo's public passwords. Bind to a loopback address (--bind 127.0.0.1:8080), or \
                     add --public-demo if other machines should reach it",
                    settings.server.bind
                );
            }
            serve(settings, args.demo)
        }
        Command::Migrate(database) => {
            let settings = load_settings(None, &database)?;
            let db = crate::db::Database::connect(
                crate::db::DatabaseUrl::parse(&settings.database.url),
                &crate::startup::pool_options(&settings),
            )?;
            let applied = db.migrate()?;
            crate::startup::after_migrations(&db)?;
            println!(
                "applied {} migration(s) to {}",
                applied.len(),
                db.url().redacted()
            );
            Ok(())
        }
        Command::Import { file, database } => {
            let settings = load_settings(None, &database)?;
            import_file(&settings, &file)
        }
        Command::Demo { scale, database } => {
            let settings = load_settings(None, &database)?;
            let db = open_database(&settings)?;
            actix_web::rt::System::new().block_on(load_demo(&db, &settings, scale))
        }
        Command::Ledger {
            command: LedgerCommand::Check { database },
        } => {
            let settings = load_settings(None, &database)?;
            check_ledger(&settings)
        }
        Command::RebuildRollups { check, database } => {
            let settings = load_settings(None, &database)?;
            rebuild_rollups(&settings, check)
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    full_name,
                    database,
                },
        } => {
            let settings = load_settings(None, &database)?;
            create_admin(&settings, email, full_name)
        }
    }
}

/// Whether `bind` only ever reaches this machine (every address it names is loopback).
fn is_loopback_bind(bind: &str) -> bool {
    use std::net::ToSocketAddrs;
    bind.to_socket_addrs().is_ok_and(|addrs| {
        let addrs: Vec<_> = addrs.collect();
        !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
    })
}

fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let database = open_database(&settings)?;
        if demo {
            load_demo(&database, &settings, 1).await?;
        }
        let app = Application::build_with_database(settings, database)?;
        app.run_until_stopped().await?;
        tracing::info!("stopped");
        Ok(())
    })
}

fn create_admin(settings: &Settings, email: String, full_name: String) -> anyhow::Result<()> {
    if std::io::stdin().is_terminal() {
        eprint!("Password for {email}: ");
        std::io::stderr().flush()?;
    }
    let mut password = String::new();
    std::io::stdin().lock().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    let account = NewAccount::parse(
        AccountInput {
            email: &email,
            password: &password,
            full_name: &full_name,
            role: Role::Admin.as_str(),
            phone: None,
        },
        true,
    )
    .map_err(describe)?;
    let password_hash = crate::auth::password::hash(&account.password)?;
    let database = open_database(settings)?;
    let mut conn = database.get().map_err(describe)?;
    let user = insert_account(&mut conn, account, password_hash).map_err(describe)?;
    println!("created admin {} ({})", user.email, user.id);
    Ok(())
}

/// Turns a problem into a readable command-line error.
fn describe(error: crate::error::AppError) -> anyhow::Error {
    match error {
        crate::error::AppError::Client { detail, errors, .. } => {
            let fields: Vec<String> = errors
                .iter()
                .filter_map(|e| match e {
                    crate::error::ProblemItem::Field(f) => {
                        Some(format!("{}: {}", f.field, f.message))
                    }
                    crate::error::ProblemItem::Line(_) => None,
                })
                .collect();
            if fields.is_empty() {
                anyhow::anyhow!(detail)
            } else {
                anyhow::anyhow!(fields.join("; "))
            }
        }
        other => anyhow::anyhow!(other),
    }
}

fn progress_bar(total: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// Loads the demo history, then today's money flow, when the database has no households yet.
async fn load_demo(database: &Database, settings: &Settings, scale: u32) -> anyhow::Result<()> {
    let mut conn = database.get().map_err(describe)?;
    if !crate::demo::is_empty(&mut conn)? {
        tracing::info!("the database already has households; the demo data is not loaded again");
        return Ok(());
    }
    let started = std::time::Instant::now();
    eprintln!("generating the demo history…");
    let bar = progress_bar(0, "loading demo");
    let summary = crate::demo::load(&mut conn, settings.timezone()?, scale, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .map_err(|error| {
        print_line_errors(&error);
        describe(error)
    })?;
    bar.finish();
    truncate_wal(&mut conn)?;
    drop(conn);
    let map = database.run_blocking(|conn| Ok(crate::provinces::repo::load(conn)?))?;
    let ctx = crate::context::Context::new(database.clone(), settings.clone(), map)?;
    let money = crate::demo::money::load(
        &ctx,
        crate::demo::DEMO_BUYER_EMAIL,
        crate::demo::DEMO_ADMIN_EMAIL,
    )
    .await
    .map_err(describe)?;
    eprintln!(
        "demo loaded in {:.1}s: {} households, {} products, {} orders, {} view records, \
         and today {} checkouts, {} bank payments, a payout of {} đồng; \
         sign in as {} (or nongdan0@demo.nongsan.vn, {}) with password {:?}",
        started.elapsed().as_secs_f64(),
        summary.households,
        summary.products,
        summary.orders,
        summary.views,
        money.checkouts,
        money.payments,
        money.payout_vnd,
        crate::demo::DEMO_ADMIN_EMAIL,
        crate::demo::DEMO_BUYER_EMAIL,
        crate::demo::DEMO_PASSWORD
    );
    Ok(())
}

fn import_file(settings: &Settings, file: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Read;
    let mut reader: Box<dyn Read> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(file)
                .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", file.display()))?,
        )
    };
    let mut parser = crate::imports::service::NdjsonParser::default();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        parser.feed(&buffer[..read]);
    }
    let (records, errors) = parser.finish();
    let database = open_database(settings)?;
    let mut conn = database.get().map_err(describe)?;
    let map = crate::provinces::repo::load(&mut conn)?;
    let plan = match crate::imports::service::plan(&mut conn, &map, records, errors) {
        Ok(plan) => plan,
        Err(error @ crate::error::AppError::Client { .. }) => {
            print_line_errors(&error);
            return Err(describe(error));
        }
        Err(other) => return Err(describe(other)),
    };
    let bar = progress_bar(plan.records(), "importing");
    let summary = crate::imports::service::write(&mut conn, plan, settings.timezone()?, &|done| {
        bar.set_position(done)
    })
    .map_err(describe)?;
    bar.finish();
    truncate_wal(&mut conn)?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

/// A bulk load leaves an SQLite write-ahead log as large as what it wrote: fold it into the
/// database and truncate it now rather than leave hundreds of megabytes for the next start.
fn truncate_wal(conn: &mut crate::db::DbConnection) -> anyhow::Result<()> {
    use diesel::connection::SimpleConnection;
    if let crate::db::DbConnection::Sqlite(sqlite) = conn {
        sqlite.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?;
    }
    Ok(())
}

/// Lists the bad lines of a rejected import on standard error.
fn print_line_errors(error: &crate::error::AppError) {
    if let crate::error::AppError::Client { errors, .. } = error {
        for item in errors {
            if let crate::error::ProblemItem::Line(line) = item {
                eprintln!("line {}: {}", line.line, line.message);
            }
        }
    }
}

fn check_ledger(settings: &Settings) -> anyhow::Result<()> {
    let database = open_database(settings)?;
    let mut conn = database.get().map_err(describe)?;
    let faults = crate::ledger::service::check(&mut conn).map_err(describe)?;
    for (entry, sum) in &faults.unbalanced {
        eprintln!("entry {entry} does not balance: its lines sum to {sum}");
    }
    for (account, kept, summed) in &faults.drifted {
        eprintln!("account {account}: balance {kept}, but its lines sum to {summed}");
    }
    if !faults.unbalanced.is_empty() || !faults.drifted.is_empty() {
        anyhow::bail!(
            "the ledger is inconsistent: {} unbalanced entr(ies), {} drifted balance(s)",
            faults.unbalanced.len(),
            faults.drifted.len()
        );
    }
    println!(
        "the ledger balances: {} entries, {} accounts, every balance the sum of its lines",
        faults.entries, faults.accounts
    );
    Ok(())
}

fn rebuild_rollups(settings: &Settings, check: bool) -> anyhow::Result<()> {
    let database = open_database(settings)?;
    let mut conn = database.get().map_err(describe)?;
    let timezone = settings.timezone()?;
    if check {
        let fresh = crate::stats::recompute(&mut conn, timezone)?.into_rows();
        let stored = crate::stats::stored(&mut conn)?;
        if fresh == stored {
            println!("rollups agree with the raw tables ({} rows)", stored.len());
            return Ok(());
        }
        let differing = fresh
            .keys()
            .chain(stored.keys())
            .filter(|k| fresh.get(*k) != stored.get(*k))
            .count();
        anyhow::bail!(
            "rollups differ from the raw tables in {differing} row(s); run `nongsan rebuild-rollups`"
        );
    }
    crate::db::write_transaction(&mut conn, |conn| crate::stats::rebuild(conn, timezone))?;
    println!("rollups rebuilt");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rebuild_reads_the_raw_tables_as_the_domains_write_them() {
        use crate::households::model::HouseholdStatus;
        use crate::ledger::model::{Account, EntryKind};
        use crate::orders::model::OrderStatus;
        use crate::products::model::ProductStatus;
        use crate::stats::recompute::{
            COMMISSION_ACCOUNT, HOME_COUNTRY, HOUSEHOLD_ACCOUNT_PREFIX, HOUSEHOLD_ACTIVE,
            ORDER_CANCELLED, PAYOUT_ENTRY, PRODUCT_ARCHIVED,
        };
        assert_eq!(HOUSEHOLD_ACTIVE, HouseholdStatus::Active.as_str());
        assert_eq!(PRODUCT_ARCHIVED, ProductStatus::Archived.as_str());
        assert_eq!(ORDER_CANCELLED, OrderStatus::Cancelled.as_str());
        assert_eq!(HOME_COUNTRY, crate::orders::model::HOME_COUNTRY);
        assert_eq!(COMMISSION_ACCOUNT, Account::Commission.key());
        assert_eq!(PAYOUT_ENTRY, EntryKind::Payout.as_str());
        assert_eq!(
            HOUSEHOLD_ACCOUNT_PREFIX,
            crate::ledger::model::HOUSEHOLD_ACCOUNT_PREFIX
        );
    }

    #[test]
    fn only_loopback_binds_count_as_private() {
        assert!(is_loopback_bind("127.0.0.1:8080"));
        assert!(is_loopback_bind("[::1]:0"));
        assert!(!is_loopback_bind("0.0.0.0:8080"));
        assert!(!is_loopback_bind("[::]:8080"));
        assert!(!is_loopback_bind("192.168.1.10:8080"));
        assert!(!is_loopback_bind("not an address"));
    }
}

//! The command line: `serve`, `migrate`, `admin create`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::auth::service::{NewAccount, RegisterRequest, insert_account};
use crate::config::{Overrides, Settings};
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
    /// Load the demo data set when the database is empty.
    #[arg(long)]
    demo: bool,
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
            serve(settings, args.demo)
        }
        Command::Migrate(database) => {
            let settings = load_settings(None, &database)?;
            let db = crate::db::Database::connect(
                crate::db::DatabaseUrl::parse(&settings.database.url),
                &crate::startup::pool_options(&settings),
            )?;
            let applied = db.migrate()?;
            println!(
                "applied {} migration(s) to {}",
                applied.len(),
                db.url().redacted()
            );
            Ok(())
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

fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let database = open_database(&settings)?;
        if demo {
            tracing::warn!("--demo: the demo data set is not available yet; starting with the database as it is");
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
        RegisterRequest {
            email,
            password,
            full_name,
            role: "admin".to_owned(),
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

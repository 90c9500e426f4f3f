//! The `borgertun` command line.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::clock::SystemClock;
use crate::config::{self, Config};
use crate::domain::{booking::parse_email, Role};
use crate::service::{App, ServiceError};
use crate::store::StoreError;
use crate::web;

#[derive(Parser)]
#[command(
    name = "borgertun",
    version,
    about = "Booking of Borgertun, Bergen kommune's meeting room at Årstadveien 17",
    long_about = "Booking of Borgertun, Bergen kommune's meeting room at Årstadveien 17 (Alrek helseklynge).\n\n\
        Applies the priority rules, never double-books, and lets the coordinator settle conflicts.\n\
        Start with `borgertun serve`; settings are read from the config folder and BORGERTUN_* variables."
)]
pub struct Cli {
    /// Folder with the configuration (*.toml).
    #[arg(
        long,
        global = true,
        env = "BORGERTUN_CONFIG",
        default_value = "config",
        value_name = "DIR"
    )]
    config: PathBuf,

    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// The configuration folder.
    pub fn config_dir(&self) -> &std::path::Path {
        &self.config
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the web service and JSON API (applies database migrations first).
    Serve,
    /// Create or update the database schema, then exit.
    Migrate,
    /// Back up the database while the service runs: a consistent copy of a SQLite database in
    /// the new file FILE; for PostgreSQL, the `pg_dump` command to run.
    Backup {
        /// The copy to write; it must not exist yet.
        file: PathBuf,
    },
    /// Validate the configuration; print every problem with its file and key.
    CheckConfig,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage calendar feeds (subscription links for Outlook, Google or Apple Calendar).
    Feed {
        #[command(subcommand)]
        command: FeedCommand,
    },
    /// Personal data: the retention round.
    Privacy {
        #[command(subcommand)]
        command: PrivacyCommand,
    },
    /// Recurring series: book the planned occurrences that have come within the horizon.
    Series {
        #[command(subcommand)]
        command: SeriesCommand,
    },
    /// A person's rights: export everything stored about them, or erase them.
    Person {
        #[command(subcommand)]
        command: PersonCommand,
    },
}

#[derive(Subcommand)]
enum PrivacyCommand {
    /// Anonymise the personal data of bookings that ended more than privacy.retention_months
    /// ago (as `serve` does daily), and print what was changed.
    Run,
}

#[derive(Subcommand)]
enum SeriesCommand {
    /// Book every planned occurrence whose day has come within its requester's horizon (as
    /// `serve` does daily), and print what became of each.
    BookPlanned,
}

#[derive(Subcommand)]
enum PersonCommand {
    /// Write, as JSON, everything stored about the person with this e-mail address (account,
    /// bookings they are contact for, audit entries by them, feeds, sessions, tokens, access
    /// requests, messages to them); no secrets or hashes.
    Export {
        #[arg(long)]
        email: String,
        /// Write to this file (readable by its owner only) instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Erase the person with this e-mail address: their account is deleted (sessions, tokens
    /// and feeds stop at once), and they are anonymised as contact person, in the audit log,
    /// in access requests and in the outbox. The bookings and every figure of the report stay.
    Erase {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum FeedCommand {
    /// Create a feed for a user and print its subscription link (shown once).
    Create {
        #[arg(long)]
        email: String,
        /// room: a room's confirmed bookings without contact details; organisation: the
        /// user's organisation's bookings in full; personal: the user's own bookings.
        #[arg(long, value_parser = ["room", "organisation", "personal"])]
        kind: String,
        /// For --kind room: the room key (default: the first room).
        #[arg(long)]
        room: Option<String>,
    },
    /// List a user's feeds.
    List {
        #[arg(long)]
        email: String,
    },
    /// Revoke a feed: its link stops working at once.
    Revoke {
        #[arg(long)]
        id: i64,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user who can book for their organisation.
    Add {
        /// E-mail address; also the user's identity.
        #[arg(long)]
        email: String,
        /// Full name, shown as contact person.
        #[arg(long)]
        name: String,
        /// Organisation key from the configuration, e.g. beho, uib, hvl.
        #[arg(long, value_name = "KEY")]
        org: String,
        /// requester (partner staff), staff (BEHO), coordinator (settles conflicts, acts for
        /// any organisation) or admin.
        #[arg(long, default_value = "requester", value_parser = ["requester", "staff", "coordinator", "admin"])]
        role: String,
    },
    /// List every user: id, e-mail, name, organisation, role and whether the account is active.
    List,
    /// Disable a user: their sessions end at once; they cannot sign in, and their API tokens
    /// and calendar feeds are refused until they are enabled again. The last enabled
    /// administrator cannot be disabled.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled user again.
    Enable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API bearer token for a user. It is printed once; only its hash is kept. It
    /// works for auth.api_token_days days (365 unless configured).
    Create {
        #[arg(long)]
        email: String,
    },
    /// List a user's API tokens: id, made, expires, last used and state (never the token).
    List {
        #[arg(long)]
        email: String,
    },
    /// Revoke an API token by its id (from `token list`): it stops working at once.
    Revoke {
        /// The token's id.
        id: i64,
    },
}

/// Write `bytes` to a new (or emptied) file readable by its owner only: an export is personal
/// data.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)
}

fn load(dir: &std::path::Path) -> anyhow::Result<Config> {
    config::load(dir).map_err(|e| anyhow::anyhow!("the configuration has problems:\n{e}"))
}

/// The application on the configured database, migrated.
async fn open(cfg: Config) -> anyhow::Result<App> {
    App::open(cfg, Arc::new(SystemClock)).await
}

/// The user with the address `email`.
async fn user(app: &App, email: &str) -> anyhow::Result<crate::domain::User> {
    let email = parse_email(email).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    app.user_by_email(&email)
        .await?
        .with_context(|| format!("no user with the e-mail {email}; add one with `borgertun user add`"))
}

/// The account with the address `email`.
async fn account(app: &App, email: &str) -> anyhow::Result<crate::service::Account> {
    let email = parse_email(email).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    app.account_by_email(&email)
        .await?
        .with_context(|| format!("no user with the e-mail {email}"))
}

/// A refusal by the rules, as its message.
fn refusal(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Rules(errs) => anyhow::anyhow!(
            "{}",
            errs.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" ")
        ),
        e => e.into(),
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::CheckConfig => match config::load(&cli.config) {
            Ok(cfg) => {
                let r = &cfg.rules;
                println!(
                    "{}: OK — {} room(s), {} tiers, {} organisations, {} closures; database {}",
                    cli.config.display(),
                    r.rooms.len(),
                    r.tiers.len(),
                    r.organisations.len(),
                    r.closures.len(),
                    config::redact_url(&cfg.database.url)
                );
                Ok(())
            }
            Err(e) => {
                for line in &e.0 {
                    eprintln!("{line}");
                }
                bail!("{} problem(s) in the configuration", e.0.len())
            }
        },
        Command::Migrate => {
            let cfg = load(&cli.config)?;
            let db = config::redact_url(&cfg.database.url);
            let app = open(cfg).await?;
            println!("database {db} is up to date ({})", app.health().await?);
            Ok(())
        }
        Command::Backup { file } => {
            let cfg = load(&cli.config)?;
            let url = cfg.database.url.clone();
            if url.starts_with("postgres:") || url.starts_with("postgresql:") {
                // Nothing to connect to for this: pg_dump takes a consistent snapshot itself.
                // The password stays out of the printed command (PGPASSWORD or ~/.pgpass).
                println!(
                    "PostgreSQL is backed up with pg_dump, consistent while the service runs:\n  pg_dump --format=custom --file={} '{}'",
                    file.display(),
                    config::redact_url(&url).replace(":***@", "@")
                );
                return Ok(());
            }
            if file.exists() {
                bail!("{} exists already; give a new file", file.display());
            }
            let app = open(cfg).await?;
            if !app.store().backup_to(&file).await? {
                bail!("this database cannot be backed up by borgertun");
            }
            let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            println!("database backed up to {} ({bytes} bytes)", file.display());
            Ok(())
        }
        Command::Serve => {
            let cfg = load(&cli.config)?;
            web::server::start(cfg, Arc::new(SystemClock)).await?.run().await?;
            Ok(())
        }
        Command::User {
            command: UserCommand::Add { email, name, org, role },
        } => {
            let cfg = load(&cli.config)?;
            let email = parse_email(&email).map_err(|e| anyhow::anyhow!("{}", e.message))?;
            let name = name.trim().to_string();
            if name.is_empty() {
                bail!("--name must not be empty");
            }
            if cfg.rules.organisation(&org).is_none() {
                let keys: Vec<&str> = cfg.rules.organisations.iter().map(|o| o.key.as_str()).collect();
                bail!("unknown organisation «{org}»; known keys: {}", keys.join(", "));
            }
            let role = Role::parse(&role).map_err(|e| anyhow::anyhow!("{}", e.message))?;
            let app = open(cfg).await?;
            let user = match app.add_user(&email, &name, &org, role).await {
                Err(ServiceError::Store(StoreError::Duplicate(_))) => {
                    bail!("a user with the e-mail {email} already exists")
                }
                other => other?,
            };
            println!(
                "added user {} <{}> in {} as {}",
                user.name,
                user.email,
                user.org,
                user.role.as_str()
            );
            Ok(())
        }
        Command::User { command } => {
            let cfg = load(&cli.config)?;
            let app = open(cfg).await?;
            match command {
                UserCommand::Add { .. } => unreachable!("handled above"),
                UserCommand::List => {
                    for a in app.accounts().await? {
                        let state = match a.disabled_at {
                            Some(t) => format!("disabled {}", t.format("%Y-%m-%d %H:%M")),
                            None => "active".to_string(),
                        };
                        let u = &a.user;
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}",
                            u.id,
                            u.email,
                            u.name,
                            u.org,
                            u.role.as_str(),
                            state
                        );
                    }
                }
                UserCommand::Disable { email } => {
                    let target = account(&app, &email).await?;
                    if target.disabled_at.is_some() {
                        println!("{} is already disabled", target.user.email);
                    } else {
                        let a = app.disable_user(None, &target).await.map_err(refusal)?;
                        println!("disabled {}: their sessions have ended", a.user.email);
                    }
                }
                UserCommand::Enable { email } => {
                    let target = account(&app, &email).await?;
                    if target.disabled_at.is_none() {
                        println!("{} is already active", target.user.email);
                    } else {
                        let a = app.enable_user(None, &target).await.map_err(refusal)?;
                        println!("enabled {}", a.user.email);
                    }
                }
            }
            Ok(())
        }
        Command::Feed { command } => {
            let cfg = load(&cli.config)?;
            let app = open(cfg).await?;
            match command {
                FeedCommand::Create { email, kind, room } => {
                    let user = user(&app, &email).await?;
                    let kind = crate::domain::FeedKind::parse(&kind).map_err(|e| anyhow::anyhow!("{}", e.message))?;
                    let (feed, token) = app
                        .create_feed(&user, kind, room.as_deref())
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    let (url, webcal) = web::feeds::feed_urls(app.public_url(), &token);
                    eprintln!(
                        "feed {} ({}) for {} — the link is shown once:",
                        feed.id,
                        feed.kind.as_str(),
                        user.email
                    );
                    println!("{url}");
                    eprintln!("subscribe: {webcal}");
                }
                FeedCommand::List { email } => {
                    let user = user(&app, &email).await?;
                    for f in app.feeds_of(&user).await? {
                        let state = match f.revoked_at {
                            Some(t) => format!("revoked {}", t.format("%Y-%m-%d %H:%M")),
                            None => "active".to_string(),
                        };
                        let scope = f.room.or(f.org).unwrap_or_else(|| user.email.clone());
                        println!(
                            "{}\t{}\t{}\tcreated {}\t{}",
                            f.id,
                            f.kind.as_str(),
                            scope,
                            f.created_at.format("%Y-%m-%d %H:%M"),
                            state
                        );
                    }
                }
                FeedCommand::Revoke { id } => {
                    if !app.revoke_feed(id, None).await? {
                        bail!("no active feed with id {id}");
                    }
                    println!("feed {id} revoked");
                }
            }
            Ok(())
        }
        Command::Privacy {
            command: PrivacyCommand::Run,
        } => {
            let cfg = load(&cli.config)?;
            let app = open(cfg).await?;
            let months = app.config().privacy.retention_months;
            let n = app.run_retention().await?;
            println!(
                "retention ({months} months, bookings that ended before {}): {} booking(s) anonymised \
                 with {} audit line(s); deleted {} message(s), {} access request(s), {} sign-in link(s), \
                 {} session(s), {} revoked feed(s)",
                app.retention_cutoff().format("%Y-%m-%d %H:%M UTC"),
                n.bookings,
                n.audit_entries,
                n.messages,
                n.access_requests,
                n.sign_in_links,
                n.sessions,
                n.feeds
            );
            Ok(())
        }
        Command::Series {
            command: SeriesCommand::BookPlanned,
        } => {
            let cfg = load(&cli.config)?;
            let app = open(cfg).await?;
            let decided = app.book_planned_occurrences().await?;
            for o in &decided {
                println!("{} ({})", o.describe(), o.status.as_str());
            }
            println!("{} planned occurrence(s) decided", decided.len());
            Ok(())
        }
        Command::Person { command } => {
            let cfg = load(&cli.config)?;
            match command {
                PersonCommand::Export { email, out } => {
                    let email = parse_email(&email).map_err(|e| anyhow::anyhow!("{}", e.message))?;
                    let app = open(cfg).await?;
                    let export = app.export_person(&email).await?;
                    if export.data.is_empty() {
                        eprintln!("nothing is stored about {email}");
                    }
                    let json = serde_json::to_string_pretty(&export)? + "\n";
                    match out {
                        Some(path) => {
                            write_private(&path, json.as_bytes())
                                .with_context(|| format!("cannot write {}", path.display()))?;
                            eprintln!("wrote what is stored about {email} to {}", path.display());
                        }
                        None => print!("{json}"),
                    }
                }
                PersonCommand::Erase { email } => {
                    let email = parse_email(&email).map_err(|e| anyhow::anyhow!("{}", e.message))?;
                    let app = open(cfg).await?;
                    let n = app.erase_person(&email).await?;
                    if n == Default::default() {
                        println!("nothing is stored about {email}; nothing changed");
                    } else {
                        println!(
                            "erased {email}: account {}; anonymised as contact of {} booking(s), in {} attendance \
                             registration(s) and {} audit line(s); {} access request(s) and {} message(s) to them \
                             removed; name or address replaced in {} other text(s); {} session(s), {} API token(s) \
                             and {} feed(s) deleted",
                            if n.account { "deleted" } else { "none" },
                            n.bookings,
                            n.attendance,
                            n.audit_entries,
                            n.access_requests,
                            n.messages,
                            n.texts,
                            n.sessions,
                            n.api_tokens,
                            n.feeds
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Token { command } => {
            let cfg = load(&cli.config)?;
            let app = open(cfg).await?;
            match command {
                TokenCommand::Create { email } => {
                    let user = user(&app, &email).await?;
                    let (token, stored) = app.create_api_token_with_id(&user).await?;
                    eprintln!(
                        "API token {} for {}, valid until {} (shown once; send it as «Authorization: Bearer <token>»):",
                        stored.id,
                        user.email,
                        stored.expires_at.format("%Y-%m-%d")
                    );
                    println!("{token}");
                }
                TokenCommand::List { email } => {
                    let user = user(&app, &email).await?;
                    let now = app.now();
                    let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
                    for t in app.api_tokens_of(&user).await? {
                        let state = match t.revoked_at {
                            Some(at) => format!("revoked {}", when(at)),
                            None if t.expires_at <= now => "expired".to_string(),
                            None => "active".to_string(),
                        };
                        println!(
                            "{}\tcreated {}\texpires {}\tlast used {}\t{}",
                            t.id,
                            when(t.created_at),
                            when(t.expires_at),
                            t.last_used_at.map(when).unwrap_or_else(|| "never".to_string()),
                            state
                        );
                    }
                }
                TokenCommand::Revoke { id } => {
                    if !app.revoke_api_token(id, None).await? {
                        bail!("no active token with id {id}");
                    }
                    println!("token {id} revoked");
                }
            }
            Ok(())
        }
    }
}

//! The `borgertun` command line.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::config::{self, Config};
use crate::domain::{booking::parse_email, Role};
use crate::store;
use crate::web::{self, AppState};

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

#[derive(Subcommand)]
enum Command {
    /// Run the web service and JSON API (applies database migrations first).
    Serve,
    /// Create or update the database schema, then exit.
    Migrate,
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
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API bearer token for a user. It is printed once; only its hash is kept.
    Create {
        #[arg(long)]
        email: String,
    },
}

fn load(dir: &std::path::Path) -> anyhow::Result<Config> {
    config::load(dir).map_err(|e| anyhow::anyhow!("the configuration has problems:\n{e}"))
}

async fn open_store(cfg: &Config) -> anyhow::Result<Arc<dyn store::Store>> {
    let store = store::connect(&cfg.database.url, cfg.database.max_connections)
        .await
        .with_context(|| format!("cannot open the database {}", config::redact_url(&cfg.database.url)))?;
    store.migrate().await.context("cannot apply the database migrations")?;
    Ok(store)
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
            let store = open_store(&cfg).await?;
            println!(
                "database {} is up to date ({})",
                config::redact_url(&cfg.database.url),
                store.backend()
            );
            Ok(())
        }
        Command::Serve => {
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
            let listener = tokio::net::TcpListener::bind(&cfg.server.bind)
                .await
                .with_context(|| format!("cannot listen on {}", cfg.server.bind))?;
            tracing::info!(addr = %listener.local_addr()?, database = store.backend(), "borgertun listening");
            let transport = crate::mail::transport::Transport::from_config(&cfg.mail)?;
            let worker = tokio::spawn(crate::mail::worker::run(store.clone(), transport, cfg.mail.clone()));
            let state = AppState::new(store, cfg);
            let asker = tokio::spawn(ask_for_attendance(state.clone()));
            web::serve(state, listener).await?;
            worker.abort();
            asker.abort();
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
            let store = open_store(&cfg).await?;
            let user = match store.add_user(&email, &name, &org, role, chrono::Utc::now()).await {
                Err(store::StoreError::Duplicate(_)) => bail!("a user with the e-mail {email} already exists"),
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
        Command::Feed { command } => {
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
            let now = chrono::Utc::now();
            match command {
                FeedCommand::Create { email, kind, room } => {
                    let email = parse_email(&email).map_err(|e| anyhow::anyhow!("{}", e.message))?;
                    let user = store
                        .user_by_email(&email)
                        .await?
                        .with_context(|| format!("no user with the e-mail {email}"))?;
                    let kind = crate::domain::FeedKind::parse(&kind).map_err(|e| anyhow::anyhow!("{}", e.message))?;
                    let (feed, token) =
                        crate::service::create_feed(store.as_ref(), &cfg.rules, &user, kind, room.as_deref(), now)
                            .await
                            .map_err(|e| anyhow::anyhow!("{e}"))?;
                    let (url, webcal) = web::feeds::feed_urls(&cfg.public_url(), &token);
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
                    let email = parse_email(&email).map_err(|e| anyhow::anyhow!("{}", e.message))?;
                    let user = store
                        .user_by_email(&email)
                        .await?
                        .with_context(|| format!("no user with the e-mail {email}"))?;
                    for f in store.feeds_of(user.id).await? {
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
                    if !store.revoke_feed(id, None, now).await? {
                        bail!("no active feed with id {id}");
                    }
                    println!("feed {id} revoked");
                }
            }
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { email },
        } => {
            let cfg = load(&cli.config)?;
            let store = open_store(&cfg).await?;
            let email = parse_email(&email).map_err(|e| anyhow::anyhow!("{}", e.message))?;
            let user = store
                .user_by_email(&email)
                .await?
                .with_context(|| format!("no user with the e-mail {email}; add one with `borgertun user add`"))?;
            let (token, hash) = web::auth::new_api_token();
            store.add_api_token(user.id, &hash, chrono::Utc::now()).await?;
            eprintln!(
                "API token for {} (shown once; send it as «Authorization: Bearer <token>»):",
                user.email
            );
            println!("{token}");
            Ok(())
        }
    }
}

/// Every ten minutes, ask the contacts of finished events to register attendance.
async fn ask_for_attendance(state: AppState) {
    loop {
        if let Err(e) = crate::service::ask_for_attendance(state.store.as_ref(), &state.composer(), state.now()).await {
            tracing::error!(error = %e, "attendance requests");
        }
        tokio::time::sleep(std::time::Duration::from_secs(600)).await;
    }
}

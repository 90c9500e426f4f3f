//! Shared by the bench binaries: the server's allocator, so their figures are the server's
//! (src/main.rs), and for those that run the server, a two-thread runtime and the shipped
//! configuration with a migrated store: a SQLite file in a temporary folder, or the empty
//! PostgreSQL database `BENCH_DATABASE_URL` names.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;

use borgertun::config::Config;
use borgertun::store::{self, Store};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Run `bench` on two worker threads, as many as this machine has cores.
pub fn block_on(bench: impl Future<Output = AnyResult<()>>) -> AnyResult<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(bench)
}

/// The configuration and its migrated store; `dir` holds the SQLite file (`db_file`) and the
/// mail folder, and is removed when dropped.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub cfg: Config,
    pub store: Arc<dyn Store>,
}

pub async fn setup(db_file: &str) -> AnyResult<Setup> {
    let dir = tempfile::tempdir()?;
    let mut cfg = borgertun::config::load(std::path::Path::new("config")).map_err(|e| e.to_string())?;
    cfg.database.url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join(db_file).display()));
    cfg.mail.file_dir = dir.path().join("mail");
    let store = store::connect(&cfg.database.url, 4).await?;
    store.migrate().await?;
    Ok(Setup { dir, cfg, store })
}

use borgertun::config::LogFormat;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc for Rust's allocations instead of glibc's malloc: sqlx allocates every row on a
/// SQLite worker thread and the runtime frees it on another, which glibc handles slowly. The
/// five-year report loads its rows in under 90 ms instead of about 150 ms (docs/benchmarks.md,
/// «Allocator»). Only Rust's: mimalloc's `override` feature, which would take over `malloc`
/// and `free` for the whole process (the bundled SQLite too), crashes the binary at start
/// under a preloaded library that got memory from glibc before (libfaketime, as operators use
/// it), and is left off (docs/decisions.md; tests/it/preload.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = borgertun::cli::Cli::parse();
    let filter = EnvFilter::try_from_env("BORGERTUN_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match borgertun::config::log_format(cli.config_dir()) {
        // One JSON object a line, with the spans it was written in: a request's line carries
        // its `request_id`.
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    match borgertun::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

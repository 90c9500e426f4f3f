use borgertun::config::LogFormat;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc, for Rust and (with the `override` feature) for the
/// bundled SQLite too: sqlx allocates every row on a SQLite worker thread and the runtime frees
/// it on another, which glibc handles slowly. The five-year report loads its rows in about
/// 90 ms instead of 150 ms (README, «Benchmarks → Allocator»).
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

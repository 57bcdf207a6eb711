//! `quiver-server [config-file] [--directive value ...]`

use quiver_commands::ServerState;
use quiver_server::options::{parse_args, Invocation};
use std::sync::Arc;

/// jemalloc, with large blocks on huge pages (see the module's docs).
#[global_allocator]
static GLOBAL: quiver_server::huge_pages::Allocator = quiver_server::huge_pages::Allocator;

/// Bytes allocated, from jemalloc's own statistics (INFO `used_memory`).
fn jemalloc_allocated() -> usize {
    let _ = tikv_jemalloc_ctl::epoch::advance();
    tikv_jemalloc_ctl::stats::allocated::read().unwrap_or(0)
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse_args(&argv) {
        Ok(Invocation::Run(c)) => *c,
        Ok(Invocation::Version) => {
            println!(
                "Quiver server v={} (Redis-compatible {})",
                quiver_commands::state::QUIVER_VERSION,
                quiver_commands::state::REDIS_VERSION
            );
            return;
        }
        Ok(Invocation::Help) => {
            println!("Usage: quiver-server [/path/to/quiver.conf] [--directive value ...]");
            println!("Examples:\n  quiver-server\n  quiver-server --port 7777\n  quiver-server /etc/quiver.conf --loglevel verbose");
            return;
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    init_logging(&config);
    let _ = quiver_commands::state::USED_MEMORY.set(jemalloc_allocated);
    let state = Arc::new(ServerState::new(config));
    let mut builder = tokio::runtime::Builder::new_current_thread();
    let rt = match quiver_server::idle_poll::install(&mut builder, &state)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let local = tokio::task::LocalSet::new();
    let code = local.block_on(&rt, async move {
        let listeners = match quiver_server::bind(&state).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(
                    "could not bind {}:{}: {e}",
                    state.config.get("bind"),
                    state.config.get("port")
                );
                return 1;
            }
        };
        for l in &listeners {
            if let Ok(addr) = l.local_addr() {
                tracing::info!("Ready to accept connections tcp on {addr}");
            }
        }
        let st = state.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("Received SIGINT, shutting down");
            st.shutting_down
                .store(true, std::sync::atomic::Ordering::SeqCst);
            st.shutdown.notify_one();
        });
        #[cfg(unix)]
        {
            let st = state.clone();
            tokio::spawn(async move {
                if let Ok(mut s) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                {
                    s.recv().await;
                    tracing::info!("Received SIGTERM, shutting down");
                    st.shutting_down
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                    st.shutdown.notify_one();
                }
            });
        }
        quiver_server::serve(state, listeners).await;
        tracing::info!("Quiver is now ready to exit, bye bye...");
        0
    });
    std::process::exit(code);
}

fn init_logging(config: &quiver_commands::config::Config) {
    let level = match config.get("loglevel").as_str() {
        "debug" => "debug",
        "verbose" => "info",
        "warning" => "warn",
        _ => "info",
    };
    let builder = tracing_subscriber::fmt().with_env_filter(
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()),
    );
    let logfile = config.get("logfile");
    if logfile.is_empty() {
        builder.with_writer(std::io::stderr).init();
    } else {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&logfile)
        {
            Ok(f) => builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(f))
                .init(),
            Err(e) => {
                eprintln!("Can't open the log file '{logfile}': {e}");
                std::process::exit(1);
            }
        }
    }
}

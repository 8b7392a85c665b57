//! The kubesim binary: serves the simulated API server until killed.

use clap::Parser;
use std::io::Write;
use std::path::PathBuf;

/// A Kubernetes API server simulator.
#[derive(Parser)]
#[command(name = "kubesim", version)]
struct Args {
    /// Port to listen on (127.0.0.1); 0 picks a free one.
    #[arg(long, default_value_t = 6443)]
    port: u16,
    /// Where to write a kubeconfig for the admin user.
    #[arg(long)]
    write_kubeconfig: Option<PathBuf>,
    /// Persist objects to this file (loaded on start if present).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    plain_http: bool,
    /// Log every request to stderr.
    #[arg(long)]
    log: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut builder = kubesim::Server::builder()
        .port(args.port)
        .plain_http(args.plain_http)
        .log_requests(args.log);
    if let Some(state) = &args.state {
        builder = builder.state_file(state);
    }
    let server = builder.start().await?;
    if let Some(path) = &args.write_kubeconfig {
        server.write_kubeconfig(path)?;
    }
    let mut message = format!("kubesim listening on {}\n", server.url());
    if let Some(path) = &args.write_kubeconfig {
        message.push_str(&format!("kubeconfig written to {}\n", path.display()));
    }
    // Whoever started us may stop reading; that must not stop the server.
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(message.as_bytes());
    let _ = stdout.flush();
    tokio::signal::ctrl_c().await?;
    Ok(())
}

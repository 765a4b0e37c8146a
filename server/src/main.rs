//! `baedal`: the mail server (`baedal serve`) and the administrator's CLI in one binary.
//!
//! # Layout
//! - `config`: the TOML configuration, its defaults, validation and error locations.
//! - `database`: opening the configured SQL database with migrations applied.
//! - `blobs`: the configured blob store (Maildir files or S3).
//! - `serve`: the running server: stores, listeners, reload, shutdown.
//! - `generation`: what one configuration builds on the stores (services, login chain,
//!   queue workers, periodic jobs); a reload swaps in the next.
//! - `lifecycle`: signals (stop, reload), systemd notifications, the reload itself.
//! - `http`: health and readiness endpoints.
//! - `listener`: the accept loop every mail protocol shares (limits, implicit TLS).
//! - `smtp`, `pop3`, `imap`: each protocol's service and session; POP3's retention sweeper.
//! - `limits`: connection limits per listener group and per client IP.
//! - `tls`: the configured or self-signed server certificate.
//! - `resolver`: the DNS resolver of `[dns] nameservers` (queue and inbound checks).

mod auth;
mod autoconfig;
mod blobs;
mod config;
mod console;
#[cfg(test)]
mod console_tests;
mod database;
mod dns_records;
mod generation;
mod http;
mod imap;
mod lifecycle;
mod limits;
mod listener;
mod mta_sts;
mod outbound;
mod pop3;
mod resolver;
mod serve;
mod smtp;
mod status;
mod tls;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use baedal_admin::{AdminCommand, AdminError, Output};

use clap::{Parser, Subcommand};

use crate::config::{Loaded, Source};

#[derive(Debug, Parser)]
#[command(
    name = "baedal",
    version,
    about = "One mail server: SMTP, IMAP and POP3, with its administrator's CLI"
)]
struct Cli {
    /// Configuration file (default: /etc/baedal/baedal.toml when it exists, else embedded defaults)
    #[arg(long, global = true, env = "BAEDAL_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (overrides data_dir; default ./baedal-data)
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print results as JSON
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the mail server
    Serve,
    /// Apply pending database migrations
    Migrate,
    /// Check or show the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The running server's health: listeners, queue, LDAP sync, database and storage
    /// (exit 0 when it answers and is ready)
    Status,
    /// The DNS records a domain needs, and whether the resolver has them
    #[command(subcommand)]
    Dns(DnsCommand),
    /// Shell completions for bash, zsh or fish, on standard output
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Man pages and completions into DIR/man and DIR/completions (for packaging)
    #[command(hide = true)]
    GenerateAssets { dir: PathBuf },
    #[command(flatten)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
enum DnsCommand {
    /// Every record DOMAIN needs (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, SRV, autoconfig),
    /// as zone-file lines
    Records { domain: String },
    /// Ask the configured resolver for each record: ok, missing or different (exit 1 when
    /// any is not ok)
    Check { domain: String },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration file, naming the bad key and line
    Check {
        /// The file to check (default: the one --config or the default search finds)
        file: Option<PathBuf>,
    },
    /// Print the effective configuration (file plus defaults, secrets hidden)
    Show,
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // Made from the definitions above alone: no configuration needed.
    match &cli.command {
        Command::Completions { shell } => {
            // Written whole, so that a closed pipe (`| head`) is not a panic.
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut cli_command(), "baedal", &mut script);
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            return ExitCode::SUCCESS;
        }
        Command::GenerateAssets { dir } => {
            return match generate_assets(dir) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cannot write the man pages and completions: {e:#}");
                    ExitCode::from(1)
                }
            };
        }
        _ => {}
    }
    // `baedal config check FILE` checks FILE, as `--config FILE config check` does.
    if let Command::Config(ConfigCommand::Check { file: Some(file) }) = &cli.command {
        cli.config = Some(file.clone());
    }
    // One crypto provider for the whole process (rustls, sqlx, later LDAP and S3).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(dispatch(cli))
}

async fn dispatch(cli: Cli) -> ExitCode {
    let loaded = match config::load(cli.config.as_deref(), cli.data_dir.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            let _ = init_logging("warn", LogTo::Stderr);
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let result = match cli.command {
        Command::Serve => {
            let set_log_level = init_logging(&loaded.config.log.level, LogTo::Stdout);
            let reloader = lifecycle::Reloader {
                file: cli.config.clone(),
                data_dir: cli.data_dir.clone(),
                set_log_level,
            };
            serve::run(loaded, reloader).await
        }
        Command::Migrate => {
            let _ = init_logging("warn", LogTo::Stderr);
            migrate(&loaded, cli.json).await
        }
        Command::Config(cmd) => {
            let _ = init_logging("warn", LogTo::Stderr);
            config_command(cmd, &loaded)
        }
        Command::Admin(cmd) => {
            let _ = init_logging("warn", LogTo::Stderr);
            return admin(cmd, &loaded, cli.json).await;
        }
        Command::Status => return status(&loaded, cli.json).await,
        Command::Dns(cmd) => {
            let _ = init_logging("warn", LogTo::Stderr);
            return dns(cmd, &loaded, cli.json).await;
        }
        Command::Completions { .. } | Command::GenerateAssets { .. } => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The CLI's definition, as clap builds it.
fn cli_command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// `DIR/man/baedal*.1` (one page per command) and `DIR/completions/` for bash, zsh and fish.
fn generate_assets(dir: &std::path::Path) -> Result<()> {
    use anyhow::Context;
    let man = dir.join("man");
    let completions = dir.join("completions");
    std::fs::create_dir_all(&man).with_context(|| man.display().to_string())?;
    std::fs::create_dir_all(&completions).with_context(|| completions.display().to_string())?;
    clap_mangen::generate_to(cli_command(), &man).context("man pages")?;
    for (shell, file) in [
        (clap_complete::Shell::Bash, "baedal.bash"),
        (clap_complete::Shell::Zsh, "_baedal"),
        (clap_complete::Shell::Fish, "baedal.fish"),
    ] {
        let mut out = std::fs::File::create(completions.join(file)).context(file)?;
        clap_complete::generate(shell, &mut cli_command(), "baedal", &mut out);
    }
    Ok(())
}

/// `baedal dns records|check DOMAIN`.
async fn dns(cmd: DnsCommand, loaded: &Loaded, json: bool) -> ExitCode {
    let run = async {
        let (DnsCommand::Records { domain } | DnsCommand::Check { domain }) = &cmd;
        let domain = baedal_storage::address::DomainName::parse(domain)
            .map_err(|e| anyhow::anyhow!("{domain}: {e}"))?;
        let (db, _) = database::open(&loaded.config).await?;
        let keys = baedal_storage::dkim::DkimKeys::new(db.clone());
        let records = dns_records::records(&loaded.config, &keys, &domain).await;
        db.close().await;
        let records = records?;
        if let DnsCommand::Records { .. } = cmd {
            if json {
                println!("{}", serde_json::to_string_pretty(&records)?);
            } else {
                print!("{}", dns_records::render(&records));
            }
            return Ok(true);
        }
        let resolver = resolver::resolver(&loaded.config, std::time::Duration::from_secs(5))?;
        let checked = dns_records::check(&resolver, records).await;
        if json {
            println!("{}", serde_json::to_string_pretty(&checked)?);
        } else {
            for c in &checked {
                println!(
                    "{:<9} {} {} {}{}",
                    c.state,
                    c.record.name,
                    c.record.rtype,
                    c.record.value,
                    if c.state == "different" {
                        format!("  (found: {})", c.found.join(" | "))
                    } else {
                        String::new()
                    }
                );
            }
        }
        Ok::<bool, anyhow::Error>(checked.iter().all(|c| c.state == "ok"))
    };
    match run.await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `baedal status`: 0 when the server answers and is ready, 1 otherwise.
async fn status(loaded: &Loaded, json: bool) -> ExitCode {
    match status::ask(&loaded.config.data_dir).await {
        Ok(report) => {
            if json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                print!("{}", status::render(&report));
            }
            if report.ready {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "ready": false, "error": e.to_string() })
                );
            }
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn admin(cmd: AdminCommand, loaded: &Loaded, json: bool) -> ExitCode {
    let db = match database::open(&loaded.config).await {
        Ok((db, _)) => db,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(1);
        }
    };
    let blobs = blobs::open(&loaded.config, false).await;
    let ctx = match console::admin_context(&loaded.config, &db, blobs, Output { json }) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(1);
        }
    };
    let result = baedal_admin::run(cmd, &ctx).await;
    db.close().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(AdminError::exit_code(&e))
        }
    }
}

async fn migrate(loaded: &Loaded, json: bool) -> Result<()> {
    let (db, report) = database::open(&loaded.config).await?;
    db.close().await;
    if json {
        println!(
            "{}",
            serde_json::json!({ "applied": report.applied, "known": report.known })
        );
    } else if report.applied.is_empty() {
        println!("database is up to date ({} migrations)", report.known);
    } else {
        for m in &report.applied {
            println!("applied {m}");
        }
    }
    Ok(())
}

fn config_command(cmd: ConfigCommand, loaded: &Loaded) -> Result<()> {
    match cmd {
        ConfigCommand::Check { .. } => match &loaded.source {
            Source::File(path) => println!("{}: OK", path.display()),
            Source::Embedded => println!("no configuration file: the embedded defaults are in use"),
        },
        ConfigCommand::Show => {
            if let Source::File(path) = &loaded.source {
                println!("# {}", path.display());
            }
            print!("{}", toml::to_string(&loaded.config.redacted())?);
        }
    }
    Ok(())
}

/// Where log events go: `serve` writes them to stdout (journald takes it under systemd),
/// the administrator's commands to stderr (their stdout is their answer).
#[derive(Clone, Copy)]
enum LogTo {
    Stdout,
    Stderr,
}

/// Starts logging at `level` (a `tracing` filter: `info`, `baedal=debug,warn`, ...);
/// `RUST_LOG` wins over it. Returns how to change the level later, unless `RUST_LOG` fixed
/// it. When stdout is the journal, lines carry no timestamp of their own.
fn init_logging(level: &str, to: LogTo) -> Option<lifecycle::LogLevelSetter> {
    use std::io::IsTerminal;
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    use tracing_subscriber::layer::{Layer, SubscriberExt};
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, reload};
    let from_env = EnvFilter::try_from_default_env().ok();
    let fixed = from_env.is_some();
    let filter = from_env
        .or_else(|| {
            EnvFilter::try_new(level)
                .ok()
                .map(|f| quiet_peer_noise(f, level))
        })
        .unwrap_or_else(|| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let (writer, ansi) = match to {
        LogTo::Stdout => (
            BoxMakeWriter::new(std::io::stdout),
            std::io::stdout().is_terminal(),
        ),
        LogTo::Stderr => (
            BoxMakeWriter::new(std::io::stderr),
            std::io::stderr().is_terminal(),
        ),
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    let fmt = if matches!(to, LogTo::Stdout) && stdout_is_the_journal() {
        fmt.without_time().boxed()
    } else {
        fmt.boxed()
    };
    if tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init()
        .is_err()
        || fixed
    {
        return None;
    }
    Some(Box::new(move |level: &str| {
        let filter = quiet_peer_noise(EnvFilter::try_new(level)?, level);
        handle.reload(filter)?;
        Ok(())
    }))
}

/// rustls warns of what a client sends in its TLS hello (an IP address as SNI, which many
/// clients send): that is a client's normal behaviour, not the server's trouble, and under
/// load it filled the log. Those lines show only at `debug` (or when `rustls` is named).
fn quiet_peer_noise(
    filter: tracing_subscriber::EnvFilter,
    level: &str,
) -> tracing_subscriber::EnvFilter {
    let verbose = ["debug", "trace", "rustls"]
        .iter()
        .any(|word| level.contains(word));
    match "rustls::msgs::handshake=error".parse() {
        Ok(directive) if !verbose => filter.add_directive(directive),
        _ => filter,
    }
}

/// True when stdout is the journal's stream: `JOURNAL_STREAM` names its device and inode
/// (systemd.exec(5)); a child of a service inherits the variable with another stdout.
fn stdout_is_the_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some((dev, ino)) = std::env::var("JOURNAL_STREAM").ok().and_then(|v| {
        v.split_once(':')
            .map(|(d, i)| (d.to_string(), i.to_string()))
    }) else {
        return false;
    };
    let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() else {
        return false;
    };
    let Ok(meta) = std::fs::File::from(fd).metadata() else {
        return false;
    };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}

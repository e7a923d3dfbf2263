//! `stitch`: the controller (`stitch serve`) and its command-line client.
//! A thin binary: configuration, tracing and wiring live here; everything
//! else is in the library crates.

mod cli;
mod config;
mod demo;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stitch_model::inventory::Kind;

use cli::client::Client;
use cli::{Action, Format};

#[derive(Parser, Debug)]
#[command(name = "stitch", version, about = "Stitch SDN fabric controller and client")]
struct Cli {
    /// The Stitch API the client commands talk to.
    #[arg(long, global = true, env = "STITCH_URL", default_value = "http://127.0.0.1:9696")]
    url: String,
    /// Output format of client commands.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = Format::Table)]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the controller.
    Serve(config::ServeArgs),
    /// The dataplane lab: VMs ping through emulated hardware VTEPs programmed by Stitch (root).
    Demo {
        #[arg(value_enum, default_value = "up")]
        verb: demo::Verb,
    },
    /// VXLAN fabrics.
    #[command(subcommand)]
    Fabric(cli::FabricCmd),
    /// Top-of-rack switches.
    #[command(subcommand)]
    Switch(cli::SwitchCmd),
    /// Switch ports (named SWITCH:PORT or by id).
    #[command(subcommand)]
    SwitchPort(cli::SwitchPortCmd),
    /// Server hardware models.
    #[command(subcommand)]
    Hardware(cli::HardwareCmd),
    /// Cards and the roles of their NICs.
    #[command(subcommand)]
    Card(cli::CardCmd),
    /// Node profiles.
    #[command(subcommand)]
    NodeProfile(cli::NodeProfileCmd),
    /// Servers and their cabling.
    #[command(subcommand)]
    Node(NodeCommand),
    /// Port profiles: allowed frames and VLANs, MTU, default security groups and QoS.
    #[command(subcommand)]
    PortProfile(cli::PortProfileCmd),
    /// Import servers from a CSV with header node,node_profile,nic,mac,switch,switch_port (all or nothing).
    Import { file: PathBuf },
    /// Create or update every object of a YAML document (idempotent, all or nothing).
    Apply {
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum NodeCommand {
    /// Which switch ports carry a node's NICs with a label (e.g. sriov).
    Resolve {
        reference: String,
        #[arg(long)]
        label: String,
    },
    /// Check a node's cabling against LLDP: FILE is `lldpcli -f json show
    /// neighbors details` output from the node (`-` for stdin). With
    /// --apply, record the cabling LLDP saw for new and differing NICs.
    Lldp {
        reference: String,
        file: std::path::PathBuf,
        #[arg(long)]
        apply: bool,
    },
    #[command(flatten)]
    Crud(cli::NodeCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => run_server(&args),
        Command::Demo { verb } => demo::run(verb),
        other => client(cli.url, cli.output, other),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_server(args: &config::ServeArgs) -> anyhow::Result<()> {
    let cfg = config::Config::load(args)?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cfg.log)?)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(serve::run(cfg))
}

fn client(url: String, format: Format, command: Command) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let c = Client::new(&url)?;
        match command {
            Command::Serve(_) | Command::Demo { .. } => unreachable!("handled by main"),
            Command::Fabric(a) => cli::run(&c, Kind::Fabric, Action::from(a), format).await,
            Command::Switch(a) => cli::run(&c, Kind::Switch, Action::from(a), format).await,
            Command::SwitchPort(a) => cli::run(&c, Kind::SwitchPort, Action::from(a), format).await,
            Command::Hardware(a) => cli::run(&c, Kind::Hardware, Action::from(a), format).await,
            Command::Card(a) => cli::run(&c, Kind::Card, Action::from(a), format).await,
            Command::NodeProfile(a) => cli::run(&c, Kind::NodeProfile, Action::from(a), format).await,
            Command::PortProfile(a) => cli::run(&c, Kind::PortProfile, Action::from(a), format).await,
            Command::Node(NodeCommand::Crud(a)) => cli::run(&c, Kind::Node, Action::from(a), format).await,
            Command::Node(NodeCommand::Resolve { reference, label }) => {
                let id = c.resolve(Kind::Node, &reference).await?;
                let v = c.get(&format!("/v1/nodes/{id}/resolve"), &[("label".to_string(), label)]).await?;
                cli::output::links(&v, format)
            }
            Command::Node(NodeCommand::Lldp { reference, file, apply }) => {
                let id = c.resolve(Kind::Node, &reference).await?;
                let body = if file.as_os_str() == "-" {
                    let mut b = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)?;
                    b
                } else {
                    std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
                };
                let v = c.post_bytes(&format!("/v1/nodes/{id}/lldp?apply={apply}"), body).await?;
                cli::output::findings(&v, format)
            }
            Command::Import { file } => cli::import::import_csv(&c, &file, format).await,
            Command::Apply { file } => cli::import::apply_file(&c, &file, format).await,
        }
    })
}

//! `stitch demo`: the dataplane lab of `lab/` (two emulated hardware VTEPs,
//! two SR-IOV servers, VMs as namespaces) driven by this very binary. The
//! lab scripts are compiled in and written out next to each other, so an
//! installed binary needs no checkout.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

const LAB_SH: &str = include_str!("../../../lab/lab.sh");
const DEMO_SH: &str = include_str!("../../../lab/demo.sh");

/// What `stitch demo` can do (the verbs of `lab/demo.sh`).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Verb {
    /// Build the lab, start Stitch, load the inventory, bind two VMs, ping.
    Up,
    /// Stop Stitch and the lab (by PID); safe to run twice.
    Down,
    /// What runs, what the switches hold.
    Status,
    /// The lab and Stitch with its inventory, but no network yet.
    Infra,
    /// Print Stitch's URL.
    Url,
}

pub fn run(verb: Verb) -> anyhow::Result<()> {
    // The lab creates namespaces and veths: root only.
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(1).map(str::to_string)));
    if uid.as_deref() != Some("0") {
        bail!("the demo builds network namespaces and Open vSwitch instances: run it as root (sudo stitch demo)");
    }
    let lab_dir = PathBuf::from(std::env::var("LAB_DIR").unwrap_or_else(|_| "/tmp/stitch-lab".into()));
    let bin_dir = lab_dir.join("bin");
    std::fs::create_dir_all(&bin_dir).with_context(|| format!("cannot create {}", bin_dir.display()))?;
    for (name, text) in [("lab.sh", LAB_SH), ("demo.sh", DEMO_SH)] {
        let p = bin_dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
    }
    let exe = std::env::current_exe().context("cannot find this binary's path")?;
    let verb = match verb {
        Verb::Up => "up",
        Verb::Down => "down",
        Verb::Status => "status",
        Verb::Infra => "infra",
        Verb::Url => "url",
    };
    let status =
        Command::new("bash").arg(bin_dir.join("demo.sh")).arg(verb).env("STITCH_BIN", exe).env("LAB_DIR", &lab_dir).status().context("cannot run bash")?;
    if !status.success() {
        bail!("demo {verb} failed ({status})");
    }
    Ok(())
}

//! The command-line client: one subcommand per inventory kind with
//! `create|list|show|update|delete`, plus `import` and `apply`. Names are
//! accepted wherever an id is.

pub mod client;
pub mod fields;
pub mod import;
pub mod output;
pub mod port_profile;

use std::future::Future;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value};
use stitch_model::inventory::Kind;

use client::Client;
use fields::*;
use port_profile::PortProfileFields;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
}

/// Filters of `list`.
#[derive(Args, Debug, Clone, Default)]
pub struct ListArgs {
    /// Only the object with this name.
    #[arg(long)]
    pub name: Option<String>,
    /// Only objects of this fabric (switches).
    #[arg(long)]
    pub fabric: Option<String>,
    /// Only objects on this switch (switch ports, nodes cabled to it).
    #[arg(long)]
    pub switch: Option<String>,
    /// Only nodes with this node profile.
    #[arg(long)]
    pub profile: Option<String>,
    /// Any other API filter, KEY=VALUE (e.g. role=spine); repeat.
    #[arg(long = "filter", value_parser = parse_filter)]
    pub filters: Vec<(String, String)>,
}

fn parse_filter(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).ok_or_else(|| format!("invalid filter {s:?}: expected KEY=VALUE"))
}

macro_rules! kind_commands {
    ($($cmd:ident => $fields:ty),* $(,)?) => {$(
        #[derive(Subcommand, Debug)]
        pub enum $cmd {
            /// Create one.
            Create {
                name: String,
                #[command(flatten)]
                fields: $fields,
            },
            /// List them, optionally filtered.
            #[command(alias = "ls")]
            List(ListArgs),
            /// Show one (by name or id).
            Show { reference: String },
            /// Change the given fields of one (by name or id).
            Update {
                reference: String,
                /// Rename it.
                #[arg(long = "name")]
                new_name: Option<String>,
                #[command(flatten)]
                fields: $fields,
            },
            /// Delete one (by name or id).
            #[command(alias = "rm")]
            Delete { reference: String },
        }

        impl From<$cmd> for Action<$fields> {
            fn from(c: $cmd) -> Self {
                match c {
                    $cmd::Create { name, fields } => Action::Create(name, fields),
                    $cmd::List(l) => Action::List(l),
                    $cmd::Show { reference } => Action::Show(reference),
                    $cmd::Update { reference, new_name, fields } => Action::Update(reference, new_name, fields),
                    $cmd::Delete { reference } => Action::Delete(reference),
                }
            }
        }
    )*};
}

kind_commands! {
    FabricCmd => FabricFields,
    SwitchCmd => SwitchFields,
    SwitchPortCmd => SwitchPortFields,
    HardwareCmd => HardwareFields,
    CardCmd => CardFields,
    NodeProfileCmd => NodeProfileFields,
    NodeCmd => NodeFields,
    PortProfileCmd => PortProfileFields,
}

pub enum Action<F> {
    Create(String, F),
    List(ListArgs),
    Show(String),
    Update(String, Option<String>, F),
    Delete(String),
}

/// Turns a kind's flags into body fields.
pub trait Fill {
    fn fill(&self, c: &Client, m: &mut Map<String, Value>, create: bool) -> impl Future<Output = anyhow::Result<()>>;
}

macro_rules! fill_impl {
    ($($t:ty),*) => {$(
        impl Fill for $t {
            fn fill(&self, c: &Client, m: &mut Map<String, Value>, create: bool) -> impl Future<Output = anyhow::Result<()>> {
                <$t>::fill(self, c, m, create)
            }
        }
    )*};
}
fill_impl!(FabricFields, SwitchFields, SwitchPortFields, HardwareFields, CardFields, NodeProfileFields, NodeFields, PortProfileFields);

/// Run one kind's action and print its result.
pub async fn run<F: Fill>(c: &Client, kind: Kind, action: Action<F>, format: Format) -> anyhow::Result<()> {
    let base = format!("/v1/{}", kind.plural());
    match action {
        Action::Create(name, fields) => {
            let mut m = Map::new();
            m.insert("name".into(), name.into());
            fields.fill(c, &mut m, true).await?;
            let obj = c.post(&base, &Value::Object(m)).await?;
            output::object(c, kind, &obj, format).await
        }
        Action::List(l) => {
            let mut q: Vec<(String, String)> = l.filters.clone();
            if let Some(n) = l.name {
                q.push(("name".into(), n));
            }
            if let Some(f) = l.fabric {
                q.push(("fabric_id".into(), c.resolve(Kind::Fabric, &f).await?.to_string()));
            }
            if let Some(s) = l.switch {
                q.push(("switch_id".into(), c.resolve(Kind::Switch, &s).await?.to_string()));
            }
            if let Some(p) = l.profile {
                q.push(("node_profile_id".into(), c.resolve(Kind::NodeProfile, &p).await?.to_string()));
            }
            let items = c.list(kind, &q).await?;
            output::list(c, kind, &items, format).await
        }
        Action::Show(r) => {
            let id = c.resolve(kind, &r).await?;
            let obj = c.get(&format!("{base}/{id}"), &[]).await?;
            output::object(c, kind, &obj, format).await
        }
        Action::Update(r, new_name, fields) => {
            let id = c.resolve(kind, &r).await?;
            let mut m = Map::new();
            if let Some(n) = new_name {
                m.insert("name".into(), n.into());
            }
            fields.fill(c, &mut m, false).await?;
            let obj = c.patch(&format!("{base}/{id}"), &Value::Object(m)).await?;
            output::object(c, kind, &obj, format).await
        }
        Action::Delete(r) => {
            let id = c.resolve(kind, &r).await?;
            c.delete(&format!("{base}/{id}")).await?;
            match format {
                Format::Json => println!("{}", serde_json::json!({ "deleted": id })),
                Format::Table => println!("deleted {} {id}", kind.singular()),
            }
            Ok(())
        }
    }
}

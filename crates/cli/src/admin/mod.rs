//! `ferromq admin <command>`: RocketMQ's `mqadmin` commands under their mqadmin names and
//! options, over `ferromq_client::Admin`. Tables for people by default, `--json` for scripts;
//! errors go to stderr with a non-zero exit code.

mod cluster;
mod group;
mod message;
mod offset;
mod output;
mod topic;

use std::time::Duration;

use clap::{Args, Subcommand};
use ferromq_client::{Admin, ClientConfig};

/// Options every admin command takes.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Name server address(es), `;`-separated.
    #[arg(
        short = 'n',
        long,
        global = true,
        env = "NAMESRV_ADDR",
        default_value = "127.0.0.1:9876"
    )]
    namesrv: String,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// Timeout of each call to a name server or broker, in milliseconds.
    #[arg(long, global = true, default_value_t = 5000)]
    timeout_ms: u64,
    #[command(subcommand)]
    command: AdminCommand,
}

/// The admin commands (mqadmin's names).
#[derive(Debug, Subcommand)]
#[command(rename_all = "camelCase")]
pub enum AdminCommand {
    /// Create or update a topic on a broker or on every master of a cluster.
    UpdateTopic(topic::UpdateTopic),
    /// Delete a topic from the brokers and the name servers.
    DeleteTopic(topic::DeleteTopic),
    /// List every topic the name servers know.
    TopicList(topic::TopicList),
    /// Show which brokers serve a topic, with how many queues.
    TopicRoute(topic::TopicRoute),
    /// Show each queue's offset range and last store time.
    TopicStatus(topic::TopicStatus),
    /// List the brokers of each cluster with their version and rates.
    ClusterList(cluster::ClusterList),
    /// Show a broker's runtime figures.
    BrokerStatus(cluster::BrokerStatus),
    /// Create or update a subscription (consumer) group.
    UpdateSubGroup(group::UpdateSubGroup),
    /// Delete a subscription (consumer) group.
    DeleteSubGroup(group::DeleteSubGroup),
    /// Show a consumer group's offsets and lag per queue.
    ConsumerProgress(group::ConsumerProgress),
    /// Show the clients connected in a consumer group.
    ConsumerConnection(group::ConsumerConnection),
    /// Move a consumer group's offsets on a topic to a point in time.
    ResetOffsetByTime(offset::ResetOffsetByTime),
    /// Look a message up by id (offset message id or unique id).
    QueryMsgById(message::QueryMsgById),
    /// Look a message up by its producer-assigned unique id.
    QueryMsgByUniqueKey(message::QueryMsgByUniqueKey),
    /// Look messages up by key.
    QueryMsgByKey(message::QueryMsgByKey),
    /// Send one message.
    SendMessage(message::SendMessage),
    /// Print messages of a topic without moving any group's offsets.
    ConsumeMessage(message::ConsumeMessage),
}

/// Runs one admin command.
pub fn run(args: AdminArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let config = ClientConfig {
            mq_client_api_timeout: Duration::from_millis(args.timeout_ms.max(1)),
            ..ClientConfig::with_namesrv(args.namesrv.clone())
        };
        let admin = Admin::new(config)?;
        let json = args.json;
        let outcome = match args.command {
            AdminCommand::UpdateTopic(c) => c.run(&admin, json).await,
            AdminCommand::DeleteTopic(c) => c.run(&admin, json).await,
            AdminCommand::TopicList(c) => c.run(&admin, json).await,
            AdminCommand::TopicRoute(c) => c.run(&admin, json).await,
            AdminCommand::TopicStatus(c) => c.run(&admin, json).await,
            AdminCommand::ClusterList(c) => c.run(&admin, json).await,
            AdminCommand::BrokerStatus(c) => c.run(&admin, json).await,
            AdminCommand::UpdateSubGroup(c) => c.run(&admin, json).await,
            AdminCommand::DeleteSubGroup(c) => c.run(&admin, json).await,
            AdminCommand::ConsumerProgress(c) => c.run(&admin, json).await,
            AdminCommand::ConsumerConnection(c) => c.run(&admin, json).await,
            AdminCommand::ResetOffsetByTime(c) => c.run(&admin, json).await,
            AdminCommand::QueryMsgById(c) => c.run(&admin, json).await,
            AdminCommand::QueryMsgByUniqueKey(c) => c.run(&admin, json).await,
            AdminCommand::QueryMsgByKey(c) => c.run(&admin, json).await,
            AdminCommand::SendMessage(c) => c.run(&admin, json).await,
            AdminCommand::ConsumeMessage(c) => c.run(&admin, json).await,
        };
        admin.shutdown().await;
        outcome
    })
}

/// Where `updateTopic`, `updateSubGroup` and `deleteSubGroup` act: `-b` or `-c`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct TargetArgs {
    /// The broker address (`host:port`).
    #[arg(short = 'b', long = "brokerAddr")]
    broker_addr: Option<String>,
    /// Every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster_name: Option<String>,
}

impl TargetArgs {
    fn target(&self) -> anyhow::Result<ferromq_client::admin::Target> {
        use ferromq_client::admin::Target;
        match (&self.broker_addr, &self.cluster_name) {
            (Some(addr), _) => Ok(Target::Broker(addr.trim().to_string())),
            (None, Some(cluster)) => Ok(Target::Cluster(cluster.trim().to_string())),
            (None, None) => anyhow::bail!("give a broker (-b) or a cluster (-c)"),
        }
    }
}

//! `Instance`: one client's presence in the cluster — its id, its connections, the routes
//! it has looked up, the groups it belongs to, and the background work every RocketMQ client
//! does (route refresh, heartbeats to every broker) plus the requests brokers send it.
//! A producer or consumer owns one instance.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use ferromq_protocol::body::{
    ConsumerData, HeartbeatData, MessageQueue, ProducerData, ResetOffsetBody, TopicRouteData,
};
use ferromq_protocol::headers::{
    CommandHeader, GetRouteInfoRequestHeader, NotifyConsumerIdsChangedRequestHeader,
    ResetOffsetRequestHeader, UnregisterClientRequestHeader,
};
use ferromq_protocol::message::UniqIdGenerator;
use ferromq_protocol::{LanguageCode, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{not_supported, Channel, RemotingClient, RequestProcessor};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::route::TopicRoute;

/// Forced heartbeats ([`Instance::heartbeat_soon`]) at most this often.
const FORCED_HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// The template topic brokers create unknown topics from (`TBW102`).
pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";

/// What a consumer group member tells the instance, and how it is told of changes.
pub(crate) trait Member: Send + Sync {
    /// The member's group, model and subscriptions, for heartbeats.
    fn consumer_data(&self) -> ConsumerData;
    /// A broker said the group's membership changed: rebalance soon.
    fn consumer_ids_changed(&self);
    /// An administrator moved the group's offsets of `topic` (the broker already committed
    /// them): consumption of those queues continues from there.
    fn reset_offsets(self: Arc<Self>, topic: &str, offsets: BTreeMap<MessageQueue, i64>);
}

/// One client's connections, routes, groups and background tasks.
pub(crate) struct Instance {
    pub config: ClientConfig,
    pub client_id: String,
    pub uniq_ids: UniqIdGenerator,
    remoting: RemotingClient<ServerRequests>,
    name_servers: Vec<String>,
    current_namesrv: AtomicUsize,
    routes: RwLock<HashMap<String, Arc<TopicRoute>>>,
    /// `brokerName → brokerId → address`, merged from every route seen.
    brokers: RwLock<HashMap<String, BTreeMap<i64, String>>>,
    producer_groups: Mutex<Vec<String>>,
    members: Mutex<HashMap<String, Arc<dyn Member>>>,
    stop: CancellationToken,
    tasks: TaskTracker,
    /// When [`Instance::heartbeat_soon`] last sent one.
    last_forced_heartbeat: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Instance {
    /// A new instance; call [`Instance::start`] to begin its background work.
    pub fn new(config: ClientConfig) -> Result<Arc<Instance>> {
        config.validate()?;
        let name_servers = config.name_servers();
        let ip = local_ip(&name_servers);
        let client_id = config.client_id(ip);
        Ok(Arc::new_cyclic(|weak: &Weak<Instance>| Instance {
            uniq_ids: UniqIdGenerator::for_process(ip),
            remoting: RemotingClient::with_processor(
                ferromq_remoting::ClientConfig::default(),
                Arc::new(ServerRequests { instance: weak.clone() }),
            ),
            name_servers,
            current_namesrv: AtomicUsize::new(0),
            routes: RwLock::default(),
            brokers: RwLock::default(),
            producer_groups: Mutex::default(),
            members: Mutex::default(),
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
            last_forced_heartbeat: Mutex::default(),
            client_id,
            config,
        }))
    }

    /// Starts the periodic route refresh and heartbeats.
    pub fn start(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let (stop, routes_every) = (self.stop.clone(), self.config.poll_name_server_interval);
        self.tasks.spawn(every(stop, Duration::from_millis(10), routes_every, weak.clone(), |i| {
            Box::pin(async move { i.refresh_routes().await })
        }));
        let (stop, beat_every) = (self.stop.clone(), self.config.heartbeat_broker_interval);
        self.tasks.spawn(every(stop, Duration::from_secs(1), beat_every, weak, |i| {
            Box::pin(async move { i.heartbeat().await })
        }));
    }

    /// Stops the background work, says goodbye to every broker for every group, and closes
    /// the connections.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        let producers = std::mem::take(&mut *lock(&self.producer_groups));
        let consumers: Vec<String> = lock(&self.members).drain().map(|(g, _)| g).collect();
        for group in &producers {
            self.unregister(Some(group), None).await;
        }
        for group in &consumers {
            self.unregister(None, Some(group)).await;
        }
        self.remoting.shutdown();
    }

    /// Sends a heartbeat now unless one was forced less than [`FORCED_HEARTBEAT_EVERY`] ago:
    /// a broker that restarted, or has not seen a new member yet, does not list the group's
    /// subscriptions until it gets one.
    pub fn heartbeat_soon(self: &Arc<Self>) {
        if self.is_stopped() {
            return;
        }
        {
            let mut last = lock(&self.last_forced_heartbeat);
            let now = Instant::now();
            if last.is_some_and(|at| now.saturating_duration_since(at) < FORCED_HEARTBEAT_EVERY) {
                return;
            }
            *last = Some(now);
        }
        let instance = Arc::clone(self);
        self.tasks.spawn(async move { instance.heartbeat().await });
    }

    /// Whether [`Instance::shutdown`] has begun.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    pub fn add_producer_group(&self, group: &str) {
        let mut groups = lock(&self.producer_groups);
        if !groups.iter().any(|g| g == group) {
            groups.push(group.to_string());
        }
    }

    pub fn add_member(&self, group: &str, member: Arc<dyn Member>) {
        lock(&self.members).insert(group.to_string(), member);
    }

    // ---- calls

    /// Calls `addr`; the answer may be any code.
    pub async fn call(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        let request = request.with_language(LanguageCode::Rust);
        Ok(self.remoting.invoke(addr, request, timeout).await?)
    }

    /// Calls `addr` and turns any answer but SUCCESS into [`ClientError::Refused`].
    pub async fn call_ok(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        let response = self.call(addr, request, timeout).await?;
        expect_success(addr, response)
    }

    /// Sends a one-way request to `addr`.
    pub async fn call_oneway(&self, addr: &str, request: RemotingCommand) -> Result<()> {
        let request = request.with_language(LanguageCode::Rust);
        Ok(self.remoting.invoke_oneway(addr, request).await?)
    }

    /// Calls a name server: the one that answered last, then the others in turn.
    pub async fn call_namesrv(&self, request: RemotingCommand) -> Result<RemotingCommand> {
        let timeout = self.config.mq_client_api_timeout;
        let start = self.current_namesrv.load(Ordering::Relaxed);
        let mut last_error = None;
        for i in 0..self.name_servers.len() {
            let index = (start + i) % self.name_servers.len();
            let addr = &self.name_servers[index];
            match self.call(addr, request.clone(), timeout).await {
                Ok(response) => {
                    self.current_namesrv.store(index, Ordering::Relaxed);
                    return Ok(response);
                }
                Err(e) => {
                    tracing::debug!(namesrv = %addr, error = %e, "name server unreachable");
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| ClientError::Config("namesrvAddr is empty".into())))
    }

    // ---- routes

    /// Asks the name servers for `topic`'s route; `None` when no broker serves it.
    pub async fn fetch_route(&self, topic: &str) -> Result<Option<TopicRouteData>> {
        let header =
            GetRouteInfoRequestHeader { topic: topic.into(), accept_standard_json_only: None };
        let request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
            .with_ext_fields(header.to_ext());
        let response = self.call_namesrv(request).await?;
        match response.response_code() {
            ResponseCode::SUCCESS => Ok(Some(TopicRouteData::from_json(&response.body)?)),
            ResponseCode::TOPIC_NOT_EXIST => Ok(None),
            code => Err(ClientError::Refused {
                addr: "name server".into(),
                code,
                remark: response.remark.unwrap_or_default(),
            }),
        }
    }

    /// Looks `topic` up again and caches the result; `None` when no broker serves it.
    pub async fn update_route(&self, topic: &str) -> Result<Option<Arc<TopicRoute>>> {
        let Some(data) = self.fetch_route(topic).await? else { return Ok(None) };
        Ok(Some(self.cache_route(topic, TopicRoute::new(topic, data))))
    }

    fn cache_route(&self, topic: &str, route: TopicRoute) -> Arc<TopicRoute> {
        {
            let mut brokers = self.brokers.write().unwrap_or_else(PoisonError::into_inner);
            for (name, addrs) in route.broker_addrs() {
                brokers.insert(name.to_string(), addrs.clone());
            }
        }
        let route = Arc::new(route);
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        routes.insert(topic.to_string(), Arc::clone(&route));
        route
    }

    /// The cached route of `topic`, if looked up before.
    pub fn cached_route(&self, topic: &str) -> Option<Arc<TopicRoute>> {
        self.routes.read().unwrap_or_else(PoisonError::into_inner).get(topic).cloned()
    }

    /// `topic`'s route, from the cache or the name servers.
    pub async fn route(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        if let Some(route) = self.cached_route(topic) {
            return Ok(route);
        }
        self.update_route(topic).await?.ok_or_else(|| ClientError::NoRoute {
            topic: topic.into(),
            reason: "no name server knows it".into(),
        })
    }

    /// The route to send `topic`'s messages by. A topic no name server knows borrows the
    /// route of [`AUTO_CREATE_TOPIC_KEY`] (with at most `queue_nums` queues per broker), so
    /// that brokers allowing auto-creation create it on the first send.
    pub async fn publish_route(&self, topic: &str, queue_nums: i32) -> Result<Arc<TopicRoute>> {
        if let Some(route) = self.cached_route(topic).filter(|r| !r.publish_queues.is_empty()) {
            return Ok(route);
        }
        if let Some(route) = self.update_route(topic).await? {
            if !route.publish_queues.is_empty() {
                return Ok(route);
            }
        }
        let no_route =
            |reason: &str| ClientError::NoRoute { topic: topic.into(), reason: reason.into() };
        let template = self.fetch_route(AUTO_CREATE_TOPIC_KEY).await?.ok_or_else(|| {
            no_route("unknown to the name servers, and no broker auto-creates topics")
        })?;
        let route = self.cache_route(topic, TopicRoute::borrowed(topic, &template, queue_nums));
        if route.publish_queues.is_empty() {
            return Err(no_route("no writable broker"));
        }
        Ok(route)
    }

    /// The master address of `broker_name`, as last seen in any route.
    pub fn master_addr(&self, broker_name: &str) -> Option<String> {
        let brokers = self.brokers.read().unwrap_or_else(PoisonError::into_inner);
        brokers.get(broker_name).and_then(|ids| ids.get(&crate::route::MASTER_ID)).cloned()
    }

    /// Every broker address seen in any route, masters first.
    pub fn broker_addrs(&self) -> Vec<String> {
        let brokers = self.brokers.read().unwrap_or_else(PoisonError::into_inner);
        let mut addrs: Vec<(i64, String)> =
            brokers.values().flat_map(|ids| ids.iter().map(|(id, a)| (*id, a.clone()))).collect();
        addrs.sort();
        addrs.dedup_by(|a, b| a.1 == b.1);
        addrs.into_iter().map(|(_, a)| a).collect()
    }

    async fn refresh_routes(&self) {
        let topics: Vec<String> =
            self.routes.read().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect();
        for topic in topics {
            if let Err(e) = self.update_route(&topic).await {
                tracing::debug!(%topic, error = %e, "route refresh failed");
            }
        }
    }

    // ---- heartbeats

    fn heartbeat_data(&self) -> HeartbeatData {
        let producer_data_set = lock(&self.producer_groups)
            .iter()
            .map(|g| ProducerData { group_name: g.clone() })
            .collect();
        let members: Vec<Arc<dyn Member>> = lock(&self.members).values().cloned().collect();
        HeartbeatData {
            client_id: self.client_id.clone(),
            producer_data_set,
            consumer_data_set: members.iter().map(|m| m.consumer_data()).collect(),
            heartbeat_fingerprint: 0,
            without_sub: false,
        }
    }

    /// Sends a heartbeat to every known broker (producers only need masters, but consumers
    /// read from slaves too, so like RocketMQ every broker gets one when a consumer exists).
    pub async fn heartbeat(&self) {
        let data = self.heartbeat_data();
        if data.producer_data_set.is_empty() && data.consumer_data_set.is_empty() {
            return;
        }
        let body = bytes::Bytes::from(data.to_json());
        let masters_only = data.consumer_data_set.is_empty();
        let brokers: Vec<(i64, String)> = {
            let brokers = self.brokers.read().unwrap_or_else(PoisonError::into_inner);
            brokers.values().flat_map(|ids| ids.iter().map(|(id, a)| (*id, a.clone()))).collect()
        };
        for (id, addr) in brokers {
            if masters_only && id != crate::route::MASTER_ID {
                continue;
            }
            let request = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(body.clone());
            if let Err(e) = self.call_ok(&addr, request, self.config.mq_client_api_timeout).await {
                tracing::debug!(broker = %addr, error = %e, "heartbeat failed");
            }
        }
    }

    async fn unregister(&self, producer_group: Option<&str>, consumer_group: Option<&str>) {
        let header = UnregisterClientRequestHeader {
            client_id: self.client_id.clone(),
            producer_group: producer_group.map(String::from),
            consumer_group: consumer_group.map(String::from),
        };
        for addr in self.broker_addrs() {
            let request = RemotingCommand::request(RequestCode::UNREGISTER_CLIENT)
                .with_ext_fields(header.to_ext());
            if let Err(e) = self.call_ok(&addr, request, self.config.mq_client_api_timeout).await {
                tracing::debug!(broker = %addr, error = %e, "unregister failed");
            }
        }
    }
}

/// Turns an answer other than SUCCESS into [`ClientError::Refused`].
pub(crate) fn expect_success(addr: &str, response: RemotingCommand) -> Result<RemotingCommand> {
    match response.response_code() {
        ResponseCode::SUCCESS => Ok(response),
        code => Err(ClientError::Refused {
            addr: addr.to_string(),
            code,
            remark: response.remark.unwrap_or_default(),
        }),
    }
}

type Job = fn(Arc<Instance>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Runs `job` after `first`, then every `period`, until `stop`; ends when the instance is gone.
async fn every(
    stop: CancellationToken,
    first: Duration,
    period: Duration,
    instance: Weak<Instance>,
    job: Job,
) {
    let mut next = tokio::time::Instant::now() + first;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep_until(next) => {}
        }
        let Some(instance) = instance.upgrade() else { return };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = job(instance) => {}
        }
        next = tokio::time::Instant::now() + period;
    }
}

/// The address other machines reach this one by: the local end of a route to the first name
/// server (no packet is sent), else loopback.
fn local_ip(name_servers: &[String]) -> IpAddr {
    let probe = || -> std::io::Result<IpAddr> {
        let target = name_servers.first().ok_or(std::io::ErrorKind::NotFound)?;
        let socket = UdpSocket::bind("0.0.0.0:0")?;
        socket.connect(target.as_str())?;
        Ok(socket.local_addr()?.ip())
    };
    probe().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// Requests brokers send to the client.
struct ServerRequests {
    instance: Weak<Instance>,
}

impl RequestProcessor for ServerRequests {
    async fn process(
        &self,
        _channel: &Channel,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        let Some(instance) = self.instance.upgrade() else {
            return Some(not_supported(&request));
        };
        match request.request_code() {
            RequestCode::NOTIFY_CONSUMER_IDS_CHANGED => {
                if let Ok(header) = NotifyConsumerIdsChangedRequestHeader::from_command(&request) {
                    let member = lock(&instance.members).get(&header.consumer_group).cloned();
                    if let Some(member) = member {
                        member.consumer_ids_changed();
                    }
                }
                None
            }
            RequestCode::RESET_CONSUMER_CLIENT_OFFSET => {
                let header = ResetOffsetRequestHeader::from_command(&request);
                let body = ResetOffsetBody::from_json(&request.body);
                match (header, body) {
                    (Ok(header), Ok(body)) => {
                        let member = lock(&instance.members).get(&header.group).cloned();
                        if let Some(member) = member {
                            member.reset_offsets(&header.topic, body.offset_table);
                        }
                    }
                    _ => tracing::debug!("malformed offset reset ignored"),
                }
                None
            }
            _ => Some(not_supported(&request)),
        }
    }
}

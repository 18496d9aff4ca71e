//! The name server's request processor: decodes each request's header and body, applies it
//! to the route table or the KV config, and answers with RocketMQ's codes and remarks.

use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferromq_protocol::body::{
    DataVersion, JsonStyle, KvTable, RegisterBrokerBody, TopicConfigSerializeWrapper, TopicList,
    TopicRouteData,
};
use ferromq_protocol::headers::namesrv::*;
use ferromq_protocol::headers::CommandHeader;
use ferromq_protocol::message::crc32_masked;
use ferromq_protocol::{ProtocolError, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{not_supported, Channel, RequestProcessor};
use tracing::{info, warn};

use crate::config::NamesrvConfig;
use crate::kv_config::{KvConfig, ORDER_TOPIC_CONFIG};
use crate::route_table::{Millis, RegisterRefusal, Registration, RouteTable};

/// `MQVersion.V3_0_11`: older brokers send a bare topic-config wrapper as the body.
const VERSION_3_0_11: i32 = 37;
/// `MQVersion.V4_9_4`: from this request version on, routes are sent as standard JSON.
const VERSION_4_9_4: i32 = 401;
/// TopicSysFlag bits: unit topic, and topic with unit subscriptions.
const FLAG_UNIT: i32 = 0x1;
const FLAG_UNIT_SUB: i32 = 0x2;

/// A request the name server turns down: the response code and the reason.
#[derive(Debug)]
struct Refusal {
    code: ResponseCode,
    remark: String,
}

impl Refusal {
    fn new(code: ResponseCode, remark: impl Into<String>) -> Self {
        Refusal { code, remark: remark.into() }
    }
}

/// Malformed headers and bodies are refused with SYSTEM_ERROR, as the Java server does.
impl From<ProtocolError> for Refusal {
    fn from(e: ProtocolError) -> Self {
        Refusal::new(ResponseCode::SYSTEM_ERROR, e.to_string())
    }
}

type Reply = Result<RemotingCommand, Refusal>;

/// Handles every name-server request code.
#[derive(Debug)]
pub struct NamesrvProcessor {
    config: NamesrvConfig,
    routes: RwLock<RouteTable>,
    kv: Mutex<KvConfig>,
}

impl RequestProcessor for NamesrvProcessor {
    async fn process(
        &self,
        channel: &Channel,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        let reply = self.dispatch(channel, &request);
        Some(match reply {
            Ok(response) => response,
            Err(refusal) => RemotingCommand::response(refusal.code).with_remark(refusal.remark),
        })
    }

    fn on_close(&self, channel: &Channel) {
        for broker in self.write_routes().unregister_channel(channel.id()) {
            info!(cluster = %broker.cluster, addr = %broker.addr, "broker connection closed; removed");
        }
    }
}

impl NamesrvProcessor {
    /// A processor over an empty route table.
    pub fn new(config: NamesrvConfig, kv: KvConfig) -> Self {
        NamesrvProcessor { config, routes: RwLock::new(RouteTable::new()), kv: Mutex::new(kv) }
    }

    /// Drops brokers not heard from within their timeout.
    pub fn expire_brokers(&self) {
        for broker in self.write_routes().expire(now_millis()) {
            warn!(cluster = %broker.cluster, addr = %broker.addr, "broker expired; removed");
        }
    }

    fn dispatch(&self, channel: &Channel, request: &RemotingCommand) -> Reply {
        match request.request_code() {
            RequestCode::PUT_KV_CONFIG => self.put_kv_config(request),
            RequestCode::GET_KV_CONFIG => self.get_kv_config(request),
            RequestCode::DELETE_KV_CONFIG => self.delete_kv_config(request),
            RequestCode::GET_KVLIST_BY_NAMESPACE => self.get_kv_list(request),
            RequestCode::REGISTER_BROKER => self.register_broker(channel, request),
            RequestCode::UNREGISTER_BROKER => self.unregister_broker(request),
            RequestCode::BROKER_HEARTBEAT => self.broker_heartbeat(request),
            RequestCode::QUERY_DATA_VERSION => self.query_data_version(request),
            RequestCode::GET_ROUTEINFO_BY_TOPIC => self.get_route(request),
            RequestCode::GET_BROKER_CLUSTER_INFO => {
                Ok(success().with_body(self.read_routes().cluster_info().to_json()))
            }
            RequestCode::WIPE_WRITE_PERM_OF_BROKER => self.update_write_perm(request, false),
            RequestCode::ADD_WRITE_PERM_OF_BROKER => self.update_write_perm(request, true),
            RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => {
                if !self.config.enable_all_topic_list {
                    return Err(Refusal::new(ResponseCode::SYSTEM_ERROR, "disable"));
                }
                Ok(topic_list(self.read_routes().topics()))
            }
            RequestCode::DELETE_TOPIC_IN_NAMESRV => self.delete_topic(request),
            RequestCode::REGISTER_TOPIC_IN_NAMESRV => self.register_topic(request),
            RequestCode::GET_TOPICS_BY_CLUSTER => {
                let header = GetTopicsByClusterRequestHeader::from_command(request)?;
                Ok(topic_list(self.read_routes().topics_of_cluster(&header.cluster)))
            }
            RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS => {
                Ok(topic_list(self.read_routes().system_topics()))
            }
            RequestCode::GET_UNIT_TOPIC_LIST => {
                Ok(topic_list(self.read_routes().topics_where(|f| f & FLAG_UNIT != 0)))
            }
            RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST => {
                Ok(topic_list(self.read_routes().topics_where(|f| f & FLAG_UNIT_SUB != 0)))
            }
            RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST => Ok(topic_list(
                self.read_routes().topics_where(|f| f & FLAG_UNIT == 0 && f & FLAG_UNIT_SUB != 0),
            )),
            _ => Ok(not_supported(request)),
        }
    }

    fn put_kv_config(&self, request: &RemotingCommand) -> Reply {
        let header = PutKvConfigRequestHeader::from_command(request)?;
        self.lock_kv()
            .put(&header.namespace, &header.key, &header.value)
            .map_err(|e| Refusal::new(ResponseCode::SYSTEM_ERROR, e.to_string()))?;
        Ok(success())
    }

    fn get_kv_config(&self, request: &RemotingCommand) -> Reply {
        let header = KvConfigRequestHeader::from_command(request)?;
        match self.lock_kv().get(&header.namespace, &header.key) {
            Some(value) => Ok(success().with_ext_fields(
                GetKvConfigResponseHeader { value: Some(value.to_string()) }.to_ext(),
            )),
            None => Err(Refusal::new(
                ResponseCode::QUERY_NOT_FOUND,
                format!("No config item, Namespace: {} Key: {}", header.namespace, header.key),
            )),
        }
    }

    fn delete_kv_config(&self, request: &RemotingCommand) -> Reply {
        let header = KvConfigRequestHeader::from_command(request)?;
        self.lock_kv()
            .delete(&header.namespace, &header.key)
            .map_err(|e| Refusal::new(ResponseCode::SYSTEM_ERROR, e.to_string()))?;
        Ok(success())
    }

    fn get_kv_list(&self, request: &RemotingCommand) -> Reply {
        let header = GetKvListByNamespaceRequestHeader::from_command(request)?;
        match self.lock_kv().list(&header.namespace) {
            Some(table) => Ok(success().with_body(KvTable { table: table.clone() }.to_json())),
            None => Err(Refusal::new(
                ResponseCode::QUERY_NOT_FOUND,
                format!("No config item, Namespace: {}", header.namespace),
            )),
        }
    }

    fn register_broker(&self, channel: &Channel, request: &RemotingCommand) -> Reply {
        let header = RegisterBrokerRequestHeader::from_command(request)?;
        if header.body_crc32 != 0 && crc32_masked(&request.body) != header.body_crc32 {
            warn!(broker = %header.broker_addr, "register body CRC mismatch");
            return Err(Refusal::new(ResponseCode::SYSTEM_ERROR, "crc32 not match"));
        }
        let (topics, filter_servers) = decode_register_body(request, header.compressed)?;
        let registration = Registration {
            cluster: header.cluster_name.clone(),
            broker_addr: header.broker_addr.clone(),
            broker_name: header.broker_name.clone(),
            broker_id: header.broker_id,
            ha_server_addr: header.ha_server_addr.clone(),
            timeout: header
                .heartbeat_timeout_millis
                .and_then(|ms| u64::try_from(ms).ok())
                .map(Duration::from_millis)
                .unwrap_or_else(|| self.config.broker_expiry()),
            enable_acting_master: header.enable_acting_master.unwrap_or(false),
            topics,
            filter_servers,
            channel_id: Some(channel.id()),
        };
        let outcome = self.write_routes().register(registration, now_millis());
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(RegisterRefusal::NotRegistered) => {
                return Err(Refusal::new(ResponseCode::SYSTEM_ERROR, "register broker failed"))
            }
        };
        let mut response = success().with_ext_fields(
            RegisterBrokerResponseHeader {
                ha_server_addr: outcome.ha_server_addr,
                master_addr: outcome.master_addr,
            }
            .to_ext(),
        );
        if self.config.return_order_topic_config_to_broker {
            if let Some(table) = self.lock_kv().list(ORDER_TOPIC_CONFIG) {
                response = response.with_body(KvTable { table: table.clone() }.to_json());
            }
        }
        Ok(response)
    }

    fn unregister_broker(&self, request: &RemotingCommand) -> Reply {
        let header = UnRegisterBrokerRequestHeader::from_command(request)?;
        self.write_routes().unregister(
            &header.cluster_name,
            &header.broker_addr,
            &header.broker_name,
            header.broker_id,
        );
        info!(broker = %header.broker_addr, name = %header.broker_name, "broker unregistered");
        Ok(success())
    }

    fn broker_heartbeat(&self, request: &RemotingCommand) -> Reply {
        let header = BrokerHeartbeatRequestHeader::from_command(request)?;
        self.write_routes().touch(&header.cluster_name, &header.broker_addr, now_millis());
        Ok(success())
    }

    fn query_data_version(&self, request: &RemotingCommand) -> Reply {
        let header = QueryDataVersionRequestHeader::from_command(request)?;
        let version = DataVersion::from_json(&request.body)?;
        let mut routes = self.write_routes();
        let changed =
            routes.data_version_changed(&header.cluster_name, &header.broker_addr, &version);
        routes.touch(&header.cluster_name, &header.broker_addr, now_millis());
        let known = routes
            .live_broker(&header.cluster_name, &header.broker_addr)
            .map(|live| live.data_version.to_json());
        let mut response =
            success().with_ext_fields(QueryDataVersionResponseHeader { changed }.to_ext());
        if let Some(known) = known {
            response = response.with_body(known);
        }
        Ok(response)
    }

    fn get_route(&self, request: &RemotingCommand) -> Reply {
        let header = GetRouteInfoRequestHeader::from_command(request)?;
        let Some(mut route) = self.read_routes().route(&header.topic) else {
            return Err(Refusal::new(
                ResponseCode::TOPIC_NOT_EXIST,
                format!("No topic route info in name server for the topic: {}", header.topic),
            ));
        };
        if self.config.order_message_enable {
            route.order_topic_conf =
                self.lock_kv().get(ORDER_TOPIC_CONFIG, &header.topic).map(str::to_string);
        }
        let style =
            if request.version >= VERSION_4_9_4 || header.accept_standard_json_only == Some(true) {
                JsonStyle::Standard
            } else {
                JsonStyle::Fastjson
            };
        Ok(success().with_body(route.to_json_style(style)))
    }

    fn update_write_perm(&self, request: &RemotingCommand, grant: bool) -> Reply {
        if grant {
            let header = AddWritePermOfBrokerRequestHeader::from_command(request)?;
            let count = self.write_routes().update_write_perm(&header.broker_name, true);
            let add_topic_count = i32::try_from(count).unwrap_or(i32::MAX);
            Ok(success()
                .with_ext_fields(AddWritePermOfBrokerResponseHeader { add_topic_count }.to_ext()))
        } else {
            let header = WipeWritePermOfBrokerRequestHeader::from_command(request)?;
            let count = self.write_routes().update_write_perm(&header.broker_name, false);
            info!(broker = %header.broker_name, topics = count, "write permission wiped");
            let wipe_topic_count = i32::try_from(count).unwrap_or(i32::MAX);
            Ok(success()
                .with_ext_fields(WipeWritePermOfBrokerResponseHeader { wipe_topic_count }.to_ext()))
        }
    }

    fn delete_topic(&self, request: &RemotingCommand) -> Reply {
        let header = DeleteTopicFromNamesrvRequestHeader::from_command(request)?;
        self.write_routes().delete_topic(&header.topic, header.cluster_name.as_deref());
        Ok(success())
    }

    fn register_topic(&self, request: &RemotingCommand) -> Reply {
        let header = RegisterTopicRequestHeader::from_command(request)?;
        if !request.body.is_empty() {
            let route = TopicRouteData::from_json(&request.body)?;
            self.write_routes().put_topic(&header.topic, route.queue_datas);
        }
        Ok(success())
    }

    fn read_routes(&self) -> std::sync::RwLockReadGuard<'_, RouteTable> {
        self.routes.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_routes(&self) -> std::sync::RwLockWriteGuard<'_, RouteTable> {
        self.routes.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_kv(&self) -> std::sync::MutexGuard<'_, KvConfig> {
        self.kv.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Decodes REGISTER_BROKER's body: the topic configs and filter servers. An empty body
/// registers no topics; brokers older than 3.0.11 send the bare topic-config wrapper.
fn decode_register_body(
    request: &RemotingCommand,
    compressed: bool,
) -> Result<(TopicConfigSerializeWrapper, Vec<String>), Refusal> {
    if request.body.is_empty() {
        return Ok((TopicConfigSerializeWrapper::default(), Vec::new()));
    }
    if request.version < VERSION_3_0_11 {
        return Ok((TopicConfigSerializeWrapper::from_json(&request.body)?, Vec::new()));
    }
    let body = RegisterBrokerBody::decode(&request.body, compressed)?;
    Ok((body.topic_config_serialize_wrapper, body.filter_server_list))
}

fn success() -> RemotingCommand {
    RemotingCommand::response(ResponseCode::SUCCESS)
}

fn topic_list(topics: std::collections::BTreeSet<String>) -> RemotingCommand {
    let body: Bytes = TopicList { topic_list: topics, broker_addr: None }.to_json().into();
    success().with_body(body)
}

fn now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

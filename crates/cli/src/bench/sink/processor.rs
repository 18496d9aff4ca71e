//! The sink's request handling: a name server that routes every topic to itself and a
//! broker that answers every send at once with a valid success header (offset message id,
//! queue id, queue offset counting per queue) and stores nothing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use ferromq_protocol::body::{BrokerData, JsonStyle, QueueData, TopicRouteData};
use ferromq_protocol::headers::{
    CommandHeader, SendMessageRequestHeader, SendMessageResponseHeader,
};
use ferromq_protocol::message::{count_batch, OffsetMsgId};
use ferromq_protocol::{perm, RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{not_supported, Channel, RequestProcessor};

/// Clients from RocketMQ 4.9.4 on (`MQVersion` ordinal 401) read standard JSON routes; older
/// ones get fastjson unless they ask otherwise (as the name server does).
const VERSION_4_9_4: i32 = 401;

/// The cluster name put in routes.
const CLUSTER: &str = "BenchSink";

/// Counters of what the sink answered.
#[derive(Debug, Default)]
pub struct Counters {
    pub send_requests: AtomicU64,
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
    pub refused: AtomicU64,
}

/// The sink's name server and broker.
#[derive(Debug)]
pub struct Sink {
    store_host: SocketAddr,
    /// The next offset of each queue.
    queue_offsets: Vec<AtomicI64>,
    /// A pretend commit-log end, so offset message ids differ.
    physical: AtomicI64,
    /// Round robin for sends that leave the queue to the broker (queue id below 0).
    next_queue: AtomicUsize,
    route_standard: Bytes,
    route_fastjson: Bytes,
    pub counters: Counters,
}

impl Sink {
    /// A sink published at `advertised` as broker `broker_name`, with `queues` queues (at
    /// least one) in every topic.
    pub fn new(broker_name: &str, advertised: SocketAddr, queues: i32) -> Sink {
        let queues = queues.max(1);
        let route = TopicRouteData {
            order_topic_conf: None,
            queue_datas: vec![QueueData {
                broker_name: broker_name.into(),
                read_queue_nums: queues,
                write_queue_nums: queues,
                perm: perm::PERM_READ | perm::PERM_WRITE,
                topic_sys_flag: 0,
            }],
            broker_datas: vec![BrokerData {
                cluster: CLUSTER.into(),
                broker_name: broker_name.into(),
                broker_addrs: [(0, advertised.to_string())].into_iter().collect(),
                enable_acting_master: false,
                zone_name: None,
            }],
            filter_server_table: Default::default(),
        };
        Sink {
            store_host: advertised,
            queue_offsets: (0..queues).map(|_| AtomicI64::new(0)).collect(),
            physical: AtomicI64::new(0),
            next_queue: AtomicUsize::new(0),
            route_standard: Bytes::from(route.to_json_style(JsonStyle::Standard)),
            route_fastjson: Bytes::from(route.to_json_style(JsonStyle::Fastjson)),
            counters: Counters::default(),
        }
    }

    /// GET_ROUTEINFO_BY_TOPIC: every topic lives here (the route names no topic, so one
    /// rendering serves all).
    fn route(&self, request: &RemotingCommand) -> RemotingCommand {
        if request.ext_fields.get("topic").is_none_or(str::is_empty) {
            return refuse(request, ResponseCode::INVALID_PARAMETER, "no topic given");
        }
        let standard = request.version >= VERSION_4_9_4
            || request.ext_fields.get("acceptStandardJsonOnly") == Some("true");
        let body = if standard { &self.route_standard } else { &self.route_fastjson };
        RemotingCommand::response_to(request, ResponseCode::SUCCESS).with_body(body.clone())
    }

    /// SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE: count, answer, forget.
    fn send(&self, request: &RemotingCommand, batch: bool) -> RemotingCommand {
        let response = self.try_send(request, batch).unwrap_or_else(|(code, remark)| {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            refuse(request, code, remark)
        });
        self.counters.send_requests.fetch_add(1, Ordering::Relaxed);
        response
    }

    fn try_send(
        &self,
        request: &RemotingCommand,
        batch: bool,
    ) -> Result<RemotingCommand, (ResponseCode, String)> {
        let v2 = SendMessageRequestHeader::uses_v2_keys(request.request_code());
        let key = if v2 { "e" } else { "queueId" };
        let asked: i32 =
            request.ext_fields.get(key).and_then(|q| q.parse().ok()).ok_or_else(|| {
                (ResponseCode::INVALID_PARAMETER, format!("no valid {key} (queueId)"))
            })?;
        let queue_id = if asked < 0 {
            let next = self.next_queue.fetch_add(1, Ordering::Relaxed);
            i32::try_from(next % self.queue_offsets.len()).unwrap_or(0)
        } else {
            asked
        };
        let queue = usize::try_from(queue_id)
            .ok()
            .and_then(|q| self.queue_offsets.get(q))
            .ok_or_else(|| {
                let queues = self.queue_offsets.len();
                (ResponseCode::INVALID_PARAMETER, format!("queueId {queue_id} of {queues} queues"))
            })?;
        let count = if batch {
            count_batch(&request.body)
                .map_err(|e| (ResponseCode::MESSAGE_ILLEGAL, format!("bad batch body: {e}")))?
        } else {
            1
        };
        if count == 0 {
            return Err((ResponseCode::MESSAGE_ILLEGAL, "empty batch".into()));
        }
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        let len = i64::try_from(request.body.len()).unwrap_or(i64::MAX);
        let queue_offset = queue.fetch_add(count, Ordering::Relaxed);
        let physical = self.physical.fetch_add(len, Ordering::Relaxed);
        let msg_id = if count == 1 {
            OffsetMsgId::new(self.store_host, physical).encode()
        } else {
            let step = (len / count).max(1);
            let ids: Vec<String> = (0..count)
                .map(|i| OffsetMsgId::new(self.store_host, physical + i * step).encode())
                .collect();
            ids.join(",")
        };
        self.counters.messages.fetch_add(count.unsigned_abs(), Ordering::Relaxed);
        self.counters.bytes.fetch_add(len.unsigned_abs(), Ordering::Relaxed);
        let header = SendMessageResponseHeader {
            msg_id,
            queue_id,
            queue_offset,
            transaction_id: None,
            batch_uniq_id: None,
            recall_handle: None,
            msg_region: "DefaultRegion".into(),
            trace_on: false,
        };
        Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS)
            .with_ext_fields(header.to_ext()))
    }
}

fn refuse(
    request: &RemotingCommand,
    code: ResponseCode,
    remark: impl Into<String>,
) -> RemotingCommand {
    RemotingCommand::response_to(request, code).with_remark(remark)
}

impl RequestProcessor for Sink {
    async fn process(
        &self,
        _channel: &Channel,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        let response = match request.request_code() {
            RequestCode::SEND_MESSAGE | RequestCode::SEND_MESSAGE_V2 => self.send(&request, false),
            RequestCode::SEND_BATCH_MESSAGE => self.send(&request, true),
            RequestCode::GET_ROUTEINFO_BY_TOPIC => self.route(&request),
            RequestCode::HEART_BEAT | RequestCode::UNREGISTER_CLIENT => {
                RemotingCommand::response_to(&request, ResponseCode::SUCCESS)
            }
            _ => not_supported(&request),
        };
        Some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_protocol::headers::{GetRouteInfoRequestHeader, SendMessageRequestHeaderV2};
    use ferromq_protocol::message::{encode_batch, BatchEntry};

    fn sink() -> Sink {
        Sink::new("sink", "127.0.0.1:9876".parse().unwrap(), 2)
    }

    fn send_request(code: RequestCode, queue_id: i32, body: Bytes) -> RemotingCommand {
        let header = SendMessageRequestHeader {
            producer_group: "PG".into(),
            topic: "T".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id,
            sys_flag: 0,
            born_timestamp: 0,
            flag: 0,
            properties: None,
            reconsume_times: None,
            unit_mode: None,
            batch: None,
            max_reconsume_times: None,
            broker_name: None,
        };
        let ext = if SendMessageRequestHeader::uses_v2_keys(code) {
            SendMessageRequestHeaderV2::from(header).to_ext()
        } else {
            header.to_ext()
        };
        RemotingCommand::request(code).with_ext_fields(ext).with_body(body)
    }

    #[test]
    fn every_topic_routes_to_the_sink_itself() {
        let sink = sink();
        let header =
            GetRouteInfoRequestHeader { topic: "Any".into(), accept_standard_json_only: None };
        let request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
            .with_ext_fields(header.to_ext());
        let response = sink.route(&request);
        assert_eq!(response.response_code(), ResponseCode::SUCCESS);
        let route = TopicRouteData::from_json(&response.body).unwrap();
        assert_eq!(route.queue_datas[0].write_queue_nums, 2);
        assert_eq!(
            route.broker_datas[0].broker_addrs.get(&0).map(String::as_str),
            Some("127.0.0.1:9876")
        );
        let old_client = RemotingCommand { version: 100, ..request.clone() };
        assert!(TopicRouteData::from_json(&sink.route(&old_client).body).is_ok());
        let no_topic = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
        assert_eq!(sink.route(&no_topic).response_code(), ResponseCode::INVALID_PARAMETER);
    }

    #[test]
    fn sends_get_per_queue_offsets_and_valid_ids() {
        let sink = sink();
        let answer = |r: RemotingCommand| SendMessageResponseHeader::from_command(&r).unwrap();
        let body = Bytes::from_static(b"hello");
        let first =
            answer(sink.send(&send_request(RequestCode::SEND_MESSAGE_V2, 1, body.clone()), false));
        let second =
            answer(sink.send(&send_request(RequestCode::SEND_MESSAGE, 1, body.clone()), false));
        let other = answer(sink.send(&send_request(RequestCode::SEND_MESSAGE_V2, 0, body), false));
        assert_eq!((first.queue_id, first.queue_offset), (1, 0));
        assert_eq!((second.queue_id, second.queue_offset), (1, 1));
        assert_eq!((other.queue_id, other.queue_offset), (0, 0));
        let id = OffsetMsgId::decode(&second.msg_id).unwrap();
        assert_eq!(id.commit_log_offset, 5);
        assert_eq!(id.store_host, "127.0.0.1:9876".parse().unwrap());
        assert_eq!(sink.counters.messages.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn a_batch_counts_each_message() {
        let sink = sink();
        let entry = |b: &'static [u8]| BatchEntry {
            flag: 0,
            body: Bytes::from_static(b),
            properties: Default::default(),
        };
        let mut body = bytes::BytesMut::new();
        encode_batch(&[entry(b"a"), entry(b"b"), entry(b"c")], &mut body).unwrap();
        let request = send_request(RequestCode::SEND_BATCH_MESSAGE, 0, body.freeze());
        let header = SendMessageResponseHeader::from_command(&sink.send(&request, true)).unwrap();
        assert_eq!(header.queue_offset, 0);
        assert_eq!(header.msg_id.split(',').count(), 3);
        let again = SendMessageResponseHeader::from_command(&sink.send(&request, true)).unwrap();
        assert_eq!(again.queue_offset, 3);
    }

    #[test]
    fn malformed_sends_are_refused_not_fatal() {
        let sink = sink();
        let bad_queue = send_request(RequestCode::SEND_MESSAGE_V2, 7, Bytes::from_static(b"x"));
        assert_eq!(sink.send(&bad_queue, false).response_code(), ResponseCode::INVALID_PARAMETER);
        let no_header = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2);
        assert_eq!(sink.send(&no_header, false).response_code(), ResponseCode::INVALID_PARAMETER);
        let bad_batch =
            send_request(RequestCode::SEND_BATCH_MESSAGE, 0, Bytes::from_static(b"xyz"));
        assert_eq!(sink.send(&bad_batch, true).response_code(), ResponseCode::MESSAGE_ILLEGAL);
        let any_queue = send_request(RequestCode::SEND_MESSAGE_V2, -1, Bytes::from_static(b"x"));
        assert_eq!(sink.send(&any_queue, false).response_code(), ResponseCode::SUCCESS);
        assert_eq!(sink.counters.refused.load(Ordering::Relaxed), 3);
    }
}

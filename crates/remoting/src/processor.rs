//! `RequestProcessor`: what a server (or a client receiving server-initiated requests) does
//! with each request. The name server and the broker implement it.

use std::future::Future;

use ferromq_protocol::{RemotingCommand, ResponseCode};

use crate::channel::Channel;

/// Handles the requests that arrive on a connection.
///
/// `process` runs on its own task per request, so a slow request (a held long-polling pull)
/// never blocks the others of its connection. The connection layer copies the request's
/// opaque into the response, sets the response bit, answers in the request's serialization,
/// and sends nothing for one-way requests.
pub trait RequestProcessor: Send + Sync + 'static {
    /// Handles one request; `None` sends no response.
    fn process(
        &self,
        channel: &Channel,
        request: RemotingCommand,
    ) -> impl Future<Output = Option<RemotingCommand>> + Send;

    /// Called once a connection is established.
    fn on_connect(&self, _channel: &Channel) {}

    /// Called once a connection has closed, for whatever reason.
    fn on_close(&self, _channel: &Channel) {}
}

/// The response RocketMQ gives to a code nobody handles.
pub fn not_supported(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::REQUEST_CODE_NOT_SUPPORTED)
        .with_remark(format!(" request type {} not supported", request.code))
}

/// A processor that handles no request: every code is answered as not supported.
/// Clients that take no server-initiated requests use it.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRequests;

impl RequestProcessor for NoRequests {
    async fn process(
        &self,
        _channel: &Channel,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        Some(not_supported(&request))
    }
}

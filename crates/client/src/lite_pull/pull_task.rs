//! One assigned queue's pull task (RocketMQ's `PullTaskImpl`): wait while the queue is
//! paused or its buffer is full, find its start offset, long-poll the broker, and hand the
//! answer to the bookkeeping, which buffers it only if no seek happened meanwhile. A seek
//! interrupts a pull under way; errors back off and retry, so a restarted broker is pulled
//! again once it is back. The task ends when the queue is released or the consumer stops.

use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::ResponseCode;

use super::assigned::{Accepted, Plan, Signals};
use super::core::Core;
use super::request;
use crate::consumer::calls::master_of;
use crate::consumer::pull::{self, PullResult, PullStatus};
use crate::error::{ClientError, Result};

/// Pause before looking again at a full buffer (`PULL_TIME_DELAY_MILLS_WHEN_CACHE_FLOW_CONTROL`).
const DELAY_ON_FLOW_CONTROL: Duration = Duration::from_millis(50);
/// Pause before looking again at a paused queue; a resume wakes it sooner
/// (`PULL_TIME_DELAY_MILLS_WHEN_PAUSE`).
const DELAY_WHEN_PAUSED: Duration = Duration::from_secs(1);
/// Pause after the broker refused a pull for flow control
/// (`PULL_TIME_DELAY_MILLS_WHEN_BROKER_FLOW_CONTROL`).
const DELAY_ON_BROKER_FLOW_CONTROL: Duration = Duration::from_millis(20);
/// Pause after the start offset could not be found (`PULL_TIME_DELAY_MILLS_ON_EXCEPTION`).
const DELAY_ON_START_ERROR: Duration = Duration::from_secs(3);

/// Pulls `queue` until it is released or the consumer stops.
pub async fn run(core: Arc<Core>, queue: MessageQueue, signals: Arc<Signals>) {
    let limits = core.config.limits();
    let mut flow_controlled: u64 = 0;
    loop {
        if signals.stop.is_cancelled() {
            return;
        }
        let plan = core.assigned().plan(&queue, &limits);
        match plan {
            Plan::Gone => return,
            Plan::Paused => {
                tokio::select! {
                    _ = signals.stop.cancelled() => return,
                    _ = signals.interrupt.notified() => {}
                    _ = tokio::time::sleep(DELAY_WHEN_PAUSED) => {}
                }
            }
            Plan::Full(full) => {
                if flow_controlled.is_multiple_of(1000) {
                    tracing::info!(?queue, ?full, "buffer full; pulling paused until polled");
                }
                flow_controlled += 1;
                tokio::select! {
                    _ = signals.stop.cancelled() => return,
                    _ = signals.interrupt.notified() => {}
                    _ = signals.freed.notified() => {}
                    _ = tokio::time::sleep(DELAY_ON_FLOW_CONTROL) => {}
                }
            }
            Plan::Start { epoch } => {
                let found = tokio::select! {
                    _ = signals.stop.cancelled() => return,
                    found = core.start_offset(&queue) => found,
                };
                match found {
                    Ok(offset) => {
                        if core.assigned().set_start(&queue, epoch, offset) {
                            tracing::debug!(?queue, offset, "queue started");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(?queue, error = %e, "cannot find the start offset; retrying");
                        if !core.pause(DELAY_ON_START_ERROR, &signals.stop).await {
                            return;
                        }
                    }
                }
            }
            Plan::Pull { epoch, offset } => {
                let outcome = tokio::select! {
                    _ = signals.stop.cancelled() => return,
                    // A seek (or resume) since the pull started: its answer would be stale.
                    _ = signals.interrupt.notified() => continue,
                    outcome = pull(&core, &queue, offset) => outcome,
                };
                match outcome {
                    Ok(result) => settle(&core, &queue, epoch, offset, result),
                    Err(e) => {
                        let delay = if e.response_code() == Some(ResponseCode::FLOW_CONTROL) {
                            DELAY_ON_BROKER_FLOW_CONTROL
                        } else {
                            core.config.pull_delay_on_error
                        };
                        tracing::debug!(?queue, offset, error = %e, ?delay, "pull failed; retrying");
                        if !core.pause(delay, &signals.stop).await {
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// One pull of `queue` from `offset`.
async fn pull(core: &Core, queue: &MessageQueue, offset: i64) -> Result<PullResult> {
    let subscription = core.subscription_of(&queue.topic).ok_or_else(|| ClientError::NoRoute {
        topic: queue.topic.clone(),
        reason: "no longer subscribed".into(),
    })?;
    let request = request::lite_pull(
        core.group(),
        queue,
        offset,
        core.config.pull_batch_size,
        core.config.broker_suspend_max,
        &subscription,
    );
    let addr = master_of(&core.instance, queue).await?;
    let response =
        core.instance.call(&addr, request, core.config.consumer_timeout_when_suspend).await?;
    pull::parse(&addr, queue, core.group(), &subscription, response)
}

/// Hands a pull's answer to the bookkeeping and wakes pollers if messages arrived.
fn settle(core: &Core, queue: &MessageQueue, epoch: u64, offset: i64, result: PullResult) {
    if result.status == PullStatus::OffsetIllegal {
        tracing::warn!(
            ?queue,
            offset,
            next = result.next_begin_offset,
            "offset illegal; moving it"
        );
    }
    let accepted =
        core.assigned().accept(queue, epoch, offset, result.next_begin_offset, result.messages);
    match accepted {
        Accepted::Buffered(_) => core.arrived.notify_waiters(),
        Accepted::Stale => tracing::debug!(?queue, offset, "stale pull answer dropped"),
        Accepted::Moved => {}
    }
}

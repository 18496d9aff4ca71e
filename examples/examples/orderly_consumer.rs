//! An orderly consumer for `ordered_producer`: each queue is locked on its broker and its
//! messages reach the listener one at a time, in order, so every order's steps arrive in
//! sequence. (Answering `SuspendCurrentQueueAMoment` instead of `Success` would hold the
//! queue for a second and deliver the same messages again.)

use ferromq_client::{ConsumeOrderlyStatus, MessageListener, PushConsumer, PushConsumerConfig};
use ferromq_examples::namesrv_addr;

#[tokio::main]
async fn main() -> ferromq_client::Result<()> {
    let consumer = PushConsumer::new(PushConsumerConfig::new("example-orderly", namesrv_addr()))?;
    consumer.subscribe("OrderTopic", "*")?;
    consumer.register_message_listener(MessageListener::orderly(|messages, _| async move {
        for message in &messages {
            let body = String::from_utf8_lossy(message.body());
            if message.reconsume_times > 0 {
                println!("again ({}x): {body}", message.reconsume_times);
            } else {
                println!("{body}");
            }
        }
        ConsumeOrderlyStatus::Success
    }))?;
    consumer.start().await?;
    println!("consuming in order; Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    consumer.shutdown().await;
    Ok(())
}

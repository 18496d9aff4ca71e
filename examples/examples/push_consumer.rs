//! A push consumer: the group's members share `TopicTest`'s queues, messages tagged `TagA` or
//! `TagB` arrive at the listener, and offsets are committed to the brokers. Runs until
//! Ctrl-C, then shuts down without losing anything (in-flight messages finish, offsets are
//! committed).

use ferromq_client::{
    ConsumeConcurrentlyStatus, MessageListener, PushConsumer, PushConsumerConfig,
};
use ferromq_examples::namesrv_addr;

#[tokio::main]
async fn main() -> ferromq_client::Result<()> {
    let consumer = PushConsumer::new(PushConsumerConfig::new("example-consumer", namesrv_addr()))?;
    consumer.subscribe("TopicTest", "TagA || TagB")?;
    consumer.register_message_listener(MessageListener::concurrently(
        |messages, context| async move {
            for message in &messages {
                println!(
                    "{} from queue {}: {}",
                    message.msg_id(),
                    context.message_queue.queue_id,
                    String::from_utf8_lossy(message.body())
                );
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        },
    ))?;
    consumer.start().await?;
    println!("consuming; Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    consumer.shutdown().await;
    Ok(())
}

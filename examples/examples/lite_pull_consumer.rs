//! A lite pull consumer: the application asks for messages. It subscribes to `TopicTest`'s
//! `TagA` and `TagB` messages (the group's members share the queues), polls batches in a
//! loop, and lets auto-commit record what it polled. Pass `assign` to read every queue of
//! the topic from its beginning instead, without a group rebalance. Runs until Ctrl-C,
//! then shuts down, committing what was polled.

use std::time::Duration;

use ferromq_client::{LitePullConsumer, LitePullConsumerConfig};
use ferromq_examples::namesrv_addr;

#[tokio::main]
async fn main() -> ferromq_client::Result<()> {
    let consumer = LitePullConsumer::new(LitePullConsumerConfig::new(
        "example-lite-consumer",
        namesrv_addr(),
    ))?;
    let assign = std::env::args().nth(1).as_deref() == Some("assign");
    if !assign {
        consumer.subscribe("TopicTest", "TagA || TagB")?;
    }
    consumer.start().await?;
    if assign {
        let queues = consumer.fetch_message_queues("TopicTest").await?;
        consumer.assign(queues.clone())?;
        for queue in &queues {
            consumer.seek_to_begin(queue).await?;
        }
    }
    println!("polling; Ctrl-C to stop");
    let poll_timeout = consumer.config().poll_timeout.min(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            batch = consumer.poll(poll_timeout) => {
                for message in batch? {
                    println!(
                        "{} from queue {} at offset {}: {}",
                        message.msg_id(),
                        message.queue_id,
                        message.queue_offset,
                        String::from_utf8_lossy(message.body())
                    );
                }
            }
        }
    }
    consumer.shutdown().await;
    Ok(())
}

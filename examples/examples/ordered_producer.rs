//! Ordered messages: every message of one order goes to the same queue (chosen by the
//! order id's hash), so an orderly consumer sees each order's steps in sequence.

use ferromq_client::{Message, Producer, ProducerConfig, SelectByHash};
use ferromq_examples::namesrv_addr;

#[tokio::main]
async fn main() -> ferromq_client::Result<()> {
    let producer = Producer::start(ProducerConfig::new("example-ordered", namesrv_addr())).await?;
    for step in ["created", "paid", "shipped", "delivered"] {
        for order in 0..3 {
            let order_id = format!("order-{order}");
            let message = Message::new("OrderTopic", format!("{order_id} {step}"))
                .with_tags(step)
                .with_keys([order_id.as_str()]);
            let result =
                producer.send_with_selector(message, &SelectByHash(order_id.clone())).await?;
            println!("{order_id} {step} -> queue {}", result.queue.queue_id);
        }
    }
    producer.shutdown().await;
    Ok(())
}

//! Sends messages every way the producer can: and waits for each answer (sync), in the
//! background with a callback, one-way, and as a batch.

use ferromq_client::{Message, Producer, ProducerConfig};
use ferromq_examples::namesrv_addr;

#[tokio::main]
async fn main() -> ferromq_client::Result<()> {
    let producer = Producer::start(ProducerConfig::new("example-producer", namesrv_addr())).await?;

    // Sync: returns once the broker has stored the message.
    for i in 0..10 {
        let message = Message::new("TopicTest", format!("Hello FerroMQ {i}"))
            .with_tags("TagA")
            .with_keys([format!("order-{i}").as_str()])
            .with_property("source", "example")?;
        let result = producer.send(message).await?;
        println!(
            "{:?} {} -> {:?} offset {}",
            result.status, result.msg_id, result.queue, result.queue_offset
        );
    }

    // Callback: returns at once; the callback runs when the broker answers.
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..10 {
        let done = done_tx.clone();
        let message = Message::new("TopicTest", format!("async {i}"));
        producer
            .send_with_callback(message, move |result| {
                match &result {
                    Ok(sent) => println!("async {i} stored as {}", sent.msg_id),
                    Err(e) => eprintln!("async {i} failed: {e}"),
                }
                let _ = done.send(());
            })
            .await?;
    }
    for _ in 0..10 {
        done_rx.recv().await;
    }

    // One-way: fire and forget (no answer, no retry).
    producer.send_oneway(Message::new("TopicTest", "one-way")).await?;

    // Batch: one request, stored together in one queue.
    let batch = (0..5).map(|i| Message::new("TopicTest", format!("batch {i}"))).collect();
    let result = producer.send_batch(batch).await?;
    println!("batch stored from offset {} as {}", result.queue_offset, result.msg_id);

    producer.shutdown().await;
    Ok(())
}

//! [`Ledger`]: which messages each source batch came from, until the rows they produced are
//! committed — then they are acknowledged.
//!
//! The engine numbers a source's batches 1, 2, … in the order the source hands them out
//! and tells the sink the *mark* up to which every row is written (`BatchSink::reached`).
//! The source records each batch's messages here under the same number; after the sink
//! has committed everything up to mark `m`, [`Ledger::ack_through`] acknowledges the
//! messages of batches 1..=m. A crash before that leaves them unacknowledged: JetStream
//! delivers them again after the consumer's ack wait (at-least-once).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use async_nats::jetstream::message::Acker;

use crate::error::StreamError;

/// Where a source batch came from: the message it was read from (none for a heartbeat
/// batch, which carries no rows).
pub struct Origin {
    /// The stream the message is in (for Kafka: `topic/partition`).
    pub stream: String,
    /// Its sequence number in the stream (for Kafka: the offset).
    pub sequence: u64,
    /// Acknowledges it.
    pub acker: Ack,
}

/// How a message is acknowledged once its rows are committed.
#[expect(
    clippy::large_enum_variant,
    reason = "the JetStream acker is the common, large case: boxing it would allocate per message"
)]
pub enum Ack {
    /// A JetStream message: its own ack.
    Nats(Acker),
    /// A Kafka record: its offset, committed for its partition (with every record before
    /// it) through the consumer group.
    Kafka(crate::kafka::KafkaOffset),
}

/// The unacknowledged source batches of one run, in order.
#[derive(Default)]
pub struct Ledger {
    batches: Mutex<VecDeque<(u64, Option<Origin>)>>,
    /// Batches recorded so far (the mark of the last one).
    taken: Mutex<u64>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Record the next source batch (the source calls this for every batch it hands out,
    /// in order, before handing it out); its mark.
    pub fn record(&self, origin: Option<Origin>) -> u64 {
        let mut taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        *taken += 1;
        self.batches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back((*taken, origin));
        *taken
    }

    /// Messages recorded and not yet acknowledged.
    pub fn pending(&self) -> usize {
        self.batches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(_, o)| o.is_some())
            .count()
    }

    /// The message source batch `mark` came from (for message ids derived from it).
    pub fn origin_of(&self, mark: u64) -> Option<(String, u64)> {
        self.batches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(m, _)| *m == mark)
            .and_then(|(_, o)| o.as_ref().map(|o| (o.stream.clone(), o.sequence)))
    }

    /// Acknowledge the messages of every batch up to and including `mark`: call only
    /// after everything they produced is committed. Returns how many were acknowledged.
    ///
    /// # Errors
    /// The connection failed while acknowledging (the rest stay unacknowledged and are
    /// delivered again: their rows are committed, so they may appear twice).
    pub async fn ack_through(&self, mark: u64, server: &str) -> Result<usize, StreamError> {
        let done: Vec<Origin> = {
            let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
            let mut done = Vec::new();
            while batches.front().is_some_and(|(m, _)| *m <= mark) {
                if let Some((_, Some(origin))) = batches.pop_front() {
                    done.push(origin);
                }
            }
            done
        };
        let kafka: Vec<&crate::kafka::KafkaOffset> = done
            .iter()
            .filter_map(|o| match &o.acker {
                Ack::Kafka(k) => Some(k),
                Ack::Nats(_) => None,
            })
            .collect();
        crate::kafka::commit(&kafka, server)?;
        let nats: Vec<(&Origin, &Acker)> = done
            .iter()
            .filter_map(|o| match &o.acker {
                Ack::Nats(a) => Some((o, a)),
                Ack::Kafka(_) => None,
            })
            .collect();
        let last = nats.len().saturating_sub(1);
        for (i, (origin, acker)) in nats.into_iter().enumerate() {
            // An ack is a publish the client may still hold in its buffer when the process
            // exits (a drained run ends right after its last checkpoint). The last one
            // waits for the server's confirmation; a connection delivers in order, so the
            // server has then taken every ack before it too.
            let acked = if i == last {
                acker.double_ack().await
            } else {
                acker.ack().await
            };
            acked.map_err(|e| {
                StreamError::unavailable(
                    format!(
                        "acknowledging stream {} message {}",
                        origin.stream, origin.sequence
                    ),
                    server,
                    e,
                )
            })?;
        }
        Ok(done.len())
    }
}

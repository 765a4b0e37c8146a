//! IDLE (RFC 2177) and the raw lines it and AUTHENTICATE read.

use super::session::{Done, Session, State};
use crate::conn::Closed;

impl Session {
    /// A line that is not a command (an AUTHENTICATE response, IDLE's DONE), read through
    /// the fragmentizer so no byte is lost between it and the commands.
    pub(super) async fn read_raw_line(&mut self) -> Result<Vec<u8>, Closed> {
        loop {
            if self.fragmentizer.progress().is_some() {
                if self.fragmentizer.is_message_complete() {
                    if self.fragmentizer.is_max_message_size_exceeded() {
                        return Ok(Vec::new());
                    }
                    return Ok(self.fragmentizer.message_bytes().to_vec());
                }
                continue;
            }
            let bytes = self
                .conn
                .read_some(self.service.limits.idle_timeout)
                .await?;
            self.fragmentizer.enqueue_bytes(&bytes);
        }
    }

    /// RFC 2177 IDLE: "+ idling", changes as they happen, until DONE.
    pub(super) async fn idle(&mut self) -> Result<Done, Closed> {
        enum Event {
            Line(Result<Vec<u8>, Closed>),
            Changed,
            Tick,
        }
        // Subscribe before the continuation, so no change slips between them.
        let mut changes = self.service.store.subscribe();
        let selected_id = match &self.state {
            State::Selected(_, selected) => Some(selected.mailbox.id),
            _ => None,
        };
        self.conn.queue(b"+ idling\r\n");
        self.conn.flush().await?;
        let started = tokio::time::Instant::now();
        let poll = self.service.limits.idle_poll;
        let mut shutdown = self.info.shutdown.clone();
        loop {
            // In-process changes arrive on the bus at once; a slow poll catches changes made
            // by other processes (the CLI, other nodes).
            let event = tokio::select! {
                line = self.read_raw_line() => Event::Line(line),
                change = changes.recv() => match change {
                    Ok(id) if Some(id) != selected_id => continue,
                    _ => Event::Changed,
                },
                () = tokio::time::sleep(poll) => Event::Tick,
                () = shutdown.requested() => return Err(Closed::Shutdown),
            };
            match event {
                Event::Line(line) => {
                    let done = String::from_utf8_lossy(&line?)
                        .trim()
                        .eq_ignore_ascii_case("DONE");
                    return Ok(if done {
                        Done::ok("IDLE terminated")
                    } else {
                        Done::bad("Expected DONE")
                    });
                }
                Event::Changed | Event::Tick => {
                    self.announce_changes(true).await;
                    self.conn.flush().await?;
                    if started.elapsed() > self.service.limits.idle_timeout {
                        return Err(Closed::Timeout);
                    }
                }
            }
        }
    }
}

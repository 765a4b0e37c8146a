//! The server's request that sessions end (SIGTERM).
//!
//! A session waiting for its client's next command says goodbye in its protocol's words
//! (SMTP `421 4.3.2`, IMAP `* BYE`, POP3 `-ERR [SYS/TEMP]`) and closes; a command in
//! progress, an SMTP mail transaction or an IMAP literal being sent, finishes first.

use tokio::sync::watch;

/// Cloned into every session; turns once, when the server stops.
#[derive(Debug, Clone, Default)]
pub struct ShutdownSignal(Option<watch::Receiver<bool>>);

impl ShutdownSignal {
    /// Follows `stop`: the request is made when it turns true.
    pub fn new(stop: watch::Receiver<bool>) -> Self {
        Self(Some(stop))
    }

    /// A signal that never comes (tests, sessions outside a server).
    pub fn never() -> Self {
        Self(None)
    }

    /// Resolves once the server asks sessions to end; never, if it cannot ask any more.
    pub async fn requested(&mut self) {
        if let Some(stop) = &mut self.0
            && stop.wait_for(|stop| *stop).await.is_ok()
        {
            return;
        }
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn resolves_when_the_server_stops_and_not_before() {
        let (stop, rx) = watch::channel(false);
        let mut signal = ShutdownSignal::new(rx);
        let early = tokio::time::timeout(Duration::from_millis(20), signal.requested()).await;
        assert!(early.is_err(), "no stop asked yet");
        stop.send(true).unwrap();
        let asked = tokio::time::timeout(Duration::from_millis(20), signal.requested()).await;
        assert!(asked.is_ok(), "stop asked");
        // Already asked: a later wait returns at once.
        let again = tokio::time::timeout(Duration::from_millis(20), signal.requested()).await;
        assert!(again.is_ok());
    }

    #[tokio::test]
    async fn a_gone_server_or_none_never_asks() {
        let (stop, rx) = watch::channel(false);
        drop(stop);
        for mut signal in [ShutdownSignal::new(rx), ShutdownSignal::never()] {
            let waited = tokio::time::timeout(Duration::from_millis(20), signal.requested()).await;
            assert!(waited.is_err());
        }
    }
}

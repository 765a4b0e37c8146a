//! Settings of the running process: how it stops.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Seconds sessions get to finish after SIGTERM before they are closed.
    pub timeout: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self { timeout: 30 }
    }
}

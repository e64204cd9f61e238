//! The same service with synchronous replication (`replicate sync ... quorum 2`):
//! a write is acknowledged only once two copies (the local one counts) are
//! durable, otherwise it is refused as retryable and leaves no trace.

use nines_runtime::{Limits, Replication, ServiceConfig};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let config = ServiceConfig {
        service: "bigtable-sync".to_string(),
        gated: true,
        flush_within: Duration::from_secs(45),
        retry_after: Duration::from_secs(2),
        holdup: Some(Duration::from_secs(600)),
        replication: Replication::Sync { quorum: 2 },
        limits: Limits::default(),
        default_port: 8081,
        power_poll: Duration::from_millis(250),
        power_grace: Duration::from_secs(3),
        group_commit: true,
        peer_timeout: Duration::from_secs(2),
    };
    nines_runtime::run(config)
}

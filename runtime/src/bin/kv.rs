//! An App Engine-like storage service, as `nines gen` emits it for
//! `specs/appengine.nines`: writes gated by the UPS, flushed within 45s,
//! refused as retryable after 2s, and replicated async with a max lag of 30s.
//!
//! Run a primary with two replicas on loopback:
//!
//! ```text
//! export NINES_PEER_TOKEN=secret
//! kv --role replica --listen 127.0.0.1:9101 --data-dir r1 --power none &
//! kv --role replica --listen 127.0.0.1:9102 --data-dir r2 --power none &
//! echo OL > ups.status
//! kv --data-dir p --power file:ups.status \
//!    --peer http://127.0.0.1:9101 --peer http://127.0.0.1:9102
//! ```

use nines_runtime::{Limits, Replication, ServiceConfig};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let config = ServiceConfig {
        service: "bigtable-a".to_string(),
        gated: true,
        flush_within: Duration::from_secs(45),
        retry_after: Duration::from_secs(2),
        holdup: Some(Duration::from_secs(600)),
        replication: Replication::Async {
            max_lag: Duration::from_secs(30),
        },
        limits: Limits {
            max_key_bytes: 1024,
            max_value_bytes: 1024 * 1024,
            max_replicate_bytes: 16 * 1024 * 1024,
        },
        default_port: 8080,
        power_poll: Duration::from_millis(250),
        power_grace: Duration::from_secs(3),
        group_commit: true,
        peer_timeout: Duration::from_secs(2),
    };
    nines_runtime::run(config)
}

//! The service's configuration: what the spec says, filled in by `nines gen`.

use std::time::Duration;

/// How writes are replicated to peers, from the spec's `replicate` clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replication {
    /// No replication: the local log is the only copy.
    None,
    /// `replicate async to X max lag L`: records are shipped in the
    /// background; when any peer lags more than `max_lag` the write gate
    /// closes (reason: replication lag) until it catches up.
    Async {
        /// The most time a peer may fall behind (the RPO).
        max_lag: Duration,
    },
    /// `replicate sync ... quorum Q`: a write is acknowledged only once `quorum`
    /// copies, the local one included, are durable; otherwise it is refused as
    /// retryable and leaves no trace.
    Sync {
        /// Copies that must be durable before an acknowledgement (local counts).
        quorum: usize,
    },
}

/// Size limits on client requests (over a limit: `413`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest key, in bytes.
    pub max_key_bytes: usize,
    /// Largest value (request body), in bytes.
    pub max_value_bytes: usize,
    /// Largest replication batch accepted on `POST /v1/replicate`, in bytes.
    pub max_replicate_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_key_bytes: 1024,
            max_value_bytes: 1024 * 1024,
            max_replicate_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Everything the runtime needs to know about a service, from its spec.
///
/// A generated `main.rs` builds one of these as a literal and hands it to
/// [`crate::run`]; the command line (see [`crate::Cli`]) adds what varies per
/// deployment (address, data folder, role, peers, token, power source).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    /// The service's name from the spec (used in logs and metrics).
    pub service: String,
    /// `writes { gated by ups }`: the power monitor's status gates writes.
    pub gated: bool,
    /// `flush within`: cached writes must reach disk within this once the gate closes.
    pub flush_within: Duration,
    /// `reject retryable after`: the `Retry-After` of every contract refusal.
    pub retry_after: Duration,
    /// `ups holdup` of the power domain the service sits in, if known.
    pub holdup: Option<Duration>,
    /// The replication contract.
    pub replication: Replication,
    /// Request size limits.
    pub limits: Limits,
    /// Port of the default listen address `127.0.0.1:PORT`.
    pub default_port: u16,
    /// How often the power monitor polls its source.
    pub power_poll: Duration,
    /// How long the power monitor may fail to read the status before the gate
    /// closes (fail safe, reason: power monitor unreachable).
    pub power_grace: Duration,
    /// Group commit: one fsync covers every write that arrived meanwhile. Off
    /// means one fsync per write (only useful to measure the difference).
    pub group_commit: bool,
    /// Timeout of one replication call to a peer.
    pub peer_timeout: Duration,
}

impl ServiceConfig {
    /// A configuration with the runtime's defaults for everything but the name.
    pub fn new(service: impl Into<String>) -> Self {
        ServiceConfig {
            service: service.into(),
            gated: false,
            flush_within: Duration::from_secs(30),
            retry_after: Duration::from_secs(1),
            holdup: None,
            replication: Replication::None,
            limits: Limits::default(),
            default_port: 8080,
            power_poll: Duration::from_millis(250),
            power_grace: Duration::from_secs(3),
            group_commit: true,
            peer_timeout: Duration::from_secs(2),
        }
    }

    /// `Retry-After` in whole seconds (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        let s = self.retry_after.as_secs();
        if self.retry_after.subsec_nanos() > 0 {
            s + 1
        } else {
            s.max(1)
        }
    }

    /// Problems with the configuration itself (not with the command line).
    pub fn validate(&self) -> Result<(), String> {
        if let Replication::Sync { quorum } = self.replication {
            if quorum == 0 {
                return Err("sync replication needs a quorum of at least 1".into());
            }
        }
        if let Replication::Async { max_lag } = self.replication {
            if max_lag.is_zero() {
                return Err("async replication needs a max lag above zero".into());
            }
        }
        if self.power_poll.is_zero() {
            return Err("the power poll period must be above zero".into());
        }
        Ok(())
    }
}

/// Parses a duration such as `250ms`, `2s`, `5m`, `1h` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 500ms, 2s, 5m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{text}`: unknown unit `{unit}` (ms, s, m, h)")),
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("x").is_err());
        assert!(parse_duration("3y").is_err());
    }

    #[test]
    fn retry_after_rounds_up() {
        let mut c = ServiceConfig::new("s");
        c.retry_after = Duration::from_millis(1500);
        assert_eq!(c.retry_after_secs(), 2);
        c.retry_after = Duration::from_secs(2);
        assert_eq!(c.retry_after_secs(), 2);
        c.retry_after = Duration::ZERO;
        assert_eq!(c.retry_after_secs(), 1);
    }

    #[test]
    fn validate_rejects_zero_quorum() {
        let mut c = ServiceConfig::new("s");
        c.replication = Replication::Sync { quorum: 0 };
        assert!(c.validate().is_err());
        c.replication = Replication::Sync { quorum: 2 };
        assert!(c.validate().is_ok());
    }
}

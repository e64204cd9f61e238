//! The write gate: writes pass only while no contract reason holds it closed.

use std::sync::Mutex;
use tokio::sync::watch;

/// Why writes are refused. Each one is a retryable `503`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The UPS reports low battery (`LB`).
    LowBattery,
    /// The UPS runs on battery (`OB`).
    OnBattery,
    /// The power monitor could not read the UPS status for longer than its grace period.
    PowerMonitorUnreachable,
    /// A peer lags more than the spec's `max lag`.
    ReplicationLag,
    /// Fewer than the quorum of copies could be made durable (sync replication).
    SyncQuorumUnreachable,
    /// This node is a replica: client writes go to the primary.
    Replica,
}

impl Reason {
    /// Every reason, in priority order (the first one that holds is reported).
    pub const ALL: [Reason; 6] = [
        Reason::LowBattery,
        Reason::OnBattery,
        Reason::PowerMonitorUnreachable,
        Reason::ReplicationLag,
        Reason::SyncQuorumUnreachable,
        Reason::Replica,
    ];

    /// Stable machine-readable name (JSON `reason`, metric label).
    pub fn code(self) -> &'static str {
        match self {
            Reason::LowBattery => "low_battery",
            Reason::OnBattery => "on_battery",
            Reason::PowerMonitorUnreachable => "power_monitor_unreachable",
            Reason::ReplicationLag => "replication_lag",
            Reason::SyncQuorumUnreachable => "sync_quorum_unreachable",
            Reason::Replica => "replica",
        }
    }

    /// Human-readable explanation (JSON `error`).
    pub fn message(self) -> &'static str {
        match self {
            Reason::LowBattery => "writes refused: the UPS reports low battery",
            Reason::OnBattery => "writes refused: power is on battery",
            Reason::PowerMonitorUnreachable => {
                "writes refused: the power monitor cannot read the UPS status (failing safe)"
            }
            Reason::ReplicationLag => {
                "writes refused: a replication peer lags more than the allowed max lag"
            }
            Reason::SyncQuorumUnreachable => {
                "write refused: the sync replication quorum could not be reached"
            }
            Reason::Replica => "writes refused: this node is a replica, write to the primary",
        }
    }

    /// Whether this reason comes from the power monitor.
    pub fn is_power(self) -> bool {
        matches!(
            self,
            Reason::LowBattery | Reason::OnBattery | Reason::PowerMonitorUnreachable
        )
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The gate's state: the set of reasons holding it closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GateState(u8);

impl GateState {
    /// Whether writes pass.
    pub fn is_open(self) -> bool {
        self.0 == 0
    }

    /// Whether `reason` holds the gate closed.
    pub fn has(self, reason: Reason) -> bool {
        self.0 & reason.bit() != 0
    }

    /// The reason to report: the highest-priority one that holds.
    pub fn reason(self) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| self.has(*r))
    }

    /// Every reason that holds, in priority order.
    pub fn reasons(self) -> Vec<Reason> {
        Reason::ALL.into_iter().filter(|r| self.has(*r)).collect()
    }
}

/// The write gate, shared by the power monitor, the replication lag watcher and
/// the HTTP handlers. Changes are published on a watch channel.
#[derive(Debug)]
pub struct Gate {
    lock: Mutex<()>,
    tx: watch::Sender<GateState>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new()
    }
}

impl Gate {
    /// An open gate.
    pub fn new() -> Self {
        let (tx, _) = watch::channel(GateState::default());
        Gate {
            lock: Mutex::new(()),
            tx,
        }
    }

    /// The current state.
    pub fn state(&self) -> GateState {
        *self.tx.borrow()
    }

    /// `Ok` if writes pass, else the reason to report.
    pub fn check(&self) -> Result<(), Reason> {
        match self.state().reason() {
            None => Ok(()),
            Some(r) => Err(r),
        }
    }

    /// Sets or clears one reason; returns whether the state changed.
    pub fn set(&self, reason: Reason, on: bool) -> bool {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let old = *self.tx.borrow();
        let new = if on {
            GateState(old.0 | reason.bit())
        } else {
            GateState(old.0 & !reason.bit())
        };
        if new != old {
            self.tx.send_replace(new);
            if on {
                tracing::warn!(reason = reason.code(), "write gate: {}", reason.message());
            } else {
                tracing::info!(
                    reason = reason.code(),
                    open = new.is_open(),
                    "write gate: reason cleared"
                );
            }
            true
        } else {
            false
        }
    }

    /// A receiver that sees every later change.
    pub fn subscribe(&self) -> watch::Receiver<GateState> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_and_priority() {
        let g = Gate::new();
        assert!(g.check().is_ok());
        assert!(g.set(Reason::ReplicationLag, true));
        assert_eq!(g.check(), Err(Reason::ReplicationLag));
        assert!(g.set(Reason::OnBattery, true));
        assert_eq!(g.check(), Err(Reason::OnBattery));
        assert!(
            !g.set(Reason::OnBattery, true),
            "setting twice is no change"
        );
        assert!(g.set(Reason::LowBattery, true));
        assert_eq!(g.check(), Err(Reason::LowBattery));
        assert_eq!(
            g.state().reasons(),
            vec![
                Reason::LowBattery,
                Reason::OnBattery,
                Reason::ReplicationLag
            ]
        );
        g.set(Reason::LowBattery, false);
        g.set(Reason::OnBattery, false);
        assert_eq!(g.check(), Err(Reason::ReplicationLag));
        g.set(Reason::ReplicationLag, false);
        assert!(g.check().is_ok());
    }

    #[test]
    fn subscribers_see_changes() {
        let g = Gate::new();
        let mut rx = g.subscribe();
        g.set(Reason::PowerMonitorUnreachable, true);
        assert!(rx.has_changed().unwrap_or(false));
        assert!(!rx.borrow_and_update().is_open());
    }

    #[test]
    fn codes_are_distinct() {
        let mut codes: Vec<_> = Reason::ALL.iter().map(|r| r.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Reason::ALL.len());
        assert!(Reason::OnBattery.is_power());
        assert!(!Reason::ReplicationLag.is_power());
    }
}

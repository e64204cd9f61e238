//! End to end: the runtime's example services (`kv`, `kv-sync`) as processes
//! on loopback, through the same scenarios that every project `nines gen`
//! writes carries in its own `tests/` (`service/scenarios.rs`, with the
//! helpers of `service/support.rs`).

#[path = "service/support.rs"]
mod support;

/// `kv`: gated by the UPS, `reject retryable after 2s`, async replication
/// with a max lag of 30s (what `nines gen` writes for `bigtable-a` of
/// `specs/appengine.nines`).
mod kv {
    const BIN: &str = env!("CARGO_BIN_EXE_kv");
    const GATED: bool = true;
    const RETRY_AFTER: &str = "2";
    const MAX_LAG_MS: Option<u64> = Some(30_000);
    const QUORUM: Option<u64> = None;
    include!("service/scenarios.rs");
}

/// `kv-sync`: the same service with `replicate sync ... quorum 2`.
mod kv_sync {
    const BIN: &str = env!("CARGO_BIN_EXE_kv-sync");
    const GATED: bool = true;
    const RETRY_AFTER: &str = "2";
    const MAX_LAG_MS: Option<u64> = None;
    const QUORUM: Option<u64> = Some(2);
    include!("service/scenarios.rs");
}

//! Counters and the Prometheus text exposition.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Counters kept by the service (the gate, log, power and peers are read
/// from their own state when rendering).
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, &'static str, u16), u64>>,
    refusals: Mutex<BTreeMap<&'static str, u64>>,
    /// Flushes done on gate close.
    pub flushes: AtomicU64,
    /// Sum of flush durations, in microseconds.
    pub flush_micros_sum: AtomicU64,
    /// Last flush duration, in microseconds.
    pub flush_micros_last: AtomicU64,
    /// Longest flush duration, in microseconds.
    pub flush_micros_max: AtomicU64,
    /// Flushes that took longer than `flush within` (or failed).
    pub flushes_late: AtomicU64,
}

impl Metrics {
    /// Counts one HTTP request (labels are static: counting allocates nothing).
    pub fn count_request(&self, method: &'static str, route: &'static str, status: u16) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((route, method, status)).or_insert(0) += 1;
    }

    /// Counts one contract refusal.
    pub fn count_refusal(&self, reason: &'static str) {
        let mut m = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(reason).or_insert(0) += 1;
    }

    /// Records one flush on gate close.
    pub fn record_flush(&self, d: Duration, late: bool) {
        let us = d.as_micros().min(u64::MAX as u128) as u64;
        self.flushes.fetch_add(1, Ordering::Relaxed);
        self.flush_micros_sum.fetch_add(us, Ordering::Relaxed);
        self.flush_micros_last.store(us, Ordering::Relaxed);
        self.flush_micros_max.fetch_max(us, Ordering::Relaxed);
        if late {
            self.flushes_late.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Renders the request, refusal and flush counters.
    pub fn render_into(&self, out: &mut String) {
        header(
            out,
            "nines_http_requests_total",
            "counter",
            "HTTP requests by route, method and status.",
        );
        for ((route, method, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "nines_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}",
                escape(route),
                escape(method),
                status,
                n
            );
        }
        header(
            out,
            "nines_write_refusals_total",
            "counter",
            "Writes refused by a contract, by reason.",
        );
        for (reason, n) in self
            .refusals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(out, "nines_write_refusals_total{{reason=\"{reason}\"}} {n}");
        }
        let secs = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e6;
        header(
            out,
            "nines_flush_duration_seconds",
            "summary",
            "Time to flush cached writes to disk when the write gate closed.",
        );
        let _ = writeln!(
            out,
            "nines_flush_duration_seconds_sum {}",
            secs(&self.flush_micros_sum)
        );
        let _ = writeln!(
            out,
            "nines_flush_duration_seconds_count {}",
            self.flushes.load(Ordering::Relaxed)
        );
        gauge(
            out,
            "nines_flush_duration_last_seconds",
            "Duration of the last flush on gate close.",
            secs(&self.flush_micros_last),
        );
        gauge(
            out,
            "nines_flush_duration_max_seconds",
            "Longest flush on gate close.",
            secs(&self.flush_micros_max),
        );
        header(
            out,
            "nines_flushes_late_total",
            "counter",
            "Flushes that missed `flush within` or failed.",
        );
        let _ = writeln!(
            out,
            "nines_flushes_late_total {}",
            self.flushes_late.load(Ordering::Relaxed)
        );
    }
}

/// Writes `# HELP` and `# TYPE` lines.
pub fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Writes one unlabelled gauge with its header.
pub fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

/// Escapes a label value.
pub fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters() {
        let m = Metrics::default();
        m.count_request("PUT", "/v1/kv/{key}", 200);
        m.count_request("PUT", "/v1/kv/{key}", 200);
        m.count_refusal("on_battery");
        m.record_flush(Duration::from_millis(3), false);
        let mut s = String::new();
        m.render_into(&mut s);
        assert!(s.contains(
            "nines_http_requests_total{route=\"/v1/kv/{key}\",method=\"PUT\",status=\"200\"} 2"
        ));
        assert!(s.contains("nines_write_refusals_total{reason=\"on_battery\"} 1"));
        assert!(s.contains("nines_flush_duration_seconds_count 1"));
        assert!(s.contains("nines_flush_duration_last_seconds 0.003"));
        assert_eq!(escape("a\"b\\\n"), "a\\\"b\\\\\\n");
    }
}

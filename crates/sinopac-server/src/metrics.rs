//! Prometheus metrics, rendered in the text exposition format at `/metrics`.
//!
//! Small and dependency-free: labelled counters in a mutex-protected map (updated a few times
//! per request) and one latency histogram per bank service. Gauges that live in the database
//! (inbox depth, orders per state, outbox backlog) are read at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// The server's metrics registry.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    bank: Mutex<BTreeMap<&'static str, Histogram>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Counter names and their help texts.
const HELP: &[(&str, &str)] = &[
    (
        "sinopac_callbacks_total",
        "Bank callbacks received, by endpoint and result (new, duplicate, invalid, error).",
    ),
    (
        "sinopac_inbox_processed_total",
        "Inbox items processed, by outcome (applied, rejected, retry).",
    ),
    (
        "sinopac_transitions_total",
        "Order state transitions, by source and target state.",
    ),
    (
        "sinopac_bank_calls_total",
        "Calls to the bank, by APIService and result.",
    ),
    (
        "sinopac_reconcile_runs_total",
        "Reconciler cycles, by result.",
    ),
    (
        "sinopac_reconcile_drift_total",
        "Orders the reconciler corrected or flagged, by kind (missed_callback, needs_review, not_found).",
    ),
    (
        "sinopac_outbox_deliveries_total",
        "Shop notification delivery attempts, by result.",
    ),
    (
        "sinopac_http_requests_total",
        "HTTP requests, by route group and status class.",
    ),
];

impl Metrics {
    /// A new, empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` to counter `name{label}`.
    pub fn add(&self, name: &'static str, label: &str, n: u64) {
        if let Ok(mut m) = self.counters.lock() {
            *m.entry((name, label.to_owned())).or_insert(0) += n;
        }
    }

    /// Adds one to counter `name{label}`.
    pub fn inc(&self, name: &'static str, label: &str) {
        self.add(name, label, 1);
    }

    /// The value of counter `name{label}` (tests).
    #[must_use]
    pub fn get(&self, name: &'static str, label: &str) -> u64 {
        self.counters
            .lock()
            .ok()
            .and_then(|m| m.get(&(name, label.to_owned())).copied())
            .unwrap_or(0)
    }

    /// Records one bank call.
    pub fn bank_call(&self, service: &'static str, result: &str, elapsed: Duration) {
        self.inc(
            "sinopac_bank_calls_total",
            &format!("service=\"{service}\",result=\"{result}\""),
        );
        if let Ok(mut h) = self.bank.lock() {
            let h = h.entry(service).or_insert_with(|| Histogram {
                counts: vec![0; BUCKETS.len()],
                ..Histogram::default()
            });
            let secs = elapsed.as_secs_f64();
            for (slot, b) in h.counts.iter_mut().zip(BUCKETS) {
                if secs <= *b {
                    *slot += 1;
                }
            }
            h.sum += secs;
            h.count += 1;
        }
    }

    /// Renders every metric; `gauges` are `(name, help, label, value)` read at scrape time.
    #[must_use]
    pub fn render(&self, gauges: &[(&str, &str, String, i64)]) -> String {
        let mut out = String::new();
        if let Ok(m) = self.counters.lock() {
            for (name, help) in HELP {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                for ((n, label), v) in m.iter() {
                    if n == name {
                        if label.is_empty() {
                            let _ = writeln!(out, "{name} {v}");
                        } else {
                            let _ = writeln!(out, "{name}{{{label}}} {v}");
                        }
                    }
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP sinopac_bank_latency_seconds Latency of calls to the bank.\n# TYPE sinopac_bank_latency_seconds histogram"
        );
        if let Ok(h) = self.bank.lock() {
            for (service, h) in h.iter() {
                for (c, b) in h.counts.iter().zip(BUCKETS) {
                    let _ = writeln!(
                        out,
                        "sinopac_bank_latency_seconds_bucket{{service=\"{service}\",le=\"{b}\"}} {c}"
                    );
                }
                let _ = writeln!(
                    out,
                    "sinopac_bank_latency_seconds_bucket{{service=\"{service}\",le=\"+Inf\"}} {}\nsinopac_bank_latency_seconds_sum{{service=\"{service}\"}} {}\nsinopac_bank_latency_seconds_count{{service=\"{service}\"}} {}",
                    h.count, h.sum, h.count
                );
            }
        }
        let mut last = "";
        for (name, help, label, v) in gauges {
            if *name != last {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
                last = name;
            }
            if label.is_empty() {
                let _ = writeln!(out, "{name} {v}");
            } else {
                let _ = writeln!(out, "{name}{{{label}}} {v}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.inc(
            "sinopac_callbacks_total",
            "endpoint=\"backend\",result=\"new\"",
        );
        m.inc(
            "sinopac_callbacks_total",
            "endpoint=\"backend\",result=\"new\"",
        );
        m.bank_call("OrderPayQuery", "ok", Duration::from_millis(3));
        let text = m.render(&[(
            "sinopac_inbox_depth",
            "Unprocessed callbacks.",
            String::new(),
            7,
        )]);
        assert!(text.contains("sinopac_callbacks_total{endpoint=\"backend\",result=\"new\"} 2"));
        assert!(text.contains(
            "sinopac_bank_latency_seconds_bucket{service=\"OrderPayQuery\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "sinopac_bank_latency_seconds_bucket{service=\"OrderPayQuery\",le=\"0.0025\"} 0"
        ));
        assert!(text.contains("# TYPE sinopac_inbox_depth gauge\nsinopac_inbox_depth 7"));
        assert_eq!(
            m.get(
                "sinopac_callbacks_total",
                "endpoint=\"backend\",result=\"new\""
            ),
            2
        );
    }
}

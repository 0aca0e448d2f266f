//! The simulator's clock: manual by default, optionally running at a multiple of real time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// The simulated clock, in milliseconds since the Unix epoch (UTC).
///
/// Time only moves when the simulator is told to ([`SimClock::advance`], or
/// [`crate::Sim::advance`], which also runs everything that became due), unless a `time_scale`
/// is set: then it also moves with real time, `scale` simulated seconds per real second
/// (measured with `tokio::time::Instant`, so a paused tokio test clock pauses it too).
/// It never moves backwards.
#[derive(Debug)]
pub struct SimClock {
    start_unix_ms: i64,
    offset_ms: AtomicI64,
    time_scale: Option<f64>,
    real_start: Instant,
}

impl SimClock {
    /// A clock starting at `start_unix_ms`; `time_scale` `Some(s)` makes it also follow real
    /// time at `s`× speed.
    #[must_use]
    pub fn new(start_unix_ms: i64, time_scale: Option<f64>) -> Self {
        Self {
            start_unix_ms,
            offset_ms: AtomicI64::new(0),
            time_scale: time_scale.filter(|s| s.is_finite() && *s > 0.0),
            real_start: Instant::now(),
        }
    }

    fn scaled_real_ms(&self) -> i64 {
        match self.time_scale {
            None => 0,
            Some(scale) => {
                let ms = self.real_start.elapsed().as_secs_f64() * 1000.0 * scale;
                #[allow(clippy::cast_possible_truncation)]
                let ms = ms.min(9.0e15) as i64;
                ms
            }
        }
    }

    /// Now, in milliseconds since the Unix epoch.
    #[must_use]
    pub fn now_ms(&self) -> i64 {
        self.start_unix_ms
            .saturating_add(self.offset_ms.load(Ordering::Acquire))
            .saturating_add(self.scaled_real_ms())
    }

    /// Now, in whole seconds since the Unix epoch.
    #[must_use]
    pub fn now_unix(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves the clock forward by `by` (without running anything; see [`crate::Sim::advance`]).
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
        self.offset_ms.fetch_add(ms, Ordering::AcqRel);
    }

    /// Moves the clock forward to `t_ms` if it is behind it.
    pub(crate) fn set_at_least(&self, t_ms: i64) {
        let now = self.now_ms();
        if t_ms > now {
            self.offset_ms.fetch_add(t_ms - now, Ordering::AcqRel);
        }
    }

    /// The real-time scale, if any.
    #[must_use]
    pub fn time_scale(&self) -> Option<f64> {
        self.time_scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = SimClock::new(1_000_000, None);
        assert_eq!(c.now_ms(), 1_000_000);
        c.advance(Duration::from_secs(61));
        assert_eq!(c.now_ms(), 1_061_000);
        assert_eq!(c.now_unix(), 1061);
        c.set_at_least(1_000);
        assert_eq!(c.now_ms(), 1_061_000);
        c.set_at_least(2_000_000);
        assert_eq!(c.now_ms(), 2_000_000);
    }
}

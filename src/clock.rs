//! The clock every rule reads "now" from. Production uses the system clock; tests use a clock
//! they move forward, so nothing waits for time to pass.

use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock shifted by an offset that tests set: time still runs (so two requests get
/// different times), and `advance` jumps ahead without waiting.
#[derive(Debug, Default)]
pub struct TestClock {
    offset: Mutex<TimeDelta>,
}

impl TestClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Move the clock forward (or back, with a negative `by`).
    pub fn advance(&self, by: TimeDelta) {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset += by;
    }

    /// Make the clock read `at` now (and run on from there).
    pub fn set(&self, at: DateTime<Utc>) {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset = at - Utc::now();
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let offset = *self.offset.lock().unwrap_or_else(|e| e.into_inner());
        Utc::now() + offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_clock_advances_without_waiting() {
        let clock = TestClock::new();
        let before = clock.now();
        clock.advance(TimeDelta::hours(25));
        let after = clock.now();
        assert!(after - before >= TimeDelta::hours(25));
        assert!(after - before < TimeDelta::hours(25) + TimeDelta::seconds(5));
        let target = Utc::now() + TimeDelta::days(400);
        clock.set(target);
        assert!((clock.now() - target).abs() < TimeDelta::seconds(5));
    }
}

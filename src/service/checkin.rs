//! Check-in and no-show release (DESIGN.md §4.8), for tiers with `check_in = true`.

use crate::domain::Booking;

use super::{App, Result};

impl App {
    /// One round: release as no-shows the confirmed bookings of check-in tiers that nobody
    /// checked in by `check_in.release_minutes` after their start. The released bookings.
    pub async fn release_no_shows(&self) -> Result<Vec<Booking>> {
        Ok(vec![])
    }
}

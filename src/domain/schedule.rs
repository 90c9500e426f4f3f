//! A room's day as people see it: open or closed, and its busy and free stretches.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::rules::{Room, Rules};
use super::time::at_local;

/// One stretch of an open day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stretch {
    /// Booking `index` (into the slice given to `day_plan`) holds `[start, end)`.
    Busy {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        index: usize,
    },
    /// Nothing holds `[start, end)`, buffers included.
    Free { start: DateTime<Utc>, end: DateTime<Utc> },
}

/// A confirmed booking as the plan sees it: start, end, and the end of its buffer.
pub type Taken = (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayPlan {
    pub date: NaiveDate,
    /// Why the room is closed all day, if it is.
    pub closed: Option<String>,
    pub stretches: Vec<Stretch>,
}

/// The plan of `room` on `date`, given its confirmed bookings as `(start, end, blocked_until)`
/// in any order. Free stretches shorter than the slot grid are left out; a booking's buffer
/// is neither busy nor free.
pub fn day_plan(rules: &Rules, room: &Room, date: NaiveDate, bookings: &[Taken]) -> DayPlan {
    if let Some(reason) = rules.closed_reason(room, date) {
        return DayPlan {
            date,
            closed: Some(reason),
            stretches: vec![],
        };
    }
    let Some((open, close)) = room.opening_hours.on(date.weekday()) else {
        return DayPlan {
            date,
            closed: Some("stengt".into()),
            stretches: vec![],
        };
    };
    let (Some(open), Some(close)) = (at_local(date, open), at_local(date, close)) else {
        return DayPlan {
            date,
            closed: Some("stengt".into()),
            stretches: vec![],
        };
    };
    let mut today: Vec<(usize, &Taken)> = bookings
        .iter()
        .enumerate()
        .filter(|(_, (s, _, u))| *s < close && *u > open)
        .collect();
    today.sort_by_key(|(_, (s, _, _))| *s);
    let min_free = chrono::Duration::minutes(room.slot_minutes.max(1));
    let mut stretches = Vec::new();
    let mut cursor = open;
    for (index, (start, end, until)) in today {
        if *start - cursor >= min_free {
            stretches.push(Stretch::Free {
                start: cursor,
                end: *start,
            });
        }
        stretches.push(Stretch::Busy {
            start: *start,
            end: *end,
            index,
        });
        cursor = cursor.max(*until);
    }
    if close - cursor >= min_free {
        stretches.push(Stretch::Free {
            start: cursor,
            end: close,
        });
    }
    DayPlan {
        date,
        closed: None,
        stretches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixtures::{hm, rules};

    #[test]
    fn busy_and_free_stretches_with_buffers() {
        let r = rules();
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let at = |h, m| at_local(day, hm(h, m)).unwrap();
        let b = [(at(10, 0), at(12, 0), at(12, 15)), (at(8, 0), at(9, 0), at(9, 15))];
        let plan = day_plan(&r, &r.rooms[0], day, &b);
        assert_eq!(plan.closed, None);
        assert_eq!(
            plan.stretches,
            vec![
                Stretch::Busy {
                    start: at(8, 0),
                    end: at(9, 0),
                    index: 1
                },
                Stretch::Free {
                    start: at(9, 15),
                    end: at(10, 0)
                },
                Stretch::Busy {
                    start: at(10, 0),
                    end: at(12, 0),
                    index: 0
                },
                Stretch::Free {
                    start: at(12, 15),
                    end: at(21, 0)
                },
            ]
        );
        let holiday = day_plan(&r, &r.rooms[0], NaiveDate::from_ymd_opt(2026, 4, 6).unwrap(), &[]);
        assert_eq!(holiday.closed.as_deref(), Some("2. påskedag"));
        let saturday = day_plan(&r, &r.rooms[0], NaiveDate::from_ymd_opt(2026, 3, 7).unwrap(), &[]);
        assert_eq!(saturday.closed.as_deref(), Some("stengt på lørdager"));
    }
}

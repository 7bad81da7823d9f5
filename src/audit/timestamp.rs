//! The audit trail's request times: RFC 3339 in UTC to the millisecond
//! (`2026-11-28T05:15:56.123Z`), exactly as `humantime::format_rfc3339_millis` writes them.
//!
//! The writer stamps every request it stores, and under load the requests of one second share
//! everything but the milliseconds: the calendar date and the time of day are formatted once
//! per second into one reused buffer, and each request only writes its three digits. Measured
//! on the writer thread, formatting a fresh `String` per request was about a sixth of its CPU
//! for single-record requests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The last millisecond RFC 3339's four-digit years can write: 9999-12-31T23:59:59.999Z.
const LATEST: Duration = Duration::from_millis(253_402_300_799_999);

/// A reusable formatter; one per writer.
#[derive(Default)]
pub struct Timestamps {
    /// The whole second since the epoch whose `YYYY-MM-DDTHH:MM:SS.` prefix `text` holds.
    second: Option<u64>,
    prefix_len: usize,
    text: String,
}

impl Timestamps {
    /// `time` formatted; valid until the next call. A clock outside 1970–9999 is written as
    /// the nearer end of that range: the request is still stored, and the writer never
    /// panics on a time (humantime's formatter does, on both sides).
    pub fn format(&mut self, time: SystemTime) -> &str {
        let since_epoch = time
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .min(LATEST);
        let second = since_epoch.as_secs();
        if self.second != Some(second) {
            // `YYYY-MM-DDTHH:MM:SSZ`: humantime's calendar arithmetic, without the fraction.
            let whole = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(second));
            self.text.clear();
            self.text.push_str(&whole.to_string());
            self.text.pop(); // the `Z`
            self.text.push('.');
            self.prefix_len = self.text.len();
            self.second = Some(second);
        }
        self.text.truncate(self.prefix_len);
        let millis = since_epoch.subsec_millis();
        for digit in [millis / 100, millis / 10 % 10, millis % 10] {
            self.text.push(char::from(b'0' + digit as u8));
        }
        self.text.push('Z');
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_humantime_across_seconds_days_and_years() {
        let mut stamps = Timestamps::default();
        let starts = [
            0,             // the epoch
            951_782_399,   // 2000-02-28T23:59:59, a leap day ahead
            1_798_761_599, // 2026-12-31T23:59:59
            1_795_839_356, // 2026-11-28, an ordinary second
        ];
        for start in starts {
            for millis in [
                0, 1, 9, 10, 99, 100, 998, 999, 1_000, 1_001, 1_999, 2_000, 86_400_123,
            ] {
                let time = UNIX_EPOCH + Duration::from_secs(start) + Duration::from_millis(millis);
                assert_eq!(
                    stamps.format(time),
                    humantime::format_rfc3339_millis(time).to_string(),
                    "{start} s + {millis} ms"
                );
            }
        }
    }

    #[test]
    fn sub_millisecond_parts_are_cut_not_rounded() {
        let mut stamps = Timestamps::default();
        let time = UNIX_EPOCH + Duration::from_nanos(1_795_839_356_999_999_999);
        assert_eq!(
            stamps.format(time),
            humantime::format_rfc3339_millis(time).to_string()
        );
        assert!(stamps.format(time).ends_with(".999Z"));
    }

    #[test]
    fn a_clock_outside_1970_to_9999_is_clamped_not_fatal() {
        let mut stamps = Timestamps::default();
        let now = UNIX_EPOCH + Duration::from_secs(1_795_839_356);
        assert!(stamps.format(now).starts_with("2026-11-28T"));
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(stamps.format(before), "1970-01-01T00:00:00.000Z");
        let after = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert_eq!(stamps.format(after), "9999-12-31T23:59:59.999Z");
        assert_eq!(
            stamps.format(now),
            humantime::format_rfc3339_millis(now).to_string()
        );
    }
}

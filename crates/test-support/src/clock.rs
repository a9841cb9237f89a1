//! Timestamps in the forms Ollama writes them, without a date-time dependency.
//!
//! Chat responses carry `created_at` (Go's `time.RFC3339Nano`, UTC) and `created` (Unix
//! seconds); `/api/ps` carries `expires_at`. Only formatting is needed, so a small civil-date
//! conversion is enough.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the Unix epoch (zero if the system clock is before it).
pub(crate) fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// Formats like Go's `time.RFC3339Nano` in UTC: `2025-07-07T20:22:19.19314Z` (fraction with
/// trailing zeros trimmed, none at all on a whole second).
pub(crate) fn rfc3339_nano(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    let nanos = since_epoch.subsec_nanos();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go_rfc3339_nano() {
        // The first line of fixtures/ollama/api-chat-stream-toolcall.ndjson.
        let t = Duration::new(1_751_919_739, 184_789_000);
        assert_eq!(rfc3339_nano(t), "2025-07-07T20:22:19.184789Z");
        assert_eq!(rfc3339_nano(Duration::from_secs(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_nano(Duration::new(951_782_400, 1)),
            "2000-02-29T00:00:00.000000001Z"
        );
    }
}

//! Wall-clock timestamps in RFC 3339, as Go formats them (UTC, "Z").

use std::time::{SystemTime, UNIX_EPOCH};

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn format(secs: i64, nanos: Option<u32>) -> String {
    let (y, mo, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let (h, mi, se) = (s / 3600, (s % 3600) / 60, s % 60);
    let frac = match nanos {
        Some(n) if n > 0 => {
            let digits = format!("{n:09}");
            format!(".{}", digits.trim_end_matches('0'))
        }
        _ => String::new(),
    };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}{frac}Z")
}

fn now() -> (i64, u32) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs() as i64, d.subsec_nanos())
}

/// "2026-11-26T00:41:02.123456789Z" (Go's RFC3339Nano).
pub fn now_nanos() -> String {
    let (s, n) = now();
    format(s, Some(n))
}

/// "2026-11-26T00:41:02Z" (log lines).
pub fn now_secs() -> String {
    let (s, _) = now();
    format(s, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(format(0, None), "1970-01-01T00:00:00Z");
        assert_eq!(
            format(1_795_653_662, Some(120_000_000)),
            "2026-11-26T00:41:02.12Z"
        );
        assert_eq!(
            format(951_782_400, Some(5)),
            "2000-02-29T00:00:00.000000005Z"
        );
    }
}

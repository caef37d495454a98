//! The Date header as Unix seconds.

/// The Date header's text as Unix seconds (UTC); 0 when it is not a date.
///
/// RFC 5322 dates, seconds optional, also in their obsolete forms (RFC 5322 4.3): comments
/// anywhere, folding and tabs, no day of week, two-digit years (00-49: 20xx, 50-99: 19xx),
/// three-digit years (+1900), dates before 1970, the RFC 822 zone names (UT, GMT, EST/EDT,
/// CST/CDT, MST/MDT, PST/PDT) and any other alphabetic zone as -0000 (UTC, RFC 5322 4.3).
/// Military one-letter zones are taken with RFC 822's signs (mailparse's reading; RFC 5322
/// says their meaning is unknown). Also the common non-RFC forms of [`lenient_date`].
/// 0 for anything else: no date, an unknown month, a year before 1900, a zone that is
/// neither a name nor `+HHMM`/`-HHMM`, an out-of-range field.
pub(super) fn message_date(text: &str) -> i64 {
    let uncommented;
    let text = if text.contains('(') {
        uncommented = without_comments(text);
        uncommented.as_str()
    } else {
        text
    };
    mailparse::dateparse(text)
        .ok()
        .or_else(|| lenient_date(text))
        .unwrap_or(0)
}

/// `text` with its RFC 5322 comments (nested, with quoted pairs) replaced by a space.
pub(super) fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut escaped = false;
    for c in text.chars() {
        match (depth, c) {
            (_, _) if escaped => escaped = false,
            (1.., '\\') => escaped = true,
            (_, '(') => depth += 1,
            (1.., ')') => {
                depth -= 1;
                if depth == 0 {
                    out.push(' ');
                }
            }
            (0, c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// Dates that are not RFC 5322 but common: `2024-03-04 10:15:00`, `2024-03-04T10:15:00Z`,
/// `2024-03-04 10:15:00 +0100`, and asctime `Mon Mar  4 10:15:00 2024`. UTC when no zone.
fn lenient_date(text: &str) -> Option<i64> {
    let t = text.trim();
    iso_date(t).or_else(|| asctime_date(t))
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn valid_ymd_hms(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> bool {
    (1..=9999).contains(&y)
        && (1..=12).contains(&mo)
        && (1..=31).contains(&d)
        && (0..24).contains(&h)
        && (0..60).contains(&mi)
        && (0..=60).contains(&s)
}

/// Seconds east of UTC for `Z`, `UTC`, `GMT`, `+HHMM`, `+HH:MM`, `-HH` (None: not a zone).
fn zone_offset(z: &str) -> Option<i64> {
    let z = z.trim();
    if z.is_empty()
        || z.eq_ignore_ascii_case("z")
        || z.eq_ignore_ascii_case("utc")
        || z.eq_ignore_ascii_case("gmt")
    {
        return Some(0);
    }
    let (sign, rest) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4) {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    (h < 24 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// `HH:MM[:SS[.fff]]` → (h, m, s).
fn clock(t: &str) -> Option<(i64, i64, i64)> {
    let mut it = t.split(':');
    let h = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let s = match it.next() {
        Some(s) => s.split('.').next()?.parse().ok()?,
        None => 0,
    };
    if it.next().is_some() {
        return None;
    }
    Some((h, m, s))
}

fn iso_date(t: &str) -> Option<i64> {
    let (date, rest) = (t.get(..10)?, t.get(10..)?);
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let mo: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    let rest = rest
        .strip_prefix('T')
        .or_else(|| rest.strip_prefix(' '))
        .unwrap_or(rest)
        .trim_start();
    let (time, zone) = if rest.is_empty() {
        ("00:00:00", "")
    } else {
        let cut = rest.find(['+', '-', 'Z', 'z', ' ']).unwrap_or(rest.len());
        (&rest[..cut], &rest[cut..])
    };
    let (h, mi, s) = clock(time)?;
    let offset = zone_offset(zone)?;
    valid_ymd_hms(y, mo, d, h, mi, s)
        .then(|| days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset)
}

fn asctime_date(t: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let words: Vec<&str> = t.split_whitespace().collect();
    // [weekday] month day time year [zone]
    let w = if words
        .first()
        .and_then(|w| w.get(..3))
        .is_some_and(|p| MONTHS.contains(&p.to_ascii_lowercase().as_str()))
    {
        &words[..]
    } else {
        words.get(1..)?
    };
    let mo = MONTHS.iter().position(|m| {
        w.first()
            .and_then(|x| x.get(..3))
            .is_some_and(|p| p.eq_ignore_ascii_case(m))
    })? as i64
        + 1;
    let d: i64 = w.get(1)?.parse().ok()?;
    let (h, mi, s) = clock(w.get(2)?)?;
    let y: i64 = w.get(3)?.parse().ok()?;
    let offset = zone_offset(w.get(4).copied().unwrap_or(""))?;
    valid_ymd_hms(y, mo, d, h, mi, s)
        .then(|| days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::message::Message;

    #[test]
    fn dates_without_seconds_and_obsolete_forms() {
        let date = |d: &str| {
            Message::from_raw(format!("Subject: d\r\nDate: {d}\r\n\r\nx").into_bytes())
                .header()
                .timestamp
        };
        // RFC 5322 3.3: seconds are optional, whatever the zone.
        assert_eq!(date("Tue, 10 Mar 2026 10:00 +0100"), 1_773_133_200);
        assert_eq!(date("Tue, 10 Mar 2026 10:00 -0500"), 1_773_154_800);
        assert_eq!(date("Tue, 10 Mar 2026 10:00 +0530"), 1_773_117_000);
        for utc in ["GMT", "UT", "-0000"] {
            assert_eq!(
                date(&format!("Tue, 10 Mar 2026 10:00 {utc}")),
                1_773_136_800
            );
        }
        assert_eq!(date("Tue, 10 Mar 2026 10:00 EST"), 1_773_154_800);
        // RFC 5322 4.3 and appendix A.5, A.6.2, A.6.3: comments, folding, two-digit years,
        // unknown zone names, before 1970.
        assert_eq!(date("26 Dec 1991 20:45 (Thursday)"), 693_780_300);
        assert_eq!(
            date("Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)"),
            -27_723_480
        );
        assert_eq!(date("21 Nov 97 09:55:06 GMT"), 880_106_106);
        assert_eq!(
            date("Fri, 21 Nov 1997 09(comment):   55  :  06 -0600"),
            880_127_706
        );
        assert_eq!(date("Tue, 9 Jun 92 03:45:24 JST"), 708_061_524);
        assert_eq!(
            date("Fri, 21 Nov 1997 09:55:06 -0600 (a (nested\\)) one)"),
            880_127_706
        );
        // Not dates: 0.
        for bad in [
            "",
            "soon",
            "Tue, 10 Foo 2026 10:00 +0100",
            "1 Jan 1899 10:00 GMT",
            "Tue, 10 Mar 2026 10:00 +01x0",
        ] {
            assert_eq!(date(bad), 0, "{bad}");
        }
    }

    #[test]
    fn lenient_dates() {
        assert_eq!(lenient_date("2024-03-04 10:09:00"), Some(1_709_546_940));
        assert_eq!(lenient_date("2024-03-04T10:09:00Z"), Some(1_709_546_940));
        assert_eq!(
            lenient_date("2024-03-04T11:09:00+01:00"),
            Some(1_709_546_940)
        );
        assert_eq!(
            lenient_date("2024-03-04 11:09:00 +0100"),
            Some(1_709_546_940)
        );
        assert_eq!(
            lenient_date("Mon Mar  4 10:09:00 2024"),
            Some(1_709_546_940)
        );
        assert_eq!(lenient_date("Mar 4 10:09:00 2024 GMT"), Some(1_709_546_940));
        assert_eq!(lenient_date("2024-03-04"), Some(1_709_510_400));
        for bad in [
            "",
            "yesterday",
            "2024-13-04 10:00:00",
            "2024-03-04 25:00:00",
            "Foo Bar 4 10:09:00 2024",
            "2024-03-04 10:09:00 +99",
        ] {
            assert_eq!(lenient_date(bad), None, "{bad}");
        }
        let m = Message::from_raw(b"Subject: d\r\nDate: 2024-03-04 10:09:00\r\n\r\nx".to_vec());
        assert_eq!(m.header().timestamp, 1_709_546_940);
    }
}

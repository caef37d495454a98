use crate::MailParseError;

enum DateParseState {
    Date,
    Month,
    Year,
    Hour,
    Minute,
    Second,
    Timezone,
}

fn seconds_to_date(year: i64, month: i64, day: i64) -> i64 {
    // Days since 1970-01-01 of a proleptic Gregorian date (month 0-based), also before 1970.
    let m = month + 1;
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    86400 * (era * 146_097 + doe - 719_468)
}

/// Seconds to add to a local time in zone `tok` to get UTC: `+HHMM`/`-HHMM`, or a zone name
/// of RFC 822. Another alphabetic zone means "-0000" (RFC 5322 4.3: no information about
/// the local zone), i.e. UTC.
fn timezone_delta(tok: &str) -> Result<i64, MailParseError> {
    let (tz, tz_sign) = match tok.parse::<i32>() {
        Ok(v) if !(-2400..=2400).contains(&v) => {
            return Err(MailParseError::Generic("Invalid timezone"));
        }
        Ok(v) if v < 0 => (-v, -1),
        Ok(v) => (v, 1),
        Err(_) => {
            match tok.to_uppercase().as_str() {
                // This list taken from IETF RFC 822
                "UTC" | "UT" | "GMT" | "Z" => (0, 1),
                "EDT" => (400, -1),
                "EST" | "CDT" => (500, -1),
                "CST" | "MDT" => (600, -1),
                "MST" | "PDT" => (700, -1),
                "PST" => (800, -1),
                // Military time zones (RFC 822, RFC 5322).  A-M (except J) are negative offsets, N-Y are positive.  J is not used.
                "A" => (100, -1),
                "B" => (200, -1),
                "C" => (300, -1),
                "D" => (400, -1),
                "E" => (500, -1),
                "F" => (600, -1),
                "G" => (700, -1),
                "H" => (800, -1),
                "I" => (900, -1),
                // "J" is not used
                "K" => (1000, -1),
                "L" => (1100, -1),
                "M" => (1200, -1),
                "N" => (100, 1),
                "O" => (200, 1),
                "P" => (300, 1),
                "Q" => (400, 1),
                "R" => (500, 1),
                "S" => (600, 1),
                "T" => (700, 1),
                "U" => (800, 1),
                "V" => (900, 1),
                "W" => (1000, 1),
                "X" => (1100, 1),
                "Y" => (1200, 1),
                other if other.bytes().all(|b| b.is_ascii_alphabetic()) => (0, 1),
                _ => return Err(MailParseError::Generic("Invalid timezone")),
            }
        }
    };
    let tz_delta = i64::from((tz / 100) * 3600 + (tz % 100) * 60);
    Ok(if tz_sign < 0 { tz_delta } else { -tz_delta })
}

/// A time token with a zone attached (`01+0000`): the number and the zone.
fn split_zone(tok: &str) -> (&str, Option<&str>) {
    match tok
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '+' || c == '-')
    {
        Some((i, _)) => (&tok[..i], Some(&tok[i..])),
        None => (tok, None),
    }
}

/// Convert a date field from an email header into a UNIX epoch timestamp.
/// This function handles the most common formatting of date fields found in
/// email headers. It may fail to parse some of the more creative formattings.
///
/// # Examples
/// ```
///     use mailparse::dateparse;
///     assert_eq!(dateparse("Sun, 02 Oct 2016 07:06:22 -0700 (PDT)").unwrap(), 1475417182);
/// ```
pub fn dateparse(date: &str) -> Result<i64, MailParseError> {
    let mut result = 0;
    let mut month = 0;
    let mut day_of_month = 0;
    let mut state = DateParseState::Date;
    for tok in date.split([' ', '\t', ':']) {
        if tok.is_empty() {
            continue;
        }
        match state {
            DateParseState::Date => {
                if let Ok(v) = tok.parse::<u8>() {
                    if !(1..=31).contains(&v) {
                        return Err(MailParseError::Generic("Invalid day"));
                    }
                    day_of_month = v;
                    state = DateParseState::Month;
                };
                continue;
            }
            DateParseState::Month => {
                month = match tok.to_uppercase().as_str() {
                    "JAN" | "JANUARY" => 0,
                    "FEB" | "FEBRUARY" => 1,
                    "MAR" | "MARCH" => 2,
                    "APR" | "APRIL" => 3,
                    "MAY" => 4,
                    "JUN" | "JUNE" => 5,
                    "JUL" | "JULY" => 6,
                    "AUG" | "AUGUST" => 7,
                    "SEP" | "SEPTEMBER" => 8,
                    "OCT" | "OCTOBER" => 9,
                    "NOV" | "NOVEMBER" => 10,
                    "DEC" | "DECEMBER" => 11,
                    _ => return Err(MailParseError::Generic("Unrecognized month")),
                };
                state = DateParseState::Year;
                continue;
            }
            DateParseState::Year => {
                let year = match tok.parse::<u32>() {
                    // RFC 5322 4.3: a two-digit year is 2000-2049 below 50, else 19xx; a
                    // three-digit year is that many years after 1900.
                    Ok(v) if v < 50 => 2000 + v,
                    Ok(v) if v < 1000 => 1900 + v,
                    Ok(v) if v < 1900 => return Err(MailParseError::Generic("Disallowed year")),
                    Ok(v) => v,
                    Err(_) => return Err(MailParseError::Generic("Invalid year")),
                };
                result =
                    seconds_to_date(i64::from(year), i64::from(month), i64::from(day_of_month));
                state = DateParseState::Hour;
                continue;
            }
            DateParseState::Hour => {
                let hour = match tok.parse::<u8>() {
                    Ok(v) => v,
                    Err(_) => return Err(MailParseError::Generic("Invalid hour")),
                };
                result += 3600 * i64::from(hour);
                state = DateParseState::Minute;
                continue;
            }
            DateParseState::Minute => {
                let (tok, zone) = split_zone(tok);
                let minute = match tok.parse::<u8>() {
                    Ok(v) => v,
                    Err(_) => return Err(MailParseError::Generic("Invalid minute")),
                };
                result += 60 * i64::from(minute);
                if let Some(zone) = zone {
                    result += timezone_delta(zone)?;
                    break;
                }
                state = DateParseState::Second;
                continue;
            }
            // Seconds are optional (RFC 5322 3.3): a token that is not a number is the zone.
            DateParseState::Second if tok.bytes().all(|b| b.is_ascii_digit()) => {
                let second = match tok.parse::<u8>() {
                    Ok(v) => v,
                    Err(_) => return Err(MailParseError::Generic("Invalid second")),
                };
                result += i64::from(second);
                state = DateParseState::Timezone;
                continue;
            }
            DateParseState::Second
                if split_zone(tok).1.is_some() && !tok.starts_with(['+', '-']) =>
            {
                let (tok, zone) = split_zone(tok);
                let second = match tok.parse::<u8>() {
                    Ok(v) => v,
                    Err(_) => return Err(MailParseError::Generic("Invalid second")),
                };
                result += i64::from(second);
                result += timezone_delta(zone.unwrap_or_default())?;
                break;
            }
            DateParseState::Second | DateParseState::Timezone => {
                result += timezone_delta(tok)?;
                break;
            }
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_dates() {
        assert_eq!(
            dateparse("Sun, 25 Sep 2016 18:36:33 -0400").unwrap(),
            1474842993
        );
        assert_eq!(
            dateparse("Fri, 01 Jan 2100 11:12:13 +0000").unwrap(),
            4102485133
        );
        assert_eq!(
            dateparse("Fri, 31 Dec 2100 00:00:00 +0000").unwrap(),
            4133894400
        );
        assert_eq!(
            dateparse("Fri, 31 Dec 2399 00:00:00 +0000").unwrap(),
            13569379200
        );
        assert_eq!(
            dateparse("Fri, 31 Dec 2400 00:00:00 +0000").unwrap(),
            13601001600
        );
        assert_eq!(dateparse("17 Sep 2016 16:05:38 -1000").unwrap(), 1474164338);
        assert_eq!(
            dateparse("Fri, 30 Nov 2012 20:57:23 GMT").unwrap(),
            1354309043
        );
        assert_eq!(
            dateparse("Fri, 30 Nov 2012 20:57:23 Q").unwrap(),
            1354294643
        );
        assert_eq!(
            dateparse("Fri, 30 Nov 2012 20:57:23 D").unwrap(),
            1354323443
        );

        // Day cannot be zero.
        assert!(dateparse("Wed, 0 Jan 1970 00:00:00 +0000").is_err());

        // Seconds are optional (RFC 5322 3.3), whatever the zone.
        assert_eq!(
            dateparse("Tue, 10 Mar 2026 10:00 +0100").unwrap(),
            1773133200
        );
        assert_eq!(
            dateparse("Tue, 10 Mar 2026 10:00 -0500").unwrap(),
            1773154800
        );
        assert_eq!(
            dateparse("Tue, 10 Mar 2026 10:00 +0530").unwrap(),
            1773117000
        );
        for zone in ["GMT", "UT", "UTC", "Z", "+0000", "-0000"] {
            let date = format!("Tue, 10 Mar 2026 10:00 {zone}");
            assert_eq!(dateparse(&date).unwrap(), 1773136800, "{date}");
        }
        assert_eq!(dateparse("Tue, 10 Mar 2026 10:00 EST").unwrap(), 1773154800);
        assert_eq!(dateparse("Sun, 7 Jun 92 14:02 CDT").unwrap(), 707943720);
        assert_eq!(dateparse("26 Dec 1991 20:45").unwrap(), 693780300);
        // A zone written against the time.
        assert_eq!(dateparse("01 Jan 2001 00:01+0000").unwrap(), 978307260);
        assert_eq!(dateparse("01 Jan 2001 00:01:30-0100").unwrap(), 978310890);
        // Obsolete forms (RFC 5322 4.3): tabs, two- and three-digit years, other zone names
        // as -0000 (no information, so UTC), dates before 1970.
        assert_eq!(
            dateparse("Fri,\t21 Nov\t1997 09:55:06\t-0600").unwrap(),
            880127706
        );
        assert_eq!(dateparse("21 Nov 97 09:55:06 GMT").unwrap(), 880106106);
        assert_eq!(dateparse("21 Nov 097 09:55:06 GMT").unwrap(), 880106106);
        assert_eq!(dateparse("1 Jan 49 00:00:00 GMT").unwrap(), 2493072000);
        assert_eq!(dateparse("1 Jan 50 00:00:00 GMT").unwrap(), -631152000);
        assert_eq!(dateparse("Tue, 9 Jun 92 03:45:24 JST").unwrap(), 708061524);
        assert_eq!(
            dateparse("Thu, 13 Feb 1969 23:32:54 -0330").unwrap(),
            -27723426
        );
        assert!(dateparse("Tue, 10 Mar 2026 10:00 +01x0").is_err());
        assert!(dateparse("1 Jan 1899 00:00:00 GMT").is_err());

        // Regression test for integer overflow on invalid timezone.
        assert!(dateparse("Thu, 1 Jan 1970 00:00:00 +2147483647").is_err());
    }
}

//! Parsing of human input: NT$ amounts, Taiwan dates and times, durations.

use std::time::Duration;

use sinopac_proto::{Amount, BankDate, BankTime};

use crate::error::{CliError, CliResult};

/// Parses an amount in NT$ (`500`, `1,234.5`, `NT$1,234.50`) into minor units (1/100 NT$).
pub fn amount(text: &str) -> CliResult<Amount> {
    let bad = |why: &str| {
        CliError::usage(format!(
            "amount {text:?} {why}; give NT$ like 500 or 1234.50 (it is sent as minor units, 500 → 50000)"
        ))
    };
    let t = text.trim();
    let t = t
        .strip_prefix("NT$")
        .or_else(|| t.strip_prefix("NTD"))
        .or_else(|| t.strip_prefix('$'))
        .unwrap_or(t)
        .trim()
        .replace(['_', ','], "");
    if t.is_empty() {
        return Err(bad("is empty"));
    }
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(bad("is not a number"));
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("is not a positive number"));
    }
    if frac.len() > 2 {
        return Err(bad("has more than two decimals"));
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad("is too large"))?
    };
    let cents: u64 = format!("{frac:0<2}")
        .parse()
        .map_err(|_| bad("is not a number"))?;
    let minor = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(cents))
        .ok_or_else(|| bad("is too large"))?;
    let amount = Amount::from_minor(minor);
    if amount.is_zero() {
        return Err(bad("is zero"));
    }
    if amount > Amount::MAX {
        return Err(bad(
            "is larger than the bank accepts (9 digits of minor units)",
        ));
    }
    Ok(amount)
}

/// Parses a date: `yyyyMMdd` or `yyyy-MM-dd` (also `/`).
pub fn date(text: &str) -> CliResult<BankDate> {
    let compact: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, '-' | '/'))
        .collect();
    BankDate::parse(&compact).map_err(|e| {
        CliError::usage(format!(
            "date {text:?} is not valid; use yyyyMMdd or yyyy-MM-dd"
        ))
        .with_source(e)
    })
}

/// Parses a point in time (Taiwan time). A bare date means its first minute, or with
/// `end_of_day` its last minute (23:59).
pub fn time(text: &str, end_of_day: bool) -> CliResult<BankTime> {
    let compact: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, '-' | '/' | ':' | ' ' | 'T'))
        .collect();
    let bad = || {
        CliError::usage(format!(
            "time {text:?} is not valid; use yyyyMMdd, yyyy-MM-dd, yyyyMMddHHmm or 'yyyy-MM-dd HH:mm' (Taiwan time)"
        ))
    };
    match compact.len() {
        8 => {
            let d = BankDate::parse(&compact).map_err(|e| bad().with_source(e))?;
            let t = if end_of_day { d.at(23, 59) } else { d.at(0, 0) };
            t.ok_or_else(bad)
        }
        12 => BankTime::parse(&compact).map_err(|e| bad().with_source(e)),
        _ => Err(bad()),
    }
}

/// Parses a duration like `90s`, `10m`, `1h30m`, `2d`, or plain seconds.
pub fn duration(text: &str) -> CliResult<Duration> {
    let bad = || {
        CliError::usage(format!(
            "duration {text:?} is not valid; use e.g. 90s, 10m, 1h30m, 2d"
        ))
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().map(Duration::from_secs).map_err(|_| bad());
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        num.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// Unix seconds now, from the system clock.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// The current minute in Taiwan.
pub fn now_taipei() -> CliResult<BankTime> {
    BankTime::from_unix_seconds(unix_now())
        .ok_or_else(|| CliError::other("the system clock is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(amount("500").unwrap().minor(), 50000);
        assert_eq!(amount("NT$1,234.5").unwrap().minor(), 123_450);
        assert_eq!(amount("0.01").unwrap().minor(), 1);
        assert_eq!(amount(".5").unwrap().minor(), 50);
        for bad in [
            "",
            "0",
            "-5",
            "1.234",
            "abc",
            "1e3",
            "99999999999999999999",
            "10000000",
        ] {
            assert!(amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times() {
        assert_eq!(
            time("2026-11-25", false).unwrap().to_string(),
            "202611250000"
        );
        assert_eq!(time("20261125", true).unwrap().to_string(), "202611252359");
        assert_eq!(
            time("2026-11-25 09:30", true).unwrap().to_string(),
            "202611250930"
        );
        assert!(time("2026-13-01", false).is_err());
        assert_eq!(date("2026/11/25").unwrap().to_string(), "20261125");
    }

    #[test]
    fn durations() {
        assert_eq!(duration("90s").unwrap().as_secs(), 90);
        assert_eq!(duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(duration("2d").unwrap().as_secs(), 172_800);
        assert_eq!(duration("15").unwrap().as_secs(), 15);
        for bad in ["", "10x", "m", "5m3"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }
}

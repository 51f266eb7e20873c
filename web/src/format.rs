//! One display per value: the same date, money and grade text on every
//! page of both programs.

use chrono::TimeZone;

use crm_shared::codes::Grade;
use crm_shared::day::Day;

/// A moment (epoch milliseconds) as local `YYYY-MM-DD HH:MM`; blank for
/// none or zero.
pub fn when(ms: Option<i64>) -> String {
    ms.filter(|m| *m > 0)
        .and_then(|m| chrono::Local.timestamp_millis_opt(m).single())
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// A moment as its local calendar day `YYYY-MM-DD`; blank for none.
pub fn date(ms: Option<i64>) -> String {
    ms.filter(|m| *m > 0)
        .map(|m| Day::from_millis_local(m).to_string())
        .unwrap_or_default()
}

/// Whole yuan with thousands separators (`1,234,567`); blank for none.
pub fn yuan(v: Option<i64>) -> String {
    let Some(v) = v else { return String::new() };
    let digits = v.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if v < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A grade as people say it: `A级`; blank for none.
pub fn grade(g: Option<Grade>) -> String {
    g.map(|g| g.label().to_string()).unwrap_or_default()
}

/// How long ago `ms` was, from `now`, in words (`刚刚`, `5 分钟前`,
/// `3 小时前`, `2 天前`); blank for none.
pub fn ago(ms: Option<i64>, now: i64) -> String {
    let Some(ms) = ms.filter(|m| *m > 0) else {
        return String::new();
    };
    let s = (now - ms).max(0) / 1000;
    match s {
        0..60 => "刚刚".into(),
        60..3600 => format!("{} 分钟前", s / 60),
        3600..86400 => format!("{} 小时前", s / 3600),
        _ => format!("{} 天前", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_separators() {
        assert_eq!(yuan(Some(0)), "0");
        assert_eq!(yuan(Some(999)), "999");
        assert_eq!(yuan(Some(1000)), "1,000");
        assert_eq!(yuan(Some(800_000)), "800,000");
        assert_eq!(yuan(Some(-1_234_567)), "-1,234,567");
        assert_eq!(yuan(Some(i64::MIN)), "-9,223,372,036,854,775,808");
        assert_eq!(yuan(None), "");
    }

    #[test]
    fn ago_reads_as_words() {
        assert_eq!(ago(Some(1_000), 1_000), "刚刚");
        assert_eq!(ago(Some(1_000), 1_000 + 5 * 60_000), "5 分钟前");
        assert_eq!(ago(Some(1_000), 1_000 + 2 * 86_400_000), "2 天前");
        assert_eq!(ago(None, 5), "");
    }
}

//! What a password must be: long enough to resist guessing, not one of the
//! passwords everyone tries first, not the login itself.
//!
//! Length is counted in characters, so a passphrase in Chinese
//! (`我家门前有两棵枣树`) is as welcome as one in letters.

/// Fewest characters a password may have.
pub const MIN_CHARS: usize = 10;

/// The refused list, shipped with the server (`common_passwords.txt`).
const COMMON: &str = include_str!("common_passwords.txt");

/// Why `password` may not be `login`'s password, in Chinese; `None` when it
/// may.
pub fn why_not(login: &str, password: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Some(format!(
            "密码至少 {MIN_CHARS} 个字符(现在 {chars} 个);可以用一句好记的话作密码"
        ));
    }
    let lower = password.to_lowercase();
    let distinct: std::collections::HashSet<char> = lower.chars().collect();
    if distinct.len() < 4 {
        return Some("密码中不同的字符太少,很容易被猜到".into());
    }
    if lower.contains(&login.to_lowercase()) {
        return Some("密码不能包含登录名".into());
    }
    let common = COMMON
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|l| l == lower);
    if common {
        return Some("这是最常被猜到的密码之一,请换一个".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_repetitive_or_login_passwords_are_refused() {
        assert!(why_not("zhang", "short1").unwrap().contains("至少 10"));
        assert!(why_not("zhang", "Qwertyuiop").unwrap().contains("最常"));
        assert!(why_not("zhang", "woaini1314").unwrap().contains("最常"));
        assert!(why_not("zhang", "aaaaaaaaaaab")
            .unwrap()
            .contains("不同的字符"));
        assert!(why_not("zhangwei", "Zhangwei2026!")
            .unwrap()
            .contains("登录名"));
        assert_eq!(why_not("zhang", "窗外的梧桐树又绿了一年"), None);
        assert_eq!(why_not("zhang", "correct horse battery"), None);
    }
}

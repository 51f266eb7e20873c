//! Chinese names in the order people look them up: by pinyin.
//!
//! A list sorted by Unicode code point scatters 上海 and 沈阳 and puts 阿
//! after 张; every Chinese directory, phone book and CRM sorts by pinyin
//! instead. Readings come from the `pinyin` crate's dictionary (each
//! character's most common reading; a name whose first character has
//! several, like 重庆, may sort under the other).

use pinyin::ToPinyin;

/// A key that sorts `text` by pinyin: each Chinese character becomes its
/// reading without tones, any other character stays itself, lowercased.
/// Ties (same readings, different characters) are for the caller to break,
/// e.g. by the text itself.
pub fn sort_key(text: &str) -> String {
    let mut key = String::with_capacity(text.len() * 2);
    for (ch, reading) in text.chars().zip(text.to_pinyin()) {
        match reading {
            Some(p) => {
                key.push_str(p.plain());
                // Keeps "xi an" (西安) apart from "xian" (先).
                key.push(' ');
            }
            None => key.extend(ch.to_lowercase()),
        }
    }
    key
}

/// How people type `text` when they search by pinyin: the full reading
/// run together (`shanghaihuadongjidian`) and the initials (`shhdjd`).
/// Characters without a reading are kept, lowercased, in both.
pub fn search_forms(text: &str) -> (String, String) {
    let mut full = String::with_capacity(text.len() * 2);
    let mut initials = String::with_capacity(text.len());
    for (ch, reading) in text.chars().zip(text.to_pinyin()) {
        match reading {
            Some(p) => {
                full.push_str(p.plain());
                initials.push_str(p.first_letter());
            }
            None => {
                full.extend(ch.to_lowercase());
                initials.extend(ch.to_lowercase());
            }
        }
    }
    (full, initials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_forms_are_full_pinyin_and_initials() {
        assert_eq!(
            search_forms("上海华东机电"),
            ("shanghaihuadongjidian".to_string(), "shhdjd".to_string())
        );
        assert_eq!(
            search_forms("ABC贸易"),
            ("abcmaoyi".to_string(), "abcmy".to_string())
        );
    }

    #[test]
    fn names_sort_by_their_readings() {
        let mut names = vec![
            "张家港钢铁",
            "上海华东机电",
            "阿里巴巴",
            "北京燕山石化",
            "沈阳机床",
            "ABC 贸易",
        ];
        names.sort_by_key(|n| sort_key(n));
        assert_eq!(
            names,
            [
                "阿里巴巴",
                "ABC 贸易",
                "北京燕山石化",
                "上海华东机电",
                "沈阳机床",
                "张家港钢铁"
            ]
        );
        assert_eq!(sort_key("西安"), "xi an ");
    }
}

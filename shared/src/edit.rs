//! Setting one field of a card by its dotted path (`crm edit --set
//! credit.limit=500000`), through the JSON form so every field of the schema
//! is reachable and type-checked without per-field code.

use serde_json::Value;

use crate::customer::Customer;
use crate::error::{Error, Result};

/// Maps whose keys are free text, so `--set` may add a key to them.
const OPEN_MAPS: &[&str] = &["business.competitors"];

/// Sets `path` in the JSON form of a card. The path must already exist,
/// except for a new key directly inside an open map (competitors).
pub fn set_path(card: &mut Value, path: &str, value: Value) -> Result<()> {
    let unknown = || Error::UnknownField(path.to_string());
    let (parent_path, key) = match path.rsplit_once('.') {
        Some((p, k)) => (Some(p), k),
        None => (None, path),
    };
    let mut node = &mut *card;
    if let Some(pp) = parent_path {
        for part in pp.split('.') {
            node = node.get_mut(part).ok_or_else(unknown)?;
        }
    }
    let obj = node.as_object_mut().ok_or_else(unknown)?;
    let open = parent_path.is_some_and(|p| OPEN_MAPS.contains(&p));
    match obj.get_mut(key) {
        Some(slot) if !slot.is_object() || value.is_object() => *slot = value,
        Some(_) => return Err(Error::invalid(path, "这是一组字段,请指定其中的具体字段")),
        None if open && !key.is_empty() => {
            obj.insert(key.to_string(), value);
        }
        None => return Err(unknown()),
    }
    Ok(())
}

/// The dotted path a user meant on `card`: a path, a card field's Chinese
/// label, or a name people use for the main contact's field (`手机`,
/// `电话`, `company.phone`, …), which becomes that contact's path.
pub fn path_for(card: &Customer, input: &str) -> Result<String> {
    let t = input.trim();
    let Some((_, field)) = crate::labels::MAIN_CONTACT_ALIASES
        .iter()
        .find(|(alias, _)| *alias == t)
    else {
        return Ok(crate::labels::path_of(t).to_string());
    };
    let id = card
        .contacts
        .iter()
        .find(|(_, k)| k.primary)
        .or_else(|| card.contacts.iter().next())
        .map(|(id, _)| id)
        .ok_or_else(|| Error::invalid(t, "该客户还没有联系人,请先用 crm contact add 添加联系人"))?;
    Ok(format!("contacts.{id}.{field}"))
}

/// A card from its JSON form, with a Chinese message naming what is wrong.
pub fn from_json(card: Value) -> Result<Customer> {
    serde_json::from_value(card).map_err(|e| Error::invalid("", explain(&e.to_string())))
}

fn explain(serde_msg: &str) -> String {
    let kind = if serde_msg.contains("expected i64") || serde_msg.contains("expected u") {
        "应为整数"
    } else if serde_msg.contains("expected f64") {
        "应为数字"
    } else if serde_msg.contains("expected a boolean") {
        "应为 true 或 false"
    } else if serde_msg.contains("expected a string") {
        "应为文字"
    } else {
        return serde_msg.to_string();
    };
    kind.to_string()
}

/// Applies `path=text` to a card: the text is taken as the field's type
/// (text, number, true/false, a code such as a grade), an empty text clears
/// an optional field. Returns the changed card; validation is the caller's.
pub fn set_text(card: &Customer, path: &str, text: &str) -> Result<Customer> {
    let base = serde_json::to_value(card).expect("a customer always serialises");
    // Moments are stored as epoch milliseconds but typed as people read
    // them; a bare number is not a date anyone types.
    if crate::labels::moment_of(path).is_some() && !text.trim().is_empty() {
        let ms = crate::day::Moment::parse(text).ok_or_else(|| {
            Error::invalid(
                path,
                format!("值“{text}”不是日期,应为 YYYY-MM-DD(或 YYYY-MM-DD HH:MM)"),
            )
        })?;
        let mut j = base;
        set_path(&mut j, path, Value::from(ms))?;
        return from_json(j);
    }
    let mut candidates = vec![Value::String(text.to_string())];
    if let Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) =
        serde_json::from_str::<Value>(text.trim())
    {
        candidates.push(v);
    }
    if text.trim().is_empty() {
        candidates.push(Value::Null);
    }
    let mut last = None;
    for v in candidates {
        let mut j = base.clone();
        set_path(&mut j, path, v)?;
        match serde_json::from_value::<Customer>(j) {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
    }
    let why = last.map(|e| explain(&e.to_string())).unwrap_or_default();
    let why = why.split(" at line").next().unwrap_or_default().to_string();
    Err(Error::invalid(path, format!("值“{text}”无效:{why}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Grade;

    #[test]
    fn sets_typed_fields_and_names_bad_ones() {
        let c = Customer {
            id: "c1".into(),
            name: "甲公司".into(),
            ..Default::default()
        };
        let c2 = set_text(&c, "credit.limit", "500000").unwrap();
        assert_eq!(c2.credit.limit, Some(500000));
        let c3 = set_text(&c2, "grade", "B").unwrap();
        assert_eq!(c3.grade, Some(Grade::B));
        let c4 = set_text(&c3, "grade", "").unwrap();
        assert_eq!(c4.grade, None);
        let c5 = set_text(&c, "company.address", "上海市浦东新区").unwrap();
        assert_eq!(c5.company.address, "上海市浦东新区");
        let c6 = set_text(&c, "business.competitors.华为", "价格高").unwrap();
        assert_eq!(c6.business.competitors["华为"], "价格高");

        let e = set_text(&c, "credit.limit", "很多")
            .unwrap_err()
            .to_string();
        assert!(e.contains("信用额度") && e.contains("整数"), "{e}");
        let e = set_text(&c, "grade", "Z").unwrap_err().to_string();
        assert!(e.contains("客户等级"), "{e}");
        let c7 = set_text(&c, "entered_at", "2026-01-01").unwrap();
        assert_eq!(
            crate::day::Moment::Date.show(c7.entered_at).as_deref(),
            Some("2026-01-01")
        );
        let e = set_text(&c, "entered_at", "1767225600000")
            .unwrap_err()
            .to_string();
        assert!(e.contains("YYYY-MM-DD"), "{e}");
        let e = set_text(&c, "company.adress", "x").unwrap_err().to_string();
        assert!(e.contains("company.adress"), "{e}");
        assert!(set_text(&c, "company", "x").is_err());
    }
}

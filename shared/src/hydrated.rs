//! serde straight out of automerge's hydrated tree.
//!
//! Going hydrate → `serde_json::Value` → `Customer` would allocate every key
//! and string of the document a second time, which for a card with thousands
//! of visits costs as much as automerge's own hydrate. This deserialiser
//! reads the hydrated tree in place. It maps
//! values exactly as [`crate::document`]'s JSON form does (counters and
//! timestamps as integers, bytes as null), so both readings agree.

use automerge::hydrate::Value as H;
use automerge::ScalarValue;
use serde::de::value::{Error, MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

/// Deserialises `T` from a hydrated automerge value.
pub fn from_value<'a, T: de::Deserialize<'a>>(v: &'a H) -> Result<T, Error> {
    T::deserialize(Node(v))
}

/// One node of the hydrated tree, as a serde deserialiser.
#[derive(Clone, Copy)]
struct Node<'a>(&'a H);

impl<'a> IntoDeserializer<'a, Error> for Node<'a> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for Node<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            H::Scalar(s) => match s {
                ScalarValue::Str(s) => visitor.visit_str(s),
                ScalarValue::Int(i) | ScalarValue::Timestamp(i) => visitor.visit_i64(*i),
                ScalarValue::Uint(u) => visitor.visit_u64(*u),
                ScalarValue::F64(f) => visitor.visit_f64(*f),
                ScalarValue::Boolean(b) => visitor.visit_bool(*b),
                ScalarValue::Counter(c) => visitor.visit_i64(i64::from(c)),
                ScalarValue::Null | ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => {
                    visitor.visit_unit()
                }
            },
            H::Map(m) => {
                let entries = m.iter().map(|(k, mv)| (k.as_str(), Node(&mv.value)));
                let mut access = MapDeserializer::new(entries);
                let out = visitor.visit_map(&mut access)?;
                access.end()?;
                Ok(out)
            }
            H::List(l) => {
                let mut access = SeqDeserializer::new(l.iter().map(|lv| Node(&lv.value)));
                let out = visitor.visit_seq(&mut access)?;
                access.end()?;
                Ok(out)
            }
            H::Text(t) => visitor.visit_string(t.to_string()),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            H::Scalar(ScalarValue::Null | ScalarValue::Bytes(_) | ScalarValue::Unknown { .. }) => {
                visitor.visit_none()
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            H::Scalar(ScalarValue::Str(s)) => {
                let s: de::value::StrDeserializer<'_, Error> = s.as_str().into_deserializer();
                visitor.visit_enum(s)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ObjType, ScalarValue, ROOT};
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Probe {
        s: String,
        i: i64,
        f: f64,
        whole: f64,
        b: bool,
        none: Option<String>,
        some: Option<u32>,
        counter: i64,
        text: String,
        list: Vec<i64>,
        nested: std::collections::BTreeMap<String, String>,
    }

    #[test]
    fn reads_every_kind_of_value_like_the_json_form() {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(ROOT, "s", "华东机电").unwrap();
        tx.put(ROOT, "i", -5i64).unwrap();
        tx.put(ROOT, "f", 2.5f64).unwrap();
        tx.put(ROOT, "whole", 7i64).unwrap();
        tx.put(ROOT, "b", true).unwrap();
        tx.put(ROOT, "none", ScalarValue::Null).unwrap();
        tx.put(ROOT, "some", 3u64).unwrap();
        tx.put(ROOT, "counter", ScalarValue::counter(4)).unwrap();
        let t = tx.put_object(ROOT, "text", ObjType::Text).unwrap();
        tx.splice_text(&t, 0, 0, "备注").unwrap();
        let l = tx.put_object(ROOT, "list", ObjType::List).unwrap();
        tx.insert(&l, 0, 1i64).unwrap();
        tx.insert(&l, 1, 2i64).unwrap();
        let m = tx.put_object(ROOT, "nested", ObjType::Map).unwrap();
        tx.put(&m, "联系人", "李经理").unwrap();
        tx.put(ROOT, "unknown", "ignored").unwrap();
        tx.commit();
        let root = doc.hydrate(None);
        let probe: Probe = super::from_value(&root).unwrap();
        assert_eq!(
            probe,
            Probe {
                s: "华东机电".into(),
                i: -5,
                f: 2.5,
                whole: 7.0,
                b: true,
                none: None,
                some: Some(3),
                counter: 4,
                text: "备注".into(),
                list: vec![1, 2],
                nested: [("联系人".to_string(), "李经理".to_string())].into(),
            }
        );
        // A value of the wrong kind is an error, as it is through JSON.
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Wrong {
            s: i64,
        }
        assert!(super::from_value::<Wrong>(&root).is_err());
    }
}

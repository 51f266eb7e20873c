//! Recording changes again, under a fresh actor, on top of another replica.
//!
//! An automerge actor id names one linear history. A laptop restored from an
//! older copy of its store, or a disk cloned to a second laptop, goes on
//! writing under an actor that has already written other changes elsewhere:
//! two different changes then share one actor and sequence number, and a
//! replica holding one refuses the other for good ([`Error::Clash`]; see
//! LESSONS.md, "An actor id names one linear history"). Those changes can
//! never be merged, so their *effects* are recorded again: on top of the
//! other replica's whole document, as new changes of a fresh actor, each
//! with its original note (author, action, reason) and time. Nothing typed
//! is lost, and the result merges anywhere.
//!
//! Each change's effect is what it did in its own history: the card at its
//! dependencies against the card just after it. Replayed changes depend on
//! everything the other replica holds, so they supersede it field by field
//! instead of competing with it as a conflict.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ObjId, ObjType, ReadDoc, Value as AmValue, ROOT};
use serde_json::{Map, Value};

use crate::document::{hydrated_json, CustomerDoc, SKELETON_ACTOR};
use crate::error::{Error, Result};
use crate::note::ChangeNote;

/// The outcome of [`rebase`].
#[derive(Debug)]
pub struct Rebased {
    /// The other replica's document with the kept changes recorded again.
    pub doc: CustomerDoc,
    /// Changes recorded again.
    pub rerecorded: usize,
    /// Changes left out by the `keep` rule, with their notes (`None`: the
    /// change carried no note).
    pub dropped: Vec<Option<ChangeNote>>,
}

/// Records again, on top of `theirs` (a whole saved document of the same
/// customer), every change of `ours` that `theirs` lacks and `keep` accepts,
/// as new changes of `actor`. Changes `keep` refuses are left out and
/// listed.
pub fn rebase(
    ours: &CustomerDoc,
    theirs: &[u8],
    actor: ActorId,
    keep: impl Fn(Option<&ChangeNote>) -> bool,
) -> Result<Rebased> {
    let mut base = Automerge::load(theirs)
        .map_err(|e| Error::Corrupt(e.to_string()))?
        .with_actor(actor);
    let source = ours.automerge();
    let skeleton = ActorId::from(SKELETON_ACTOR);
    let lacking: Vec<_> = source
        .get_changes_meta(&[])
        .into_iter()
        .filter(|m| *m.actor != skeleton && base.get_change_meta_by_hash(&m.hash).is_none())
        .collect();
    let mut rerecorded = 0;
    let mut dropped = Vec::new();
    for m in lacking {
        let note = ChangeNote::from_message(m.message.as_deref());
        if !keep(note.as_ref()) {
            dropped.push(note);
            continue;
        }
        let before = object(hydrated_json(&source.hydrate(Some(&m.deps))));
        let after = object(hydrated_json(&source.hydrate(Some(&[m.hash]))));
        let mut tx = base.transaction();
        if let Err(e) = replay(&mut tx, &ROOT, &before, &after) {
            tx.rollback();
            return Err(e);
        }
        if tx.pending_ops() == 0 {
            tx.rollback();
            continue;
        }
        let mut options = CommitOptions::default().with_time(m.timestamp);
        if let Some(msg) = &m.message {
            options = options.with_message(msg.to_string());
        }
        tx.commit_with(options);
        rerecorded += 1;
    }
    Ok(Rebased {
        doc: CustomerDoc::from_automerge(base)?,
        rerecorded,
        dropped,
    })
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Does to map `obj` what going from `old` to `new` did elsewhere: every
/// value the change set is put (even if equal, so that it supersedes any
/// concurrent value), new objects are created where missing, and keys it
/// removed are deleted where still present.
fn replay<T: Transactable + ReadDoc>(
    tx: &mut T,
    obj: &ObjId,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Result<()> {
    for (k, nv) in new {
        let ov = old.get(k);
        if ov == Some(nv) {
            continue;
        }
        match nv {
            Value::Object(nm) => match tx.get(obj, k.as_str())? {
                // The change made this record, and the other replica holds
                // it already (a copy of the same change, recorded again
                // elsewhere, or received before a clash): only what it
                // lacks is added, so later changes to it by others stand.
                Some((AmValue::Object(ObjType::Map), child)) if ov.is_none() => {
                    fill_missing(tx, &child, nm)?;
                }
                Some((AmValue::Object(ObjType::Map), child)) => {
                    let empty = Map::new();
                    let om = match ov {
                        Some(Value::Object(om)) => om,
                        _ => &empty,
                    };
                    replay(tx, &child, om, nm)?;
                }
                _ => {
                    let child = tx.put_object(obj, k.as_str(), ObjType::Map)?;
                    replay(tx, &child, &Map::new(), nm)?;
                }
            },
            v => tx.put(obj, k.as_str(), crate::write::scalar(v))?,
        }
    }
    for k in old.keys() {
        if !new.contains_key(k) && tx.get(obj, k.as_str())?.is_some() {
            tx.delete(obj, k.as_str())?;
        }
    }
    Ok(())
}

/// Puts into map `obj` the keys of `new` it lacks, and fills its maps
/// likewise; what it holds stays.
fn fill_missing<T: Transactable + ReadDoc>(
    tx: &mut T,
    obj: &ObjId,
    new: &Map<String, Value>,
) -> Result<()> {
    for (k, nv) in new {
        match (nv, tx.get(obj, k.as_str())?) {
            (Value::Object(nm), Some((AmValue::Object(ObjType::Map), child))) => {
                fill_missing(tx, &child, nm)?;
            }
            (_, Some(_)) => {}
            (Value::Object(nm), None) => {
                let child = tx.put_object(obj, k.as_str(), ObjType::Map)?;
                replay(tx, &child, &Map::new(), nm)?;
            }
            (v, None) => tx.put(obj, k.as_str(), crate::write::scalar(v))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::{Activity, Customer};
    use crate::note::Action;

    fn card() -> Customer {
        Customer {
            id: "c1".into(),
            name: "上海华东机电有限公司".into(),
            salesperson: "zhang".into(),
            ..Default::default()
        }
    }

    fn visit(doc: &mut CustomerDoc, key: &str, by: &str) {
        let mut c = doc.card().clone();
        c.activities.insert(
            key.into(),
            Activity {
                at: 1_800_000_000_000,
                by: by.into(),
                notes: format!("拜访 {key}"),
                ..Default::default()
            },
        );
        doc.update(
            &c,
            &ChangeNote::new(by, Action::Activity),
            1_800_000_000_000,
        )
        .unwrap();
    }

    /// A record a laptop made reached the server recorded again (under a
    /// fresh actor, after a clash), and head office then corrected it. A
    /// clone of the laptop, holding the original change, records it again
    /// on the server's copy: the record is there already, so the
    /// correction stands.
    #[test]
    fn a_record_made_again_elsewhere_keeps_later_changes_by_others() {
        let actor = ActorId::random();
        let created = CustomerDoc::create(
            &card(),
            actor.clone(),
            &ChangeNote::new("zhang", Action::Create),
            0,
        )
        .unwrap();
        let mut laptop = CustomerDoc::load(&created.save(), actor).unwrap();
        let mut c = laptop.card().clone();
        c.contacts.insert(
            "k1".into(),
            crate::customer::Contact {
                name: "李建国".into(),
                mobile: "13800000001".into(),
                ..Default::default()
            },
        );
        laptop
            .update(&c, &ChangeNote::new("zhang", Action::Contact), 0)
            .unwrap();
        let mut server = rebase(&laptop, &created.save(), ActorId::random(), |_| true)
            .unwrap()
            .doc;
        let mut c = server.card().clone();
        c.contacts.get_mut("k1").unwrap().mobile = "13900000002".into();
        server
            .update(
                &c,
                &ChangeNote::new("wang", Action::Edit).with_reason(Some("客户来电更正")),
                0,
            )
            .unwrap();
        let again = rebase(&laptop, &server.save(), ActorId::random(), |_| true).unwrap();
        assert_eq!(again.doc.card().contacts["k1"].mobile, "13900000002");
        assert_eq!(again.doc.card().contacts["k1"].name, "李建国");
    }

    /// Two copies of one store write under one actor: their changes clash,
    /// and re-recording one side's on top of the other merges everything.
    #[test]
    fn changes_written_twice_under_one_actor_are_recorded_again_and_merge() {
        let actor = ActorId::random();
        let note = ChangeNote::new("zhang", Action::Create);
        let copy = CustomerDoc::create(&card(), actor.clone(), &note, 0).unwrap();
        let saved = copy.save();
        // The original goes on, and the server gets it.
        let mut original = CustomerDoc::load(&saved, actor.clone()).unwrap();
        visit(&mut original, "v-before-restore", "zhang");
        let server = original.save();
        // The restored copy writes under the same actor.
        let mut restored = CustomerDoc::load(&saved, actor.clone()).unwrap();
        visit(&mut restored, "v-after-restore", "zhang");
        let mut edit = restored.card().clone();
        edit.remarks = "恢复后补记".into();
        restored
            .update(
                &edit,
                &ChangeNote::new("zhang", Action::Edit).with_reason(Some("补充")),
                0,
            )
            .unwrap();
        let mut on_server = CustomerDoc::load(&server, ActorId::random()).unwrap();
        let clash = on_server
            .merge_bytes(&restored.save_after(&copy.heads()))
            .unwrap_err();
        assert!(matches!(clash, Error::Clash { .. }), "{clash:?}");

        let fresh = ActorId::random();
        let r = rebase(&restored, &server, fresh.clone(), |_| true).unwrap();
        assert_eq!(r.rerecorded, 2);
        assert!(r.dropped.is_empty());
        let keys: Vec<&String> = r.doc.card().activities.keys().collect();
        assert_eq!(keys, ["v-after-restore", "v-before-restore"]);
        assert_eq!(r.doc.card().remarks, "恢复后补记");
        // The notes (author, reason) travel with the effects.
        let history = r.doc.history();
        let last = history.last().unwrap();
        assert_eq!(last.by.as_deref(), Some("zhang"));
        assert_eq!(last.reason.as_deref(), Some("补充"));
        // What the server lacks now merges.
        let mut on_server = CustomerDoc::load(&server, ActorId::random()).unwrap();
        let server_heads = on_server.heads();
        assert!(on_server
            .merge_bytes(&r.doc.save_after(&server_heads))
            .unwrap());
        assert_eq!(on_server.card(), r.doc.card());
        assert!(on_server.conflicts().is_empty());
    }

    /// Changes the rule refuses (here: another author's) are left out and
    /// listed; a deleted key is deleted again only where it still exists.
    #[test]
    fn refused_changes_are_left_out_and_named() {
        let actor = ActorId::random();
        let note = ChangeNote::new("zhang", Action::Create);
        let mut base_card = card();
        base_card
            .activities
            .insert("old".into(), Activity::default());
        let doc = CustomerDoc::create(&base_card, actor.clone(), &note, 0).unwrap();
        let server = doc.save();
        let mut ours = CustomerDoc::load(&server, actor).unwrap();
        visit(&mut ours, "foreign", "someone-else");
        let mut c = ours.card().clone();
        c.activities.remove("old");
        let why = ChangeNote::new("zhang", Action::Edit).with_reason(Some("重复记录"));
        ours.update(&c, &why, 0).unwrap();
        let r = rebase(&ours, &server, ActorId::random(), |n| {
            n.is_some_and(|n| n.by == "zhang")
        })
        .unwrap();
        assert_eq!(r.rerecorded, 1);
        assert_eq!(r.dropped.len(), 1);
        assert_eq!(r.dropped[0].as_ref().unwrap().by, "someone-else");
        assert!(r.doc.card().activities.is_empty());
    }
}

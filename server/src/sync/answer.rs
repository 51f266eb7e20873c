//! The answer to a sync: what the laptop lacks, read from one snapshot of
//! the store. From its cursor in the update log on a normal sync; from its
//! `have` list (every document with its heads) on a first sync or after
//! the server was restored; plus any document it asks to `recheck`.
//! Documents travel whole as stored, or as the changes after the laptop's
//! heads when those are the smaller.

use std::collections::HashMap;

use rusqlite::Connection;

use crm_shared::access;
use crm_shared::sync::{heads_to_hex, Blob, DocHeads, DocUpdate, Row, SyncResponse};
use crm_shared::ChangeHash;

use super::doc_cache::DocCache;
use super::push::{corrupt, parse_heads, Pushed};
use crate::caller::{Caller, ServiceError};
use crate::db::documents as docs;

/// Bytes of document data in one response before it is cut (`more`).
pub const RESPONSE_BUDGET: usize = 8 << 20;

/// What a laptop asks for besides its push.
pub(crate) struct Asked {
    pub(crate) epoch: Option<String>,
    pub(crate) cursor: Option<u64>,
    pub(crate) have: Option<Vec<DocHeads>>,
    pub(crate) recheck: Vec<DocHeads>,
}

/// The answer to `caller`'s sync, after their push (`pushed`).
pub(crate) fn answer(
    conn: &Connection,
    cache: &DocCache,
    caller: &Caller,
    asked: Asked,
    pushed: Pushed,
) -> Result<SyncResponse, ServiceError> {
    let Asked {
        epoch,
        cursor,
        have,
        recheck,
    } = asked;
    // One snapshot for the whole answer.
    let tx = conn.unchecked_transaction()?;
    let server_epoch = docs::meta(&tx, "epoch")?;
    let max = docs::max_seq(&tx)?;
    let all = access::sees_all(caller.role);
    let mut resp = SyncResponse {
        epoch: server_epoch.clone(),
        cursor: max as u64,
        acked: pushed.acked,
        need: pushed.need,
        reverted: pushed.reverted,
        refused: pushed.refused,
        ..Default::default()
    };
    let mut budget = RESPONSE_BUDGET;
    let mut send = |resp: &mut SyncResponse,
                    id: &str,
                    base: Option<&[ChangeHash]>|
     -> Result<bool, ServiceError> {
        let Some(stored) = docs::load(&tx, id)? else {
            return Ok(true);
        };
        // A whole document travels as stored (snapshot + chunks, a valid
        // saved form); only a partial one needs automerge. The whole form
        // is also sent when it is the smaller one.
        let changes = match base {
            Some(b) => match cache.get(id, &stored.heads) {
                Some(kept) => kept.changes_unless_whole_is_smaller(b, stored.bytes.len()),
                // A copy that no longer loads (a damaged disk) is sent as
                // stored: the laptop sets it aside by name, and the rest of
                // the answer goes on.
                None => crm_shared::document::changes_unless_whole_is_smaller(&stored.bytes, b)
                    .unwrap_or_else(|e| {
                        tracing::error!(customer = id, error = %corrupt(id, e), "stored document unreadable");
                        None
                    }),
            },
            None => None,
        };
        let (data, whole) = match changes {
            Some(c) if c.is_empty() => return Ok(true),
            Some(c) => (c, false),
            None => (stored.bytes, true),
        };
        if data.len() > budget && !resp.docs.is_empty() {
            resp.more = true;
            return Ok(false);
        }
        budget = budget.saturating_sub(data.len());
        let row = match whole {
            false => None,
            true => docs::row(&tx, id)?.map(|(summary, search, conflicts)| Row {
                summary,
                search,
                conflicted: conflicts > 0,
            }),
        };
        resp.docs.push(DocUpdate {
            id: id.to_string(),
            heads: heads_to_hex(&stored.heads),
            data: Blob(data),
            row,
        });
        Ok(true)
    };

    match (have, cursor) {
        (Some(have), _) => {
            let mut client: HashMap<String, Vec<ChangeHash>> = HashMap::with_capacity(have.len());
            for h in have {
                let heads = parse_heads(&h.id, &h.heads)?;
                client.insert(h.id, heads);
            }
            for (id, heads) in &pushed.client_heads {
                client.insert(id.clone(), heads.clone());
            }
            for h in docs::visible(&tx, &caller.login, all)? {
                let theirs = client.remove(&h.id);
                match &theirs {
                    Some(ch) if *ch == h.heads => continue,
                    Some(ch) => {
                        if ch.iter().any(|x| !h.heads.contains(x))
                            && !pushed.client_heads.contains_key(&h.id)
                        {
                            resp.need.push(DocHeads {
                                id: h.id.clone(),
                                heads: heads_to_hex(&h.heads),
                            });
                        }
                        if !send(&mut resp, &h.id, Some(ch))? {
                            break;
                        }
                    }
                    None => {
                        if !send(&mut resp, &h.id, None)? {
                            break;
                        }
                    }
                }
            }
            if !resp.more {
                // What the laptop holds beyond what it may see.
                for id in client.into_keys() {
                    match docs::salesperson(&tx, &id)? {
                        Some(_) => resp.removed.push(id),
                        None => resp.need.push(DocHeads { id, heads: vec![] }),
                    }
                }
            }
        }
        (None, Some(c)) if epoch.as_deref() == Some(server_epoch.as_str()) && c <= max as u64 => {
            let c = c as i64;
            for h in docs::changed_since(&tx, c, &caller.login, all)? {
                let mut base = match docs::heads_at(&tx, &h.id, c)? {
                    Some((heads, owner)) if all || owner == caller.login => Some(heads),
                    _ => None,
                };
                if let Some(pushed_heads) = pushed.client_heads.get(&h.id) {
                    let mut b = base.unwrap_or_default();
                    b.extend(pushed_heads.iter().copied());
                    base = Some(b);
                }
                if base
                    .as_ref()
                    .is_some_and(|b| h.heads.iter().all(|x| b.contains(x)))
                {
                    resp.cursor = h.seq as u64;
                    continue;
                }
                if !send(&mut resp, &h.id, base.as_deref())? {
                    break;
                }
                resp.cursor = h.seq as u64;
            }
            if !resp.more {
                resp.cursor = max as u64;
                if !all {
                    resp.removed = docs::taken_away(&tx, c, &caller.login)?;
                    // A customer this laptop just pushed but may not see (a
                    // reassignment a restore lost, put back): it was never
                    // theirs here, so `taken_away` does not know it.
                    for id in pushed.client_heads.keys() {
                        let theirs = docs::salesperson(&tx, id)?.is_some_and(|s| s == caller.login);
                        if !theirs && !resp.removed.contains(id) {
                            resp.removed.push(id.clone());
                        }
                    }
                }
            }
        }
        _ => {
            // No usable cursor: the laptop must list what it has.
            resp.resync = true;
            resp.cursor = 0;
        }
    }
    if !resp.resync {
        for r in recheck {
            if resp.more {
                break;
            }
            if resp.docs.iter().any(|d| d.id == r.id) {
                continue;
            }
            // A customer once theirs is sent too: they may still push what
            // they recorded while it was (see `push::check`), and a laptop
            // asks for the whole document only to rebuild such changes on it
            // (a clash); it lets go of the customer once they are sent.
            match docs::salesperson(&tx, &r.id)? {
                Some(owner)
                    if all
                        || owner == caller.login
                        || docs::ever_assigned(&tx, &r.id, &caller.login)? =>
                {
                    let base = parse_heads(&r.id, &r.heads)?;
                    send(&mut resp, &r.id, (!base.is_empty()).then_some(&base[..]))?;
                    // Not theirs: listed as removed too, so that the laptop
                    // lets go of it at once when rebuilding leaves nothing to
                    // send, and after sending otherwise.
                    if !all && owner != caller.login && !resp.removed.contains(&r.id) {
                        resp.removed.push(r.id);
                    }
                }
                Some(_) if resp.removed.contains(&r.id) => {}
                Some(_) => resp.removed.push(r.id),
                None => resp.need.push(DocHeads {
                    id: r.id,
                    heads: vec![],
                }),
            }
        }
    }
    Ok(resp)
}

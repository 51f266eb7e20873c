//! The invariants, checked once everyone has synced until quiet.

use std::collections::BTreeMap;

use crm_shared::access;
use crm_shared::codes::Role;
use crm_shared::document::HistoryEntry;
use crm_shared::note::Action;

use super::world::{Broken, World};

/// Syncs that may pass before a laptop must have nothing pending.
const ROUNDS: usize = 6;

/// Lets every laptop sync until nothing moves, then checks that
/// - no laptop is stuck: each has nothing pending and nothing set aside;
/// - each laptop holds exactly its salesperson's customers, at the server's
///   heads (all replicas converge);
/// - every visit a laptop was told is on the server is there, unless the
///   server was restored since and no laptop holds it any more;
/// - every change of a protected field on the server was made through its
///   rule (see [`protected_fields_moved_by_their_rules`]);
/// - head office's part of every complaint on the server was written by
///   head office (see [`complaint_steps_by_their_owners`]);
/// - the backup node, caught up, verifies and equals the server.
pub fn settle_and_check(world: &mut World) -> Result<(), Broken> {
    let mut quiet_rounds = 0;
    for _ in 0..ROUNDS {
        let mut moved = 0;
        for i in 0..world.laptops() {
            let out = world.sync(i, super::world::Cut::No)?;
            if std::env::var_os("SIM_TRACE").is_some() {
                eprintln!(
                    "  settle: laptop {i} syncs{} ({} moved)",
                    out.said, out.moved
                );
            }
            moved += out.moved;
        }
        quiet_rounds = if moved == 0 { quiet_rounds + 1 } else { 0 };
        if quiet_rounds == 2 {
            break;
        }
    }
    for i in 0..world.laptops() {
        if let Some(why) = world.laptop_quiet(i)? {
            return Err(Broken(format!(
                "laptop {i} is not quiet after {ROUNDS} rounds of syncs: {why}"
            )));
        }
    }
    if quiet_rounds < 2 {
        return Err(Broken(format!(
            "documents still moving after {ROUNDS} rounds of syncs"
        )));
    }

    let server = world.server_heads()?;
    let mut held: BTreeMap<String, String> = BTreeMap::new();
    for i in 0..world.laptops() {
        let (user, cards) = world.laptop_cards(i)?;
        let heads = world.laptop_heads(i)?;
        for card in &cards {
            if card.salesperson != user {
                return Err(Broken(format!(
                    "laptop {i} ({user}) holds {} of {}",
                    card.id, card.salesperson
                )));
            }
            for key in card.activities.keys() {
                held.insert(key.clone(), card.id.clone());
            }
        }
        for (id, (server_heads, salesperson)) in &server {
            let mine = heads.get(id);
            match (salesperson == &user, mine) {
                (true, None) => {
                    return Err(Broken(format!(
                        "laptop {i} ({user}) lacks its customer {id}"
                    )))
                }
                (false, Some(_)) => {
                    return Err(Broken(format!(
                        "laptop {i} ({user}) holds {id}, which is {salesperson}'s"
                    )))
                }
                (true, Some(h)) if h != server_heads => {
                    return Err(Broken(format!(
                        "laptop {i} and the server differ on {id}: {h:?} vs {server_heads:?}"
                    )))
                }
                _ => {}
            }
        }
        for id in heads.keys() {
            if !server.contains_key(id) {
                return Err(Broken(format!(
                    "laptop {i} holds {id}, unknown to the server"
                )));
            }
        }
    }

    let generation = world.ledger.generation;
    let mut required: BTreeMap<String, String> = world
        .ledger
        .confirmed
        .iter()
        .filter(|(_, (_, g))| *g == generation)
        .map(|(k, (id, _))| (k.clone(), id.clone()))
        .collect();
    required.extend(held);
    let mut cards = BTreeMap::new();
    for (key, id) in &required {
        if !cards.contains_key(id) {
            cards.insert(id.clone(), world.server_card(id)?);
        }
        let has = cards[id]
            .as_ref()
            .is_some_and(|c| c.activities.contains_key(key));
        if !has {
            return Err(Broken(format!(
                "visit {key} on {id}, acknowledged as synced, is not on the server"
            )));
        }
    }

    for id in server.keys() {
        let Some(doc) = world.server_doc(id)? else {
            continue;
        };
        for entry in doc.history() {
            protected_fields_moved_by_their_rules(world, id, &entry)?;
            complaint_steps_by_their_owners(world, id, &entry)?;
        }
    }
    world.check_backup()
}

/// Each change of a protected field (salesperson, grade, credit limit) in
/// the server's history of `id` must have been made by someone whose role
/// may (a head-office edit, resolution or grading), by the last approval
/// of a credit request (the limit), by the server putting a value back, or
/// by the salesperson entering their own customer.
fn protected_fields_moved_by_their_rules(
    world: &World,
    id: &str,
    entry: &HistoryEntry,
) -> Result<(), Broken> {
    let by = entry.by.as_deref().unwrap_or("");
    for f in &entry.fields {
        if !access::PROTECTED.contains(&f.path.as_str()) {
            continue;
        }
        let role = world.role_of(by);
        let fine = match (entry.action, f.path.as_str()) {
            _ if by == crm_server::sync::SYSTEM_USER => true,
            (Some(Action::Create), "salesperson") => f.new.as_deref() == Some(by),
            (Some(Action::Decide), "credit.limit") => role == Some(Role::Manager),
            (_, path) => role.is_some_and(|r| access::may_change(r, path)),
        };
        if !fine {
            return Err(Broken(format!(
                "{id}: {} changed by {by} ({:?}) from {:?} to {:?}",
                f.path, entry.action, f.old, f.new
            )));
        }
    }
    Ok(())
}

/// Each change to head office's part of a complaint
/// (`complaint::office_part`: the judgement, the plan, the manager's
/// opinion, the proceedings, the closing, and who took those steps) in the
/// server's history of `id` was made by the clerk or a manager, or by the
/// server putting it back; a complaint a salesperson entered carries none
/// of it.
fn complaint_steps_by_their_owners(
    world: &World,
    id: &str,
    entry: &HistoryEntry,
) -> Result<(), Broken> {
    use crm_shared::complaint::office_part;
    use crm_shared::customer::Complaint;
    let by = entry.by.as_deref().unwrap_or("");
    if by == crm_server::sync::SYSTEM_USER
        || matches!(world.role_of(by), Some(Role::Clerk | Role::Manager))
    {
        return Ok(());
    }
    for f in &entry.fields {
        let parts: Vec<&str> = f.path.split('.').collect();
        let office = match parts.as_slice() {
            ["complaints", _] => f
                .new
                .as_deref()
                .and_then(|t| serde_json::from_str::<Complaint>(t).ok())
                .is_some_and(|k| office_part(&k) != office_part(&Complaint::default())),
            ["complaints", _, "steps", step, ..] => step
                .parse::<crm_shared::codes::ComplaintStep>()
                .map_or(true, |s| {
                    !crm_shared::complaint::may_take(s, Role::Salesperson, None)
                }),
            ["complaints", _, field, ..] => [
                "category",
                "investigation",
                "remedy",
                "sample_returned",
                "inspection",
                "responsible_department",
                "manager_opinion",
                "litigation",
                "closed_at",
            ]
            .contains(field),
            _ => false,
        };
        if office {
            return Err(Broken(format!(
                "{id}: {} changed by {by} ({:?}) from {:?} to {:?}",
                f.path, entry.action, f.old, f.new
            )));
        }
    }
    Ok(())
}

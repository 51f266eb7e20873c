//! 修改档案 and 修改联系人: every field the signed-in role may change,
//! filled with its current value; only what was changed is saved, as one
//! change with the reason given. Fields only head office's rules set
//! (credit limit, grade, salesperson for a salesperson) are not offered.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;

use crm_shared::access;
use crm_shared::codes::Role;
use crm_shared::labels::{label_of, CONTACT_FIELDS, FIELDS};
use crm_shared::note::Action;
use crm_shared::Customer;

use super::form::{Posted, Refused};
use super::view::{back, failure, page, token};
use super::{App, Shared};
use crate::error::{ClientError, Result};
use crate::record;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/customers/{id}/edit", get(card_form).post(save_card))
        .route(
            "/customers/{id}/contacts/{key}",
            get(contact_form).post(save_contact),
        )
}

/// Fields of the card this role may edit here: not the id, nor the dates
/// the archive keeps itself, nor what only a rule may set.
fn editable(role: Option<Role>) -> Vec<(&'static str, &'static str)> {
    let role = role.unwrap_or(Role::Salesperson);
    FIELDS
        .iter()
        .filter(|(p, _)| *p != "entered_at" && !access::BY_RULE_ONLY.contains(p))
        .filter(|(p, _)| access::may_change(role, p))
        .copied()
        .collect()
}

/// The closed vocabulary of a coded field, as (code, label): shown as a
/// choice, not typed.
fn choices(path: &str) -> Option<Vec<(&'static str, &'static str)>> {
    use crm_shared::codes::{BankRating, CustomerKind, Intent, Nature, Status, Tier};
    fn all<T: Copy>(
        v: &[T],
        code: fn(T) -> &'static str,
        label: fn(T) -> &'static str,
    ) -> Vec<(&'static str, &'static str)> {
        v.iter().map(|x| (code(*x), label(*x))).collect()
    }
    Some(match path {
        "status" => all(Status::ALL, Status::code, Status::label),
        "tier" => all(Tier::ALL, Tier::code, Tier::label),
        "kind" => all(CustomerKind::ALL, CustomerKind::code, CustomerKind::label),
        "nature" => all(Nature::ALL, Nature::code, Nature::label),
        "intent" => all(Intent::ALL, Intent::code, Intent::label),
        "company.bank_rating" => all(BankRating::ALL, BankRating::code, BankRating::label),
        _ => return None,
    })
}

/// The text form of a field as the edit accepts it back.
fn current(card: &Customer, json: &serde_json::Value, path: &str) -> String {
    let pointer = format!("/{}", path.replace('.', "/"));
    json.pointer(&pointer)
        .and_then(|v| crm_shared::diff::text_at(path, v))
        .unwrap_or_else(|| crm_web::card::value(card, json, path, &|_| None))
}

fn open(app: &App) -> Result<super::warm::Held<'_>> {
    app.store()?.ok_or(ClientError::NotInitialised)
}

async fn card_form(State(app): State<Shared>, Path(id): Path<String>) -> Response {
    card_page(&app, &id, None)
}

fn card_page(app: &App, id: &str, refused: Option<&Refused>) -> Response {
    let inner = || -> Result<Response> {
        let store = open(app)?;
        let card = store.get(id)?;
        let json = serde_json::to_value(&card).unwrap_or_default();
        let fields = editable(record::signed_in_role(&store)?);
        let body = html! {
            p { a href={ "/customers/" (id) } { "← " (card.name) } }
            @if let Some(r) = refused { div.error role="alert" {
                @if let Some(f) = &r.field { b { (label_of(f)) } ":" } (r.message) } }
            form.stack.wide method="post" action={ "/customers/" (id) "/edit" } {
                (token(app))
                div.fields { @for (path, label) in &fields {
                    @let was = current(&card, &json, path);
                    @let now = Refused::value(refused, "edit", path).map(str::to_string).unwrap_or(was.clone());
                    label {
                        (label)
                        @if let Some(options) = choices(path) {
                            select name=(path) {
                                @if *path != "status" { option value="" selected[now.is_empty()] { "—" } }
                                @for (code, text) in options { option value=(code) selected[now == code] { (text) } }
                            }
                        } @else {
                            input name=(path) value=(now);
                        }
                        input type="hidden" name={ "was:" (path) } value=(was);
                        (Refused::beside(refused, "edit", path))
                    }
                } }
                label { "修改原因 *" input name="reason" required value=(Refused::value(refused, "edit", "reason").unwrap_or_default()); }
                p.muted { "信用额度请在客户页申请变更,由总部审批;等级由总部评定。" }
                div.actions { button type="submit" { "保存修改" } a.button.secondary href={ "/customers/" (id) } { "取消" } }
            }
        };
        Ok(page(
            app,
            &store,
            "customers",
            &format!("修改档案:{}", card.name),
            body,
        )
        .into_response())
    };
    inner().unwrap_or_else(|e| failure(&e))
}

/// `字段=值` for every field whose value differs from the one the form
/// was filled with.
fn changed_sets(form: &Posted, paths: impl Iterator<Item = String>) -> Vec<String> {
    paths
        .filter_map(|p| {
            let now = form.0.get(&p)?.trim().to_string();
            let was = form
                .0
                .get(&format!("was:{p}"))
                .map(|s| s.trim().to_string());
            (was.as_deref() != Some(now.as_str())).then(|| format!("{p}={now}"))
        })
        .collect()
}

async fn save_card(State(app): State<Shared>, Path(id): Path<String>, form: Posted) -> Response {
    let result = open(&app).and_then(|mut store| {
        let fields = editable(record::signed_in_role(&store)?);
        let sets = changed_sets(&form, fields.iter().map(|(p, _)| p.to_string()));
        if sets.is_empty() {
            return Ok(0);
        }
        let note = store.note(Action::Edit, form.opt("reason"));
        Ok(record::edit(&mut store, &id, &note, &sets)?.len())
    });
    match result {
        Ok(0) => back(&format!("/customers/{id}"), "没有修改,未保存"),
        Ok(_) => {
            app.changed();
            back(&format!("/customers/{id}"), "已保存修改")
        }
        Err(e) => card_page(&app, &id, Some(&Refused::new("edit", form, &e))),
    }
}

async fn contact_form(
    State(app): State<Shared>,
    Path((id, key)): Path<(String, String)>,
) -> Response {
    contact_page(&app, &id, &key, None)
}

fn contact_page(app: &App, id: &str, key: &str, refused: Option<&Refused>) -> Response {
    let inner = || -> Result<Response> {
        let store = open(app)?;
        let card = store.get(id)?;
        let json = serde_json::to_value(&card).unwrap_or_default();
        let contact = card
            .contacts
            .get(key)
            .ok_or_else(|| record::invalid("contact", "没有这位联系人"))?;
        let body = html! {
            p { a href={ "/customers/" (id) } { "← " (card.name) } }
            @if let Some(r) = refused { div.error role="alert" { (r.message) } }
            form.stack method="post" action={ "/customers/" (id) "/contacts/" (key) } {
                (token(app))
                @for (field, label) in CONTACT_FIELDS {
                    @let path = format!("contacts.{key}.{field}");
                    @let was = current(&card, &json, &path);
                    @let now = Refused::value(refused, "contact", &path).map(str::to_string).unwrap_or(was.clone());
                    label { (label) input name=(path) value=(now); input type="hidden" name={ "was:" (path) } value=(was); }
                }
                label { "修改原因 *" input name="reason" required; }
                div.actions { button type="submit" { "保存" } a.button.secondary href={ "/customers/" (id) } { "取消" } }
            }
        };
        Ok(page(
            app,
            &store,
            "customers",
            &format!("修改联系人:{}", contact.name),
            body,
        )
        .into_response())
    };
    inner().unwrap_or_else(|e| failure(&e))
}

async fn save_contact(
    State(app): State<Shared>,
    Path((id, key)): Path<(String, String)>,
    form: Posted,
) -> Response {
    let result = open(&app).and_then(|mut store| {
        let paths = CONTACT_FIELDS
            .iter()
            .map(|(f, _)| format!("contacts.{key}.{f}"));
        let sets = changed_sets(&form, paths);
        if sets.is_empty() {
            return Ok(0);
        }
        let note = store.note(Action::Edit, form.opt("reason"));
        Ok(record::edit(&mut store, &id, &note, &sets)?.len())
    });
    match result {
        Ok(0) => back(&format!("/customers/{id}"), "没有修改,未保存"),
        Ok(_) => {
            app.changed();
            back(&format!("/customers/{id}"), "已保存联系人的修改")
        }
        Err(e) => contact_page(&app, &id, &key, Some(&Refused::new("contact", form, &e))),
    }
}

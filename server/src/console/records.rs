//! What head office adds to a card besides correcting its fields: the
//! forms for a new contact and for a visit or call (with the follow-up it
//! plans), shown on the card, and the page correcting one contact. A
//! refused form comes back with what was typed and why.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use maud::{html, Markup};

use crm_shared::codes::{ActivityKind, Intent};
use crm_shared::customer::Contact;
use crm_shared::day::{Day, Moment};
use crm_shared::diff::text_at;
use crm_shared::labels::CONTACT_FIELDS;

use super::layout::{csrf, page};
use super::{done, ConsoleError, Fields, SignedIn};
use crate::archive;
use crate::caller::ServiceError;
use crate::entries::NewActivity;
use crate::state::AppState;

/// The contact fields typed as text; the yes/no ones stay with the laptop's
/// full editor.
const TEXT_FIELDS: usize = 11;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route(
        "/customers/{id}/contacts/{key}",
        get(contact_page).post(save_contact),
    )
}

/// A form on the card that was refused: which one, why, and what was typed.
pub(super) struct Refused {
    form: &'static str,
    message: String,
    typed: Fields,
}

impl Refused {
    /// Form `form` refused with `message`; `typed` is what was sent.
    pub(super) fn new(form: &'static str, message: String, typed: Fields) -> Refused {
        Refused {
            form,
            message,
            typed,
        }
    }

    /// `refused`, if it is form `form`'s refusal.
    pub(super) fn of<'a>(refused: Option<&'a Refused>, form: &str) -> Option<&'a Refused> {
        refused.filter(|r| r.form == form)
    }

    /// What was typed into field `name`.
    pub(super) fn value(&self, name: &str) -> String {
        self.typed.text(name)
    }

    /// Why the form was refused.
    pub(super) fn message(&self) -> &str {
        &self.message
    }
}

/// The form adding a contact to customer `id`.
pub(super) fn add_contact_form(s: &SignedIn, id: &str, refused: Option<&Refused>) -> Markup {
    let r = Refused::of(refused, "contact");
    let v = |name: &str| r.map(|r| r.value(name)).unwrap_or_default();
    html! {
        form.stack method="post" action={ "/console/customers/" (id) "/contacts" } #add-contact {
            (csrf(s))
            @if let Some(r) = r { div.error role="alert" { (r.message) } }
            div.fields {
                label { ("姓名(必填)") input name="name" value=(v("name")) required; }
                label { ("部门") input name="department" value=(v("department")); }
                label { ("职务") input name="title" value=(v("title")); }
                label { ("手机") input name="mobile" value=(v("mobile")) inputmode="tel"; }
                label { ("电话") input name="phone" value=(v("phone")) inputmode="tel"; }
                label { ("邮箱") input name="email" value=(v("email")) type="email"; }
            }
            div.row { button type="submit" { ("添加联系人") } }
        }
    }
}

/// The contact typed into [`add_contact_form`].
pub(super) fn contact_of(f: &Fields) -> Contact {
    Contact {
        name: f.text("name"),
        department: f.text("department"),
        title: f.text("title"),
        mobile: f.text("mobile"),
        phone: f.text("phone"),
        email: f.text("email"),
        ..Default::default()
    }
}

/// The form logging a visit, call or other contact with customer `id`;
/// its time starts at `now`.
pub(super) fn activity_form(s: &SignedIn, id: &str, refused: Option<&Refused>, now: i64) -> Markup {
    let r = Refused::of(refused, "activity");
    let v = |name: &str| r.map(|r| r.value(name));
    let kind = v("kind").unwrap_or_else(|| ActivityKind::Call.code().to_string());
    let at = v("at").unwrap_or_else(|| Moment::DateTime.show(now).unwrap_or_default());
    let intent = v("intent").unwrap_or_default();
    html! {
        form.stack method="post" action={ "/console/customers/" (id) "/activities" } #log-activity {
            (csrf(s))
            @if let Some(r) = r { div.error role="alert" { (r.message) } }
            div.fields {
                label { ("类型")
                    select name="kind" { @for k in ActivityKind::ALL {
                        option value=(k.code()) selected[k.code() == kind] { (k.label()) }
                    } } }
                label { ("时间") input name="at" value=(at) required placeholder="2026-01-01 09:30"; }
                label { ("意向等级")
                    select name="intent" {
                        option value="" { ("不变") }
                        @for i in Intent::ALL { option value=(i.code()) selected[i.code() == intent] { (i.label()) } }
                    } }
                label { ("下次跟进")
                    input name="next" type="date" value=(v("next").unwrap_or_default()); }
            }
            label { ("内容(必填)")
                textarea name="notes" rows="3" required { (v("notes").unwrap_or_default()) } }
            p.muted { ("下次跟进留空时按公司的跟进周期和意向等级排定。") }
            div.row { button type="submit" { ("记录") } }
        }
    }
}

/// The activity typed into [`activity_form`], or why it cannot be read.
pub(super) fn activity_of(f: &Fields) -> Result<NewActivity, String> {
    let kind = f
        .text("kind")
        .parse::<ActivityKind>()
        .map_err(|e| e.to_string())?;
    let at =
        Moment::parse(&f.text("at")).ok_or_else(|| "时间请写作 2026-01-01 09:30".to_string())?;
    Ok(NewActivity {
        kind,
        at,
        notes: f.text("notes"),
        intent: super::optional::<Intent>(&f.text("intent"))?,
        next: super::optional::<Day>(&f.text("next"))?,
    })
}

async fn contact_page(
    s: SignedIn,
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
) -> Result<Markup, ConsoleError> {
    archive::may_write(&s.caller())?;
    contact_editor(&s, &state, &id, &key, None).await
}

/// The page correcting contact `key` of customer `id`: each field holds
/// its current value (or what was typed, when `refused`), and remembers
/// the value it started from so only what the person changed is saved.
async fn contact_editor(
    s: &SignedIn,
    state: &AppState,
    id: &str,
    key: &str,
    refused: Option<&Refused>,
) -> Result<Markup, ConsoleError> {
    let view = archive::card(&state.db, s.caller(), id.to_string()).await?;
    let c = &view.customer;
    let Some(contact) = c.contacts.get(key) else {
        return Err(ServiceError::NotFound(format!("客户“{}”没有这位联系人", c.name)).into());
    };
    let json = serde_json::to_value(contact).unwrap_or_default();
    Ok(page(
        s,
        "customers",
        &format!("{}{}", "修改联系人:", contact.name),
        html! {
            p { a href={ "/console/customers/" (id) "#contacts" } { "← " (c.name) } }
            @if let Some(r) = refused { div.error role="alert" { (r.message) } }
            form.stack method="post" action={ "/console/customers/" (id) "/contacts/" (key) } #edit-contact {
                (csrf(s))
                div.fields {
                    @for (field, label) in &CONTACT_FIELDS[..TEXT_FIELDS] {
                        @let was = text_at(field, &json[field]).unwrap_or_default();
                        @let now = refused.map(|r| r.value(field)).unwrap_or_else(|| was.clone());
                        label { (label) input name=(field) value=(now);
                            input type="hidden" name={ "was:" (field) } value=(refused.map(|r| r.value(&format!("was:{field}"))).unwrap_or(was)); }
                    }
                }
                label { ("修改原因(必填)") input name="reason" value=(refused.map(|r| r.value("reason")).unwrap_or_default()) required size="60"; }
                div.row {
                    button type="submit" { ("保存") }
                    a.button.secondary href={ "/console/customers/" (id) "#contacts" } { ("取消") }
                }
            }
        },
    ))
}

/// Saves the fields of the contact that the person changed (as one edit
/// of the card with its reason), or shows the page again as typed.
async fn save_contact(
    s: SignedIn,
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Result<Response, ConsoleError> {
    s.check(&f)?;
    let sets: Vec<(String, String)> = CONTACT_FIELDS[..TEXT_FIELDS]
        .iter()
        .filter(|(field, _)| f.text(field) != f.text(&format!("was:{field}")))
        .map(|(field, _)| (format!("contacts.{key}.{field}"), f.text(field)))
        .collect();
    let why = if sets.is_empty() {
        "没有修改任何内容".to_string()
    } else {
        let saved = archive::edit(
            &state.db,
            s.caller(),
            id.clone(),
            sets,
            f.text("reason"),
            crate::clock::now_ms(),
        )
        .await;
        match saved {
            Ok(_) => {
                return Ok(done(&format!(
                    "/console/customers/{id}?done=contact#contacts"
                )))
            }
            Err(ServiceError::BadRequest(m)) => m,
            Err(e) => return Err(e.into()),
        }
    };
    let refused = Refused::new("contact", why, f);
    let page = contact_editor(&s, &state, &id, &key, Some(&refused)).await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

//! Small pieces of markup both programs use.

use maud::{html, Markup};

use crm_shared::story::Story;

use crate::format::when;

/// A success line after a form (the page it returned to says what was done).
pub fn flash(ok: Option<&str>) -> Markup {
    html! { @if let Some(m) = ok { div.ok role="status" { (m) } } }
}

/// A refused form's message, above the form.
pub fn error(message: Option<&str>) -> Markup {
    html! { @if let Some(m) = message { div.error role="alert" { (m) } } }
}

/// One `label: value` of a card; nothing when the value is empty.
pub fn field(label: &str, value: &str) -> Markup {
    html! { @if !value.is_empty() { div { span { (label) } (value) } } }
}

/// Customer history as sentences: newest first, each change's details
/// folded away when there are more than `open` of them, with a count that
/// says what the rest is.
pub fn history(stories: &[Story], open: usize) -> Markup {
    html! {
        table.story {
            thead { tr { th { "时间" } th { "修改人" } th { "内容" } th { "原因" } } }
            tbody {
                @for s in stories.iter().rev() {
                    tr {
                        td { (when(Some(s.at))) }
                        td { (s.who) }
                        td {
                            (s.headline)
                            @if s.details.len() <= open {
                                @for d in &s.details { div.details { (d) } }
                            } @else {
                                @for d in &s.details[..open] { div.details { (d) } }
                                details {
                                    summary { "另有 " (s.details.len() - open) " 项" }
                                    @for d in &s.details[open..] { div.details { (d) } }
                                }
                            }
                        }
                        td { (s.reason.clone().unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

//! The page shell: head, the bar with navigation and the person, an
//! optional line under it (the app's sync status), then the page.

use maud::{html, Markup, DOCTYPE};

/// One link of the navigation bar.
#[derive(Debug, Clone, Copy)]
pub struct NavItem<'a> {
    /// Key compared with [`Shell::current`] to mark the open page.
    pub key: &'a str,
    /// What the link says.
    pub label: &'a str,
    /// Where it goes.
    pub href: &'a str,
}

/// Everything around a page's own content.
pub struct Shell<'a> {
    /// `lang` attribute, e.g. `zh-CN`.
    pub lang: &'a str,
    /// The program's name in the bar and the window title.
    pub brand: &'a str,
    /// Address of [`crate::style::CSS`] as this program serves it.
    pub stylesheet: &'a str,
    /// Address of this program's script, if it has one (served from the
    /// same origin: both programs forbid inline and foreign scripts).
    pub script: Option<&'a str>,
    /// The navigation links.
    pub nav: &'a [NavItem<'a>],
    /// Which link is the open page.
    pub current: &'a str,
    /// The right end of the bar: who is signed in, sign-out, language.
    pub who: Markup,
    /// A line under the bar on every page (the app's sync status).
    pub status: Option<Markup>,
}

fn head(shell: &Shell, title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · " (shell.brand) }
        link rel="stylesheet" href=(shell.stylesheet);
        @if let Some(s) = shell.script { script src=(s) defer {} }
    }
}

/// A page with the bar and navigation; `title` is also its heading.
pub fn page(shell: &Shell, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(shell.lang) {
            head { (head(shell, title)) }
            body {
                header {
                    strong { (shell.brand) }
                    nav {
                        @for item in shell.nav {
                            a.on[item.key == shell.current] href=(item.href) { (item.label) }
                        }
                    }
                    div.who { (shell.who) }
                }
                @if let Some(s) = &shell.status { (s) }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page without navigation (sign-in, first-run setup, errors before
/// anyone is signed in).
pub fn bare(shell: &Shell, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(shell.lang) {
            head { (head(shell, title)) }
            body { main { (body) } }
        }
    }
}

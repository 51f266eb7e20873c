//! Charts drawn on the server as SVG: readable without JavaScript, in the
//! page's own font (so Chinese labels show as text), printed and
//! screenshotted like the rest of the page.

use maud::{html, Markup};

/// Width of the drawing, in its own units (it scales to the page).
const WIDTH: f64 = 520.0;
/// Room for the labels left of the bars.
const LABEL: f64 = 110.0;
/// Room for the value right of the longest bar.
const VALUE: f64 = 130.0;
/// Height of one row.
const ROW: f64 = 30.0;

/// One bar: its label, its size, and the size as people read it.
pub struct Bar {
    /// What the bar is (an A级, a person's name).
    pub label: String,
    /// Its size; bars are drawn in proportion to the largest.
    pub value: f64,
    /// The size as written next to the bar ("1,234 位", "800,000 元").
    pub shown: String,
    /// Where a click on the bar leads, if anywhere.
    pub href: Option<String>,
}

/// A horizontal bar chart titled `title` (also what a screen reader
/// says); `empty` is written instead when there is nothing to draw.
pub fn bars(title: &str, bars: &[Bar], empty: &str) -> Markup {
    let largest = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let height = ROW * bars.len() as f64 + 8.0;
    let room = WIDTH - LABEL - VALUE;
    html! {
        figure.chart {
            figcaption { (title) }
            @if bars.is_empty() || largest <= 0.0 {
                p.muted { (empty) }
            } @else {
                svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (height) }
                    role="img" aria-label=(title) {
                    title { (title) }
                    @for (i, b) in bars.iter().enumerate() {
                        @let y = ROW * i as f64 + 4.0;
                        @let w = (b.value / largest * room).max(if b.value > 0.0 { 2.0 } else { 0.0 });
                        @let row = html! {
                            text x=(LABEL - 8.0) y=(y + ROW / 2.0 + 5.0) text-anchor="end" { (b.label) }
                            rect x=(LABEL) y=(y + 4.0) width=(format!("{w:.1}")) height=(ROW - 8.0) rx="3" {}
                            text x=(LABEL + w + 6.0) y=(y + ROW / 2.0 + 5.0) { (b.shown) }
                        };
                        @if let Some(href) = &b.href {
                            a href=(href) { (row) }
                        } @else {
                            g { (row) }
                        }
                    }
                }
            }
        }
    }
}

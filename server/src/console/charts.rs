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

/// Height of one row of [`weekly`].
const WEEK_ROW: f64 = 44.0;
/// Room for the week labels under [`weekly`]'s rows.
const WEEK_AXIS: f64 = 22.0;

/// Counts per week for each of `rows` (a person's name and one count per
/// week of `weeks`, the Mondays), as a row of small columns per person,
/// each with its count; `empty` is written instead when every count is 0.
pub fn weekly(title: &str, weeks: &[String], rows: &[(String, Vec<u64>)], empty: &str) -> Markup {
    let largest = rows.iter().flat_map(|(_, v)| v).copied().max().unwrap_or(0);
    let step = (WIDTH - LABEL) / weeks.len().max(1) as f64;
    let height = WEEK_ROW * rows.len() as f64 + WEEK_AXIS;
    let top = 14.0;
    html! {
        figure.chart {
            figcaption { (title) }
            @if largest == 0 {
                p.muted { (empty) }
            } @else {
                svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (height) }
                    role="img" aria-label=(title) {
                    title { (title) }
                    @for (i, (name, counts)) in rows.iter().enumerate() {
                        @let y = WEEK_ROW * i as f64;
                        g {
                            text x=(LABEL - 8.0) y=(y + WEEK_ROW - 8.0) text-anchor="end" { (name) }
                            @for (j, n) in counts.iter().enumerate() {
                                @let h = (*n as f64 / largest as f64 * (WEEK_ROW - top - 6.0)).max(if *n > 0 { 2.0 } else { 0.0 });
                                @let x = LABEL + step * j as f64;
                                rect x=(format!("{:.1}", x + step * 0.2)) y=(format!("{:.1}", y + WEEK_ROW - 4.0 - h))
                                    width=(format!("{:.1}", step * 0.6)) height=(format!("{h:.1}")) rx="2" {}
                                @if *n > 0 {
                                    text x=(format!("{:.1}", x + step / 2.0)) y=(format!("{:.1}", y + WEEK_ROW - 7.0 - h))
                                        text-anchor="middle" font-size="11" { (n) }
                                }
                            }
                        }
                    }
                    @for (j, w) in weeks.iter().enumerate() {
                        text x=(format!("{:.1}", LABEL + step * (j as f64 + 0.5))) y=(height - 6.0)
                            text-anchor="middle" font-size="11" { (w) }
                    }
                }
            }
        }
    }
}

//! The view: `draw(&App, &mut ViewState, frame)` reads application state and never changes it.
//!
//! `ViewState` holds only view concerns (line caches, scroll anchors, theme), so the reducer stays
//! pure and the frame cost stays bounded by what is on screen. This file holds only the frame's
//! layout; each widget and popup has a file of its own (a new popup is one new file here, drawn
//! from the `Overlay` match below), over the shared primitives in `text` and `popup`.

mod browser;
mod columns;
mod header;
mod help;
mod input;
mod message;
mod picker;
mod popup;
mod status;
mod tabs;
mod text;
mod thumbnail;
mod transcript;
mod view_state;
mod welcome;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::style::Style;

use crate::app::{App, Overlay};

pub use help::lines as help_lines;
pub use message::{message_lines, plain_lines};
pub use text::format_in_out;
pub use thumbnail::{ImageAreas, THUMB_ROWS, Thumbnails};
pub use transcript::{Anchor, PaneView};
pub use view_state::{KeyHints, PreviewCache, RenderCtx, Split, ViewState};

/// Draw one frame: tabs, the pane header, the transcript (or the welcome text), the input box
/// and the status bar, top to bottom, then the open popup over them.
pub fn draw(app: &App, view: &mut ViewState, frame: &mut Frame) {
    let area = frame.area();
    let pane = app.pane();
    let (theme, utc_offset, pane_view, preview, mut thumbnails) = view.split(pane.id());
    let keys = KeyHints::from(app);
    let ctx = RenderCtx {
        theme,
        offset: utc_offset,
        keys: &keys,
        images: thumbnails.is_some(),
    };
    if let Some(t) = thumbnails.as_deref_mut() {
        t.begin_frame();
    }
    // No thumbnail under a popup (an image would show through it).
    let thumbnails = thumbnails.filter(|_| matches!(app.overlay, Overlay::None));
    let buf = frame.buffer_mut();
    // Every cell of the canvas at once (`set_style` would find each by its position).
    let base = Style::default().bg(theme.background).patch(theme.text);
    for cell in &mut buf.content {
        cell.set_style(base);
    }
    let [tabs, header, body, input, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(input::height(pane, area)),
        Constraint::Length(1),
    ])
    .areas(area);
    tabs::draw(app, theme, tabs, buf);
    header::draw(app, theme, header, buf);
    if pane.messages.is_empty() && pane.columns.is_empty() {
        welcome::draw(app, theme, body, buf);
    } else if pane.columns.is_empty() {
        pane_view.draw(pane, body.inner(Margin::new(1, 0)), buf, &ctx, thumbnails);
    } else {
        // A compare: the conversation up to the prompt above, its replies side by side below.
        let inner = body.inner(Margin::new(1, 0));
        let rows = (inner.height * 2 / 3).max(6).min(inner.height);
        let [above, below] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(rows)]).areas(inner);
        if above.height > 0 {
            pane_view.draw(pane, above, buf, &ctx, thumbnails);
        }
        columns::draw(app, pane, &mut pane_view.columns, below, buf, &ctx);
    }
    input::draw(app, theme, input, buf);
    let stats = pane_view.stats(app, pane);
    status::draw(app, theme, stats, status, buf);
    draw_overlay(app, &ctx, preview, area, buf);
}

/// The open popup, if any, over the whole frame.
fn draw_overlay(
    app: &App,
    ctx: &RenderCtx,
    preview: &mut PreviewCache,
    area: Rect,
    buf: &mut Buffer,
) {
    let theme = ctx.theme;
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help { scroll } => help::draw(app, theme, *scroll, area, buf),
        Overlay::ModelPicker(picker) => picker::draw_models(app, picker, theme, area, buf),
        Overlay::CodePicker { picker, blocks } => {
            picker::draw_code_blocks(picker, blocks, theme, area, buf);
        }
        Overlay::Browser(browser) => browser::draw(app, browser, ctx, preview, area, buf),
    }
}

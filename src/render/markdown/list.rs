//! Lists and list items: markers, numbering, hanging indents, spacing between items.
//!
//! An item is a level on the container stack whose marker is drawn on its first line and whose
//! indent (the marker's width) on every other. Spacing follows only what came before: a blank
//! line goes between two items only when the previous one held more than one non-list block,
//! so an item already on screen never moves when the next one arrives. Each item of a
//! top-level list is a unit of its own, with a [`ListCont`] that lets the streaming renderer
//! resume the list in the middle (numbering and spacing included).

use std::borrow::Cow;

use ratatui::text::{Line, Span};

use super::renderer::{Level, LevelKind, Renderer};
use super::{Ctx, ListCont, Unit};
use crate::render::wrap::{self, spaces};

const BULLETS: [&str; 3] = ["• ", "◦ ", "▪ "];

pub(super) struct ListState {
    next: Option<u64>,
    /// Richness of the previous item; `None` before the first item.
    prev_rich: Option<bool>,
    depth: usize,
    top: bool,
    /// Output line where the list (with its separator) started, for the first item's unit.
    start_line: usize,
    start_src: usize,
    start_ctx: Ctx,
}

impl Renderer<'_, '_> {
    pub(super) fn start_list(&mut self, start: Option<u64>, offset: usize) {
        self.flush_inline();
        let top = self.at_root();
        let start_line = self.out.len();
        let start_src = self.line_start(offset);
        let start_ctx = self.ctx_here();
        let depth = self.lists.len();
        let cont = if top && self.cont_pending {
            self.ctx_in.list_cont.clone()
        } else {
            None
        };
        self.cont_pending = false;
        let state = match cont {
            Some(c) => {
                // More items of a list that started before this text: no separator.
                let root = &mut self.levels[0];
                root.blocks = root.blocks.max(1);
                ListState {
                    next: c.next_number,
                    prev_rich: Some(c.prev_rich),
                    depth,
                    top,
                    start_line,
                    start_src,
                    start_ctx: Ctx {
                        list_cont: Some(c),
                        ..start_ctx
                    },
                }
            }
            None => {
                self.begin_block(true);
                ListState {
                    next: start,
                    prev_rich: None,
                    depth,
                    top,
                    start_line,
                    start_src,
                    start_ctx,
                }
            }
        };
        self.lists.push(state);
    }

    pub(super) fn end_list(&mut self) {
        self.flush_inline();
        self.lists.pop();
    }

    pub(super) fn start_item(&mut self, offset: usize) {
        self.flush_inline();
        if self.lists.is_empty() {
            return;
        }
        self.item_unit(offset);
        let list = self.lists.last_mut().expect("checked above");
        let sep = list.prev_rich == Some(true);
        let marker = match list.next.as_mut() {
            Some(n) => {
                let s = format!("{n}. ");
                *n = n.saturating_add(1);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(BULLETS[list.depth % BULLETS.len()]),
        };
        if sep {
            self.blank_line();
        }
        let w = wrap::display_width(&marker);
        self.levels.push(Level {
            kind: LevelKind::Item,
            marker: Some(Span::styled(marker, self.theme.list_marker)),
            indent: Span::raw(spaces(w)),
            blocks: 0,
            non_list: 0,
        });
    }

    /// An item of a top-level list starts a unit: the first one where the list (and its
    /// separator) began, later ones with the context to continue the list from there.
    fn item_unit(&mut self, offset: usize) {
        let Some(list) = self.lists.last() else {
            return;
        };
        if !(list.top && self.at_root()) {
            return;
        }
        let unit = match list.prev_rich {
            None => Unit {
                src: list.start_src,
                line: list.start_line,
                ctx: list.start_ctx.clone(),
            },
            Some(prev_rich) => Unit {
                src: self.line_start(offset),
                line: self.out.len(),
                ctx: Ctx {
                    code_blocks: self.code_blocks,
                    has_prev: true,
                    list_cont: Some(ListCont {
                        next_number: list.next,
                        prev_rich,
                    }),
                    code_skip: None,
                },
            },
        };
        self.units.push(unit);
    }

    pub(super) fn end_item(&mut self) {
        self.flush_inline();
        if !self
            .levels
            .last()
            .is_some_and(|l| l.kind == LevelKind::Item)
        {
            return;
        }
        if self.levels.last().is_some_and(|l| l.marker.is_some()) {
            // An empty item still shows its marker (without trailing space).
            let mut first = self.first_prefix();
            if let Some(last) = first.last_mut() {
                last.content = Cow::Owned(last.content.trim_end().to_string());
            }
            let (first, _) = wrap::fit_indent(&first, self.width);
            self.out.push(Line::from(first.into_owned()));
            self.consume_markers();
        }
        let level = self.levels.pop().expect("checked");
        if let Some(list) = self.lists.last_mut() {
            list.prev_rich = Some(level.non_list >= 2);
        }
    }
}

//! Tables: cells collected as spans, then laid out by display width when the table ends.
//!
//! If the natural column widths do not fit, the widest columns are narrowed and their cells
//! wrap ([`fit_columns`]); if even 3 columns per cell do not fit, each row is shown as
//! `header: value` lines instead ([`Renderer::table_records`]). A whole table is needed before
//! any width is known, so a streaming table is re-rendered until it is complete.

use std::borrow::Cow;

use pulldown_cmark::Alignment;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::renderer::Renderer;
use crate::render::wrap::{self, LineBuf, spaces};

pub(super) struct TableState {
    aligns: Vec<Alignment>,
    rows: Vec<Vec<Vec<Span<'static>>>>,
    has_header: bool,
}

impl TableState {
    fn ncols(&self) -> usize {
        self.rows
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(0)
            .max(self.aligns.len())
    }

    /// The widest cell of each column, at least 1.
    fn natural_widths(&self, ncols: usize) -> Vec<usize> {
        (0..ncols)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|cell| wrap::spans_width(cell))
                    .max()
                    .unwrap_or(0)
                    .max(1)
            })
            .collect()
    }
}

impl Renderer<'_, '_> {
    pub(super) fn start_table(&mut self, aligns: Vec<Alignment>, offset: usize) {
        self.open_block(offset);
        self.table = Some(TableState {
            aligns,
            rows: Vec::new(),
            has_header: false,
        });
    }

    /// The header row or a body row.
    pub(super) fn start_row(&mut self) {
        if let Some(t) = self.table.as_mut() {
            t.rows.push(Vec::new());
        }
    }

    pub(super) fn end_head(&mut self) {
        if let Some(t) = self.table.as_mut() {
            t.has_header = true;
        }
    }

    pub(super) fn start_cell(&mut self) {
        self.in_cell = true;
        self.inline.clear();
        let header = self
            .table
            .as_ref()
            .is_some_and(|t| t.rows.len() == 1 && !t.has_header);
        let style = if header {
            self.base_style().patch(self.theme.table_header)
        } else {
            self.base_style()
        };
        self.styles.push(style);
    }

    pub(super) fn end_cell(&mut self) {
        self.styles.pop();
        self.in_cell = false;
        let cell = std::mem::take(&mut self.inline);
        if let Some(row) = self.table.as_mut().and_then(|t| t.rows.last_mut()) {
            row.push(cell);
        }
    }

    pub(super) fn end_table(&mut self) {
        if let Some(table) = self.table.take() {
            self.table_block(&table);
        }
    }

    fn table_block(&mut self, table: &TableState) {
        let ncols = table.ncols();
        if ncols == 0 {
            return;
        }
        let first = self.first_prefix();
        let rest = self.rest_prefix();
        let (_, pw) = wrap::fit_indent(&rest, self.width);
        let avail = self.width.saturating_sub(pw).max(1);
        let natural = table.natural_widths(ncols);
        let sep_w = 3 * (ncols - 1);
        let Some(widths) = fit_columns(&natural, avail.saturating_sub(sep_w)) else {
            self.table_records(table, ncols, &first, &rest);
            return;
        };
        for (r, row) in table.rows.iter().enumerate() {
            let prefix = if r == 0 { &first } else { &rest };
            self.table_row(table, row, &widths, prefix, &rest);
            if r == 0 && table.has_header {
                let mut line = LineBuf::default();
                line.push_spans(&rest);
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                line.push(&rule.join("─┼─"), self.theme.rule);
                self.out.push(line.take());
            }
        }
        self.consume_markers();
    }

    /// One row as lines: each cell wrapped to its column, aligned, joined by rules. The first
    /// line starts with `first`, the others with `rest`.
    fn table_row(
        &mut self,
        table: &TableState,
        row: &[Vec<Span<'static>>],
        widths: &[usize],
        first: &[Span<'static>],
        rest: &[Span<'static>],
    ) {
        let ncols = widths.len();
        let cells: Vec<Vec<Line<'static>>> = (0..ncols)
            .map(|c| {
                let mut lines = Vec::new();
                if let Some(cell) = row.get(c) {
                    wrap::wrap_into(&mut lines, cell, widths[c], &[], &[]);
                }
                lines
            })
            .collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
        for i in 0..height {
            let mut line = LineBuf::default();
            line.push_spans(if i == 0 { first } else { rest });
            for c in 0..ncols {
                if c > 0 {
                    line.push_cow(Cow::Borrowed(" │ "), self.theme.rule);
                }
                let (spans, w) = match cells[c].get(i) {
                    Some(l) => (&l.spans[..], wrap::spans_width(&l.spans)),
                    None => (&[][..], 0),
                };
                let pad = widths[c].saturating_sub(w);
                let (left, right) = match table.aligns.get(c) {
                    Some(Alignment::Right) => (pad, 0),
                    Some(Alignment::Center) => (pad / 2, pad - pad / 2),
                    _ => (0, pad),
                };
                line.push_cow(spaces(left), Style::default());
                line.push_spans(spans);
                // Trailing padding of the last column is not needed.
                if c + 1 < ncols {
                    line.push_cow(spaces(right), Style::default());
                }
            }
            let mut l = line.take();
            // The line fits by construction; keep the promise even if widths misbehave.
            let (fitted, _) = wrap::clip_spans(&l.spans, self.width);
            l.spans = fitted;
            self.out.push(l);
        }
    }

    /// Too narrow for columns: each row becomes `header: value` lines.
    fn table_records(
        &mut self,
        table: &TableState,
        ncols: usize,
        first: &[Span<'static>],
        rest: &[Span<'static>],
    ) {
        let headers: Vec<Vec<Span<'static>>> = if table.has_header {
            table.rows.first().cloned().unwrap_or_default()
        } else {
            Vec::new()
        };
        let body = if table.has_header {
            &table.rows[1.min(table.rows.len())..]
        } else {
            &table.rows[..]
        };
        let mut first_line = true;
        for (r, row) in body.iter().enumerate() {
            if r > 0 {
                let mut line = LineBuf::default();
                line.push_spans(rest);
                line.push("─", self.theme.rule);
                let mut l = line.take();
                l.spans = wrap::clip_spans(&l.spans, self.width).0;
                self.out.push(l);
            }
            for c in 0..ncols {
                let mut spans: Vec<Span<'static>> = Vec::new();
                if let Some(h) = headers.get(c) {
                    let style = self.theme.table_header;
                    spans.extend(h.iter().map(|s| Span::styled(s.content.clone(), style)));
                    spans.push(Span::styled(": ", self.theme.dim));
                }
                if let Some(cell) = row.get(c) {
                    spans.extend(cell.iter().cloned());
                }
                let p = if first_line { first } else { rest };
                first_line = false;
                wrap::wrap_into(&mut self.out, &spans, self.width, p, rest);
            }
        }
        if body.is_empty() && !headers.is_empty() {
            let mut spans = Vec::new();
            for (c, h) in headers.iter().enumerate() {
                if c > 0 {
                    spans.push(Span::styled(" │ ", self.theme.rule));
                }
                spans.extend(h.iter().cloned());
            }
            wrap::wrap_into(&mut self.out, &spans, self.width, first, rest);
        }
        self.consume_markers();
    }
}

/// Column widths that fit `budget`: natural widths if they fit, else the widest columns are
/// capped (water-filling). `None` if fewer than 3 columns per cell would remain.
fn fit_columns(natural: &[usize], budget: usize) -> Option<Vec<usize>> {
    let total: usize = natural.iter().sum();
    if total <= budget {
        return Some(natural.to_vec());
    }
    let min = 3;
    if budget < natural.iter().map(|&w| w.min(min)).sum::<usize>() || budget < min * natural.len() {
        return None;
    }
    // Largest cap c with sum(min(w, c)) <= budget.
    let (mut lo, mut hi) = (min, natural.iter().copied().max().unwrap_or(min));
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let sum: usize = natural.iter().map(|&w| w.min(mid)).sum();
        if sum <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut widths: Vec<usize> = natural.iter().map(|&w| w.min(lo)).collect();
    let mut left = budget - widths.iter().sum::<usize>();
    for (w, &n) in widths.iter_mut().zip(natural) {
        if left == 0 {
            break;
        }
        if *w < n {
            *w += 1;
            left -= 1;
        }
    }
    Some(widths)
}

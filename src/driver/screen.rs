//! What the terminal shows, and the least output that brings it to the next frame.
//!
//! ratatui's `Terminal::draw` diffs each frame against the last one cell by cell. That is right
//! for most changes and wrong for the commonest one while a reply streams: when the pane scrolls
//! by a line, every row differs from the row before it, and the diff reprints the whole pane cell
//! by cell (tens of thousands of cursor moves per reply). [`Screen`] keeps its own copy of what
//! the terminal shows and, before diffing, looks for a band of rows that moved up or down as a
//! block ([`find_scroll`]). It asks the terminal to scroll that band (a scrolling region: a few
//! bytes), shifts its copy the same way, and only then diffs, so a new line at the bottom of a
//! following pane costs that line. The guess only decides how much is written: the copy is shifted
//! exactly as the terminal shifts, and the diff afterwards corrects whatever the guess got wrong.
//!
//! ratatui's own buffers serve as the canvas the view draws on; its diff and cursor handling are
//! not used. Thumbnails turn the scrolling off (a terminal may or may not move an image with the
//! text it scrolls).

use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Rect;

/// Rows of one frame that moved as a block since the frame before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scroll {
    /// The band of rows the terminal scrolls (`top..bottom`).
    pub top: u16,
    pub bottom: u16,
    /// Rows the content moved up (negative: down).
    pub by: i16,
}

/// The terminal's contents as far as tern knows them, and the drawing that updates them.
#[derive(Debug, Default)]
pub(crate) struct Screen {
    /// What the terminal shows (empty before the first frame and after a clear).
    shown: Buffer,
    /// A hash of each row of `shown`.
    rows: Vec<u64>,
    /// The next frame's rows, kept to save an allocation per frame.
    next_rows: Vec<u64>,
    /// The buffer the frame after next is drawn on.
    spare: Buffer,
}

impl Screen {
    /// Forget what the terminal shows (after something cleared it); the next frame is drawn
    /// whole.
    pub(crate) fn invalidate(&mut self) {
        self.shown = Buffer::default();
        self.rows.clear();
    }

    /// The frame last drawn.
    pub(crate) fn shown(&self) -> &Buffer {
        &self.shown
    }

    /// Draw a frame made by `render`, writing only what differs from what is shown; bands of
    /// rows that moved are scrolled rather than rewritten unless `scroll` is false. The backend
    /// is flushed once, at the end.
    pub(crate) fn draw<B: Backend>(
        &mut self,
        terminal: &mut Terminal<B>,
        scroll: bool,
        render: impl FnOnce(&mut ratatui::Frame),
    ) -> Result<(), B::Error> {
        // A new size clears the terminal (and ratatui's buffers).
        terminal.autoresize()?;
        let mut frame = terminal.get_frame();
        let area = frame.area();
        render(&mut frame);
        if self.spare.area != area {
            self.spare = Buffer::empty(area);
        }
        let next = std::mem::replace(
            terminal.current_buffer_mut(),
            std::mem::take(&mut self.spare),
        );
        // The canvas for the next frame, blank as `get_frame` expects.
        terminal.current_buffer_mut().reset();
        if self.shown.area != area {
            self.shown = Buffer::empty(area);
            self.rows = row_hashes(&self.shown, Vec::new());
        }
        self.next_rows = row_hashes(&next, std::mem::take(&mut self.next_rows));
        let backend = terminal.backend_mut();
        if scroll && let Some(band) = find_scroll(&self.rows, &self.next_rows) {
            let rows = band.top..band.bottom;
            if band.by > 0 {
                backend.scroll_region_up(rows, band.by.unsigned_abs())?;
            } else {
                backend.scroll_region_down(rows, band.by.unsigned_abs())?;
            }
            shift(&mut self.shown, band);
        }
        backend.draw(changes(&self.shown, &next).into_iter())?;
        backend.flush()?;
        self.spare = std::mem::replace(&mut self.shown, next);
        std::mem::swap(&mut self.rows, &mut self.next_rows);
        Ok(())
    }
}

/// The cells of `next` to write over `shown`: what ratatui's diff gives, a row at a time. A row
/// equal to the one shown is passed over, and a row of single-width cells is compared cell by
/// cell; any other row (wide characters, cells with a diff option) goes through ratatui's diff,
/// which knows their rules.
fn changes<'a>(shown: &Buffer, next: &'a Buffer) -> Vec<(u16, u16, &'a Cell)> {
    let width = usize::from(next.area.width);
    let mut out = Vec::new();
    if width == 0 || shown.area != next.area {
        return shown.diff(next);
    }
    let rows = shown.content.chunks(width).zip(next.content.chunks(width));
    for (y, (before, after)) in (next.area.y..).zip(rows) {
        if before == after {
            continue;
        }
        if before.iter().chain(after).all(is_plain) {
            let cells = (next.area.x..).zip(before.iter().zip(after));
            out.extend(
                cells
                    .filter(|(_, (b, a))| b != a)
                    .map(|(x, (_, a))| (x, y, a)),
            );
            continue;
        }
        let row = |cells: &[Cell]| Buffer {
            area: Rect::new(next.area.x, 0, next.area.width, 1),
            content: cells.to_vec(),
        };
        let start = usize::from(y - next.area.y) * width;
        out.extend(row(before).diff(&row(after)).into_iter().map(|(x, _, _)| {
            let cell = &next.content[start + usize::from(x - next.area.x)];
            (x, y, cell)
        }));
    }
    out
}

/// A cell that takes one column and no special treatment from the diff.
#[allow(deprecated)] // `skip` is still honoured by ratatui's diff
fn is_plain(cell: &Cell) -> bool {
    use unicode_width::UnicodeWidthChar;
    let symbol = cell.symbol();
    let one_column = symbol.len() == 1 || {
        let mut chars = symbol.chars();
        matches!((chars.next(), chars.next()), (Some(c), None) if c.width() == Some(1))
    };
    one_column && cell.diff_option == ratatui::buffer::CellDiffOption::None && !cell.skip
}

/// A hash of each row of `buffer`, into `rows` (reused).
fn row_hashes(buffer: &Buffer, mut rows: Vec<u64>) -> Vec<u64> {
    rows.clear();
    let width = usize::from(buffer.area.width).max(1);
    rows.extend(buffer.content.chunks(width).map(|row| {
        row.iter().fold(0xcbf2_9ce4_8422_2325, |hash, cell| {
            mix(mix(hash, cell_bits(cell)), symbol_bits(cell.symbol()))
        })
    }));
    rows
}

/// A cell's style, folded to one word.
fn cell_bits(cell: &Cell) -> u64 {
    (color_bits(cell.fg) << 32) ^ (color_bits(cell.bg) << 8) ^ u64::from(cell.modifier.bits())
}

fn color_bits(color: ratatui::style::Color) -> u64 {
    use ratatui::style::Color;
    match color {
        Color::Rgb(r, g, b) => 0x100_0000 | u64::from(r) << 16 | u64::from(g) << 8 | u64::from(b),
        Color::Indexed(i) => 0x200_0000 | u64::from(i),
        // The named colours and `Reset`, told apart by their discriminant.
        other => 0x300_0000 | u64::from(named_color_index(other)),
    }
}

fn named_color_index(color: ratatui::style::Color) -> u8 {
    use ratatui::style::Color;
    match color {
        Color::Reset => 0,
        Color::Black => 1,
        Color::Red => 2,
        Color::Green => 3,
        Color::Yellow => 4,
        Color::Blue => 5,
        Color::Magenta => 6,
        Color::Cyan => 7,
        Color::Gray => 8,
        Color::DarkGray => 9,
        Color::LightRed => 10,
        Color::LightGreen => 11,
        Color::LightYellow => 12,
        Color::LightBlue => 13,
        Color::LightMagenta => 14,
        Color::LightCyan => 15,
        Color::White => 16,
        Color::Rgb(..) | Color::Indexed(_) => 17,
    }
}

/// A symbol's bytes, folded to one word (most symbols are one ASCII byte).
fn symbol_bits(symbol: &str) -> u64 {
    match symbol.as_bytes() {
        [b] => u64::from(*b),
        bytes => bytes
            .iter()
            .fold(0x8000_0000_0000_0000, |hash, b| mix(hash, u64::from(*b))),
    }
}

fn mix(hash: u64, value: u64) -> u64 {
    (hash.rotate_left(5) ^ value).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// The band of rows that moved as a block between two frames whose rows hash to `shown` and
/// `next`, when scrolling it saves rewriting at least two rows.
///
/// For each shift, the longest run of rows that the shift explains is scored by how many of
/// those rows changed in place (rows equal either way, such as blank ones, earn nothing); the
/// best score wins.
pub(crate) fn find_scroll(shown: &[u64], next: &[u64]) -> Option<Scroll> {
    let height = shown.len().min(next.len());
    let mut best: Option<(usize, Scroll)> = None;
    for by in 1..height {
        for up in [true, false] {
            // Row `r` of the next frame is row `r + by` (up) or `r - by` (down) of the shown one.
            let source = |r: usize| if up { r + by } else { r.wrapping_sub(by) };
            let rows = if up { 0..height - by } else { by..height };
            let (mut run_start, mut score) = (None, 0);
            for r in rows.clone().chain(std::iter::once(usize::MAX)) {
                let moved = r != usize::MAX && next[r] == shown[source(r)];
                if moved {
                    run_start.get_or_insert(r);
                    score += usize::from(next[r] != shown[r]);
                    continue;
                }
                if let Some(first) = run_start.take() {
                    let last = if r == usize::MAX { rows.end } else { r };
                    if score >= 2 && best.as_ref().is_none_or(|(s, _)| score > *s) {
                        let (top, bottom) = if up {
                            (first, last + by)
                        } else {
                            (first - by, last)
                        };
                        let by = i16::try_from(by).unwrap_or(i16::MAX);
                        best = Some((
                            score,
                            Scroll {
                                top: top as u16,
                                bottom: bottom as u16,
                                by: if up { by } else { -by },
                            },
                        ));
                    }
                }
                score = 0;
            }
        }
    }
    best.map(|(_, scroll)| scroll)
}

/// Shift the rows `band.top..band.bottom` of `buffer` as a terminal scrolls a region: by
/// `band.by` rows, the rows scrolled in blank (default colours).
pub(crate) fn shift(buffer: &mut Buffer, band: Scroll) {
    let width = usize::from(buffer.area.width);
    let Rect { height, .. } = buffer.area;
    let (top, bottom) = (band.top.min(height), band.bottom.min(height));
    if top >= bottom {
        return;
    }
    let region = &mut buffer.content[usize::from(top) * width..usize::from(bottom) * width];
    let cells = (usize::from(band.by.unsigned_abs()) * width).min(region.len());
    if band.by > 0 {
        region.rotate_left(cells);
        let len = region.len();
        region[len - cells..].fill(Cell::EMPTY);
    } else {
        region.rotate_right(cells);
        region[..cells].fill(Cell::EMPTY);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use ratatui::backend::TestBackend;
    use ratatui::style::{Color, Style};

    use super::*;

    fn rows(lines: &[&str]) -> Vec<u64> {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 10, lines.len() as u16));
        for (y, line) in lines.iter().enumerate() {
            buffer.set_string(0, y as u16, line, Style::default());
        }
        row_hashes(&buffer, Vec::new())
    }

    #[test]
    fn a_pane_that_gained_a_line_at_the_bottom_scrolls_up_by_one() {
        let shown = rows(&["tabs", "a", "b", "c", "d", "", "input", "status"]);
        let next = rows(&["tabs", "b", "c", "d", "e", "", "input", "status 2"]);
        // Rows 1..4 are the old rows 2..5: the band is 1..5, scrolled up by one.
        assert_eq!(
            find_scroll(&shown, &next),
            Some(Scroll {
                top: 1,
                bottom: 5,
                by: 1
            })
        );
    }

    #[test]
    fn a_pane_scrolled_back_moves_down() {
        let shown = rows(&["tabs", "c", "d", "e", "f", "status"]);
        let next = rows(&["tabs", "a", "b", "c", "d", "status"]);
        assert_eq!(
            find_scroll(&shown, &next),
            Some(Scroll {
                top: 1,
                bottom: 5,
                by: -2
            })
        );
    }

    #[test]
    fn nothing_scrolls_when_little_moved() {
        let same = rows(&["a", "b", "c", "d"]);
        assert_eq!(find_scroll(&same, &same), None, "nothing changed");
        let blank = rows(&["", "", "", "x"]);
        let moved_blanks = rows(&["", "", "y", ""]);
        assert_eq!(
            find_scroll(&blank, &moved_blanks),
            None,
            "blank rows earn nothing"
        );
        let one = rows(&["a", "b", "z", "q"]);
        let one_moved = rows(&["b", "w", "v", "u"]);
        assert_eq!(
            find_scroll(&one, &one_moved),
            None,
            "one row is not worth it"
        );
    }

    #[test]
    fn shifting_a_band_moves_its_rows_and_blanks_the_rest() {
        let mut buffer = Buffer::with_lines(["0", "1", "2", "3", "4"]);
        shift(
            &mut buffer,
            Scroll {
                top: 1,
                bottom: 4,
                by: 1,
            },
        );
        assert_eq!(buffer, Buffer::with_lines(["0", "2", "3", " ", "4"]));
        shift(
            &mut buffer,
            Scroll {
                top: 0,
                bottom: 3,
                by: -2,
            },
        );
        assert_eq!(buffer, Buffer::with_lines([" ", " ", "0", " ", "4"]));
    }

    /// A frame of `lines` from a scrolling text, `offset` lines in, with a changing first and
    /// last row (a header and a status line) and a coloured row now and then.
    fn frame(width: u16, height: u16, offset: usize, status: usize) -> Buffer {
        let mut buffer = Buffer::empty(Rect::new(0, 0, width, height));
        buffer.set_string(0, 0, "tabs", Style::default().bg(Color::Blue));
        for y in 1..height - 1 {
            let n = offset + usize::from(y);
            let style = if n.is_multiple_of(5) {
                Style::default().fg(Color::Rgb(200, 10, 10))
            } else {
                Style::default()
            };
            let text = format!("line {n} {}", "word ".repeat(n % 7));
            buffer.set_string(0, y, &text, style);
        }
        buffer.set_string(0, height - 1, format!("status {status}"), Style::default());
        buffer
    }

    proptest! {
        /// Whatever the frames, the terminal ends up showing exactly the last one: the scroll
        /// is only ever an optimisation.
        #[test]
        fn the_terminal_always_shows_the_frame(
            steps in proptest::collection::vec((0usize..12, 0usize..3, any::<bool>()), 1..12),
            height in 3u16..12,
        ) {
            let width = 16;
            let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
            let mut screen = Screen::default();
            let mut offset = 20usize;
            for (n, (moved, status, scroll)) in steps.into_iter().enumerate() {
                offset = offset + moved - 5.min(offset);
                let next = frame(width, height, offset, status + n % 2);
                screen
                    .draw(&mut terminal, scroll, |f| {
                        *f.buffer_mut() = next.clone();
                    })
                    .unwrap();
                prop_assert_eq!(terminal.backend().buffer(), &next);
                prop_assert_eq!(screen.shown(), &next);
            }
        }
    }

    /// A buffer of rows made of `words` (some wide, some styled), as the view would draw them.
    fn buffer_of(rows: &[Vec<(usize, bool)>], width: u16) -> Buffer {
        const WORDS: [&str; 8] = ["a", "bc", " ", "中文", "é", "🙂", "x\u{fe0f}", "│"];
        let mut buffer = Buffer::empty(Rect::new(0, 0, width, rows.len() as u16));
        for (y, row) in rows.iter().enumerate() {
            let mut x = 0;
            for (word, bold) in row {
                let style = if *bold {
                    Style::default().fg(Color::Red)
                } else {
                    Style::default()
                };
                let (end, _) = buffer.set_stringn(x, y as u16, WORDS[*word], 40, style);
                x = end;
                if x >= width {
                    break;
                }
            }
        }
        buffer
    }

    proptest! {
        /// Row by row, the same cells as ratatui's own diff, wide characters included.
        #[test]
        fn changes_are_ratatuis_diff(
            before in proptest::collection::vec(proptest::collection::vec((0usize..8, any::<bool>()), 0..12), 4),
            after in proptest::collection::vec(proptest::collection::vec((0usize..8, any::<bool>()), 0..12), 4),
        ) {
            let (shown, next) = (buffer_of(&before, 12), buffer_of(&after, 12));
            let ours: Vec<_> = changes(&shown, &next).into_iter().map(|(x, y, c)| (x, y, c.clone())).collect();
            let theirs: Vec<_> = shown.diff(&next).into_iter().map(|(x, y, c)| (x, y, c.clone())).collect();
            prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn a_pane_that_follows_a_growing_text_writes_a_fraction_of_what_redrawing_it_would() {
        // The bytes the real backend writes for ten frames of a pane following a text that
        // grows a line a frame, with band scrolling and without.
        let written = |scroll: bool| {
            let (width, height) = (60, 24);
            let backend =
                super::super::terminal::SizedBackend::with_size(Vec::new(), width, height);
            let mut terminal = Terminal::new(backend).unwrap();
            let mut screen = Screen::default();
            for offset in 0..=10 {
                let next = frame(width, height, offset, offset);
                screen
                    .draw(&mut terminal, scroll, |f| *f.buffer_mut() = next.clone())
                    .unwrap();
                assert_eq!(screen.shown(), &next);
            }
            terminal.backend().written().len()
        };
        let (scrolled, redrawn) = (written(true), written(false));
        assert!(
            scrolled * 3 < redrawn,
            "scrolling wrote {scrolled} bytes, redrawing {redrawn}"
        );
    }
}

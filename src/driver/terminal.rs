//! The terminal in app mode, and the backend that draws to it.
//!
//! [`TerminalGuard`] enters raw mode and the alternate screen and restores the terminal when it
//! drops, and from the panic hook, so a crash never leaves a broken shell. [`SizedBackend`] is
//! crossterm's backend with three changes: its size is remembered (resize events update it)
//! instead of asked of the tty on every frame; every cell is checked on the way out, the last
//! line of defence against a control character a view path let through; and a frame's output
//! is gathered and written at once, between the marks of synchronized output (mode 2026), so a
//! terminal never shows half a frame and a frame costs one write. Terminals that do not know the
//! mode ignore it, as they ignore every private mode they do not know, so it is always sent.

use std::io::Write;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::backend::CrosstermBackend;
use ratatui::buffer::Cell;

/// Puts the terminal in app mode and restores it on drop (also on panic, via the hook).
pub(crate) struct TerminalGuard;

impl TerminalGuard {
    pub(crate) fn enter() -> std::io::Result<TerminalGuard> {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            hook(info);
        }));
        enter_app_mode()?;
        Ok(TerminalGuard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Raw mode, the alternate screen, bracketed paste, mouse wheel, hidden cursor.
#[allow(clippy::disallowed_methods)] // our own sequences to the terminal
pub(crate) fn enter_app_mode() -> std::io::Result<()> {
    enable_raw_mode()?;
    crossterm::execute!(
        std::io::stdout(),
        EnterAlternateScreen,
        EnableBracketedPaste,
        EnableMouseCapture,
        crossterm::cursor::Hide
    )
}

/// The terminal as the shell left it (errors ignored: this also runs while panicking).
#[allow(clippy::disallowed_methods)] // our own sequences to the terminal
pub(crate) fn restore_terminal() {
    let _ = crossterm::execute!(
        std::io::stdout(),
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
}

/// Begin synchronized update: the terminal holds the screen until the end mark.
const SYNC_BEGIN: &[u8] = b"\x1b[?2026h";
/// End synchronized update: show what came since the begin mark.
const SYNC_END: &[u8] = b"\x1b[?2026l";

/// The crossterm backend with its size remembered rather than asked of the tty on every frame
/// (an open of /dev/tty plus an ioctl per draw; resize events update it), writing into a buffer
/// that [`Backend::flush`](ratatui::backend::Backend::flush) sends to `out` in one write.
pub(crate) struct SizedBackend<W: Write> {
    /// Writes into the frame's buffer, which starts with [`SYNC_BEGIN`].
    inner: CrosstermBackend<Vec<u8>>,
    out: W,
    size: ratatui::layout::Size,
    /// Where this frame's thumbnails are: their cells hold the image protocol's sequences.
    images: crate::ui::ImageAreas,
}

impl<W: Write> SizedBackend<W> {
    pub(crate) fn new(writer: W) -> std::io::Result<Self> {
        let (width, height) = crossterm::terminal::size()?;
        Ok(Self::with_size(writer, width, height))
    }

    pub(crate) fn with_size(writer: W, width: u16, height: u16) -> Self {
        SizedBackend {
            inner: CrosstermBackend::new(SYNC_BEGIN.to_vec()),
            out: writer,
            size: ratatui::layout::Size::new(width, height),
            images: crate::ui::ImageAreas::default(),
        }
    }

    /// What was written to the terminal so far.
    #[cfg(test)]
    pub(crate) fn written(&self) -> &W {
        &self.out
    }

    /// Let the cells of the thumbnails the view records in `areas` through as they are.
    pub(crate) fn with_image_areas(mut self, areas: crate::ui::ImageAreas) -> Self {
        self.images = areas;
        self
    }
}

/// Lets the event loop tell a backend about a resize (only the real terminal's backend needs
/// it; a test backend keeps its size).
pub trait Resizable {
    fn resized(&mut self, _width: u16, _height: u16) {}
}

impl<W: Write> Resizable for SizedBackend<W> {
    fn resized(&mut self, width: u16, height: u16) {
        self.size = ratatui::layout::Size::new(width, height);
    }
}

impl Resizable for ratatui::backend::TestBackend {}

impl<W: Write> ratatui::backend::Backend for SizedBackend<W> {
    type Error = std::io::Error;

    fn draw<'a, I>(&mut self, content: I) -> std::io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let cells: Vec<_> = content.collect();
        let clean =
            |(x, y, cell): &(u16, u16, &Cell)| cell_is_clean(cell) || self.images.contains(*x, *y);
        if cells.iter().all(clean) {
            return self.inner.draw(cells.into_iter());
        }
        let cleaned = clean_cells(&cells, &self.images);
        self.inner
            .draw(cleaned.iter().map(|(x, y, cell)| (*x, *y, cell)))
    }
    fn append_lines(&mut self, n: u16) -> std::io::Result<()> {
        self.inner.append_lines(n)
    }
    fn hide_cursor(&mut self) -> std::io::Result<()> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> std::io::Result<()> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> std::io::Result<ratatui::layout::Position> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<ratatui::layout::Position>>(
        &mut self,
        position: P,
    ) -> std::io::Result<()> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> std::io::Result<()> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ratatui::backend::ClearType) -> std::io::Result<()> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> std::io::Result<ratatui::layout::Size> {
        Ok(self.size)
    }
    fn window_size(&mut self) -> std::io::Result<ratatui::backend::WindowSize> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let frame = self.inner.writer_mut();
        if frame.len() == SYNC_BEGIN.len() {
            return Ok(());
        }
        frame.extend_from_slice(SYNC_END);
        let written = self.out.write_all(frame).and_then(|()| self.out.flush());
        frame.truncate(SYNC_BEGIN.len());
        written
    }
    fn scroll_region_up(&mut self, region: std::ops::Range<u16>, by: u16) -> std::io::Result<()> {
        self.inner.scroll_region_up(region, by)
    }
    fn scroll_region_down(&mut self, region: std::ops::Range<u16>, by: u16) -> std::io::Result<()> {
        self.inner.scroll_region_down(region, by)
    }
}

/// Whether a cell's symbol is safe to send to the terminal as it is.
fn cell_is_clean(cell: &Cell) -> bool {
    let symbol = cell.symbol();
    symbol.bytes().all(|b| (0x20..0x7f).contains(&b))
        || crate::sanitize::for_clipboard(symbol).len() == symbol.len()
}

/// The last line of defence: whatever a view path forgot, no control character, escape
/// sequence or invisible character in a cell reaches the terminal (the layout already gave the
/// cell its width, so such characters are dropped here, not marked).
/// The cells of a thumbnail (`images`) are the image protocol's, made from decoded pixels.
fn clean_cells(
    cells: &[(u16, u16, &Cell)],
    images: &crate::ui::ImageAreas,
) -> Vec<(u16, u16, Cell)> {
    cells
        .iter()
        .map(|(x, y, cell)| {
            let mut cell = (*cell).clone();
            if !cell_is_clean(&cell) && !images.contains(*x, *y) {
                let symbol = crate::sanitize::for_clipboard(cell.symbol()).into_owned();
                cell.set_symbol(if symbol.is_empty() { " " } else { &symbol });
            }
            (*x, *y, cell)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_one_write_between_the_synchronized_output_marks() {
        use ratatui::backend::Backend;

        /// Records each write it is given.
        #[derive(Default)]
        struct Writes(Vec<Vec<u8>>);
        impl Write for Writes {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.push(buf.to_vec());
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        let mut backend = SizedBackend::with_size(Writes::default(), 10, 3);
        backend.flush().unwrap();
        assert!(backend.out.0.is_empty(), "an empty frame writes nothing");
        let cells = [Cell::new("a"), Cell::new("b")];
        backend
            .draw([(0, 0, &cells[0]), (5, 2, &cells[1])].into_iter())
            .unwrap();
        backend.scroll_region_up(0..2, 1).unwrap();
        backend.hide_cursor().unwrap();
        assert!(
            backend.out.0.is_empty(),
            "nothing is written before the flush"
        );
        backend.flush().unwrap();
        assert_eq!(backend.out.0.len(), 1, "one write");
        let frame = String::from_utf8(backend.out.0[0].clone()).unwrap();
        assert!(frame.starts_with("\x1b[?2026h") && frame.ends_with("\x1b[?2026l"));
        assert!(frame.contains('a') && frame.contains('b') && frame.contains("\x1b[1;2r"));
        backend.flush().unwrap();
        assert_eq!(backend.out.0.len(), 1, "the next flush has nothing new");
    }

    #[test]
    fn no_cell_sends_a_control_or_hidden_character_to_the_terminal() {
        let raw = [
            "a",
            "\u{1b}",
            "b\u{202e}",
            "中",
            "\u{7}",
            "👨\u{200d}👩",
            "\u{9b}",
        ];
        let cells: Vec<Cell> = raw.iter().copied().map(Cell::new).collect();
        let refs: Vec<(u16, u16, &Cell)> = cells
            .iter()
            .enumerate()
            .map(|(x, c)| (x as u16, 0, c))
            .collect();
        let cleaned: Vec<String> = clean_cells(&refs, &crate::ui::ImageAreas::default())
            .iter()
            .map(|(_, _, c)| c.symbol().to_owned())
            .collect();
        assert_eq!(cleaned, ["a", " ", "b", "中", " ", "👨\u{200d}👩", " "]);
        assert!(cells.iter().filter(|c| !cell_is_clean(c)).count() == 4);
    }
}

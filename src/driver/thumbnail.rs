//! Thumbnails: whether the terminal shows images (asked once at start, in raw mode, before
//! the first frame), and each image's bytes decoded and scaled down on the blocking pool.
//!
//! What decides is a pure function ([`choose`]) of the `images` setting, whether this runs
//! inside tmux (which drops image sequences unless it is told to pass them through) and what
//! the terminal answered; the query itself is ratatui-image's, with a short timeout. Only
//! kitty graphics, iTerm2 and sixel count: on any other terminal the chips stay alone.

use std::sync::Arc;
use std::time::Duration;

use ratatui_image::picker::{Picker, ProtocolType, cap_parser::QueryStdioOptions};

use super::effects::Driver;
use crate::app::Action;
use crate::config::Images;

/// How long the terminal has to answer the query.
const QUERY_TIMEOUT: Duration = Duration::from_millis(250);

/// The longest edge of a decoded thumbnail, in pixels (8 rows of a large font, with room).
pub(crate) const THUMB_PIXELS: u32 = 320;

/// Whether the terminal is to be asked at all.
pub(crate) fn should_query(setting: Images, in_tmux: bool) -> bool {
    match setting {
        Images::Off => false,
        Images::On => true,
        Images::Auto => !in_tmux,
    }
}

/// The image protocol to draw thumbnails with, if any, from the setting, tmux, and what the
/// query found (`None`: it was not asked, or nothing answered).
pub(crate) fn choose(
    setting: Images,
    in_tmux: bool,
    answer: Option<ProtocolType>,
) -> Option<ProtocolType> {
    if !should_query(setting, in_tmux) {
        return None;
    }
    answer.filter(|p| *p != ProtocolType::Halfblocks)
}

/// Whether the environment says this runs inside tmux (or screen, which blocks images too).
pub(crate) fn in_tmux(var: impl Fn(&str) -> Option<String>) -> bool {
    var("TMUX").is_some_and(|v| !v.is_empty())
        || var("TERM").is_some_and(|t| t.starts_with("tmux") || t.starts_with("screen"))
        || var("TERM_PROGRAM").is_some_and(|t| t == "tmux")
}

/// Ask the terminal (raw mode must be on) and return what draws thumbnails, or `None`.
pub(crate) fn detect(setting: Images) -> Option<Picker> {
    let tmux = in_tmux(|name| std::env::var(name).ok());
    if !should_query(setting, tmux) {
        return None;
    }
    let options = QueryStdioOptions {
        timeout: QUERY_TIMEOUT,
        ..QueryStdioOptions::default()
    };
    let picker = Picker::from_query_stdio_with_options(options).ok()?;
    choose(setting, tmux, Some(picker.protocol_type()))?;
    Some(picker)
}

/// The thumbnail of an image's bytes: decoded (its type from the bytes), and scaled down,
/// keeping its aspect, to at most [`THUMB_PIXELS`] on its long edge.
pub(crate) fn thumbnail_of(bytes: &[u8]) -> Option<image::DynamicImage> {
    let image = image::load_from_memory(bytes).ok()?;
    Some(scale(image, THUMB_PIXELS))
}

/// `image` no larger than `max` pixels on either edge (a smaller one as it is).
pub(crate) fn scale(image: image::DynamicImage, max: u32) -> image::DynamicImage {
    if image.width() <= max && image.height() <= max {
        image
    } else {
        image.thumbnail(max, max)
    }
}

impl Driver {
    /// `Effect::LoadThumbnail`: decode and scale off the loop, answer `Action::ThumbnailLoaded`.
    pub(crate) fn load_thumbnail(&mut self, sha256: String) {
        let bytes = self.attachment_bytes.get(&sha256);
        // Bytes of an earlier session are read from the store, off the loop.
        let reader = if bytes.is_none() {
            self.reader().ok()
        } else {
            None
        };
        let tx = self.tx.clone();
        let sha = sha256.clone();
        tokio::spawn(async move {
            let image = tokio::task::spawn_blocking(move || {
                let bytes =
                    bytes.or_else(|| reader?.lock().ok()?.attachment_bytes(&sha).ok().flatten())?;
                thumbnail_of(&bytes)
            })
            .await
            .ok()
            .flatten();
            if let Some(image) = image {
                let _ = tx.send(Action::ThumbnailLoaded {
                    sha256,
                    image: Arc::new(image),
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_tmux_and_the_answer_decide() {
        let kitty = Some(ProtocolType::Kitty);
        assert_eq!(choose(Images::Auto, false, kitty), kitty);
        assert_eq!(
            choose(Images::Auto, false, Some(ProtocolType::Sixel)),
            Some(ProtocolType::Sixel)
        );
        // Halfblocks are no image: the chip alone.
        assert_eq!(
            choose(Images::Auto, false, Some(ProtocolType::Halfblocks)),
            None
        );
        assert_eq!(choose(Images::Auto, false, None), None);
        // Inside tmux only when asked for.
        assert_eq!(choose(Images::Auto, true, kitty), None);
        assert_eq!(choose(Images::On, true, kitty), kitty);
        assert_eq!(choose(Images::Off, false, kitty), None);
        assert!(!should_query(Images::Off, false));
        assert!(!should_query(Images::Auto, true));
        assert!(should_query(Images::On, true));
    }

    #[test]
    fn tmux_is_told_by_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(in_tmux(env(&[("TMUX", "/tmp/tmux-0/default,1,0")])));
        assert!(in_tmux(env(&[("TERM", "tmux-256color")])));
        assert!(in_tmux(env(&[("TERM", "screen")])));
        assert!(!in_tmux(env(&[("TERM", "xterm-kitty")])));
        assert!(!in_tmux(env(&[("TMUX", "")])));
    }

    #[test]
    fn a_thumbnail_is_scaled_down_keeping_its_aspect() {
        let big = image::DynamicImage::new_rgb8(4000, 3000);
        let small = scale(big, THUMB_PIXELS);
        assert_eq!((small.width(), small.height()), (320, 240));
        let tall = scale(image::DynamicImage::new_rgb8(100, 1000), THUMB_PIXELS);
        assert_eq!((tall.width(), tall.height()), (32, 320));
        let tiny = scale(image::DynamicImage::new_rgb8(40, 30), THUMB_PIXELS);
        assert_eq!((tiny.width(), tiny.height()), (40, 30));
    }

    #[test]
    fn a_png_decodes_to_its_thumbnail() {
        let mut png = Vec::new();
        image::DynamicImage::new_rgb8(1000, 500)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let thumb = thumbnail_of(&png).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
        assert!(thumbnail_of(b"not an image").is_none());
    }
}

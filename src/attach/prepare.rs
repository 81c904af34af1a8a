//! Turning a file into what is sent: reading it whole and once, telling its type from its
//! bytes, and refusing what the API cannot take with a message that names the file.
//!
//! The type comes from the bytes, never the name: a PNG called `x.jpg` is a PNG, and a file
//! the API cannot read is refused here, at once, rather than by the server after an upload.
//! The order of the checks matters: the API's four image formats and PDF have unmistakable
//! magic bytes; then text (UTF-8, or UTF-16 with a byte-order mark), because some other
//! formats' two-byte magics (`BM`, `P1`) begin ordinary text too; only what is none of
//! these is named, to say why it is refused.
//!
//! An image the API would scale down anyway (long edge over [`MAX_IMAGE_EDGE`]) or could not
//! take (base64 over [`MAX_IMAGE_BASE64`]) is scaled here, in its own format, so what is
//! stored and sent is what the model sees, and a 12 MB phone photo costs a fraction of the
//! upload. Any other image is sent byte for byte, but decoded fully first: a truncated file
//! fails here with its name, not as a server error later. Decoding is bounded
//! ([`image::Limits`]), so a tiny file that claims gigapixels is refused, not decoded.

use std::io::{Cursor, Read as _};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use image::{DynamicImage, ImageDecoder as _, ImageFormat, ImageReader};

use super::{
    AttachError, Attachment, AttachmentKind, MAX_FILE_BYTES, MAX_IMAGE_BASE64, MAX_IMAGE_EDGE,
    MAX_PDF_PAGES, MAX_REQUEST_BYTES, Original, human_size, sha256_hex,
};

/// An attachment ready to send: its reference and its bytes as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub attachment: Attachment,
    pub bytes: Arc<[u8]>,
}

/// The most pixels tern decodes to scale an image (a 108-megapixel phone photo fits).
pub const MAX_DECODE_PIXELS: u64 = 150_000_000;
/// The most memory one decode may take, a bound on a file that lies about its size.
const MAX_DECODE_ALLOC: u64 = 1024 * 1024 * 1024;
/// JPEG quality of a scaled photo: no visible loss at the size the model reads.
const JPEG_QUALITY: u8 = 85;
/// The GIF quantizer's speed (1 is best and very slow; 10 is its authors' advice).
const GIF_SPEED: i32 = 10;

/// Read the file at `path` and prepare it. `~` is the caller's to expand.
pub fn prepare_path(path: &Path) -> Result<Prepared, AttachError> {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| read_error(&shown, &e))?;
    if meta.is_dir() {
        return Err(AttachError::Directory { name: shown });
    }
    if !meta.is_file() {
        // A device or a pipe never ends, or blocks: not something to read whole.
        return Err(AttachError::Unsupported {
            name: shown,
            kind: "a device or a pipe, not a file".into(),
        });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(
            shown,
            meta.len(),
            MAX_FILE_BYTES,
            "tern reads to attach",
        ));
    }
    let mut file = std::fs::File::open(path).map_err(|e| read_error(&shown, &e))?;
    let before = file.metadata().map_err(|e| read_error(&shown, &e))?;
    // Capacity from the metadata; `take` bounds a file that grows while it is read.
    let mut bytes = Vec::with_capacity(usize::try_from(before.len()).unwrap_or(0));
    (&mut file)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| read_error(&shown, &e))?;
    let after = file.metadata().map_err(|e| read_error(&shown, &e))?;
    if changed_while_read(Stamp::of(&before), Stamp::of(&after), bytes.len() as u64) {
        return Err(AttachError::Changed { name: shown });
    }
    prepare(&name, bytes).map_err(|e| naming(e, shown))
}

/// `error` naming the file as the user gave it (`~/shots/a.png`, not `a.png`), which tells
/// two files of one name apart.
fn naming(error: AttachError, shown: String) -> AttachError {
    use AttachError as E;
    match error {
        E::NotFound { .. } => E::NotFound { name: shown },
        E::Directory { .. } => E::Directory { name: shown },
        E::Unreadable { reason, .. } => E::Unreadable {
            name: shown,
            reason,
        },
        E::Changed { .. } => E::Changed { name: shown },
        E::Empty { .. } => E::Empty { name: shown },
        E::TooLarge {
            size, limit, what, ..
        } => E::TooLarge {
            name: shown,
            size,
            limit,
            what,
        },
        E::Unsupported { kind, .. } => E::Unsupported { name: shown, kind },
        E::Corrupt { kind, reason, .. } => E::Corrupt {
            name: shown,
            kind,
            reason,
        },
        E::TooManyPixels { width, height, .. } => E::TooManyPixels {
            name: shown,
            width,
            height,
        },
        E::Encrypted { .. } => E::Encrypted { name: shown },
        E::TooManyPages { pages, .. } => E::TooManyPages { name: shown, pages },
        E::Other(message) => E::Other(message),
    }
}

/// What tells that a file was written to: its length and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        Self {
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// Whether a file changed while it was read: the length read is not the length it had, or its
/// length or modification time moved meanwhile.
fn changed_while_read(before: Stamp, after: Stamp, read: u64) -> bool {
    before != after || read != before.len
}

fn read_error(name: &str, error: &std::io::Error) -> AttachError {
    match error.kind() {
        std::io::ErrorKind::NotFound => AttachError::NotFound { name: name.into() },
        std::io::ErrorKind::IsADirectory => AttachError::Directory { name: name.into() },
        _ => AttachError::Unreadable {
            name: name.into(),
            reason: error.to_string(),
        },
    }
}

fn too_large(name: String, size: u64, limit: u64, what: &'static str) -> AttachError {
    AttachError::TooLarge {
        name,
        size: human_size(size),
        limit: human_size(limit),
        what,
    }
}

/// Prepare the bytes of a file called `name`.
pub fn prepare(name: &str, bytes: Vec<u8>) -> Result<Prepared, AttachError> {
    if bytes.is_empty() {
        return Err(AttachError::Empty { name: name.into() });
    }
    if let Some(format) = api_image_format(&bytes) {
        return prepare_image(name, bytes, format);
    }
    if bytes.starts_with(b"%PDF-") {
        return prepare_pdf(name, bytes);
    }
    if let Some(text) = as_text(bytes.as_slice()) {
        let text = match text {
            Text::Same(0) => bytes,
            Text::Same(skip) => bytes[skip..].to_vec(),
            Text::Converted(s) => s.into_bytes(),
        };
        return prepare_text(name, text);
    }
    Err(AttachError::Unsupported {
        name: name.into(),
        kind: name_of_binary(&bytes),
    })
}

/// The image formats the API reads, by their magic bytes.
fn api_image_format(bytes: &[u8]) -> Option<ImageFormat> {
    image::guess_format(bytes).ok().filter(|f| {
        matches!(
            f,
            ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
        )
    })
}

/// `media_type` of an image format the API reads.
fn media_type_of(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "image/png",
        ImageFormat::Gif => "image/gif",
        ImageFormat::WebP => "image/webp",
        _ => "image/jpeg",
    }
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG image",
        ImageFormat::Gif => "GIF image",
        ImageFormat::WebP => "WebP image",
        _ => "JPEG image",
    }
}

/// Text as it is sent: the bytes after a UTF-8 byte-order mark, or UTF-16 made UTF-8.
enum Text {
    /// Valid UTF-8 from this offset on.
    Same(usize),
    Converted(String),
}

/// Whether `bytes` are text: UTF-8 (a byte-order mark dropped), or UTF-16 with its
/// byte-order mark, and no NUL either way (NULs mean binary data, whatever else they are).
fn as_text(bytes: &[u8]) -> Option<Text> {
    let utf16 = |bytes: &[u8], unit: fn([u8; 2]) -> u16| {
        if !bytes.len().is_multiple_of(2) {
            return None;
        }
        let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
        let text: String = char::decode_utf16(units).collect::<Result<_, _>>().ok()?;
        (!text.contains('\0')).then_some(Text::Converted(text))
    };
    if let Some(rest) = bytes.strip_prefix(b"\xff\xfe") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xfe\xff") {
        return utf16(rest, u16::from_be_bytes);
    }
    let skip = if bytes.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let rest = &bytes[skip..];
    (memchr::memchr(0, rest).is_none() && std::str::from_utf8(rest).is_ok())
        .then_some(Text::Same(skip))
}

fn prepare_text(name: &str, text: Vec<u8>) -> Result<Prepared, AttachError> {
    if text.is_empty() {
        return Err(AttachError::Empty { name: name.into() });
    }
    if text.len() as u64 > MAX_REQUEST_BYTES {
        return Err(too_large(
            name.into(),
            text.len() as u64,
            MAX_REQUEST_BYTES,
            "the API takes in one request",
        ));
    }
    let lines = u32::try_from(count_lines(&text)).unwrap_or(u32::MAX);
    Ok(finish(
        Attachment {
            lines: Some(lines),
            ..attachment(name, AttachmentKind::Text, "text/plain", &text)
        },
        text,
    ))
}

fn count_lines(bytes: &[u8]) -> usize {
    let newlines = memchr::memchr_iter(b'\n', bytes).count();
    newlines + usize::from(!bytes.ends_with(b"\n"))
}

fn prepare_pdf(name: &str, bytes: Vec<u8>) -> Result<Prepared, AttachError> {
    if bytes.len() as u64 > MAX_REQUEST_BYTES {
        return Err(too_large(
            name.into(),
            bytes.len() as u64,
            MAX_REQUEST_BYTES,
            "the API takes in one request",
        ));
    }
    let corrupt = |reason: String| AttachError::Corrupt {
        name: name.into(),
        kind: "PDF",
        reason,
    };
    // Only the trailer and the page tree are read, not every object.
    let meta = match lopdf::Document::load_metadata_mem(&bytes) {
        Ok(meta) => meta,
        // An encryption dictionary lopdf cannot follow still means encrypted.
        Err(_) if has_encrypt_entry(&bytes) => {
            return Err(AttachError::Encrypted { name: name.into() });
        }
        Err(e) => return Err(corrupt(e.to_string())),
    };
    if meta.encrypted {
        return Err(AttachError::Encrypted { name: name.into() });
    }
    match meta.page_count {
        0 => Err(corrupt("no pages found".into())),
        pages if pages > MAX_PDF_PAGES => Err(AttachError::TooManyPages {
            name: name.into(),
            pages,
        }),
        pages => Ok(finish(
            Attachment {
                pages: Some(pages),
                ..attachment(name, AttachmentKind::Pdf, "application/pdf", &bytes)
            },
            bytes,
        )),
    }
}

/// Whether the end of a PDF (where its trailer is) names an encryption dictionary.
fn has_encrypt_entry(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    memchr::memmem::find(tail, b"/Encrypt").is_some()
}

fn prepare_image(name: &str, bytes: Vec<u8>, format: ImageFormat) -> Result<Prepared, AttachError> {
    let corrupt = |e: &image::ImageError| AttachError::Corrupt {
        name: name.into(),
        kind: format_name(format),
        reason: e.to_string(),
    };
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes.as_slice()), format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| corrupt(&e))?;
    let (width, height) = decoder.dimensions();
    let too_many_pixels = || AttachError::TooManyPixels {
        name: name.into(),
        width,
        height,
    };
    if u64::from(width) * u64::from(height) > MAX_DECODE_PIXELS {
        return Err(too_many_pixels());
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    // Decoded whole even when sent as it is: a truncated file fails here, named.
    let decoded = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => too_many_pixels(),
        e => corrupt(&e),
    })?;
    if format == ImageFormat::Jpeg && !jpeg_is_complete(&bytes) {
        return Err(AttachError::Corrupt {
            name: name.into(),
            kind: format_name(format),
            reason: "it ends before its last scan does".into(),
        });
    }
    let media_type = media_type_of(format);
    let fits = base64_len(bytes.len()) <= MAX_IMAGE_BASE64;
    if width.max(height) <= MAX_IMAGE_EDGE && fits {
        return Ok(finish(
            Attachment {
                width: Some(width),
                height: Some(height),
                ..attachment(name, AttachmentKind::Image, media_type, &bytes)
            },
            bytes,
        ));
    }
    let original = Original {
        size: bytes.len() as u64,
        width,
        height,
    };
    drop(bytes);
    let scaled = scale_to_fit(&decoded, format, orientation, icc.as_deref())
        .map_err(|e| AttachError::Other(format!("{name} could not be scaled down ({e})")))?
        .ok_or_else(|| {
            too_large(
                name.into(),
                original.size,
                MAX_IMAGE_BASE64 / 4 * 3,
                "the API takes for one image, even scaled down",
            )
        })?;
    Ok(finish(
        Attachment {
            width: Some(scaled.width),
            height: Some(scaled.height),
            original: Some(original),
            ..attachment(name, AttachmentKind::Image, media_type, &scaled.bytes)
        },
        scaled.bytes,
    ))
}

/// Whether a JPEG reaches its end-of-image marker. The decoder makes up what a cut file lacks
/// (grey rows), so a cut is told here: the segments are walked to the first scan (past any
/// thumbnail, which has an end marker of its own), and the marker must follow. In the scans
/// an `FF` byte is always escaped, so `FF D9` there is the marker. Data after it (the video
/// of a "motion photo") is the file's own business.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut i = 2;
    loop {
        let Some(&[0xff, marker]) = bytes.get(i..i + 2) else {
            return false;
        };
        match marker {
            // Fill bytes before a marker.
            0xff => i += 1,
            // Markers without a length.
            0x01 | 0xd0..=0xd8 => i += 2,
            _ => {
                let Some(&[hi, lo]) = bytes.get(i + 2..i + 4) else {
                    return false;
                };
                let next = i + 2 + usize::from(u16::from_be_bytes([hi, lo]));
                if marker == 0xda {
                    return bytes
                        .get(next..)
                        .is_some_and(|scans| memchr::memmem::find(scans, b"\xff\xd9").is_some());
                }
                i = next;
            }
        }
    }
}

/// The length of `n` bytes in base64.
fn base64_len(n: usize) -> u64 {
    (n as u64).div_ceil(3) * 4
}

/// An image scaled down and encoded again.
struct Scaled {
    bytes: Vec<u8>,
    width: u32,
    height: u32,
}

/// `width`×`height` scaled so the long edge is at most `edge`, keeping the aspect ratio.
fn fit_within(width: u32, height: u32, edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= edge {
        return (width, height);
    }
    let scale = |side: u32| {
        let scaled = (u64::from(side) * u64::from(edge) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(scaled).unwrap_or(edge).max(1)
    };
    (scale(width), scale(height))
}

/// Scale `image` (as decoded, before `orientation`) to the API's long edge, upright, encoded in
/// `format`; smaller again while the encoding is over the API's base64 limit. `None` when even
/// a small version does not fit.
fn scale_to_fit(
    image: &DynamicImage,
    format: ImageFormat,
    orientation: image::metadata::Orientation,
    icc: Option<&[u8]>,
) -> Result<Option<Scaled>, String> {
    let mut edge = MAX_IMAGE_EDGE;
    // Each step aims below the limit from the size the last one came to; a few always do.
    for _ in 0..8 {
        let (w, h) = fit_within(image.width(), image.height(), edge);
        // Scaled before it is turned upright, so the turn copies the small image.
        let mut small = resize(image, w, h);
        small.apply_orientation(orientation);
        let bytes = encode(&small, format, icc)?;
        let len = base64_len(bytes.len());
        if len <= MAX_IMAGE_BASE64 {
            return Ok(Some(Scaled {
                bytes,
                width: small.width(),
                height: small.height(),
            }));
        }
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let next = (f64::from(edge) * (MAX_IMAGE_BASE64 as f64 / len as f64).sqrt() * 0.95) as u32;
        edge = next.min(edge * 9 / 10);
        if edge < 16 {
            break;
        }
    }
    Ok(None)
}

/// A smaller copy of `image`, `w`×`h`. Catmull-Rom keeps the edges of text in a screenshot
/// sharp; `fast_image_resize` runs it with the CPU's vector instructions, 20 times faster than
/// the `image` crate's own filters (which stay the fallback).
fn resize(image: &DynamicImage, w: u32, h: u32) -> DynamicImage {
    use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
    let mut small = DynamicImage::new(w, h, image.color());
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
    match Resizer::new().resize(image, &mut small, &options) {
        Ok(()) => small,
        Err(_) => image.resize_exact(w, h, image::imageops::FilterType::CatmullRom),
    }
}

/// `image` encoded in `format`, with the colour profile of the original.
fn encode(
    image: &DynamicImage,
    format: ImageFormat,
    icc: Option<&[u8]>,
) -> Result<Vec<u8>, String> {
    use image::ImageEncoder as _;
    use image::codecs::{gif::GifEncoder, png::PngEncoder, webp::WebPEncoder};
    let mut out = Vec::new();
    let (w, h) = (image.width(), image.height());
    if format == ImageFormat::Jpeg {
        return encode_jpeg(image, icc);
    }
    // The encoders' own sets of colour types: 8 bits a channel (PNG takes 16 too).
    let converted;
    let image = match (format, image) {
        (ImageFormat::Png, _)
        | (_, DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_))
        | (ImageFormat::WebP, DynamicImage::ImageLuma8(_) | DynamicImage::ImageLumaA8(_)) => image,
        _ if image.color().has_alpha() => {
            converted = DynamicImage::ImageRgba8(image.to_rgba8());
            &converted
        }
        _ => {
            converted = DynamicImage::ImageRgb8(image.to_rgb8());
            &converted
        }
    };
    let (data, color) = (image.as_bytes(), image.color().into());
    let with_profile = |encoder: &mut dyn image::ImageEncoder| {
        if let Some(icc) = icc {
            // A format without profiles keeps the colours as numbers; nothing to do.
            let _ = encoder.set_icc_profile(icc.to_vec());
        }
    };
    let written = match format {
        ImageFormat::Png => {
            let mut e = PngEncoder::new(&mut out);
            with_profile(&mut e);
            e.write_image(data, w, h, color)
        }
        ImageFormat::WebP => {
            let mut e = WebPEncoder::new_lossless(&mut out);
            with_profile(&mut e);
            e.write_image(data, w, h, color)
        }
        _ => GifEncoder::new_with_speed(&mut out, GIF_SPEED).encode(data, w, h, color),
    };
    written.map_err(|e| e.to_string())?;
    Ok(out)
}

/// A JPEG by `jpeg-encoder` (vector instructions; four times the speed of the `image`
/// crate's encoder, a quarter of the time it takes to prepare a photo).
fn encode_jpeg(image: &DynamicImage, icc: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let converted;
    let (image, color) = match image {
        DynamicImage::ImageLuma8(_) => (image, jpeg_encoder::ColorType::Luma),
        DynamicImage::ImageRgb8(_) => (image, jpeg_encoder::ColorType::Rgb),
        _ => {
            converted = DynamicImage::ImageRgb8(image.to_rgb8());
            (&converted, jpeg_encoder::ColorType::Rgb)
        }
    };
    let too_big = |_| {
        format!(
            "{}×{} is too large for a JPEG",
            image.width(),
            image.height()
        )
    };
    let w = u16::try_from(image.width()).map_err(too_big)?;
    let h = u16::try_from(image.height()).map_err(too_big)?;
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY);
    if let Some(icc) = icc {
        encoder.add_icc_profile(icc).map_err(|e| e.to_string())?;
    }
    encoder
        .encode(image.as_bytes(), w, h, color)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn attachment(name: &str, kind: AttachmentKind, media_type: &str, bytes: &[u8]) -> Attachment {
    Attachment {
        sha256: sha256_hex(bytes),
        kind,
        media_type: media_type.into(),
        name: name.into(),
        size: bytes.len() as u64,
        width: None,
        height: None,
        pages: None,
        lines: None,
        original: None,
        citations: false,
    }
}

fn finish(attachment: Attachment, bytes: Vec<u8>) -> Prepared {
    Prepared {
        attachment,
        bytes: bytes.into(),
    }
}

/// What a file the API does not read is, for the message that refuses it.
fn name_of_binary(bytes: &[u8]) -> String {
    if let Ok(format) = image::guess_format(bytes) {
        let name = match format {
            ImageFormat::Bmp => "a BMP image",
            ImageFormat::Tiff => "a TIFF image",
            ImageFormat::Ico => "an icon (ICO)",
            ImageFormat::Avif => "an AVIF image",
            ImageFormat::Hdr => "an HDR image",
            ImageFormat::OpenExr => "an OpenEXR image",
            ImageFormat::Qoi => "a QOI image",
            ImageFormat::Pnm => "a PNM image",
            ImageFormat::Dds => "a DDS texture",
            ImageFormat::Farbfeld => "a farbfeld image",
            _ => "an image in a format the API does not read",
        };
        return name.into();
    }
    let Some(kind) = infer::get(bytes) else {
        return "binary data".into();
    };
    let name = match kind.mime_type() {
        "application/zip" => "a Zip archive",
        "application/gzip" => "a gzip archive",
        "application/x-tar" => "a tar archive",
        "application/x-7z-compressed" => "a 7-Zip archive",
        "application/vnd.rar" => "a RAR archive",
        "application/x-bzip2" => "a bzip2 archive",
        "application/x-xz" => "an xz archive",
        "application/zstd" => "a zstd archive",
        "application/x-executable" => "an ELF executable",
        "application/vnd.microsoft.portable-executable" => "a Windows executable",
        "application/x-mach-binary" => "a Mach-O executable",
        "application/wasm" => "a WebAssembly module",
        "application/java" => "a Java class file",
        "application/vnd.sqlite3" => "an SQLite database",
        "application/msword" | "application/vnd.ms-excel" | "application/vnd.ms-powerpoint" => {
            "an old Microsoft Office document (export it as PDF)"
        }
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            "a Word document (export it as PDF)"
        }
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
            "an Excel workbook (export it as CSV or PDF)"
        }
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
            "a PowerPoint presentation (export it as PDF)"
        }
        "application/vnd.oasis.opendocument.text"
        | "application/vnd.oasis.opendocument.spreadsheet"
        | "application/vnd.oasis.opendocument.presentation" => {
            "an OpenDocument file (export it as PDF)"
        }
        "application/epub+zip" => "an EPUB book",
        "image/heif" => "a HEIC/HEIF image (export it as JPEG)",
        "image/vnd.adobe.photoshop" => "a Photoshop image",
        "image/jxl" => "a JPEG XL image",
        "application/font-woff" | "application/font-sfnt" => "a font",
        mime => {
            return match kind.matcher_type() {
                infer::MatcherType::Audio => format!("audio ({mime})"),
                infer::MatcherType::Video => format!("a video ({mime})"),
                infer::MatcherType::Image => format!("an image ({mime})"),
                infer::MatcherType::Archive => format!("an archive ({mime})"),
                _ => format!("a file of type {mime}"),
            };
        }
    };
    name.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder as _, Rgb, RgbImage, Rgba, RgbaImage};

    /// A picture with some content: gradients both ways.
    fn picture(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 128])
        })
    }

    fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        encoded(&DynamicImage::ImageRgb8(picture(w, h)), ImageFormat::Jpeg)
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        encoded(&DynamicImage::ImageRgb8(picture(w, h)), ImageFormat::Png)
    }

    fn gif(w: u32, h: u32) -> Vec<u8> {
        let rgba = DynamicImage::ImageRgb8(picture(w, h)).to_rgba8();
        let mut out = Vec::new();
        image::codecs::gif::GifEncoder::new_with_speed(&mut out, 30)
            .encode(rgba.as_raw(), w, h, image::ExtendedColorType::Rgba8)
            .unwrap();
        out
    }

    fn webp(w: u32, h: u32) -> Vec<u8> {
        encoded(&DynamicImage::ImageRgb8(picture(w, h)), ImageFormat::WebP)
    }

    /// A hand-written PDF of `pages` empty pages, `trailer` added to its trailer dictionary
    /// and `objects` after the pages.
    fn pdf_with(pages: usize, trailer: &str, objects: &[&str]) -> Vec<u8> {
        let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", i + 3)).collect();
        let mut bodies = vec![
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            format!(
                "<< /Type /Pages /Kids [{}] /Count {pages} >>",
                kids.join(" ")
            ),
        ];
        bodies.extend(
            (0..pages).map(|_| "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>".into()),
        );
        bodies.extend(objects.iter().map(|o| (*o).to_string()));
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            offsets.push(out.len());
            out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).bytes());
        }
        let xref = out.len();
        out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", bodies.len() + 1).bytes());
        for offset in offsets {
            out.extend(format!("{offset:010} 00000 n \n").bytes());
        }
        out.extend(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R {trailer} >>\nstartxref\n{xref}\n%%EOF\n",
                bodies.len() + 1
            )
            .bytes(),
        );
        out
    }

    fn pdf(pages: usize) -> Vec<u8> {
        pdf_with(pages, "", &[])
    }

    fn unsupported_kind(bytes: &[u8]) -> String {
        match prepare("f", bytes.to_vec()) {
            Err(AttachError::Unsupported { kind, .. }) => kind,
            other => panic!("not refused as unsupported: {other:?}"),
        }
    }

    #[test]
    fn the_four_image_types_are_told_by_their_bytes() {
        for (bytes, media_type) in [
            (png(64, 48), "image/png"),
            (jpeg(64, 48), "image/jpeg"),
            (gif(64, 48), "image/gif"),
            (webp(64, 48), "image/webp"),
        ] {
            let p = prepare("picture.bin", bytes.clone()).unwrap();
            let a = &p.attachment;
            assert_eq!(a.kind, AttachmentKind::Image);
            assert_eq!(a.media_type, media_type);
            assert_eq!((a.width, a.height), (Some(64), Some(48)), "{media_type}");
            assert_eq!(a.size, bytes.len() as u64);
        }
    }

    #[test]
    fn a_png_named_jpg_is_a_png() {
        let p = prepare("x.jpg", png(10, 10)).unwrap();
        assert_eq!(p.attachment.media_type, "image/png");
        assert_eq!(p.attachment.name, "x.jpg");
    }

    #[test]
    fn a_pdf_is_told_by_its_header_and_counts_its_pages() {
        let p = prepare("paper", pdf(3)).unwrap();
        assert_eq!(p.attachment.kind, AttachmentKind::Pdf);
        assert_eq!(p.attachment.media_type, "application/pdf");
        assert_eq!(p.attachment.pages, Some(3));
        assert_eq!(&*p.bytes, pdf(3).as_slice());
    }

    #[test]
    fn text_is_utf8_or_utf16_with_a_bom_and_counts_lines() {
        let p = prepare("main.rs", b"fn main() {\n}\n".to_vec()).unwrap();
        assert_eq!(p.attachment.kind, AttachmentKind::Text);
        assert_eq!(p.attachment.media_type, "text/plain");
        assert_eq!(p.attachment.lines, Some(2));
        assert_eq!(p.attachment.name, "main.rs");

        let p = prepare("bom.txt", b"\xef\xbb\xbfh\xc3\xa9\nlast".to_vec()).unwrap();
        assert_eq!(&*p.bytes, "hé\nlast".as_bytes());
        assert_eq!(p.attachment.sha256, sha256_hex("hé\nlast".as_bytes()));
        assert_eq!(p.attachment.size, 8);
        assert_eq!(p.attachment.lines, Some(2));

        let text = "naïve ☃\r\nzwei\r\n";
        let le: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xfe, 0xff]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        for bytes in [le, be] {
            let p = prepare("windows.txt", bytes).unwrap();
            assert_eq!(&*p.bytes, text.as_bytes());
            assert_eq!(p.attachment.lines, Some(2));
        }

        // Other formats' two-byte magics begin plain words too.
        for words in ["BMW notes\n", "P1: the first point\n"] {
            let p = prepare("notes.txt", words.as_bytes().to_vec()).unwrap();
            assert_eq!(p.attachment.kind, AttachmentKind::Text, "{words}");
        }
    }

    #[test]
    fn binary_files_are_refused_naming_their_type() {
        let zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00\0\0\0\0\0\0\0\0\0\0\0\0\0\0a.txt";
        assert_eq!(unsupported_kind(zip), "a Zip archive");
        let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0".to_vec();
        elf.resize(64, 0);
        assert_eq!(unsupported_kind(&elf), "an ELF executable");
        let bmp = b"BM\x36\x00\x0c\x00\0\0\0\0\x36\0\0\0\x28\0\0\0";
        assert_eq!(unsupported_kind(bmp), "a BMP image");
        let tiff = b"II*\x00\x08\x00\x00\x00\x01\x00";
        assert_eq!(unsupported_kind(tiff), "a TIFF image");
        let random: Vec<u8> = (0u32..4096)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(unsupported_kind(&random), "binary data");
        assert_eq!(unsupported_kind(b"text\0with a NUL"), "binary data");
        assert_eq!(
            unsupported_kind(b"\xff\xfe\x41"),
            "binary data",
            "odd UTF-16"
        );

        let err = prepare("archive.zip", zip.to_vec())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("archive.zip is a Zip archive, which the API does not read"));
        assert!(!err.contains('\n'));
    }

    #[test]
    fn an_empty_file_is_refused() {
        assert_eq!(
            prepare("e.txt", Vec::new()),
            Err(AttachError::Empty {
                name: "e.txt".into()
            })
        );
        assert!(matches!(
            prepare("bom.txt", b"\xef\xbb\xbf".to_vec()),
            Err(AttachError::Empty { .. })
        ));
    }

    #[test]
    fn a_small_image_is_sent_as_it_is() {
        for bytes in [
            png(800, 600),
            jpeg(1568, 1000),
            gif(300, 200),
            webp(200, 1568),
        ] {
            let p = prepare("small", bytes.clone()).unwrap();
            assert_eq!(&*p.bytes, bytes.as_slice());
            assert_eq!(p.attachment.sha256, sha256_hex(&bytes));
            assert_eq!(p.attachment.original, None);
        }
    }

    #[test]
    fn a_large_jpeg_is_scaled_to_the_long_edge_and_stays_jpeg() {
        let bytes = jpeg(4000, 3000);
        let p = prepare("photo.jpg", bytes.clone()).unwrap();
        let a = &p.attachment;
        assert_eq!((a.width, a.height), (Some(1568), Some(1176)));
        assert_eq!(a.media_type, "image/jpeg");
        assert_eq!(
            a.original,
            Some(Original {
                size: bytes.len() as u64,
                width: 4000,
                height: 3000
            })
        );
        assert_eq!(image::guess_format(&p.bytes).unwrap(), ImageFormat::Jpeg);
        let sent = image::load_from_memory(&p.bytes).unwrap();
        assert_eq!((sent.width(), sent.height()), (1568, 1176));
        assert_eq!(a.sha256, sha256_hex(&p.bytes));
        assert_eq!(a.size, p.bytes.len() as u64);
        assert_eq!(a.scaled_note().unwrap(), "scaled from 4000×3000");
    }

    #[test]
    fn a_tall_png_is_scaled_and_stays_png() {
        let p = prepare("tall.png", png(3000, 4000)).unwrap();
        assert_eq!(
            (p.attachment.width, p.attachment.height),
            (Some(1176), Some(1568))
        );
        assert_eq!(p.attachment.media_type, "image/png");
        let sent = image::load_from_memory_with_format(&p.bytes, ImageFormat::Png).unwrap();
        assert_eq!((sent.width(), sent.height()), (1176, 1568));
    }

    #[test]
    fn gif_and_webp_keep_their_format_when_scaled() {
        for (bytes, format, media_type) in [
            (gif(2000, 1000), ImageFormat::Gif, "image/gif"),
            (webp(2000, 1000), ImageFormat::WebP, "image/webp"),
        ] {
            let p = prepare("wide", bytes).unwrap();
            assert_eq!(
                (p.attachment.width, p.attachment.height),
                (Some(1568), Some(784))
            );
            assert_eq!(p.attachment.media_type, media_type);
            let sent = image::load_from_memory_with_format(&p.bytes, format).unwrap();
            assert_eq!((sent.width(), sent.height()), (1568, 784));
        }
    }

    #[test]
    fn an_image_over_the_byte_limit_shrinks_until_it_fits() {
        // Noise does not compress: 1500×1500 RGBA is 9 MB as a PNG, at a size that is fine.
        let mut seed = 7u32;
        let noise = RgbaImage::from_fn(1500, 1500, |_, _| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            Rgba(seed.to_le_bytes())
        });
        let bytes = encoded(&DynamicImage::ImageRgba8(noise), ImageFormat::Png);
        assert!(base64_len(bytes.len()) > MAX_IMAGE_BASE64);
        let p = prepare("noise.png", bytes).unwrap();
        assert!(base64_len(p.bytes.len()) <= MAX_IMAGE_BASE64);
        assert_eq!(p.attachment.media_type, "image/png");
        let (w, h) = (p.attachment.width.unwrap(), p.attachment.height.unwrap());
        assert_eq!(w, h);
        assert!(w < 1500, "{w}");
        assert_eq!(p.attachment.original.unwrap().width, 1500);
    }

    #[test]
    fn a_scaled_photo_is_turned_upright_by_its_exif_orientation() {
        // Stored 2000×1000, red left and blue right, with orientation 6 (turn 90° clockwise):
        // upright it is 1000×2000, red on top.
        let stored = RgbImage::from_fn(2000, 1000, |x, _| {
            if x < 1000 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        });
        let exif = b"II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00";
        let mut bytes = Vec::new();
        let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90);
        encoder.set_exif_metadata(exif.to_vec()).unwrap();
        encoder
            .write_image(stored.as_raw(), 2000, 1000, image::ExtendedColorType::Rgb8)
            .unwrap();
        let p = prepare("phone.jpg", bytes).unwrap();
        assert_eq!(
            (p.attachment.width, p.attachment.height),
            (Some(784), Some(1568))
        );
        let sent = image::load_from_memory(&p.bytes).unwrap().to_rgb8();
        let (top, bottom) = (sent.get_pixel(392, 100), sent.get_pixel(392, 1468));
        assert!(top[0] > 200 && top[2] < 60, "top {top:?}");
        assert!(bottom[2] > 200 && bottom[0] < 60, "bottom {bottom:?}");
        assert_eq!(p.attachment.original.unwrap().width, 2000);
    }

    #[test]
    fn a_truncated_image_is_corrupt() {
        for (bytes, kind) in [
            (png(300, 200), "PNG image"),
            (jpeg(300, 200), "JPEG image"),
            (gif(300, 200), "GIF image"),
            (webp(300, 200), "WebP image"),
        ] {
            let cut = bytes[..bytes.len() / 2].to_vec();
            match prepare("cut", cut) {
                Err(AttachError::Corrupt { kind: k, .. }) => assert_eq!(k, kind),
                other => panic!("{kind}: {other:?}"),
            }
        }
        // A thumbnail's end marker, in the EXIF segment, is not the end of the image.
        let mut bytes = Vec::new();
        let mut encoder = image::codecs::jpeg::JpegEncoder::new(&mut bytes);
        encoder
            .set_exif_metadata(b"II*\x00\xff\xd8\xff\xd9".to_vec())
            .unwrap();
        encoder.encode_image(&picture(300, 200)).unwrap();
        assert!(prepare("whole.jpg", bytes.clone()).is_ok());
        bytes.truncate(bytes.len() - 100);
        assert!(matches!(
            prepare("cut.jpg", bytes),
            Err(AttachError::Corrupt { .. })
        ));
        // What follows the end (the video of a motion photo) is left as it is.
        let mut motion = jpeg(300, 200);
        motion.extend(b"\0\0\0\x18ftypmp42 and a video");
        assert_eq!(
            &*prepare("motion.jpg", motion.clone()).unwrap().bytes,
            motion.as_slice()
        );

        let err = prepare("cut.png", png(300, 200)[..100].to_vec()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cut.png is not a readable PNG image"),
            "{err}"
        );
    }

    /// A CRC-32 as PNG chunks carry (ISO-HDLC).
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_it_is_decoded() {
        // A PNG header claiming 100000×100000 pixels (40 GB decoded), and hardly any data.
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend(100_000u32.to_be_bytes());
        ihdr.extend(100_000u32.to_be_bytes());
        ihdr.extend([8, 6, 0, 0, 0]);
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend(13u32.to_be_bytes());
        bytes.extend(&ihdr);
        bytes.extend(crc32(&ihdr).to_be_bytes());
        let idat = b"IDAT\x78\x9c\x03\x00\x00\x00\x00\x01";
        bytes.extend(8u32.to_be_bytes());
        bytes.extend(idat);
        bytes.extend(crc32(idat).to_be_bytes());
        let err = prepare("bomb.png", bytes).unwrap_err();
        assert_eq!(
            err,
            AttachError::TooManyPixels {
                name: "bomb.png".into(),
                width: 100_000,
                height: 100_000
            }
        );
        assert!(err.to_string().contains("100000×100000"));
    }

    #[test]
    fn an_encrypted_pdf_is_refused() {
        let encrypt = "<< /Filter /Standard /V 1 /R 2 /Length 40 /P -4 \
            /O <0000000000000000000000000000000000000000000000000000000000000000> \
            /U <0000000000000000000000000000000000000000000000000000000000000000> >>";
        let bytes = pdf_with(1, "/Encrypt 4 0 R /ID [<01> <01>]", &[encrypt]);
        let err = prepare("secret.pdf", bytes).unwrap_err();
        assert_eq!(
            err,
            AttachError::Encrypted {
                name: "secret.pdf".into()
            }
        );
        assert!(err.to_string().contains("password-protected"));
    }

    #[test]
    fn a_pdf_of_too_many_pages_is_refused() {
        assert_eq!(
            prepare("a.pdf", pdf(100)).unwrap().attachment.pages,
            Some(100)
        );
        assert_eq!(
            prepare("b.pdf", pdf(101)),
            Err(AttachError::TooManyPages {
                name: "b.pdf".into(),
                pages: 101
            })
        );
    }

    #[test]
    fn an_unreadable_pdf_is_corrupt() {
        for bytes in [b"%PDF-1.7\nnot really".to_vec(), pdf(0)] {
            assert!(matches!(
                prepare("bad.pdf", bytes),
                Err(AttachError::Corrupt { kind: "PDF", .. })
            ),);
        }
    }

    #[test]
    fn a_pdf_over_the_request_limit_is_too_large() {
        let mut bytes = pdf(1);
        bytes.resize(33_000_000, b' ');
        assert!(matches!(
            prepare("big.pdf", bytes),
            Err(AttachError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_path_is_read_and_named_by_its_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.md");
        std::fs::write(&path, "# Notes\n").unwrap();
        let p = prepare_path(&path).unwrap();
        assert_eq!(p.attachment.name, "notes.md");
        assert_eq!(p.attachment.lines, Some(1));
    }

    #[test]
    fn bad_paths_are_named_as_given() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.png");
        let shown = missing.display().to_string();
        assert_eq!(
            prepare_path(&missing),
            Err(AttachError::NotFound { name: shown })
        );
        assert_eq!(
            prepare_path(dir.path()),
            Err(AttachError::Directory {
                name: dir.path().display().to_string()
            })
        );
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "").unwrap();
        let shown = empty.display().to_string();
        assert_eq!(
            prepare_path(&empty),
            Err(AttachError::Empty { name: shown })
        );
        let zip = dir.path().join("a.zip");
        std::fs::write(
            &zip,
            b"PK\x03\x04\x14\x00\x00\x00\x08\x00\0\0\0\0\0\0\0\0a.txt",
        )
        .unwrap();
        let err = prepare_path(&zip).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{} is a Zip archive", zip.display())),
            "{err}"
        );
    }

    #[test]
    fn a_huge_file_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.bin");
        // Sparse: 200 MB that take no disk, and would take a while to read.
        std::fs::File::create(&path)
            .unwrap()
            .set_len(200_000_000)
            .unwrap();
        let err = prepare_path(&path).unwrap_err();
        assert!(
            matches!(&err, AttachError::TooLarge { size, .. } if size == "200.0 MB"),
            "{err}"
        );
        assert!(err.to_string().contains(&path.display().to_string()));
    }

    #[test]
    fn a_file_that_cannot_be_read_is_unreadable() {
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(matches!(
            read_error("x.png", &denied),
            AttachError::Unreadable { name, .. } if name == "x.png"
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("locked.txt");
            std::fs::write(&path, "secret").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
            // Root reads it anyway; the mapping above is then the test.
            if std::fs::File::open(&path).is_err() {
                assert!(matches!(
                    prepare_path(&path),
                    Err(AttachError::Unreadable { .. })
                ));
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_pipe_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        // Reading would block until a writer comes; it must be refused first.
        assert!(matches!(
            prepare_path(&path),
            Err(AttachError::Unsupported { .. })
        ));
    }

    #[test]
    fn a_change_while_reading_is_seen() {
        let t = SystemTime::UNIX_EPOCH;
        let stamp = |len, secs| Stamp {
            len,
            modified: Some(t + std::time::Duration::from_secs(secs)),
        };
        assert!(!changed_while_read(stamp(10, 1), stamp(10, 1), 10));
        assert!(
            changed_while_read(stamp(10, 1), stamp(10, 1), 7),
            "read less"
        );
        assert!(changed_while_read(stamp(10, 1), stamp(12, 2), 12), "grew");
        assert!(
            changed_while_read(stamp(10, 1), stamp(10, 2), 10),
            "rewritten"
        );
    }
}

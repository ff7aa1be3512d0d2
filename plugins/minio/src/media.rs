//! What an attachment is: its MIME type, and for images their size and a thumbnail.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{ImageFormat, ImageReader, Limits};

/// The most memory the decoder may take for one image, so a hostile file cannot exhaust it.
const MAX_DECODE_BYTES: u64 = 128 << 20;
/// The JPEG quality of thumbnails.
const THUMBNAIL_QUALITY: u8 = 80;

/// A decoded image: its size and its thumbnail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// A JPEG whose longest side is the thumbnail size, aspect kept.
    pub thumbnail: Vec<u8>,
}

/// The image format the bytes are in, when they look like one the spoke decodes.
pub fn image_format(bytes: &[u8]) -> Option<ImageFormat> {
    match image::guess_format(bytes).ok()? {
        f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP) => {
            Some(f)
        }
        _ => None,
    }
}

/// The MIME type to store: the channel's when it gave one, else sniffed from the bytes.
pub fn mime_type(declared: Option<&str>, bytes: &[u8]) -> String {
    if let Some(mime) = declared.map(str::trim).filter(|m| !m.is_empty()) {
        return mime.to_owned();
    }
    if let Some(format) = image_format(bytes) {
        return format.to_mime_type().to_owned();
    }
    if bytes.starts_with(b"%PDF-") {
        return "application/pdf".to_owned();
    }
    "application/octet-stream".to_owned()
}

/// Decodes `bytes` as an image and makes its thumbnail, longest side `size` pixels.
///
/// `Ok(None)` when the bytes are no image format the spoke knows; `Err` with the decoder's
/// words when they claim to be one but do not decode.
pub fn picture(bytes: &[u8], size: u32) -> Result<Option<Picture>, String> {
    let Some(format) = image_format(bytes) else {
        return Ok(None);
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| e.to_string())?;
    let (width, height) = (image.width(), image.height());
    let small = image.resize(size, size, FilterType::Triangle).into_rgb8();
    let mut thumbnail = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut thumbnail, THUMBNAIL_QUALITY)
        .encode_image(&small)
        .map_err(|e| e.to_string())?;
    Ok(Some(Picture {
        width,
        height,
        thumbnail,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = ImageBuffer::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 128]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn images_get_their_size_and_a_thumbnail_with_the_aspect_kept() {
        let p = picture(&png(800, 400), 256).unwrap().unwrap();
        assert_eq!((p.width, p.height), (800, 400));
        let thumb = image::load_from_memory(&p.thumbnail).unwrap();
        assert_eq!(
            image::guess_format(&p.thumbnail).unwrap(),
            ImageFormat::Jpeg
        );
        assert_eq!((thumb.width(), thumb.height()), (256, 128));
        let p = picture(&png(30, 60), 256).unwrap().unwrap();
        let thumb = image::load_from_memory(&p.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (128, 256));
    }

    #[test]
    fn other_files_are_no_picture_and_broken_images_an_error() {
        assert_eq!(picture(b"%PDF-1.4 hello", 256), Ok(None));
        let mut broken = png(10, 10);
        broken.truncate(40);
        assert!(picture(&broken, 256).is_err());
    }

    #[test]
    fn mime_types_come_from_the_channel_or_the_bytes() {
        assert_eq!(mime_type(Some("image/x-custom"), b""), "image/x-custom");
        assert_eq!(mime_type(None, &png(2, 2)), "image/png");
        assert_eq!(mime_type(Some(" "), b"%PDF-1.7"), "application/pdf");
        assert_eq!(mime_type(None, b"hello"), "application/octet-stream");
    }
}

//! Preparing a 12-megapixel phone photo to attach: decode the JPEG, scale it to the API's long
//! edge (1568 px), encode it again. Budget: ≤ 300 ms, so `/attach photo.jpg` feels immediate.
//! The photo (smooth gradients with sensor-like noise, which JPEG cannot compress away) is
//! generated and encoded once, in setup.
#![allow(clippy::unwrap_used)] // a failed unwrap in a bench is a failed bench

use criterion::{Criterion, criterion_group, criterion_main};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;

fn photo(width: u32, height: u32) -> Vec<u8> {
    let mut rng = SmallRng::seed_from_u64(12);
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let sky = [90.0 + 120.0 * fy, 140.0 + 60.0 * fx, 230.0 - 150.0 * fy];
        image::Rgb(sky.map(|c| (c + rng.random_range(-14.0..14.0)).clamp(0.0, 255.0) as u8))
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&image)
        .unwrap();
    out
}

fn prepare_photo(c: &mut Criterion) {
    let jpeg = photo(4000, 3000);
    let mut group = c.benchmark_group("attach");
    group.sample_size(10);
    group.bench_function("prepare_jpeg_4000x3000", |b| {
        b.iter(|| {
            let prepared = tern::attach::prepare("photo.jpg", black_box(jpeg.clone())).unwrap();
            assert_eq!(prepared.attachment.width, Some(1568));
            black_box(prepared)
        });
    });
    group.finish();
}

criterion_group!(benches, prepare_photo);
criterion_main!(benches);

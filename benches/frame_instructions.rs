//! Frames of a compare in progress, counted in instructions rather than timed: run under
//! `valgrind --tool=callgrind` by `benches/frame-instructions.sh`, the count is the same on
//! every run, so a ratio between one column and three holds on a busy machine where
//! criterion's wall times swing by a third.
#![allow(clippy::unwrap_used)] // a failed unwrap in a bench is a failed bench

mod support;

use support::CompareRig;

/// `frame_instructions MODELS STREAMING FRAMES`: set up the compare, then draw FRAMES frames.
/// Without arguments (as `cargo bench` runs it) three columns draw 100 frames.
fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse().unwrap())
        .collect();
    let [models, streaming, frames] = match args[..] {
        [] => [3, 3, 100],
        [models, streaming, frames] => [models, streaming, frames],
        _ => panic!("usage: frame_instructions MODELS STREAMING FRAMES"),
    };
    let mut rig = CompareRig::new(models, streaming);
    for _ in 0..frames {
        rig.frame();
    }
}

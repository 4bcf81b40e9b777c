//! The `bitmapist` command line (being written).
//! See issue 5.

fn main() {}

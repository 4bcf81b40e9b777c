//! bitmapist-server (being written).
//! See issue 6.

fn main() {}

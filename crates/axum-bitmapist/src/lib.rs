//! Bitmap-based user analytics for axum apps (being written).
//! See issues 3 and 4.

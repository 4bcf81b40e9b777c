//! RESP2, the Redis serialization protocol: the request decoder and the reply encoder.
//! Both work on plain byte buffers owned by the connection; neither does I/O.

pub mod decode;
pub mod encode;

pub use self::decode::{Decoded, Decoder, Limits, ProtocolError};

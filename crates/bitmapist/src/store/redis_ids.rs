//! The external-id map on Redis and Redis Cluster: one hash each way and a counter under one
//! hash tag ([`redis_keys`]), changed only by [`ASSIGN_SCRIPT`]. Python (or any other) writers
//! share the map by running the same script on the same keys.
//!
//! Every call is one command on one slot: `EVALSHA` (falling back to `EVAL` when the server
//! does not have the script cached) to assign, `HMGET` on the forward or reverse hash to
//! look up. A server without scripting or hashes (bitmapist-server) answers "unknown
//! command", which becomes [`Error::IdMap`] naming the command and the way out.

use std::sync::OnceLock;

use redis::aio::ConnectionLike;
use redis::{RedisError, Value};
use sha1::{Digest, Sha1};

use crate::error::Error;

/// The Lua script that assigns ids on Redis, atomically: `KEYS` = the forward hash, the
/// reverse hash and the counter ([`redis_keys`]); `ARGV` = the external ids. Answers one
/// integer per external id: its existing id, or the next one (assigned in the same run).
/// A Python (or any other) writer shares the map by running this same script with the same
/// keys (see the README, "External user ids").
pub const ASSIGN_SCRIPT: &str = r#"local out = {}
for i, ext in ipairs(ARGV) do
  local id = redis.call('HGET', KEYS[1], ext)
  if id then
    out[i] = tonumber(id)
  else
    local n = tonumber(redis.call('GET', KEYS[3]) or '0')
    if n >= 4294967295 then
      return redis.error_reply('BITMAPIST_IDS_EXHAUSTED all 4294967295 dense ids are assigned')
    end
    n = redis.call('INCR', KEYS[3])
    redis.call('HSET', KEYS[1], ext, n)
    redis.call('HSET', KEYS[2], n, ext)
    out[i] = n
  end
end
return out
"#;

/// The error code [`ASSIGN_SCRIPT`] answers when the dense ids are exhausted.
pub const EXHAUSTED_CODE: &str = "BITMAPIST_IDS_EXHAUSTED";

/// The Redis keys of the map of `space` (a key prefix): forward hash, reverse hash,
/// counter. All three share the hash tag `{bitmapist.ids.SPACE}`, so they live in one
/// cluster slot, and start with `{`, so no event prefix matches them.
///
/// ```
/// assert_eq!(
///     bitmapist::id_map_redis_keys("trackist_"),
///     [
///         "{bitmapist.ids.trackist_}:fwd".to_string(),
///         "{bitmapist.ids.trackist_}:rev".to_string(),
///         "{bitmapist.ids.trackist_}:next".to_string(),
///     ]
/// );
/// ```
pub fn redis_keys(space: &str) -> [String; 3] {
    let tag = format!("{{bitmapist.ids.{space}}}");
    [
        format!("{tag}:fwd"),
        format!("{tag}:rev"),
        format!("{tag}:next"),
    ]
}

/// The SHA-1 of [`ASSIGN_SCRIPT`], hex, as `EVALSHA` names it.
pub(crate) fn script_sha() -> &'static str {
    static SHA: OnceLock<String> = OnceLock::new();
    SHA.get_or_init(|| {
        let digest = Sha1::digest(ASSIGN_SCRIPT.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    })
}

/// The `EVALSHA` (or `EVAL`) command assigning `external` in `space`.
fn assign_cmd(name: &str, body: &str, space: &str, external: &[String]) -> redis::Cmd {
    let keys = redis_keys(space);
    let mut cmd = redis::cmd(name);
    cmd.arg(body).arg(keys.len());
    for k in &keys {
        cmd.arg(k);
    }
    for e in external {
        cmd.arg(e);
    }
    cmd
}

/// Whether `e` is the server's "unknown command" reply.
fn unknown_command(e: &RedisError) -> bool {
    e.code() == Some("ERR")
        && e.detail()
            .is_some_and(|d| d.to_ascii_lowercase().contains("unknown command"))
        || e.to_string()
            .to_ascii_lowercase()
            .contains("unknown command")
}

/// Turns a failed map command into the engine's error: exhaustion, a server without the
/// command, or a plain Redis error (through `plain`).
pub(crate) fn map_error(
    e: RedisError,
    masked: &str,
    command: &str,
    plain: impl FnOnce(RedisError) -> Error,
) -> Error {
    if e.code() == Some(EXHAUSTED_CODE) || e.to_string().contains(EXHAUSTED_CODE) {
        return Error::IdsExhausted;
    }
    if unknown_command(&e) {
        return Error::id_map(
            masked,
            format!(
                "the server does not know {command} ({e}); the external-id map needs Redis or \
                 Valkey (bitmapist-server has no scripting or hashes: use its embedded file \
                 store through bitmapist directly, or a Redis server, for external ids)"
            ),
        );
    }
    plain(e)
}

/// Assigns `external` in `space`: `EVALSHA`, then `EVAL` if the server lacks the script.
/// Safe to repeat (an assigned id is answered again, not assigned twice).
pub(crate) async fn assign<C: ConnectionLike + Send>(
    conn: &mut C,
    space: &str,
    external: &[String],
) -> std::result::Result<Vec<u32>, RedisError> {
    let first = assign_cmd("EVALSHA", script_sha(), space, external)
        .query_async::<Value>(conn)
        .await;
    let reply = match first {
        Err(e) if e.code() == Some("NOSCRIPT") => {
            assign_cmd("EVAL", ASSIGN_SCRIPT, space, external)
                .query_async::<Value>(conn)
                .await?
        }
        other => other?,
    };
    ints(reply, external.len())
}

fn shape(what: &'static str, got: &Value) -> RedisError {
    RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        what,
        format!("{got:?}"),
    ))
}

/// The script's answer: one positive `u32` per external id.
fn ints(reply: Value, n: usize) -> std::result::Result<Vec<u32>, RedisError> {
    let Value::Array(items) = reply else {
        return Err(shape("the id script did not answer an array", &reply));
    };
    if items.len() != n {
        return Err(shape(
            "the id script answered a wrong count",
            &Value::Array(items),
        ));
    }
    items
        .iter()
        .map(|v| match v {
            Value::Int(i) => u32::try_from(*i)
                .ok()
                .filter(|&i| i > 0)
                .ok_or_else(|| shape("the id script answered an id out of range", v)),
            other => Err(shape("the id script answered a non-integer", other)),
        })
        .collect()
}

/// `HMGET {…}:fwd external...`: the ids of `external`, `None` for those never assigned.
pub(crate) async fn lookup<C: ConnectionLike + Send>(
    conn: &mut C,
    space: &str,
    external: &[String],
) -> std::result::Result<Vec<Option<u32>>, RedisError> {
    if external.is_empty() {
        return Ok(Vec::new());
    }
    let [fwd, _, _] = redis_keys(space);
    let got: Vec<Option<String>> = redis::cmd("HMGET")
        .arg(&fwd)
        .arg(external)
        .query_async(conn)
        .await?;
    got.into_iter()
        .map(|v| match v {
            None => Ok(None),
            Some(s) => s
                .parse::<u32>()
                .ok()
                .filter(|&i| i > 0)
                .map(Some)
                .ok_or_else(|| shape("the forward hash holds a non-id", &Value::SimpleString(s))),
        })
        .collect()
}

/// `HMGET {…}:rev id...`: the external ids of `dense`, `None` for those never handed out.
pub(crate) async fn resolve<C: ConnectionLike + Send>(
    conn: &mut C,
    space: &str,
    dense: &[u32],
) -> std::result::Result<Vec<Option<String>>, RedisError> {
    if dense.is_empty() {
        return Ok(Vec::new());
    }
    let [_, rev, _] = redis_keys(space);
    redis::cmd("HMGET")
        .arg(&rev)
        .arg(dense)
        .query_async(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_hash_is_sha1_hex() {
        let sha = script_sha();
        assert_eq!(sha.len(), 40);
        assert!(sha.chars().all(|c| c.is_ascii_hexdigit()));
    }
}

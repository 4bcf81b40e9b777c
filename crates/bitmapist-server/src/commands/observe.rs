//! Observability commands, as Redis 7 answers them: `INFO [section...]`,
//! `LATENCY HISTOGRAM [command...]` and `SLOWLOG GET [count]|LEN|RESET|HELP`.
//!
//! `INFO` uses Redis 7's section and field names wherever a field means the same here, so
//! that redis_exporter, redis-cli and dashboards read it unchanged (see the README's
//! "Operations" notes for the list). Sections: `server`, `clients`, `memory`,
//! `persistence`, `stats`, `replication`, `errorstats`, `keyspace` and `keys` (Doist's
//! server's own) by default; `commandstats` and `latencystats` too with `all` or
//! `everything`, or when named. Fields of our own are prefixed `bitmapist_` or describe the
//! file (`db_path`, `db_file_bytes`, `db_roaring_bytes`, `db_file_to_roaring_ratio`,
//! `save_interval_ms`). The figures are kept by `stats`.

use std::fmt::Write as _;
use std::sync::OnceLock;

use super::{Command, Ctx, Flow, Outcome, unknown_subcommand};
use crate::args::Args;
use crate::error::CommandError;
use crate::resp::encode;
use crate::stats::CommandFigures;

/// The sections of `INFO`, in order, and whether `INFO` without arguments shows them.
const SECTIONS: [(&str, bool); 11] = [
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("keyspace", true),
    ("keys", true),
];

/// The latency percentiles `INFO latencystats` shows, as Redis's default.
const PERCENTILES: [(&str, f64); 3] = [("p50", 50.0), ("p99", 99.0), ("p99.9", 99.9)];

/// The resident set size of this process in bytes, from /proc (0 where unavailable).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Bytes allocated by jemalloc (the server's allocator); the resident size when jemalloc
/// does not answer (a process with another global allocator).
pub fn used_memory() -> u64 {
    let allocated = tikv_jemalloc_ctl::epoch::advance()
        .and_then(|_| tikv_jemalloc_ctl::stats::allocated::read())
        .map_or(0, |b| b as u64);
    if allocated > 0 {
        allocated
    } else {
        rss_bytes()
    }
}

/// Bytes as Redis's `*_human` fields write them (`1.50M`).
fn human(bytes: u64) -> String {
    let b = bytes as f64;
    let units = [
        (1u64 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (size, unit) in units {
        if bytes >= size {
            return format!("{:.2}{unit}", b / size as f64);
        }
    }
    format!("{bytes}B")
}

/// This run's id: 40 random hex digits, as Redis's `run_id`.
fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        use std::hash::{BuildHasher as _, Hasher as _};
        let mut id = String::new();
        for i in 0..3u64 {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(i);
            let _ = write!(id, "{:016x}", h.finish());
        }
        id.truncate(40);
        id
    })
}

/// Which sections the arguments of `INFO` ask for, as Redis reads them.
fn wanted_sections(args: Args<'_>) -> Vec<&'static str> {
    let words: Vec<String> = args
        .from(1)
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let all = words.iter().any(|w| w == "all" || w == "everything");
    let default = words.is_empty() || words.iter().any(|w| w == "default");
    SECTIONS
        .iter()
        .filter(|(name, by_default)| {
            all || (default && *by_default) || words.iter().any(|w| w == name)
        })
        .map(|(name, _)| *name)
        .collect()
}

/// `INFO [section...]` (see the module docs).
pub async fn info(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let sections = wanted_sections(args);
    let server = ctx.server;
    let ks = &server.keyspace;
    let stats = &server.stats;
    let needs_keys = sections.iter().any(|s| matches!(*s, "keyspace" | "keys"));
    let (keys_total, expires, avg_ttl) = if needs_keys {
        let gate = ctx.exclusive().await?;
        let (expires, avg_ttl) = ks.expiry().summary(crate::expiry::now_ms());
        (ks.len(&gate)?, expires, avg_ttl)
    } else {
        (0, 0, 0)
    };
    let footprint = if sections.contains(&"persistence") {
        Some(ks.store().storage_stats().await?)
    } else {
        None
    };
    let (cached, dirty) = ks.store().cache_stats();
    let mut text = String::new();
    for section in sections {
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        let mut title = section.to_string();
        title[..1].make_ascii_uppercase();
        let _ = write!(text, "# {title}\r\n");
        let mut line = |l: String| {
            text.push_str(&l);
            text.push_str("\r\n");
        };
        match section {
            "server" => {
                let uptime = server.started.elapsed().as_secs();
                let now_us = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_micros();
                line(format!("redis_version:{}", super::session::REDIS_VERSION));
                line(format!(
                    "bitmapist_server_version:{}",
                    env!("CARGO_PKG_VERSION")
                ));
                line("redis_mode:standalone".into());
                line(format!(
                    "os:{} {}",
                    std::env::consts::OS,
                    std::env::consts::ARCH
                ));
                line(format!("arch_bits:{}", usize::BITS));
                line(format!("process_id:{}", std::process::id()));
                line(format!("run_id:{}", run_id()));
                line(format!("tcp_port:{}", server.port));
                line(format!("server_time_usec:{now_us}"));
                line(format!("uptime_in_seconds:{uptime}"));
                line(format!("uptime_in_days:{}", uptime / 86_400));
                line(format!("db_path:{}", ks.store().path().display()));
            }
            "clients" => {
                line(format!("connected_clients:{}", stats.clients()));
                line("blocked_clients:0".into());
            }
            "memory" => {
                let used = used_memory();
                let peak = stats.note_memory(used);
                let rss = rss_bytes();
                line(format!("used_memory:{used}"));
                line(format!("used_memory_human:{}", human(used)));
                line(format!("used_memory_rss:{rss}"));
                line(format!("used_memory_rss_human:{}", human(rss)));
                line(format!("used_memory_peak:{peak}"));
                line(format!("used_memory_peak_human:{}", human(peak)));
                line("maxmemory:0".into());
                line("maxmemory_human:0B".into());
                line("mem_allocator:jemalloc".into());
            }
            "persistence" => {
                let f = footprint.clone().unwrap_or_default();
                line("loading:0".into());
                line(format!("rdb_changes_since_last_save:{dirty}"));
                line("rdb_bgsave_in_progress:0".into());
                line(format!("rdb_last_save_time:{}", ks.last_save()));
                line("aof_enabled:0".into());
                line(format!(
                    "save_interval_ms:{}",
                    ks.store().options().flush_interval.as_millis()
                ));
                line(format!("db_file_bytes:{}", f.file_bytes));
                line(format!("db_roaring_bytes:{}", f.roaring_bytes));
                line(format!("db_file_to_roaring_ratio:{:.3}", f.ratio()));
            }
            "stats" => {
                let (hits, misses) = stats.lookups();
                let (streamed, abandoned) = stats.streamed();
                line(format!(
                    "total_connections_received:{}",
                    stats.connections()
                ));
                line(format!("total_commands_processed:{}", stats.commands()));
                line(format!("instantaneous_ops_per_sec:{}", stats.ops_per_sec()));
                line(format!("total_net_input_bytes:{}", stats.net_input()));
                line(format!("total_net_output_bytes:{}", stats.net_output()));
                line("rejected_connections:0".into());
                line(format!("expired_keys:{}", ks.expired_keys()));
                line("evicted_keys:0".into());
                line(format!("keyspace_hits:{hits}"));
                line(format!("keyspace_misses:{misses}"));
                line(format!("total_error_replies:{}", stats.error_replies()));
                line(format!("bitmapist_streamed_replies:{streamed}"));
                line(format!("bitmapist_abandoned_replies:{abandoned}"));
            }
            "replication" => {
                line("role:master".into());
                line("connected_slaves:0".into());
            }
            "commandstats" => stats.with_commands(|table| {
                for (command, f) in Command::ALL.iter().zip(table) {
                    if !f.seen() {
                        continue;
                    }
                    let usec = f.nanos / 1000;
                    let per_call = if f.calls > 0 {
                        f.nanos as f64 / 1000.0 / f.calls as f64
                    } else {
                        0.0
                    };
                    line(format!(
                        "cmdstat_{}:calls={},usec={usec},usec_per_call={per_call:.2},\
                         rejected_calls={},failed_calls={}",
                        command.name(),
                        f.calls,
                        f.rejected,
                        f.failed
                    ));
                }
            }),
            "errorstats" => {
                for (word, count) in stats.errors() {
                    line(format!("errorstat_{word}:count={count}"));
                }
            }
            "latencystats" => stats.with_commands(|table| {
                for (command, f) in Command::ALL.iter().zip(table) {
                    let Some(h) = f.histogram().filter(|h| !h.is_empty()) else {
                        continue;
                    };
                    let parts: Vec<String> = PERCENTILES
                        .iter()
                        .map(|(name, p)| {
                            let usec = h.value_at_percentile(*p) as f64 / 1000.0;
                            format!("{name}={usec:.3}")
                        })
                        .collect();
                    line(format!(
                        "latency_percentiles_usec_{}:{}",
                        command.name(),
                        parts.join(",")
                    ));
                }
            }),
            "keyspace" => {
                if keys_total > 0 {
                    line(format!(
                        "db0:keys={keys_total},expires={expires},avg_ttl={avg_ttl}"
                    ));
                }
            }
            _ => {
                line(format!("keys_total:{keys_total}"));
                line(format!("keys_cached:{cached}"));
            }
        }
    }
    encode::bulk(out, text.as_bytes());
    Ok(Flow::Continue)
}

/// One command's `LATENCY HISTOGRAM` entry: its calls and the cumulative counts at
/// power-of-two microsecond buckets where the count grows, as Redis's `fillCommandCDF`.
fn histogram_entry(out: &mut Vec<u8>, figures: &CommandFigures) {
    let Some(h) = figures.histogram() else {
        return;
    };
    encode::array(out, 4);
    encode::bulk(out, b"calls");
    encode::count(out, h.len());
    encode::bulk(out, b"histogram_usec");
    let mut buckets = Vec::new();
    let mut cumulative = 0u64;
    let mut previous = 0u64;
    for step in h.iter_log(1024, 2.0) {
        cumulative += step.count_since_last_iteration();
        if cumulative > previous {
            buckets.push((step.value_iterated_to() / 1000, cumulative));
        }
        previous = cumulative;
    }
    encode::array(out, buckets.len() * 2);
    for (usec, count) in buckets {
        encode::count(out, usec);
        encode::count(out, count);
    }
}

/// `LATENCY HISTOGRAM [command...]`: per command called at least once, its latency
/// histogram. `LATENCY LATEST` answers no events, as Redis does with its latency monitor
/// off (`latency-monitor-threshold 0`, its default): the server keeps no latency events.
pub fn latency(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    if args.is(1, "help") {
        let lines = [
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LATEST",
            "    Return the latest latency samples for all events (none: the latency monitor is off).",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ];
        encode::array(out, lines.len());
        for l in lines {
            encode::status(out, l);
        }
        return Ok(Flow::Continue);
    }
    if args.is(1, "latest") {
        encode::array(out, 0);
        return Ok(Flow::Continue);
    }
    if !args.is(1, "histogram") {
        return Err(unknown_subcommand(args.get(1), "latency"));
    }
    let named: Vec<Command> = args.from(2).filter_map(Command::lookup).collect();
    ctx.server.stats.with_commands(|table| {
        let shown: Vec<(Command, &CommandFigures)> = Command::ALL
            .iter()
            .zip(table)
            .filter(|(c, f)| {
                f.histogram().is_some_and(|h| !h.is_empty())
                    && (named.is_empty() || named.contains(c))
            })
            .map(|(c, f)| (*c, f))
            .collect();
        encode::array(out, shown.len() * 2);
        for (command, figures) in shown {
            encode::bulk(out, command.name().as_bytes());
            histogram_entry(out, figures);
        }
    });
    Ok(Flow::Continue)
}

/// `SLOWLOG GET [count]|LEN|RESET|HELP`, as Redis 7 answers them.
pub fn slowlog(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let stats = &ctx.server.stats;
    let sub = args.get(1).to_ascii_lowercase();
    let arity = |n: usize, name: &str| {
        if args.len() == n {
            Ok(())
        } else {
            Err(CommandError::arity(&format!("slowlog|{name}")))
        }
    };
    match sub.as_slice() {
        b"get" => {
            if args.len() > 3 {
                return Err(CommandError::arity("slowlog|get"));
            }
            let count = if args.len() == 3 {
                match args.int(2)? {
                    -1 => None,
                    n => Some(usize::try_from(n).map_err(|_| {
                        CommandError::reply("ERR count should be greater than or equal to -1")
                    })?),
                }
            } else {
                Some(10)
            };
            let entries = stats.slow_entries(count);
            encode::array(out, entries.len());
            for e in entries {
                encode::array(out, 6);
                encode::count(out, e.id);
                encode::count(out, e.time);
                encode::count(out, e.micros);
                encode::array(out, e.args.len());
                for a in &e.args {
                    encode::bulk(out, a);
                }
                encode::bulk(out, e.peer.as_bytes());
                encode::bulk(out, &e.name);
            }
        }
        b"len" => {
            arity(2, "len")?;
            encode::count(out, stats.slowlog_len() as u64);
        }
        b"reset" => {
            arity(2, "reset")?;
            stats.slowlog_reset();
            encode::ok(out);
        }
        b"help" => {
            let lines = [
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Prints this help.",
            ];
            encode::array(out, lines.len());
            for l in lines {
                encode::status(out, l);
            }
        }
        _ => return Err(unknown_subcommand(args.get(1), "slowlog")),
    }
    Ok(Flow::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_follow_redis() {
        assert_eq!(human(512), "512B");
        assert_eq!(human(1536), "1.50K");
        assert_eq!(human(3 << 20), "3.00M");
    }
}

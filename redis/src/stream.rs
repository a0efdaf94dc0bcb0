//! The data layout: one Redis stream of revocations, as the wire contract
//! (`STREAM.md`) describes it.
//!
//! Each entry has one field, `r`, the revocation as JSON
//! (`{"kind":"session","handle":"…"}`, `{"kind":"user","user_id":"…","before":…}`);
//! the entry's id (`<milliseconds>-<sequence>`, Redis' clock) says when it
//! was made. A write appends, trims entries older than the retention and
//! sets the key's expiry to the retention, in one script, so the three
//! happen together or not at all. Entries are read by [`crate::entry`].

use std::time::Instant;

use redis::AsyncCommands;
use redis::streams::StreamReadOptions;
use ssr_session::Revocation;

use crate::connect::{Connection, bounded};
use crate::entry::{Range, RawEntry, Read};
use crate::error::RedisRevocationsError;
use crate::settings::Settings;
use crate::shared::{Shared, unix_now};

/// Entries per page of a full reload: large enough that a reload of a busy
/// hour takes few round trips, small enough that one reply stays around a
/// megabyte.
const RELOAD_PAGE: usize = 10_000;

/// Appends one revocation (`ARGV[1]`, JSON) to the stream `KEYS[1]`, drops
/// the entries older than the retention (`ARGV[2]`, milliseconds) by the
/// new entry's own timestamp, and makes the whole key expire after the
/// retention, so an idle stream disappears. Returns the new entry's id.
///
/// A script rather than MULTI/EXEC: the trim threshold comes from the id
/// Redis just assigned, so trimming follows Redis' clock alone, never a
/// replica's.
pub(crate) const APPEND: &str = r"
local id = redis.call('XADD', KEYS[1], '*', 'r', ARGV[1])
local ms = tonumber(string.match(id, '^(%d+)-'))
local min = ms - tonumber(ARGV[2])
if min > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d', min))
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return id
";

pub(crate) fn append_script() -> redis::Script {
    redis::Script::new(APPEND)
}

/// Whether the stream `KEYS[1]` lost the entry `ARGV[1]`: 1 when the entry
/// is gone although neither a trim nor the key's expiry can have removed it
/// yet, 0 when the stream holds it or when the retention (`ARGV[2]`,
/// milliseconds) may have taken it.
///
/// [`APPEND`] trims the ids older than the newest entry's time minus the
/// retention, and the key expires a retention after the last write, so an
/// entry dated within one retention of both Redis' clock and the newest id
/// is still there unless Redis lost it (restarted empty, flushed, failed
/// over to a replica that never had it). Judged in Redis, by its clock and
/// its ids, like the trim itself: a replica's journal dates entries in whole
/// seconds and its clock is not Redis', so judged there an entry trimmed on
/// time looks lost, and writing it again re-dates it a retention later,
/// over and over.
pub(crate) const LOST: &str = r"
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) > 0 then
  return 0
end
local function ms(id)
  return tonumber(string.match(id, '^(%d+)-'))
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #newest > 0 then
  now = math.max(now, ms(newest[1][1]))
end
if ms(ARGV[1]) < now - tonumber(ARGV[2]) then
  return 0
end
return 1
";

pub(crate) fn lost_script() -> redis::Script {
    redis::Script::new(LOST)
}

/// Writes `revocation`; returns the new entry's id (its date, by Redis'
/// clock, is [`made_at`](crate::entry::made_at) it).
pub(crate) async fn append(
    conn: &mut Connection,
    script: &redis::Script,
    settings: &Settings,
    revocation: &Revocation,
) -> Result<String, RedisRevocationsError> {
    let json = serde_json::to_string(revocation)
        .map_err(|e| RedisRevocationsError::Entry(e.to_string()))?;
    let id: String = script
        .key(&settings.key)
        .arg(json)
        .arg(settings.retention_ms())
        .invoke_async(conn)
        .await?;
    Ok(id)
}

/// Whether Redis lost the entry `id` this replica wrote (see [`LOST`]).
pub(crate) async fn lost(
    conn: &mut Connection,
    script: &redis::Script,
    settings: &Settings,
    id: &str,
) -> Result<bool, RedisRevocationsError> {
    let lost: bool = script
        .key(&settings.key)
        .arg(id)
        .arg(settings.retention_ms())
        .invoke_async(conn)
        .await?;
    Ok(lost)
}

/// Applies entries to the set; returns how many were applied. An entry this
/// version cannot read (a newer version, a kind it does not know, or one
/// that breaks the contract) is skipped with one log line rather than
/// stopping the follower: the others must still get through.
fn apply(shared: &Shared, entries: &[RawEntry], settings: &Settings) -> usize {
    let now = unix_now();
    let retention = i64::try_from(settings.retention.as_secs()).unwrap_or(i64::MAX);
    let mut applied = 0;
    for entry in entries {
        match entry.parse(now) {
            // Past its retention already (a reload of an idle stream):
            // holding it would only cost memory until the next sweep.
            Ok(parsed) if parsed.at.saturating_add(retention) <= now => {}
            Ok(parsed) => {
                if let Some(written) = parsed.clamped_before {
                    tracing::warn!(
                        target: "ssr_session_redis",
                        entry = %entry.id,
                        before = written,
                        "a user revocation's `before` lies far after the entry itself \
                         (milliseconds for seconds?): applied as of the entry's time"
                    );
                }
                shared.memory.apply(&parsed.revocation, parsed.at);
                applied += 1;
            }
            Err(reason) => {
                crate::metrics::skipped();
                tracing::warn!(
                target: "ssr_session_redis",
                entry = %entry.id,
                %reason,
                    "skipped a revocation entry"
                );
            }
        }
    }
    crate::metrics::applied(applied);
    applied
}

/// A full reload: every entry in the stream, in pages, merged into the
/// set. Returns the id to follow from and how many entries were applied.
/// The set is current as of the moment the reload started.
pub(crate) async fn reload(
    conn: &mut Connection,
    shared: &Shared,
    settings: &Settings,
) -> Result<(String, usize), RedisRevocationsError> {
    let started = Instant::now();
    // "0-0" when the stream is empty: the next read then returns whatever
    // is appended after this reload, whatever its id.
    let mut last = String::from("0-0");
    let mut start = String::from("-");
    let mut applied = 0;
    loop {
        let Range(page) = bounded(
            settings.command_timeout,
            "reloading the revocations",
            conn.xrange_count(&settings.key, &start, "+", RELOAD_PAGE),
        )
        .await?;
        applied += apply(shared, &page, settings);
        let full = page.len() >= RELOAD_PAGE;
        if let Some(entry) = page.last() {
            last.clone_from(&entry.id);
        }
        if !full {
            break;
        }
        start = format!("({last}");
    }
    // As after a poll: a set marked current has swept (see `poll`).
    shared.memory.sweep(unix_now());
    shared.synced_at(started);
    Ok((last, applied))
}

/// One blocking read of what follows `last`: returns as soon as a
/// revocation arrives, or empty-handed after the poll interval. Applies
/// what it got, sweeps the set and moves `last` on; returns how many
/// entries arrived.
pub(crate) async fn poll(
    conn: &mut Connection,
    last: &mut String,
    shared: &Shared,
    settings: &Settings,
) -> Result<usize, RedisRevocationsError> {
    let sent = Instant::now();
    let block = usize::try_from(settings.poll_interval.as_millis()).unwrap_or(usize::MAX);
    let options = StreamReadOptions::default()
        .block(block)
        .count(settings.batch);
    let Read(entries) = bounded(
        settings.poll_interval + settings.command_timeout,
        "following the revocations",
        conn.xread_options(&[&settings.key], &[&*last], &options),
    )
    .await?;
    apply(shared, &entries, settings);
    // Swept before the set is marked current, so that a set current as of
    // `sent` has also dropped what was past its retention by then: the
    // staleness then bounds how long an entry outlives its retention.
    shared.memory.sweep(unix_now());
    if let Some(entry) = entries.last() {
        last.clone_from(&entry.id);
    }
    // A full batch may have left entries behind: the set is current only
    // once a read comes back with room to spare.
    if entries.len() < settings.batch {
        shared.synced_at(sent);
    }
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    /// The wire contract quotes the script this crate runs, verbatim.
    #[test]
    fn the_contract_document_quotes_the_script() {
        let contract = include_str!("../STREAM.md");
        let start = contract.find("```lua\n").expect("a lua block") + "```lua\n".len();
        let end = start + contract[start..].find("```").expect("the block ends");
        assert_eq!(&contract[start..end], super::APPEND.trim_start());
    }
}

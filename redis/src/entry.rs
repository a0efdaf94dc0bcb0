//! One stream entry, read as the wire contract (`STREAM.md`, version 1)
//! says, and defensively: any writer with access to the key can append, so
//! an entry is checked field by field and one that breaks the contract is
//! skipped with a reason that names no session handle or user id.
//!
//! The replies are read from Redis' raw values rather than through
//! redis-rs' typed stream replies, which turn a whole reply into an error
//! when one field name is not UTF-8: a single hostile entry would then stop
//! the follower for good (every reload would fail on it again).

use redis::{FromRedisValue, ParsingError, Value};
use serde_json::Value as Json;
use ssr_session::Revocation;

use crate::error::RedisRevocationsError;

/// The field that holds the revocation, as JSON.
pub(crate) const FIELD: &str = "r";
/// The field that holds the contract version; absent means 1.
pub(crate) const VERSION_FIELD: &str = "v";
/// The contract version this reader implements.
pub(crate) const VERSION: u64 = 1;
/// The longest `r` value read, in bytes; a longer one is skipped unparsed.
/// A version 1 revocation is well under 2 KiB.
pub(crate) const MAX_VALUE_BYTES: usize = 4096;
/// The longest session handle or user id, in bytes (UTF-8).
pub(crate) const MAX_ID_BYTES: usize = 1024;
/// How far (seconds) a user revocation's `before` may lie after the entry's
/// own time before it is taken to be a mistake (milliseconds for seconds,
/// say) and replaced by the entry's time; also how far an entry may be
/// dated after this replica's clock before its date is capped.
pub(crate) const MAX_AHEAD_SECS: i64 = 300;

/// An entry as Redis returned it: its id, and its fields in order, names
/// and values as bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RawEntry {
    pub id: String,
    pub fields: Vec<(Vec<u8>, Value)>,
}

/// The entries of an `XRANGE` reply.
#[derive(Debug, Default)]
pub(crate) struct Range(pub Vec<RawEntry>);

/// The entries of a single-key `XREAD` reply (none when it timed out).
#[derive(Debug, Default)]
pub(crate) struct Read(pub Vec<RawEntry>);

/// A revocation read from an entry.
#[derive(Debug, PartialEq)]
pub(crate) struct Parsed {
    pub revocation: Revocation,
    /// When it was made (seconds, Redis' clock, rounded up), capped at this
    /// replica's clock plus [`MAX_AHEAD_SECS`].
    pub at: i64,
    /// A user revocation's `before` as written, when it lay too far ahead
    /// and was replaced by `at`.
    pub clamped_before: Option<i64>,
}

/// Why an entry was skipped. The messages name fields and sizes, never a
/// handle or a user id.
#[derive(Debug, PartialEq, thiserror::Error)]
pub(crate) enum Skip {
    #[error("its id is not a stream id")]
    BadId,
    #[error("it has no `r` field")]
    NoField,
    #[error("its `{0}` field appears more than once")]
    Repeated(&'static str),
    #[error("it is version {0}, newer than this reader's ({VERSION}): upgrade the readers first")]
    NewerVersion(u64),
    #[error("its `v` field is not a version number of 1 or more")]
    BadVersion,
    #[error("its `r` value is {0} bytes, more than the {MAX_VALUE_BYTES} allowed")]
    TooLarge(usize),
    #[error("its `r` value is not JSON")]
    NotJson,
    #[error("its `r` value is not a JSON object")]
    NotObject,
    #[error("its revocation has no `kind` string")]
    NoKind,
    #[error("its revocation's kind {0:?} is unknown to this version")]
    UnknownKind(String),
    #[error("its revocation's `{0}` is missing or not a string")]
    NotString(&'static str),
    #[error("its revocation's `{0}` is empty")]
    Empty(&'static str),
    #[error("its revocation's `{0}` is {1} bytes, more than the {MAX_ID_BYTES} allowed")]
    IdTooLong(&'static str, usize),
    #[error(
        "its revocation's `before` is missing or not an integer (seconds since the Unix epoch)"
    )]
    BadBefore,
}

/// When the entry `id` was made, in seconds, rounded up: an entry must not
/// be dropped before a token issued in the same second has expired.
pub(crate) fn made_at(id: &str) -> Result<i64, RedisRevocationsError> {
    parse_id(id).ok_or_else(|| RedisRevocationsError::Entry(format!("not a stream id: {id:?}")))
}

fn parse_id(id: &str) -> Option<i64> {
    let (ms, sequence) = id.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(ms) || !digits(sequence) {
        return None;
    }
    let ms = ms.parse::<i64>().ok()?;
    Some(ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0))
}

impl RawEntry {
    /// The values of the field `name`, in order.
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.fields
            .iter()
            .filter(move |(field, _)| field.as_slice() == name.as_bytes())
            .map(|(_, value)| value)
    }

    /// The one value of the field `name`: `None` when absent, an error when
    /// repeated.
    fn single(&self, name: &'static str) -> Result<Option<&Value>, Skip> {
        let mut values = self.values(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(Skip::Repeated(name));
        }
        Ok(first)
    }

    /// The revocation this entry holds, judged at `now` (seconds since the
    /// Unix epoch, this replica's clock).
    pub(crate) fn parse(&self, now: i64) -> Result<Parsed, Skip> {
        let made = parse_id(&self.id).ok_or(Skip::BadId)?;
        // Before anything else: an entry of a newer version may mean
        // something else by its other fields.
        if let Some(version) = self.single(VERSION_FIELD)? {
            let version = bytes(version)
                .and_then(|v| std::str::from_utf8(v).ok())
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(Skip::BadVersion)?;
            if version > VERSION {
                return Err(Skip::NewerVersion(version));
            }
            if version < VERSION {
                return Err(Skip::BadVersion);
            }
        }
        let value = self.single(FIELD)?.ok_or(Skip::NoField)?;
        let value = bytes(value).ok_or(Skip::NotJson)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(Skip::TooLarge(value.len()));
        }
        let json: Json = serde_json::from_slice(value).map_err(|_| Skip::NotJson)?;
        let Json::Object(object) = json else {
            return Err(Skip::NotObject);
        };
        let at = made.min(now.saturating_add(MAX_AHEAD_SECS));
        let mut clamped_before = None;
        let revocation = match object.get("kind") {
            Some(Json::String(kind)) if kind == "session" => Revocation::Session {
                handle: id_field(&object, "handle")?,
            },
            Some(Json::String(kind)) if kind == "user" => {
                let user_id = id_field(&object, "user_id")?;
                let mut before = object
                    .get("before")
                    .and_then(Json::as_i64)
                    .ok_or(Skip::BadBefore)?;
                if before > at.saturating_add(MAX_AHEAD_SECS) {
                    clamped_before = Some(before);
                    before = at;
                }
                Revocation::User { user_id, before }
            }
            Some(Json::String(kind)) => {
                return Err(Skip::UnknownKind(kind.chars().take(32).collect()));
            }
            _ => return Err(Skip::NoKind),
        };
        Ok(Parsed {
            revocation,
            at,
            clamped_before,
        })
    }
}

/// A bulk or simple string's bytes.
fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(string) => Some(string.as_bytes()),
        _ => None,
    }
}

/// A handle or user id: a non-empty string of at most [`MAX_ID_BYTES`].
fn id_field(object: &serde_json::Map<String, Json>, name: &'static str) -> Result<String, Skip> {
    let Some(Json::String(id)) = object.get(name) else {
        return Err(Skip::NotString(name));
    };
    if id.is_empty() {
        return Err(Skip::Empty(name));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(Skip::IdTooLong(name, id.len()));
    }
    Ok(id.clone())
}

fn not_a_stream(what: &str) -> ParsingError {
    format!("not a stream reply: {what}").into()
}

/// One `[id, [field, value, …]]` of a reply.
fn entry(value: Value) -> Result<RawEntry, ParsingError> {
    let Value::Array(parts) = value else {
        return Err(not_a_stream("an entry is not an array"));
    };
    let mut parts = parts.into_iter();
    let id = match parts.next() {
        Some(Value::BulkString(id)) => {
            String::from_utf8(id).map_err(|_| not_a_stream("an entry id is not UTF-8"))?
        }
        Some(Value::SimpleString(id)) => id,
        _ => return Err(not_a_stream("an entry has no id")),
    };
    let list = match parts.next() {
        Some(Value::Array(list)) => list,
        // A deleted entry's fields, in some replies.
        Some(Value::Nil) | None => Vec::new(),
        // RESP3 servers may send the fields as a map.
        Some(Value::Map(pairs)) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        Some(_) => return Err(not_a_stream("an entry's fields are not a list")),
    };
    let mut fields = Vec::with_capacity(list.len() / 2);
    let mut list = list.into_iter();
    while let Some(name) = list.next() {
        let name = match name {
            Value::BulkString(name) => name,
            Value::SimpleString(name) => name.into_bytes(),
            // Not a name Redis would send; kept as nothing, so the entry is
            // judged (and skipped) on its own rather than failing the reply.
            _ => Vec::new(),
        };
        fields.push((name, list.next().unwrap_or(Value::Nil)));
    }
    Ok(RawEntry { id, fields })
}

fn entries(value: Value) -> Result<Vec<RawEntry>, ParsingError> {
    match value {
        Value::Array(items) => items.into_iter().map(entry).collect(),
        Value::Nil => Ok(Vec::new()),
        _ => Err(not_a_stream("the entries are not an array")),
    }
}

impl FromRedisValue for Range {
    fn from_redis_value(value: Value) -> Result<Self, ParsingError> {
        entries(value).map(Self)
    }
}

impl FromRedisValue for Read {
    /// `[[key, entries]]` (RESP2) or `{key: entries}` (RESP3); nil when the
    /// blocking read timed out. One key is read, so the entries of every
    /// key in the reply are taken in order.
    fn from_redis_value(value: Value) -> Result<Self, ParsingError> {
        let per_key: Vec<Value> = match value {
            Value::Nil => return Ok(Self::default()),
            Value::Array(keys) => keys
                .into_iter()
                .map(|key| match key {
                    Value::Array(mut pair) if pair.len() == 2 => Ok(pair.swap_remove(1)),
                    _ => Err(not_a_stream("a key's entry is not [key, entries]")),
                })
                .collect::<Result<_, _>>()?,
            Value::Map(pairs) => pairs.into_iter().map(|(_, entries)| entries).collect(),
            _ => return Err(not_a_stream("not an array or a map")),
        };
        let mut all = Vec::new();
        for value in per_key {
            all.extend(entries(value)?);
        }
        Ok(Self(all))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn raw(id: &str, fields: &[(&[u8], &[u8])]) -> RawEntry {
        RawEntry {
            id: id.into(),
            fields: fields
                .iter()
                .map(|(name, value)| (name.to_vec(), Value::BulkString(value.to_vec())))
                .collect(),
        }
    }

    fn r(json: &str) -> RawEntry {
        raw("1700000000000-0", &[(b"r", json.as_bytes())])
    }

    #[test]
    fn an_entry_is_dated_by_its_id_rounded_up_to_the_second() {
        assert_eq!(made_at("1700000000000-0").unwrap(), 1_700_000_000);
        assert_eq!(made_at("1700000000001-7").unwrap(), 1_700_000_001);
        assert_eq!(made_at("1700000000999-0").unwrap(), 1_700_000_001);
        for bad in ["garbage", "-1-0", "1-", "1-x", "", "17e3-0"] {
            assert!(made_at(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_version_1_shapes_decode_as_ssr_sessions_serde_writes_them() {
        for revocation in [
            Revocation::Session { handle: "h".into() },
            Revocation::User {
                user_id: "u".into(),
                before: NOW,
            },
        ] {
            let json = serde_json::to_string(&revocation).unwrap();
            let parsed = r(&json).parse(NOW).unwrap();
            assert_eq!(parsed.revocation, revocation);
            assert_eq!(parsed.at, NOW);
            assert_eq!(parsed.clamped_before, None);
        }
        // The documented literals, byte for byte.
        assert_eq!(
            serde_json::to_string(&Revocation::Session { handle: "h".into() }).unwrap(),
            r#"{"kind":"session","handle":"h"}"#
        );
        assert_eq!(
            serde_json::to_string(&Revocation::User {
                user_id: "u".into(),
                before: 5
            })
            .unwrap(),
            r#"{"kind":"user","user_id":"u","before":5}"#
        );
    }

    #[test]
    fn unknown_fields_are_ignored_and_version_1_may_be_explicit() {
        let entry = raw(
            "1700000000000-0",
            &[
                (b"v", b"1"),
                (b"r", br#"{"kind":"session","handle":"h","by":"node"}"#),
                (b"trace", b"abc"),
            ],
        );
        assert_eq!(
            entry.parse(NOW).unwrap().revocation,
            Revocation::Session { handle: "h".into() }
        );
    }

    #[test]
    fn every_broken_entry_is_skipped_with_its_reason() {
        let long = "x".repeat(MAX_ID_BYTES + 1);
        let huge = format!(
            r#"{{"kind":"session","handle":"{}"}}"#,
            "h".repeat(MAX_VALUE_BYTES)
        );
        let cases: Vec<(RawEntry, Skip)> = vec![
            (r("not json"), Skip::NotJson),
            (r("[1,2]"), Skip::NotObject),
            (r(r#"{"handle":"h"}"#), Skip::NoKind),
            (r(r#"{"kind":5,"handle":"h"}"#), Skip::NoKind),
            (
                r(r#"{"kind":"device","id":"d"}"#),
                Skip::UnknownKind("device".into()),
            ),
            (
                r(r#"{"kind":"session","handle":5}"#),
                Skip::NotString("handle"),
            ),
            (r(r#"{"kind":"session"}"#), Skip::NotString("handle")),
            (
                r(r#"{"kind":"session","handle":""}"#),
                Skip::Empty("handle"),
            ),
            (
                r(r#"{"kind":"user","user_id":"","before":1}"#),
                Skip::Empty("user_id"),
            ),
            (
                r(r#"{"kind":"user","user_id":"u","before":"1"}"#),
                Skip::BadBefore,
            ),
            (
                r(r#"{"kind":"user","user_id":"u","before":1.5}"#),
                Skip::BadBefore,
            ),
            (r(r#"{"kind":"user","user_id":"u"}"#), Skip::BadBefore),
            (
                r(&format!(r#"{{"kind":"session","handle":"{long}"}}"#)),
                Skip::IdTooLong("handle", MAX_ID_BYTES + 1),
            ),
            (r(&huge), Skip::TooLarge(huge.len())),
            (raw("1700000000000-0", &[(b"x", b"{}")]), Skip::NoField),
            (raw("1700000000000-0", &[]), Skip::NoField),
            (
                raw(
                    "1700000000000-0",
                    &[(b"r", br#"{"kind":"session","handle":"a"}"#), (b"r", b"{}")],
                ),
                Skip::Repeated("r"),
            ),
            (
                raw("1700000000000-0", &[(b"v", b"2"), (b"r", b"{}")]),
                Skip::NewerVersion(2),
            ),
            (
                raw(
                    "1700000000000-0",
                    &[
                        (b"v", b"one"),
                        (b"r", br#"{"kind":"session","handle":"a"}"#),
                    ],
                ),
                Skip::BadVersion,
            ),
            (
                raw(
                    "1700000000000-0",
                    &[(b"v", b"0"), (b"r", br#"{"kind":"session","handle":"a"}"#)],
                ),
                Skip::BadVersion,
            ),
            (
                raw("1700000000000-0", &[(b"r", b"\xff\xfe")]),
                Skip::NotJson,
            ),
            (
                raw("nonsense", &[(b"r", br#"{"kind":"session","handle":"a"}"#)]),
                Skip::BadId,
            ),
        ];
        for (entry, reason) in cases {
            assert_eq!(entry.parse(NOW), Err(reason), "{entry:?}");
        }
        // The reasons never carry a handle or user id.
        let secret = r(r#"{"kind":"user","user_id":"secret-user","before":"secret"}"#);
        let message = secret.parse(NOW).unwrap_err().to_string();
        assert!(!message.contains("secret"), "{message}");
    }

    #[test]
    fn a_before_far_past_the_entry_is_taken_as_the_entrys_time() {
        // Milliseconds where seconds belong: would revoke the user's future
        // sign-ins for ages.
        let ms = NOW * 1000;
        let parsed = r(&format!(r#"{{"kind":"user","user_id":"u","before":{ms}}}"#))
            .parse(NOW)
            .unwrap();
        assert_eq!(
            parsed.revocation,
            Revocation::User {
                user_id: "u".into(),
                before: NOW
            }
        );
        assert_eq!(parsed.clamped_before, Some(ms));
        // A writer's clock a little ahead of Redis' is kept as written.
        let ahead = NOW + MAX_AHEAD_SECS;
        let parsed = r(&format!(
            r#"{{"kind":"user","user_id":"u","before":{ahead}}}"#
        ))
        .parse(NOW)
        .unwrap();
        assert_eq!(parsed.clamped_before, None);
        // An entry dated far ahead of this replica is capped to its clock.
        let future = raw(
            "99999999999999-0",
            &[(
                b"r",
                br#"{"kind":"user","user_id":"u","before":99999999999}"#,
            )],
        );
        let parsed = future.parse(NOW).unwrap();
        assert_eq!(parsed.at, NOW + MAX_AHEAD_SECS);
        assert_eq!(
            parsed.revocation,
            Revocation::User {
                user_id: "u".into(),
                before: NOW + MAX_AHEAD_SECS
            }
        );
    }

    #[test]
    fn replies_are_read_from_raw_values_whatever_the_field_names() {
        let bulk = |b: &[u8]| Value::BulkString(b.to_vec());
        let entry = |id: &str, fields: Vec<Value>| {
            Value::Array(vec![bulk(id.as_bytes()), Value::Array(fields)])
        };
        let range = Value::Array(vec![
            entry("1-0", vec![bulk(b"\xff\xfe"), bulk(b"x")]),
            entry(
                "2-0",
                vec![bulk(b"r"), bulk(br#"{"kind":"session","handle":"h"}"#)],
            ),
        ]);
        let Range(entries) = Range::from_redis_value(range.clone()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].parse(NOW), Err(Skip::NoField));
        assert!(entries[1].parse(NOW).is_ok());

        let resp2 = Value::Array(vec![Value::Array(vec![bulk(b"key"), range.clone()])]);
        assert_eq!(Read::from_redis_value(resp2).unwrap().0.len(), 2);
        let resp3 = Value::Map(vec![(bulk(b"key"), range)]);
        assert_eq!(Read::from_redis_value(resp3).unwrap().0.len(), 2);
        assert!(Read::from_redis_value(Value::Nil).unwrap().0.is_empty());
        assert!(Range::from_redis_value(Value::Int(3)).is_err());
    }

    /// The wire contract states the limits this reader applies (the
    /// script it quotes is checked beside the script, in `stream.rs`).
    #[test]
    fn the_contract_document_states_the_limits() {
        let contract = include_str!("../STREAM.md");
        for stated in [
            format!("`{FIELD}`"),
            format!("`{VERSION_FIELD}`"),
            format!("version {VERSION}"),
            format!("at most {MAX_VALUE_BYTES} bytes"),
            format!("at most {MAX_ID_BYTES} bytes"),
            format!("more than {MAX_AHEAD_SECS} seconds"),
            "`{ssr-session}:revocations`".to_owned(),
        ] {
            assert!(
                contract.contains(&stated),
                "STREAM.md does not state {stated}"
            );
        }
    }
}

//! The soak's load generator (run by `scripts/soak.sh`; RELIABILITY.md has
//! the figures): a closed loop of concurrent requests against the example
//! replicas on loopback (the first, `--base`, embeds the dev issuer; the
//! others, `--replica`, verify its tokens; the load alternates), with a
//! fixed mix of tokens, sign-outs at a steady rate, one injected JWKS
//! outage, one Redis restart (through `--redis-control PATH stop|start`),
//! and the servers' RSS sampled every 10 s.
//!
//! Mix: 65 % valid (users signed in at the dev issuer, a few replaced
//! every second so new tokens keep reaching the key provider), 10 %
//! expired (correctly signed, expired), 10 % forged (a changed signature,
//! `alg: none`, a swapped payload, an attacker's key under a random `kid`),
//! 10 % missing, 5 % revoked (sessions signed out during the run). Every
//! request is a page navigation: `GET /dashboard` with `Accept: text/html`,
//! redirects not followed.
//!
//! Sign-outs: `--signouts` a second, each a new session served once by
//! every replica, then `POST /auth/signout` on the first replica: `200`
//! means Redis acknowledged the revocation (*confirmed*), `503` with
//! `Retry-After` that it holds on the first replica and waits in its retry
//! queue (*pending*, while Redis is down).
//!
//! Prints a Markdown report and exits non-zero when a promise is broken: a
//! 2xx for a forged or expired token; a valid token refused (any non-2xx:
//! fail-open keeps serving live sessions through the Redis restart); a 5xx
//! for an expired or missing token; a revoked token served more than 1 s
//! after its sign-out was confirmed (on the first replica: at all), a
//! pending one served by the first replica at all or by another one 15 s
//! after Redis is back, or any revoked token served at the end; a sign-out
//! answered anything but 200 or 503 with `Retry-After`; a transport error.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ssr_session::keys::Algorithm;
use ssr_session::testing::{TestKey, TokenBuilder};

const USAGE: &str = "usage: soak-load --base http://127.0.0.1:PORT [--replica URL]... [--pid PID]... \
[--duration SECS] [--concurrency N] [--outage-at SECS] [--outage-for SECS] [--users N] [--churn N] \
[--signouts N] [--redis-restart-at SECS] [--redis-down-for SECS] [--redis-control PATH]";

/// How long after a confirmed sign-out another replica may still serve the
/// session (propagation: milliseconds in practice).
const PROPAGATION_GRACE: Duration = Duration::from_secs(1);
/// How long after Redis is back a pending sign-out may still be served by a
/// replica that did not make it.
const PENDING_GRACE: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Valid,
    Expired,
    Forged,
    Missing,
    Revoked,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Valid,
        Kind::Expired,
        Kind::Forged,
        Kind::Missing,
        Kind::Revoked,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Valid => "valid",
            Kind::Expired => "expired",
            Kind::Forged => "forged",
            Kind::Missing => "missing",
            Kind::Revoked => "revoked",
        }
    }

    /// 65 / 10 / 10 / 10 / 5.
    fn pick(roll: u64) -> Kind {
        match roll % 100 {
            0..65 => Kind::Valid,
            65..75 => Kind::Expired,
            75..85 => Kind::Forged,
            85..95 => Kind::Missing,
            _ => Kind::Revoked,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Phase {
    Before,
    /// Redis killed, not yet started again.
    RedisDown,
    Outage,
    /// From the end of the outage to one retry interval (30 s) after it.
    Recovery,
    After,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::RedisDown => "Redis down",
            Phase::Outage => "outage",
            Phase::Recovery => "recovery (+30 s)",
            Phase::After => "after",
        }
    }
}

struct Options {
    base: String,
    /// Every replica the load goes to, `base` first.
    replicas: Vec<String>,
    pids: Vec<u32>,
    duration: Duration,
    concurrency: usize,
    outage_at: Duration,
    outage_for: Duration,
    users: usize,
    /// Sign-ins per second replacing tokens of the valid pool (0: a fixed pool).
    churn: usize,
    /// Sign-outs per second.
    signouts: usize,
    redis_restart_at: Option<Duration>,
    redis_down_for: Duration,
    /// `sh PATH stop|start` kills and starts Redis.
    redis_control: Option<String>,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let mut options = Options {
            base: String::new(),
            replicas: Vec::new(),
            pids: Vec::new(),
            duration: Duration::from_secs(600),
            concurrency: 16,
            outage_at: Duration::from_secs(270),
            outage_for: Duration::from_secs(60),
            users: 200,
            churn: 5,
            signouts: 0,
            redis_restart_at: None,
            redis_down_for: Duration::from_secs(5),
            redis_control: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().ok_or(format!("{flag} needs a value"))?;
            let secs = || {
                value
                    .parse()
                    .map(Duration::from_secs)
                    .map_err(|e| format!("{flag}: {e}"))
            };
            match flag.as_str() {
                "--base" => options.base = value.trim_end_matches('/').to_owned(),
                "--replica" => options
                    .replicas
                    .push(value.trim_end_matches('/').to_owned()),
                "--pid" => options
                    .pids
                    .push(value.parse().map_err(|e| format!("--pid: {e}"))?),
                "--signouts" => {
                    options.signouts = value.parse().map_err(|e| format!("--signouts: {e}"))?
                }
                "--redis-restart-at" => options.redis_restart_at = Some(secs()?),
                "--redis-down-for" => options.redis_down_for = secs()?,
                "--redis-control" => options.redis_control = Some(value),
                "--duration" => options.duration = secs()?,
                "--concurrency" => {
                    options.concurrency =
                        value.parse().map_err(|e| format!("--concurrency: {e}"))?
                }
                "--outage-at" => options.outage_at = secs()?,
                "--outage-for" => options.outage_for = secs()?,
                "--users" => options.users = value.parse().map_err(|e| format!("--users: {e}"))?,
                "--churn" => options.churn = value.parse().map_err(|e| format!("--churn: {e}"))?,
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        if options.base.is_empty() {
            return Err("--base is required".into());
        }
        options.replicas.insert(0, options.base.clone());
        if options.redis_restart_at.is_some() && options.redis_control.is_none() {
            return Err("--redis-restart-at needs --redis-control".into());
        }
        Ok(options)
    }

    fn phase(&self, at: Duration) -> Phase {
        let end = self.outage_at + self.outage_for;
        if let Some(down) = self.redis_restart_at
            && at >= down
            && at < down + self.redis_down_for
        {
            return Phase::RedisDown;
        }
        if at < self.outage_at {
            Phase::Before
        } else if at < end {
            Phase::Outage
        } else if at < end + Duration::from_secs(30) {
            Phase::Recovery
        } else {
            Phase::After
        }
    }
}

/// A small xorshift generator: the mix needs no cryptographic randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// What one worker saw.
#[derive(Default)]
struct Seen {
    /// (kind, phase, status) → count; status 0 = transport error.
    counts: BTreeMap<(Kind, Phase, u16), u64>,
    /// Latency in microseconds, per kind.
    latencies: BTreeMap<Kind, Vec<u32>>,
    /// Requests finished in each 10 s window.
    per_window: Vec<u64>,
    /// The first few transport errors.
    errors: Vec<String>,
}

struct Tokens {
    valid: Mutex<Vec<String>>,
    expired: Vec<String>,
    forged: Vec<String>,
    /// Sessions signed out during the run.
    revoked: Mutex<Vec<Arc<SignedOut>>>,
}

/// A session signed out during the run.
struct SignedOut {
    token: String,
    /// When the sign-out answered.
    at: Instant,
    /// `503`: held on the first replica, queued for Redis.
    pending: bool,
}

/// What the sign-out side saw and what the revoked tokens got.
#[derive(Default)]
struct Revocations {
    confirmed: u64,
    pending: u64,
    /// Sign-outs answered anything else (status, count).
    unexpected: BTreeMap<u16, u64>,
    /// A session to sign out was not served first (status, count).
    not_served_first: u64,
    /// Requests with a revoked token.
    asked: u64,
    /// Confirmed, served by another replica within the propagation grace.
    served_in_propagation: u64,
    /// Confirmed, served later than the grace (or by the first replica).
    served_after_confirmed: u64,
    /// Pending, served by the first replica (which holds it at once).
    pending_served_by_writer: u64,
    /// Pending, served by another replica while Redis was down or catching up.
    pending_served_elsewhere: u64,
    /// Pending, served by another replica 15 s after Redis was back.
    pending_served_late: u64,
    /// Revoked tokens served by some replica at the end of the run.
    served_at_end: u64,
}

fn client() -> reqwest::Client {
    ssr_session::jwks::client_builder()
        .unwrap()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1024)
        .build()
        .expect("a client")
}

async fn sign_in(client: &reqwest::Client, base: &str, user: &str) -> Result<String, String> {
    let response = client
        .post(format!("{base}/auth/dev/signin"))
        .json(&serde_json::json!({ "userId": user }))
        .send()
        .await
        .map_err(|e| format!("sign-in: {e}"))?;
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| {
            let value = cookie.strip_prefix("sAccessToken=")?;
            Some(value.split(';').next()?.to_owned())
        })
        .ok_or_else(|| format!("sign-in gave no sAccessToken ({})", response.status()))
}

async fn expired_token(client: &reqwest::Client, base: &str, user: &str) -> Result<String, String> {
    let response = client
        .get(format!("{base}/auth/dev/expired-token?userId={user}"))
        .send()
        .await
        .map_err(|e| format!("expired-token: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("expired-token answered {}", response.status()));
    }
    response.text().await.map_err(|e| e.to_string())
}

/// Forgeries built from a genuine token: a changed signature, `alg: none`,
/// another user's claims under the genuine signature, an attacker's own
/// key under a random `kid`.
fn forgeries(genuine: &str, count: usize) -> Vec<String> {
    let attacker = TestKey::generate(Algorithm::ES256, "attacker");
    let parts: Vec<&str> = genuine.split('.').collect();
    let payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url"))
            .expect("JSON");
    let mut forged = Vec::new();
    let mut rng = Rng(0x5eed_f00d);
    for i in 0..count {
        let token = match i % 4 {
            0 => {
                let mut signature = parts[2].as_bytes().to_vec();
                let at = (rng.next() as usize) % signature.len().saturating_sub(2);
                signature[at] = if signature[at] == b'A' { b'B' } else { b'A' };
                format!(
                    "{}.{}.{}",
                    parts[0],
                    parts[1],
                    String::from_utf8(signature).unwrap()
                )
            }
            1 => {
                let mut claims = payload.clone();
                claims["sub"] = format!("admin-{i}").into();
                let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
                format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
            }
            2 => {
                let mut claims = payload.clone();
                claims["sub"] = format!("admin-{i}").into();
                format!(
                    "{}.{}.{}",
                    parts[0],
                    URL_SAFE_NO_PAD.encode(claims.to_string()),
                    parts[2]
                )
            }
            _ => {
                let kid = format!("d-{}", 1_000_000_000_000 + rng.next() % 1_000_000_000_000);
                let mut builder = TokenBuilder::new().header("kid", kid);
                for (name, value) in payload.as_object().unwrap() {
                    builder = builder.claim(name, value.clone());
                }
                builder.claim("sub", format!("admin-{i}")).sign(&attacker)
            }
        };
        forged.push(token);
    }
    forged
}

async fn sign_out(client: &reqwest::Client, base: &str, token: &str) -> Result<u16, String> {
    let response = client
        .post(format!("{base}/auth/signout"))
        .header("accept", "application/json")
        .header("cookie", format!("sAccessToken={token}"))
        .send()
        .await
        .map_err(|e| format!("sign-out: {e}"))?;
    let status = response.status().as_u16();
    if status == 503 && !response.headers().contains_key("retry-after") {
        return Err("a 503 sign-out without Retry-After".into());
    }
    Ok(status)
}

async fn page(client: &reqwest::Client, base: &str, token: &str) -> u16 {
    match client
        .get(format!("{base}/dashboard"))
        .header("accept", "text/html")
        .header("cookie", format!("sAccessToken={token}"))
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn control_outage(client: &reqwest::Client, base: &str, on: bool) -> Result<(), String> {
    let response = client
        .post(format!("{base}/auth/dev/jwks-outage?on={on}"))
        .send()
        .await
        .map_err(|e| format!("jwks-outage: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("jwks-outage answered {}", response.status()))
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank]) / 1000.0
}

#[tokio::main]
async fn main() {
    let options = match Options::parse() {
        Ok(options) => Arc::new(options),
        Err(error) => {
            eprintln!("{error}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let client = client();
    let base = options.base.clone();

    // Tokens.
    let mut valid = Vec::new();
    for i in 0..options.users {
        valid.push(
            sign_in(&client, &base, &format!("user-{i}"))
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let mut expired = Vec::new();
    for i in 0..50 {
        expired.push(
            expired_token(&client, &base, &format!("user-{i}"))
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let tokens = Arc::new(Tokens {
        forged: forgeries(&valid[0], 64),
        valid: Mutex::new(valid),
        expired,
        revoked: Mutex::new(Vec::new()),
    });

    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let revocations = Arc::new(Mutex::new(Revocations::default()));
    // Milliseconds after `started` at which Redis was started again (0: not yet).
    let redis_back_ms = Arc::new(AtomicU64::new(0));

    // Sign-outs at a steady rate: a new session, served by every replica,
    // then signed out on the first.
    let signing_out = {
        let (client, options, tokens, done, revocations) = (
            client.clone(),
            options.clone(),
            tokens.clone(),
            done.clone(),
            revocations.clone(),
        );
        tokio::spawn(async move {
            let mut serial = 0u64;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            while options.signouts > 0 && !done.load(Ordering::Relaxed) {
                tick.tick().await;
                for _ in 0..options.signouts {
                    serial += 1;
                    let Ok(token) =
                        sign_in(&client, &options.base, &format!("signout-{serial}")).await
                    else {
                        continue;
                    };
                    for base in &options.replicas {
                        if page(&client, base, &token).await != 200 {
                            revocations.lock().unwrap().not_served_first += 1;
                        }
                    }
                    let answer = sign_out(&client, &options.base, &token).await;
                    let at = Instant::now();
                    let mut seen = revocations.lock().unwrap();
                    let pending = match answer {
                        Ok(200) => false,
                        Ok(503) => true,
                        Ok(status) => {
                            *seen.unexpected.entry(status).or_default() += 1;
                            continue;
                        }
                        Err(_) => {
                            *seen.unexpected.entry(0).or_default() += 1;
                            continue;
                        }
                    };
                    if pending {
                        seen.pending += 1;
                    } else {
                        seen.confirmed += 1;
                    }
                    drop(seen);
                    tokens
                        .revoked
                        .lock()
                        .unwrap()
                        .push(Arc::new(SignedOut { token, at, pending }));
                }
            }
        })
    };

    // The Redis restart: killed, started again (empty) after a while.
    let redis_restart = {
        let (options, redis_back_ms) = (options.clone(), redis_back_ms.clone());
        tokio::spawn(async move {
            let (Some(at), Some(control)) = (options.redis_restart_at, &options.redis_control)
            else {
                return;
            };
            let run = |action: &str| {
                std::process::Command::new("sh")
                    .args([control.as_str(), action])
                    .status()
                    .map_err(|e| e.to_string())
                    .and_then(|status| {
                        if status.success() {
                            Ok(())
                        } else {
                            Err(format!("{control} {action}: {status}"))
                        }
                    })
            };
            tokio::time::sleep(at).await;
            run("stop").expect("Redis stops");
            tokio::time::sleep(options.redis_down_for).await;
            run("start").expect("Redis starts again");
            redis_back_ms.store(
                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
        })
    };
    let windows = options.duration.as_secs().div_ceil(10) as usize + 1;

    // Churn: a few users sign in again every second, so new tokens keep
    // reaching the key provider (a cached token never does).
    let churn = {
        let (client, base, tokens, done, users, churn) = (
            client.clone(),
            base.clone(),
            tokens.clone(),
            done.clone(),
            options.users,
            options.churn,
        );
        tokio::spawn(async move {
            let mut rng = Rng(0xc0ff_ee11);
            let mut signed_in = 0u64;
            while !done.load(Ordering::Relaxed) {
                for _ in 0..churn {
                    let slot = (rng.next() as usize) % users;
                    if let Ok(token) = sign_in(&client, &base, &format!("user-{slot}")).await {
                        tokens.valid.lock().unwrap()[slot] = token;
                        signed_in += 1;
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            signed_in
        })
    };

    // The outage.
    let outage = {
        let (client, base, options) = (client.clone(), base.clone(), options.clone());
        tokio::spawn(async move {
            tokio::time::sleep(options.outage_at).await;
            control_outage(&client, &base, true)
                .await
                .expect("outage on");
            tokio::time::sleep(options.outage_for).await;
            control_outage(&client, &base, false)
                .await
                .expect("outage off");
        })
    };

    // RSS every 10 s, per server.
    let sampler = {
        let (done, pids) = (done.clone(), options.pids.clone());
        tokio::spawn(async move {
            let mut samples: Vec<Vec<u64>> = vec![Vec::new(); pids.len()];
            if pids.is_empty() {
                return samples;
            }
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tick.tick().await;
                for (pid, samples) in pids.iter().zip(samples.iter_mut()) {
                    if let Some(kib) = rss_kib(*pid) {
                        samples.push(kib);
                    }
                }
                if done.load(Ordering::Relaxed) {
                    return samples;
                }
            }
        })
    };

    // The workers.
    let mut workers = Vec::new();
    for worker in 0..options.concurrency {
        let (client, options, tokens) = (client.clone(), options.clone(), tokens.clone());
        let (revocations, redis_back_ms) = (revocations.clone(), redis_back_ms.clone());
        workers.push(tokio::spawn(async move {
            let mut seen = Seen {
                per_window: vec![0; windows],
                ..Seen::default()
            };
            let mut rng = Rng(
                0x9e37_79b9_7f4a_7c15 ^ (worker as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9)
            );
            let urls: Vec<String> = options
                .replicas
                .iter()
                .map(|base| format!("{base}/dashboard"))
                .collect();
            let mut turn = worker;
            while started.elapsed() < options.duration {
                turn += 1;
                let replica = turn % urls.len();
                let url = &urls[replica];
                let mut kind = Kind::pick(rng.next());
                let mut signed_out = None;
                if kind == Kind::Revoked {
                    let revoked = tokens.revoked.lock().unwrap();
                    if revoked.is_empty() {
                        kind = Kind::Missing;
                    } else {
                        signed_out = Some(revoked[(rng.next() as usize) % revoked.len()].clone());
                    }
                }
                let token = match kind {
                    Kind::Revoked => signed_out.as_ref().map(|s| s.token.clone()),
                    Kind::Valid => {
                        let valid = tokens.valid.lock().unwrap();
                        Some(valid[(rng.next() as usize) % valid.len()].clone())
                    }
                    Kind::Expired => {
                        Some(tokens.expired[(rng.next() as usize) % tokens.expired.len()].clone())
                    }
                    Kind::Forged => {
                        Some(tokens.forged[(rng.next() as usize) % tokens.forged.len()].clone())
                    }
                    Kind::Missing => None,
                };
                let mut request = client.get(url).header("accept", "text/html");
                if let Some(token) = token {
                    request = request.header("cookie", format!("theme=dark; sAccessToken={token}"));
                }
                let sent = Instant::now();
                let status = match request.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = response.bytes().await;
                        status
                    }
                    Err(error) => {
                        if seen.errors.len() < 5 {
                            seen.errors.push(error.to_string());
                        }
                        0
                    }
                };
                if let Some(signed_out) = &signed_out {
                    let mut seen = revocations.lock().unwrap();
                    seen.asked += 1;
                    if (200..300).contains(&status) {
                        let back = redis_back_ms.load(Ordering::Relaxed);
                        let since_back = (back > 0).then(|| {
                            started
                                .elapsed()
                                .saturating_sub(Duration::from_millis(back))
                        });
                        match (signed_out.pending, replica) {
                            (false, 0) => seen.served_after_confirmed += 1,
                            (false, _)
                                if sent.duration_since(signed_out.at) < PROPAGATION_GRACE =>
                            {
                                seen.served_in_propagation += 1
                            }
                            (false, _) => seen.served_after_confirmed += 1,
                            (true, 0) => seen.pending_served_by_writer += 1,
                            (true, _) if since_back.is_some_and(|d| d > PENDING_GRACE) => {
                                seen.pending_served_late += 1
                            }
                            (true, _) => seen.pending_served_elsewhere += 1,
                        }
                    }
                }
                let finished = started.elapsed();
                let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                seen.latencies.entry(kind).or_default().push(micros);
                *seen
                    .counts
                    .entry((kind, options.phase(finished), status))
                    .or_default() += 1;
                let window = (finished.as_secs() / 10) as usize;
                if let Some(count) = seen.per_window.get_mut(window) {
                    *count += 1;
                }
            }
            seen
        }));
    }
    let mut total = Seen {
        per_window: vec![0; windows],
        ..Seen::default()
    };
    for worker in workers {
        let seen = worker.await.expect("worker");
        for (key, count) in seen.counts {
            *total.counts.entry(key).or_default() += count;
        }
        for (kind, latencies) in seen.latencies {
            total.latencies.entry(kind).or_default().extend(latencies);
        }
        for (window, count) in seen.per_window.iter().enumerate() {
            total.per_window[window] += count;
        }
        total.errors.extend(seen.errors);
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = outage.await;
    let _ = redis_restart.await;
    let _ = signing_out.await;
    let signed_in = churn.await.unwrap_or(0);
    let rss = sampler.await.unwrap_or_default();
    // The end: every session signed out is refused by every replica.
    let revoked: Vec<Arc<SignedOut>> = tokens.revoked.lock().unwrap().clone();
    let mut served_at_end = 0;
    for signed_out in &revoked {
        for base in &options.replicas {
            if (200..300).contains(&page(&client, base, &signed_out.token).await) {
                served_at_end += 1;
            }
        }
    }
    let mut revocations = std::mem::take(&mut *revocations.lock().unwrap());
    revocations.served_at_end = served_at_end;

    // Report.
    let requests: u64 = total.counts.values().sum();
    println!("# Soak report\n");
    println!(
        "- duration {:.0} s, {} replicas, concurrency {}, churn {} sign-ins/s, {} sign-outs/s, outage from {} s for {} s (JWKS answering 503)",
        elapsed.as_secs_f64(),
        options.replicas.len(),
        options.concurrency,
        options.churn,
        options.signouts,
        options.outage_at.as_secs(),
        options.outage_for.as_secs()
    );
    if let Some(at) = options.redis_restart_at {
        println!(
            "- Redis killed at {} s and started again, empty, {} s later",
            at.as_secs(),
            options.redis_down_for.as_secs()
        );
    }
    println!(
        "- {requests} requests, {:.0} requests/s; {} valid users, {signed_in} sign-ins during the run",
        requests as f64 / elapsed.as_secs_f64(),
        options.users
    );
    let mut all: Vec<u32> = total.latencies.values().flatten().copied().collect();
    all.sort_unstable();
    println!("\n| kind | requests | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|");
    for kind in Kind::ALL {
        let mut latencies = total.latencies.remove(&kind).unwrap_or_default();
        latencies.sort_unstable();
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} |",
            kind.name(),
            latencies.len(),
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            percentile(&latencies, 100.0)
        );
    }
    println!(
        "| all | {} | {:.2} | {:.2} | {:.2} |",
        all.len(),
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        percentile(&all, 100.0)
    );
    println!("\n| kind | phase | status | count |\n|---|---|---:|---:|");
    for ((kind, phase, status), count) in &total.counts {
        println!(
            "| {} | {} | {} | {count} |",
            kind.name(),
            phase.name(),
            status
        );
    }
    println!(
        "\nRequests/s per 10 s window: {}",
        total
            .per_window
            .iter()
            .map(|count| format!("{:.0}", *count as f64 / 10.0))
            .collect::<Vec<_>>()
            .join(" ")
    );
    for (i, samples) in rss.iter().enumerate() {
        if samples.is_empty() {
            continue;
        }
        println!(
            "\nServer {} ({}) RSS (MiB) every 10 s: {}",
            i + 1,
            options.replicas.get(i).map_or("?", String::as_str),
            samples
                .iter()
                .map(|kib| format!("{:.1}", *kib as f64 / 1024.0))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    let r = &revocations;
    println!(
        "\nSign-outs: {} confirmed (200: Redis acknowledged), {} pending (503 with Retry-After: \
         held on the first replica, queued for Redis), other answers {:?}; sessions not served \
         before their sign-out: {}",
        r.confirmed, r.pending, r.unexpected, r.not_served_first
    );
    println!(
        "\n| revoked tokens | count |\n|---|---:|\n| requests with a revoked token | {} |\n\
         | confirmed, served after the sign-out reached Redis (> {:?} later, or by the first replica) | {} |\n\
         | confirmed, served by another replica within {:?} (propagation) | {} |\n\
         | pending, served by the first replica | {} |\n\
         | pending, served by another replica before Redis was back + {:?} | {} |\n\
         | pending, served by another replica later than that | {} |\n\
         | served by any replica at the end of the run | {} |",
        r.asked,
        PROPAGATION_GRACE,
        r.served_after_confirmed,
        PROPAGATION_GRACE,
        r.served_in_propagation,
        r.pending_served_by_writer,
        PENDING_GRACE,
        r.pending_served_elsewhere,
        r.pending_served_late,
        r.served_at_end
    );
    if !total.errors.is_empty() {
        println!("\nTransport errors (first few): {:#?}", total.errors);
    }

    // The promises.
    let mut broken = Vec::new();
    for ((kind, phase, status), count) in &total.counts {
        let success = (200..300).contains(status);
        let server_error = *status >= 500;
        match kind {
            Kind::Valid if !success => broken.push(format!(
                "{count} × {status} for valid tokens: live sessions refused ({})",
                phase.name()
            )),
            Kind::Forged | Kind::Expired if success => broken.push(format!(
                "{count} × {status} for {} tokens ({})",
                kind.name(),
                phase.name()
            )),
            Kind::Valid | Kind::Expired | Kind::Missing if server_error => broken.push(format!(
                "{count} × {status} for {} tokens ({})",
                kind.name(),
                phase.name()
            )),
            Kind::Forged if server_error && matches!(phase, Phase::Before | Phase::After) => broken
                .push(format!(
                    "{count} × {status} for forged tokens outside the outage ({})",
                    phase.name()
                )),
            _ if *status == 0 => broken.push(format!("{count} transport errors ({})", kind.name())),
            _ => {}
        }
    }
    let r = &revocations;
    for (count, what) in [
        (
            r.served_after_confirmed,
            "revoked tokens served after their sign-out reached Redis",
        ),
        (
            r.pending_served_by_writer,
            "pending sign-outs served by the replica that holds them",
        ),
        (
            r.pending_served_late,
            "pending sign-outs served 15 s after Redis was back",
        ),
        (r.served_at_end, "revoked tokens served at the end"),
        (
            r.unexpected.values().sum(),
            "sign-outs answered neither 200 nor 503 with Retry-After",
        ),
        (r.not_served_first, "sessions refused before their sign-out"),
    ] {
        if count > 0 {
            broken.push(format!("{count} {what}"));
        }
    }
    if options.signouts > 0 && r.confirmed == 0 {
        broken.push("no sign-out was confirmed".into());
    }
    if broken.is_empty() {
        println!(
            "\nAll promises held: no 2xx for forged, expired or revoked tokens, no live session refused, no 5xx outside the outage window, no transport error."
        );
    } else {
        println!("\nBROKEN:\n- {}", broken.join("\n- "));
        std::process::exit(1);
    }
}

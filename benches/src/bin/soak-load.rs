//! The soak's load generator (run by `scripts/soak.sh`; RELIABILITY.md has
//! the figures): a closed loop of concurrent requests against the axum
//! example on loopback, with a fixed mix of tokens, one injected JWKS
//! outage, and the server's RSS sampled every 10 s.
//!
//! Mix: 70 % valid (users signed in at the dev issuer, a few replaced
//! every second so new tokens keep reaching the key provider), 10 %
//! expired (correctly signed, expired), 10 % forged (a changed signature,
//! `alg: none`, a swapped payload, an attacker's key under a random `kid`),
//! 10 % missing. Every request is a page navigation:
//! `GET /dashboard` with `Accept: text/html`, redirects not followed.
//!
//! Prints a Markdown report and exits non-zero when a promise is broken: a
//! 2xx for a forged or expired token, a 5xx for a valid, expired or missing
//! token, or a transport error.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ssr_session::Algorithm;
use ssr_session::testing::{TestKey, TokenBuilder};

const USAGE: &str = "usage: soak-load --base http://127.0.0.1:PORT [--pid PID] [--duration SECS] \
[--concurrency N] [--outage-at SECS] [--outage-for SECS] [--users N] [--churn N]";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Valid,
    Expired,
    Forged,
    Missing,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Valid, Kind::Expired, Kind::Forged, Kind::Missing];

    fn name(self) -> &'static str {
        match self {
            Kind::Valid => "valid",
            Kind::Expired => "expired",
            Kind::Forged => "forged",
            Kind::Missing => "missing",
        }
    }

    /// 70 / 10 / 10 / 10.
    fn pick(roll: u64) -> Kind {
        match roll % 100 {
            0..70 => Kind::Valid,
            70..80 => Kind::Expired,
            80..90 => Kind::Forged,
            _ => Kind::Missing,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Phase {
    Before,
    Outage,
    /// From the end of the outage to one retry interval (30 s) after it.
    Recovery,
    After,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::Outage => "outage",
            Phase::Recovery => "recovery (+30 s)",
            Phase::After => "after",
        }
    }
}

struct Options {
    base: String,
    pid: Option<u32>,
    duration: Duration,
    concurrency: usize,
    outage_at: Duration,
    outage_for: Duration,
    users: usize,
    /// Sign-ins per second replacing tokens of the valid pool (0: a fixed pool).
    churn: usize,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let mut options = Options {
            base: String::new(),
            pid: None,
            duration: Duration::from_secs(600),
            concurrency: 16,
            outage_at: Duration::from_secs(270),
            outage_for: Duration::from_secs(60),
            users: 200,
            churn: 5,
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
                "--pid" => options.pid = Some(value.parse().map_err(|e| format!("--pid: {e}"))?),
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
        Ok(options)
    }

    fn phase(&self, at: Duration) -> Phase {
        let end = self.outage_at + self.outage_for;
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
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
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
    });

    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
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

    // RSS every 10 s.
    let sampler = {
        let (done, pid) = (done.clone(), options.pid);
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let Some(pid) = pid else { return samples };
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tick.tick().await;
                if let Some(kib) = rss_kib(pid) {
                    samples.push((started.elapsed().as_secs(), kib));
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
        workers.push(tokio::spawn(async move {
            let mut seen = Seen {
                per_window: vec![0; windows],
                ..Seen::default()
            };
            let mut rng = Rng(
                0x9e37_79b9_7f4a_7c15 ^ (worker as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9)
            );
            let url = format!("{}/dashboard", options.base);
            while started.elapsed() < options.duration {
                let kind = Kind::pick(rng.next());
                let token = match kind {
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
                let mut request = client.get(&url).header("accept", "text/html");
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
    let signed_in = churn.await.unwrap_or(0);
    let rss = sampler.await.unwrap_or_default();

    // Report.
    let requests: u64 = total.counts.values().sum();
    println!("# Soak report\n");
    println!(
        "- duration {:.0} s, concurrency {}, churn {} sign-ins/s, outage from {} s for {} s (JWKS answering 503)",
        elapsed.as_secs_f64(),
        options.concurrency,
        options.churn,
        options.outage_at.as_secs(),
        options.outage_for.as_secs()
    );
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
    if !rss.is_empty() {
        println!(
            "\nServer RSS (MiB) every 10 s: {}",
            rss.iter()
                .map(|(_, kib)| format!("{:.1}", *kib as f64 / 1024.0))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if !total.errors.is_empty() {
        println!("\nTransport errors (first few): {:#?}", total.errors);
    }

    // The promises.
    let mut broken = Vec::new();
    for ((kind, phase, status), count) in &total.counts {
        let success = (200..300).contains(status);
        let server_error = *status >= 500;
        match kind {
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
    if broken.is_empty() {
        println!(
            "\nAll promises held: no 2xx for forged or expired tokens, no 5xx outside the outage window, no transport error."
        );
    } else {
        println!("\nBROKEN:\n- {}", broken.join("\n- "));
        std::process::exit(1);
    }
}

//! No lost sign-out (issue 20), through the example apps as processes: the
//! axum example signs sessions out with its embedded dev issuer and
//! `--redis-url`; the actix and Rocket examples verify its tokens
//! (`--api-domain`) and follow the same real `redis-server`. With Redis
//! killed, a sign-out answers `503` with `Retry-After` (JSON for a data
//! request, a page for a navigation), never `200`; the session is refused
//! at once on the replica that signed it out; once Redis is back (restarted
//! empty), every replica refuses it, with no further call.

use std::time::{Duration, Instant};

use ssr_session_example_support::process::{Server, access_token_set_by, redis_or_skip};

/// Signs `user` in on `base` (the dev issuer's JSON sign-in); the access token.
async fn sign_in(client: &reqwest::Client, base: &str, user: &str) -> String {
    let answer = client
        .post(format!("{base}/auth/dev/signin"))
        .json(&serde_json::json!({ "userId": user }))
        .send()
        .await
        .expect("the dev issuer answers");
    assert_eq!(answer.status(), 200);
    access_token_set_by(answer.headers()).expect("a sign-in sets sAccessToken")
}

/// `/api/me` on `base` with `token`: the status.
async fn status(client: &reqwest::Client, base: &str, token: &str) -> u16 {
    client
        .get(format!("{base}/api/me"))
        .header("cookie", format!("sAccessToken={token}"))
        .send()
        .await
        .expect("the replica answers")
        .status()
        .as_u16()
}

/// A `POST` to the sign-out route `path` with `token`, accepting `accept`.
async fn sign_out(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
    accept: &str,
) -> reqwest::Response {
    client
        .post(format!("{base}{path}"))
        .header("cookie", format!("sAccessToken={token}"))
        .header("accept", accept)
        .send()
        .await
        .expect("the sign-out answers")
}

fn clears_cookies(answer: &reqwest::Response) -> bool {
    answer.headers().get_all("set-cookie").iter().any(|cookie| {
        cookie
            .to_str()
            .is_ok_and(|c| c.starts_with("sAccessToken=;"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_redis_did_not_acknowledge_is_a_503_and_reaches_every_replica_later() {
    let test = "a_sign_out_redis_did_not_acknowledge_is_a_503_and_reaches_every_replica_later";
    let Some(mut redis) = redis_or_skip(test) else {
        return;
    };
    let url = redis.url();
    let writer = Server::start(
        env!("CARGO_BIN_EXE_e2e-axum-ssr"),
        &["--access-token-secs", "3600", "--redis-url", &url],
    );
    let origin = writer.url("");
    let args = ["--api-domain", origin.as_str(), "--redis-url", url.as_str()];
    let others = [
        Server::start(env!("CARGO_BIN_EXE_e2e-actix-ssr"), &args),
        Server::start(env!("CARGO_BIN_EXE_e2e-rocket-ssr"), &args),
    ];
    let replicas: Vec<String> = std::iter::once(origin.clone())
        .chain(others.iter().map(|server| server.url("")))
        .collect();
    let client = ssr_session::jwks::client_builder()
        .unwrap()
        .build()
        .unwrap();
    let data = sign_in(&client, &origin, "alice").await;
    let navigation = sign_in(&client, &origin, "alice").await;
    let everywhere = sign_in(&client, &origin, "bob").await;
    let live = sign_in(&client, &origin, "carol").await;
    let doomed = [&data, &navigation, &everywhere];
    for base in &replicas {
        for token in doomed.iter().copied().chain([&live]) {
            assert_eq!(status(&client, base, token).await, 200, "served before");
        }
    }

    redis.kill();
    // A data request: JSON.
    let started = Instant::now();
    let answer = sign_out(&client, &origin, "/auth/signout", &data, "application/json").await;
    let took = started.elapsed();
    assert_eq!(
        answer.status(),
        503,
        "never a 200 that Redis did not confirm"
    );
    assert_eq!(answer.headers()["retry-after"], "3");
    assert!(
        !clears_cookies(&answer),
        "the cookies stay, to sign out again"
    );
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["status"], "SIGN_OUT_PENDING", "{body}");
    assert!(
        took < Duration::from_secs(6),
        "within the write deadline: {took:?}"
    );
    // A navigation (the dashboard's form): a page.
    let answer = sign_out(
        &client,
        &origin,
        "/auth/signout",
        &navigation,
        "text/html,application/xhtml+xml",
    )
    .await;
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["retry-after"], "3");
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(answer.text().await.unwrap().contains("not confirmed"));
    let answer = sign_out(
        &client,
        &origin,
        "/auth/signout-everywhere",
        &everywhere,
        "application/json",
    )
    .await;
    assert_eq!(answer.status(), 503);
    assert!(answer.headers().contains_key("retry-after"));

    // In force at once where it was made; the others cannot know yet and,
    // fail-open, keep serving what they last knew.
    for token in doomed {
        assert_eq!(status(&client, &origin, token).await, 401);
        for other in &replicas[1..] {
            assert_eq!(status(&client, other, token).await, 200);
        }
    }

    redis.restart();
    let back = Instant::now();
    loop {
        let mut served = 0;
        for base in &replicas {
            for token in doomed {
                if status(&client, base, token).await != 401 {
                    served += 1;
                }
            }
        }
        if served == 0 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(15),
            "{served} signed-out sessions still served 15 s after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "queued sign-outs reached every replica {:?} after Redis restarted",
        back.elapsed()
    );
    for base in &replicas {
        assert_eq!(
            status(&client, base, &live).await,
            200,
            "live sessions served"
        );
    }
    // Signing out again, with Redis back: confirmed, cookies cleared.
    let answer = sign_out(&client, &origin, "/auth/signout", &data, "application/json").await;
    assert_eq!(answer.status(), 200);
    assert!(clears_cookies(&answer));
}

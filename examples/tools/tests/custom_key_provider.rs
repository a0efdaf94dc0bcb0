//! The custom-key-provider example: keys from a JWKS file, reloaded when it changes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use ssr_session::keys::Algorithm;
use ssr_session::testing::{TestKey, TokenBuilder, jwks};

struct App(Child, String);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(jwks_file: &std::path::Path) -> App {
    let mut child = Command::new(env!("CARGO_BIN_EXE_custom-key-provider"))
        .args(["--addr", "127.0.0.1:0", "--jwks-file"])
        .arg(jwks_file)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start custom-key-provider");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    App(child, line.trim().to_string())
}

async fn status(client: &reqwest::Client, base: &str, token: &str) -> u16 {
    client
        .get(format!("{base}/api/me"))
        .bearer_auth(token)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn keys_come_from_the_file_and_follow_its_changes() {
    let dir = std::env::temp_dir().join(format!("ssr-session-ckp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jwks.json");
    let first = TestKey::generate(Algorithm::RS256, "first");
    let second = TestKey::generate(Algorithm::ES256, "second");
    std::fs::write(&file, jwks(&[&first]).to_string()).unwrap();
    let app = start(&file);
    let client = ssr_session::jwks::client_builder()
        .unwrap()
        .build()
        .unwrap();
    let by_first = TokenBuilder::supertokens("alice", 600).sign(&first);
    let by_second = TokenBuilder::supertokens("bob", 600).sign(&second);

    let me = client
        .get(format!("{}/api/me", app.1))
        .bearer_auth(&by_first)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<serde_json::Value>().await.unwrap()["userId"],
        "alice"
    );
    assert_eq!(status(&client, &app.1, &by_second).await, 401);

    // Rotate: the file now holds only the second key (a new mtime is enough).
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&file, jwks(&[&second]).to_string()).unwrap();
    assert_eq!(status(&client, &app.1, &by_second).await, 200);
    assert_eq!(status(&client, &app.1, &by_first).await, 401);

    // The file disappears: our failure, not the user's.
    std::fs::remove_file(&file).unwrap();
    assert_eq!(
        status(&client, &app.1, &by_second).await,
        200,
        "cached token still valid"
    );
    let fresh = TokenBuilder::supertokens("carol", 600).sign(&second);
    assert_eq!(status(&client, &app.1, &fresh).await, 503);
}

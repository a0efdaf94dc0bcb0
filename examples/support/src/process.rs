//! An example binary run as a process for a test: started on a free
//! loopback port, its address read from the first line of stdout, killed
//! when dropped (even if the test fails).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// The running example.
pub struct Server {
    child: Child,
    base: String,
    /// Kept open so that the app's later writes to stdout never fail.
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts `binary` (a `CARGO_BIN_EXE_*` path) with `--addr 127.0.0.1:0`
    /// and `extra_args`, free of the caller's `SSR_SESSION_*` / `ROCKET_*`
    /// environment.
    pub fn start(binary: &str, extra_args: &[&str]) -> Self {
        let mut command = Command::new(binary);
        command
            .args(["--addr", "127.0.0.1:0"])
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if name.starts_with("SSR_SESSION_") || name.starts_with("ROCKET_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the address");
        let base = line.trim().to_string();
        if !base.starts_with("http://127.0.0.1:") || base.ends_with(":0") {
            let _ = child.kill();
            panic!("expected the address as the first line of stdout, got {line:?}");
        }
        Self {
            child,
            base,
            _stdout: stdout,
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

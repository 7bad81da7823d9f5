//! The server binary as an operator runs it: start-up failures, SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::committed_models;

fn server_on(repository: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_prediction-api"));
    cmd.args(["--host", "127.0.0.1", "--port", "0", "--log-format", "json"])
        .env("AUDIT_DB", "off")
        .arg("--model-repository")
        .arg(repository);
    cmd
}

fn server() -> Command {
    server_on(&committed_models())
}

#[test]
fn a_missing_onnx_runtime_library_is_one_clear_line() {
    let out = server()
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("/nonexistent/libonnxruntime.so") && stderr.contains("make setup"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_missing_repository_fails_at_boot_naming_it() {
    let out = server_on(std::path::Path::new("/nonexistent/models"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/models"));
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut child = server()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("the server logs until it serves")
            .expect("a line");
        let entry: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
        if entry["fields"]["message"] == "serving" {
            break entry["fields"]["address"]
                .as_str()
                .expect("address")
                .to_string();
        }
    };
    let health = reqwest::blocking_get(&format!("http://{address}/health"));
    assert_eq!(health, 200);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop within 15 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(exit.code(), Some(0));
}

/// A tiny blocking GET returning the status, without pulling in a blocking HTTP client.
mod reqwest {
    pub fn blocking_get(url: &str) -> u16 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async { ::reqwest::get(url).await.expect("GET").status().as_u16() })
    }
}

//! The connection level, spoken to over raw TCP: what a client that declares too much, sends
//! too slowly or not at all gets.

use std::time::{Duration, Instant};

use prediction_api::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, committed_models};

async fn connect(app: &TestApp) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    TcpStream::connect(address).await.expect("connects")
}

/// Everything the server sends until it closes, or what came within `wait`.
async fn read_for(stream: &mut TcpStream, wait: Duration) -> (String, bool) {
    let mut received = Vec::new();
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) => return (String::from_utf8_lossy(&received).into_owned(), true),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => return (String::from_utf8_lossy(&received).into_owned(), true),
            Err(_) => return (String::from_utf8_lossy(&received).into_owned(), false),
        }
    }
}

#[tokio::test]
async fn a_body_declared_over_the_limit_is_refused_before_it_is_sent() {
    let app = TestApp::spawn().await;
    let mut stream = connect(&app).await;
    let head = "POST /predict/iris HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 1073741824\r\nExpect: 100-continue\r\n\r\n";
    stream.write_all(head.as_bytes()).await.expect("sent");
    let (answer, _) = read_for(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_408_not_a_server_error() {
    let mut config = Config::for_tests(committed_models());
    config.request_timeout_secs = 1.0;
    let app = TestApp::spawn_with(config).await;
    let mut stream = connect(&app).await;
    let head = "POST /predict/iris HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 100\r\n\r\n{\"sepal_length\":";
    stream.write_all(head.as_bytes()).await.expect("sent");
    let (answer, closed) = read_for(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
    assert!(closed, "the connection is closed after a 408: {answer}");
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("text");
    assert!(
        !metrics
            .lines()
            .any(|l| l.starts_with("prediction_api_http_requests_total") && l.contains("5xx")),
        "{metrics}"
    );
}

#[tokio::test]
async fn connections_that_do_not_send_a_request_head_in_time_are_closed() {
    let mut config = Config::for_tests(committed_models());
    config.header_read_timeout_secs = 1.0;
    let app = TestApp::spawn_with(config).await;
    // Nothing at all.
    let mut silent = connect(&app).await;
    // Half a head, then nothing.
    let mut stalled = connect(&app).await;
    stalled
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-a: b")
        .await
        .expect("sent");
    // A keep-alive connection left idle after one request.
    let mut idle = connect(&app).await;
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("sent");
    let started = Instant::now();
    let (_, silent_closed) = read_for(&mut silent, Duration::from_secs(10)).await;
    assert!(silent_closed);
    let (_, stalled_closed) = read_for(&mut stalled, Duration::from_secs(10)).await;
    let (first, idle_closed) = read_for(&mut idle, Duration::from_secs(10)).await;
    assert!(stalled_closed && idle_closed);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The server still takes new connections.
    let health = app
        .client
        .get(app.url("/health"))
        .send()
        .await
        .expect("GET");
    assert_eq!(health.status(), 200);
}

//! Serving connections: the router over hyper's HTTP/1, as `axum::serve` does (HTTP/1 only,
//! as axum is built here), with the connection timeouts a server facing the network needs and
//! `axum::serve` leaves unset.
//!
//! A connection that has not sent a whole request head within the header timeout
//! (`--header-read-timeout-secs`) is closed; hyper starts that clock whenever it waits for a
//! head, from the connection's start on (one that sends nothing included), so a keep-alive
//! connection left idle that long is closed too. Without it, clients
//! that open connections and send nothing (or a header line now and then) hold a file
//! descriptor each, for ever.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// Accepts connections until `shutdown` completes, then stops accepting, asks every open
/// connection to finish its request in flight and close, and returns once all have.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Every connection holds a receiver: the sender learns when the last one is gone.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tokio::select! {
                        () = pause_after_accept_error(e) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        let service = router
            .clone()
            .map_request(|req: Request<Incoming>| req.map(Body::new));
        let stop = stop_rx.clone();
        tokio::spawn(serve_connection(stream, service, header_timeout, stop));
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    stop_tx.closed().await;
    Ok(())
}

async fn serve_connection<S>(
    stream: tokio::net::TcpStream,
    service: S,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) where
    S: tower::Service<Request<Incoming>, Response = axum::response::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    // HTTP/1 itself rather than hyper-util's automatic choice of version: that one first reads
    // bytes to tell the versions apart, before any timer runs.
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(error = %e, "connection ended with an error");
                }
                break;
            }
            changed = stop.changed(), if !stopping => {
                // Either the server is stopping or it is gone: finish and close.
                let _ = changed;
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Connection-level accept errors (the peer gave up) are nothing; others (out of file
/// descriptors) are logged and followed by a pause, so the loop does not spin on them.
async fn pause_after_accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

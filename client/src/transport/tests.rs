//! The HTTP client against real sockets: connection failures are told
//! apart.

use std::time::Duration;

use bytes::Bytes;

use super::{HttpClient, Outgoing};
use crate::error::ErrorKind;

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn refused_connections_and_silent_servers_are_told_apart() {
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = HttpClient::new();
    let request = |url: String| Outgoing {
        method: http::Method::GET,
        url,
        headers: Vec::new(),
        body: Bytes::new(),
    };
    let e = client
        .send(request(format!("http://{closed}/")), LIMIT)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.message().contains("refused"), "{e}");

    // Accepts, never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = silent.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let (_socket, _) = silent.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let e = client
        .send(
            request(format!("http://{address}/")),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    holder.abort();
}

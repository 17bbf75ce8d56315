//! TLS on a real socket: `serve` with a throwaway self-signed certificate (rcgen) answers
//! HTTPS with the bearer token, refuses plain HTTP on the TLS port, and cuts off a client
//! that never finishes its handshake within the header timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quiver_server::tls::Tls;
use tokio::io::AsyncReadExt;

use crate::TestServer;

const TOKEN: &str = "tls-test-token-0123456789";

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM files in `dir`;
/// the certificate's PEM.
pub fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert_pem = cert.cert.pem();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, &cert_pem).unwrap();
    std::fs::write(&k, cert.signing_key.serialize_pem()).unwrap();
    (c, k, cert_pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_end_to_end_and_a_stalled_handshake_is_cut_off() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key, pem) = self_signed(certs.path());
    let tls = Tls::from_pem_files(&cert, &key).unwrap();
    let s = TestServer::with(|c| {
        c.tls = Some(tls);
        c.token = Some(TOKEN.into());
        c.body_timeout = Duration::from_millis(500);
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(quiver_server::serve(
        listener,
        Arc::clone(&s.state),
        async move {
            let _ = stopped.await;
        },
    ));

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let base = format!("https://localhost:{port}");
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let plugins = client
        .get(format!("{base}/v1/plugins"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(plugins.status().as_u16(), 200);
    let anonymous = client
        .get(format!("{base}/v1/plugins"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");

    // A client that connects and sends nothing is closed within the header timeout.
    let mut idle = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the idle connection was not closed: {read:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .unwrap()
        .unwrap();
}

#[test]
fn a_key_that_does_not_fit_its_certificate_is_refused_naming_the_file() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (cert, _, _) = self_signed(a.path());
    let (_, other_key, _) = self_signed(b.path());
    let e = Tls::from_pem_files(&cert, &other_key)
        .unwrap_err()
        .to_string();
    assert!(e.contains("key.pem"), "{e}");
    let e = Tls::from_pem_files(&a.path().join("missing.pem"), &other_key)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.pem"), "{e}");
}

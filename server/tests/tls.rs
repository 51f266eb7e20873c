//! Laptops reach head office over HTTPS with the server's own certificate,
//! trusting exactly that certificate and nothing else.

mod common;

use common::TestServer;
use crm_shared::api::{LoginResponse, WhoAmI};
use crm_shared::codes::Role;
use reqwest::StatusCode;

#[tokio::test]
async fn laptop_trusting_the_generated_certificate_logs_in_over_https() {
    let server = TestServer::https().await;
    server
        .add_user("zhangsan", Role::Salesperson, "张三", "业务员的密码1")
        .await;

    let response = server.login("zhangsan", "业务员的密码1").await;
    assert_eq!(response.status(), StatusCode::OK);
    let login: LoginResponse = response.json().await.unwrap();
    let me: WhoAmI = server.whoami(&login.token).await.json().await.unwrap();
    assert_eq!(me.login, "zhangsan");

    // The printed fingerprint is the SHA-256 of the certificate in the data dir.
    let pem = std::fs::read(server.data.tls_cert_path()).unwrap();
    let der = {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::from_pem_slice(&pem).unwrap()
    };
    let again = crm_server::TlsConfig::self_signed(&server.data).unwrap();
    assert_eq!(again.fingerprint(), crm_server::tls::fingerprint(&der));
    server.stop().await;
}

#[tokio::test]
async fn a_laptop_trusting_another_certificate_cannot_connect() {
    let server = TestServer::https().await;
    let elsewhere = tempfile::tempdir().unwrap();
    let other = crm_server::config::DataDir::new(elsewhere.path());
    crm_server::TlsConfig::self_signed(&other).unwrap();
    let impostor_pem = std::fs::read(other.tls_cert_path()).unwrap();

    let client = common::client_trusting(&impostor_pem);
    let result = client.get(server.url("/status")).send().await;
    assert!(
        result.is_err(),
        "connected while trusting another certificate"
    );
    server.stop().await;
}

#[tokio::test]
async fn plain_http_to_the_https_port_gets_no_answer() {
    let server = TestServer::https().await;
    let plain = reqwest::Client::new();
    let url = server.url("/status").replace("https://", "http://");
    let result = plain.get(url).send().await;
    assert!(result.is_err() || !result.unwrap().status().is_success());
    server.stop().await;
}

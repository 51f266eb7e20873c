//! A headless Chromium driven through chromedriver (Debian packages
//! `chromium` and `chromium-driver`, installed by `.ci/run`), for the tests
//! of the console and of the salesperson's app.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// chromedriver and a headless Chromium session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    pub base: String,
    shots: PathBuf,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// A session whose screenshots go to `test-artifacts/<shots>/`
    /// (emptied first), with a window of `width`×`height`.
    pub async fn open(base: &str, shots: &str, width: u32, height: u32) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver not found: install the Debian packages chromium and chromium-driver \
                 (.ci/run does)",
            );
        let mut caps = serde_json::Map::new();
        let mut chrome = json!({"args": [
            "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--ignore-certificate-errors", format!("--window-size={width},{height}"), "--lang=zh-CN"
        ]});
        // Chromium keeps a window at least 500 px wide; a phone's width is
        // had by emulating one.
        if width < 500 {
            chrome["mobileEmulation"] = json!({"deviceMetrics": {
                "width": width, "height": height, "pixelRatio": 1.0
            }});
        }
        if std::path::Path::new("/usr/bin/chromium").exists() {
            chrome["binary"] = json!("/usr/bin/chromium");
        }
        caps.insert("goog:chromeOptions".into(), chrome);
        caps.insert("acceptInsecureCerts".into(), json!(true));
        let start = Instant::now();
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) if start.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("could not start a Chromium session: {e}"),
            }
        };
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("test-artifacts")
            .join(shots);
        // Only this run's pictures: a page that stopped being shot must not
        // leave an old picture behind looking current.
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            client,
            driver,
            base: base.to_string(),
            shots,
        }
    }

    pub async fn go(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap(),
            Err(e) => {
                let url = self.client.current_url().await.map(|u| u.to_string());
                let src = self.client.source().await.unwrap_or_default();
                panic!("no {css} on {url:?}: {e}\n{}", &src[..src.len().min(2000)])
            }
        }
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let e = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        e.clear().await.unwrap();
        e.send_keys(value).await.unwrap();
    }

    /// Picks the option of value `value` in the select `css`.
    pub async fn choose(&self, css: &str, value: &str) {
        let option = format!("{css} option[value='{value}']");
        self.client
            .find(Locator::Css(&option))
            .await
            .unwrap_or_else(|e| panic!("no {option}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Clicks something that loads a new page, and waits for that page.
    pub async fn click(&self, css: &str) {
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        let target = match self.client.find(Locator::Css(css)).await {
            Ok(t) => t,
            Err(e) => {
                let url = self.client.current_url().await.map(|u| u.to_string());
                let src = self.client.source().await.unwrap_or_default();
                panic!("no {css} on {url:?}: {e}\n{}", &src[..src.len().min(3000)])
            }
        };
        target.click().await.unwrap();
        let start = Instant::now();
        // The old page's root goes stale once the new page has replaced it.
        while old.tag_name().await.is_ok() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "clicking {css} loaded no new page"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        while self
            .client
            .execute("return document.readyState", vec![])
            .await
            .ok()
            != Some(json!("complete"))
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks a control that changes nothing but the current page's state.
    pub async fn check(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// The current value of form control `css`.
    pub async fn value(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Attribute `name` of the element `css` (empty when it has none).
    pub async fn attr(&self, css: &str, name: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .attr(name)
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Sets form control `css` by script: typing into a date field
    /// depends on the browser's locale.
    pub async fn set(&self, css: &str, value: &str) {
        self.client
            .execute(
                "document.querySelector(arguments[0]).value = arguments[1]",
                vec![json!(css), json!(value)],
            )
            .await
            .unwrap();
    }

    pub async fn body(&self) -> String {
        self.text("body").await
    }

    /// The text of a file fetched with the browser's session.
    pub async fn fetch_text(&self, path: &str) -> String {
        let text = self
            .client
            .execute(
                "return fetch(arguments[0]).then(r => r.text());",
                vec![json!(path)],
            )
            .await
            .unwrap();
        text.as_str().unwrap().to_string()
    }

    pub async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

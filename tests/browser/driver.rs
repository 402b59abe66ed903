//! Debian's headless Chromium driven through chromedriver (WebDriver, via `fantoccini`), both
//! on loopback: [`Browser::start`] runs chromedriver on an ephemeral 127.0.0.1 port and opens a
//! session with a fresh profile. Nothing is downloaded: without `/usr/bin/chromium` and
//! `/usr/bin/chromedriver` the test fails and says what to install.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::TempDir;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a page may take to reach the state a test waits for.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

/// Fails the test, naming the Debian packages, when the browser or its driver is missing.
pub fn require_browser() {
    for path in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: the browser tests need Debian's Chromium and its driver; \
             install them with `apt-get update && apt-get install -y chromium chromium-driver` \
             (.ci/run does this when they are missing)"
        );
    }
}

/// `target/screenshots/`, next to the binary under test.
pub fn screenshot_dir() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_rockscope"));
    // target/<profile>/rockscope → target/screenshots
    let target = bin
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// chromedriver's `POST /session/{id}/se/log`: the browser's console since the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// A chromedriver process and one browser session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    pub async fn start() -> Browser {
        require_browser();
        let profile = TempDir::new("chromium");
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,800",
                    "--enable-precise-memory-info", "--js-flags=--expose-gc",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session from {CHROMEDRIVER} on {url}: {e}"),
            }
        };
        let browser = Browser {
            client,
            driver,
            _profile: profile,
        };
        browser.size(1280, 800).await;
        browser
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Runs `script` (a function body that may `return`) in the page.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `script` until it returns something truthy (not null/false/0/""); returns it.
    pub async fn wait_js(&self, what: &str, script: &str) -> Value {
        self.wait_js_for(what, script, PAGE_TIMEOUT).await
    }

    /// [`Browser::wait_js`] with its own timeout.
    pub async fn wait_js_for(&self, what: &str, script: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.js(script).await;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what}; last value {value}; \
                 console: {:?}",
                self.console().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element `css` matches; finds it again when the page redrew it in between
    /// (a "stale element").
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let element = self.element(css).await;
            match element.click().await {
                Ok(()) => return,
                Err(e) if e.to_string().contains("stale element") && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("click {css}: {e}"),
            }
        }
    }

    /// The element matched by `css`, waiting up to [`PAGE_TIMEOUT`] for it to appear.
    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(PAGE_TIMEOUT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Types `text` into the field matched by `css`, replacing what it held.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        element.clear().await.expect("clear field");
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Sets the viewport (not the window, which is larger by the browser's frame) to
    /// `width` × `height` CSS pixels.
    pub async fn size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("set window size");
        let inner = self
            .js("return [window.innerWidth, window.innerHeight]")
            .await;
        let frame = |i: usize, want: u32| {
            let got = inner[i].as_u64().unwrap_or(u64::from(want)) as u32;
            want + want.saturating_sub(got)
        };
        self.client
            .set_window_size(frame(0, width), frame(1, height))
            .await
            .expect("set window size");
    }

    /// The console messages (level, text) since the last call.
    pub async fn console(&self) -> Vec<(String, String)> {
        let entries = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("read the browser log");
        entries
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|e| {
                        (
                            e["level"].as_str().unwrap_or_default().to_owned(),
                            e["message"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Fails when the console holds an error or warning since the last call, other than the
    /// ones `allowed` (substrings).
    pub async fn assert_no_console_errors(&self, page: &str, allowed: &[&str]) {
        let bad: Vec<(String, String)> = self
            .console()
            .await
            .into_iter()
            .filter(|(level, message)| {
                (level == "SEVERE" || level == "WARNING")
                    && !allowed.iter().any(|a| message.contains(a))
            })
            .collect();
        assert!(bad.is_empty(), "console errors on {page}: {bad:#?}");
    }

    /// Saves `<name>-1280x800.png` and `<name>-390x844.png` under `target/screenshots/`, then
    /// goes back to 1280 × 800.
    pub async fn screenshots(&self, name: &str) {
        self.screenshots_at(name, None).await;
    }

    /// [`Browser::screenshots`], scrolled to the element `scroll_to` matches first.
    pub async fn screenshots_at(&self, name: &str, scroll_to: Option<&str>) {
        let dir = screenshot_dir();
        for (width, height) in [(390, 844), (1280, 800)] {
            self.size(width, height).await;
            let scroll = match scroll_to {
                Some(css) => format!(
                    "document.querySelector({})?.scrollIntoView(); return true",
                    Value::String(css.to_owned())
                ),
                None => "window.scrollTo(0, 0); return true".to_owned(),
            };
            self.js(&scroll).await;
            // Let the charts observe the new width and redraw (one animation frame or two).
            self.js("return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
                .await;
            tokio::time::sleep(Duration::from_millis(150)).await;
            let png = self.client.screenshot().await.expect("screenshot");
            std::fs::write(dir.join(format!("{name}-{width}x{height}.png")), png)
                .expect("write screenshot");
        }
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After a failed assertion: never leave a driver (and its browser) behind.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A free loopback port for chromedriver (it takes a port number, not a bound socket).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

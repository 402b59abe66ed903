//! With an API token configured, the page asks for it once on 401, keeps it for the session
//! and shows the data.

use crate::driver::Browser;
use crate::run;
use crate::support::{AppConfig, TestApp};

const TOKEN: &str = "browser-token-5d1e";

#[test]
fn token_prompt_on_401_then_data() {
    let app = TestApp::start(AppConfig::default().rust_log("info").token(TOKEN));
    run(async {
        let browser = Browser::start().await;
        let base = format!("http://{}", app.addr());
        browser.goto(&format!("{base}/")).await;
        browser
            .wait_js(
                "the token dialog",
                "return document.querySelector('dialog.token-dialog')?.open",
            )
            .await;
        let dialogs = browser
            .js("return document.querySelectorAll('dialog.token-dialog').length")
            .await;
        assert_eq!(dialogs, 1, "one prompt, however many requests failed");
        browser.screenshots("token-prompt").await;

        // A wrong token is refused and asked again.
        browser
            .type_into("dialog.token-dialog input[name=token]", "wrong")
            .await;
        browser
            .click("dialog.token-dialog button[type=submit]")
            .await;
        let refused = browser
            .wait_js(
                "the prompt again, saying the token was refused",
                "const d = document.querySelector('dialog.token-dialog');
                 return d?.open && d.textContent.includes('refused')",
            )
            .await;
        assert_eq!(refused, true);

        browser
            .type_into("dialog.token-dialog input[name=token]", TOKEN)
            .await;
        browser
            .click("dialog.token-dialog button[type=submit]")
            .await;
        browser
            .wait_js(
                "the empty state, loaded with the token",
                "return document.querySelector('.empty') !== null",
            )
            .await;
        let kept = browser
            .js("return sessionStorage.getItem('rockscope.token')")
            .await;
        assert_eq!(kept, TOKEN);

        // The next page of the session needs no prompt.
        browser.goto(&format!("{base}/collector")).await;
        browser
            .wait_js(
                "the collector page without a prompt",
                "return document.querySelector('table') !== null
                   && document.querySelector('dialog.token-dialog') === null",
            )
            .await;
        // The two refused requests are the only console errors.
        browser
            .assert_no_console_errors("token prompt", &["status of 401"])
            .await;
        browser.close().await;
    });
}

//! `vs_prometheus --stop-on-eof PID`: the guard that stops a tool the harness started when the
//! harness dies without stopping it (`kill -9`), which closes the guard's stdin.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HARNESS: &str = env!("CARGO_BIN_EXE_vs_prometheus");

#[test]
fn the_guard_stops_its_tool_when_its_stdin_closes_and_not_before() {
    let mut tool = Command::new("sleep").arg("120").spawn().expect("sleep");
    let mut guard = Command::new(HARNESS)
        .args(["--stop-on-eof", &tool.id().to_string()])
        .stdin(Stdio::piped())
        .spawn()
        .expect("guard");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        tool.try_wait().expect("wait").is_none(),
        "stopped too early"
    );
    drop(guard.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = tool.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = tool.kill();
            panic!("the guard did not stop its tool");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success(), "{status}");
    assert!(guard.wait().expect("guard").success());
}

//! The database through the real binary: owner-only files, passwords encrypted at rest with
//! the key file rockscope creates (or `ROCKSCOPE_SECRET_KEY`), and `rotate-key`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rockscope_sim::{SimConfig, Simulator, Version};

/// A scratch directory (not created: rockscope must create the database's folder) removed on
/// drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Scratch(std::env::temp_dir().join(format!(
            "rockscope-storage-{tag}-{}-{nanos}",
            std::process::id()
        )))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rockscope(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rockscope"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ROCKSCOPE_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "info,ureq=warn,ureq_proto=warn")
        .arg("--config")
        .arg(config)
        .args(args)
        .envs(env.iter().copied());
    cmd.output().expect("run rockscope")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    p.into()
}

/// A config with one simulated cluster whose password is `password`, the database in a folder
/// rockscope must create.
fn setup(tag: &str, sim: &Simulator) -> (Scratch, PathBuf, PathBuf, String) {
    let scratch = Scratch::new(tag);
    let config_dir = scratch.0.join("etc");
    std::fs::create_dir_all(&config_dir).unwrap();
    let db = scratch.0.join("data").join("rockscope.db");
    let info = &sim.clusters()[0];
    let config = config_dir.join("rockscope.toml");
    std::fs::write(
        &config,
        format!(
            "[collector]\ninterval_secs = 1\nconnect_timeout_secs = 1\nrequest_timeout_secs = 2\n\n\
             [server]\nhost = \"127.0.0.1\"\nport = 0\n\n[storage]\n\
             path = {:?}\n\n[[clusters]]\nname = \"prod\"\nfe_hosts = {:?}\nusername = {:?}\n\
             password = {:?}\n",
            db.display().to_string(),
            info.fe_hosts,
            info.username,
            info.password
        ),
    )
    .unwrap();
    (scratch, config, db, info.password.clone())
}

/// The database's bytes, its write-ahead log's included (the binary has no SQL of its own).
fn database_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db).unwrap();
    bytes.extend(std::fs::read(suffixed(db, "-wal")).unwrap_or_default());
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn the_database_is_owner_only_and_its_passwords_are_encrypted_with_the_key_file() {
    let mut sim_config = SimConfig::uniform(1, 1, 1, Version::V3_3, 5);
    sim_config.clusters[0] = sim_config.clusters[0]
        .clone()
        .with_credentials("monitor", "pw-at-rest-7Q");
    let sim = Simulator::start(sim_config).expect("sim");
    let (_scratch, config, db, password) = setup("keyfile", &sim);
    assert!(!password.is_empty());
    let out = rockscope(&config, &["collect-once"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(db.parent().unwrap()), 0o700);
    assert_eq!(mode(&db), 0o600);
    for suffix in ["-wal", "-shm"] {
        let file = suffixed(&db, suffix);
        if file.exists() {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }
    let key = suffixed(&db, ".key");
    assert_eq!(mode(&key), 0o600);
    let bytes = database_bytes(&db);
    assert!(contains(&bytes, "rsenc1:"));
    assert!(
        !contains(&bytes, &password),
        "the password is stored in clear"
    );

    // rotate-key: a new key file, the password still opens (the next cycle logs in).
    let before = std::fs::read_to_string(&key).unwrap();
    let out = rockscope(&config, &["rotate-key"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-encrypted 1 password"));
    assert_ne!(std::fs::read_to_string(&key).unwrap(), before);
    assert_eq!(mode(&key), 0o600);
    let out = rockscope(&config, &["collect-once"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_secret_key_variable_replaces_the_key_file() {
    let sim = Simulator::start(SimConfig::uniform(1, 1, 1, Version::V3_3, 5)).expect("sim");
    let (_scratch, config, db, _) = setup("env", &sim);
    let key = "3f".repeat(32);
    let out = rockscope(
        &config,
        &["collect-once"],
        &[("ROCKSCOPE_SECRET_KEY", &key)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !suffixed(&db, ".key").exists(),
        "no key file when the variable is set"
    );
    assert!(contains(&database_bytes(&db), "rsenc1:"));
    // A malformed key is refused with a message that says what a key looks like.
    let out = rockscope(
        &config,
        &["collect-once"],
        &[("ROCKSCOPE_SECRET_KEY", "short")],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ROCKSCOPE_SECRET_KEY") && stderr.contains("64 hexadecimal"),
        "{stderr}"
    );
}

/// `GET path` on `addr`: the status and the body.
fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Polls `check` every 100 ms for at most `secs` seconds.
fn poll<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_database_deleted_under_serve_fails_ready_and_is_logged_once() {
    use std::io::BufRead;
    let sim = Simulator::start(SimConfig::uniform(1, 1, 1, Version::V3_3, 5)).expect("sim");
    let (scratch, config, db, _) = setup("deleted", &sim);
    let log = scratch.0.join("serve.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rockscope"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ROCKSCOPE_") {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd
        .env("RUST_LOG", "info,ureq=warn,ureq_proto=warn")
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("serve");
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .rsplit("http://")
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        addr.starts_with("127.0.0.1:"),
        "first line {first:?}; log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let outcome = std::panic::catch_unwind(|| {
        poll(15, "/ready 200", || {
            (http_get(&addr, "/ready").0 == 200).then_some(())
        });
        std::fs::remove_file(&db).unwrap();
        let body = poll(15, "/ready 503", || {
            let (status, body) = http_get(&addr, "/ready");
            (status == 503).then_some(body)
        });
        assert!(body.contains("\"storage\":false"), "{body}");
        assert!(body.contains("deleted or replaced"), "{body}");
        let (status, body) = http_get(&addr, "/api/collector/status");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"healthy\":false"), "{body}");
        // A few more cycles: still one log line for the failure, and no new empty database.
        std::thread::sleep(std::time::Duration::from_secs(2));
        assert!(!db.exists(), "an empty database appeared at the path");
        let log = std::fs::read_to_string(&log).unwrap();
        let lines = log
            .lines()
            .filter(|l| l.contains("deleted or replaced"))
            .count();
        assert_eq!(lines, 1, "{log}");
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

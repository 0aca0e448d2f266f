//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The documented example shop (PROTOCOL.md §3): BA0026_001.
pub const DOC_SHOP: &str = "BA0026_001";
/// Its keys A1, A2, B1, B2.
pub const DOC_KEYS: [&str; 4] = [
    "4D9709D699CA40EE",
    "5A4FEF83140C4E9E",
    "BC74301945134CB4",
    "961F67F8FCA44AB9",
];
/// Its HashID.
pub const DOC_HASH_ID: &str = "17D8E6558DC60E702A6B57E1B9B7060D";
/// A key id for tests.
pub const KEY_ID: &str = "b5e6986d-8636-4aa0-8c93-441ad14b2098";

/// The repository's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The vectors file as JSON.
pub fn vectors() -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join("vectors.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The binary, with no `SINOPAC_*` variable inherited and `dir` as working directory (so no
/// stray `./sinopac.toml` is picked up).
pub fn sinopac(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sinopac"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SINOPAC_") {
            c.env_remove(k);
        }
    }
    c.env_remove("RUST_BACKTRACE");
    c.current_dir(dir);
    c
}

/// The binary with the documented example shop's keys in the environment.
pub fn sinopac_with_keys(dir: &Path) -> Command {
    let mut c = sinopac(dir);
    for (name, value) in ["SINOPAC_A1", "SINOPAC_A2", "SINOPAC_B1", "SINOPAC_B2"]
        .into_iter()
        .zip(DOC_KEYS)
    {
        c.env(name, value);
    }
    c
}

/// What a finished run printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the command to completion.
pub fn run(c: &mut Command) -> Run {
    let out = c.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts success and parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }

    /// Asserts a clean failure: exit `code`, stderr is `error: …` then only `  caused by: …`
    /// lines, no panic, no Debug dump. Returns stderr.
    pub fn fails(&self, code: i32) -> &str {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        let mut lines = self.stderr.lines();
        let first = lines.next().unwrap_or_default();
        assert!(first.starts_with("error: "), "stderr: {}", self.stderr);
        for l in lines {
            assert!(l.starts_with("  caused by: "), "stderr: {}", self.stderr);
        }
        for bad in ["panicked", "RUST_BACKTRACE", "Error {", "Some(", "kind:"] {
            assert!(!self.stderr.contains(bad), "stderr: {}", self.stderr);
        }
        &self.stderr
    }
}

/// A simulated bank on `127.0.0.1:0`, served from its own runtime while the test thread runs
/// the binary, plus a scratch directory for the binary's working directory.
pub struct Bank {
    pub sim: sinopac_sim::Sim,
    pub base_url: String,
    pub dir: tempfile::TempDir,
    server: Option<sinopac_sim::SimServer>,
    rt: tokio::runtime::Runtime,
}

impl Bank {
    /// A sim with the documented example shop (`DOC_SHOP`, `DOC_KEYS`, `KEY_ID`), no ATM
    /// auto-pay, manual clock.
    pub fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sim = sinopac_sim::Sim::new(sinopac_sim::SimConfig {
            atm_auto_pay_after: None,
            ..sinopac_sim::SimConfig::default()
        });
        sim.add_shop(sinopac_sim::ShopConfig::new(
            sinopac_proto::ShopNo::new(DOC_SHOP).unwrap(),
            sinopac_proto::Keys::new(DOC_KEYS[0], DOC_KEYS[1], DOC_KEYS[2], DOC_KEYS[3]).unwrap(),
            KEY_ID,
        ));
        let server = rt.block_on(sim.spawn_loopback()).unwrap();
        Self {
            base_url: server.base_url(),
            sim,
            dir: tempfile::tempdir().unwrap(),
            server: Some(server),
            rt,
        }
    }

    /// The binary configured (environment only) for the sim's shop.
    pub fn cmd(&self) -> Command {
        let mut c = sinopac_with_keys(self.dir.path());
        c.env("SINOPAC_SHOP_NO", DOC_SHOP)
            .env("SINOPAC_KEY_ID", KEY_ID)
            .env("SINOPAC_BASE_URL", &self.base_url)
            .env("SINOPAC_ENV", "sim");
        c
    }

    /// Runs `f` on the sim's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The sim's view of one order.
    pub fn order(&self, order_no: &str) -> Option<sinopac_sim::SimOrder> {
        self.sim.order(
            &sinopac_proto::ShopNo::new(DOC_SHOP).unwrap(),
            &sinopac_proto::OrderNo::new(order_no).unwrap(),
        )
    }
}

impl Drop for Bank {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

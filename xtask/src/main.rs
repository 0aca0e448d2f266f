//! Project automation: `cargo xtask <test|ci|bench|e2e|fuzz>`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const HELP: &str = "\
cargo xtask <command>

  test          all workspace tests, incl. doc tests (nextest when installed) and hygiene checks
  ci            fmt --check, clippy -D warnings (all targets), test, doc -D warnings
  bench [ARGS]  run every benchmark and print its figures (ARGS go to the bench binaries)
  fuzz [SECS]   run each cargo-fuzz target under fuzz/ for SECS seconds (default 60)
  hygiene       check the layering rules of DESIGN.md (proto has no I/O dependencies, ...)
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let (cmd, rest) = args
        .split_first()
        .map_or(("help", &[][..]), |(c, r)| (c.as_str(), r));
    match cmd {
        "test" => test(),
        "ci" => ci(),
        "bench" => bench(rest),
        "fuzz" => fuzz(rest),
        "hygiene" => hygiene(),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n\n{HELP}"),
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn cargo() -> Command {
    let mut c = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn status(mut c: Command) -> Result<()> {
    eprintln!("xtask: running {c:?}");
    let st = c
        .status()
        .with_context(|| format!("could not start {c:?}"))?;
    if !st.success() {
        bail!("{c:?} failed with {st}");
    }
    Ok(())
}

fn has_nextest() -> bool {
    Command::new("cargo-nextest")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn test() -> Result<()> {
    hygiene()?;
    if has_nextest() {
        let mut c = cargo();
        c.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
        status(c)?;
    } else {
        let mut c = cargo();
        c.args([
            "test",
            "--workspace",
            "--lib",
            "--bins",
            "--tests",
            "--no-fail-fast",
        ]);
        status(c)?;
    }
    let mut c = cargo();
    c.args(["test", "--workspace", "--doc"]);
    status(c)
}

fn ci() -> Result<()> {
    let mut c = cargo();
    c.args(["fmt", "--all", "--", "--check"]);
    status(c)?;
    let mut c = cargo();
    c.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    status(c)?;
    test()?;
    let mut c = cargo();
    c.args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    status(c)
}

fn bench(args: &[String]) -> Result<()> {
    let mut c = cargo();
    // `--bench "*"` selects bench targets only (`--benches` would also run lib/bin test harnesses).
    c.args(["bench", "--workspace", "--bench", "*", "--"]);
    if args.is_empty() {
        c.args(["--output-format", "bencher"]);
    } else {
        c.args(args);
    }
    status(c)
}

fn fuzz(args: &[String]) -> Result<()> {
    let secs = args.first().map_or("60", String::as_str);
    let fuzz_dir = root().join("fuzz");
    let have = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        let mut c = cargo();
        c.args(["install", "cargo-fuzz", "--locked"]);
        status(c)?;
    }
    let out = Command::new("cargo")
        .args(["fuzz", "list"])
        .current_dir(&fuzz_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .context("cargo fuzz list")?;
    let targets = String::from_utf8_lossy(&out.stdout).to_string();
    for target in targets.lines().map(str::trim).filter(|t| !t.is_empty()) {
        let mut c = Command::new("cargo");
        c.current_dir(&fuzz_dir)
            // The machine has one stable toolchain; cargo-fuzz needs a few unstable flags.
            .env("RUSTC_BOOTSTRAP", "1")
            .args([
                "fuzz",
                "run",
                target,
                "--",
                &format!("-max_total_time={secs}"),
            ]);
        status(c)?;
    }
    Ok(())
}

/// Layering rules from DESIGN.md, checked on the resolved dependency graph.
fn hygiene() -> Result<()> {
    let out = cargo()
        .args([
            "tree",
            "-p",
            "sinopac-proto",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .context("cargo tree")?;
    if !out.status.success() {
        bail!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    let forbidden = [
        "tokio ",
        "reqwest ",
        "sqlx ",
        "axum ",
        "hyper ",
        "rand ",
        "getrandom ",
        "chrono ",
    ];
    let bad: Vec<&str> = tree
        .lines()
        .filter(|l| forbidden.iter().any(|f| l.starts_with(f)))
        .collect();
    if !bad.is_empty() {
        bail!("sinopac-proto must stay pure (no I/O, clock or RNG) but depends on: {bad:?}");
    }
    for (krate, must_not) in [
        ("sinopac-sim", "sinopac-http"),
        ("sinopac-http", "sinopac-sim"),
    ] {
        if !root().join("crates").join(krate).exists() {
            continue;
        }
        let out = cargo()
            .args([
                "tree", "-p", krate, "-e", "normal", "--prefix", "none", "--format", "{p}",
            ])
            .output()
            .context("cargo tree")?;
        if String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.starts_with(&format!("{must_not} ")))
        {
            bail!("{krate} must not depend on {must_not} (DESIGN.md dependency direction)");
        }
    }
    eprintln!("xtask: hygiene ok");
    Ok(())
}

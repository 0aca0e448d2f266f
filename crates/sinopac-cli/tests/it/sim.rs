//! `sinopac sim serve` as a child process, driven by the other commands.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};

use crate::support::*;

/// Kills the server when the test ends, even on failure.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &std::path::Path, args: &[&str]) -> (Server, String) {
    serve_with_env(dir, args, &[])
}

fn serve_with_env(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (Server, String) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sinopac"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SINOPAC_") {
            c.env_remove(k);
        }
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c
        .current_dir(dir)
        .args(["sim", "serve", "--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line.trim().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base:?}");
    (server, base)
}

#[test]
fn serve_demo_shop_and_control_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = serve(
        dir.path(),
        &["--demo", "--time-scale", "0", "--fault", "Callback:drop"],
    );
    let cmd = || {
        let mut c = sinopac_with_keys(dir.path());
        c.env("SINOPAC_BASE_URL", &base)
            .env("SINOPAC_SHOP_NO", DOC_SHOP)
            .env("SINOPAC_KEY_ID", "00000000-0000-4000-8000-000000000000");
        c
    };
    run(cmd().args([
        "order",
        "create",
        "atm",
        "--order-no",
        "S1",
        "--amount",
        "100",
        "--product",
        "p",
        "--backend-url",
        "http://127.0.0.1:1/cb",
    ]))
    .ok();
    let paid = run(cmd().args(["sim", "pay", "S1", "--json"])).json();
    assert_eq!(paid["PayStatus"], "1A400");
    // The fault from the command line drops the callback; the log says so.
    let d = run(cmd().args(["sim", "deliveries", "--json"])).json();
    assert_eq!(d["deliveries"][0]["Outcome"]["Kind"], "Dropped", "{d}");
    let out = run(cmd().args(["sim", "deliveries"])).ok().to_owned();
    assert!(out.contains("dropped (fault)"), "{out}");
    let csv = run(cmd().args(["sim", "deliveries", "--csv"]));
    assert!(
        csv.ok()
            .starts_with("Id,Attempt,At,ShopNo,OrderNo,Outcome,URL\r\n")
    );
    // The fault plan of the running sim: shown, extended, cleared.
    let plan = run(cmd().args(["sim", "faults", "--json"])).json();
    assert_eq!(plan["Rules"][0]["Fault"]["Kind"], "Drop", "{plan}");
    let plan = run(cmd().args(["sim", "faults", "--add", "Order:http=503:0.5", "--json"])).json();
    assert_eq!(plan["Rules"].as_array().unwrap().len(), 2, "{plan}");
    let out = run(cmd().args(["sim", "faults"])).ok().to_owned();
    assert!(out.contains("HTTP 503") && out.contains("0.5"), "{out}");
    run(cmd().args(["sim", "faults", "--add", "Order:boom"])).fails(2);
    let plan = run(cmd().args(["sim", "faults", "--clear", "--json"])).json();
    assert_eq!(plan["Rules"].as_array().unwrap().len(), 0, "{plan}");
    let file = dir.path().join("plan.json");
    std::fs::write(
        &file,
        r#"{"Rules":[{"Route":"Callback","Fault":{"Kind":"Drop"}}]}"#,
    )
    .unwrap();
    let plan = run(cmd().args(["sim", "faults", "--json", "--set"]).arg(&file)).json();
    assert_eq!(plan["Rules"].as_array().unwrap().len(), 1, "{plan}");

    // Manual clock: advance moves it by exactly that much.
    let a = run(cmd().args(["sim", "advance", "1h", "--json"])).json();
    let b = run(cmd().args(["sim", "advance", "90s", "--json"])).json();
    assert_eq!(b["Now"].as_i64().unwrap() - a["Now"].as_i64().unwrap(), 90);
    let d = run(cmd().args(["sim", "deliveries", "--json"])).json();
    assert!(
        d["count"].as_u64().unwrap() >= 5,
        "retried on the sim clock: {d}"
    );
    // doctor is happy with the served demo shop.
    run(cmd().args(["doctor"])).ok();
}

#[test]
fn serve_refuses_bad_setups() {
    let dir = tempfile::tempdir().unwrap();
    // No shop at all.
    let r = run(sinopac(dir.path()).args(["sim", "serve", "--addr", "127.0.0.1:0"]));
    assert!(r.fails(3).contains("--demo"));
    // A bad shops file.
    let shops = dir.path().join("shops.json");
    std::fs::write(
        &shops,
        r#"[{"ShopNo":"X1","A1":"00","A2":"00","B1":"00","B2":"00","KeyId":"k"}]"#,
    )
    .unwrap();
    let r = run(sinopac(dir.path())
        .args(["sim", "serve", "--addr", "127.0.0.1:0", "--shops"])
        .arg(&shops));
    assert!(r.fails(3).contains("entry 1"));
    // A bad fault plan and a bad fault flag.
    let faults = dir.path().join("faults.json");
    std::fs::write(
        &faults,
        r#"{"Rules":[{"Route":"Order","Fault":{"Kind":"Nope"}}]}"#,
    )
    .unwrap();
    run(sinopac(dir.path())
        .args([
            "sim",
            "serve",
            "--demo",
            "--addr",
            "127.0.0.1:0",
            "--faults",
        ])
        .arg(&faults))
    .fails(2);
    run(sinopac(dir.path()).args([
        "sim",
        "serve",
        "--demo",
        "--addr",
        "127.0.0.1:0",
        "--fault",
        "Order:explode",
    ]))
    .fails(2);
    // An address that cannot be bound.
    run(sinopac(dir.path()).args(["sim", "serve", "--demo", "--addr", "256.0.0.1:80"])).fails(3);
    // Control commands with no sim running: transport failure.
    let r = run(sinopac_with_keys(dir.path())
        .env("SINOPAC_SHOP_NO", DOC_SHOP)
        .env("SINOPAC_BASE_URL", "http://127.0.0.1:1/")
        .args(["sim", "pay", "S1"]));
    assert!(r.fails(4).contains("sinopac sim serve"));
}

#[test]
fn serve_configured_shop_and_shops_file() {
    let dir = tempfile::tempdir().unwrap();
    // NA0249_001 (the shared sandbox shop's published keys) from a shops file.
    let shops = dir.path().join("shops.json");
    std::fs::write(
        &shops,
        r#"[{"ShopNo":"NA0249_001","A1":"86D50DEF3EB7400E","A2":"01FD27C09E5549E5",
             "B1":"9E004965F4244953","B2":"7FB3385F414E4F91","KeyId":"k-249"}]"#,
    )
    .unwrap();
    // NA0001_001 (the documented card example shop) from the environment.
    let na1 = [
        ("SINOPAC_SHOP_NO", "NA0001_001"),
        ("SINOPAC_A1", "65960834240E44B7"),
        ("SINOPAC_A2", "2831076A098E49E7"),
        ("SINOPAC_B1", "CB1AFFBF915A492B"),
        ("SINOPAC_B2", "7F242C0AA612454F"),
        ("SINOPAC_KEY_ID", "k-001"),
    ];
    let shops_arg = shops.display().to_string();
    let (_server, base) = serve_with_env(
        dir.path(),
        &["--time-scale", "0", "--shops", &shops_arg],
        &na1,
    );
    let create = |env: &[(&str, &str)], no: &str| {
        let mut c = sinopac(dir.path());
        c.env("SINOPAC_BASE_URL", &base);
        for (k, v) in env {
            c.env(k, v);
        }
        run(c.args([
            "order",
            "create",
            "card",
            "--order-no",
            no,
            "--amount",
            "1",
            "--product",
            "p",
        ]))
    };
    create(&na1, "E1").ok();
    let na249 = [
        ("SINOPAC_SHOP_NO", "NA0249_001"),
        ("SINOPAC_A1", "86D50DEF3EB7400E"),
        ("SINOPAC_A2", "01FD27C09E5549E5"),
        ("SINOPAC_B1", "9E004965F4244953"),
        ("SINOPAC_B2", "7FB3385F414E4F91"),
        ("SINOPAC_KEY_ID", "k-249"),
    ];
    create(&na249, "F1").ok();
    // The demo shop was not asked for.
    let mut demo = vec![("SINOPAC_SHOP_NO", DOC_SHOP), ("SINOPAC_KEY_ID", KEY_ID)];
    for (k, v) in ["SINOPAC_A1", "SINOPAC_A2", "SINOPAC_B1", "SINOPAC_B2"]
        .into_iter()
        .zip(DOC_KEYS)
    {
        demo.push((k, v));
    }
    create(&demo, "G1").fails(3);
}

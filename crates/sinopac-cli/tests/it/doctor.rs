//! `sinopac doctor` against a loopback sim and with broken configurations.

use crate::support::*;

fn check<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {doc}"))
}

#[test]
fn healthy_configuration_passes() {
    let bank = Bank::start();
    let backend = format!("{}_sim/clock", bank.base_url);
    let r = run(bank
        .cmd()
        .env("SINOPAC_BACKEND_URL", &backend)
        .env("SINOPAC_RETURN_URL", &backend)
        .args(["doctor"]));
    let out = r.ok();
    for needle in [
        "ok    API reachable",
        "ok    keys accepted",
        "ok    BackendURL reachable",
        "0 problems",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
    // Secrets are never printed.
    for k in DOC_KEYS.iter().chain([&KEY_ID, &DOC_HASH_ID]) {
        assert!(!out.contains(k), "{out}");
    }
    let doc = run(bank
        .cmd()
        .env("SINOPAC_BACKEND_URL", &backend)
        .env("SINOPAC_RETURN_URL", &backend)
        .env("SINOPAC_KEY_ID", format!("\t{KEY_ID} "))
        .args(["doctor", "--json"]))
    .json();
    assert_eq!(doc["ok"], true);
    let key_id = check(&doc, "key id");
    assert_eq!(key_id["status"], "warn", "{doc}");
    assert!(key_id["detail"].as_str().unwrap().contains("a tab"));
    assert!(key_id["fix"].as_str().unwrap().contains("SINOPAC_KEY_ID"));
    assert_eq!(check(&doc, "clock")["status"], "ok", "{doc}");
}

#[test]
fn broken_configurations_say_what_to_fix() {
    let bank = Bank::start();

    // Keys of another shop: the nonce works, the signed call does not.
    let r = run(bank
        .cmd()
        .env("SINOPAC_A1", "86D50DEF3EB7400E")
        .args(["doctor", "--json"]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(check(&doc, "API reachable")["status"], "ok");
    assert_eq!(check(&doc, "keys accepted")["status"], "fail", "{doc}");
    assert!(
        r.stderr
            .starts_with("error: doctor found 1 problem(s); first: keys accepted"),
        "{}",
        r.stderr
    );

    // A malformed key, offline: names the variable, no network.
    let r = run(bank
        .cmd()
        .env("SINOPAC_B2", "961F67F8FCA44AB")
        .args(["doctor", "--offline"]));
    r.fails(3);
    assert!(r.stdout.contains("FAIL  keys"), "{}", r.stdout);
    assert!(r.stdout.contains("SINOPAC_B2"), "{}", r.stdout);
    assert!(r.stdout.contains("skip  API reachable"), "{}", r.stdout);

    // Environment and base URL disagree.
    let r = run(bank
        .cmd()
        .env("SINOPAC_ENV", "production")
        .args(["doctor", "--offline"]));
    r.fails(3);
    assert!(
        r.stdout
            .contains("is a sim URL, but the environment is production"),
        "{}",
        r.stdout
    );

    // Wrong X-KeyID: the nonce is refused.
    let doc = run(bank
        .cmd()
        .env("SINOPAC_KEY_ID", "nope")
        .args(["doctor", "--json"]));
    assert_eq!(doc.code, 3);
    let doc: serde_json::Value = serde_json::from_str(&doc.stdout).unwrap();
    assert_eq!(check(&doc, "API reachable")["status"], "fail");

    // Nothing listening: transport (exit 4).
    let r = run(bank
        .cmd()
        .env("SINOPAC_BASE_URL", "http://127.0.0.1:1/")
        .args(["doctor"]));
    r.fails(4);
    assert!(r.stdout.contains("FAIL  API reachable"), "{}", r.stdout);

    // A BackendURL nobody can reach from the bank, for production.
    let r = run(sinopac_with_keys(bank.dir.path())
        .env("SINOPAC_ENV", "production")
        .env("SINOPAC_SHOP_NO", DOC_SHOP)
        .env("SINOPAC_KEY_ID", KEY_ID)
        .env("SINOPAC_BACKEND_URL", "http://localhost:3000/notify")
        .args(["doctor", "--offline"]));
    r.fails(3);
    assert!(
        r.stdout.contains("is not reachable from the bank"),
        "{}",
        r.stdout
    );

    // The public sandbox shop in production; SINOPAC_ENV and SINOPAC_BASE_URL both set.
    let doc = run(sinopac_with_keys(bank.dir.path())
        .env("SINOPAC_ENV", "production")
        .env(
            "SINOPAC_BASE_URL",
            "https://api.sinopac.com/funBIZ/QPay.WebAPI/api/",
        )
        .env("SINOPAC_SHOP_NO", "NA0249_001")
        .env("SINOPAC_KEY_ID", KEY_ID)
        .args(["doctor", "--offline", "--json"]));
    assert_eq!(doc.code, 3);
    let doc: serde_json::Value = serde_json::from_str(&doc.stdout).unwrap();
    assert_eq!(check(&doc, "shop number")["status"], "fail", "{doc}");
    assert_eq!(
        check(&doc, "SINOPAC_ENV + SINOPAC_BASE_URL")["status"],
        "warn"
    );
    assert_eq!(check(&doc, "base URL")["status"], "ok", "{doc}");

    // A config file that does not exist.
    let r = run(bank
        .cmd()
        .env("SINOPAC_CONFIG", "/nonexistent/sinopac.toml")
        .args(["doctor"]));
    r.fails(3);
    assert!(r.stdout.contains("FAIL  configuration"), "{}", r.stdout);
}

#[test]
fn profiles_from_the_config_file() {
    let bank = Bank::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sinopac.toml"),
        format!(
            r#"default_profile = "local"

[profiles.local]
env = "sim"
base_url = "{}"
shop_no = "{DOC_SHOP}"
key_id = "{KEY_ID}"
a1 = "{}"
a2 = "{}"
b1 = "{}"
b2 = "{}"

[profiles.production]
env = "production"
shop_no = "{DOC_SHOP}"
"#,
            bank.base_url, DOC_KEYS[0], DOC_KEYS[1], DOC_KEYS[2], DOC_KEYS[3]
        ),
    )
    .unwrap();
    // The default profile works end to end (no environment variables at all).
    let out = run(sinopac(dir.path()).args(["doctor"])).ok().to_owned();
    assert!(out.contains("profile local"), "{out}");
    assert!(out.contains("[profiles.local] shop_no"), "{out}");
    run(sinopac(dir.path()).args([
        "order",
        "create",
        "atm",
        "--order-no",
        "P1",
        "--amount",
        "1",
        "--product",
        "p",
    ]))
    .ok();
    assert!(bank.order("P1").is_some());
    // --profile production: keys missing → config error naming them.
    let r = run(sinopac(dir.path()).args(["--profile", "production", "order", "get", "P1"]));
    assert!(r.fails(3).contains("SINOPAC_A1"));
    // Flags win over the file.
    let r =
        run(sinopac(dir.path()).args(["--base-url", "http://127.0.0.1:1/", "order", "get", "P1"]));
    r.fails(4);
    // An unknown profile.
    let r = run(sinopac(dir.path()).args(["--profile", "staging", "doctor"]));
    r.fails(3);
    assert!(r.stdout.contains("local, production"), "{}", r.stdout);
}

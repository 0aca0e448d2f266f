//! `sinopac crypto …` against the known-answer vectors, including bad input.

use crate::support::*;

fn vector(name: &str) -> serde_json::Value {
    vectors()
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap()
        .clone()
}

#[test]
fn hash_id_masked_revealed_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(sinopac_with_keys(dir.path()).args(["crypto", "hash-id"]));
    let out = r.ok();
    assert!(out.contains("17D8…060D"), "{out}");
    assert!(!out.contains(DOC_HASH_ID), "masked by default: {out}");

    let r = run(sinopac_with_keys(dir.path()).args(["crypto", "hash-id", "--reveal", "--json"]));
    let v = r.json();
    assert_eq!(v["hash_id"], DOC_HASH_ID);
    assert_eq!(v["revealed"], true);

    // --hash-id override (lower case accepted) without any keys configured.
    let r = run(sinopac(dir.path()).args([
        "crypto",
        "hash-id",
        "--reveal",
        "--hash-id",
        &DOC_HASH_ID.to_ascii_lowercase(),
    ]));
    assert!(r.ok().contains(DOC_HASH_ID));

    // Malformed key: config error naming the variable, never echoing the key.
    let r = run(sinopac_with_keys(dir.path())
        .env("SINOPAC_A2", "5A4FEF83140C4E9 ")
        .args(["crypto", "hash-id"]));
    let err = r.fails(3);
    assert!(err.contains("SINOPAC_A2"), "{err}");
    assert!(err.contains("whitespace"), "{err}");
    assert!(!err.contains("5A4FEF"), "{err}");

    let r = run(sinopac_with_keys(dir.path())
        .env("SINOPAC_B1", "ZZ74301945134CB4")
        .args(["crypto", "hash-id"]));
    assert!(r.fails(3).contains("SINOPAC_B1"));

    // No keys at all.
    let r = run(sinopac(dir.path()).args(["crypto", "hash-id"]));
    assert!(r.fails(3).contains("SINOPAC_A1"));

    // --hash-id needs no configuration, even a broken one.
    let r = run(sinopac(dir.path())
        .env("SINOPAC_CONFIG", "/nonexistent.toml")
        .args(["crypto", "hash-id", "--json", "--hash-id", DOC_HASH_ID]));
    assert_eq!(r.json()["fingerprint"].as_str().unwrap().len(), 19);
    run(sinopac(dir.path())
        .env("SINOPAC_CONFIG", "/nonexistent.toml")
        .args(["crypto", "hash-id"]))
    .fails(3);

    // Bad --hash-id.
    let r = run(sinopac(dir.path()).args(["crypto", "hash-id", "--hash-id", "1234"]));
    assert!(r.fails(3).contains("--hash-id"));
}

#[test]
fn iv_of_documented_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let v = vector("order_create_atm_request");
    let nonce = v["nonce"].as_str().unwrap();
    let r = run(sinopac(dir.path()).args(["crypto", "iv", nonce]));
    let out = r.ok();
    assert!(out.contains("CB6FA68E42B655AB"), "{out}");
    assert!(
        out.contains("B04E63304BA13F5986B7855706A57B1F18B46FEDE0122D7FCB6FA68E42B655AB"),
        "{out}"
    );
    let j = run(sinopac(dir.path()).args(["crypto", "iv", nonce, "--json"])).json();
    assert_eq!(j["iv"], "CB6FA68E42B655AB");

    // --csv makes no sense for one record; a nonce with spaces is refused.
    run(sinopac(dir.path()).args(["crypto", "iv", nonce, "--csv"])).fails(2);
    run(sinopac(dir.path()).args(["crypto", "iv", " abc"])).fails(2);
}

#[test]
fn sign_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "order_create_atm_request",
        "order_create_atm_request_php_escaped",
        "order_create_card_request",
    ] {
        let v = vector(name);
        let keys = v["keys"].clone();
        let mut c = sinopac(dir.path());
        for k in ["A1", "A2", "B1", "B2"] {
            c.env(format!("SINOPAC_{k}"), keys[k].as_str().unwrap());
        }
        // A trailing newline (as from `echo`) is ignored.
        let stdin = format!("{}\n", v["plaintext"].as_str().unwrap());
        let r = run(c
            .args([
                "crypto",
                "sign",
                "--nonce",
                v["nonce"].as_str().unwrap(),
                "--json",
            ])
            .write_stdin(stdin));
        let j = r.json();
        assert_eq!(j["sign"], v["sign"], "{name}");
        assert_eq!(j["sign_string"], v["sign_string"], "{name}");
    }
    // Plain output is just the Sign.
    let v = vector("order_create_atm_request");
    let r = run(sinopac_with_keys(dir.path())
        .args(["crypto", "sign", "--nonce", v["nonce"].as_str().unwrap()])
        .write_stdin(v["plaintext"].as_str().unwrap()));
    assert_eq!(r.ok().trim(), v["sign"].as_str().unwrap());

    // Bad input on stdin: usage errors, not panics.
    for bad in ["{\"ShopNo\":", "[1,2]", "", "not json"] {
        let r = run(sinopac_with_keys(dir.path())
            .args(["crypto", "sign", "--nonce", "N1"])
            .write_stdin(bad));
        r.fails(2);
    }
}

#[test]
fn seal_matches_vector_and_envelope_round_trips_through_open() {
    let dir = tempfile::tempdir().unwrap();
    let v = vector("order_create_atm_request");
    let nonce = v["nonce"].as_str().unwrap();
    let plaintext = v["plaintext"].as_str().unwrap();
    let j = run(sinopac_with_keys(dir.path())
        .args(["crypto", "seal", "--nonce", nonce])
        .write_stdin(plaintext))
    .json();
    assert_eq!(j["Message"], v["message"]);
    assert_eq!(j["Sign"], v["sign"]);
    assert_eq!(j.as_object().unwrap().len(), 2);

    let env = run(sinopac_with_keys(dir.path())
        .args([
            "crypto",
            "seal",
            "--nonce",
            nonce,
            "--service",
            "OrderCreate",
        ])
        .write_stdin(plaintext))
    .json();
    assert_eq!(env["Version"], "1.0.0");
    assert_eq!(env["ShopNo"], DOC_SHOP);
    assert_eq!(env["APIService"], "OrderCreate");
    assert_eq!(env["Message"], v["message"]);
    run(sinopac_with_keys(dir.path())
        .args([
            "crypto",
            "seal",
            "--nonce",
            nonce,
            "--service",
            "OrderCreat",
        ])
        .write_stdin(plaintext))
    .fails(2);

    // The sealed envelope opens to the exact plaintext.
    let r = run(sinopac_with_keys(dir.path())
        .args(["crypto", "open"])
        .write_stdin(env.to_string()));
    assert_eq!(r.ok().trim_end(), plaintext);
}

#[test]
fn open_response_vector_and_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let v = vector("order_create_atm_response");
    let envelope = serde_json::json!({
        "Version": "1.0.0", "ShopNo": DOC_SHOP, "APIService": "OrderCreate",
        "Sign": v["sign"], "Nonce": v["nonce"], "Message": v["message"],
    });
    let r = run(sinopac_with_keys(dir.path())
        .args(["crypto", "open"])
        .write_stdin(envelope.to_string()));
    assert_eq!(r.ok().trim_end(), v["plaintext"].as_str().unwrap());

    // The same through flags.
    let r = run(sinopac_with_keys(dir.path()).args([
        "crypto",
        "open",
        "--nonce",
        v["nonce"].as_str().unwrap(),
        "--message",
        v["message"].as_str().unwrap(),
        "--sign",
        v["sign"].as_str().unwrap(),
    ]));
    let payload: serde_json::Value = serde_json::from_str(r.ok()).unwrap();
    assert_eq!(payload["TSNo"], "BA002600000037");

    // Tampered Sign: exit 6, says the Sign does not match.
    let mut bad = envelope.clone();
    bad["Sign"] = serde_json::Value::String("0".repeat(64));
    let r = run(sinopac_with_keys(dir.path())
        .args(["crypto", "open"])
        .write_stdin(bad.to_string()));
    let err = r.fails(6);
    assert!(err.contains("Sign does not match"), "{err}");
    assert!(r.stdout.is_empty(), "nothing unverified is printed");

    // Tampered Message (one hex digit changed): exit 6.
    let mut msg = v["message"].as_str().unwrap().to_owned();
    let last = msg.pop().unwrap();
    msg.push(if last == '0' { '1' } else { '0' });
    let mut bad = envelope.clone();
    bad["Message"] = serde_json::Value::String(msg);
    run(sinopac_with_keys(dir.path())
        .args(["crypto", "open"])
        .write_stdin(bad.to_string()))
    .fails(6);

    // Using the request nonce instead of the reply's: exit 6.
    let mut bad = envelope.clone();
    bad["Nonce"] = vector("order_create_atm_request")["nonce"].clone();
    run(sinopac_with_keys(dir.path())
        .args(["crypto", "open"])
        .write_stdin(bad.to_string()))
    .fails(6);

    // Wrong keys: exit 6.
    run(sinopac(dir.path())
        .args([
            "crypto",
            "open",
            "--hash-id",
            "4DA70F5E2D800D50B43ED3B537480C64",
        ])
        .write_stdin(envelope.to_string()))
    .fails(6);

    // Not an envelope: usage errors.
    for bad in [
        "{}",
        "{\"Nonce\":1,\"Message\":\"\",\"Sign\":\"\"}",
        "<html>",
        "",
    ] {
        run(sinopac_with_keys(dir.path())
            .args(["crypto", "open"])
            .write_stdin(bad))
        .fails(2);
    }
}

#[test]
fn vectors_verify_passes_and_catches_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixtures().join("vectors.json");
    let r = run(sinopac(dir.path())
        .args(["crypto", "vectors", "verify"])
        .arg(&file));
    let out = r.ok();
    assert!(out.contains("4 of 4 vectors pass"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");

    let j = run(sinopac(dir.path())
        .args(["crypto", "vectors", "verify", "--json"])
        .arg(&file))
    .json();
    assert_eq!(j["failed"], 0);
    assert_eq!(j["vectors"][2]["checks"]["open"], "pass");

    // A corrupted copy: one Sign and one IV wrong.
    let mut v = vectors();
    v[0]["sign"] = serde_json::Value::String("A".repeat(64));
    v[2]["iv"] = serde_json::Value::String("0000000000000000".into());
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let r = run(sinopac(dir.path())
        .args(["crypto", "vectors", "verify"])
        .arg(&bad));
    let err = r.fails(6);
    assert!(err.contains("2 of 4 vectors failed"), "{err}");
    assert!(
        r.stdout.contains("order_create_atm_request: sign:"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("order_create_atm_response: iv:"),
        "{}",
        r.stdout
    );
    let csv = run(sinopac(dir.path())
        .args(["crypto", "vectors", "verify", "--csv"])
        .arg(&bad));
    csv.fails(6);
    assert!(
        csv.stdout
            .starts_with("vector,direction,hash_id,iv,sign_string,sign,message,open\r\n")
    );

    // Not a vectors file / missing file: usage errors.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"not\":\"an array\"}").unwrap();
    run(sinopac(dir.path())
        .args(["crypto", "vectors", "verify"])
        .arg(&junk))
    .fails(2);
    run(sinopac(dir.path()).args(["crypto", "vectors", "verify", "missing.json"])).fails(2);
}

#[test]
fn help_documents_exit_codes_and_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(sinopac(dir.path()).arg("--help"));
    let out = r.ok();
    for needle in [
        "Exit codes",
        "5  the bank rejected",
        "SINOPAC_KEY_ID",
        "Examples",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
    let r = run(sinopac(dir.path()).args(["crypto", "sign", "--help"]));
    assert!(r.ok().contains("Examples"));
    let r = run(sinopac(dir.path()).arg("frobnicate"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("error:"), "{}", r.stderr);
    let r = run(sinopac(dir.path()).args(["--json", "--csv", "crypto", "iv", "x"]));
    assert_eq!(r.code, 2);
}

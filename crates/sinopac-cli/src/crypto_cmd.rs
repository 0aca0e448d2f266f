//! `sinopac crypto …`: the crypto inspector for support work. Everything goes through
//! `sinopac-proto`; nothing here re-implements the protocol.

use std::io::{IsTerminal as _, Read as _};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sinopac_proto::{ApiService, Envelope, Iv, Keys, VERSION, decrypt, encrypt, sign_json};

use crate::error::{CliError, CliResult, Context as _, ExitKind};
use crate::output::{self, Format, Table};

/// Reads the whole of stdin; one trailing newline (`\n` or `\r\n`) is dropped, nothing else.
pub fn read_stdin(what: &str) -> CliResult<Vec<u8>> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        output::note(&format!("reading {what} from stdin (end with Ctrl-D)"));
    }
    let mut buf = Vec::new();
    stdin
        .read_to_end(&mut buf)
        .context(ExitKind::Usage, "cannot read stdin")?;
    if buf.ends_with(b"\r\n") {
        buf.truncate(buf.len() - 2);
    } else if buf.ends_with(b"\n") {
        buf.truncate(buf.len() - 1);
    }
    if buf.iter().all(u8::is_ascii_whitespace) {
        return Err(CliError::usage(format!(
            "expected {what} on stdin, got nothing"
        )));
    }
    Ok(buf)
}

/// Checks that `bytes` are one JSON object; the error says where it breaks.
pub fn check_json_object(bytes: &[u8], what: &str) -> CliResult<()> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .context(ExitKind::Usage, format!("{what} is not valid JSON"))?;
    if !value.is_object() {
        return Err(CliError::usage(format!("{what} must be a JSON object")));
    }
    Ok(())
}

/// A short, non-reversible fingerprint of a secret, for comparing without revealing it.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn masked(secret: &str) -> String {
    let head: String = secret.chars().take(4).collect();
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head}…{tail}")
}

#[derive(Serialize)]
struct HashIdOut {
    hash_id: String,
    revealed: bool,
    fingerprint: String,
}

/// `crypto hash-id`.
pub fn hash_id(keys: &Keys, reveal: bool, format: Format) -> CliResult<()> {
    output::no_csv(format, "crypto hash-id")?;
    let secret = keys.hash_id().expose_secret();
    let out = HashIdOut {
        hash_id: if reveal {
            secret.to_owned()
        } else {
            masked(secret)
        },
        revealed: reveal,
        fingerprint: fingerprint(secret),
    };
    match format {
        Format::Json => output::print_json(&out),
        _ => {
            output::print(&output::kv(&[
                ("HashID", out.hash_id.clone()),
                ("fingerprint", out.fingerprint.clone()),
            ]))?;
            if !reveal {
                output::note(
                    "(masked; pass --reveal to print the full HashID — it is the AES key)",
                );
            }
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct IvOut<'a> {
    nonce: &'a str,
    sha256: String,
    iv: String,
}

/// `crypto iv NONCE`.
pub fn iv(nonce: &str, format: Format) -> CliResult<()> {
    output::no_csv(format, "crypto iv")?;
    check_nonce(nonce)?;
    let sha: String = Sha256::digest(nonce.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let out = IvOut {
        nonce,
        sha256: sha,
        iv: Iv::from_nonce(nonce).as_str().to_owned(),
    };
    match format {
        Format::Json => output::print_json(&out),
        _ => output::print(&output::kv(&[
            ("SHA-256(nonce)", out.sha256.clone()),
            ("IV", out.iv.clone()),
        ])),
    }
}

fn check_nonce(nonce: &str) -> CliResult<()> {
    if nonce.is_empty() {
        return Err(CliError::usage("the nonce is empty"));
    }
    if nonce.trim() != nonce {
        return Err(CliError::usage(
            "the nonce has leading or trailing whitespace (it is hashed byte for byte; remove it)",
        ));
    }
    if !nonce.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CliError::usage(
            "the nonce must be printable ASCII (a bank nonce is Base64)",
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct SignOut<'a> {
    sign_string: String,
    nonce: &'a str,
    sign: String,
}

/// `crypto sign --nonce N` (payload JSON on stdin).
pub fn sign(
    keys: &Keys,
    nonce: &str,
    payload: &[u8],
    show_string: bool,
    format: Format,
) -> CliResult<()> {
    output::no_csv(format, "crypto sign")?;
    check_nonce(nonce)?;
    check_json_object(payload, "the payload on stdin")?;
    let sign = sign_json(payload, nonce, keys)
        .context(ExitKind::Usage, "the payload on stdin cannot be signed")?;
    let sign_string = sinopac_proto::sign_string_json(payload)
        .context(ExitKind::Usage, "the payload on stdin cannot be signed")?;
    let out = SignOut {
        sign_string,
        nonce,
        sign: sign.into_string(),
    };
    match format {
        Format::Json => output::print_json(&out),
        _ if show_string => output::print(&output::kv(&[
            ("sign string", out.sign_string.clone()),
            ("Sign", out.sign.clone()),
        ])),
        _ => output::println(&out.sign),
    }
}

/// `crypto seal --nonce N` (payload JSON on stdin): `{"Message","Sign"}`, or the whole
/// envelope when the service is given.
pub fn seal(
    keys: &Keys,
    nonce: &str,
    payload: &[u8],
    service: Option<&str>,
    shop_no: Option<&str>,
) -> CliResult<()> {
    check_nonce(nonce)?;
    check_json_object(payload, "the payload on stdin")?;
    let service = service.map(ApiService::parse);
    if let Some(s) = &service
        && !s.is_known()
    {
        let known: Vec<&str> = ApiService::KNOWN.iter().map(ApiService::as_str).collect();
        return Err(CliError::usage(format!(
            "unknown APIService {:?}; known: {}",
            s.as_str(),
            known.join(", ")
        )));
    }
    let shop = match shop_no {
        Some(s) => s.to_owned(),
        None => serde_json::from_slice::<serde_json::Value>(payload)
            .ok()
            .and_then(|v| v.get("ShopNo").and_then(|s| s.as_str()).map(str::to_owned))
            .unwrap_or_default(),
    };
    let envelope = sinopac_proto::seal_json(
        service.clone().unwrap_or(ApiService::OrderCreate),
        &shop,
        payload,
        nonce,
        keys,
    )
    .context(ExitKind::Usage, "the payload on stdin cannot be sealed")?;
    match service {
        Some(_) => output::print_json(&envelope),
        None => {
            #[derive(Serialize)]
            struct Sealed {
                #[serde(rename = "Message")]
                message: String,
                #[serde(rename = "Sign")]
                sign: String,
            }
            output::print_json(&Sealed {
                message: envelope.message,
                sign: envelope.sign,
            })
        }
    }
}

/// The parts of an envelope `open` needs (other members are ignored).
#[derive(Deserialize)]
struct EnvelopeIn {
    #[serde(rename = "Nonce", alias = "nonce")]
    nonce: String,
    #[serde(rename = "Message", alias = "message")]
    message: String,
    #[serde(rename = "Sign", alias = "sign")]
    sign: String,
}

/// Why an envelope did not open, for people (an offline tool may say which check failed).
#[derive(Debug, thiserror::Error)]
enum OpenFailure {
    #[error(
        "the Message does not decrypt with this HashID and the envelope's Nonce \
         (wrong keys, a different nonce, or a corrupted/truncated Message)"
    )]
    Decrypt,
    #[error("the Message decrypts but is not a JSON object")]
    NotJson,
    #[error(
        "the Sign does not match: the envelope has {given}, the payload and Nonce give {computed}"
    )]
    SignMismatch { given: String, computed: String },
}

/// Opens an envelope and returns the verified plaintext, or says exactly which check failed.
fn open_checked(
    keys: &Keys,
    nonce: &str,
    message: &str,
    sign: &str,
) -> Result<Vec<u8>, OpenFailure> {
    let iv = Iv::from_nonce(nonce);
    let plaintext = decrypt(keys.hash_id(), &iv, message.trim()).ok_or(OpenFailure::Decrypt)?;
    let computed = sign_json(&plaintext, nonce, keys).map_err(|_| OpenFailure::NotJson)?;
    // Final say goes to the library's constant-time check.
    let envelope = Envelope {
        version: VERSION.to_owned(),
        shop_no: String::new(),
        api_service: ApiService::OrderCreate,
        sign: sign.trim().to_owned(),
        nonce: nonce.to_owned(),
        message: message.trim().to_owned(),
    };
    match sinopac_proto::open_json(&envelope, keys) {
        Ok(verified) => Ok(verified),
        Err(_) => Err(OpenFailure::SignMismatch {
            given: sign.trim().to_owned(),
            computed: computed.into_string(),
        }),
    }
}

/// `crypto open`: an envelope on stdin, or `--nonce/--message/--sign`.
pub fn open(
    keys: &Keys,
    parts: Option<(&str, &str, &str)>,
    stdin: impl FnOnce() -> CliResult<Vec<u8>>,
) -> CliResult<()> {
    let owned;
    let (nonce, message, sign) = match parts {
        Some(p) => p,
        None => {
            let bytes = stdin()?;
            check_json_object(&bytes, "the envelope on stdin")?;
            owned = serde_json::from_slice::<EnvelopeIn>(&bytes).context(
                ExitKind::Usage,
                "the envelope on stdin needs string members Nonce, Message and Sign",
            )?;
            (
                owned.nonce.as_str(),
                owned.message.as_str(),
                owned.sign.as_str(),
            )
        }
    };
    check_nonce(nonce)?;
    match open_checked(keys, nonce, message, sign) {
        Ok(plaintext) => {
            let text = String::from_utf8_lossy(&plaintext);
            output::println(&text)
        }
        Err(e) => Err(CliError::verification("the envelope did not verify").with_source(e)),
    }
}

// ---------------------------------------------------------------------------------------------
// vectors verify

/// One entry of a vectors file (`fixtures/vectors.json` format). Every check is optional: a
/// field that is absent is skipped.
#[derive(Deserialize)]
struct Vector {
    name: String,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    keys: Option<VectorKeys>,
    #[serde(default)]
    hash_id: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    iv: Option<String>,
    #[serde(default)]
    plaintext: Option<String>,
    #[serde(default)]
    sign_string: Option<String>,
    #[serde(default)]
    sign: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct VectorKeys {
    #[serde(rename = "A1")]
    a1: String,
    #[serde(rename = "A2")]
    a2: String,
    #[serde(rename = "B1")]
    b1: String,
    #[serde(rename = "B2")]
    b2: String,
}

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    /// Recomputed and equal.
    Pass,
    /// Recomputed and different (or could not be computed).
    Fail,
    /// Not in the file (or its inputs are not).
    Skip,
}

impl Check {
    fn mark(self) -> &'static str {
        match self {
            Self::Pass => "ok",
            Self::Fail => "FAIL",
            Self::Skip => "-",
        }
    }
}

/// The checks, in table order.
const CHECKS: [&str; 6] = ["hash_id", "iv", "sign_string", "sign", "message", "open"];

#[derive(Serialize)]
struct VectorResult {
    name: String,
    direction: String,
    checks: std::collections::BTreeMap<&'static str, Check>,
    failures: Vec<String>,
}

impl VectorResult {
    fn set(&mut self, check: &'static str, ok: bool, detail: impl FnOnce() -> String) {
        self.checks
            .insert(check, if ok { Check::Pass } else { Check::Fail });
        if !ok {
            self.failures.push(format!("{check}: {}", detail()));
        }
    }
    fn failed(&self) -> bool {
        self.checks.values().any(|c| *c == Check::Fail)
    }
}

fn verify_vector(v: &Vector) -> VectorResult {
    let mut r = VectorResult {
        name: v.name.clone(),
        direction: v.direction.clone().unwrap_or_else(|| "request".to_owned()),
        checks: CHECKS.iter().map(|c| (*c, Check::Skip)).collect(),
        failures: Vec::new(),
    };
    // Keys: from A1..B2 (then hash_id is checked), else from hash_id itself.
    let keys = match (&v.keys, &v.hash_id) {
        (Some(k), expected) => match Keys::new(&k.a1, &k.a2, &k.b1, &k.b2) {
            Ok(keys) => {
                if let Some(expected) = expected {
                    let got = keys.hash_id().expose_secret().to_owned();
                    r.set("hash_id", got == *expected, || {
                        format!("file has {expected}, keys give {got}")
                    });
                }
                Some(keys)
            }
            Err(e) => {
                r.set("hash_id", false, || format!("keys are not valid: {e}"));
                None
            }
        },
        (None, Some(h)) => match sinopac_proto::HashId::parse(h) {
            Ok(h) => Some(Keys::from_hash_id(h)),
            Err(e) => {
                r.set("hash_id", false, || format!("not valid: {e}"));
                None
            }
        },
        (None, None) => None,
    };
    if let (Some(nonce), Some(expected)) = (&v.nonce, &v.iv) {
        let got = Iv::from_nonce(nonce).as_str().to_owned();
        r.set("iv", got == *expected, || {
            format!("file has {expected}, nonce gives {got}")
        });
    }
    let Some(plaintext) = &v.plaintext else {
        return r;
    };
    let bytes = plaintext.as_bytes();
    if let Some(expected) = &v.sign_string {
        match sinopac_proto::sign_string_json(bytes) {
            Ok(got) => r.set("sign_string", got == *expected, || {
                format!("file has {expected:?}, plaintext gives {got:?}")
            }),
            Err(e) => r.set("sign_string", false, || {
                format!("plaintext is not a JSON object: {e}")
            }),
        }
    }
    let (Some(keys), Some(nonce)) = (keys, &v.nonce) else {
        return r;
    };
    if let Some(expected) = &v.sign {
        match sign_json(bytes, nonce, &keys) {
            Ok(got) => {
                let got = got.into_string();
                r.set("sign", got == *expected, || {
                    format!("file has {expected}, computed {got}")
                });
            }
            Err(e) => r.set("sign", false, || {
                format!("plaintext is not a JSON object: {e}")
            }),
        }
    }
    if let Some(expected) = &v.message {
        let got = encrypt(keys.hash_id(), &Iv::from_nonce(nonce), bytes);
        r.set("message", got == *expected, || {
            let at = got
                .bytes()
                .zip(expected.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| got.len().min(expected.len()));
            format!(
                "encrypting the plaintext gives a different Message (first difference at hex \
                 character {at}; lengths {} vs {})",
                got.len(),
                expected.len()
            )
        });
    }
    if r.direction == "response"
        && let (Some(message), Some(sign)) = (&v.message, &v.sign)
    {
        match open_checked(&keys, nonce, message, sign) {
            Ok(opened) => r.set("open", opened == bytes, || {
                "the envelope opens but the plaintext differs from the file".to_owned()
            }),
            Err(e) => r.set("open", false, || e.to_string()),
        }
    }
    r
}

#[derive(Serialize)]
struct VectorsOut<'a> {
    file: String,
    passed: usize,
    failed: usize,
    vectors: &'a [VectorResult],
}

/// `crypto vectors verify FILE`.
pub fn vectors_verify(path: &Path, format: Format) -> CliResult<()> {
    let text = std::fs::read_to_string(path).context(
        ExitKind::Usage,
        format!("cannot read vectors file {}", path.display()),
    )?;
    let vectors: Vec<Vector> = serde_json::from_str(&text).context(
        ExitKind::Usage,
        format!(
            "{} is not a vectors file (a JSON array of objects with name, keys, nonce, plaintext, …)",
            path.display()
        ),
    )?;
    if vectors.is_empty() {
        return Err(CliError::usage(format!(
            "{} has no vectors",
            path.display()
        )));
    }
    let results: Vec<VectorResult> = vectors.iter().map(verify_vector).collect();
    let failed = results.iter().filter(|r| r.failed()).count();
    let checked = results
        .iter()
        .filter(|r| r.checks.values().any(|c| *c != Check::Skip))
        .count();

    let mut headers = vec!["vector", "direction"];
    headers.extend(CHECKS);
    let mut table = Table::new(&headers);
    for r in &results {
        let mut row = vec![r.name.clone(), r.direction.clone()];
        row.extend(CHECKS.iter().map(|c| {
            r.checks
                .get(c)
                .copied()
                .unwrap_or(Check::Skip)
                .mark()
                .to_owned()
        }));
        table.row(row);
    }
    let doc = VectorsOut {
        file: path.display().to_string(),
        passed: results.len() - failed,
        failed,
        vectors: &results,
    };
    output::print_list(format, &table, &doc)?;
    if format == Format::Table {
        for r in &results {
            for f in &r.failures {
                output::println(&format!("{}: {f}", r.name))?;
            }
        }
        output::println(&format!(
            "{} of {} vectors pass",
            results.len() - failed,
            results.len()
        ))?;
    }
    if checked == 0 {
        return Err(CliError::usage(format!(
            "{} has no checkable vectors (each needs keys or hash_id, nonce, plaintext …)",
            path.display()
        )));
    }
    if failed > 0 {
        return Err(CliError::verification(format!(
            "{failed} of {} vectors failed",
            results.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_keys() -> Keys {
        Keys::new(
            "4D9709D699CA40EE",
            "5A4FEF83140C4E9E",
            "BC74301945134CB4",
            "961F67F8FCA44AB9",
        )
        .unwrap()
    }

    #[test]
    fn all_fixture_vectors_pass() {
        let text = include_str!("../../../fixtures/vectors.json");
        let vectors: Vec<Vector> = serde_json::from_str(text).unwrap();
        for v in &vectors {
            let r = verify_vector(v);
            assert!(!r.failed(), "{}: {:?}", r.name, r.failures);
            assert_eq!(r.checks["sign"], Check::Pass);
            assert_eq!(r.checks["message"], Check::Pass);
        }
        let resp = vectors
            .iter()
            .find(|v| v.direction.as_deref() == Some("response"))
            .unwrap();
        assert_eq!(verify_vector(resp).checks["open"], Check::Pass);
    }

    #[test]
    fn open_diagnoses() {
        let keys = doc_keys();
        let nonce = "NONCE1";
        let env = sinopac_proto::seal_json(
            ApiService::OrderQuery,
            "BA0026_001",
            br#"{"ShopNo":"BA0026_001","OrderNo":"X1"}"#,
            nonce,
            &keys,
        )
        .unwrap();
        assert!(open_checked(&keys, nonce, &env.message, &env.sign).is_ok());
        let mut bad = env.sign.clone().into_bytes();
        bad[0] = if bad[0] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        assert!(matches!(
            open_checked(&keys, nonce, &env.message, &bad),
            Err(OpenFailure::SignMismatch { .. })
        ));
        assert!(matches!(
            open_checked(&keys, "OTHER", &env.message, &env.sign),
            Err(OpenFailure::Decrypt | OpenFailure::NotJson)
        ));
    }

    #[test]
    fn masking() {
        assert_eq!(masked("17D8E6558DC60E702A6B57E1B9B7060D"), "17D8…060D");
        assert!(fingerprint("x").starts_with("sha256:"));
    }
}

//! Order commands end to end against a loopback sim, including bad input and bad bank replies.

use sinopac_proto::{ApiService, PayStatus};
use sinopac_sim::{Fault, FaultPlan, FaultRule, Route};

use crate::support::*;

#[test]
fn atm_order_create_get_list_pay_and_callbacks() {
    let bank = Bank::start();

    // Create (JSON: minor units, wire names).
    let j = run(bank.cmd().args([
        "order",
        "create",
        "atm",
        "--order-no",
        "A1001",
        "--amount",
        "500",
        "--product",
        "虛擬帳號訂單",
        "--backend-url",
        "http://127.0.0.1:1/notify",
        "--param1",
        "cart-77",
        "--memo",
        "gift",
        "--json",
    ]))
    .json();
    assert_eq!(j["Param1"], "cart-77");
    assert_eq!(j["OrderNo"], "A1001");
    assert_eq!(j["Amount"], 50000);
    assert_eq!(j["Status"], "S");
    let account = j["ATMParam"]["AtmPayNo"].as_str().unwrap().to_owned();
    assert_eq!(account.len(), 14, "{j}");
    assert_eq!(
        bank.order("A1001").unwrap().pay_status,
        PayStatus::AtmPending
    );
    // The default due date is three days from the sim's today (2026-11-02), not the machine's.
    assert_eq!(
        bank.order("A1001")
            .unwrap()
            .atm_expire_date
            .unwrap()
            .to_string(),
        "20261105"
    );

    // Table output: NT$ and the virtual account.
    let r = run(bank.cmd().args([
        "order",
        "create",
        "atm",
        "--order-no",
        "A1009",
        "--amount",
        "1,234.50",
        "--product",
        "Book",
        "--expire-date",
        "2026-12-31",
    ]));
    let out = r.ok();
    assert!(out.contains("NT$1,234.50"), "{out}");
    assert!(out.contains("Virtual account"), "{out}");
    assert_eq!(
        bank.order("A1009")
            .unwrap()
            .atm_expire_date
            .unwrap()
            .to_string(),
        "20261231"
    );

    // Get: one record; unknown order → exit 7.
    let out = run(bank.cmd().args(["order", "get", "A1001"]))
        .ok()
        .to_owned();
    assert!(out.contains("NT$500"), "{out}");
    assert!(out.contains("1A200"), "{out}");
    assert!(out.contains(&account), "{out}");
    let err = run(bank.cmd().args(["order", "get", "NOPE1"]))
        .fails(7)
        .to_owned();
    assert!(err.contains("NOPE1"), "{err}");

    // Pay through the sim's control API.
    let paid = run(bank.cmd().args(["sim", "pay", "A1001", "--json"])).json();
    assert_eq!(paid["PayStatus"], "1A400");
    let token = paid["PayToken"].as_str().unwrap().to_owned();
    assert_eq!(bank.order("A1001").unwrap().pay_status, PayStatus::AtmPaid);
    let j = run(bank.cmd().args(["order", "get", "A1001", "--json"])).json();
    assert_eq!(j["PayStatus"], "1A400");

    // Resolve the PayToken.
    let out = run(bank.cmd().args(["order", "pay-query", &token]))
        .ok()
        .to_owned();
    assert!(out.contains("A1001"), "{out}");
    assert!(out.contains("NT$500"), "{out}");
    let j = run(bank.cmd().args(["order", "token", &token, "--json"])).json();
    assert_eq!(j["TSResultContent"]["OrderNo"], "A1001");
    assert_eq!(
        j["TSResultContent"]["Amount"], 50000,
        "an integer, not the wire's string"
    );
    let unknown = "0".repeat(64);
    run(bank.cmd().args(["order", "pay-query", &unknown])).fails(5);

    // List by order date (the sim's clock starts 2026-11-02 09:00 Taipei): CSV, JSON, table.
    let csv = run(bank.cmd().args([
        "order",
        "list",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-02",
        "--csv",
    ]));
    assert!(
        csv.stderr.is_empty(),
        "no progress bar when not a terminal: {}",
        csv.stderr
    );
    let lines: Vec<&str> = csv.ok().lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("OrderNo,TSNo,Created,Paid,Type,PayStatus,Amount"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("A1001,") && l.contains(",50000,"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("A1009,") && l.contains(",123450,"))
    );
    let j = run(bank.cmd().args([
        "order",
        "list",
        "--from",
        "20261102",
        "--to",
        "20261102",
        "--pay-flag",
        "paid",
        "--json",
    ]))
    .json();
    assert_eq!(j["count"], 1);
    assert_eq!(j["orders"][0]["OrderNo"], "A1001");
    let j = run(bank.cmd().args([
        "order",
        "list",
        "--from",
        "20261102",
        "--to",
        "20261102",
        "--by",
        "pay",
        "--pay-type",
        "atm",
        "--json",
    ]))
    .json();
    assert_eq!(j["count"], 1);
    let out = run(bank
        .cmd()
        .args(["order", "list", "--from", "20261102", "--to", "20261102"]))
    .ok()
    .to_owned();
    assert!(out.contains("2 orders, NT$1,734.50"), "{out}");
    // A range that is empty, and a reversed one.
    let j = run(bank.cmd().args([
        "order", "list", "--from", "20261001", "--to", "20261001", "--json",
    ]))
    .json();
    assert_eq!(j["count"], 0);
    run(bank
        .cmd()
        .args(["order", "list", "--from", "20261102", "--to", "20261101"]))
    .fails(2);

    // The callback went to a closed port: the delivery log shows it; advancing the clock
    // makes the sim retry.
    let j = run(bank.cmd().args(["sim", "deliveries", "--json"])).json();
    assert_eq!(j["count"], 1, "{j}");
    assert_eq!(j["deliveries"][0]["OrderNo"], "A1001");
    assert_eq!(j["deliveries"][0]["Outcome"]["Kind"], "Error");
    let out = run(bank.cmd().args(["sim", "advance", "10m"]))
        .ok()
        .to_owned();
    assert!(out.contains("2026-11-02 09:10:00"), "{out}");
    let out = run(bank
        .cmd()
        .args(["sim", "deliveries", "--order-no", "A1001"]))
    .ok()
    .to_owned();
    assert!(out.contains("error"), "{out}");
    assert_eq!(bank.sim.deliveries().len(), 2);

    // Paying it again is refused by the sim; an unknown order is "not found".
    run(bank.cmd().args(["sim", "pay", "A1001"])).fails(1);
    run(bank.cmd().args(["sim", "pay", "NOPE1"])).fails(7);
}

#[test]
fn card_capture_void_refund_uncaptured_bill_allot() {
    let bank = Bank::start();
    for no in ["C2001", "C2002"] {
        let out = run(bank.cmd().args([
            "order",
            "create",
            "card",
            "--order-no",
            no,
            "--amount",
            "799",
            "--product",
            "Plan",
            "--capture-after-days",
            "3",
        ]))
        .ok()
        .to_owned();
        assert!(out.contains("Card page"), "{out}");
        run(bank.cmd().args(["sim", "pay", no])).ok();
        assert_eq!(
            bank.order(no).unwrap().pay_status,
            PayStatus::CardAuthorized
        );
    }
    // Declined payment.
    run(bank.cmd().args([
        "order",
        "create",
        "card",
        "--order-no",
        "C2003",
        "--amount",
        "10",
        "--product",
        "x",
    ]))
    .ok();
    run(bank.cmd().args(["sim", "pay", "C2003", "--decline"])).ok();
    assert_eq!(
        bank.order("C2003").unwrap().pay_status,
        PayStatus::CardDeclined
    );

    let j = run(bank.cmd().args(["order", "uncaptured", "--json"])).json();
    assert_eq!(j["count"], 2, "{j}");
    let csv = run(bank.cmd().args(["order", "uncaptured", "--csv"]));
    assert!(csv.ok().contains("C2001"));

    // Capture C2001, refund part of it, then too much.
    run(bank
        .cmd()
        .args(["order", "capture", "C2001", "--amount", "800"]))
    .fails(5);
    let j = run(bank
        .cmd()
        .args(["order", "capture", "C2001", "--amount", "500", "--json"]))
    .json();
    assert_eq!(j["Status"], "S");
    assert_eq!(j["Amount"], 50000);
    assert_eq!(
        bank.order("C2001").unwrap().pay_status,
        PayStatus::CardCaptured
    );
    let out = run(bank.cmd().args([
        "order", "refund", "C2001", "--amount", "100", "--remark", "damaged",
    ]))
    .ok()
    .to_owned();
    assert!(out.contains("R refund"), "{out}");
    assert!(out.contains("NT$100"), "{out}");
    let err = run(bank
        .cmd()
        .args(["order", "refund", "C2001", "--amount", "1000"]))
    .fails(5)
    .to_owned();
    assert!(err.contains("Status F"), "{err}");
    let j = run(bank.cmd().args(["order", "get", "C2001", "--json"])).json();
    assert_eq!(j["RefundAmount"], 10000);

    // Void C2002; voiding again is a bank rejection; capturing a voided order too.
    run(bank.cmd().args(["order", "void", "C2002"])).ok();
    assert_eq!(
        bank.order("C2002").unwrap().pay_status,
        PayStatus::CardVoided
    );
    run(bank.cmd().args(["order", "void", "C2002"])).fails(5);
    run(bank.cmd().args(["order", "capture", "C2002"])).fails(5);
    run(bank.cmd().args(["order", "refund", "C2404"])).fails(5);

    // Bill of the day: one receipt and one refund; CSV in minor units.
    let out = run(bank.cmd().args(["bill", "2026-11-02"])).ok().to_owned();
    assert!(
        out.contains("receipts NT$500, refunds NT$100, net NT$400"),
        "{out}"
    );
    let j = run(bank.cmd().args(["bill", "20261102", "--json"])).json();
    assert_eq!(j["receipts"], 50000);
    assert_eq!(j["refunds"], 10000);
    run(bank.cmd().args(["bill", "2026-02-30"])).fails(2);

    // Allot: payouts come T+2 in the sim.
    run(bank.cmd().args(["sim", "advance", "3d"])).ok();
    let j = run(bank
        .cmd()
        .args(["allot", "--from", "20261101", "--to", "20261130", "--json"]))
    .json();
    assert!(j["count"].as_u64().unwrap() >= 1, "{j}");
    let csv = run(bank.cmd().args([
        "allot",
        "--from",
        "20261101",
        "--to",
        "20261130",
        "--pay-type",
        "card",
        "--csv",
    ]));
    assert!(csv.ok().starts_with("AllotNo,AllotDate,PayType"));
    run(bank
        .cmd()
        .args(["allot", "--from", "20261130", "--to", "20261101"]))
    .fails(2);
}

#[test]
fn bad_input_and_configuration() {
    let bank = Bank::start();
    let create = |c: &mut assert_cmd::Command, no: &str, amount: &str| {
        c.args([
            "order",
            "create",
            "atm",
            "--order-no",
            no,
            "--amount",
            amount,
            "--product",
            "p",
        ]);
    };
    // Amounts and OrderNos are checked before anything is sent.
    for amount in ["0", "-5", "1.234", "lots"] {
        let mut c = bank.cmd();
        create(&mut c, "B1", amount);
        let err = run(&mut c).fails(2).to_owned();
        assert!(err.contains("amount"), "{err}");
    }
    let mut c = bank.cmd();
    create(&mut c, "B'1", "5");
    run(&mut c).fails(2);
    // Over the ATM cap (NT$30,000): client-side validation.
    let mut c = bank.cmd();
    create(&mut c, "B2", "30001");
    run(&mut c).fails(2);
    // --csv for a single record.
    run(bank.cmd().args(["order", "get", "A1", "--csv"])).fails(2);
    // A bad PayToken.
    run(bank.cmd().args(["order", "pay-query", "a b"])).fails(2);
    assert_eq!(bank.sim.counters().order_requests, 0, "nothing was sent");

    // Duplicate OrderNo: the bank says no (exit 5, with the bank's code).
    let mut c = bank.cmd();
    create(&mut c, "D1", "5");
    run(&mut c).ok();
    let mut c = bank.cmd();
    create(&mut c, "D1", "5");
    let err = run(&mut c).fails(5).to_owned();
    assert!(err.contains("OrderCreate"), "{err}");

    // Configuration errors: exit 3, naming what to fix, never echoing secrets.
    let err = run(bank
        .cmd()
        .env("SINOPAC_A1", "4D9709D699CA40E")
        .args(["order", "get", "D1"]))
    .fails(3)
    .to_owned();
    assert!(err.contains("SINOPAC_A1"), "{err}");
    assert!(!err.contains("4D9709D699CA40E"), "{err}");
    run(bank
        .cmd()
        .env_remove("SINOPAC_KEY_ID")
        .args(["order", "get", "D1"]))
    .fails(3);
    run(bank
        .cmd()
        .env_remove("SINOPAC_SHOP_NO")
        .args(["order", "get", "D1"]))
    .fails(3);
    run(bank
        .cmd()
        .env("SINOPAC_ENV", "staging")
        .args(["order", "get", "D1"]))
    .fails(3);
    run(bank
        .cmd()
        .env("SINOPAC_BASE_URL", "ftp://x/")
        .args(["order", "get", "D1"]))
    .fails(3);
    // Wrong X-KeyID / keys of another shop: the bank refuses before processing (exit 3).
    let err = run(bank
        .cmd()
        .env("SINOPAC_KEY_ID", "wrong-key-id")
        .args(["order", "get", "D1"]))
    .fails(3)
    .to_owned();
    assert!(err.contains("X-KeyID"), "{err}");
    run(bank
        .cmd()
        .env("SINOPAC_A1", "86D50DEF3EB7400E")
        .args(["order", "get", "D1"]))
    .fails(3);
    // Nothing listening: transport failure (exit 4).
    let err = run(bank
        .cmd()
        .env("SINOPAC_BASE_URL", "http://127.0.0.1:1/")
        .args(["order", "get", "D1"]))
    .fails(4)
    .to_owned();
    assert!(err.contains("could not reach"), "{err}");
    // Sim control against a production profile is refused.
    run(bank
        .cmd()
        .env("SINOPAC_ENV", "production")
        .args(["sim", "advance", "1m"]))
    .fails(3);
    run(bank.cmd().args(["sim", "advance", "ten minutes"])).fails(2);
}

#[test]
fn bad_bank_replies() {
    let bank = Bank::start();
    run(bank.cmd().args([
        "order",
        "create",
        "atm",
        "--order-no",
        "F1",
        "--amount",
        "5",
        "--product",
        "p",
    ]))
    .ok();

    // Tampered Sign on every reply: verification failure (exit 6).
    bank.sim
        .set_faults(FaultPlan::default().rule(FaultRule::new(
            Route::Service(ApiService::OrderQuery),
            Fault::TamperSign,
        )));
    let err = run(bank.cmd().args(["order", "get", "F1"]))
        .fails(6)
        .to_owned();
    assert!(err.contains("did not verify"), "{err}");

    // The WAF's HTML page instead of JSON: transport failure (exit 4), said plainly.
    bank.sim
        .set_faults(FaultPlan::default().rule(FaultRule::new(Route::Order, Fault::WafHtml)));
    let err = run(bank.cmd().args(["order", "get", "F1"]))
        .fails(4)
        .to_owned();
    assert!(err.contains("HTML"), "{err}");

    // -v logs the client's retries to stderr (never keys); the error still ends the output.
    bank.sim.set_faults(
        FaultPlan::default()
            .rule(FaultRule::new(Route::Nonce, Fault::HttpStatus { status: 503 }).count(1)),
    );
    let r = run(bank.cmd().args(["-v", "order", "get", "F1"]));
    r.ok();
    assert!(r.stderr.contains("retrying"), "{}", r.stderr);
    assert!(r.stderr.contains("OrderQuery"), "{}", r.stderr);
    for k in DOC_KEYS.iter().chain([&KEY_ID, &DOC_HASH_ID]) {
        assert!(!r.stderr.contains(k), "{}", r.stderr);
    }

    // 503 on every call: exit 4 after the client's retries.
    bank.sim
        .set_faults(FaultPlan::default().rule(FaultRule::new(
            Route::Nonce,
            Fault::HttpStatus { status: 503 },
        )));
    run(bank.cmd().args(["order", "get", "F1"])).fails(4);

    // A lost OrderCreate reply: the client settles it by querying; exactly one order exists.
    bank.sim.set_faults(
        FaultPlan::default().rule(
            FaultRule::new(
                Route::Service(ApiService::OrderCreate),
                Fault::HttpStatus { status: 502 },
            )
            .after_processing()
            .count(1),
        ),
    );
    let r = run(bank.cmd().args([
        "order",
        "create",
        "atm",
        "--order-no",
        "L1",
        "--amount",
        "5",
        "--product",
        "p",
        "--json",
    ]));
    let j = r.json();
    assert_eq!(j["OrderNo"], "L1");
    assert!(r.stderr.contains("reply was lost"), "{}", r.stderr);
    assert_eq!(bank.sim.counters().orders_created, 2);
}

#[test]
fn list_is_complete_past_the_300_row_cap() {
    let bank = Bank::start();
    let shop = sinopac_proto::ShopNo::new(DOC_SHOP).unwrap();
    let start = sinopac_sim::DEFAULT_START_UNIX; // 2026-11-02 09:00 Taipei
    // 700 orders in one day (a burst of 400 in one minute), half ATM, half card.
    let seeds = (0..700u32).map(|i| {
        let at = if i < 400 {
            start
        } else {
            start + i64::from(i) * 60
        };
        let pay_type = if i % 2 == 0 {
            sinopac_proto::PayType::Atm
        } else {
            sinopac_proto::PayType::Card
        };
        sinopac_sim::SeedOrder::new(
            sinopac_proto::OrderNo::new(format!("S{i:04}")).unwrap(),
            sinopac_proto::Amount::from_minor(100),
            pay_type,
            at,
        )
    });
    bank.sim.seed_orders(&shop, seeds);
    let before = bank.sim.counters().service(&ApiService::OrderQuery);
    let j = run(bank.cmd().args([
        "order", "list", "--from", "20261102", "--to", "20261102", "--json",
    ]))
    .json();
    assert_eq!(j["count"], 700);
    assert_eq!(j["total_amount"], 70000);
    let mut seen: Vec<&str> = j["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["OrderNo"].as_str().unwrap())
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 700, "each order exactly once");
    let calls = bank.sim.counters().service(&ApiService::OrderQuery) - before;
    assert!(calls >= 3, "the cap forced several windows: {calls}");
    let j = run(bank.cmd().args([
        "order",
        "list",
        "--from",
        "20261102",
        "--to",
        "20261102",
        "--pay-type",
        "card",
        "--json",
    ]))
    .json();
    assert_eq!(j["count"], 350);
}

#[test]
fn progress_bar_only_on_a_terminal() {
    // `script` (util-linux) gives the binary a pseudo-terminal; skip where it is missing.
    if !std::path::Path::new("/usr/bin/script").exists() {
        return;
    }
    let bank = Bank::start();
    run(bank.cmd().args([
        "order",
        "create",
        "atm",
        "--order-no",
        "T1",
        "--amount",
        "5",
        "--product",
        "p",
    ]))
    .ok();
    let out = bank.dir.path().join("list.txt");
    let typescript = bank.dir.path().join("typescript");
    let line = format!(
        "{} order list --from 20261102 --to 20261102 > {}",
        env!("CARGO_BIN_EXE_sinopac"),
        out.display()
    );
    let mut script = std::process::Command::new("/usr/bin/script");
    script.arg("-qc").arg(&line).arg(&typescript);
    for (k, v) in [
        ("SINOPAC_SHOP_NO", DOC_SHOP),
        ("SINOPAC_KEY_ID", KEY_ID),
        ("SINOPAC_BASE_URL", bank.base_url.as_str()),
        ("SINOPAC_ENV", "sim"),
        ("SINOPAC_A1", DOC_KEYS[0]),
        ("SINOPAC_A2", DOC_KEYS[1]),
        ("SINOPAC_B1", DOC_KEYS[2]),
        ("SINOPAC_B2", DOC_KEYS[3]),
    ] {
        script.env(k, v);
    }
    let status = script
        .current_dir(bank.dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let tty = std::fs::read_to_string(&typescript).unwrap();
    assert!(tty.contains("orders fetched"), "{tty}");
    let data = std::fs::read_to_string(&out).unwrap();
    assert!(data.contains("T1"), "{data}");
    assert!(
        !data.contains("orders fetched"),
        "the bar goes to the terminal, not stdout"
    );
}

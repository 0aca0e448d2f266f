//! Order commands: create, get, list, pay-query, capture / void / refund, uncaptured, bill,
//! allot — all through `sinopac-http`'s [`Client`].

use std::future::Future;
use std::io::IsTerminal as _;
use std::time::Duration;

use futures::StreamExt as _;
use serde::Serialize;
use sinopac_http::{Client, Error as HttpError, ReplyProblem, SETTLED_DESCRIPTION};
use sinopac_proto::{
    Amount, BankTime, CardParam, DateField, OrderCreateRequest, OrderCreateResponse, OrderNo,
    OrderQueryRequest, PayFlag, PayStatus, PayToken, PayType, Response as _,
};

use crate::cli::{CreateCmd, CreateCommon, DateBy, OrderCmd, PayFlagArg, PayTypeArg};
use crate::config::Settings;
use crate::error::{CliError, CliResult, Context as _, ExitKind};
use crate::output::{self, Format, Table, kv, money_opt, opt};
use crate::parse;

/// Builds the client from the resolved configuration.
pub fn client(settings: &Settings) -> CliResult<Client> {
    let shop_no = settings.shop_no()?;
    let keys = settings.keys()?;
    let key_id = settings.key_id()?;
    let base_url = settings.base_url()?;
    Client::builder()
        .shop_no(shop_no)
        .keys(keys)
        .key_id(key_id.expose())
        .base_url(&base_url)
        .build()
        .context(ExitKind::Config, "the client configuration is not valid")
}

/// Runs a future to completion on a small runtime.
pub fn block_on<F: Future>(f: F) -> CliResult<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context(ExitKind::Other, "cannot start the async runtime")?;
    Ok(rt.block_on(f))
}

/// Maps a client error to an exit kind and a one-line headline (the error itself becomes the
/// cause).
pub fn http_error(e: HttpError, base_url: &str) -> CliError {
    match &e {
        HttpError::Invalid(v) => CliError::usage(format!("the request is not valid: {v}")),
        HttpError::Bank {
            service,
            code,
            description,
        } => {
            let text = match (code.is_empty(), description.is_empty()) {
                (true, _) => description.clone(),
                (false, true) => code.clone(),
                (false, false) => format!("{code} – {description}"),
            };
            CliError::new(
                ExitKind::Bank,
                format!("the bank rejected {service} (Status F): {text}"),
            )
        }
        HttpError::OrderNoConflict { order_no } => CliError::new(
            ExitKind::Bank,
            format!(
                "OrderNo {order_no} already exists at the bank with a different amount or pay type"
            ),
        ),
        HttpError::Refused { .. } => CliError::config(
            "the bank refused the call before processing it; check the shop number, keys and \
             X-KeyID (run `sinopac doctor`)",
        )
        .with_source(e),
        HttpError::NotSent { .. } => {
            CliError::transport(format!("could not reach the API at {base_url}")).with_source(e)
        }
        HttpError::MaybeSent { .. } => CliError::transport(
            "no usable reply: the outcome is unknown (check with `sinopac order get`)",
        )
        .with_source(e),
        HttpError::InvalidReply { problem, .. } => match problem {
            ReplyProblem::Rejected
            | ReplyProblem::EchoMismatch(_)
            | ReplyProblem::ReplayedNonce => CliError::verification(
                "the reply did not verify (wrong keys for this shop, or a tampered reply)",
            )
            .with_source(e),
            _ => CliError::transport(format!("the API at {base_url} sent an unusable reply"))
                .with_source(e),
        },
        HttpError::QueryWindowTooDense { .. } => {
            CliError::other("cannot list every order: the bank caps one window").with_source(e)
        }
        HttpError::QueryNeedsRange => {
            CliError::usage("the query needs a date range").with_source(e)
        }
        _ => CliError::other("the call failed").with_source(e),
    }
}

fn order_no(text: &str) -> CliResult<OrderNo> {
    OrderNo::new(text).context(ExitKind::Usage, format!("OrderNo {text:?} is not valid"))
}

/// `2026-11-25 09:30` (Taiwan time).
pub fn fmt_time(t: Option<BankTime>) -> String {
    match t {
        None => "-".to_owned(),
        Some(t) => {
            let d = t.date();
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                d.year(),
                d.month(),
                d.day(),
                t.hour(),
                t.minute()
            )
        }
    }
}

/// A readable name for a `PayStatus` code.
pub fn pay_status_label(s: &PayStatus) -> String {
    let label = match s {
        PayStatus::AtmPending => "ATM awaiting transfer",
        PayStatus::AtmPaid => "ATM paid",
        PayStatus::AtmExpired => "ATM expired",
        PayStatus::CardPending => "card awaiting payment",
        PayStatus::CardAuthorized => "card authorised (not captured)",
        PayStatus::CardCaptured => "card captured",
        PayStatus::CardVoided => "card voided",
        PayStatus::CardExpired => "card page expired",
        PayStatus::CardRefunded => "card refunded",
        PayStatus::CardDeclined => "card declined",
        _ => "unknown",
    };
    format!("{} {label}", s.as_str())
}

fn pay_type_label(p: &PayType) -> &str {
    match p {
        PayType::Atm => "ATM",
        PayType::Card => "card",
        PayType::Mobile => "mobile",
        PayType::LinePay => "LINE Pay",
        other => other.as_str(),
    }
}

fn pay_type(p: PayTypeArg) -> PayType {
    match p {
        PayTypeArg::Atm => PayType::Atm,
        PayTypeArg::Card => PayType::Card,
    }
}

fn pay_flag(p: PayFlagArg) -> PayFlag {
    match p {
        PayFlagArg::Paid => PayFlag::Paid,
        PayFlagArg::Unpaid => PayFlag::Unpaid,
        PayFlagArg::Expired => PayFlag::Expired,
    }
}

/// Money in a list cell: NT$ in tables, minor units in CSV.
fn money_cell(format: Format, a: Option<Amount>) -> String {
    match (format, a) {
        (Format::Csv, Some(a)) => a.minor().to_string(),
        (Format::Csv, None) => String::new(),
        (_, a) => money_opt(a),
    }
}

/// Runs an order command.
pub fn run(settings: &Settings, cmd: OrderCmd, format: Format) -> CliResult<()> {
    let base = settings.base_url()?;
    match cmd {
        OrderCmd::Create(c) => create(settings, c, format, &base),
        OrderCmd::Get { order_no: no } => {
            output::no_csv(format, "order get")?;
            let no = order_no(&no)?;
            let client = client(settings)?;
            let item = block_on(client.find_order(&no))?.map_err(|e| http_error(e, &base))?;
            let Some(item) = item else {
                return Err(CliError::new(
                    ExitKind::NotFound,
                    format!("no order {no} at the bank for shop {}", client.shop_no()),
                ));
            };
            match format {
                Format::Json => output::print_json(&item),
                _ => {
                    let mut pairs = vec![
                        ("OrderNo", item.order_no.to_string()),
                        ("TSNo", opt(item.ts_no.as_deref())),
                        ("PayType", pay_type_label(&item.pay_type).to_owned()),
                        ("PayStatus", pay_status_label(&item.pay_status)),
                        ("Amount", output::money(item.amount)),
                        ("Product", opt(item.prdt_name.as_deref())),
                        ("Created", fmt_time(item.ts_date)),
                        ("Expires", fmt_time(item.expire_date)),
                    ];
                    if item.approved_date.is_some() {
                        pairs.push(("Authorised", fmt_time(item.approved_date)));
                    }
                    pairs.push(("Paid", fmt_time(item.pay_date)));
                    if item.refund_amount.is_some_and(|a| !a.is_zero())
                        || item.refund_date.is_some()
                    {
                        pairs.push(("Refunded", money_opt(item.refund_amount)));
                        pairs.push(("Refund date", fmt_time(item.refund_date)));
                        pairs.push(("Refund status", opt(item.refund_status.as_deref())));
                    }
                    if let Some(m) = &item.memo {
                        pairs.push(("Memo", m.clone()));
                    }
                    if let Some(atm) = &item.atm_param {
                        pairs.push(("Virtual account", opt(atm.atm_pay_no.as_deref())));
                        if let Some(b) = &atm.bank_no {
                            pairs.push(("Bank code", b.clone()));
                        }
                        if let Some(u) = &atm.web_atm_url {
                            pairs.push(("WebATM URL", u.clone()));
                        }
                    }
                    if let Some(card) = &item.card_param {
                        if let Some(u) = &card.card_pay_url {
                            pairs.push(("Card page", u.clone()));
                        }
                        if card.left_cc_no.is_some() || card.right_cc_no.is_some() {
                            pairs.push((
                                "Card",
                                format!(
                                    "{}******{}",
                                    card.left_cc_no.as_deref().unwrap_or(""),
                                    card.right_cc_no.as_deref().unwrap_or("")
                                ),
                            ));
                        }
                        if let Some(a) = &card.auth_code {
                            pairs.push(("Auth code", a.clone()));
                        }
                    }
                    output::print(&kv(&pairs))
                }
            }
        }
        OrderCmd::List {
            from,
            to,
            by,
            pay_type: pt,
            pay_flag: pf,
        } => list(settings, &from, &to, by, pt, pf, format, &base),
        OrderCmd::PayQuery { token } => {
            output::no_csv(format, "order pay-query")?;
            let token = PayToken::new(token.trim())
                .context(ExitKind::Usage, "the PayToken is not valid")?;
            let client = client(settings)?;
            let resp = block_on(client.pay_query(&token))?.map_err(|e| http_error(e, &base))?;
            match format {
                Format::Json => {
                    // Amounts are integers in every JSON document, even where the bank sends
                    // a string (TSResultContent.Amount).
                    let mut v = serde_json::to_value(&resp)
                        .context(ExitKind::Other, "cannot render the result as JSON")?;
                    if let (Some(a), Some(slot)) = (
                        resp.ts_result_content.as_ref().and_then(|r| r.amount),
                        v.get_mut("TSResultContent")
                            .and_then(|r| r.get_mut("Amount")),
                    ) {
                        *slot = serde_json::Value::from(a.minor());
                    }
                    output::print_json(&v)
                }
                _ => {
                    let mut pairs = vec![
                        ("PayToken", opt(resp.pay_token.as_ref())),
                        ("Status", resp.status.to_string()),
                        ("Description", opt(resp.description())),
                        ("Date", fmt_time(resp.date)),
                    ];
                    if let Some(r) = &resp.ts_result_content {
                        pairs.push(("APType", opt(r.ap_type.as_ref())));
                        pairs.push(("OrderNo", opt(r.order_no.as_ref())));
                        pairs.push(("TSNo", opt(r.ts_no.as_deref())));
                        pairs.push((
                            "PayType",
                            r.pay_type
                                .as_ref()
                                .map_or_else(|| "-".to_owned(), |p| pay_type_label(p).to_owned()),
                        ));
                        pairs.push(("Amount", money_opt(r.amount)));
                        pairs.push(("Payment status", opt(r.status.as_ref())));
                        pairs.push(("Payment text", opt(r.description.as_deref())));
                        pairs.push(("Paid", fmt_time(r.pay_date)));
                        if r.left_cc_no.is_some() || r.right_cc_no.is_some() {
                            pairs.push((
                                "Card",
                                format!(
                                    "{}******{}",
                                    r.left_cc_no.as_deref().unwrap_or(""),
                                    r.right_cc_no.as_deref().unwrap_or("")
                                ),
                            ));
                        }
                    }
                    output::print(&kv(&pairs))
                }
            }
        }
        OrderCmd::Capture {
            order_no: no,
            amount,
        } => {
            let no = order_no(&no)?;
            let amount = amount.as_deref().map(parse::amount).transpose()?;
            let client = client(settings)?;
            let resp = block_on(client.capture(&no, amount))?.map_err(|e| http_error(e, &base))?;
            maintained(&resp, format)
        }
        OrderCmd::Void { order_no: no } => {
            let no = order_no(&no)?;
            let client = client(settings)?;
            let resp = block_on(client.void(&no))?.map_err(|e| http_error(e, &base))?;
            maintained(&resp, format)
        }
        OrderCmd::Refund {
            order_no: no,
            amount,
            remark,
        } => {
            let no = order_no(&no)?;
            let amount = amount.as_deref().map(parse::amount).transpose()?;
            let client = client(settings)?;
            let resp = block_on(client.refund(&no, amount, remark.as_deref()))?
                .map_err(|e| http_error(e, &base))?;
            maintained(&resp, format)
        }
        OrderCmd::Uncaptured { order_no: no } => {
            let no = no.as_deref().map(order_no).transpose()?;
            let client = client(settings)?;
            let resp =
                block_on(client.uncaptured(no.as_ref()))?.map_err(|e| http_error(e, &base))?;
            let mut t = Table::new(&[
                "OrderNo",
                "TSNo",
                "Created",
                "Authorised",
                "Expires",
                "Amount",
                "PayStatus",
                "Product",
            ])
            .right(&["Amount"]);
            for o in &resp.order_list {
                t.row(vec![
                    o.order_no.to_string(),
                    opt(o.ts_no.as_deref()),
                    fmt_time(o.ts_date),
                    fmt_time(o.approved_date),
                    fmt_time(o.expire_date),
                    money_cell(format, Some(o.amount)),
                    o.pay_status
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), |s| s.as_str().to_owned()),
                    opt(o.prdt_name.as_deref()),
                ]);
            }
            #[derive(Serialize)]
            struct Doc<'a> {
                count: usize,
                orders: &'a [sinopac_proto::UnCapturedOrder],
            }
            output::print_list(
                format,
                &t,
                &Doc {
                    count: resp.order_list.len(),
                    orders: &resp.order_list,
                },
            )
        }
    }
}

fn create(settings: &Settings, cmd: CreateCmd, format: Format, base: &str) -> CliResult<()> {
    output::no_csv(format, "order create")?;
    let shop = settings.shop_no()?;
    let (common, req) = match cmd {
        CreateCmd::Atm {
            common,
            expire_date,
            expire_days,
        } => {
            let expire = match expire_date {
                Some(d) => parse::date(&d)?,
                None => {
                    // Against a sim, "today" is the sim's day (its clock may have been moved).
                    let today = match crate::sim_cmd::sim_now(settings)
                        .and_then(BankTime::from_unix_seconds)
                    {
                        Some(t) => t.date(),
                        None => parse::now_taipei()?.date(),
                    };
                    let days = i64::from(expire_days.unwrap_or(3));
                    today
                        .add_days(days)
                        .ok_or_else(|| CliError::usage("--expire-days is too large"))?
                }
            };
            let req = OrderCreateRequest::atm(
                shop,
                order_no(&common.order_no)?,
                parse::amount(&common.amount)?,
                &common.product,
                expire,
            );
            (common, req)
        }
        CreateCmd::Card {
            common,
            auto_capture: _,
            capture_after_days,
            exp_minutes,
        } => {
            let mut card = match capture_after_days {
                Some(days) => CardParam::capture_after_days(days),
                None => CardParam::auto_capture(),
            };
            if let Some(m) = exp_minutes {
                card = card.exp_minutes(m);
            }
            let req = OrderCreateRequest::card(
                shop,
                order_no(&common.order_no)?,
                parse::amount(&common.amount)?,
                &common.product,
                card,
            );
            (common, req)
        }
    };
    let req = with_urls(req, &common, settings);
    let client = client(settings)?;
    let resp = block_on(client.create_order(&req))?.map_err(|e| http_error(e, base))?;
    if resp.description.as_deref() == Some(SETTLED_DESCRIPTION) {
        output::note(
            "note: the bank's reply was lost; the order was confirmed to exist with OrderQuery",
        );
    }
    created(&resp, format)
}

fn with_urls(
    mut req: OrderCreateRequest,
    common: &CreateCommon,
    settings: &Settings,
) -> OrderCreateRequest {
    let ret = common
        .return_url
        .clone()
        .or_else(|| settings.return_url.as_ref().map(|s| s.value.clone()));
    let back = common
        .backend_url
        .clone()
        .or_else(|| settings.backend_url.as_ref().map(|s| s.value.clone()));
    if let Some(u) = ret {
        req = req.return_url(u);
    }
    if let Some(u) = back {
        req = req.backend_url(u);
    }
    if let Some(m) = &common.memo {
        req = req.memo(m.clone());
    }
    if common.param1.is_some() || common.param2.is_some() || common.param3.is_some() {
        req = req.params(
            common.param1.clone(),
            common.param2.clone(),
            common.param3.clone(),
        );
    }
    req
}

fn created(resp: &OrderCreateResponse, format: Format) -> CliResult<()> {
    if format == Format::Json {
        return output::print_json(resp);
    }
    let mut pairs = vec![
        ("OrderNo", opt(resp.order_no.as_ref())),
        ("TSNo", opt(resp.ts_no.as_deref())),
        ("Amount", money_opt(resp.amount)),
        (
            "PayType",
            resp.pay_type
                .as_ref()
                .map_or_else(|| "-".to_owned(), |p| pay_type_label(p).to_owned()),
        ),
        ("Status", resp.status.to_string()),
        ("Description", opt(resp.description.as_deref())),
    ];
    if let Some(atm) = &resp.atm_param {
        pairs.push(("Virtual account", opt(atm.atm_pay_no.as_deref())));
        pairs.push(("WebATM URL", opt(atm.web_atm_url.as_deref())));
        pairs.push(("OTP URL", opt(atm.otp_url.as_deref())));
    }
    if let Some(card) = &resp.card_param {
        pairs.push(("Card page", opt(card.card_pay_url.as_deref())));
    }
    if let Some(m) = &resp.mobile_param {
        pairs.push(("Mobile page", opt(m.mobile_pay_url.as_deref())));
    }
    output::print(&kv(&pairs))
}

fn maintained(resp: &sinopac_proto::OrderMaintainResponse, format: Format) -> CliResult<()> {
    output::no_csv(format, "this command")?;
    if resp.description.as_deref() == Some(SETTLED_DESCRIPTION) {
        output::note("note: the bank's reply was lost; the effect was confirmed with OrderQuery");
    }
    if format == Format::Json {
        return output::print_json(resp);
    }
    let command = resp.command.as_ref().map_or("-", |c| match c {
        sinopac_proto::Command::Capture => "P capture",
        sinopac_proto::Command::Void => "C void",
        sinopac_proto::Command::Refund => "R refund",
        other => other.as_str(),
    });
    output::print(&kv(&[
        ("OrderNo", opt(resp.order_no.as_ref())),
        ("TSNo", opt(resp.ts_no.as_deref())),
        ("Command", command.to_owned()),
        ("Amount", money_opt(resp.amount)),
        ("Date", fmt_time(resp.date)),
        ("Status", resp.status.to_string()),
        ("Description", opt(resp.description.as_deref())),
    ]))
}

#[allow(clippy::too_many_arguments)]
fn list(
    settings: &Settings,
    from: &str,
    to: &str,
    by: DateBy,
    pt: Option<PayTypeArg>,
    pf: Option<PayFlagArg>,
    format: Format,
    base: &str,
) -> CliResult<()> {
    let start = parse::time(from, false)?;
    let end = parse::time(to, true)?;
    let field = match by {
        DateBy::Order => DateField::Order,
        DateBy::Pay => DateField::Pay,
    };
    let shop = settings.shop_no()?;
    let mut req = OrderQueryRequest::by_date(shop, field, start, end)
        .context(ExitKind::Usage, "the date range is not valid")?;
    if let Some(p) = pt {
        req = req.pay_type(pay_type(p));
    }
    if let Some(f) = pf {
        req = req.pay_flag(pay_flag(f));
    }
    let client = client(settings)?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} {pos} orders fetched ({elapsed})")
        {
            bar.set_style(style);
        }
        bar.tick(); // draw at once, even if the listing is quick
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let result = block_on(async {
        let mut items = Vec::new();
        let mut stream = std::pin::pin!(client.query_all(req));
        while let Some(item) = stream.next().await {
            items.push(item?);
            bar.inc(1);
        }
        Ok::<_, HttpError>(items)
    })?;
    bar.finish_and_clear();
    let mut items = result.map_err(|e| http_error(e, base))?;
    items.sort_by(|a, b| {
        let ka = match field {
            DateField::Order => a.ts_date,
            DateField::Pay => a.pay_date,
        };
        let kb = match field {
            DateField::Order => b.ts_date,
            DateField::Pay => b.pay_date,
        };
        ka.cmp(&kb).then_with(|| a.order_no.cmp(&b.order_no))
    });

    let mut t = Table::new(&[
        "OrderNo",
        "TSNo",
        "Created",
        "Paid",
        "Type",
        "PayStatus",
        "Amount",
        "Refunded",
        "Product",
    ])
    .right(&["Amount", "Refunded"]);
    for i in &items {
        t.row(vec![
            i.order_no.to_string(),
            opt(i.ts_no.as_deref()),
            fmt_time(i.ts_date),
            fmt_time(i.pay_date),
            i.pay_type.as_str().to_owned(),
            i.pay_status.as_str().to_owned(),
            money_cell(format, Some(i.amount)),
            money_cell(format, i.refund_amount.filter(|a| !a.is_zero())),
            opt(i.prdt_name.as_deref()),
        ]);
    }
    #[derive(Serialize)]
    struct Doc<'a> {
        count: usize,
        total_amount: u64,
        orders: &'a [sinopac_proto::OrderListItem],
    }
    let total: u64 = items.iter().map(|i| i.amount.minor()).sum();
    output::print_list(
        format,
        &t,
        &Doc {
            count: items.len(),
            total_amount: total,
            orders: &items,
        },
    )?;
    if format == Format::Table && !items.is_empty() {
        output::println(&format!(
            "{} orders, {}",
            items.len(),
            output::money(Amount::from_minor(total))
        ))?;
    }
    Ok(())
}

/// `sinopac bill DATE`.
pub fn bill(settings: &Settings, date: &str, format: Format) -> CliResult<()> {
    let base = settings.base_url()?;
    let date = parse::date(date)?;
    let client = client(settings)?;
    let resp = block_on(client.bill(date))?.map_err(|e| http_error(e, &base))?;
    let mut t = Table::new(&[
        "TSNo", "OrderNo", "Type", "TSDate", "PayDate", "PayType", "Amount",
    ])
    .right(&["Amount"]);
    let (mut receipts, mut refunds) = (0u64, 0u64);
    for b in &resp.order_list {
        let kind = match &b.ts_type {
            sinopac_proto::TsType::Payment => {
                receipts += b.amount.minor();
                "P receipt".to_owned()
            }
            sinopac_proto::TsType::Refund => {
                refunds += b.amount.minor();
                "R refund".to_owned()
            }
            other => other.as_str().to_owned(),
        };
        t.row(vec![
            opt(b.ts_no.as_deref()),
            b.order_no.to_string(),
            if format == Format::Csv {
                b.ts_type.as_str().to_owned()
            } else {
                kind
            },
            fmt_time(b.ts_date),
            fmt_time(b.pay_date),
            b.pay_type
                .as_ref()
                .map_or_else(|| "-".to_owned(), |p| p.as_str().to_owned()),
            money_cell(format, Some(b.amount)),
        ]);
    }
    #[derive(Serialize)]
    struct Doc<'a> {
        bill_date: String,
        receipts: u64,
        refunds: u64,
        net: i128,
        items: &'a [sinopac_proto::BillItem],
    }
    output::print_list(
        format,
        &t,
        &Doc {
            bill_date: date.to_string(),
            receipts,
            refunds,
            net: i128::from(receipts) - i128::from(refunds),
            items: &resp.order_list,
        },
    )?;
    if format == Format::Table {
        let net = if receipts >= refunds {
            output::money(Amount::from_minor(receipts - refunds))
        } else {
            format!("-{}", output::money(Amount::from_minor(refunds - receipts)))
        };
        output::println(&format!(
            "receipts {}, refunds {}, net {net}",
            output::money(Amount::from_minor(receipts)),
            output::money(Amount::from_minor(refunds)),
        ))?;
    }
    Ok(())
}

/// `sinopac allot --from --to`.
pub fn allot(
    settings: &Settings,
    from: &str,
    to: &str,
    pt: Option<PayTypeArg>,
    format: Format,
) -> CliResult<()> {
    let base = settings.base_url()?;
    let start = parse::date(from)?;
    let end = parse::date(to)?;
    if start > end {
        return Err(CliError::usage("--from is after --to"));
    }
    let client = client(settings)?;
    let resp =
        block_on(client.allot(start, end, pt.map(pay_type)))?.map_err(|e| http_error(e, &base))?;
    let mut t = Table::new(&[
        "AllotNo",
        "AllotDate",
        "PayType",
        "Paid",
        "Refunded",
        "Fee",
        "Payout",
        "Account",
        "Transactions",
    ])
    .right(&["Paid", "Refunded", "Fee", "Payout", "Transactions"]);
    for a in &resp.allot {
        t.row(vec![
            opt(a.allot_no.as_deref()),
            opt(a.allot_date),
            a.pay_type
                .as_ref()
                .map_or_else(|| "-".to_owned(), |p| p.as_str().to_owned()),
            money_cell(format, a.pay_amount),
            money_cell(format, a.refund_amount),
            money_cell(format, a.fee_amount),
            money_cell(format, a.allot_amount),
            opt(a.account.as_deref()),
            a.list.len().to_string(),
        ]);
    }
    #[derive(Serialize)]
    struct Doc<'a> {
        count: usize,
        allot: &'a [sinopac_proto::AllotItem],
    }
    output::print_list(
        format,
        &t,
        &Doc {
            count: resp.allot.len(),
            allot: &resp.allot,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_times() {
        assert_eq!(pay_status_label(&PayStatus::AtmPaid), "1A400 ATM paid");
        assert_eq!(
            pay_status_label(&PayStatus::Other("1Z999".into())),
            "1Z999 unknown"
        );
        assert_eq!(
            fmt_time(Some(BankTime::parse("202611250930").unwrap())),
            "2026-11-25 09:30"
        );
        assert_eq!(fmt_time(None), "-");
    }

    #[test]
    fn errors_map_to_exit_kinds() {
        let bank = HttpError::Bank {
            service: sinopac_proto::ApiService::OrderCreate,
            code: "E0602".into(),
            description: "收款方式未啟用".into(),
        };
        let e = http_error(bank, "http://x/");
        assert_eq!(e.kind, ExitKind::Bank);
        assert!(
            e.report().contains("E0602 – 收款方式未啟用"),
            "{}",
            e.report()
        );
    }
}

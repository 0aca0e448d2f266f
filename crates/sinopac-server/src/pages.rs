//! HTML pages: the ReturnURL result page (zh-TW and English) and the demo checkout.

use sinopac_proto::ShopNo;

use crate::state::OrderState;
use crate::store::OrderRow;

/// What the demo pages need to know.
#[derive(Debug, Clone)]
pub struct DemoInfo {
    /// The demo shop.
    pub shop_no: ShopNo,
    /// Seconds after which the sim pays ATM orders by itself.
    pub atm_auto_pay_secs: u64,
}

/// What the result page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Paid / captured.
    Paid,
    /// Card authorised (capture later).
    Authorized,
    /// Declined.
    Declined,
    /// Still waiting for the bank.
    Pending,
    /// Expired.
    Expired,
    /// Voided / refunded.
    Cancelled,
    /// The bank did not confirm this payment.
    Unverified,
    /// The request was not a valid return.
    Invalid,
}

impl Outcome {
    /// From a stored state name.
    #[must_use]
    pub fn from_state(state: &str) -> Self {
        match OrderState::parse(state) {
            Some(OrderState::Paid | OrderState::Captured) => Self::Paid,
            Some(OrderState::Authorized) => Self::Authorized,
            Some(OrderState::Declined) => Self::Declined,
            Some(OrderState::Expired) => Self::Expired,
            Some(OrderState::Voided | OrderState::Refunded | OrderState::PartiallyRefunded) => {
                Self::Cancelled
            }
            Some(OrderState::AwaitingPayment | OrderState::AwaitingTransfer) => Self::Pending,
            _ => Self::Unverified,
        }
    }

    fn texts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Paid => ("付款成功", "Payment successful", "ok"),
            Self::Authorized => (
                "授權成功，待請款",
                "Card authorised; it will be charged when the order ships",
                "ok",
            ),
            Self::Declined => ("付款失敗", "Payment declined", "bad"),
            Self::Pending => (
                "付款確認中",
                "We are confirming your payment with the bank",
                "wait",
            ),
            Self::Expired => ("訂單已逾期", "This order has expired", "bad"),
            Self::Cancelled => (
                "交易已取消或退款",
                "This payment was cancelled or refunded",
                "bad",
            ),
            Self::Unverified => (
                "無法確認付款",
                "We could not confirm this payment with the bank",
                "bad",
            ),
            Self::Invalid => ("無效的請求", "Invalid request", "bad"),
        }
    }
}

/// Escapes text for HTML.
#[must_use]
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans TC',sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.5rem}.ok{color:#17803d}.bad{color:#b91c1c}.wait{color:#a16207}\
table{border-collapse:collapse}td{padding:.25rem .75rem .25rem 0}\
.box{border:1px solid #ddd;border-radius:8px;padding:1rem;margin:1rem 0}\
button,input,select{font-size:1rem;padding:.4rem}label{display:block;margin:.5rem 0}\
code{font-size:1.2rem;background:#f4f4f4;padding:.1rem .3rem}";

fn page(title: &str, body: &str, refresh: bool) -> String {
    let meta = if refresh {
        "<meta http-equiv=\"refresh\" content=\"3\">"
    } else {
        ""
    };
    format!(
        "<!doctype html><html lang=\"zh-Hant-TW\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">{meta}\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        esc(title)
    )
}

fn ntd(amount: i64) -> String {
    if amount % 100 == 0 {
        format!("NT${}", amount / 100)
    } else {
        format!("NT${}.{:02}", amount / 100, amount % 100)
    }
}

fn order_table(o: &OrderRow) -> String {
    format!(
        "<table><tr><td>訂單編號 Order</td><td>{}</td></tr><tr><td>金額 Amount</td><td>{}</td></tr>\
         <tr><td>商品 Product</td><td>{}</td></tr><tr><td>狀態 Status</td><td>{}</td></tr></table>",
        esc(&o.order_no),
        ntd(o.amount),
        esc(&o.prdt_name),
        esc(&o.state)
    )
}

/// The ReturnURL result page.
#[must_use]
pub fn result_page(outcome: Outcome, order: Option<&OrderRow>) -> String {
    let (zh, en, class) = outcome.texts();
    let details = order.map(order_table).unwrap_or_default();
    let refresh = outcome == Outcome::Pending;
    let back = order
        .map(|o| {
            format!(
                "<p><a href=\"/demo/orders/{}\">訂單頁面 Order page</a></p>",
                esc(&o.order_no)
            )
        })
        .unwrap_or_default();
    page(
        "付款結果 Payment result",
        &format!("<h1 class=\"{class}\">{zh}<br><small>{en}</small></h1>{details}{back}"),
        refresh && order.is_some(),
    )
}

/// The demo checkout page.
#[must_use]
pub fn checkout_page(info: &DemoInfo) -> String {
    page(
        "sinopac-server demo",
        &format!(
            "<h1>豐收款 demo 結帳 · Checkout</h1>\
             <p>This server runs in <b>demo mode</b>: the bank is the built-in simulator \
             (shop <code>{}</code>). ATM orders are paid by the simulator after about {} s; \
             card orders go to the simulator's card page.</p>\
             <form class=\"box\" method=\"post\" action=\"/demo/checkout\">\
             <label>商品 Product <input name=\"product\" value=\"測試商品 Test item\" maxlength=\"20\"></label>\
             <label>金額 Amount (NT$) <input name=\"amount_ntd\" type=\"number\" min=\"1\" max=\"30000\" value=\"500\"></label>\
             <label><input type=\"radio\" name=\"pay_type\" value=\"atm\" checked> ATM 虛擬帳號 (virtual account)</label>\
             <label><input type=\"radio\" name=\"pay_type\" value=\"card\"> 信用卡 Credit card</label>\
             <button type=\"submit\">建立訂單 Create order</button></form>\
             <p>API: <code>/api/v1/orders</code> (bearer token printed at startup) · \
             <a href=\"/metrics\">metrics</a></p>",
            esc(info.shop_no.as_str()),
            info.atm_auto_pay_secs
        ),
        false,
    )
}

/// The demo order page (refreshes itself while the order is pending).
#[must_use]
pub fn order_page(o: &OrderRow, info: &DemoInfo) -> String {
    let outcome = Outcome::from_state(&o.state);
    let (zh, en, class) = if o.pay_type == "A" && outcome == Outcome::Pending {
        ("等待轉帳", "Waiting for your ATM transfer", "wait")
    } else {
        outcome.texts()
    };
    let how = match (o.pay_type.as_str(), outcome) {
        ("A", Outcome::Pending) => format!(
            "<div class=\"box\"><p>請轉帳至 Transfer to: 銀行代碼 bank <code>807</code> \
             帳號 account <code>{}</code></p><p>The simulator pays it in about {} s \
             (the page refreshes).</p></div>",
            esc(o.atm_pay_no.as_deref().unwrap_or("—")),
            info.atm_auto_pay_secs
        ),
        ("C", Outcome::Pending) => match &o.card_pay_url {
            Some(url) => format!(
                "<div class=\"box\"><p><a href=\"{}\">前往刷卡頁面 Pay by card</a> \
                 (simulator; any card number)</p></div>",
                esc(url)
            ),
            None => String::new(),
        },
        _ => String::new(),
    };
    page(
        "訂單 Order",
        &format!(
            "<h1 class=\"{class}\">{zh}<br><small>{en}</small></h1>{}{how}<p><a href=\"/\">再買一次 New order</a></p>",
            order_table(o)
        ),
        outcome == Outcome::Pending,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_texts() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let p = result_page(Outcome::Paid, None);
        assert!(p.contains("付款成功") && p.contains("Payment successful"));
        assert_eq!(Outcome::from_state("captured"), Outcome::Paid);
        assert_eq!(Outcome::from_state("awaiting_transfer"), Outcome::Pending);
        assert_eq!(Outcome::from_state("???"), Outcome::Unverified);
        assert_eq!(ntd(50_050), "NT$500.50");
    }
}

//! HTML: the hosted card / WebATM pages, the WAF rejection page and error pages.

use std::fmt::Write as _;

use crate::ledger::SimOrder;

/// Escapes text for HTML element content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-Hant\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em}}\
         input{{width:4.5em;margin:0 .2em}} .sim{{color:#a00;font-size:.8em}}</style></head>\
         <body><p class=\"sim\">sinopac-sim — simulated bank, not real money</p>{body}</body></html>\n",
        t = esc(title)
    )
}

/// The WAF's "Request Rejected" page (the F5 front end answers malformed bodies like this).
pub(crate) fn waf(support_id: &str) -> String {
    format!(
        "<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. \
         Please consult with your administrator.<br><br>Your support ID is: {}<br><br>\
         <a href='javascript:history.back();'>[Go Back]</a></body></html>",
        esc(support_id)
    )
}

/// A server error page for injected HTTP errors.
pub(crate) fn error(status: u16, reason: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><title>{status} {r}</title></head><body><h1>{status} {r}</h1>\
         <p>The service is temporarily unavailable.</p></body></html>",
        r = esc(reason)
    )
}

fn summary(o: &SimOrder) -> String {
    format!(
        "<table><tr><th>商店</th><td>{}</td></tr><tr><th>訂單編號</th><td id=\"order-no\">{}</td></tr>\
         <tr><th>交易編號</th><td>{}</td></tr><tr><th>商品</th><td>{}</td></tr>\
         <tr><th>金額</th><td id=\"amount\">{}</td></tr></table>",
        esc(o.shop_no.as_str()),
        esc(o.order_no.as_str()),
        esc(&o.ts_no),
        esc(&o.prdt_name),
        esc(&o.amount.to_string()),
    )
}

/// The hosted card page: the bank's field names (`CardNo1..4`, `ExpireMM`, `ExpireYY`,
/// `CVV2`, submit `#send`), plus a Decline button. Posts to the same URL.
pub(crate) fn card_form(o: &SimOrder, td: &str, tk: &str) -> String {
    let body = format!(
        "<h1>信用卡付款</h1>{summary}\
         <form method=\"post\" action=\"\" id=\"card-form\">\
         <input type=\"hidden\" name=\"TD\" value=\"{td}\"><input type=\"hidden\" name=\"TK\" value=\"{tk}\">\
         <p>卡號 <input name=\"CardNo1\" value=\"4143\" maxlength=\"4\" inputmode=\"numeric\">\
         <input name=\"CardNo2\" value=\"5200\" maxlength=\"4\" inputmode=\"numeric\">\
         <input name=\"CardNo3\" value=\"0187\" maxlength=\"4\" inputmode=\"numeric\">\
         <input name=\"CardNo4\" value=\"0127\" maxlength=\"4\" inputmode=\"numeric\"></p>\
         <p>有效期限 <input name=\"ExpireMM\" value=\"12\" maxlength=\"2\"> / \
         <input name=\"ExpireYY\" value=\"35\" maxlength=\"2\"> 檢查碼 \
         <input name=\"CVV2\" value=\"123\" maxlength=\"3\"></p>\
         <p><button type=\"submit\" id=\"send\" name=\"Action\" value=\"approve\">確認付款 (Approve)</button> \
         <button type=\"submit\" id=\"decline\" name=\"Action\" value=\"decline\">拒絕 (Decline)</button></p>\
         <p class=\"sim\">Card 4000 0000 0000 0002 is always declined.</p></form>",
        summary = summary(o),
        td = esc(td),
        tk = esc(tk),
    );
    page("信用卡付款", &body)
}

/// The WebATM page: one button makes the transfer.
pub(crate) fn webatm_form(o: &SimOrder, td: &str, tk: &str) -> String {
    let body = format!(
        "<h1>WebATM 轉帳</h1>{summary}<p>虛擬帳號 <b id=\"atm-pay-no\">{acct}</b></p>\
         <form method=\"post\" action=\"\"><input type=\"hidden\" name=\"TD\" value=\"{td}\">\
         <input type=\"hidden\" name=\"TK\" value=\"{tk}\">\
         <button type=\"submit\" id=\"send\">轉帳 (Transfer)</button></form>",
        summary = summary(o),
        acct = esc(o.atm_pay_no.as_deref().unwrap_or("")),
        td = esc(td),
        tk = esc(tk),
    );
    page("WebATM", &body)
}

/// A plain message page.
pub(crate) fn message(title: &str, text: &str) -> String {
    page(
        title,
        &format!("<h1>{}</h1><p id=\"message\">{}</p>", esc(title), esc(text)),
    )
}

/// The page that sends the buyer's browser back to ReturnURL with a form POST of `ShopNo` and
/// `PayToken` (auto-submitted; a button for browsers without JavaScript).
pub(crate) fn return_form(return_url: &str, fields: &[(&str, &str)]) -> String {
    let mut inputs = String::new();
    for (k, v) in fields {
        let _ = write!(
            inputs,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            esc(k),
            esc(v)
        );
    }
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>返回商店</title></head>\
         <body onload=\"document.forms[0].submit()\">\
         <form method=\"post\" action=\"{url}\" id=\"return-form\">{inputs}\
         <noscript><button type=\"submit\">返回商店 (Return to shop)</button></noscript></form>\
         </body></html>\n",
        url = esc(return_url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let f = return_form("https://shop/return?a=1&b=2", &[("ShopNo", "NA0249_001")]);
        assert!(f.contains("action=\"https://shop/return?a=1&amp;b=2\""));
        assert!(f.contains("name=\"ShopNo\" value=\"NA0249_001\""));
    }
}

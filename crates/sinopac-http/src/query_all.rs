//! `query_all`: every order matching a query, past the 300-row cap of `OrderQuery`.
//!
//! ## How windows are split
//!
//! The caller's conditions are kept; a *window* narrows them with an order-date range, a
//! pay-date range, a `PayType` and a `PayFlag`. Each window is one `OrderQuery`:
//!
//! 1. Fewer rows than the cap → the window is complete.
//! 2. At the cap, and the rows come back sorted by `TSDate` (or, for a pay-date window, by
//!    `PayDate`) → **page**: every row strictly before the last row's minute is complete (it
//!    sorts before the last row), so those rows are kept and the window continues from the
//!    last row's minute. A uniform spread costs about `ceil(N / 299) + 1` calls.
//! 3. At the cap and all rows fall in the window's first minute → that minute is split off and
//!    queried by `PayType` (`A`, `C`), then by `PayFlag` (`Y`, `N`, `O`); the rest of the
//!    window continues from the next minute.
//! 4. At the cap and the rows are not sorted → the window is halved (by minutes) down to one
//!    minute, then split as in 3.
//! 5. A one-minute window with one `PayType` and one `PayFlag` still at the cap →
//!    [`Error::QueryWindowTooDense`] naming it. Nothing is silently truncated.
//!
//! Rows are de-duplicated by `OrderNo` (windows share their edge minute). An empty window
//! answered with a "not found" code ([`NOT_FOUND_CODES`]) counts as
//! zero rows.
//!
//! Measured against `sinopac-sim` (tests in `tests/it/query_all.rs`): 3,000 orders over a
//! month (even or random spread) take 11 `OrderQuery` calls (budget 2.5 × 10 = 25); 10,000
//! take 34 (budget 85); 1,700 orders in one minute plus 1,500 others take 15 and come back
//! exactly.
//!
//! Assumptions, stated: the configured row cap
//! ([`ClientBuilder::query_row_cap`](crate::ClientBuilder::query_row_cap), 300) is the bank's
//! real cap (a lower real cap would go unnoticed); splitting by `PayType` covers `A` and `C`
//! only (the only types `OrderCreate` accepts); every order has exactly one of `PayFlag`
//! `Y`/`N`/`O`. A query without any date range can only be paged (step 2), not halved.

use std::collections::{HashSet, VecDeque};

use futures::Stream;
use sinopac_proto::{
    BankDate, BankTime, DateField, OrderListItem, OrderNo, OrderQueryRequest, PayFlag, PayType,
};
use tracing::{Instrument, debug};

use crate::client::{Client, NOT_FOUND_CODES};
use crate::error::{Error, QueryWindow};

/// Counters of one `query_all` run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryAllStats {
    /// `OrderQuery` calls made (retries inside a call not counted).
    pub calls: u32,
    /// Answers that came back at the row cap.
    pub capped: u32,
    /// Windows paged forward from a capped answer.
    pub paged: u32,
    /// Windows halved (unsorted rows).
    pub halved: u32,
    /// One-minute windows split by PayType or PayFlag.
    pub split_by_type_or_flag: u32,
    /// Rows dropped as duplicates (same OrderNo seen before).
    pub duplicates: u32,
}

/// The result of [`Client::query_all_vec`]: every order, and how it was fetched.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct QueryAllOutcome {
    /// Every matching order, each OrderNo once.
    pub items: Vec<OrderListItem>,
    /// Counters.
    pub stats: QueryAllStats,
}

#[derive(Debug, Clone)]
struct Win {
    order: Option<(BankTime, BankTime)>,
    pay: Option<(BankTime, BankTime)>,
    pay_type: Option<PayType>,
    pay_flag: Option<PayFlag>,
}

impl Win {
    fn range(&self, f: DateField) -> Option<(BankTime, BankTime)> {
        match f {
            DateField::Order => self.order,
            DateField::Pay => self.pay,
        }
    }

    fn with_range(&self, f: DateField, s: BankTime, e: BankTime) -> Win {
        let mut w = self.clone();
        match f {
            DateField::Order => w.order = Some((s, e)),
            DateField::Pay => w.pay = Some((s, e)),
        }
        w
    }

    fn describe(&self) -> Option<QueryWindow> {
        let (field, (start, end)) = match (self.order, self.pay) {
            (Some(r), _) => (DateField::Order, r),
            (None, Some(r)) => (DateField::Pay, r),
            (None, None) => return None,
        };
        Some(QueryWindow {
            field,
            start,
            end,
            pay_type: self.pay_type.clone(),
            pay_flag: self.pay_flag.clone(),
        })
    }
}

fn max_time() -> Option<BankTime> {
    BankDate::new(9999, 12, 31)?.at(23, 59)
}

fn key(f: DateField, row: &OrderListItem) -> Option<BankTime> {
    match f {
        DateField::Order => row.ts_date,
        DateField::Pay => row.pay_date,
    }
}

/// The first and last key if every row has one and they are non-decreasing.
fn sorted_span(f: DateField, rows: &[OrderListItem]) -> Option<(BankTime, BankTime)> {
    let mut prev: Option<BankTime> = None;
    let mut first = None;
    for row in rows {
        let k = key(f, row)?;
        if prev.is_some_and(|p| k < p) {
            return None;
        }
        first.get_or_insert(k);
        prev = Some(k);
    }
    first.zip(prev)
}

fn midpoint(s: BankTime, e: BankTime) -> Option<BankTime> {
    let (a, b) = (s.unix_minutes(), e.unix_minutes());
    BankTime::from_unix_minutes(a + (b - a) / 2)
}

fn next_minute(t: BankTime) -> Option<BankTime> {
    t.add_minutes(1)
}

/// The state of one run; drives both the stream and the vec form.
pub(crate) struct Planner<'a> {
    client: &'a Client,
    base: OrderQueryRequest,
    queue: VecDeque<Win>,
    seen: HashSet<OrderNo>,
    out: VecDeque<OrderListItem>,
    pub(crate) stats: QueryAllStats,
    failed: bool,
}

impl<'a> Planner<'a> {
    pub(crate) fn new(client: &'a Client, base: OrderQueryRequest) -> Self {
        let first = Win {
            order: base.range(DateField::Order),
            pay: base.range(DateField::Pay),
            pay_type: base.pay_type_condition().cloned(),
            pay_flag: base.pay_flag_condition().cloned(),
        };
        Self {
            client,
            base,
            queue: VecDeque::from([first]),
            seen: HashSet::new(),
            out: VecDeque::new(),
            stats: QueryAllStats::default(),
            failed: false,
        }
    }

    fn request(&self, w: &Win) -> Result<OrderQueryRequest, Error> {
        let mut q = self.base.clone();
        if let Some((s, e)) = w.order {
            q = q.with_range(DateField::Order, s, e)?;
        }
        if let Some((s, e)) = w.pay {
            q = q.with_range(DateField::Pay, s, e)?;
        }
        if let Some(p) = &w.pay_type {
            q = q.pay_type(p.clone());
        }
        if let Some(p) = &w.pay_flag {
            q = q.pay_flag(p.clone());
        }
        Ok(q)
    }

    fn emit(&mut self, rows: impl IntoIterator<Item = OrderListItem>) {
        for row in rows {
            if self.seen.insert(row.order_no.clone()) {
                self.out.push_back(row);
            } else {
                self.stats.duplicates = self.stats.duplicates.saturating_add(1);
            }
        }
    }

    /// The next item, running queries as needed; `None` when done.
    pub(crate) async fn next(&mut self) -> Option<Result<OrderListItem, Error>> {
        loop {
            if let Some(item) = self.out.pop_front() {
                return Some(Ok(item));
            }
            if self.failed {
                return None;
            }
            let w = self.queue.pop_front()?;
            if let Err(e) = self.step(w).await {
                self.failed = true;
                self.queue.clear();
                return Some(Err(e));
            }
        }
    }

    async fn step(&mut self, w: Win) -> Result<(), Error> {
        let req = self.request(&w)?;
        self.stats.calls = self.stats.calls.saturating_add(1);
        let rows = match self.client.query(&req).await {
            Ok(resp) => resp.order_list,
            Err(Error::Bank { code, .. }) if NOT_FOUND_CODES.contains(&code.as_str()) => Vec::new(),
            Err(e) => return Err(e),
        };
        let cap = self.client.query_row_cap();
        if rows.len() < cap {
            self.emit(rows);
            return Ok(());
        }
        self.stats.capped = self.stats.capped.saturating_add(1);
        debug!(window = ?w.describe(), rows = rows.len(), "window at the row cap");

        // Page on a field the rows are sorted by.
        let mut fields = vec![DateField::Order];
        if w.pay.is_some() {
            fields.push(DateField::Pay);
        }
        for f in fields {
            let Some((first, last)) = sorted_span(f, &rows) else {
                continue;
            };
            let end = match w.range(f) {
                Some((_, e)) => e,
                None => max_time().ok_or(Error::QueryNeedsRange)?,
            };
            if first < last {
                // Rows before the last row's minute are complete; continue from that minute.
                self.stats.paged = self.stats.paged.saturating_add(1);
                self.emit(
                    rows.into_iter()
                        .filter(|r| key(f, r).is_some_and(|k| k < last)),
                );
                self.queue.push_front(w.with_range(f, last, end));
                return Ok(());
            }
            // Every row is in one minute: split that minute off, continue after it.
            let minute = w.with_range(f, first, first);
            if first < end
                && let Some(next) = next_minute(first)
            {
                self.queue.push_front(w.with_range(f, next, end));
            }
            // Rows of the minute are re-read by the split windows; keep none of them yet.
            return self.split_minute(minute);
        }

        // Unsorted rows: halve a range.
        for f in [DateField::Order, DateField::Pay] {
            if let Some((s, e)) = w.range(f)
                && s < e
            {
                let m = midpoint(s, e).ok_or(Error::QueryNeedsRange)?;
                let after = next_minute(m).ok_or(Error::QueryNeedsRange)?;
                self.stats.halved = self.stats.halved.saturating_add(1);
                self.queue.push_front(w.with_range(f, after, e));
                self.queue.push_front(w.with_range(f, s, m));
                return Ok(());
            }
        }
        if w.order.is_none() && w.pay.is_none() {
            return Err(Error::QueryNeedsRange);
        }
        self.split_minute(w)
    }

    /// Splits a one-minute window by PayType, then by PayFlag; errors when both are fixed.
    fn split_minute(&mut self, w: Win) -> Result<(), Error> {
        if w.pay_type.is_none() {
            self.stats.split_by_type_or_flag = self.stats.split_by_type_or_flag.saturating_add(1);
            for p in [PayType::Card, PayType::Atm] {
                let mut c = w.clone();
                c.pay_type = Some(p);
                self.queue.push_front(c);
            }
            return Ok(());
        }
        if w.pay_flag.is_none() {
            self.stats.split_by_type_or_flag = self.stats.split_by_type_or_flag.saturating_add(1);
            for p in [PayFlag::Expired, PayFlag::Unpaid, PayFlag::Paid] {
                let mut c = w.clone();
                c.pay_flag = Some(p);
                self.queue.push_front(c);
            }
            return Ok(());
        }
        Err(match w.describe() {
            Some(window) => Error::QueryWindowTooDense { window },
            None => Error::QueryNeedsRange,
        })
    }
}

impl Client {
    /// Every order matching `req`, past the 300-row cap, as a stream (see the
    /// [module docs](crate::query_all) for the splitting rules). Each OrderNo is yielded once.
    /// The stream ends after the first error, which names the window when the cap could not
    /// be split away ([`Error::QueryWindowTooDense`]).
    ///
    /// ```no_run
    /// # async fn demo(client: sinopac_http::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// use sinopac_proto::{BankTime, OrderQueryRequest};
    /// let q = OrderQueryRequest::by_order_date(
    ///     client.shop_no().clone(),
    ///     BankTime::parse("202611010000")?,
    ///     BankTime::parse("202611302359")?,
    /// )?;
    /// let mut orders = std::pin::pin!(client.query_all(q));
    /// while let Some(order) = orders.next().await {
    ///     let order = order?;
    ///     println!("{} {:?}", order.order_no, order.pay_status);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn query_all(
        &self,
        req: OrderQueryRequest,
    ) -> impl Stream<Item = Result<OrderListItem, Error>> + Send + '_ {
        let planner = Planner::new(self, req);
        futures::stream::unfold(planner, |mut p| async move {
            let item = p.next().await?;
            Some((item, p))
        })
    }

    /// Like [`query_all`](Self::query_all), collected, with counters of the calls made.
    ///
    /// # Errors
    /// The first error of the run (no partial result is returned: nothing is silently
    /// truncated).
    pub async fn query_all_vec(&self, req: OrderQueryRequest) -> Result<QueryAllOutcome, Error> {
        let span = tracing::info_span!("sinopac.query_all");
        async move {
            let mut p = Planner::new(self, req);
            let mut items = Vec::new();
            while let Some(item) = p.next().await {
                items.push(item?);
            }
            debug!(calls = p.stats.calls, items = items.len(), "query_all done");
            Ok(QueryAllOutcome {
                items,
                stats: p.stats,
            })
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sinopac_proto::{Amount, PayStatus};

    fn row(no: &str, ts: &str) -> OrderListItem {
        OrderListItem {
            order_no: OrderNo::new(no).unwrap(),
            ts_no: None,
            ts_date: Some(BankTime::parse(ts).unwrap()),
            approved_date: None,
            pay_date: None,
            amount: Amount::from_minor(100),
            pay_type: PayType::Atm,
            pay_status: PayStatus::AtmPending,
            expire_date: None,
            refund_flag: None,
            refund_status: None,
            refund_date: None,
            refund_amount: None,
            prdt_name: None,
            memo: None,
            param1: None,
            param2: None,
            param3: None,
            atm_param: None,
            card_param: None,
        }
    }

    #[test]
    fn sorted_span_detects_order() {
        let rows = vec![
            row("a", "202611010000"),
            row("b", "202611010000"),
            row("c", "202611010005"),
        ];
        let (f, l) = sorted_span(DateField::Order, &rows).unwrap();
        assert_eq!(f.to_string(), "202611010000");
        assert_eq!(l.to_string(), "202611010005");
        let unsorted = vec![row("a", "202611010005"), row("b", "202611010000")];
        assert!(sorted_span(DateField::Order, &unsorted).is_none());
        assert!(sorted_span(DateField::Pay, &rows).is_none(), "no PayDate");
    }

    #[test]
    fn midpoint_and_window_text() {
        let s = BankTime::parse("202611010000").unwrap();
        let e = BankTime::parse("202611010010").unwrap();
        assert_eq!(midpoint(s, e).unwrap().to_string(), "202611010005");
        let w = Win {
            order: Some((s, s)),
            pay: None,
            pay_type: Some(PayType::Atm),
            pay_flag: Some(PayFlag::Paid),
        };
        let text = w.describe().unwrap().to_string();
        assert_eq!(
            text,
            "order date 202611010000..=202611010000 PayType=A PayFlag=Y"
        );
        assert!(max_time().is_some());
    }
}

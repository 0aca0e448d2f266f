//! The order state machine, per pay type, as pure functions.
//!
//! ```text
//! ATM:   awaiting_transfer ──▶ paid
//!                       └────▶ expired ──▶ paid        (a late transfer the bank still booked)
//! Card:  awaiting_payment ──▶ authorized ──▶ captured ──▶ partially_refunded ──▶ refunded
//!                    │               └─────▶ voided
//!                    ├──────────────────────▶ captured   (AutoBilling=Y)
//!                    ├──▶ declined
//!                    └──▶ expired
//! ```
//!
//! Only what the bank says moves an order (a verified `OrderPayQuery` answer, an `OrderQuery`
//! row, or a successful `OrderMaintain` reply). Observations never move an order backwards, so
//! duplicated and reordered callbacks give exactly one transition. Unknown `PayStatus` codes are
//! preserved verbatim on the order and leave the state unchanged.

use std::fmt;

use serde::{Deserialize, Serialize};
use sinopac_proto::{Amount, Command, PayStatus, PayType};

/// Where an order stands, as far as the bank has told us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OrderState {
    /// ATM: virtual account issued, transfer not yet seen.
    AwaitingTransfer,
    /// ATM: transfer received.
    Paid,
    /// ATM or card: the bank says the order expired unpaid.
    Expired,
    /// Card: payment page issued, buyer has not paid.
    AwaitingPayment,
    /// Card: authorised, not captured.
    Authorized,
    /// Card: captured (請款).
    Captured,
    /// Card: authorisation voided.
    Voided,
    /// Card: part of the captured amount refunded.
    PartiallyRefunded,
    /// Card: refunded in full.
    Refunded,
    /// Card: declined.
    Declined,
    /// The bank refused to create the order (terminal; never reconciled).
    CreateFailed,
}

impl OrderState {
    /// Every state.
    pub const ALL: &'static [OrderState] = &[
        Self::AwaitingTransfer,
        Self::Paid,
        Self::Expired,
        Self::AwaitingPayment,
        Self::Authorized,
        Self::Captured,
        Self::Voided,
        Self::PartiallyRefunded,
        Self::Refunded,
        Self::Declined,
        Self::CreateFailed,
    ];

    /// The stored text.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingTransfer => "awaiting_transfer",
            Self::Paid => "paid",
            Self::Expired => "expired",
            Self::AwaitingPayment => "awaiting_payment",
            Self::Authorized => "authorized",
            Self::Captured => "captured",
            Self::Voided => "voided",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Refunded => "refunded",
            Self::Declined => "declined",
            Self::CreateFailed => "create_failed",
        }
    }

    /// Parses the stored text.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.as_str() == text)
    }

    /// The state a new order of this pay type starts in.
    #[must_use]
    pub fn initial(pay_type: &PayType) -> Self {
        match pay_type {
            PayType::Atm => Self::AwaitingTransfer,
            _ => Self::AwaitingPayment,
        }
    }

    /// `true` while the bank may still report a payment the merchant has not seen: these
    /// orders are what the reconciler looks at.
    #[must_use]
    pub fn is_pending(self) -> bool {
        matches!(self, Self::AwaitingTransfer | Self::AwaitingPayment)
    }

    /// `true` when money has been received (and not all of it refunded).
    #[must_use]
    pub fn is_paid(self) -> bool {
        matches!(self, Self::Paid | Self::Captured | Self::PartiallyRefunded)
    }

    /// How far along an order is; observations never lower it.
    fn rank(self) -> u8 {
        match self {
            Self::AwaitingTransfer | Self::AwaitingPayment => 0,
            Self::Expired | Self::Declined | Self::CreateFailed => 1,
            Self::Authorized => 2,
            Self::Paid | Self::Captured | Self::Voided => 3,
            Self::PartiallyRefunded => 4,
            Self::Refunded => 5,
        }
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the bank told us about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Observation {
    /// An `OrderQuery` row: the bank's `PayStatus` and cumulative refunded amount.
    PayStatus {
        /// The code, possibly unknown.
        status: PayStatus,
        /// `RefundAmount`, if the bank sent it.
        refunded: Option<Amount>,
    },
    /// A verified `OrderPayQuery` answer whose `TSResultContent` matched our order: `true`
    /// when its Status was `S`.
    PayResult {
        /// `TSResultContent.Status == S`.
        success: bool,
    },
    /// A successful `OrderMaintain` reply.
    Maintained {
        /// The command the bank accepted.
        command: Command,
        /// The amount of a refund (`None` = the rest of the captured amount).
        amount: Option<Amount>,
    },
}

/// The result of applying an observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The new state (equal to the old one when nothing changes).
    pub state: OrderState,
    /// The new cumulative refunded amount.
    pub refunded: Amount,
    /// `true` when the state or refunded amount changed.
    pub changed: bool,
}

/// Applies `obs` to an order of `pay_type` with `amount`, currently in `state` with `refunded`
/// refunded. Never moves an order backwards; unknown codes change nothing.
#[must_use]
pub fn apply(
    pay_type: &PayType,
    amount: Amount,
    state: OrderState,
    refunded: Amount,
    obs: &Observation,
) -> Step {
    let target: Option<(OrderState, Amount)> = match obs {
        Observation::PayStatus {
            status,
            refunded: bank_refunded,
        } => target_for_pay_status(pay_type, amount, status, *bank_refunded, refunded),
        Observation::PayResult { success } => match (pay_type, success) {
            (PayType::Atm, true) => Some((OrderState::Paid, refunded)),
            // A card PayOut result says the card was authorised; a capture (AutoBilling=Y)
            // shows up as 1C400 in OrderQuery, which the processor asks next.
            (_, true) => Some((OrderState::Authorized, refunded)),
            (PayType::Atm, false) => None,
            (_, false) => Some((OrderState::Declined, refunded)),
        },
        Observation::Maintained {
            command,
            amount: cmd_amount,
        } => match command {
            Command::Capture => Some((OrderState::Captured, refunded)),
            Command::Void => Some((OrderState::Voided, refunded)),
            Command::Refund => {
                let rest = amount.checked_sub(refunded).unwrap_or_default();
                let add = cmd_amount.unwrap_or(rest).min(rest);
                let total = refunded.checked_add(add).unwrap_or(amount).min(amount);
                Some((refund_state(amount, total), total))
            }
            Command::Other(_) => None,
            #[allow(unreachable_patterns)]
            _ => None,
        },
    };
    let Some((to, to_refunded)) = target else {
        return Step {
            state,
            refunded,
            changed: false,
        };
    };
    let allowed = to != state && allowed(pay_type, state, to);
    let refund_grew = to_refunded > refunded;
    if allowed || (refund_grew && to.rank() >= state.rank()) {
        let new_state = if allowed { to } else { state };
        Step {
            state: new_state,
            refunded: to_refunded.max(refunded),
            changed: true,
        }
    } else {
        Step {
            state,
            refunded,
            changed: false,
        }
    }
}

fn refund_state(amount: Amount, refunded: Amount) -> OrderState {
    if refunded >= amount {
        OrderState::Refunded
    } else if refunded.is_zero() {
        OrderState::Captured
    } else {
        OrderState::PartiallyRefunded
    }
}

fn target_for_pay_status(
    pay_type: &PayType,
    amount: Amount,
    status: &PayStatus,
    bank_refunded: Option<Amount>,
    refunded: Amount,
) -> Option<(OrderState, Amount)> {
    let state = match (pay_type, status) {
        (PayType::Atm, PayStatus::AtmPending) | (PayType::Card, PayStatus::CardPending) => {
            return None;
        }
        (PayType::Atm, PayStatus::AtmPaid) => OrderState::Paid,
        (PayType::Atm, PayStatus::AtmExpired) | (PayType::Card, PayStatus::CardExpired) => {
            OrderState::Expired
        }
        (PayType::Card, PayStatus::CardAuthorized) => OrderState::Authorized,
        (PayType::Card, PayStatus::CardCaptured) => {
            let r = bank_refunded.unwrap_or(refunded);
            return Some((refund_state(amount, r), r));
        }
        (PayType::Card, PayStatus::CardVoided) => OrderState::Voided,
        (PayType::Card, PayStatus::CardRefunded) => {
            return Some((OrderState::Refunded, bank_refunded.unwrap_or(amount)));
        }
        (PayType::Card, PayStatus::CardDeclined) => OrderState::Declined,
        _ => return None,
    };
    Some((state, refunded))
}

/// `true` if an order of `pay_type` may move from `from` to `to`.
#[must_use]
pub fn allowed(pay_type: &PayType, from: OrderState, to: OrderState) -> bool {
    use OrderState as S;
    match pay_type {
        PayType::Atm => matches!(
            (from, to),
            (S::AwaitingTransfer, S::Paid | S::Expired) | (S::Expired, S::Paid)
        ),
        _ => matches!(
            (from, to),
            (
                S::AwaitingPayment,
                S::Authorized | S::Captured | S::Declined | S::Expired
            ) | (S::Expired | S::Declined, S::Authorized | S::Captured)
                | (S::Authorized, S::Captured | S::Voided)
                | (S::Authorized, S::PartiallyRefunded | S::Refunded)
                | (S::Captured, S::PartiallyRefunded | S::Refunded)
                | (S::PartiallyRefunded, S::Refunded)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Amount = Amount::from_minor(50_000);
    const Z: Amount = Amount::from_minor(0);

    fn ps(code: &str) -> Observation {
        Observation::PayStatus {
            status: PayStatus::parse(code),
            refunded: None,
        }
    }

    #[test]
    fn atm_paid_once() {
        let s = apply(
            &PayType::Atm,
            A,
            OrderState::AwaitingTransfer,
            Z,
            &Observation::PayResult { success: true },
        );
        assert_eq!(s.state, OrderState::Paid);
        assert!(s.changed);
        // Duplicate observation: no change.
        let s2 = apply(&PayType::Atm, A, s.state, Z, &ps("1A400"));
        assert!(!s2.changed);
        // A stale "pending" row never moves it back.
        let s3 = apply(&PayType::Atm, A, s.state, Z, &ps("1A200"));
        assert_eq!(s3.state, OrderState::Paid);
        assert!(!s3.changed);
        // Expired after paid: ignored.
        assert!(!apply(&PayType::Atm, A, s.state, Z, &ps("1A600")).changed);
    }

    #[test]
    fn atm_expired_then_paid_is_allowed() {
        let s = apply(
            &PayType::Atm,
            A,
            OrderState::AwaitingTransfer,
            Z,
            &ps("1A600"),
        );
        assert_eq!(s.state, OrderState::Expired);
        let s = apply(&PayType::Atm, A, s.state, Z, &ps("1A400"));
        assert_eq!(s.state, OrderState::Paid);
    }

    #[test]
    fn unknown_codes_change_nothing() {
        for st in [OrderState::AwaitingTransfer, OrderState::Paid] {
            let s = apply(&PayType::Atm, A, st, Z, &ps("1A999"));
            assert_eq!(s.state, st);
            assert!(!s.changed);
        }
        let s = apply(
            &PayType::Card,
            A,
            OrderState::AwaitingPayment,
            Z,
            &ps("1Z000"),
        );
        assert!(!s.changed);
    }

    #[test]
    fn card_lifecycle() {
        let c = PayType::Card;
        let s = apply(&c, A, OrderState::AwaitingPayment, Z, &ps("1C300"));
        assert_eq!(s.state, OrderState::Authorized);
        let s = apply(
            &c,
            A,
            s.state,
            Z,
            &Observation::Maintained {
                command: Command::Capture,
                amount: None,
            },
        );
        assert_eq!(s.state, OrderState::Captured);
        let s = apply(
            &c,
            A,
            s.state,
            s.refunded,
            &Observation::Maintained {
                command: Command::Refund,
                amount: Some(Amount::from_minor(10_000)),
            },
        );
        assert_eq!(s.state, OrderState::PartiallyRefunded);
        assert_eq!(s.refunded, Amount::from_minor(10_000));
        // A second partial refund accumulates.
        let s = apply(
            &c,
            A,
            s.state,
            s.refunded,
            &Observation::Maintained {
                command: Command::Refund,
                amount: Some(Amount::from_minor(10_000)),
            },
        );
        assert_eq!(s.state, OrderState::PartiallyRefunded);
        assert_eq!(s.refunded, Amount::from_minor(20_000));
        let s = apply(
            &c,
            A,
            s.state,
            s.refunded,
            &Observation::Maintained {
                command: Command::Refund,
                amount: None,
            },
        );
        assert_eq!(s.state, OrderState::Refunded);
        assert_eq!(s.refunded, A);
        // Captured row after refund: no regression.
        assert!(!apply(&c, A, s.state, s.refunded, &ps("1C400")).changed);
    }

    #[test]
    fn card_void_and_decline() {
        let c = PayType::Card;
        let s = apply(&c, A, OrderState::Authorized, Z, &ps("1C500"));
        assert_eq!(s.state, OrderState::Voided);
        assert!(!apply(&c, A, OrderState::Voided, Z, &ps("1C400")).changed);
        let s = apply(
            &c,
            A,
            OrderState::AwaitingPayment,
            Z,
            &Observation::PayResult { success: false },
        );
        assert_eq!(s.state, OrderState::Declined);
        // Captured straight away (AutoBilling=Y).
        let s = apply(&c, A, OrderState::AwaitingPayment, Z, &ps("1C400"));
        assert_eq!(s.state, OrderState::Captured);
        // Bank-reported partial refund.
        let s = apply(
            &c,
            A,
            OrderState::Captured,
            Z,
            &Observation::PayStatus {
                status: PayStatus::CardCaptured,
                refunded: Some(Amount::from_minor(5)),
            },
        );
        assert_eq!(s.state, OrderState::PartiallyRefunded);
    }

    #[test]
    fn names_round_trip() {
        for s in OrderState::ALL {
            assert_eq!(OrderState::parse(s.as_str()), Some(*s));
        }
        assert_eq!(OrderState::parse("nope"), None);
    }
}

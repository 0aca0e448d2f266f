//! Wire enumerations. Every enum keeps values it does not know in `Other(String)` instead of
//! failing, because the bank adds codes without notice (PROTOCOL.md §8.10).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

macro_rules! wire_enum {
    (
        $(#[$m:meta])*
        $name:ident { $($(#[$vm:meta])* $var:ident = $wire:literal),+ $(,)? }
    ) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vm])* $var,)+
            /// A value this version does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Every known value.
            pub const KNOWN: &'static [$name] = &[$($name::$var),+];

            /// The wire text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$var => $wire,)+
                    Self::Other(s) => s,
                }
            }

            /// Reads a wire value; unknown values become `Other`.
            #[must_use]
            pub fn parse(text: &str) -> Self {
                match text {
                    $($wire => Self::$var,)+
                    other => Self::Other(other.to_owned()),
                }
            }

            /// `false` for `Other`.
            #[must_use]
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Self::$var => f.write_str(stringify!($var)),)+
                    Self::Other(s) => write!(f, "Other({s:?})"),
                }
            }
        }

        impl FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(s))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " code"))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::parse(v))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

wire_enum!(
    /// The `APIService` of an `/Order` call.
    ApiService {
        /// 建立訂單交易: create an ATM or card order.
        OrderCreate = "OrderCreate",
        /// 訂單交易查詢: query orders (at most 300 rows).
        OrderQuery = "OrderQuery",
        /// 訊息查詢服務: resolve a PayToken.
        OrderPayQuery = "OrderPayQuery",
        /// 信用卡待請款訂單查詢: card orders authorised but not captured.
        OrderUnCapturedQuery = "OrderUnCapturedQuery",
        /// 信用卡訂單維護: capture, void or refund a card order.
        OrderMaintain = "OrderMaintain",
        /// 每日收(退)款查詢: daily receipts and refunds.
        BillQuery = "BillQuery",
        /// 撥款檔查詢: payouts to the merchant.
        AllotQuery = "AllotQuery",
    }
);

wire_enum!(
    /// How the buyer pays.
    PayType {
        /// `A`: ATM transfer to a virtual account.
        Atm = "A",
        /// `C`: credit card on the bank's hosted page.
        Card = "C",
        /// `M`: mobile pay (single source).
        Mobile = "M",
        /// `L`: LINE Pay (single source).
        LinePay = "L",
    }
);

wire_enum!(
    /// `S` or `F`: the outcome the bank reports inside a message.
    Status {
        /// `S`: 處理成功.
        Success = "S",
        /// `F`: 處理失敗.
        Failure = "F",
    }
);

wire_enum!(
    /// `Y` / `N` flags (`AutoBilling`, `RefundFlag`, …).
    Flag {
        /// `Y`.
        Yes = "Y",
        /// `N`.
        No = "N",
    }
);

wire_enum!(
    /// `PayFlag` filter of `OrderQuery`.
    PayFlag {
        /// `Y`: ATM transferred / card captured.
        Paid = "Y",
        /// `N`: ATM not transferred / card not captured (unpaid, awaiting capture, voided, …).
        Unpaid = "N",
        /// `O`: expired.
        Expired = "O",
    }
);

wire_enum!(
    /// `Command` of `OrderMaintain`.
    Command {
        /// `P`: 請款 capture.
        Capture = "P",
        /// `C`: 取消授權 void the authorisation.
        Void = "C",
        /// `R`: 退款 refund (full, or partial with `Amount`).
        Refund = "R",
    }
);

wire_enum!(
    /// `TSType` in bill and allot lists.
    TsType {
        /// `P`: a receipt.
        Payment = "P",
        /// `R`: a refund.
        Refund = "R",
    }
);

wire_enum!(
    /// `APType` of `TSResultContent`.
    ApType {
        /// `PayOut`: a payment result.
        PayOut = "PayOut",
    }
);

wire_enum!(
    /// `PayStatus` of an order (`1{PayType}{3 digits}`).
    ///
    /// Only `1A200`, `1A400` and `1C400` have been observed on the bank; the other codes are the
    /// simulator's documented policy (PROTOCOL.md §12) and may differ at the bank — unknown codes
    /// are kept as `Other`.
    PayStatus {
        /// `1A200` (observed): ATM awaiting transfer.
        AtmPending = "1A200",
        /// `1A400` (observed): ATM transfer received.
        AtmPaid = "1A400",
        /// `1A600` (sim policy): ATM virtual account expired unpaid.
        AtmExpired = "1A600",
        /// `1C200` (sim policy): card order created, buyer has not paid.
        CardPending = "1C200",
        /// `1C300` (sim policy): card authorised, not captured.
        CardAuthorized = "1C300",
        /// `1C400` (observed): card captured (請款完成).
        CardCaptured = "1C400",
        /// `1C500` (sim policy): card authorisation voided.
        CardVoided = "1C500",
        /// `1C600` (sim policy): card page expired unpaid.
        CardExpired = "1C600",
        /// `1C700` (sim policy): card payment refunded in full.
        CardRefunded = "1C700",
        /// `1C900` (sim policy): card declined.
        CardDeclined = "1C900",
    }
);

impl PayStatus {
    /// `true` when money has been received (ATM paid or card captured, refunds aside).
    #[must_use]
    pub fn is_paid(&self) -> bool {
        matches!(self, Self::AtmPaid | Self::CardCaptured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_are_kept() {
        let s: PayStatus = serde_json::from_str("\"1Z999\"").unwrap();
        assert_eq!(s, PayStatus::Other("1Z999".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"1Z999\"");
        assert_eq!(PayType::parse("A"), PayType::Atm);
        assert!(!ApiService::parse("Nope").is_known());
    }
}

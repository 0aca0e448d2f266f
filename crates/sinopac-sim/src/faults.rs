//! Fault injection: what can go wrong between the merchant and the bank, per route, with a
//! probability drawn from the simulator's seeded RNG, optionally limited to the next `n`
//! matching requests.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sinopac_proto::ApiService;

use crate::rng::SplitMix64;

/// Where a [`FaultRule`] applies.
///
/// Serialized as one string: `"Any"`, `"Nonce"`, `"Order"`, `"Callback"` or an
/// `APIService` name such as `"OrderCreate"`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route {
    /// Every `/Nonce` and `/Order` request (not callbacks).
    Any,
    /// `POST /Nonce`.
    Nonce,
    /// `POST /Order`, any service.
    Order,
    /// `POST /Order` of one service.
    Service(ApiService),
    /// BackendURL notifications sent by the sim.
    Callback,
}

impl Route {
    fn as_string(&self) -> String {
        match self {
            Self::Any => "Any".to_owned(),
            Self::Nonce => "Nonce".to_owned(),
            Self::Order => "Order".to_owned(),
            Self::Callback => "Callback".to_owned(),
            Self::Service(s) => s.as_str().to_owned(),
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "Any" | "any" => Self::Any,
            "Nonce" | "nonce" => Self::Nonce,
            "Order" | "order" => Self::Order,
            "Callback" | "callback" | "Callbacks" | "callbacks" => Self::Callback,
            other => Self::Service(ApiService::parse(other)),
        }
    }

    /// Does this rule's route cover a request to `hit`?
    pub(crate) fn covers(&self, hit: &Hit<'_>) -> bool {
        match (self, hit) {
            (Self::Any, Hit::Nonce | Hit::Order(_))
            | (Self::Nonce, Hit::Nonce)
            | (Self::Order, Hit::Order(_))
            | (Self::Callback, Hit::Callback) => true,
            (Self::Service(s), Hit::Order(h)) => s == *h,
            _ => false,
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_string())
    }
}

impl Serialize for Route {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_string())
    }
}

impl<'de> Deserialize<'de> for Route {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Self::parse(&text))
    }
}

/// What a request is, for matching rules.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hit<'a> {
    Nonce,
    Order(&'a ApiService),
    Callback,
}

/// One kind of fault.
///
/// JSON: `{"Kind":"HttpStatus","Status":503}`, `{"Kind":"Latency","Ms":250}`, `{"Kind":"Hang"}`…
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "Kind")]
#[non_exhaustive]
pub enum Fault {
    /// Wait `Ms` real milliseconds before handling the request.
    Latency {
        /// Delay in real milliseconds.
        #[serde(rename = "Ms")]
        ms: u64,
    },
    /// Answer with this HTTP status (e.g. 500, 502, 503) and a small HTML error page.
    HttpStatus {
        /// The status code.
        #[serde(rename = "Status")]
        status: u16,
    },
    /// Answer HTTP 200 with the WAF's HTML "Request Rejected" page instead of JSON.
    WafHtml,
    /// Do not answer: hold the request for [`FaultPlan::hang_max_ms`] real milliseconds (so
    /// the client's timeout fires first), then answer 504.
    Hang,
    /// Close the connection without a complete answer (the client sees a broken connection
    /// or an incomplete message).
    Reset,
    /// Answer HTTP 200 with only the first half of the real JSON body (always after
    /// processing).
    Truncate,
    /// `/Order` only: flip one character of the reply's `Sign`.
    TamperSign,
    /// `/Order` only: seal the reply with the request's (already used) nonce instead of a
    /// fresh one.
    StaleNonce,
    /// Callbacks only: do not send this attempt (it is logged as `Dropped` and counts as an
    /// attempt; the retry schedule goes on).
    Drop,
    /// Callbacks only: send this attempt twice.
    Duplicate,
    /// Callbacks only: hold this attempt back until the next callback attempt has been sent
    /// (or [`crate::SimConfig::reorder_max_hold`] passed), so later notifications overtake it.
    Reorder,
    /// Callbacks only: send this attempt `Ms` simulated milliseconds late.
    Late {
        /// Extra delay in simulated milliseconds.
        #[serde(rename = "Ms")]
        ms: u64,
    },
}

impl Fault {
    fn applies_to(&self, hit: &Hit<'_>) -> bool {
        match self {
            Self::Latency { .. }
            | Self::HttpStatus { .. }
            | Self::WafHtml
            | Self::Hang
            | Self::Reset
            | Self::Truncate => !matches!(hit, Hit::Callback),
            Self::TamperSign | Self::StaleNonce => matches!(hit, Hit::Order(_)),
            Self::Drop | Self::Duplicate | Self::Reorder | Self::Late { .. } => {
                matches!(hit, Hit::Callback)
            }
        }
    }
}

fn one() -> f64 {
    1.0
}

fn is_one(p: &f64) -> bool {
    (*p - 1.0).abs() < f64::EPSILON
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One fault rule: on `route`, inject `fault` with `probability`, optionally only for the next
/// `count` matching requests after skipping `skip` of them.
///
/// ```
/// use sinopac_sim::{Fault, FaultRule, Route};
/// use sinopac_proto::ApiService;
/// // "The next OrderCreate reply is lost after the order is created."
/// let rule = FaultRule::new(Route::Service(ApiService::OrderCreate), Fault::HttpStatus { status: 502 })
///     .after_processing()
///     .count(1);
/// assert_eq!(rule.count, Some(1));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Where it applies.
    #[serde(rename = "Route")]
    pub route: Route,
    /// What happens.
    #[serde(rename = "Fault")]
    pub fault: Fault,
    /// Chance per matching request, 0..=1 (default 1).
    #[serde(
        rename = "Probability",
        default = "one",
        skip_serializing_if = "is_one"
    )]
    pub probability: f64,
    /// Fire at most this many more times, then the rule is removed (`None`: unlimited).
    #[serde(rename = "Count", default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Let this many matching requests through first.
    #[serde(rename = "Skip", default, skip_serializing_if = "is_zero")]
    pub skip: u32,
    /// For `HttpStatus`, `WafHtml`, `Hang` and `Reset`: handle the request first (the order is created,
    /// the nonce used…), then lose the reply. Default `false`: the request never reaches the
    /// bank's logic.
    #[serde(
        rename = "AfterProcessing",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub after_processing: bool,
}

impl FaultRule {
    /// A rule that always fires on `route`.
    #[must_use]
    pub fn new(route: Route, fault: Fault) -> Self {
        Self {
            route,
            fault,
            probability: 1.0,
            count: None,
            skip: 0,
            after_processing: false,
        }
    }

    /// Sets the probability (clamped to 0..=1).
    #[must_use]
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        self
    }

    /// Fires for the next `n` matching requests only.
    #[must_use]
    pub fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// Lets `n` matching requests through first.
    #[must_use]
    pub fn skip(mut self, n: u32) -> Self {
        self.skip = n;
        self
    }

    /// Process the request, then lose the reply (see [`FaultRule::after_processing`] field).
    #[must_use]
    pub fn after_processing(mut self) -> Self {
        self.after_processing = true;
        self
    }
}

fn default_hang_max_ms() -> u64 {
    30_000
}

/// The set of active fault rules. Settable with [`crate::Sim::set_faults`] or
/// `PUT /_sim/faults`.
///
/// ```
/// use sinopac_sim::{Fault, FaultPlan, FaultRule, Route};
/// let plan = FaultPlan::default()
///     .rule(FaultRule::new(Route::Nonce, Fault::HttpStatus { status: 503 }).probability(0.1))
///     .rule(FaultRule::new(Route::Callback, Fault::Drop).count(2));
/// let json = serde_json::to_string(&plan).unwrap();
/// assert_eq!(serde_json::from_str::<FaultPlan>(&json).unwrap(), plan);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultPlan {
    /// Rules, checked in order; several may fire on one request.
    #[serde(rename = "Rules", default)]
    pub rules: Vec<FaultRule>,
    /// How long a `Hang` holds a request, in real milliseconds (default 30 000).
    #[serde(rename = "HangMaxMs", default = "default_hang_max_ms")]
    pub hang_max_ms: u64,
}

impl Default for FaultPlan {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            hang_max_ms: default_hang_max_ms(),
        }
    }
}

impl FaultPlan {
    /// Adds a rule.
    #[must_use]
    pub fn rule(mut self, rule: FaultRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Sets how long a hang lasts.
    #[must_use]
    pub fn hang_max_ms(mut self, ms: u64) -> Self {
        self.hang_max_ms = ms;
        self
    }

    /// Draws the faults for one request; consumes `skip` and `count` budgets.
    pub(crate) fn draw(&mut self, hit: &Hit<'_>, rng: &mut SplitMix64) -> Drawn {
        let mut drawn = Drawn::default();
        if self.rules.is_empty() {
            return drawn;
        }
        let mut exhausted = false;
        for rule in &mut self.rules {
            if !rule.route.covers(hit) || !rule.fault.applies_to(hit) {
                continue;
            }
            if rule.count == Some(0) {
                continue;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
                continue;
            }
            let fires = rule.probability >= 1.0 || rng.next_f64() < rule.probability;
            if !fires {
                continue;
            }
            if let Some(n) = rule.count.as_mut() {
                *n = n.saturating_sub(1);
                exhausted |= *n == 0;
            }
            drawn
                .fired
                .push((rule.fault.clone(), rule.after_processing));
        }
        if exhausted {
            self.rules.retain(|r| r.count != Some(0));
        }
        drawn.hang_max_ms = self.hang_max_ms;
        drawn
    }
}

/// The faults drawn for one request.
#[derive(Debug, Default)]
pub(crate) struct Drawn {
    pub(crate) fired: Vec<(Fault, bool)>,
    pub(crate) hang_max_ms: u64,
}

impl Drawn {
    pub(crate) fn is_empty(&self) -> bool {
        self.fired.is_empty()
    }
    pub(crate) fn latency_ms(&self) -> u64 {
        self.fired
            .iter()
            .map(|(f, _)| match f {
                Fault::Latency { ms } => *ms,
                _ => 0,
            })
            .sum()
    }
    /// The first reply-replacing fault for the given phase.
    pub(crate) fn replace(&self, after: bool) -> Option<&Fault> {
        self.fired.iter().find_map(|(f, a)| {
            (matches!(
                f,
                Fault::HttpStatus { .. } | Fault::WafHtml | Fault::Hang | Fault::Reset
            ) && *a == after)
                .then_some(f)
        })
    }
    pub(crate) fn has(&self, want: &Fault) -> bool {
        self.fired.iter().any(|(f, _)| f == want)
    }
    pub(crate) fn late_ms(&self) -> Option<u64> {
        self.fired.iter().find_map(|(f, _)| match f {
            Fault::Late { ms } => Some(*ms),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_and_skip_budgets() {
        let mut plan = FaultPlan::default().rule(
            FaultRule::new(
                Route::Service(ApiService::OrderCreate),
                Fault::HttpStatus { status: 502 },
            )
            .skip(1)
            .count(1),
        );
        let mut rng = SplitMix64::new(1);
        let svc = ApiService::OrderCreate;
        assert!(plan.draw(&Hit::Order(&svc), &mut rng).is_empty());
        assert!(plan.draw(&Hit::Nonce, &mut rng).is_empty());
        let d = plan.draw(&Hit::Order(&svc), &mut rng);
        assert!(matches!(
            d.replace(false),
            Some(Fault::HttpStatus { status: 502 })
        ));
        assert!(plan.rules.is_empty());
        assert!(plan.draw(&Hit::Order(&svc), &mut rng).is_empty());
    }

    #[test]
    fn serde_shape() {
        let plan = FaultPlan::default()
            .rule(FaultRule::new(Route::Order, Fault::Latency { ms: 5 }).probability(0.5));
        let json = serde_json::to_string(&plan).unwrap();
        assert_eq!(
            json,
            r#"{"Rules":[{"Route":"Order","Fault":{"Kind":"Latency","Ms":5},"Probability":0.5}],"HangMaxMs":30000}"#
        );
        let back: FaultPlan =
            serde_json::from_str(r#"{"Rules":[{"Route":"OrderQuery","Fault":{"Kind":"Drop"}}]}"#)
                .unwrap();
        assert_eq!(back.rules[0].route, Route::Service(ApiService::OrderQuery));
        assert_eq!(back.hang_max_ms, 30_000);
    }

    #[test]
    fn probability_draws_are_seeded() {
        let mk = || {
            FaultPlan::default().rule(FaultRule::new(Route::Nonce, Fault::WafHtml).probability(0.5))
        };
        let (mut a, mut b) = (mk(), mk());
        let (mut ra, mut rb) = (SplitMix64::new(9), SplitMix64::new(9));
        let xs: Vec<bool> = (0..64)
            .map(|_| !a.draw(&Hit::Nonce, &mut ra).is_empty())
            .collect();
        let ys: Vec<bool> = (0..64)
            .map(|_| !b.draw(&Hit::Nonce, &mut rb).is_empty())
            .collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().any(|x| *x) && xs.iter().any(|x| !*x));
    }
}

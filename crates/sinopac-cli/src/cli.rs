//! The command line (clap derive), with examples in every `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::EnvName;

const MAIN_EXAMPLES: &str = "\
Examples:
  sinopac sim serve --demo                      # a local bank on http://127.0.0.1:8080/
  sinopac order create atm --order-no A1001 --amount 500 --product 'T-shirt'
  sinopac order get A1001
  sinopac order list --from 20261101 --to 20261130 --pay-flag paid --csv > paid.csv
  sinopac sim pay A1001 && sinopac sim deliveries
  echo '{\"ShopNo\":\"NA0249_001\",\"OrderNo\":\"A1\"}' | sinopac crypto sign --nonce NjM2…
  sinopac doctor";

/// `sinopac`: the command-line tool for Bank SinoPac's 豐收款 (QPay / funBIZ) merchant API.
#[derive(Debug, Parser)]
#[command(
    name = "sinopac",
    version,
    about = "Command-line tool for Bank SinoPac's 豐收款 (QPay / funBIZ) merchant API",
    long_about = "Command-line tool for Bank SinoPac's 豐收款 (QPay / funBIZ) merchant API: \
                  orders, a crypto inspector for support work, a simulated bank, and doctor.",
    after_help = MAIN_EXAMPLES,
    after_long_help = LONG_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Examples, exit codes and configuration, printed by `sinopac --help`.
pub const LONG_HELP: &str = concat!(
    "Examples:\n",
    "  sinopac sim serve --demo                      # a local bank on http://127.0.0.1:8080/\n",
    "  sinopac order create atm --order-no A1001 --amount 500 --product 'T-shirt'\n",
    "  sinopac order get A1001\n",
    "  sinopac order list --from 20261101 --to 20261130 --pay-flag paid --csv > paid.csv\n",
    "  sinopac sim pay A1001 && sinopac sim deliveries\n",
    "  echo '{\"ShopNo\":\"NA0249_001\",\"OrderNo\":\"A1\"}' | sinopac crypto sign --nonce NjM2…\n",
    "  sinopac doctor\n\n",
    "Exit codes:\n",
    "  0  success\n",
    "  1  other failure\n",
    "  2  usage error or bad input (flags, JSON on stdin, dates, amounts)\n",
    "  3  configuration error (keys, shop number, key id, base URL, config file)\n",
    "  4  transport failure (bank or simulator unreachable, timeout, HTTP error, HTML error page)\n",
    "  5  the bank rejected the request (Status: F); the bank's code and text are printed\n",
    "  6  verification failure (a Sign did not verify, a message did not decrypt, a vector failed)\n",
    "  7  not found (no such order)\n\n",
    "Configuration (flags win over environment variables, which win over the config file):\n",
    "  SINOPAC_SHOP_NO, SINOPAC_A1, SINOPAC_A2, SINOPAC_B1, SINOPAC_B2, SINOPAC_KEY_ID,\n",
    "  SINOPAC_BASE_URL, SINOPAC_ENV (sim|sandbox|production), SINOPAC_PROFILE,\n",
    "  SINOPAC_RETURN_URL, SINOPAC_BACKEND_URL, SINOPAC_HASH_ID (crypto commands only).\n",
    "  Config file: --config FILE, else $SINOPAC_CONFIG, else ./sinopac.toml, with\n",
    "  [profiles.NAME] tables (keys: env, base_url, shop_no, key_id, a1, a2, b1, b2, hash_id,\n",
    "  return_url, backend_url) and an optional top-level default_profile = \"NAME\".\n",
    "  Secrets are never accepted as flags (except --hash-id for the crypto commands) and never\n",
    "  printed.",
);

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Profile of the config file to use ([profiles.NAME]).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "NAME"
    )]
    pub profile: Option<String>,
    /// Config file (default: $SINOPAC_CONFIG, else ./sinopac.toml).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// Environment: sim, sandbox or production (sets the default base URL).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_enum,
        value_name = "ENV"
    )]
    pub env: Option<EnvName>,
    /// API base URL (overrides SINOPAC_BASE_URL and the profile).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "URL"
    )]
    pub base_url: Option<String>,
    /// Shop number (overrides SINOPAC_SHOP_NO and the profile).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "SHOP_NO"
    )]
    pub shop_no: Option<String>,
    /// Print one JSON document (money in minor units: 50000 = NT$500).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        conflicts_with = "csv"
    )]
    pub json: bool,
    /// Log the client's calls and retries to stderr (-v: debug, -vv: trace). Never logs keys
    /// or payloads.
    #[arg(short, long, global = true, help_heading = "Global options", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print lists as CSV (money in minor units).
    #[arg(long, global = true, help_heading = "Global options")]
    pub csv: bool,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, look up, list, capture, void and refund orders.
    #[command(subcommand, visible_alias = "orders")]
    Order(OrderCmd),
    /// Daily receipts and refunds (BillQuery).
    #[command(after_help = "Examples:\n  sinopac bill 20261125\n  sinopac bill 2026-11-25 --csv")]
    Bill {
        /// The day (yyyyMMdd or yyyy-MM-dd, Taiwan time).
        date: String,
    },
    /// Payouts to the merchant (AllotQuery).
    #[command(
        after_help = "Examples:\n  sinopac allot --from 20261101 --to 20261130\n  sinopac allot --from 20261101 --to 20261130 --pay-type card --json"
    )]
    Allot {
        /// First day (yyyyMMdd or yyyy-MM-dd).
        #[arg(long)]
        from: String,
        /// Last day (yyyyMMdd or yyyy-MM-dd).
        #[arg(long)]
        to: String,
        /// Only one pay type.
        #[arg(long, value_enum)]
        pay_type: Option<PayTypeArg>,
    },
    /// Crypto inspector: HashID, IV, Sign, seal and open envelopes, check test vectors.
    #[command(subcommand)]
    Crypto(CryptoCmd),
    /// The simulated bank: serve it, and control a running one.
    #[command(subcommand)]
    Sim(SimCmd),
    /// Check the configuration and connectivity, and say what to fix.
    #[command(
        after_help = "Examples:\n  sinopac doctor\n  sinopac --profile production doctor --offline"
    )]
    Doctor {
        /// Skip the network checks (reachability, keys accepted, clock).
        #[arg(long)]
        offline: bool,
    },
}

/// `PayType` as a flag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PayTypeArg {
    /// ATM transfer to a virtual account (A).
    #[value(alias = "a")]
    Atm,
    /// Credit card (C).
    #[value(alias = "c")]
    Card,
}

/// `PayFlag` as a flag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PayFlagArg {
    /// Y: ATM transferred / card captured.
    #[value(alias = "y")]
    Paid,
    /// N: not paid / not captured.
    #[value(alias = "n")]
    Unpaid,
    /// O: expired.
    #[value(alias = "o")]
    Expired,
}

/// Which date a list filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DateBy {
    /// When the order was created (OrderDateTimeS/E).
    Order,
    /// When it was paid (PayDateTimeS/E).
    Pay,
}

/// `sinopac order …`.
#[derive(Debug, Subcommand)]
pub enum OrderCmd {
    /// Create an order (ATM virtual account or credit card).
    #[command(subcommand)]
    Create(CreateCmd),
    /// Look one order up by OrderNo.
    #[command(
        after_help = "Examples:\n  sinopac order get A1001\n  sinopac order get A1001 --json"
    )]
    Get {
        /// The merchant's OrderNo.
        order_no: String,
    },
    /// List orders in a date range (splits windows past the bank's 300-row cap).
    #[command(
        after_help = "Examples:\n  sinopac order list --from 20261101 --to 20261130\n  \
        sinopac order list --from 202611250900 --to 202611251800 --by pay --pay-type atm\n  \
        sinopac order list --from 2026-11-01 --to 2026-11-30 --pay-flag unpaid --csv\n\n\
        Dates: yyyyMMdd, yyyy-MM-dd, yyyyMMddHHmm or 'yyyy-MM-dd HH:mm', Taiwan time (UTC+8).\n\
        A --to without a time means the end of that day."
    )]
    List {
        /// Start (inclusive).
        #[arg(long)]
        from: String,
        /// End (inclusive).
        #[arg(long)]
        to: String,
        /// Filter on the order date or the pay date.
        #[arg(long, value_enum, default_value = "order")]
        by: DateBy,
        /// Only one pay type.
        #[arg(long, value_enum)]
        pay_type: Option<PayTypeArg>,
        /// Only one pay flag.
        #[arg(long, value_enum)]
        pay_flag: Option<PayFlagArg>,
    },
    /// Resolve a PayToken (OrderPayQuery): what the bank says about a payment.
    #[command(
        visible_alias = "token",
        after_help = "Examples:\n  sinopac order pay-query da1547c3d0d1649af5049125b0880c0e227f31e107cbf4f0995bed28d0f066c1"
    )]
    PayQuery {
        /// The PayToken from a callback.
        token: String,
    },
    /// Capture an authorised card order (OrderMaintain P).
    #[command(after_help = "Examples:\n  sinopac order capture C2001")]
    Capture {
        /// The merchant's OrderNo.
        order_no: String,
        /// Amount to capture in NT$ (default: the full amount).
        #[arg(long, allow_hyphen_values = true)]
        amount: Option<String>,
    },
    /// Void (cancel) an authorised card order (OrderMaintain C).
    #[command(after_help = "Examples:\n  sinopac order void C2001")]
    Void {
        /// The merchant's OrderNo.
        order_no: String,
    },
    /// Refund a captured card order, in full or in part (OrderMaintain R).
    #[command(
        after_help = "Examples:\n  sinopac order refund C2001\n  sinopac order refund C2001 --amount 120.50 --remark 'damaged item'"
    )]
    Refund {
        /// The merchant's OrderNo.
        order_no: String,
        /// Amount to refund in NT$ (default: the full amount).
        #[arg(long, allow_hyphen_values = true)]
        amount: Option<String>,
        /// Reason for the refund.
        #[arg(long)]
        remark: Option<String>,
    },
    /// Card orders authorised but not captured (OrderUnCapturedQuery).
    #[command(
        after_help = "Examples:\n  sinopac order uncaptured\n  sinopac order uncaptured C2001 --json"
    )]
    Uncaptured {
        /// Only this OrderNo.
        order_no: Option<String>,
    },
}

/// Fields common to both kinds of order.
#[derive(Debug, Args)]
pub struct CreateCommon {
    /// The merchant's OrderNo (the idempotency key; no ' \" %).
    #[arg(long)]
    pub order_no: String,
    /// Amount in NT$ (e.g. 500 or 1234.50; sent as minor units).
    #[arg(long, allow_hyphen_values = true)]
    pub amount: String,
    /// Product name shown to the buyer (at most 60 bytes of UTF-8).
    #[arg(long)]
    pub product: String,
    /// Memo (at most 30 bytes).
    #[arg(long)]
    pub memo: Option<String>,
    /// ReturnURL (default: SINOPAC_RETURN_URL / return_url in the profile).
    #[arg(long)]
    pub return_url: Option<String>,
    /// BackendURL for the payment notification (default: SINOPAC_BACKEND_URL / backend_url).
    #[arg(long)]
    pub backend_url: Option<String>,
    /// Param1, echoed back in replies and payment results (at most 255 bytes).
    #[arg(long)]
    pub param1: Option<String>,
    /// Param2.
    #[arg(long)]
    pub param2: Option<String>,
    /// Param3.
    #[arg(long)]
    pub param3: Option<String>,
}

/// `sinopac order create …`.
#[derive(Debug, Subcommand)]
pub enum CreateCmd {
    /// An ATM (virtual account) order.
    #[command(
        after_help = "Examples:\n  sinopac order create atm --order-no A1001 --amount 500 --product 'T-shirt'\n  \
        sinopac order create atm --order-no A1002 --amount 1200 --product '課程' --expire-date 20261231"
    )]
    Atm {
        /// Common fields.
        #[command(flatten)]
        common: CreateCommon,
        /// Last day to pay (yyyyMMdd, Taiwan time).
        #[arg(long, conflicts_with = "expire_days")]
        expire_date: Option<String>,
        /// Days from today (Taiwan time; the sim's today against a sim) to pay (default 3).
        #[arg(long)]
        expire_days: Option<u16>,
    },
    /// A credit-card order (the buyer pays on the bank's page).
    #[command(
        after_help = "Examples:\n  sinopac order create card --order-no C2001 --amount 799 --product 'Plan' --auto-capture\n  \
        sinopac order create card --order-no C2002 --amount 799 --product 'Plan' --capture-after-days 3"
    )]
    Card {
        /// Common fields.
        #[command(flatten)]
        common: CreateCommon,
        /// Capture right after authorisation (AutoBilling=Y). This is the default.
        #[arg(long, conflicts_with = "capture_after_days")]
        auto_capture: bool,
        /// Capture automatically after N days (AutoBilling=N, ExpBillingDays=N, 1–7).
        #[arg(long, value_name = "DAYS")]
        capture_after_days: Option<u8>,
        /// Minutes the card page stays valid (ExpMinutes, 1–30).
        #[arg(long, value_name = "MINUTES")]
        exp_minutes: Option<u8>,
    },
}

/// `sinopac crypto …`. Keys come from the environment or the config file (or `--hash-id`).
#[derive(Debug, Subcommand)]
pub enum CryptoCmd {
    /// The HashID derived from A1..B2 (masked unless --reveal).
    #[command(
        after_help = "Examples:\n  sinopac crypto hash-id\n  sinopac crypto hash-id --reveal"
    )]
    HashId {
        /// Print the full HashID (it is the AES key: handle with care).
        #[arg(long)]
        reveal: bool,
        /// Use this HashID instead of the configured keys (debugging only).
        #[arg(long, value_name = "HEX32")]
        hash_id: Option<String>,
    },
    /// The IV derived from a nonce.
    #[command(
        after_help = "Examples:\n  sinopac crypto iv NjM2NjA0MzI4ODIyODguMzo3NzI0ZDg4ZmI5Nzc2YzQ1MTNhYzg2MTk3NDBlYTRhNGU0N2IxM2Q2M2JkMTIwOGU5YzZhMGFmNGY5MjA5YzVm"
    )]
    Iv {
        /// The nonce.
        nonce: String,
    },
    /// The Sign of a payload (JSON object on stdin).
    #[command(
        after_help = "Examples:\n  sinopac crypto sign --nonce \"$NONCE\" < payload.json\n  \
        echo '{\"ShopNo\":\"NA0249_001\",\"PayToken\":\"abc\"}' | sinopac crypto sign --nonce \"$NONCE\" --show-string"
    )]
    Sign {
        /// The nonce of the envelope.
        #[arg(long)]
        nonce: String,
        /// Also print the sign string (k1=v1&k2=v2…, without nonce and HashID).
        #[arg(long)]
        show_string: bool,
        /// Use this HashID instead of the configured keys (debugging only).
        #[arg(long, value_name = "HEX32")]
        hash_id: Option<String>,
    },
    /// Encrypt and sign a payload (JSON on stdin) → {"Message","Sign"}.
    #[command(
        after_help = "Examples:\n  sinopac crypto seal --nonce \"$NONCE\" < payload.json\n  \
        sinopac crypto seal --nonce \"$NONCE\" --service OrderQuery < payload.json   # the whole envelope\n\n\
        The payload bytes are encrypted exactly as given (one trailing newline is dropped)."
    )]
    Seal {
        /// The nonce of the envelope.
        #[arg(long)]
        nonce: String,
        /// Print the whole envelope for this APIService (Version, ShopNo, APIService, Sign, Nonce, Message).
        #[arg(long, value_name = "APISERVICE")]
        service: Option<String>,
        /// Use this HashID instead of the configured keys (debugging only).
        #[arg(long, value_name = "HEX32")]
        hash_id: Option<String>,
    },
    /// Decrypt and verify an envelope (JSON on stdin, or the three flags) → the payload.
    #[command(after_help = "Examples:\n  sinopac crypto open < reply.json\n  \
        sinopac crypto open --nonce \"$N\" --message \"$M\" --sign \"$S\"\n\n\
        Exits with 6 when the Message does not decrypt or the Sign does not verify.")]
    Open {
        /// The envelope's Nonce.
        #[arg(long, requires_all = ["message", "sign"])]
        nonce: Option<String>,
        /// The envelope's Message (hex).
        #[arg(long, requires_all = ["nonce", "sign"])]
        message: Option<String>,
        /// The envelope's Sign.
        #[arg(long, requires_all = ["nonce", "message"])]
        sign: Option<String>,
        /// Use this HashID instead of the configured keys (debugging only).
        #[arg(long, value_name = "HEX32")]
        hash_id: Option<String>,
    },
    /// Known-answer vectors.
    #[command(subcommand)]
    Vectors(VectorsCmd),
}

/// `sinopac crypto vectors …`.
#[derive(Debug, Subcommand)]
pub enum VectorsCmd {
    /// Recompute every vector of a file (fixtures/vectors.json format) and report pass/fail.
    #[command(
        after_help = "Examples:\n  sinopac crypto vectors verify fixtures/vectors.json\n  \
        sinopac crypto vectors verify my-vectors.json --json\n\n\
        Each entry: name, direction (request|response), keys {A1,A2,B1,B2} or hash_id, nonce, iv,\n\
        plaintext (exact bytes), sign_string, sign, message. Absent fields are skipped.\n\
        Exits with 6 if any vector fails."
    )]
    Verify {
        /// The vectors file.
        file: PathBuf,
    },
}

/// `sinopac sim …`.
#[derive(Debug, Subcommand)]
pub enum SimCmd {
    /// Run the simulated bank.
    #[command(after_help = "Examples:\n  sinopac sim serve --demo\n  \
        sinopac sim serve --addr 127.0.0.1:9090 --time-scale 60 --faults faults.json\n  \
        sinopac sim serve --demo --fault Order:http=503:0.1 --fault Callback:drop:0.5\n  \
        SINOPAC_SHOP_NO=… SINOPAC_A1=… sinopac sim serve      # serve the configured shop\n\n\
        The shop(s): the configured shop (SINOPAC_SHOP_NO, keys, key id), the shops of\n\
        --shops FILE, or with --demo the bank's documented example shop.")]
    Serve(SimServeArgs),
    /// Pay an order at a running sim (ATM transfer, or card approval / decline).
    #[command(after_help = "Examples:\n  sinopac sim pay A1001\n  sinopac sim pay C2001 --decline")]
    Pay {
        /// The OrderNo.
        order_no: String,
        /// Decline the card payment instead of approving it.
        #[arg(long)]
        decline: bool,
    },
    /// Move a running sim's clock forward (runs auto-pay, expiry, captures, callbacks).
    #[command(
        after_help = "Examples:\n  sinopac sim advance 10m\n  sinopac sim advance 1h30m\n  sinopac sim advance 3d"
    )]
    Advance {
        /// How far: e.g. 90s, 10m, 1h30m, 2d.
        duration: String,
    },
    /// The callback (BackendURL) delivery log of a running sim.
    #[command(
        after_help = "Examples:\n  sinopac sim deliveries\n  sinopac sim deliveries --order-no A1001 --json"
    )]
    Deliveries {
        /// Only the deliveries of this OrderNo.
        #[arg(long)]
        order_no: Option<String>,
    },
    /// Show or change the fault plan of a running sim.
    #[command(after_help = "Examples:\n  sinopac sim faults\n  \
        sinopac sim faults --add OrderCreate:lose-reply:1 --add Callback:duplicate\n  \
        sinopac sim faults --set faults.json\n  sinopac sim faults --clear")]
    Faults(SimFaultsArgs),
}

/// `sinopac sim faults` options.
#[derive(Debug, Args)]
pub struct SimFaultsArgs {
    /// Replace the plan with this file (the simulator's FaultPlan JSON).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["clear"])]
    pub set: Option<PathBuf>,
    /// Add a rule ROUTE:FAULT or ROUTE:FAULT:PROBABILITY (repeatable; see `sim serve --help`).
    #[arg(long, value_name = "RULE")]
    pub add: Vec<String>,
    /// Remove every rule.
    #[arg(long)]
    pub clear: bool,
}

/// `sinopac sim serve` options.
#[derive(Debug, Args)]
pub struct SimServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Serve the bank's documented example shop (keys from PROTOCOL.md §3) in addition.
    #[arg(long)]
    pub demo: bool,
    /// A JSON file of shops: [{"ShopNo","A1","A2","B1","B2","KeyId"}, …].
    #[arg(long, value_name = "FILE")]
    pub shops: Option<PathBuf>,
    /// Sim seconds per real second (0 = the clock only moves with `sim advance`).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Seed of the simulator's random numbers (reproducible runs).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Minutes after which unpaid ATM orders pay themselves (OrderNo not ending in 9); "off" to disable.
    #[arg(long, value_name = "MINUTES|off")]
    pub atm_auto_pay: Option<String>,
    /// A fault plan (JSON, the simulator's FaultPlan format).
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,
    /// A fault rule ROUTE:FAULT or ROUTE:FAULT:PROBABILITY (repeatable). Routes: Any, Nonce, Order, Callback
    /// or an APIService. Faults: latency=MS, http=STATUS, waf, hang, tamper-sign, stale-nonce,
    /// lose-reply (process, then answer 502), drop, duplicate, reorder, late=MS.
    #[arg(long, value_name = "RULE")]
    pub fault: Vec<String>,
    /// Public base URL used in payment page links (default: http://ADDR).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

//! Durable storage: SQLite (a file in WAL mode) or PostgreSQL, behind one [`Store`].
//!
//! Both backends run the same SQL (sqlx binds `$1`-style parameters on SQLite too); the only
//! differences are the migrations (`migrations/sqlite`, `migrations/postgres`), how a write
//! transaction starts (`BEGIN IMMEDIATE` on SQLite so readers never deadlock upgrading, plain
//! `BEGIN` plus `SELECT … FOR UPDATE` on PostgreSQL) and work claiming: on PostgreSQL the
//! inbox, reconciler and outbox claim rows with `FOR UPDATE SKIP LOCKED` plus a lease, so
//! several server instances share the work; on SQLite there is one writer at a time and the
//! lease alone is enough.
//!
//! ## Durability
//!
//! SQLite runs with `journal_mode=WAL` and `synchronous=FULL` by default: a commit is on disk
//! (fsync of the WAL) before `{"Status":"S"}` is sent, so an acknowledged callback survives both
//! `kill -9` and power loss. `synchronous=NORMAL` (see [`SqliteDurability`]) survives a process
//! crash but may lose the last commits on power loss; it is faster and is offered as an
//! explicit opt-in. Callback inserts are group-committed (see [`crate::inbox::InboxWriter`]),
//! so the fsync cost is shared by a whole batch.
//!
//! Times are Unix milliseconds; amounts are 1/100 NTD.

mod rows;

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Executor, Row};

pub use rows::{
    EventRow, InboxItem, NewOrder, OrderFilter, OrderRow, OutboxAttemptRow, OutboxItem, ShopRow,
};

use crate::state::{self, Observation, OrderState};
use sinopac_proto::{Amount, PayType};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The URL is not `sqlite:…` or `postgres://…`.
    #[error("unsupported database URL (use sqlite:PATH or postgres://…)")]
    Url,
    /// A stored value could not be read back (e.g. an unknown state name).
    #[error("stored row is corrupt: {0}")]
    Corrupt(String),
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// SQLite file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// SQLite `synchronous` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteDurability {
    /// `synchronous=FULL`: commits survive power loss (default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: commits survive a process crash (kill -9) but the last ones may
    /// be lost on power loss.
    Normal,
}

#[derive(Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The store: a connection pool to SQLite or PostgreSQL. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.kind())
    }
}

/// Runs `$body` with `$pool` bound to whichever pool the store has.
macro_rules! with_pool {
    ($self:expr, $pool:ident => $body:expr) => {
        match &$self.backend {
            Backend::Sqlite($pool) => $body,
            Backend::Postgres($pool) => $body,
        }
    };
}

/// Begins a write transaction (`BEGIN IMMEDIATE` on SQLite).
macro_rules! begin_write {
    (sqlite $pool:ident) => {
        $pool.begin_with("BEGIN IMMEDIATE").await?
    };
    (postgres $pool:ident) => {
        $pool.begin().await?
    };
}

/// Runs `$body` with `$tx` a write transaction and `$lock` the row-lock suffix.
macro_rules! with_tx {
    ($self:expr, $tx:ident, $lock:ident => $body:expr) => {
        match &$self.backend {
            Backend::Sqlite(pool) => {
                let mut $tx = begin_write!(sqlite pool);
                let $lock = "";
                let out = $body;
                $tx.commit().await?;
                out
            }
            Backend::Postgres(pool) => {
                let mut $tx = begin_write!(postgres pool);
                let $lock = " FOR UPDATE";
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// How long a ReturnURL inbox item is left to its own request (which processes it at once to
/// show the buyer the result) before the inbox worker may take it.
pub const RETURN_GRACE_MS: i64 = 30_000;

const ORDER_COLS: &str = "id, shop_no, order_no, pay_type, amount, prdt_name, state, \
    bank_pay_status, ts_no, pay_token, atm_pay_no, card_pay_url, expire_date, refunded_amount, \
    needs_review, paid_at, created_at, updated_at, version, reconcile_attempts, \
    next_reconcile_at, last_error";

fn migrations(kind: StoreKind) -> Migrator {
    let (sql, name): (&'static str, &'static str) = match kind {
        StoreKind::Sqlite => (
            include_str!("../../migrations/sqlite/0001_init.sql"),
            "init",
        ),
        StoreKind::Postgres => (
            include_str!("../../migrations/postgres/0001_init.sql"),
            "init",
        ),
    };
    let list = vec![Migration::new(
        1,
        Cow::Borrowed(name),
        MigrationType::Simple,
        Cow::Borrowed(sql),
        false,
    )];
    Migrator {
        migrations: Cow::Owned(list),
        ..Migrator::DEFAULT
    }
}

/// What [`Store::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The order after the observation.
    pub order: OrderRow,
    /// The state before.
    pub from: OrderState,
    /// The event id if a transition was recorded.
    pub event_id: Option<i64>,
}

/// Extra facts recorded with an observation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservationMeta {
    /// The bank's raw PayStatus code, kept verbatim (also for unknown codes).
    pub bank_pay_status: Option<String>,
    /// The PayToken that led here.
    pub pay_token: Option<String>,
    /// Bank time of payment (Unix ms), when known.
    pub paid_at: Option<i64>,
    /// Free text for the event log.
    pub detail: Option<String>,
    /// The outbox payload to enqueue if the state changes (`None` = no notification).
    pub notify: bool,
}

/// One observation for [`Store::apply_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyItem {
    /// ShopNo.
    pub shop_no: String,
    /// OrderNo.
    pub order_no: String,
    /// What the bank said.
    pub obs: Observation,
    /// Extra facts.
    pub meta: ObservationMeta,
}

impl Store {
    /// Opens (creating if needed) an SQLite file in WAL mode.
    ///
    /// # Errors
    /// [`StoreError::Db`] if the file cannot be opened.
    pub async fn open_sqlite(
        path: &Path,
        durability: SqliteDurability,
    ) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                SqliteDurability::Full => SqliteSynchronous::Full,
                SqliteDurability::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(opts)
            .await?;
        Ok(Self {
            backend: Backend::Sqlite(pool),
        })
    }

    /// Connects to PostgreSQL. With `schema`, every connection uses that schema (created if
    /// missing) as its `search_path` — tests use this to isolate themselves.
    ///
    /// # Errors
    /// [`StoreError::Db`] if the server cannot be reached.
    pub async fn connect_postgres(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let opts = PgConnectOptions::from_str(url)?;
        let mut pool_opts = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10));
        if let Some(schema) = schema {
            if !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(StoreError::Url);
            }
            let setup = PgPool::connect_with(opts.clone()).await?;
            setup
                .execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
                .await?;
            setup.close().await;
            let stmt = format!("SET search_path TO {schema}");
            pool_opts = pool_opts.after_connect(move |conn, _meta| {
                let stmt = stmt.clone();
                Box::pin(async move {
                    conn.execute(stmt.as_str()).await?;
                    Ok(())
                })
            });
        }
        let pool = pool_opts.connect_with(opts).await?;
        Ok(Self {
            backend: Backend::Postgres(pool),
        })
    }

    /// Connects by URL: `postgres://…` / `postgresql://…`, or `sqlite:PATH` / `sqlite://PATH`.
    ///
    /// # Errors
    /// [`StoreError::Url`] for other schemes; [`StoreError::Db`] on connection failure.
    pub async fn connect(url: &str, durability: SqliteDurability) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(url, None).await
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or(path);
            Self::open_sqlite(Path::new(path), durability).await
        } else {
            Err(StoreError::Url)
        }
    }

    /// Which database this is.
    #[must_use]
    pub fn kind(&self) -> StoreKind {
        match self.backend {
            Backend::Sqlite(_) => StoreKind::Sqlite,
            Backend::Postgres(_) => StoreKind::Postgres,
        }
    }

    /// Applies the migrations for this backend (idempotent).
    ///
    /// # Errors
    /// [`StoreError::Migrate`] if a migration fails or the database has unknown ones.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let m = migrations(self.kind());
        with_pool!(self, pool => m.run(pool).await?);
        Ok(())
    }

    /// `true` if a trivial query succeeds.
    pub async fn ping(&self) -> bool {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
    }

    /// Drops a PostgreSQL schema (test clean-up). No-op on SQLite.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn drop_schema(&self, schema: &str) -> Result<(), StoreError> {
        if let Backend::Postgres(pool) = &self.backend
            && schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            pool.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
                .await?;
        }
        Ok(())
    }

    // ------------------------------------------------------------------ shops

    /// Inserts or replaces a shop's sealed credentials; returns the new credential version.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn upsert_shop(
        &self,
        shop_no: &str,
        sealed: &[u8],
        now: i64,
    ) -> Result<i64, StoreError> {
        const SQL: &str = "INSERT INTO shops (shop_no, credentials, cred_version, created_at, updated_at) \
            VALUES ($1, $2, 1, $3, $3) \
            ON CONFLICT (shop_no) DO UPDATE SET credentials = excluded.credentials, \
            cred_version = shops.cred_version + 1, updated_at = excluded.updated_at \
            RETURNING cred_version";
        let v: i64 = with_pool!(self, pool => sqlx::query(SQL)
            .bind(shop_no)
            .bind(sealed.to_vec())
            .bind(now)
            .fetch_one(pool)
            .await?
            .try_get(0)?);
        Ok(v)
    }

    /// A shop's sealed credentials and version.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn shop_credentials(
        &self,
        shop_no: &str,
    ) -> Result<Option<(Vec<u8>, i64)>, StoreError> {
        const SQL: &str = "SELECT credentials, cred_version FROM shops WHERE shop_no = $1";
        let row = with_pool!(self, pool => {
            match sqlx::query(SQL).bind(shop_no).fetch_optional(pool).await? {
                Some(r) => Some((r.try_get::<Vec<u8>, _>(0)?, r.try_get::<i64, _>(1)?)),
                None => None,
            }
        });
        Ok(row)
    }

    /// A shop's credential version (cheap check for key rotation).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn shop_version(&self, shop_no: &str) -> Result<Option<i64>, StoreError> {
        const SQL: &str = "SELECT cred_version FROM shops WHERE shop_no = $1";
        let v = with_pool!(self, pool => {
            match sqlx::query(SQL).bind(shop_no).fetch_optional(pool).await? {
                Some(r) => Some(r.try_get::<i64, _>(0)?),
                None => None,
            }
        });
        Ok(v)
    }

    /// Every shop (without credentials).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn list_shops(&self) -> Result<Vec<ShopRow>, StoreError> {
        const SQL: &str =
            "SELECT shop_no, cred_version, created_at, updated_at FROM shops ORDER BY shop_no";
        let rows = with_pool!(self, pool => {
            let mut out = Vec::new();
            for r in sqlx::query(SQL).fetch_all(pool).await? {
                out.push(ShopRow {
                    shop_no: r.try_get("shop_no")?,
                    cred_version: r.try_get("cred_version")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                });
            }
            out
        });
        Ok(rows)
    }

    // ----------------------------------------------------------------- orders

    /// Inserts a new order in its initial state. `Err(existing)` inside `Ok` when the
    /// (ShopNo, OrderNo) pair already exists.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn insert_order(
        &self,
        new: &NewOrder,
        now: i64,
    ) -> Result<Result<OrderRow, OrderRow>, StoreError> {
        let sql = format!(
            "INSERT INTO orders (shop_no, order_no, pay_type, amount, prdt_name, state, \
             expire_date, created_at, updated_at, next_reconcile_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) \
             ON CONFLICT (shop_no, order_no) DO NOTHING RETURNING {ORDER_COLS}"
        );
        let initial = OrderState::initial(&PayType::parse(&new.pay_type));
        let amount =
            i64::try_from(new.amount.minor()).map_err(|_| StoreError::Corrupt("amount".into()))?;
        let inserted = with_pool!(self, pool => {
            match sqlx::query(&sql)
                .bind(&new.shop_no)
                .bind(&new.order_no)
                .bind(&new.pay_type)
                .bind(amount)
                .bind(&new.prdt_name)
                .bind(initial.as_str())
                .bind(new.expire_date.as_deref())
                .bind(now)
                .bind(new.next_reconcile_at)
                .fetch_optional(pool)
                .await?
            {
                Some(r) => Some(rows::order_from_row!(r)),
                None => None,
            }
        });
        match inserted {
            Some(o) => Ok(Ok(o)),
            None => match self.get_order(&new.shop_no, &new.order_no).await? {
                Some(existing) => Ok(Err(existing)),
                None => Err(StoreError::Corrupt("order vanished after conflict".into())),
            },
        }
    }

    /// Records what the bank returned for OrderCreate (TSNo, virtual account, card URL).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn set_order_created(
        &self,
        id: i64,
        ts_no: Option<&str>,
        atm_pay_no: Option<&str>,
        card_pay_url: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE orders SET ts_no = COALESCE($1, ts_no), \
            atm_pay_no = COALESCE($2, atm_pay_no), card_pay_url = COALESCE($3, card_pay_url), \
            updated_at = $4 WHERE id = $5";
        with_pool!(self, pool => { sqlx::query(SQL)
            .bind(ts_no)
            .bind(atm_pay_no)
            .bind(card_pay_url)
            .bind(now)
            .bind(id)
            .execute(pool)
            .await?; });
        Ok(())
    }

    /// Marks an order whose creation the bank refused (terminal, never reconciled).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn set_create_failed(
        &self,
        id: i64,
        reason: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE orders SET state = 'create_failed', last_error = $1, \
            updated_at = $2, version = version + 1 WHERE id = $3";
        with_pool!(self, pool => { sqlx::query(SQL)
            .bind(reason)
            .bind(now)
            .bind(id)
            .execute(pool)
            .await?; });
        Ok(())
    }

    /// One order by shop and order number.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn get_order(
        &self,
        shop_no: &str,
        order_no: &str,
    ) -> Result<Option<OrderRow>, StoreError> {
        let sql = format!("SELECT {ORDER_COLS} FROM orders WHERE shop_no = $1 AND order_no = $2");
        let o = with_pool!(self, pool => {
            match sqlx::query(&sql).bind(shop_no).bind(order_no).fetch_optional(pool).await? {
                Some(r) => Some(rows::order_from_row!(r)),
                None => None,
            }
        });
        Ok(o)
    }

    /// The order a PayToken was applied to, if any.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn order_by_pay_token(
        &self,
        shop_no: &str,
        pay_token: &str,
    ) -> Result<Option<OrderRow>, StoreError> {
        let sql = format!("SELECT {ORDER_COLS} FROM orders WHERE shop_no = $1 AND pay_token = $2");
        let o = with_pool!(self, pool => {
            match sqlx::query(&sql).bind(shop_no).bind(pay_token).fetch_optional(pool).await? {
                Some(r) => Some(rows::order_from_row!(r)),
                None => None,
            }
        });
        Ok(o)
    }

    /// Lists orders, newest first.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn list_orders(&self, f: &OrderFilter) -> Result<Vec<OrderRow>, StoreError> {
        let sql = format!(
            "SELECT {ORDER_COLS} FROM orders WHERE ($1 IS NULL OR shop_no = $1) \
             AND ($2 IS NULL OR state = $2) AND ($3 = 0 OR needs_review = 1) \
             AND ($4 IS NULL OR created_at >= $4) AND ($5 IS NULL OR created_at < $5) \
             ORDER BY created_at DESC, id DESC LIMIT $6"
        );
        let limit = i64::from(f.limit.clamp(1, 1000));
        let v = with_pool!(self, pool => {
            let mut out = Vec::new();
            for r in sqlx::query(&sql)
                .bind(f.shop_no.as_deref())
                .bind(f.state.as_deref())
                .bind(i64::from(f.needs_review))
                .bind(f.created_from)
                .bind(f.created_to)
                .bind(limit)
                .fetch_all(pool)
                .await?
            {
                out.push(rows::order_from_row!(r));
            }
            out
        });
        Ok(v)
    }

    /// Counts orders per state (for metrics).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn count_by_state(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.state_counts("SELECT state, COUNT(*) FROM orders GROUP BY state ORDER BY state")
            .await
    }

    /// Applies a bank observation to an order in one transaction: lock the row, compute the
    /// transition with [`state::apply`], update the row (preserving the raw PayStatus even when
    /// the state does not change), append an event and, if asked, an outbox notification.
    /// Returns `None` if the order does not exist.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn apply(
        &self,
        shop_no: &str,
        order_no: &str,
        obs: &Observation,
        source: &str,
        meta: &ObservationMeta,
        now: i64,
    ) -> Result<Option<Applied>, StoreError> {
        let item = ApplyItem {
            shop_no: shop_no.to_owned(),
            order_no: order_no.to_owned(),
            obs: obs.clone(),
            meta: meta.clone(),
        };
        let mut out = self
            .apply_batch(std::slice::from_ref(&item), source, now)
            .await?;
        Ok(out.pop().flatten())
    }

    /// Applies many observations in ONE transaction (the reconciler uses this so that a
    /// cycle over thousands of orders costs a few commits, not thousands).
    ///
    /// # Errors
    /// [`StoreError`]; nothing is applied then.
    pub async fn apply_batch(
        &self,
        items: &[ApplyItem],
        source: &str,
        now: i64,
    ) -> Result<Vec<Option<Applied>>, StoreError> {
        let out = with_tx!(self, tx, lock => {
            let mut results = Vec::with_capacity(items.len());
            for ApplyItem { shop_no, order_no, obs, meta } in items {
                let one: Option<Applied> = {
                    let sel = format!(
                        "SELECT {ORDER_COLS} FROM orders WHERE shop_no = $1 AND order_no = $2{lock}"
                    );
                    let row = sqlx::query(&sel)
                        .bind(shop_no)
                        .bind(order_no)
                        .fetch_optional(&mut *tx)
                        .await?;
                    match row {
                        None => None,
                        Some(r) => {
                            let order: OrderRow = rows::order_from_row!(r);
                            let from = order.state()?;
                            let pay_type = PayType::parse(&order.pay_type);
                            let amount = order.amount_value();
                            let refunded = order.refunded_value();
                            let step = state::apply(&pay_type, amount, from, refunded, obs);
                            let to = step.state;
                            let refunded_i = i64::try_from(step.refunded.minor()).unwrap_or(i64::MAX);
                            let paid_at = if step.changed && to.is_paid() && order.paid_at.is_none() {
                                Some(meta.paid_at.unwrap_or(now))
                            } else {
                                None
                            };
                            let upd = "UPDATE orders SET state = $1, refunded_amount = $2, \
                                bank_pay_status = COALESCE($3, bank_pay_status), \
                                pay_token = COALESCE($4, pay_token), paid_at = COALESCE(paid_at, $5), \
                                updated_at = $6, version = version + $7, \
                                needs_review = CASE WHEN $7 = 1 THEN 0 ELSE needs_review END \
                                WHERE id = $8";
                            sqlx::query(upd)
                                .bind(to.as_str())
                                .bind(refunded_i)
                                .bind(meta.bank_pay_status.as_deref())
                                .bind(meta.pay_token.as_deref())
                                .bind(paid_at)
                                .bind(now)
                                .bind(i64::from(step.changed))
                                .bind(order.id)
                                .execute(&mut *tx)
                                .await?;
                            let mut event_id = None;
                            if step.changed {
                                let ev = "INSERT INTO order_events (order_id, from_state, to_state, source, \
                                    bank_pay_status, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                                    RETURNING id";
                                let id: i64 = sqlx::query(ev)
                                    .bind(order.id)
                                    .bind(from.as_str())
                                    .bind(to.as_str())
                                    .bind(source)
                                    .bind(meta.bank_pay_status.as_deref())
                                    .bind(meta.detail.as_deref())
                                    .bind(now)
                                    .fetch_one(&mut *tx)
                                    .await?
                                    .try_get(0)?;
                                event_id = Some(id);
                                if meta.notify {
                                    let payload = serde_json::json!({
                                        "event_id": id,
                                        "shop_no": order.shop_no,
                                        "order_no": order.order_no,
                                        "pay_type": order.pay_type,
                                        "amount": order.amount,
                                        "from": from.as_str(),
                                        "to": to.as_str(),
                                        "refunded_amount": refunded_i,
                                        "bank_pay_status": meta.bank_pay_status.as_deref().or(order.bank_pay_status.as_deref()),
                                        "source": source,
                                        "at": now,
                                    })
                                    .to_string();
                                    let ob = "INSERT INTO outbox (order_id, event_id, payload, next_attempt_at, created_at) \
                                        VALUES ($1, $2, $3, $4, $4)";
                                    sqlx::query(ob)
                                        .bind(order.id)
                                        .bind(id)
                                        .bind(payload)
                                        .bind(now)
                                        .execute(&mut *tx)
                                        .await?;
                                }
                            }
                            let mut after = order.clone();
                            after.state = to.as_str().to_owned();
                            after.refunded_amount = refunded_i;
                            if let Some(s) = &meta.bank_pay_status {
                                after.bank_pay_status = Some(s.clone());
                            }
                            if let Some(t) = &meta.pay_token {
                                after.pay_token = Some(t.clone());
                            }
                            if after.paid_at.is_none() {
                                after.paid_at = paid_at;
                            }
                            after.updated_at = now;
                            after.version += i64::from(step.changed);
                            if step.changed {
                                after.needs_review = 0;
                            }
                            Some(Applied { order: after, from, event_id })
                        }
                    }
                };
                results.push(one);
            }
            results
        });
        Ok(out)
    }

    /// The transition log of one order, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn events(&self, order_id: i64) -> Result<Vec<EventRow>, StoreError> {
        const SQL: &str = "SELECT id, order_id, from_state, to_state, source, bank_pay_status, \
            detail, created_at FROM order_events WHERE order_id = $1 ORDER BY id";
        let v = with_pool!(self, pool => {
            let mut out = Vec::new();
            for r in sqlx::query(SQL).bind(order_id).fetch_all(pool).await? {
                out.push(rows::event_from_row!(r));
            }
            out
        });
        Ok(v)
    }

    /// Number of transition events in total (tests and reports).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn count_events(&self) -> Result<i64, StoreError> {
        let v: i64 = with_pool!(self, pool => sqlx::query("SELECT COUNT(*) FROM order_events")
            .fetch_one(pool).await?.try_get(0)?);
        Ok(v)
    }

    // ------------------------------------------------------------------ inbox

    /// Durably records callbacks (one transaction for the whole batch). Returns, per item,
    /// `true` if it was new and `false` if the (ShopNo, PayToken) pair was already there.
    ///
    /// # Errors
    /// [`StoreError::Db`]; nothing of the batch is stored then.
    pub async fn inbox_insert_batch(
        &self,
        items: &[(String, String, &'static str)],
        now: i64,
    ) -> Result<Vec<bool>, StoreError> {
        const SQL: &str = "INSERT INTO inbox (shop_no, pay_token, source, received_at, next_attempt_at) \
            VALUES ($1, $2, $3, $4, $4) ON CONFLICT (shop_no, pay_token) DO NOTHING";
        let out = with_tx!(self, tx, _lock => {
            let mut out = Vec::with_capacity(items.len());
            for (shop, token, source) in items {
                let r = sqlx::query(SQL)
                    .bind(shop)
                    .bind(token)
                    .bind(*source)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                out.push(r.rows_affected() == 1);
            }
            out
        });
        Ok(out)
    }

    /// Claims up to `limit` due inbox items with a lease until `now + lease_ms` (PostgreSQL:
    /// `FOR UPDATE SKIP LOCKED`, so concurrent instances get disjoint items). ReturnURL items
    /// younger than [`RETURN_GRACE_MS`] are left to the request that is processing them.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn inbox_claim(
        &self,
        now: i64,
        limit: u32,
        lease_ms: i64,
    ) -> Result<Vec<InboxItem>, StoreError> {
        let skip = self.skip_locked();
        let sql = format!(
            "UPDATE inbox SET lease_until = $1, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM inbox WHERE state = 'pending' AND next_attempt_at <= $2 \
              AND (lease_until IS NULL OR lease_until <= $2) \
              AND (source <> 'return' OR received_at <= $2 - {RETURN_GRACE_MS}) \
              ORDER BY id LIMIT $3{skip}) \
             RETURNING id, shop_no, pay_token, source, attempts, received_at"
        );
        self.claim_inbox_like(&sql, now, limit, lease_ms).await
    }

    /// Claims one specific inbox item (the ReturnURL handler processes its own item at once).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn inbox_claim_token(
        &self,
        shop_no: &str,
        pay_token: &str,
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<InboxItem>, StoreError> {
        const SQL: &str = "UPDATE inbox SET lease_until = $1, attempts = attempts + 1 \
            WHERE shop_no = $2 AND pay_token = $3 AND state = 'pending' \
            AND (lease_until IS NULL OR lease_until <= $4) \
            RETURNING id, shop_no, pay_token, source, attempts, received_at";
        let v = with_pool!(self, pool => {
            match sqlx::query(SQL)
                .bind(now + lease_ms)
                .bind(shop_no)
                .bind(pay_token)
                .bind(now)
                .fetch_optional(pool)
                .await?
            {
                Some(r) => Some(rows::inbox_from_row!(r)),
                None => None,
            }
        });
        Ok(v)
    }

    async fn claim_inbox_like(
        &self,
        sql: &str,
        now: i64,
        limit: u32,
        lease_ms: i64,
    ) -> Result<Vec<InboxItem>, StoreError> {
        let v = with_pool!(self, pool => {
            let mut out = Vec::new();
            for r in sqlx::query(sql)
                .bind(now + lease_ms)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
            {
                out.push(rows::inbox_from_row!(r));
            }
            out
        });
        Ok(v)
    }

    /// Finishes an inbox item (`done` or `rejected`) with an outcome text.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn inbox_finish(
        &self,
        id: i64,
        state: &str,
        outcome: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE inbox SET state = $1, outcome = $2, processed_at = $3, \
            lease_until = NULL WHERE id = $4";
        with_pool!(self, pool => { sqlx::query(SQL)
            .bind(state)
            .bind(outcome)
            .bind(now)
            .bind(id)
            .execute(pool)
            .await?; });
        Ok(())
    }

    /// Schedules another attempt for an inbox item.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn inbox_retry(
        &self,
        id: i64,
        next_attempt_at: i64,
        outcome: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE inbox SET next_attempt_at = $1, outcome = $2, lease_until = NULL \
            WHERE id = $3";
        with_pool!(self, pool => { sqlx::query(SQL)
            .bind(next_attempt_at)
            .bind(outcome)
            .bind(id)
            .execute(pool)
            .await?; });
        Ok(())
    }

    /// Number of inbox items not yet processed.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn inbox_depth(&self) -> Result<i64, StoreError> {
        let v: i64 = with_pool!(self, pool => sqlx::query("SELECT COUNT(*) FROM inbox WHERE state = 'pending'")
            .fetch_one(pool).await?.try_get(0)?);
        Ok(v)
    }

    /// Inbox counts per state.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn inbox_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.state_counts("SELECT state, COUNT(*) FROM inbox GROUP BY state ORDER BY state")
            .await
    }

    /// The inbox item for a (ShopNo, PayToken), if any.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn inbox_get(
        &self,
        shop_no: &str,
        pay_token: &str,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
        const SQL: &str = "SELECT state, outcome FROM inbox WHERE shop_no = $1 AND pay_token = $2";
        let v = with_pool!(self, pool => {
            match sqlx::query(SQL).bind(shop_no).bind(pay_token).fetch_optional(pool).await? {
                Some(r) => Some((r.try_get::<String, _>(0)?, r.try_get::<Option<String>, _>(1)?)),
                None => None,
            }
        });
        Ok(v)
    }

    fn skip_locked(&self) -> &'static str {
        match self.kind() {
            StoreKind::Sqlite => "",
            StoreKind::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    // -------------------------------------------------------------- reconciler

    /// Claims up to `limit` pending orders (awaiting transfer or payment, or authorised but not
    /// yet captured) created before `created_before` whose next
    /// reconcile time has come and that are not under review, leasing them until
    /// `now + lease_ms`.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn reconcile_claim(
        &self,
        now: i64,
        created_before: i64,
        limit: u32,
        lease_ms: i64,
    ) -> Result<Vec<OrderRow>, StoreError> {
        let skip = self.skip_locked();
        let sql = format!(
            "UPDATE orders SET reconcile_lease_until = $1 WHERE id IN \
             (SELECT id FROM orders WHERE state IN ('awaiting_transfer', 'awaiting_payment', 'authorized') \
              AND needs_review = 0 AND next_reconcile_at <= $2 AND created_at <= $3 \
              AND (reconcile_lease_until IS NULL OR reconcile_lease_until <= $2) \
              ORDER BY next_reconcile_at, id LIMIT $4{skip}) \
             RETURNING {ORDER_COLS}"
        );
        let v = with_pool!(self, pool => {
            let mut out = Vec::new();
            for r in sqlx::query(&sql)
                .bind(now + lease_ms)
                .bind(now)
                .bind(created_before)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
            {
                out.push(rows::order_from_row!(r));
            }
            out
        });
        Ok(v)
    }

    /// Releases a reconciled order: records the attempt count, the next time to look and an
    /// error text, and optionally flags it for review.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn reconcile_release(
        &self,
        id: i64,
        attempts: i64,
        next_at: i64,
        error: Option<&str>,
        needs_review: bool,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE orders SET reconcile_attempts = $1, next_reconcile_at = $2, \
            last_error = $3, needs_review = CASE WHEN $4 = 1 THEN 1 ELSE needs_review END, \
            reconcile_lease_until = NULL WHERE id = $5";
        with_pool!(self, pool => { sqlx::query(SQL)
            .bind(attempts)
            .bind(next_at)
            .bind(error)
            .bind(i64::from(needs_review))
            .bind(id)
            .execute(pool)
            .await?; });
        Ok(())
    }

    /// [`Store::reconcile_release`] for many orders in one transaction:
    /// `(id, attempts, next_at, error, needs_review)`.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn reconcile_release_batch(
        &self,
        items: &[(i64, i64, i64, Option<String>, bool)],
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE orders SET reconcile_attempts = $1, next_reconcile_at = $2, \
            last_error = $3, needs_review = CASE WHEN $4 = 1 THEN 1 ELSE needs_review END, \
            reconcile_lease_until = NULL WHERE id = $5";
        with_tx!(self, tx, _lock => {
            for (id, attempts, next_at, error, review) in items {
                sqlx::query(SQL)
                    .bind(*attempts)
                    .bind(*next_at)
                    .bind(error.as_deref())
                    .bind(i64::from(*review))
                    .bind(*id)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(())
    }

    /// Clears the review flag and re-schedules reconciliation (operator action).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn clear_review(&self, id: i64, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE orders SET needs_review = 0, reconcile_attempts = 0, \
            next_reconcile_at = $1 WHERE id = $2";
        with_pool!(self, pool => { sqlx::query(SQL).bind(now).bind(id).execute(pool).await?; });
        Ok(())
    }

    // ------------------------------------------------------------------ outbox

    /// Claims due outbox notifications.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn outbox_claim(
        &self,
        now: i64,
        limit: u32,
        lease_ms: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let skip = self.skip_locked();
        let sql = format!(
            "UPDATE outbox SET lease_until = $1, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $2 \
              AND (lease_until IS NULL OR lease_until <= $2) ORDER BY id LIMIT $3{skip}) \
             RETURNING id, order_id, event_id, payload, attempts"
        );
        let v = with_pool!(self, pool => {
            let mut out = Vec::new();
            for r in sqlx::query(&sql)
                .bind(now + lease_ms)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
            {
                out.push(OutboxItem {
                    id: r.try_get("id")?,
                    order_id: r.try_get("order_id")?,
                    event_id: r.try_get("event_id")?,
                    payload: r.try_get("payload")?,
                    attempts: r.try_get("attempts")?,
                });
            }
            out
        });
        Ok(v)
    }

    /// Records one delivery attempt and the item's new state (`delivered`, `pending` with a
    /// next attempt time, or `failed`).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    #[allow(clippy::too_many_arguments)]
    pub async fn outbox_record(
        &self,
        item: &OutboxItem,
        now: i64,
        http_status: Option<u16>,
        error: Option<&str>,
        duration_ms: i64,
        new_state: &str,
        next_attempt_at: i64,
    ) -> Result<(), StoreError> {
        const ATT: &str = "INSERT INTO outbox_attempts (outbox_id, attempt, at, http_status, error, duration_ms) \
            VALUES ($1, $2, $3, $4, $5, $6)";
        const UPD: &str = "UPDATE outbox SET state = $1, next_attempt_at = $2, lease_until = NULL, \
            delivered_at = CASE WHEN $1 = 'delivered' THEN $3 ELSE delivered_at END WHERE id = $4";
        with_tx!(self, tx, _lock => {
            sqlx::query(ATT)
                .bind(item.id)
                .bind(item.attempts)
                .bind(now)
                .bind(http_status.map(i64::from))
                .bind(error)
                .bind(duration_ms)
                .execute(&mut *tx)
                .await?;
            sqlx::query(UPD)
                .bind(new_state)
                .bind(next_attempt_at)
                .bind(now)
                .bind(item.id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Delivery attempts of one outbox item.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn outbox_attempts(
        &self,
        order_id: i64,
    ) -> Result<Vec<OutboxAttemptRow>, StoreError> {
        const SQL: &str = "SELECT a.outbox_id, o.event_id, a.attempt, a.at, a.http_status, a.error, \
            a.duration_ms, o.state FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id \
            WHERE o.order_id = $1 ORDER BY a.id";
        let v = with_pool!(self, pool => {
            let mut out = Vec::new();
            for r in sqlx::query(SQL).bind(order_id).fetch_all(pool).await? {
                out.push(OutboxAttemptRow {
                    outbox_id: r.try_get(0)?,
                    event_id: r.try_get(1)?,
                    attempt: r.try_get(2)?,
                    at: r.try_get(3)?,
                    http_status: r.try_get(4)?,
                    error: r.try_get(5)?,
                    duration_ms: r.try_get(6)?,
                    state: r.try_get(7)?,
                });
            }
            out
        });
        Ok(v)
    }

    /// Outbox counts per state.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn outbox_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.state_counts("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")
            .await
    }

    /// Rows of `(state, count)` from a `SELECT state, COUNT(*) … GROUP BY state` query.
    async fn state_counts(&self, sql: &'static str) -> Result<Vec<(String, i64)>, StoreError> {
        let v = with_pool!(self, pool => {
            let mut out = Vec::new();
            for r in sqlx::query(sql).fetch_all(pool).await? {
                out.push((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?));
            }
            out
        });
        Ok(v)
    }
}

impl OrderRow {
    /// The parsed state.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for an unknown state name.
    pub fn state(&self) -> Result<OrderState, StoreError> {
        OrderState::parse(&self.state).ok_or_else(|| StoreError::Corrupt(self.state.clone()))
    }

    /// The amount.
    #[must_use]
    pub fn amount_value(&self) -> Amount {
        Amount::from_minor(u64::try_from(self.amount).unwrap_or_default())
    }

    /// The refunded amount.
    #[must_use]
    pub fn refunded_value(&self) -> Amount {
        Amount::from_minor(u64::try_from(self.refunded_amount).unwrap_or_default())
    }
}

//! [`Bank`] over `sinopac-http`: one [`Client`] per shop, built from the credentials stored
//! encrypted in the database and rebuilt when they rotate (no restart needed).
//!
//! A cached client is trusted for [`HttpBank::REFRESH`]; after that the shop's credential
//! version is re-read (one indexed query) and the client is rebuilt if it changed. The admin
//! API also invalidates the cache at once on this instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sinopac_http::{Client, Error as HttpError, RetryPolicy, Transport};
use sinopac_proto::{
    OrderCreateRequest, OrderCreateResponse, OrderListItem, OrderMaintainRequest,
    OrderMaintainResponse, OrderNo, OrderPayQueryResponse, OrderQueryRequest, PayToken, ShopNo,
};

use crate::bank::{Bank, BankError, BoxFut, QueryResult};
use crate::secrets::{MasterKey, ShopCredentials};
use crate::store::Store;

struct Cached {
    version: i64,
    checked: Instant,
    client: Client,
}

/// The bank through `sinopac-http`.
pub struct HttpBank {
    store: Store,
    master: MasterKey,
    base_url: String,
    transport: Option<Arc<dyn Transport>>,
    retry: Option<RetryPolicy>,
    cache: Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for HttpBank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBank")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl HttpBank {
    /// How long a cached client is used before its credential version is checked again.
    pub const REFRESH: Duration = Duration::from_secs(30);

    /// A bank at `base_url` (ending in `/`), reading shop credentials from `store`.
    #[must_use]
    pub fn new(store: Store, master: MasterKey, base_url: &str) -> Self {
        Self {
            store,
            master,
            base_url: base_url.to_owned(),
            transport: None,
            retry: None,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Uses this transport instead of reqwest (in-process sim, tests).
    #[must_use]
    pub fn with_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Uses this retry policy for every client.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Forgets the cached client of a shop (after a key rotation).
    pub fn invalidate(&self, shop_no: &str) {
        if let Ok(mut c) = self.cache.lock() {
            c.remove(shop_no);
        }
    }

    async fn client(&self, shop_no: &ShopNo) -> Result<Client, BankError> {
        let key = shop_no.as_str();
        let cached = self.cache.lock().ok().and_then(|c| {
            c.get(key).map(|e| {
                (
                    e.version,
                    e.checked.elapsed() < Self::REFRESH,
                    e.client.clone(),
                )
            })
        });
        if let Some((_, true, client)) = cached {
            return Ok(client);
        }
        let store_err = |e: crate::store::StoreError| BankError::NotSent(Box::new(e));
        if let Some((version, _, client)) = cached
            && self.store.shop_version(key).await.map_err(store_err)? == Some(version)
        {
            if let Ok(mut c) = self.cache.lock()
                && let Some(e) = c.get_mut(key)
            {
                e.checked = Instant::now();
            }
            return Ok(client);
        }
        let Some((sealed, version)) = self.store.shop_credentials(key).await.map_err(store_err)?
        else {
            self.invalidate(key);
            return Err(BankError::UnknownShop);
        };
        let creds = ShopCredentials::open(&self.master, shop_no, &sealed)
            .map_err(|e| BankError::Config(Box::new(e)))?;
        let keys = creds.keys().map_err(|e| BankError::Config(Box::new(e)))?;
        let mut b = Client::builder()
            .shop_no(shop_no.clone())
            .keys(keys)
            .key_id(creds.key_id.as_str())
            .base_url(&self.base_url);
        if let Some(t) = &self.transport {
            b = b.transport(Arc::clone(t));
        }
        if let Some(r) = &self.retry {
            b = b.retry_policy(*r);
        }
        let client = b.build().map_err(|e| BankError::Config(Box::new(e)))?;
        if let Ok(mut c) = self.cache.lock() {
            c.insert(
                key.to_owned(),
                Cached {
                    version,
                    checked: Instant::now(),
                    client: client.clone(),
                },
            );
        }
        Ok(client)
    }
}

/// Maps a client error to what the server can do next.
#[must_use]
pub fn map_error(e: HttpError) -> BankError {
    match e {
        HttpError::Bank {
            code, description, ..
        } => BankError::Rejected { code, description },
        HttpError::OrderNoConflict { .. } => BankError::Rejected {
            code: "conflict".into(),
            description: "OrderNo exists at the bank with different content".into(),
        },
        e @ HttpError::NotSent { .. } => BankError::NotSent(Box::new(e)),
        e @ HttpError::MaybeSent { .. } => BankError::MaybeSent(Box::new(e)),
        e @ HttpError::InvalidReply { .. } => BankError::InvalidReply(Box::new(e)),
        e => BankError::Config(Box::new(e)),
    }
}

impl Bank for HttpBank {
    fn create_order<'a>(
        &'a self,
        req: &'a OrderCreateRequest,
    ) -> BoxFut<'a, Result<OrderCreateResponse, BankError>> {
        Box::pin(async move {
            let c = self.client(&req.shop_no).await?;
            c.create_order(req).await.map_err(map_error)
        })
    }

    fn pay_query<'a>(
        &'a self,
        shop: &'a ShopNo,
        token: &'a PayToken,
    ) -> BoxFut<'a, Result<OrderPayQueryResponse, BankError>> {
        Box::pin(async move {
            let c = self.client(shop).await?;
            c.pay_query(token).await.map_err(map_error)
        })
    }

    fn find_order<'a>(
        &'a self,
        shop: &'a ShopNo,
        order_no: &'a OrderNo,
    ) -> BoxFut<'a, Result<Option<OrderListItem>, BankError>> {
        Box::pin(async move {
            let c = self.client(shop).await?;
            c.find_order(order_no).await.map_err(map_error)
        })
    }

    fn query_all(&self, req: OrderQueryRequest) -> BoxFut<'_, Result<QueryResult, BankError>> {
        Box::pin(async move {
            let shop = sinopac_proto::Request::shop_no(&req).clone();
            let c = self.client(&shop).await?;
            let out = c.query_all_vec(req).await.map_err(map_error)?;
            Ok(QueryResult {
                items: out.items,
                calls: u64::from(out.stats.calls),
            })
        })
    }

    fn maintain<'a>(
        &'a self,
        req: &'a OrderMaintainRequest,
    ) -> BoxFut<'a, Result<OrderMaintainResponse, BankError>> {
        Box::pin(async move {
            let c = self.client(&req.shop_no).await?;
            c.maintain(req).await.map_err(map_error)
        })
    }
}

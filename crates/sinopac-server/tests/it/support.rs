//! Shared helpers.

use sinopac_server::store::{SqliteDurability, Store};

/// A store for one test; PostgreSQL ones live in their own schema, dropped by `cleanup`.
pub struct TestDb {
    pub store: Store,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn cleanup(self) {
        if let Some(s) = &self.schema {
            self.store.drop_schema(s).await.unwrap();
        }
        self.store.close().await;
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("test.db"), SqliteDurability::Full)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    TestDb {
        store,
        schema: None,
        _dir: Some(dir),
    }
}

pub async fn postgres() -> Option<TestDb> {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("skipped: DATABASE_URL not set");
        return None;
    };
    if !url.starts_with("postgres") {
        eprintln!("skipped: DATABASE_URL is not a postgres:// URL");
        return None;
    }
    let schema = format!("t_{}", sinopac_server::secrets::random_hex(8));
    let store = Store::connect_postgres(&url, Some(&schema)).await.unwrap();
    store.migrate().await.unwrap();
    Some(TestDb {
        store,
        schema: Some(schema),
        _dir: None,
    })
}

/// Runs an async test body against SQLite and (if configured) PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::support::sqlite().await;
                $body(&db.store).await;
                db.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::support::postgres().await {
                    $body(&db.store).await;
                    db.cleanup().await;
                }
            }
        }
    };
}

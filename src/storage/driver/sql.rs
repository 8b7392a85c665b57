//! The `sql` driver: release records in PostgreSQL, in helm's table layout, so `helm` with
//! `HELM_DRIVER=sql` and rudder read and write each other's releases.
//!
//! helm's tables are `releases_v1` (`key` `sh.helm.release.v1.NAME.vREV`, `type`, `body` =
//! the encoded record, `name`, `namespace`, `version`, `status`, `owner`, `createdAt`,
//! `modifiedAt`; primary key (`key`, `namespace`)) and `custom_labels_v1`, created by
//! migrations recorded in `gorp_migrations` (ids `init` and `custom_labels`). rudder creates
//! them the same way when they are missing, so helm finds its migrations applied. rudder's
//! own bookkeeping (who holds an operation, its heartbeat) lives in `rudder_claims_v1`,
//! which helm never reads.

use tokio_postgres::{Client, NoTls, Row};

use super::{Driver, check_current, sql_tls};
use crate::storage::release::{self, Release};
use crate::storage::{Holder, StorageError, Stored};

/// Release records in a PostgreSQL database.
pub struct SqlDriver {
    /// One connection; transactions need it to themselves.
    client: tokio::sync::Mutex<Client>,
}

fn key(name: &str, version: u64) -> String {
    format!("sh.helm.release.v1.{name}.v{version}")
}

/// Records `holder` as holding the record `key` (heartbeat now), or clears any holder.
async fn write_claim(
    tx: &tokio_postgres::Transaction<'_>,
    key: &str,
    namespace: &str,
    holder: Option<&Holder>,
) -> Result<(), tokio_postgres::Error> {
    match holder {
        Some(holder) => {
            let heartbeat = release::format_time(&release::now());
            tx.execute(
                "INSERT INTO rudder_claims_v1 (key, namespace, holder, started, heartbeat) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key, namespace) DO UPDATE \
                 SET holder = $3, started = $4, heartbeat = $5",
                &[
                    &key,
                    &namespace,
                    &holder.holder,
                    &holder.started,
                    &heartbeat,
                ],
            )
            .await?
        }
        None => {
            tx.execute(
                "DELETE FROM rudder_claims_v1 WHERE key = $1 AND namespace = $2",
                &[&key, &namespace],
            )
            .await?
        }
    };
    Ok(())
}

fn sql_error(what: &str, e: tokio_postgres::Error) -> StorageError {
    // The cause (a refused certificate, the server's own message) is in the source chain.
    let mut text = format!("sql driver: {what}: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    StorageError::Driver(text)
}

/// Creates helm's tables (recording helm's migrations) and rudder's claims table when
/// missing, under an advisory lock so concurrent first runs do not race.
const SETUP: &str = r#"
SELECT pg_advisory_xact_lock(7346021985);
CREATE TABLE IF NOT EXISTS gorp_migrations (id text not null primary key, applied_at timestamp with time zone);
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM gorp_migrations WHERE id = 'init') THEN
    CREATE TABLE releases_v1 (
      key VARCHAR(90),
      type VARCHAR(64) NOT NULL,
      body TEXT NOT NULL,
      name VARCHAR(64) NOT NULL,
      namespace VARCHAR(64) NOT NULL,
      version INTEGER NOT NULL,
      status TEXT NOT NULL,
      owner TEXT NOT NULL,
      createdAt INTEGER NOT NULL,
      modifiedAt INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY(key, namespace)
    );
    CREATE INDEX ON releases_v1 (key, namespace);
    CREATE INDEX ON releases_v1 (version);
    CREATE INDEX ON releases_v1 (status);
    CREATE INDEX ON releases_v1 (owner);
    CREATE INDEX ON releases_v1 (createdAt);
    CREATE INDEX ON releases_v1 (modifiedAt);
    GRANT ALL ON releases_v1 TO PUBLIC;
    ALTER TABLE releases_v1 ENABLE ROW LEVEL SECURITY;
    INSERT INTO gorp_migrations (id, applied_at) VALUES ('init', now());
  END IF;
  IF NOT EXISTS (SELECT 1 FROM gorp_migrations WHERE id = 'custom_labels') THEN
    CREATE TABLE custom_labels_v1 (
      releaseKey VARCHAR(64),
      releaseNamespace VARCHAR(67),
      key VARCHAR(317),
      value VARCHAR(63)
    );
    CREATE INDEX ON custom_labels_v1 (releaseKey, releaseNamespace);
    GRANT ALL ON custom_labels_v1 TO PUBLIC;
    ALTER TABLE custom_labels_v1 ENABLE ROW LEVEL SECURITY;
    INSERT INTO gorp_migrations (id, applied_at) VALUES ('custom_labels', now());
  END IF;
END
$$;
CREATE TABLE IF NOT EXISTS rudder_claims_v1 (
  key VARCHAR(90),
  namespace VARCHAR(64),
  holder TEXT NOT NULL,
  started TEXT NOT NULL,
  heartbeat TEXT NOT NULL,
  PRIMARY KEY(key, namespace)
);
"#;

/// The columns a stored revision is read from (`r` releases, `c` claims).
const STORED_COLUMNS: &str = "r.key, r.body, c.holder, c.started, c.heartbeat, \
     md5(r.body) || '/' || coalesce(c.heartbeat, '') AS token";

impl SqlDriver {
    /// Connects with a libpq connection string (`host=… user=… dbname=… sslmode=disable`
    /// or `postgresql://user:password@host/db`) and prepares the tables.
    pub async fn connect(connection: &str) -> Result<SqlDriver, StorageError> {
        let invalid = |e: String| StorageError::Driver(format!("sql driver: {e}"));
        let tls = sql_tls::split(connection).map_err(invalid)?;
        let mut client = if tls.mode == sql_tls::SslMode::Disable {
            let (client, conn) = tokio_postgres::connect(&tls.connection, NoTls)
                .await
                .map_err(|e| sql_error("cannot connect to the database", e))?;
            tokio::spawn(conn);
            client
        } else {
            let config = sql_tls::client_config(&tls).map_err(invalid)?;
            let connector = tokio_postgres_rustls::MakeRustlsConnect::new(config);
            let (client, conn) = tokio_postgres::connect(&tls.connection, connector)
                .await
                .map_err(|e| sql_error("cannot connect to the database", e))?;
            tokio::spawn(conn);
            client
        };
        let tx = client
            .transaction()
            .await
            .map_err(|e| sql_error("cannot prepare the release tables", e))?;
        tx.batch_execute(SETUP)
            .await
            .map_err(|e| sql_error("cannot prepare the release tables", e))?;
        tx.commit()
            .await
            .map_err(|e| sql_error("cannot prepare the release tables", e))?;
        Ok(SqlDriver {
            client: tokio::sync::Mutex::new(client),
        })
    }

    fn stored_of(row: &Row, namespace: &str) -> Result<Stored, StorageError> {
        let key: String = row.get("key");
        let body: String = row.get("body");
        let release = Release::decode(body.as_bytes()).map_err(|source| StorageError::Corrupt {
            record: format!("SQL record {key}"),
            namespace: namespace.to_string(),
            source,
        })?;
        let holder: Option<String> = row.get("holder");
        Ok(Stored {
            release,
            holder: holder.map(|holder| Holder {
                holder,
                started: row.get("started"),
            }),
            heartbeat: row.get("heartbeat"),
            token: Some(row.get("token")),
        })
    }
}

#[async_trait::async_trait]
impl Driver for SqlDriver {
    fn name(&self) -> &'static str {
        "SQL"
    }

    async fn history(&self, namespace: &str, name: &str) -> Result<Vec<Stored>, StorageError> {
        let rows = self
            .client
            .lock()
            .await
            .query(
                &format!(
                    "SELECT {STORED_COLUMNS} FROM releases_v1 r LEFT JOIN rudder_claims_v1 c \
                     ON c.key = r.key AND c.namespace = r.namespace \
                     WHERE r.namespace = $1 AND r.name = $2 AND r.owner = 'helm' ORDER BY r.version"
                ),
                &[&namespace, &name],
            )
            .await
            .map_err(|e| sql_error(&format!("cannot read the history of {name}"), e))?;
        rows.iter().map(|r| Self::stored_of(r, namespace)).collect()
    }

    async fn list_latest(
        &self,
        namespace: Option<&str>,
        _skip_superseded: bool,
    ) -> Result<Vec<Release>, StorageError> {
        let rows = self
            .client
            .lock()
            .await
            .query(
                "SELECT DISTINCT ON (namespace, name) body FROM releases_v1 \
                 WHERE owner = 'helm' AND ($1::TEXT IS NULL OR namespace = $1) \
                 ORDER BY namespace, name, version DESC",
                &[&namespace],
            )
            .await
            .map_err(|e| sql_error("cannot list releases", e))?;
        // A record that cannot be read is skipped, as helm's list does.
        Ok(rows
            .iter()
            .filter_map(|r| Release::decode_summary(r.get::<_, &str>("body").as_bytes()).ok())
            .collect())
    }

    async fn create(
        &self,
        namespace: &str,
        release: &Release,
        holder: Option<&Holder>,
    ) -> Result<(), StorageError> {
        let key = key(&release.name, release.version);
        let body = String::from_utf8(release.encode()).expect("records are base64 text");
        let version = release.version as i32;
        let now = chrono::Utc::now().timestamp() as i32;
        let failed = |e| sql_error(&format!("cannot write {key}"), e);
        let mut client = self.client.lock().await;
        let tx = client.transaction().await.map_err(failed)?;
        let inserted = tx
            .execute(
                "INSERT INTO releases_v1 (key, type, body, name, namespace, version, status, owner, createdAt) \
                 VALUES ($1, 'helm.sh/release.v1', $2, $3, $4, $5, $6, 'helm', $7) ON CONFLICT DO NOTHING",
                &[&key, &body, &release.name, &namespace, &version, &release.info.status.as_str(), &now],
            )
            .await
            .map_err(failed)?;
        if inserted == 0 {
            return Err(StorageError::exists(release));
        }
        write_claim(&tx, &key, namespace, holder)
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)
    }

    async fn update(
        &self,
        namespace: &str,
        release: &Release,
        holder: Option<&Holder>,
        expect: Option<&str>,
    ) -> Result<(), StorageError> {
        let key = key(&release.name, release.version);
        let body = String::from_utf8(release.encode()).expect("records are base64 text");
        let now = chrono::Utc::now().timestamp() as i32;
        let failed = |e| sql_error(&format!("cannot update {key}"), e);
        let mut client = self.client.lock().await;
        let tx = client.transaction().await.map_err(failed)?;
        // Writers of one record take turns, so the token compared is the one replaced.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))",
            &[&key, &namespace],
        )
        .await
        .map_err(failed)?;
        let current = tx
            .query_opt(
                &format!(
                    "SELECT {STORED_COLUMNS} FROM releases_v1 r LEFT JOIN rudder_claims_v1 c \
                     ON c.key = r.key AND c.namespace = r.namespace \
                     WHERE r.key = $1 AND r.namespace = $2"
                ),
                &[&key, &namespace],
            )
            .await
            .map_err(failed)?;
        let token = current.as_ref().map(|row| row.get::<_, &str>("token"));
        check_current(namespace, release, token, expect)?;
        tx.execute(
            "UPDATE releases_v1 SET body = $3, status = $4, modifiedAt = $5 \
             WHERE key = $1 AND namespace = $2",
            &[&key, &namespace, &body, &release.info.status.as_str(), &now],
        )
        .await
        .map_err(failed)?;
        write_claim(&tx, &key, namespace, holder)
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)
    }

    async fn heartbeat(
        &self,
        namespace: &str,
        name: &str,
        version: u64,
    ) -> Result<(), StorageError> {
        let key = key(name, version);
        self.client
            .lock()
            .await
            .execute(
                "UPDATE rudder_claims_v1 SET heartbeat = $3 WHERE key = $1 AND namespace = $2",
                &[&key, &namespace, &release::format_time(&release::now())],
            )
            .await
            .map_err(|e| sql_error(&format!("cannot update {key}"), e))?;
        Ok(())
    }

    async fn delete(&self, namespace: &str, name: &str, version: u64) -> Result<(), StorageError> {
        let key = key(name, version);
        let failed = |e| sql_error(&format!("cannot delete {key}"), e);
        let mut client = self.client.lock().await;
        let tx = client.transaction().await.map_err(failed)?;
        for statement in [
            "DELETE FROM releases_v1 WHERE key = $1 AND namespace = $2",
            "DELETE FROM custom_labels_v1 WHERE releaseKey = $1 AND releaseNamespace = $2",
            "DELETE FROM rudder_claims_v1 WHERE key = $1 AND namespace = $2",
        ] {
            tx.execute(statement, &[&key, &namespace])
                .await
                .map_err(failed)?;
        }
        tx.commit().await.map_err(failed)
    }
}

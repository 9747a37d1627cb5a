//! Settings: `config/default.toml` (also embedded in the binary, so it runs from anywhere)
//! < `config/$NONGSAN_ENV.toml` < `NONGSAN__SECTION__KEY` variables < `DATABASE_URL` < flags.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

const EMBEDDED_DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub reporting: ReportingSettings,
    pub views: ViewSettings,
    pub catalogue: CatalogueSettings,
    pub shipping: ShippingSettings,
    pub payments: PaymentSettings,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
}

/// Parcel tariffs: each household's parcel pays by its weight and zone (the shipping module).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingSettings {
    pub same_province: TariffSettings,
    pub same_region: TariffSettings,
    pub other_region: TariffSettings,
    /// Export zones, checked in order; the last names no countries and takes every other one.
    pub export: Vec<ExportZoneSettings>,
}

/// The first weight step's price and each further step's (a started step counts whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TariffSettings {
    pub first_grams: i64,
    pub first_vnd: i64,
    pub step_grams: i64,
    pub step_vnd: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportZoneSettings {
    pub name: String,
    /// ISO 3166-1 alpha-2 codes; empty: every country no earlier zone names.
    pub countries: Vec<String>,
    pub tariff: TariffSettings,
}

impl ShippingSettings {
    fn validate(&self) -> anyhow::Result<()> {
        let export = self
            .export
            .iter()
            .map(|zone| (zone.name.as_str(), &zone.tariff));
        let tariffs = [
            ("same_province", &self.same_province),
            ("same_region", &self.same_region),
            ("other_region", &self.other_region),
        ];
        for (name, tariff) in tariffs.into_iter().chain(export) {
            anyhow::ensure!(
                tariff.first_grams >= 1 && tariff.step_grams >= 1,
                "shipping tariff {name}: first_grams and step_grams must be at least 1"
            );
            anyhow::ensure!(
                tariff.first_vnd >= 0 && tariff.step_vnd >= 0,
                "shipping tariff {name}: prices must not be negative"
            );
        }
        let Some((last, earlier)) = self.export.split_last() else {
            anyhow::bail!("shipping.export needs at least one zone");
        };
        anyhow::ensure!(
            last.countries.is_empty() && earlier.iter().all(|z| !z.countries.is_empty()),
            "shipping.export: only the last zone, and it must, name no countries (every other one)"
        );
        for code in earlier.iter().flat_map(|z| &z.countries) {
            anyhow::ensure!(
                isocountry::CountryCode::for_alpha2(code).is_ok(),
                "shipping.export: {code} is not an ISO 3166-1 alpha-2 code"
            );
        }
        Ok(())
    }
}

/// Bank transfers by VietQR, the platform's commission and unpaid checkouts' expiry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettings {
    /// The platform's receiving bank: its six-digit BIN (NAPAS), account number and holder.
    pub bank_bin: String,
    pub bank_account: String,
    pub bank_account_name: String,
    /// The HMAC-SHA256 key of the bank's notifications; empty: every notification is refused.
    pub notification_secret: String,
    /// The platform's share of each delivered order's goods, in percent (two decimals at most).
    pub commission_percent: f64,
    /// Unpaid bank-transfer checkouts are cancelled this long after they were made.
    #[serde(with = "humantime_serde")]
    pub expiry: Duration,
    /// How often each server looks for expired checkouts.
    #[serde(with = "humantime_serde")]
    pub expiry_check_interval: Duration,
    /// How many unpaid bank-transfer checkouts one buyer may hold at once (each holds stock
    /// until it is paid or expires).
    pub max_unpaid_transfers_per_buyer: i64,
    /// The most a cash-on-delivery checkout may ask the carrier to collect, in đồng.
    pub max_cash_on_delivery_vnd: i64,
}

impl PaymentSettings {
    /// The commission in hundredths of a percent (basis points).
    pub fn commission_basis_points(&self) -> i64 {
        (self.commission_percent * 100.0).round() as i64
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (0.0..=100.0).contains(&self.commission_percent)
                && ((self.commission_percent * 100.0).round() - self.commission_percent * 100.0)
                    .abs()
                    < 1e-6,
            "payments.commission_percent must be 0 to 100 with at most two decimals"
        );
        anyhow::ensure!(
            self.bank_bin.len() == 6 && self.bank_bin.bytes().all(|b| b.is_ascii_digit()),
            "payments.bank_bin must be six digits"
        );
        anyhow::ensure!(
            (1..=19).contains(&self.bank_account.len())
                && self.bank_account.bytes().all(|b| b.is_ascii_alphanumeric()),
            "payments.bank_account must be 1 to 19 letters or digits"
        );
        anyhow::ensure!(
            !self.expiry.is_zero()
                && !self.expiry_check_interval.is_zero()
                && self.expiry <= Duration::from_secs(366 * 24 * 3600),
            "payments.expiry (at most a year) and payments.expiry_check_interval must be positive"
        );
        anyhow::ensure!(
            self.max_unpaid_transfers_per_buyer >= 1,
            "payments.max_unpaid_transfers_per_buyer must be at least 1"
        );
        anyhow::ensure!(
            (1..=crate::validate::MAX_VND).contains(&self.max_cash_on_delivery_vnd),
            "payments.max_cash_on_delivery_vnd must be 1 to 10^15"
        );
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Where `/metrics` is served alone; empty: on `server.bind` with the API.
    pub bind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSettings {
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub dedup_window: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueSettings {
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    pub cache_bytes: usize,
    /// Empty: the index lives in memory.
    pub index_dir: String,
    #[serde(with = "humantime_serde")]
    pub follow_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub change_retention: Duration,
    pub search_threads: usize,
    pub quick_search_listings: u64,
    pub filter_cache_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
    #[serde(with = "humantime_serde")]
    pub client_request_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub keep_alive: Duration,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    pub json_body_limit: usize,
    pub import_body_limit: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub sqlite_busy_timeout: Duration,
    pub sqlite_synchronous: SqliteSynchronous,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    #[serde(with = "humantime_serde")]
    pub token_ttl: Duration,
    pub login_failures_per_email: u32,
    pub login_failures_per_address: u32,
    #[serde(with = "humantime_serde")]
    pub login_failure_window: Duration,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or CIDR ranges).
    pub trusted_proxies: Vec<crate::client_address::TrustedProxy>,
    /// Password hashing threads; 0 means one per core.
    pub hash_threads: usize,
    #[serde(with = "humantime_serde")]
    pub hash_queue_timeout: Duration,
    pub registrations_per_address: u32,
    #[serde(with = "humantime_serde")]
    pub registration_window: Duration,
    pub max_tokens_per_user: u32,
    #[serde(with = "humantime_serde")]
    pub maintenance_interval: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingSettings {
    pub timezone: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

/// How hard SQLite makes sure a commit is on disk before it returns (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    /// Every commit is synced to disk: an acknowledged order survives a power loss.
    Full,
    /// The log is synced only at checkpoints: faster, but the last commits before a power loss
    /// (not a process crash) can be lost.
    Normal,
}

impl SqliteSynchronous {
    pub fn pragma(self) -> &'static str {
        match self {
            SqliteSynchronous::Full => "FULL",
            SqliteSynchronous::Normal => "NORMAL",
        }
    }
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub bind: Option<String>,
    pub database_url: Option<String>,
}

impl Settings {
    /// Loads the layered settings from `NONGSAN_CONFIG_DIR` (default `config/`).
    pub fn load(overrides: &Overrides) -> anyhow::Result<Settings> {
        let dir = std::env::var_os("NONGSAN_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config"));
        let environment = std::env::var("NONGSAN_ENV").ok().filter(|e| !e.is_empty());
        let mut builder = Config::builder()
            .add_source(File::from_str(EMBEDDED_DEFAULTS, FileFormat::Toml))
            .add_source(File::from(dir.join("default.toml")).required(false));
        if let Some(environment) = &environment {
            // An environment named on purpose must exist: a typo should not silently run defaults.
            builder = builder
                .add_source(File::from(dir.join(format!("{environment}.toml"))).required(true));
        }
        builder = builder.add_source(
            Environment::with_prefix("NONGSAN")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                // NONGSAN__AUTH__TRUSTED_PROXIES=10.0.0.0/8,192.0.2.1
                .list_separator(",")
                .with_list_parse_key("auth.trusted_proxies"),
        );
        if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            builder = builder.set_override("database.url", url)?;
        }
        if let Some(bind) = &overrides.bind {
            builder = builder.set_override("server.bind", bind.clone())?;
        }
        if let Some(url) = &overrides.database_url {
            builder = builder.set_override("database.url", url.clone())?;
        }
        let settings: Settings = builder
            .build()
            .context("reading configuration")?
            .try_deserialize()
            .context("invalid configuration")?;
        settings.validate()?;
        Ok(settings)
    }

    /// The built-in defaults alone (for tests and tools that start from a known state).
    pub fn defaults() -> Settings {
        Config::builder()
            .add_source(File::from_str(EMBEDDED_DEFAULTS, FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .expect("the embedded config/default.toml is valid")
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.timezone()?;
        anyhow::ensure!(
            self.database.pool_size >= 1,
            "database.pool_size must be at least 1"
        );
        anyhow::ensure!(
            !self.auth.token_ttl.is_zero(),
            "auth.token_ttl must be positive"
        );
        anyhow::ensure!(
            self.auth.login_failures_per_email >= 1 && self.auth.login_failures_per_address >= 1,
            "auth.login_failures_per_* must be at least 1"
        );
        anyhow::ensure!(
            !self.auth.login_failure_window.is_zero(),
            "auth.login_failure_window must be positive"
        );
        anyhow::ensure!(
            self.auth.registrations_per_address >= 1 && !self.auth.registration_window.is_zero(),
            "auth.registrations_per_address must be at least 1 and auth.registration_window positive"
        );
        anyhow::ensure!(
            !self.auth.hash_queue_timeout.is_zero() && !self.auth.maintenance_interval.is_zero(),
            "auth.hash_queue_timeout and auth.maintenance_interval must be positive"
        );
        anyhow::ensure!(
            self.auth.max_tokens_per_user >= 1,
            "auth.max_tokens_per_user must be at least 1"
        );
        self.shipping.validate()?;
        self.payments.validate()
    }

    pub fn timezone(&self) -> anyhow::Result<chrono_tz::Tz> {
        self.reporting
            .timezone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| {
                anyhow::anyhow!(
                    "reporting.timezone: unknown time zone {:?}",
                    self.reporting.timezone
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_are_complete_and_valid() {
        let settings = Settings::defaults();
        settings.validate().unwrap();
        assert_eq!(settings.server.bind, "127.0.0.1:8080");
        assert_eq!(settings.database.url, "data/nongsan.db");
        assert_eq!(settings.auth.token_ttl, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(settings.reporting.timezone, "Asia/Ho_Chi_Minh");
        assert_eq!(settings.views.dedup_window, Duration::from_secs(600));
        assert_eq!(settings.metrics.bind, "");
    }

    /// Production serves `/metrics` on a loopback address of its own, never beside the public API.
    #[test]
    fn production_keeps_metrics_off_the_public_address() {
        let settings: Settings = Config::builder()
            .add_source(File::from_str(EMBEDDED_DEFAULTS, FileFormat::Toml))
            .add_source(File::from_str(
                include_str!("../config/production.toml"),
                FileFormat::Toml,
            ))
            .build()
            .and_then(|c| c.try_deserialize())
            .expect("config/production.toml is valid");
        settings.validate().unwrap();
        let metrics: std::net::SocketAddr = settings.metrics.bind.parse().unwrap();
        assert!(metrics.ip().is_loopback(), "{metrics}");
        assert_ne!(settings.metrics.bind, settings.server.bind);
    }
}

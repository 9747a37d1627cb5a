//! Prometheus metrics at `/metrics`: requests by route template and status with a latency
//! histogram (actix-web-prom), database pool use, orders placed and failed logins.

use std::sync::LazyLock;

use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntGauge, Opts, Registry};

use crate::db::Database;

static LOGIN_FAILURES: LazyLock<IntCounter> = LazyLock::new(|| {
    IntCounter::new("nongsan_login_failures_total", "Failed login attempts").expect("valid metric")
});

static ORDERS_PLACED: LazyLock<IntCounter> = LazyLock::new(|| {
    IntCounter::new("nongsan_orders_placed_total", "Orders placed").expect("valid metric")
});

pub fn record_login_failure() {
    LOGIN_FAILURES.inc();
}

pub fn record_order_placed() {
    ORDERS_PLACED.inc();
}

/// Reads the pool's state at scrape time.
struct PoolCollector {
    database: Database,
    in_use: IntGauge,
    idle: IntGauge,
    waiting: IntGauge,
    max: IntGauge,
}

impl PoolCollector {
    fn new(database: Database) -> prometheus::Result<Self> {
        let gauge = |name: &str, help: &str| IntGauge::with_opts(Opts::new(name, help));
        Ok(Self {
            database,
            in_use: gauge(
                "nongsan_db_pool_connections_in_use",
                "Database connections lent out",
            )?,
            idle: gauge(
                "nongsan_db_pool_connections_idle",
                "Open database connections not in use",
            )?,
            waiting: gauge(
                "nongsan_db_pool_waiting",
                "Requests waiting for a database connection",
            )?,
            max: gauge(
                "nongsan_db_pool_connections_max",
                "Largest number of database connections",
            )?,
        })
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        [&self.in_use, &self.idle, &self.waiting, &self.max]
            .into_iter()
            .flat_map(|g| g.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let state = self.database.pool().state();
        self.in_use.set(i64::from(
            state.connections.saturating_sub(state.idle_connections),
        ));
        self.idle.set(i64::from(state.idle_connections));
        self.waiting.set(self.database.waiting());
        self.max.set(i64::from(self.database.pool().max_size()));
        [&self.in_use, &self.idle, &self.waiting, &self.max]
            .into_iter()
            .flat_map(|g| g.collect())
            .collect()
    }
}

/// The metrics middleware for one app, serving `/metrics`.
pub fn middleware(database: &Database) -> anyhow::Result<PrometheusMetrics> {
    let registry = Registry::new();
    registry.register(Box::new(LOGIN_FAILURES.clone()))?;
    registry.register(Box::new(ORDERS_PLACED.clone()))?;
    registry.register(Box::new(PoolCollector::new(database.clone())?))?;
    PrometheusMetricsBuilder::new("nongsan")
        .registry(registry)
        .endpoint("/metrics")
        // Unmatched paths (404s) would otherwise make one series per path a client invents.
        .mask_unmatched_patterns("UNMATCHED")
        .build()
        .map_err(|e| anyhow::anyhow!("building metrics: {e}"))
}

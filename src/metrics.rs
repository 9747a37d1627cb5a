//! Prometheus metrics at `/metrics` (or alone on `metrics.bind`): requests by route template,
//! method and status with a latency histogram (actix-web-prom), database pool use, orders placed
//! and failed logins.

use std::sync::LazyLock;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Encoder, IntCounter, IntGauge, Opts, Registry, TextEncoder};

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

/// The metrics middleware for one app; it also serves `/metrics` when `serve_endpoint` (else
/// `metrics.bind` has a listener of its own, see `render`).
pub fn middleware(database: &Database, serve_endpoint: bool) -> anyhow::Result<PrometheusMetrics> {
    let registry = Registry::new();
    registry.register(Box::new(LOGIN_FAILURES.clone()))?;
    registry.register(Box::new(ORDERS_PLACED.clone()))?;
    registry.register(Box::new(PoolCollector::new(database.clone())?))?;
    let mut builder = PrometheusMetricsBuilder::new("nongsan")
        .registry(registry)
        // Unmatched paths (404s) would otherwise make one series per path a client invents.
        .mask_unmatched_patterns("UNMATCHED");
    if serve_endpoint {
        builder = builder.endpoint("/metrics");
    }
    builder
        .build()
        .map_err(|e| anyhow::anyhow!("building metrics: {e}"))
}

/// The Prometheus text of a registry, for the separate metrics listener.
pub fn render(registry: &Registry) -> HttpResponse {
    let mut buffer = Vec::new();
    match TextEncoder::new().encode(&registry.gather(), &mut buffer) {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(buffer),
        Err(error) => {
            crate::error::AppError::Internal(anyhow::anyhow!("encoding metrics: {error}"))
                .error_response()
        }
    }
}

/// The methods HTTP defines; any other is labelled `OTHER` in the metrics.
const KNOWN_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::CONNECT,
    Method::OPTIONS,
    Method::TRACE,
    Method::PATCH,
];

/// actix-web-prom labels requests by method: a client inventing methods (`FOOBAR123`) would make
/// one series per invention. Any unknown method becomes `OTHER` before the metrics see it; no
/// route answers either (404 or 405 alike), and the request log, further out, keeps the original.
pub async fn fold_unknown_method(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !KNOWN_METHODS.contains(req.method()) {
        req.head_mut().method = Method::from_bytes(b"OTHER").expect("a valid method token");
    }
    next.call(req).await
}

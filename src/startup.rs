//! Builds the application, binds its listener (port 0 picks a free one) and runs it until
//! SIGINT/SIGTERM, letting in-flight requests finish.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, ErrorHandlers, Next, from_fn};
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::auth::service::Guards;
use crate::catalogue::{Catalogue, CatalogueOptions};
use crate::config::Settings;
use crate::context::Context;
use crate::db::request_writes::{WriteClaim, with_claim};
use crate::db::{Database, DatabaseUrl, PoolOptions};
use crate::error::{AppError, render_plain_errors};
use crate::log_throttle::LogThrottle;
use crate::products::cache::ListingCache;
use crate::products::views::ViewCounter;

/// Writes buffered product views; failures are logged and retried on the next call.
async fn flush_views(ctx: &Context, views: &Arc<ViewCounter>) {
    let (db, views, timezone) = (ctx.db.clone(), views.clone(), ctx.timezone);
    let outcome = tokio::task::spawn_blocking(move || views.flush(&db, timezone)).await;
    match outcome {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            // Every tick meets a full disk or a database outage until it ends.
            static FAILED: LogThrottle = LogThrottle::new(Duration::from_secs(10));
            if let Some(held_back) = FAILED.due() {
                tracing::warn!(error = %error, held_back, "writing product views failed; will retry")
            }
        }
        Err(error) => tracing::error!(error = %error, "view flush task failed"),
    }
}

pub struct Application {
    server: Server,
    port: u16,
    /// `/metrics` alone on `metrics.bind`, when that is set.
    metrics_server: Option<(Server, u16)>,
    ctx: web::Data<Context>,
    views: web::Data<ViewCounter>,
    flusher: tokio::task::JoinHandle<()>,
    maintainer: tokio::task::JoinHandle<()>,
    expirer: tokio::task::JoinHandle<()>,
}

pub fn pool_options(settings: &Settings) -> PoolOptions {
    PoolOptions {
        max_size: settings.database.pool_size,
        connect_timeout: settings.database.connect_timeout,
        sqlite_busy_timeout: settings.database.sqlite_busy_timeout,
        sqlite_synchronous: settings.database.sqlite_synchronous,
    }
}

/// Opens the configured database and applies pending migrations.
pub fn open_database(settings: &Settings) -> anyhow::Result<Database> {
    let url = DatabaseUrl::parse(&settings.database.url);
    let database = Database::connect(url.clone(), &pool_options(settings))?;
    let applied = database.migrate()?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), database = %url.redacted(), "applied migrations");
    }
    after_migrations(&database)?;
    Ok(database)
}

/// Data work the migrations left to the code, done at startup until it is complete (a process
/// killed half-way does it again): products' search texts gain their origin's names once the
/// current map is loaded (folding text needs Rust, not SQL).
pub fn after_migrations(database: &Database) -> anyhow::Result<()> {
    let pending = database.run_blocking(|conn| Ok(crate::db::pending_work(conn)?))?;
    for task in pending {
        match task.as_str() {
            PRODUCT_SEARCH_TEXTS => {
                let written = database.run_blocking(|conn| {
                    let map = crate::provinces::repo::load(conn)?;
                    let written = crate::products::service::refresh_search_texts(conn, &map)?;
                    crate::db::finish_work(conn, PRODUCT_SEARCH_TEXTS)?;
                    Ok(written)
                })?;
                tracing::info!(
                    products = written,
                    "search texts name the products' provinces"
                );
            }
            other => tracing::warn!(task = other, "unknown data work left by a migration"),
        }
    }
    Ok(())
}

/// Opens (or builds) this server's catalogue index and starts following the change feed.
fn start_catalogue(ctx: &Context, settings: &Settings) -> anyhow::Result<Arc<Catalogue>> {
    let dir = settings.catalogue.index_dir.trim();
    let options = CatalogueOptions {
        dir: (!dir.is_empty()).then(|| std::path::PathBuf::from(dir)),
        follow_interval: settings.catalogue.follow_interval,
        change_retention: settings.catalogue.change_retention,
        search_threads: settings.catalogue.search_threads,
        quick_search_listings: settings.catalogue.quick_search_listings,
        filter_cache_bytes: settings.catalogue.filter_cache_bytes,
        database_identity: DatabaseUrl::parse(&settings.database.url)
            .redacted()
            .to_string(),
    };
    let source = Arc::new(crate::products::listings::CatalogueListings {
        map: ctx.map.clone(),
    });
    Catalogue::start(ctx.db.clone(), source, options)
}

/// Products' search texts written again with their origin's names (migration `…000002`).
const PRODUCT_SEARCH_TEXTS: &str = "product_search_texts";

impl Application {
    /// Opens and migrates the database, then binds the listener.
    pub fn build(settings: Settings) -> anyhow::Result<Application> {
        let database = open_database(&settings)?;
        Self::build_with_database(settings, database)
    }

    pub fn build_with_database(
        settings: Settings,
        database: Database,
    ) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(&settings.server.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.server.bind))?;
        let port = listener.local_addr()?.port();
        let map = database.run_blocking(|conn| Ok(crate::provinces::repo::load(conn)?))?;
        let mut ctx = Context::new(database.clone(), settings.clone(), map)?;
        ctx.catalogue = Some(start_catalogue(&ctx, &settings)?);
        let ctx = web::Data::new(ctx);
        let guards = web::Data::new(Guards::new(&settings.auth)?);
        let views = web::Data::new(ViewCounter::new(
            settings.views.dedup_window,
            crate::products::views::DEDUP_CAPACITY,
        ));
        let listing_cache = web::Data::new(ListingCache::new(
            settings.catalogue.cache_ttl,
            settings.catalogue.cache_bytes,
        ));
        let flusher = tokio::spawn(flush_views_periodically(
            ctx.clone().into_inner(),
            views.clone().into_inner(),
            settings.views.flush_interval,
        ));
        let maintainer = tokio::spawn(maintain_accounts_periodically(
            ctx.clone().into_inner(),
            guards.clone().into_inner(),
            settings.auth.maintenance_interval,
        ));
        let expirer = tokio::spawn(expire_checkouts_periodically(
            ctx.clone().into_inner(),
            settings.payments.expiry_check_interval,
        ));
        let metrics_listener = match settings.metrics.bind.trim() {
            "" => None,
            bind => Some(
                TcpListener::bind(bind)
                    .map_err(|e| anyhow::anyhow!("cannot listen on {bind} (metrics.bind): {e}"))?,
            ),
        };
        let metrics = crate::metrics::middleware(&database, metrics_listener.is_none())?;
        let metrics_server = match metrics_listener {
            Some(listener) => Some(metrics_only_server(listener, &metrics, &settings)?),
            None => None,
        };
        let (app_ctx, app_views) = (ctx.clone(), views.clone());
        let json_limit = settings.server.json_body_limit;
        let request_timeout = settings.server.request_timeout;

        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(ctx.clone())
                .app_data(guards.clone())
                .app_data(views.clone())
                .app_data(listing_cache.clone())
                .app_data(web::PayloadConfig::new(json_limit))
                .wrap(from_fn(move |req, next| {
                    enforce_timeout(request_timeout, req, next)
                }))
                .wrap(ErrorHandlers::new().default_handler(render_plain_errors))
                .wrap(from_fn(crate::metrics::fold_unknown_method))
                .wrap(metrics.clone())
                .wrap(from_fn(crate::telemetry::log_request))
                .wrap(TracingLogger::default())
                .wrap(security_headers())
                .configure(crate::health::config)
                .configure(crate::openapi::config)
                .service(
                    web::scope("/api/v1")
                        .configure(crate::auth::routes::config)
                        .configure(crate::accounts::routes::config)
                        .configure(crate::provinces::config)
                        .configure(crate::households::routes::config)
                        .configure(crate::products::routes::config)
                        .configure(crate::orders::routes::config)
                        .configure(crate::checkout::routes::config)
                        .configure(crate::payments::routes::config)
                        .configure(crate::ledger::routes::config)
                        .configure(crate::reports::routes::config)
                        .configure(crate::imports::routes::config),
                )
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(AppError::not_found("resource"))
                }))
        })
        .listen(listener)?
        .client_request_timeout(settings.server.client_request_timeout)
        .keep_alive(settings.server.keep_alive)
        .shutdown_timeout(settings.server.shutdown_timeout.as_secs());
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        tracing::info!(port, "listening");
        Ok(Application {
            server: server.run(),
            port,
            metrics_server,
            ctx: app_ctx,
            views: app_views,
            flusher,
            maintainer,
            expirer,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate `/metrics` listener, when `metrics.bind` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(_, port)| *port)
    }

    /// Serves until a shutdown signal; in-flight requests get `server.shutdown_timeout` to finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.map(|(server, _)| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        let served = self.server.await;
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        self.flusher.abort();
        self.maintainer.abort();
        self.expirer.abort();
        flush_views(&self.ctx, &self.views.clone().into_inner()).await;
        served
    }

    /// A handle for stopping the server from elsewhere (tests).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// Headers on every answer, errors included: browsers must not guess a content type (a product
/// name in a JSON or CSV answer must never run as HTML or script).
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new().add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

/// `/metrics` alone on its own listener (`metrics.bind`), e.g. on loopback for a local agent
/// while the API is public. Stopped by `run_until_stopped` after the API.
fn metrics_only_server(
    listener: TcpListener,
    metrics: &actix_web_prom::PrometheusMetrics,
    settings: &Settings,
) -> anyhow::Result<(Server, u16)> {
    let port = listener.local_addr()?.port();
    let registry = metrics.registry.clone();
    let server = HttpServer::new(move || {
        let registry = registry.clone();
        App::new()
            .wrap(security_headers())
            .route(
                "/metrics",
                web::get().to(move || {
                    let registry = registry.clone();
                    async move { crate::metrics::render(&registry) }
                }),
            )
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(AppError::not_found("resource"))
            }))
    })
    .listen(listener)?
    .workers(1)
    .disable_signals()
    .shutdown_timeout(settings.server.shutdown_timeout.as_secs())
    .run();
    tracing::info!(port, "metrics listening");
    Ok((server, port))
}

async fn flush_views_periodically(
    ctx: Arc<Context>,
    views: Arc<ViewCounter>,
    every: std::time::Duration,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        flush_views(&ctx, &views).await;
    }
}

/// Deletes expired tokens and lets the throttles forget what has ended, so neither the table
/// nor the memory grows with accounts that stopped coming back.
async fn maintain_accounts_periodically(
    ctx: Arc<Context>,
    guards: Arc<Guards>,
    every: std::time::Duration,
) {
    // The first round one interval after startup, not at it (the database may still be coming up).
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        guards.prune();
        match crate::auth::service::purge_expired_tokens(&ctx).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired tokens deleted"),
            Err(error) => {
                tracing::warn!(error = %error, "deleting expired tokens failed; will retry")
            }
        }
    }
}

/// Cancels unpaid bank-transfer checkouts whose time ran out. Every server runs it; each
/// checkout is expired by exactly one (a conditional update decides).
async fn expire_checkouts_periodically(ctx: Arc<Context>, every: std::time::Duration) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match crate::checkout::service::expire_due(&ctx, crate::time::now_utc()).await {
            Ok(0) => {}
            Ok(expired) => {
                tracing::info!(expired, "unpaid checkouts expired, their orders cancelled")
            }
            Err(error) => tracing::warn!(error = %error, "expiring checkouts failed; will retry"),
        }
    }
}

/// Answers 503 `unavailable` when a request waits longer than `server.request_timeout`; a
/// request one of whose writes has started is let finish instead, and answers what happened
/// (see [`crate::db::request_writes`]). (The request must not be cloned here: routing, further
/// in, needs it unshared.)
async fn enforce_timeout(
    limit: std::time::Duration,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path().to_owned();
    let claim = WriteClaim::default();
    let call = with_claim(claim.clone(), next.call(req));
    let mut call = std::pin::pin!(call);
    match actix_web::rt::time::timeout(limit, call.as_mut()).await {
        Ok(response) => response,
        Err(_elapsed) if claim.abandon() => {
            tracing::warn!(path, "request timed out");
            Err(AppError::Unavailable("request timed out".into()).into())
        }
        Err(_elapsed) => {
            tracing::warn!(
                path,
                "request past its timeout finishes the write it started"
            );
            call.await
        }
    }
}

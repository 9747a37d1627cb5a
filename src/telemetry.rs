//! Logging with `tracing`: human text by default, JSON lines with `log.format = "json"`.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(settings: &LogSettings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Logs one line per request: method, route template, path (never the query string, which could
/// carry secrets), status and latency. Bodies and headers are never logged.
pub async fn log_request(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let result = next.call(req).await;
    let (status, route) = match &result {
        Ok(response) => (
            response.status().as_u16(),
            response
                .request()
                .match_pattern()
                .unwrap_or_else(|| "UNMATCHED".to_owned()),
        ),
        Err(error) => (
            error.as_response_error().status_code().as_u16(),
            "UNMATCHED".to_owned(),
        ),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(method, route, path, status, latency_ms, "request");
    } else {
        tracing::info!(method, route, path, status, latency_ms, "request");
    }
    result
}

//! Benchmark baseline: the smallest actix-web server, to measure what the machine can serve.
//! `cargo run --release --features bench-baselines --bin bench-hello -- 127.0.0.1:18090`

use actix_web::{App, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18090".to_owned());
    HttpServer::new(|| {
        App::new().route(
            "/",
            web::get().to(|| async { HttpResponse::Ok().body("Hello") }),
        )
    })
    .bind(bind)?
    .run()
    .await
}

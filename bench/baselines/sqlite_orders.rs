//! Benchmark baseline: placing orders on SQLite with nothing but the statements themselves
//! (take stock, insert the order, insert its line) through the same driver (diesel), from
//! THREADS threads for SECONDS seconds. Prints orders per second.
//! `cargo run --release --features bench-baselines --bin bench-sqlite-orders -- FILE THREADS SECONDS`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

#[derive(QueryableByName)]
struct Target {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    household_id: String,
}

#[derive(QueryableByName)]
struct Snapshot {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = BigInt)]
    price_vnd: i64,
    #[diesel(sql_type = BigInt)]
    unit_weight_grams: i64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let file = args.get(1).expect("FILE").clone();
    let threads: usize = args.get(2).map(|t| t.parse().unwrap()).unwrap_or(32);
    let seconds: u64 = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(10);
    // As the server: every commit synced (FULL) unless told NORMAL.
    let synchronous = args.get(4).cloned().unwrap_or_else(|| "FULL".to_owned());
    let mut setup = SqliteConnection::establish(&file).expect("open");
    let targets: Vec<Target> =
        diesel::sql_query("SELECT id, household_id FROM products ORDER BY id LIMIT 10000")
            .load(&mut setup)
            .expect("products");
    let targets = Arc::new(targets);
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (file, targets, done, synchronous) = (
                file.clone(),
                targets.clone(),
                done.clone(),
                synchronous.clone(),
            );
            std::thread::spawn(move || {
                let mut conn = SqliteConnection::establish(&file).expect("open");
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = 5000; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
                ))
                .unwrap();
                let mut n = t * 7919;
                while Instant::now() < deadline {
                    n = (n * 1_103_515_245 + 12345) % 2_147_483_648;
                    let target = &targets[n % targets.len()];
                    let now = chrono::Utc::now().naive_utc();
                    let order_id = uuid::Uuid::now_v7().to_string();
                    let placed = conn.immediate_transaction(|conn| {
                        let snapshot: Snapshot = diesel::sql_query(
                            "UPDATE products SET stock_quantity = stock_quantity - 1, updated_at = ? \
                             WHERE id = ? AND status = 'active' AND stock_quantity >= 1 \
                             RETURNING name, category, price_vnd, unit_weight_grams",
                        )
                        .bind::<diesel::sql_types::Timestamp, _>(now)
                        .bind::<Text, _>(&target.id)
                        .get_result(conn)?;
                        diesel::sql_query(
                            "INSERT INTO orders (id, buyer_id, household_id, status, total_vnd, total_weight_grams, \
                             recipient_name, phone, address, province_code, country_code, payment_method, \
                             payment_status, placed_at) VALUES (?, NULL, ?, 'placed', ?, ?, 'B', '0987654321', 'A', \
                             NULL, 'VN', 'cod', 'unpaid', ?)",
                        )
                        .bind::<Text, _>(&order_id)
                        .bind::<Text, _>(&target.household_id)
                        .bind::<BigInt, _>(snapshot.price_vnd)
                        .bind::<BigInt, _>(snapshot.unit_weight_grams)
                        .bind::<diesel::sql_types::Timestamp, _>(now)
                        .execute(conn)?;
                        diesel::sql_query(
                            "INSERT INTO order_items (order_id, line_no, product_id, product_name, product_category, \
                             quantity, unit_price_vnd, unit_weight_grams, line_total_vnd) VALUES (?, 1, ?, ?, ?, 1, ?, ?, ?)",
                        )
                        .bind::<Text, _>(&order_id)
                        .bind::<Text, _>(&target.id)
                        .bind::<Text, _>(&snapshot.name)
                        .bind::<Text, _>(&snapshot.category)
                        .bind::<BigInt, _>(snapshot.price_vnd)
                        .bind::<BigInt, _>(snapshot.unit_weight_grams)
                        .bind::<BigInt, _>(snapshot.price_vnd)
                        .execute(conn)?;
                        diesel::QueryResult::Ok(())
                    });
                    if placed.is_ok() {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    println!(
        "{:.1}",
        done.load(Ordering::Relaxed) as f64 / seconds as f64
    );
}

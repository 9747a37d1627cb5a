//! The demo's money today: a buyer's checkouts across three farms (cash on delivery, a paid bank
//! transfer, an unpaid one with a short payment), their deliveries, and one payout batch. Made
//! through the services the API calls, so the demo's books are what real traffic books.

use chrono::Utc;

use crate::api::Paging;
use crate::auth::CurrentUser;
use crate::auth::repo::{User, find_user, find_user_by_email_key};
use crate::catalogue::Sort;
use crate::checkout::placing::{Cart, Placed, place};
use crate::checkout::service::CheckoutWithOrders;
use crate::context::Context;
use crate::error::{AppError, AppResult};
use crate::households::model::{HouseholdEdit, PayoutAccountInput};
use crate::ids::HouseholdId;
use crate::ledger::service::pay_out;
use crate::orders::model::{LineInput, OrderInput, ShippingInput};
use crate::orders::service::{Move, make_move};
use crate::payments::model::Credit;
use crate::payments::service::receive;
use crate::products::repo::{self as products, Product, ProductFilter};

/// What the money flow made, for the loader's summary.
#[derive(Debug, Default)]
pub struct MoneySummary {
    pub checkouts: usize,
    pub payments: usize,
    pub payout_vnd: i64,
}

/// A demo account as the services see a signed-in caller.
fn signed_in(user: User) -> CurrentUser {
    CurrentUser {
        id: user.id,
        role: user.role,
        user,
        token_hash: String::new(),
    }
}

/// The demo account with this email.
async fn caller(ctx: &Context, email: &str) -> AppResult<CurrentUser> {
    let key = email.to_lowercase();
    let user = ctx
        .db
        .run(move |conn| Ok(find_user_by_email_key(conn, &key)?))
        .await?;
    user.map(signed_in)
        .ok_or_else(|| AppError::not_found("demo account"))
}

/// The owner of a household.
async fn owner(ctx: &Context, household: HouseholdId) -> AppResult<CurrentUser> {
    let user = ctx
        .db
        .run(move |conn| {
            let owner = crate::households::repo::find(conn, &household)?.and_then(|h| h.owner_id);
            Ok(match owner {
                Some(id) => find_user(conn, &id)?,
                None => None,
            })
        })
        .await?;
    user.map(signed_in)
        .ok_or_else(|| AppError::not_found("demo household owner"))
}

/// The most viewed products in stock of three different households.
async fn three_farms(ctx: &Context) -> AppResult<Vec<Product>> {
    let filter = ProductFilter {
        in_stock: true,
        ..ProductFilter::default()
    };
    let paging = Paging {
        page: 1,
        per_page: 100,
    };
    let (popular, _) = ctx
        .db
        .run(move |conn| Ok(products::list(conn, &filter, Sort::Popular, paging)?))
        .await?;
    let mut chosen: Vec<Product> = Vec::new();
    for product in popular.into_iter().filter(|p| p.stock_quantity >= 10) {
        if chosen.len() < 3
            && chosen
                .iter()
                .all(|c| c.household_id != product.household_id)
        {
            chosen.push(product);
        }
    }
    if chosen.len() < 3 {
        return Err(AppError::not_found("three demo farms with stock"));
    }
    Ok(chosen)
}

async fn check_out(
    ctx: &Context,
    buyer: &CurrentUser,
    lines: &[(&Product, i64)],
    payment_method: &str,
) -> AppResult<CheckoutWithOrders> {
    let ids: Vec<String> = lines.iter().map(|(p, _)| p.id.to_string()).collect();
    let input = OrderInput {
        items: ids
            .iter()
            .zip(lines)
            .map(|(id, (_, quantity))| LineInput {
                product: id,
                quantity: *quantity,
                unit_price_vnd: None,
            })
            .collect(),
        shipping: ShippingInput {
            recipient_name: Some("Trần Thị Hoa"),
            phone: Some("0987 654 321"),
            address: Some("12 Hàng Bạc"),
            // Phường Hoàn Kiếm, Hà Nội.
            commune_code: Some("00070"),
            ..ShippingInput::default()
        },
        payment_method: Some(payment_method),
        note: Some("Giao giờ hành chính"),
    };
    match place(ctx, buyer.clone(), None, input, Cart::AcrossFarms).await? {
        Placed::Created(placed) | Placed::Replayed(placed) => Ok(placed),
        Placed::ReplayedOrder(_) => Err(AppError::not_found("demo checkout")),
    }
}

/// Confirms, ships and delivers every order of a checkout, as each household's owner.
async fn deliver_all(ctx: &Context, placed: &CheckoutWithOrders) -> AppResult<()> {
    for order in &placed.orders {
        let farmer = owner(ctx, order.order.household_id).await?;
        let id = order.order.id.to_string();
        for step in [
            Move::Confirm,
            Move::Ship {
                tracking_code: Some(format!("VN{}", &id[..8]).to_uppercase()),
            },
            Move::Deliver,
        ] {
            make_move(ctx, farmer.clone(), &id, step).await?;
        }
    }
    Ok(())
}

async fn bank_pays(ctx: &Context, transaction_id: &str, amount: i64, code: &str) -> AppResult<()> {
    receive(
        ctx,
        Credit {
            transaction_id: transaction_id.to_owned(),
            amount_vnd: amount,
            description: format!("MBVCB.{transaction_id}.{code}.CT tu 0987654321 TRAN THI HOA"),
            credited_at: Utc::now().naive_utc(),
        },
    )
    .await?;
    Ok(())
}

/// Makes today's money flow (see the module's note).
pub async fn load(ctx: &Context, buyer_email: &str, admin_email: &str) -> AppResult<MoneySummary> {
    let buyer = caller(ctx, buyer_email).await?;
    let admin = caller(ctx, admin_email).await?;
    let farms = three_farms(ctx).await?;
    // Two of the three households give a bank account; the third is listed as owed, unpaid.
    for (n, product) in farms.iter().take(2).enumerate() {
        let number = format!("0071000{:05}", n + 1);
        let edit = HouseholdEdit {
            payout_account: Some(Some(PayoutAccountInput {
                bank_bin: "970436",
                account_number: &number,
            })),
            ..HouseholdEdit::default()
        };
        let farmer = owner(ctx, product.household_id).await?;
        crate::households::service::update(ctx, farmer, &product.household_id.to_string(), edit)
            .await?;
    }
    let [first, second, third] = [&farms[0], &farms[1], &farms[2]];

    let cash = check_out(ctx, &buyer, &[(first, 2), (second, 1), (third, 1)], "cod").await?;
    deliver_all(ctx, &cash).await?;
    let transfer = check_out(ctx, &buyer, &[(first, 1), (second, 2)], "bank_transfer").await?;
    bank_pays(
        ctx,
        "DEMO0001",
        transfer.checkout.total_vnd,
        &transfer.checkout.code,
    )
    .await?;
    deliver_all(ctx, &transfer).await?;
    // Left unpaid (it expires after `payments.expiry`), with a transfer 1,000 đồng short.
    let waiting = check_out(ctx, &buyer, &[(third, 1)], "bank_transfer").await?;
    bank_pays(
        ctx,
        "DEMO0002",
        waiting.checkout.total_vnd - 1000,
        &waiting.checkout.code,
    )
    .await?;

    let (batch, _) = pay_out(ctx, admin, Some("demo-payout-1".to_owned())).await?;
    Ok(MoneySummary {
        checkouts: 3,
        payments: 2,
        payout_vnd: batch.payout.total_vnd,
    })
}

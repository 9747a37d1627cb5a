//! Cart rules: every line a product on sale, once; at most 20 households; a destination the
//! shipping zones can place.

use std::collections::HashSet;

use super::model::{CartInput, MAX_CART_HOUSEHOLDS, Parcel, Quote};
use crate::admin_map::{HOME_COUNTRY, PlaceInput};
use crate::context::Context;
use crate::error::{AppError, AppResult};
use crate::ids::ProductId;
use crate::orders::model::rules;
use crate::products::repo::{self as products, CartProduct};
use crate::shipping::{self, Destination};
use crate::validate::Problems;

/// What a cart costs to buy and ship, one parcel per household (no stock is taken).
pub async fn quote(ctx: &Context, cart: CartInput<'_>) -> AppResult<Quote> {
    let mut problems = Problems::new();
    let lines = lines(&mut problems, &cart);
    let place = PlaceInput {
        commune_code: cart.commune_code,
        province_code: cart.province_code,
        province_map: cart.province_map,
    };
    let (province, _, country) = rules::destination(
        &mut problems,
        &ctx.map,
        place,
        "shipping.country_code",
        cart.country_code,
    );
    if country == HOME_COUNTRY && province.is_none() && problems.0.is_empty() {
        problems.add(
            "shipping.commune_code",
            "give the commune (or shipping.province_code) the parcels go to",
        );
    }
    problems.finish()?;
    let mut problems = Problems::new();
    let ids: Vec<ProductId> = lines.iter().map(|(id, _)| *id).collect();
    let found = ctx
        .db
        .run(move |conn| Ok(products::cart_products(conn, &ids)?))
        .await?;
    let destination = Destination {
        country_code: &country,
        current_province: province.as_ref().map(|p| p.current_code.as_str()),
    };
    let mut parcels: Vec<Parcel> = Vec::new();
    for (index, (id, quantity)) in lines.iter().enumerate() {
        let Some(product) = found.iter().find(|p| p.id == *id).filter(|p| p.on_sale()) else {
            problems.add(
                format!("items[{index}].product_id"),
                "no such product on sale",
            );
            continue;
        };
        let parcel = match parcels
            .iter_mut()
            .find(|p| p.household_id == product.household_id)
        {
            Some(parcel) => parcel,
            None => {
                parcels.push(empty_parcel(ctx, product, destination));
                parcels.last_mut().expect("just pushed")
            }
        };
        add_line(parcel, product, *quantity).ok_or_else(AppError::value_out_of_range)?;
    }
    if parcels.len() > MAX_CART_HOUSEHOLDS {
        problems.add(
            "items",
            format!("a cart holds products of at most {MAX_CART_HOUSEHOLDS} households"),
        );
    }
    problems.finish()?;
    total(ctx, parcels).ok_or_else(AppError::value_out_of_range)
}

/// The cart's lines, each a product id and a quantity, each product once.
fn lines(problems: &mut Problems, cart: &CartInput<'_>) -> Vec<(ProductId, i64)> {
    if !rules::item_count(problems, "items", cart.items.len()) {
        return Vec::new();
    }
    let mut seen = HashSet::new();
    let mut lines = Vec::new();
    for (index, (id, quantity)) in cart.items.iter().enumerate() {
        let field = format!("items[{index}].product_id");
        let Some(id) = ProductId::parse(id) else {
            problems.add(field, "must be a product id");
            continue;
        };
        if !seen.insert(id) {
            problems.add(field, "the cart has this product already");
            continue;
        }
        if let Some(quantity) =
            rules::quantity(problems, &format!("items[{index}].quantity"), *quantity)
        {
            lines.push((id, quantity));
        }
    }
    lines
}

fn empty_parcel(ctx: &Context, product: &CartProduct, to: Destination<'_>) -> Parcel {
    let origin = product.household_province.as_deref().unwrap_or_default();
    Parcel {
        household_id: product.household_id,
        weight_grams: 0,
        zone: shipping::zone(&ctx.settings.shipping, &ctx.map, origin, to),
        goods_vnd: 0,
        shipping_vnd: 0,
    }
}

/// `None` when the parcel's goods or weight pass 64 bits.
fn add_line(parcel: &mut Parcel, product: &CartProduct, quantity: i64) -> Option<()> {
    let weight = product.unit_weight_grams.checked_mul(quantity)?;
    let goods = product.price_vnd.checked_mul(quantity)?;
    parcel.weight_grams = parcel.weight_grams.checked_add(weight)?;
    parcel.goods_vnd = parcel.goods_vnd.checked_add(goods)?;
    Some(())
}

/// Each parcel's fee and the cart's totals; `None` past 64 bits.
fn total(ctx: &Context, mut parcels: Vec<Parcel>) -> Option<Quote> {
    let (mut goods, mut shipping_total) = (0i64, 0i64);
    for parcel in &mut parcels {
        let tariff = shipping::tariff(&ctx.settings.shipping, &parcel.zone);
        parcel.shipping_vnd = shipping::fee(tariff, parcel.weight_grams)?;
        goods = goods.checked_add(parcel.goods_vnd)?;
        shipping_total = shipping_total.checked_add(parcel.shipping_vnd)?;
    }
    Some(Quote {
        parcels,
        goods_vnd: goods,
        shipping_vnd: shipping_total,
        total_vnd: goods.checked_add(shipping_total)?,
    })
}

//! Table definitions shared by both backends (kept by hand in step with `migrations/`).

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        email_key -> Text,
        password_hash -> Text,
        full_name -> Text,
        role -> Text,
        phone -> Nullable<Text>,
        created_at -> Timestamp,
        status -> Text,
    }
}

diesel::table! {
    auth_tokens (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(auth_tokens -> users (user_id));

diesel::table! {
    /// The 63 provinces of the 2008 map.
    provinces (code) {
        code -> Text,
        name -> Text,
        current_code -> Nullable<Text>,
        region -> Nullable<Text>,
    }
}

diesel::table! {
    /// The 34 provinces of the current map (since 2025-07-01).
    current_provinces (code) {
        code -> Text,
        name -> Text,
        kind -> Text,
        formed_by -> Text,
        region -> Nullable<Text>,
    }
}

diesel::table! {
    communes (code) {
        code -> Text,
        name -> Text,
        kind -> Text,
        province_code -> Text,
        former_province_code -> Text,
        former_units -> Text,
    }
}

diesel::table! {
    households (id) {
        id -> Text,
        owner_id -> Nullable<Text>,
        name -> Text,
        province_code -> Text,
        district -> Nullable<Text>,
        address -> Nullable<Text>,
        phone -> Nullable<Text>,
        description -> Nullable<Text>,
        status -> Text,
        search_text -> Text,
        joined_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        commune_code -> Nullable<Text>,
        current_province_code -> Nullable<Text>,
        payout_bank_bin -> Nullable<Text>,
        payout_account -> Nullable<Text>,
        free_shipping_from_vnd -> Nullable<BigInt>,
    }
}

diesel::table! {
    products (id) {
        id -> Text,
        household_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        category -> Text,
        unit -> Text,
        unit_weight_grams -> BigInt,
        price_vnd -> BigInt,
        stock_quantity -> BigInt,
        origin_province_code -> Text,
        certifications -> Text,
        ocop_stars -> Nullable<Integer>,
        harvest_from -> Nullable<Date>,
        harvest_to -> Nullable<Date>,
        status -> Text,
        views -> BigInt,
        search_text -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        origin_map -> Text,
        origin_current_code -> Nullable<Text>,
    }
}

diesel::table! {
    product_view_days (product_id, day) {
        product_id -> Text,
        day -> Date,
        views -> BigInt,
    }
}

diesel::table! {
    households_suspended_with_owner (household_id) {
        household_id -> Text,
        owner_id -> Text,
    }
}

diesel::joinable!(households -> users (owner_id));
diesel::joinable!(households -> provinces (province_code));
diesel::joinable!(products -> households (household_id));
diesel::joinable!(product_view_days -> products (product_id));

diesel::table! {
    orders (id) {
        id -> Text,
        buyer_id -> Nullable<Text>,
        household_id -> Text,
        status -> Text,
        total_vnd -> BigInt,
        total_weight_grams -> BigInt,
        recipient_name -> Text,
        phone -> Text,
        address -> Text,
        province_code -> Nullable<Text>,
        country_code -> Text,
        payment_method -> Text,
        payment_status -> Text,
        tracking_code -> Nullable<Text>,
        note -> Nullable<Text>,
        placed_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        shipped_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        cancel_reason -> Nullable<Text>,
        stock_taken -> Bool,
        province_map -> Text,
        commune_code -> Nullable<Text>,
        checkout_id -> Nullable<Text>,
        shipping_vnd -> BigInt,
        shipping_zone -> Nullable<Text>,
    }
}

diesel::table! {
    order_items (order_id, line_no) {
        order_id -> Text,
        line_no -> Integer,
        product_id -> Text,
        product_name -> Text,
        product_category -> Text,
        quantity -> BigInt,
        unit_price_vnd -> BigInt,
        unit_weight_grams -> BigInt,
        line_total_vnd -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (buyer_id, key) {
        buyer_id -> Text,
        key -> Text,
        request_hash -> Text,
        order_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(orders -> households (household_id));
diesel::joinable!(order_items -> orders (order_id));
diesel::joinable!(order_items -> products (product_id));

diesel::table! {
    /// Data work SQL cannot do, left by a migration for the server (see `db::pending_work`).
    pending_data_work (name) {
        name -> Text,
    }
}

diesel::joinable!(communes -> current_provinces (province_code));

diesel::table! {
    /// A buyer's cart across farms: one order per household, paid at once.
    checkouts (id) {
        id -> Text,
        code -> Text,
        buyer_id -> Text,
        payment_method -> Text,
        payment_status -> Text,
        goods_vnd -> BigInt,
        shipping_vnd -> BigInt,
        total_vnd -> BigInt,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        paid_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    bank_transactions (transaction_id) {
        transaction_id -> Text,
        amount_vnd -> BigInt,
        description -> Text,
        credited_at -> Timestamp,
        received_at -> Timestamp,
        checkout_id -> Nullable<Text>,
        outcome -> Text,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Text,
        kind -> Text,
        booked_at -> Timestamp,
        checkout_id -> Nullable<Text>,
        order_id -> Nullable<Text>,
        household_id -> Nullable<Text>,
        payout_id -> Nullable<Text>,
        transaction_id -> Nullable<Text>,
    }
}

diesel::table! {
    ledger_lines (entry_id, line_no) {
        entry_id -> Text,
        line_no -> Integer,
        account -> Text,
        amount_vnd -> BigInt,
    }
}

diesel::table! {
    ledger_balances (account) {
        account -> Text,
        balance_vnd -> BigInt,
    }
}

diesel::table! {
    payouts (id) {
        id -> Text,
        idempotency_key -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        total_vnd -> BigInt,
    }
}

diesel::table! {
    payout_lines (payout_id, household_id) {
        payout_id -> Text,
        household_id -> Text,
        bank_bin -> Nullable<Text>,
        account -> Nullable<Text>,
        amount_vnd -> BigInt,
        reference -> Text,
    }
}

diesel::joinable!(orders -> checkouts (checkout_id));
diesel::joinable!(ledger_lines -> ledger_entries (entry_id));
diesel::joinable!(payout_lines -> payouts (payout_id));
diesel::joinable!(payout_lines -> households (household_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    auth_tokens,
    provinces,
    current_provinces,
    communes,
    households,
    products,
    product_view_days,
    orders,
    order_items,
    idempotency_keys,
    households_suspended_with_owner,
    checkouts,
    bank_transactions,
    ledger_entries,
    ledger_lines,
    ledger_balances,
    payouts,
    payout_lines,
);

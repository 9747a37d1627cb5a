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

diesel::allow_tables_to_appear_in_same_query!(users, auth_tokens);

DROP TABLE auth_tokens;
DROP TABLE users;

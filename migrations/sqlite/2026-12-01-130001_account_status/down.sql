DROP TABLE households_suspended_with_owner;
ALTER TABLE users DROP COLUMN status;

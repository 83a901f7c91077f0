-- Match before create looks application records up by e-mail, phone and last name in
-- normalized form (crmsync_core::match_key: e-mail lower case without spaces, the last
-- eight digits of a phone, a last name lower case with accents and punctuation folded),
-- so that rows the application wrote in any format are found. The keys are computed in
-- Rust on every write (the same functions the matcher uses) and stored beside the
-- fields; the store fills them for existing rows right after this migration.
DROP INDEX IF EXISTS mirror_records_by_email;
DROP INDEX IF EXISTS mirror_records_by_phone;
DROP INDEX IF EXISTS mirror_records_by_mobile_phone;
DROP INDEX IF EXISTS mirror_records_by_last_name;
ALTER TABLE mirror_records ADD COLUMN match_email TEXT;
ALTER TABLE mirror_records ADD COLUMN match_phone TEXT;
ALTER TABLE mirror_records ADD COLUMN match_mobile_phone TEXT;
ALTER TABLE mirror_records ADD COLUMN match_last_name TEXT;
CREATE INDEX mirror_records_by_match_email ON mirror_records (tenant, object, match_email);
CREATE INDEX mirror_records_by_match_phone ON mirror_records (tenant, object, match_phone);
CREATE INDEX mirror_records_by_match_mobile_phone
    ON mirror_records (tenant, object, match_mobile_phone);
CREATE INDEX mirror_records_by_match_last_name ON mirror_records (tenant, object, match_last_name);

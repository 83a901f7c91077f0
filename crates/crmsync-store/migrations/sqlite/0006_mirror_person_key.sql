-- Match before create looks people up by name with a finer key than the last name
-- alone: the last name's key, a space and the first name's initial
-- (crmsync_core::match_key::person_key), so that a common surname does not make every
-- row a candidate of every record. Computed in Rust on every write, like the other
-- match keys; the store fills every row's keys right after this migration. The index
-- carries `deleted` and `id` so that the look-up leaves out deleted rows, and rows
-- already linked on the connection (by the links' primary key), without reading them.
ALTER TABLE mirror_records ADD COLUMN match_person TEXT;
CREATE INDEX mirror_records_by_match_person
    ON mirror_records (tenant, object, match_person, deleted, id);

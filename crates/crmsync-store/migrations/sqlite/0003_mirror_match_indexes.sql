-- Match before create looks application records up by email, phone and last name:
-- expression indexes keep those look-ups off a table scan. The expressions must stay
-- identical to the ones the store queries with (sqlite.rs, `indexed_fields`).
CREATE INDEX mirror_records_by_email
    ON mirror_records (tenant, object, json_extract(fields, '$.email'));
CREATE INDEX mirror_records_by_phone
    ON mirror_records (tenant, object, json_extract(fields, '$.phone'));
CREATE INDEX mirror_records_by_mobile_phone
    ON mirror_records (tenant, object, json_extract(fields, '$.mobile_phone'));
CREATE INDEX mirror_records_by_last_name
    ON mirror_records (tenant, object, json_extract(fields, '$.last_name'));

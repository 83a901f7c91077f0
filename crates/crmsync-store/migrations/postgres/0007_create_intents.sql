-- Creates sent to a CRM that cannot make them idempotent, written before the call: a
-- lost answer is recovered by linking the record the create made (found by these
-- fields on the next pull) instead of creating the source record's twin.
CREATE TABLE create_intents (
    tenant     TEXT   NOT NULL,
    connection TEXT   NOT NULL,
    object     TEXT   NOT NULL,
    target     TEXT   NOT NULL,
    source_id  TEXT   NOT NULL,
    fields     JSONB  NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, connection, object, target, source_id)
);

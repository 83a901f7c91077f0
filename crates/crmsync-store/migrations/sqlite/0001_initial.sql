-- crmsync store schema, SQLite dialect. Every table is keyed by tenant first.
-- Timestamps are microseconds since the Unix epoch (UTC); JSON columns hold text.

CREATE TABLE connections (
    tenant      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    provider    TEXT    NOT NULL,
    settings    TEXT    NOT NULL,
    credentials BLOB    NOT NULL, -- AES-256-GCM: version, nonce, ciphertext and tag
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE TABLE links (
    tenant             TEXT    NOT NULL,
    connection         TEXT    NOT NULL,
    object             TEXT    NOT NULL,
    local_id           TEXT    NOT NULL,
    remote_id          TEXT    NOT NULL,
    base               TEXT    NOT NULL,
    base_hash          INTEGER NOT NULL, -- the u64 content hash, bit-cast
    remote_modified_at INTEGER,
    local_modified_at  INTEGER,
    synced_at          INTEGER NOT NULL,
    PRIMARY KEY (tenant, connection, object, local_id)
);
CREATE UNIQUE INDEX links_by_remote ON links (tenant, connection, object, remote_id);

CREATE TABLE checkpoints (
    tenant     TEXT    NOT NULL,
    connection TEXT    NOT NULL,
    object     TEXT    NOT NULL,
    direction  TEXT    NOT NULL,
    cursor     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, connection, object, direction)
);

CREATE TABLE sync_runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant            TEXT    NOT NULL,
    connection        TEXT    NOT NULL,
    object            TEXT    NOT NULL,
    direction         TEXT    NOT NULL,
    mode              TEXT    NOT NULL,
    status            TEXT    NOT NULL
        CHECK (status IN ('running', 'success', 'partial', 'failed')),
    started_at        INTEGER NOT NULL,
    finished_at       INTEGER,
    records_processed INTEGER NOT NULL DEFAULT 0,
    records_created   INTEGER NOT NULL DEFAULT 0,
    records_updated   INTEGER NOT NULL DEFAULT 0,
    records_failed    INTEGER NOT NULL DEFAULT 0,
    counts            TEXT    NOT NULL,
    error             TEXT,
    configuration     TEXT    NOT NULL
);
CREATE INDEX sync_runs_by_tenant ON sync_runs (tenant, id);
CREATE INDEX sync_runs_by_connection ON sync_runs (tenant, connection, object, id);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant     TEXT    NOT NULL,
    run_id     INTEGER,
    connection TEXT    NOT NULL,
    object     TEXT    NOT NULL,
    local_id   TEXT,
    remote_id  TEXT,
    operation  TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    changes    TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    error      TEXT,
    at         INTEGER NOT NULL
);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant, id);
CREATE INDEX audit_log_by_run ON audit_log (tenant, run_id, id);

CREATE TABLE dead_letters (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT    NOT NULL,
    run_id          INTEGER,
    connection      TEXT    NOT NULL,
    object          TEXT    NOT NULL,
    direction       TEXT    NOT NULL,
    record_id       TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    error_kind      TEXT    NOT NULL,
    error_message   TEXT    NOT NULL,
    field           TEXT,
    rule            TEXT,
    attempts        INTEGER NOT NULL,
    status          TEXT    NOT NULL
        CHECK (status IN ('pending', 'replayed', 'discarded')),
    first_failed_at INTEGER NOT NULL,
    last_failed_at  INTEGER NOT NULL
);
CREATE INDEX dead_letters_by_tenant ON dead_letters (tenant, id);
CREATE INDEX dead_letters_by_status ON dead_letters (tenant, status, id);

CREATE TABLE review_queue (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT    NOT NULL,
    connection   TEXT    NOT NULL,
    object       TEXT    NOT NULL,
    local_id     TEXT,
    remote_id    TEXT,
    reason       TEXT    NOT NULL, -- 'conflict' (a field) or 'ambiguous_match' (a record)
    field        TEXT,
    payload      TEXT    NOT NULL, -- base, local and remote values or match candidates
    status       TEXT    NOT NULL DEFAULT 'open',
    created_at   INTEGER NOT NULL,
    resolved_at  INTEGER,
    resolution   TEXT
);
CREATE INDEX review_queue_by_status ON review_queue (tenant, status, id);

CREATE TABLE webhook_inbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT    NOT NULL,
    connection   TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'pending',
    received_at  INTEGER NOT NULL,
    processed_at INTEGER,
    UNIQUE (tenant, connection, event_id)
);
CREATE INDEX webhook_inbox_by_status ON webhook_inbox (tenant, status, id);

CREATE TABLE leases (
    tenant     TEXT    NOT NULL,
    lease_key  TEXT    NOT NULL,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, lease_key)
);

CREATE TABLE mirror_records (
    tenant          TEXT    NOT NULL,
    object          TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    fields          TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    modified_at     INTEGER NOT NULL,
    deleted         BOOLEAN NOT NULL DEFAULT FALSE,
    idempotency_key TEXT,
    PRIMARY KEY (tenant, object, id)
);
CREATE INDEX mirror_records_by_seq ON mirror_records (tenant, object, seq);
CREATE UNIQUE INDEX mirror_records_by_idempotency_key
    ON mirror_records (tenant, object, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- The per-tenant change sequence of the mirror; its row also serializes mirror writers.
CREATE TABLE mirror_sequences (
    tenant TEXT    NOT NULL PRIMARY KEY,
    seq    INTEGER NOT NULL
);

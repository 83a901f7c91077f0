-- The review queue: conflicts and ambiguous matches parked for a person to decide.
-- Replaces the unused placeholder table of 0001 (it never held rows).
-- JSON columns hold text: field names, base/local/remote values, candidate ids and the
-- per-field resolution.

DROP TABLE review_queue;

CREATE TABLE review_queue (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT    NOT NULL,
    connection    TEXT    NOT NULL,
    object        TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('conflict', 'ambiguous_match')),
    local_id      TEXT,
    remote_id     TEXT,
    fields        TEXT    NOT NULL,
    base_values   TEXT    NOT NULL,
    local_values  TEXT    NOT NULL,
    remote_values TEXT    NOT NULL,
    candidates    TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    status        TEXT    NOT NULL
        CHECK (status IN ('pending', 'resolved', 'applied', 'dismissed')),
    resolution    TEXT    NOT NULL,
    resolved_by   TEXT,
    resolved_at   INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX review_queue_by_tenant ON review_queue (tenant, id);
CREATE INDEX review_queue_by_status ON review_queue (tenant, status, id);
-- At most one pending item per record and reason: parking it again updates it in
-- place. Missing ids compare equal.
CREATE UNIQUE INDEX review_queue_pending
    ON review_queue (tenant, connection, object, kind,
                     COALESCE(local_id, ''), COALESCE(remote_id, ''))
    WHERE status = 'pending';

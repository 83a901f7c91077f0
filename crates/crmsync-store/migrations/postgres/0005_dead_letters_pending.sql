-- One pending dead letter per record and payload: a record that fails again as it was
-- (re-read unchanged in a later run's overlap window) updates its pending letter,
-- counting the attempt, instead of adding another that a replay would apply twice. A
-- record failing in another state (an edit, a later event) keeps a letter of its own.
-- The fingerprint (FNV-1a of the payload's JSON, computed by the store) tells them
-- apart; letters stored before this migration have none and stay as they are.
ALTER TABLE dead_letters ADD COLUMN fingerprint TEXT;
CREATE UNIQUE INDEX dead_letters_pending
    ON dead_letters (tenant, connection, object, direction, record_id, fingerprint)
    WHERE status = 'pending';

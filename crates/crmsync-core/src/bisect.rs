//! Batch writes that survive a bad record: a whole batch rejected for a record-level
//! reason is split in halves until the bad records stand alone, so the rest of the
//! batch goes on.

use std::future::Future;

use crate::{Error, ErrorKind, Result, WriteOp, WriteOutcome};

impl ErrorKind {
    /// Whether the failure concerns the records sent (invalid values, duplicates,
    /// missing records) rather than the connection or the system.
    pub fn is_record_level(self) -> bool {
        matches!(
            self,
            ErrorKind::InvalidRequest
                | ErrorKind::Validation
                | ErrorKind::Conflict
                | ErrorKind::NotFound
        )
    }
}

/// Writes `ops` with `write`, one call for the whole batch when it succeeds. When the
/// call fails with a record-level error ([`ErrorKind::is_record_level`]), the batch is
/// split in halves and each half written again, down to single records, which then fail
/// alone with the error, named by their key and `operation`. Any other error (auth,
/// limits, outages) is returned at once: the caller stops and retries the page later.
///
/// Outcomes come back in no particular order; match them by [`WriteOutcome::key`].
pub async fn write_bisecting<F, Fut>(
    ops: Vec<WriteOp>,
    operation: &str,
    mut write: F,
) -> Result<Vec<WriteOutcome>>
where
    F: FnMut(Vec<WriteOp>) -> Fut,
    Fut: Future<Output = Result<Vec<WriteOutcome>>>,
{
    let mut out = Vec::with_capacity(ops.len());
    let mut pending = vec![ops];
    while let Some(ops) = pending.pop() {
        if ops.is_empty() {
            continue;
        }
        let keys: Vec<(String, usize)> = if ops.len() > 1 {
            Vec::new()
        } else {
            ops.iter().map(|op| (op.key.clone(), 0)).collect()
        };
        match write(ops.clone()).await {
            Ok(outcomes) => out.extend(outcomes),
            Err(err) if err.kind().is_record_level() && ops.len() > 1 => {
                let mut left = ops;
                let right = left.split_off(left.len() / 2);
                pending.push(right);
                pending.push(left);
            }
            Err(err) if err.kind().is_record_level() => {
                for (key, _) in keys {
                    let mut e = Error::new(err.kind(), err.message().to_owned())
                        .with_record(key.clone())
                        .with_operation(operation.to_owned());
                    if let Some(field) = &err.context().field {
                        e = e.with_field(field.clone());
                    }
                    if let Some(rule) = &err.context().rule {
                        e = e.with_rule(rule.clone());
                    }
                    out.push(WriteOutcome::failed(key, e));
                }
            }
            Err(err) => return Err(err),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fields, Written};

    fn op(key: &str) -> WriteOp {
        WriteOp {
            key: key.into(),
            id: None,
            fields: Fields::new(),
            idempotency_key: None,
        }
    }

    #[test]
    fn a_bad_record_fails_alone_and_the_rest_is_written() {
        let ops: Vec<WriteOp> = (0..9).map(|i| op(&format!("k{i}"))).collect();
        let mut calls = 0;
        let outcomes = futures::executor::block_on(write_bisecting(ops, "test.write", |batch| {
            calls += 1;
            async move {
                if batch.iter().any(|o| o.key == "k5") {
                    return Err(Error::new(ErrorKind::InvalidRequest, "bad value in k5"));
                }
                Ok(batch
                    .into_iter()
                    .map(|o| {
                        let id = o.key.clone();
                        WriteOutcome::ok(
                            o.key,
                            Written {
                                id: id.into(),
                                created: true,
                                modified_at: None,
                            },
                        )
                    })
                    .collect())
            }
        }));
        let outcomes = outcomes.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(outcomes.len(), 9);
        for o in &outcomes {
            assert_eq!(o.result.is_err(), o.key == "k5", "{}", o.key);
        }
        assert!(calls <= 9, "halving, not one call per record: {calls}");
    }

    #[test]
    fn system_errors_stop_the_batch() {
        let result = futures::executor::block_on(write_bisecting(
            vec![op("a"), op("b")],
            "test.write",
            |_| async { Err(Error::new(ErrorKind::Unavailable, "down")) },
        ));
        assert!(result.is_err());
    }
}

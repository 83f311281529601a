"""Operations: idempotent writes, metrics, request ids and logs, pre-flight checks,
data rights (export, erase) and retention (purge)."""

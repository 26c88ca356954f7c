"""Idempotency-Key for every creating POST: the first response is stored with the write, in the
same transaction, and replayed for a retry of the same request (see apis.idempotent)."""

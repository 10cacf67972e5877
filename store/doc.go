// Package store is the embedded alert store of imdsguard serve: a SQLite
// database (pure Go, no cgo) that keeps one row per alert and an outbox of
// deliveries owed to each sink.
//
// An alert is durable once SaveBatch has returned nil: the database runs in
// WAL mode with synchronous=FULL, so the commit is on disk before the
// webhook is answered, and a crash or kill -9 loses nothing acknowledged.
// The stages of one exec session arrive in separate webhook batches; each is
// folded into the stored alert with alert.Merge, so a retried batch changes
// nothing and queues nothing.
//
// The outbox gives at-least-once delivery: every new or changed alert
// queues one item per sink in the same transaction that stores it, and an
// item stays until the sink worker acknowledges it. The outbox is bounded
// (WithMaxOutbox); when full, SaveBatch refuses the batch with
// ErrOutboxFull so the API server retries it later.
//
// One Store is safe for use by many goroutines. Writes go through a single
// connection, so they never contend inside the process; reads use a pool of
// their own and are not blocked by writes. Another process (imdsguard alerts
// list) may open the same file and read while the server writes.
package store

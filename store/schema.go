package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations[i] takes the schema from version i to version i+1. A
// released migration never changes; a new schema is a new entry.
var migrations = []string{
	// 1: alerts, the outbox and its per-sink depth.
	`
CREATE TABLE alerts (
	id            TEXT PRIMARY KEY,
	audit_id      TEXT NOT NULL,
	-- time_us is the alert's time in unix microseconds, and timestamp the
	-- alert's own RFC 3339 text; stage_rank orders esql alerts of one
	-- request as alert.Sort does.
	time_us       INTEGER NOT NULL,
	timestamp     TEXT NOT NULL,
	stage_rank    INTEGER NOT NULL,
	engine        TEXT NOT NULL,
	cloud_target  TEXT NOT NULL,
	access        TEXT NOT NULL,
	namespace     TEXT NOT NULL,
	username      TEXT NOT NULL,
	outcome       TEXT NOT NULL,
	-- suppressed_by names the exception that suppressed the alert, '' for
	-- none.
	suppressed_by TEXT NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	-- alert is the alert's JSON (the stable contract), events the audit
	-- events behind it as a JSON array: Alert does not marshal them.
	alert         TEXT NOT NULL,
	events        TEXT NOT NULL
);
CREATE INDEX alerts_order ON alerts (time_us, audit_id, stage_rank, id);

CREATE TABLE outbox (
	-- AUTOINCREMENT: a seq is never reused, so a late Ack cannot remove
	-- a newer item.
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	sink            TEXT NOT NULL,
	alert_id        TEXT NOT NULL REFERENCES alerts (id),
	attempts        INTEGER NOT NULL DEFAULT 0,
	-- next_attempt_us is when the item is due, unix microseconds; 0 for
	-- an item not yet tried.
	next_attempt_us INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL
);
-- outbox_due serves Pending: a sink's items in seq order, due time at
-- hand, so the first due items are found without a sort.
CREATE INDEX outbox_due ON outbox (sink, seq, next_attempt_us);
CREATE INDEX outbox_alert ON outbox (alert_id);

-- outbox_depth counts the items of each sink, kept by triggers, so the
-- bound is checked without counting the outbox.
CREATE TABLE outbox_depth (
	sink TEXT PRIMARY KEY,
	n    INTEGER NOT NULL
);
CREATE TRIGGER outbox_insert AFTER INSERT ON outbox BEGIN
	INSERT INTO outbox_depth (sink, n) VALUES (NEW.sink, 1)
		ON CONFLICT (sink) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_delete AFTER DELETE ON outbox BEGIN
	UPDATE outbox_depth SET n = n - 1 WHERE sink = OLD.sink;
END;

-- probe is the row Writable rewrites.
CREATE TABLE probe (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at INTEGER NOT NULL
);
`,
}

// SchemaVersion is the schema version this build creates and reads.
var SchemaVersion = len(migrations)

// migrate brings the schema to SchemaVersion. The usual case, a store
// already up to date, only reads; a migration runs in one transaction,
// and as the writer's transactions begin IMMEDIATE, two processes opening
// a new file at once take turns and the second finds the schema made.
func migrate(ctx context.Context, db *sql.DB) error {
	version, err := schemaVersion(ctx, db)
	if err != nil || version == len(migrations) {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if version, err = schemaVersion(ctx, tx); err != nil || version == len(migrations) {
		return err
	}
	if version < 0 {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE schema_version (version INTEGER NOT NULL);
			INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return err
		}
		version = 0
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrating schema to version %d: %w", v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(migrations)); err != nil {
		return err
	}
	return tx.Commit()
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// schemaVersion reads the schema version: -1 for an empty database, an
// error for a database that is not an alert store or is newer than this
// build.
func schemaVersion(ctx context.Context, q querier) (int, error) {
	var hasVersion, tables int
	err := q.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE name = 'schema_version'),
		count(*) FILTER (WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\')
		FROM sqlite_schema WHERE type = 'table'`).Scan(&hasVersion, &tables)
	if err != nil {
		return 0, err
	}
	switch {
	case hasVersion == 0 && tables > 0:
		return 0, errors.New("a SQLite database, but not an imdsguard alert store (it has tables and no schema_version)")
	case hasVersion == 0:
		return -1, nil
	}
	var version int
	if err := q.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	if version > len(migrations) {
		return 0, fmt.Errorf("schema version %d is newer than this imdsguard knows (%d): upgrade imdsguard", version, len(migrations))
	}
	return version, nil
}

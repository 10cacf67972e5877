package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/imdsguard/imdsguard/alert"
)

// OutboxItem is one delivery owed to a sink.
type OutboxItem struct {
	// Seq identifies the item for Ack and Retry; items are queued in Seq
	// order.
	Seq      int64
	Sink     string
	AlertID  string
	Attempts int // failed attempts so far
	// Alert is the alert as stored now, which may be newer than when the
	// item was queued.
	Alert *alert.Alert
}

// defaultPending is how many items Pending returns when not told.
const defaultPending = 100

// maxErrorLen bounds the error text Retry keeps.
const maxErrorLen = 2048

// Pending returns up to limit items of sink that are due at now (never
// tried, or retried with a next attempt at or before now), the oldest
// first. limit <= 0 means 100. An alert queued twice (a later stage
// changed it before the first item was delivered) gives two items, both
// carrying the current alert: sinks deduplicate by alert ID.
func (s *Store) Pending(ctx context.Context, sink string, now time.Time, limit int) ([]OutboxItem, error) {
	if limit <= 0 {
		limit = defaultPending
	}
	// The due items are chosen before the join, so only their keys are
	// sorted, not the alerts.
	rows, err := s.r.QueryContext(ctx, `SELECT o.seq, o.alert_id, o.attempts, a.alert, a.events, a.time_us
		FROM (SELECT seq, alert_id, attempts FROM outbox
			WHERE sink = ? AND next_attempt_us <= ? ORDER BY seq LIMIT ?) o
		JOIN alerts a ON a.id = o.alert_id
		ORDER BY o.seq`, sink, now.UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: pending items of %s: %w", sink, err)
	}
	defer rows.Close()
	var out []OutboxItem
	for rows.Next() {
		it := OutboxItem{Sink: sink}
		var doc, events string
		var timeUS int64
		if err := rows.Scan(&it.Seq, &it.AlertID, &it.Attempts, &doc, &events, &timeUS); err != nil {
			return nil, fmt.Errorf("store: pending items of %s: %w", sink, err)
		}
		if it.Alert, err = decode(doc, events, timeUS); err != nil {
			return nil, fmt.Errorf("store: outbox item %d: %w", it.Seq, err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pending items of %s: %w", sink, err)
	}
	return out, nil
}

// Ack removes delivered items, in one transaction. It returns ErrNotFound
// when one of them is already gone (the others are removed).
func (s *Store) Ack(ctx context.Context, seqs ...int64) error {
	var missing []int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, seq := range seqs {
			res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE seq = ?`, seq)
			if err != nil {
				return fmt.Errorf("store: ack outbox item %d: %w", seq, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				missing = append(missing, seq)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("store: ack outbox items %v: %w", missing, ErrNotFound)
	}
	return nil
}

// Retry records a failed delivery: the item's attempts go up by one, and
// it is due again at next. It returns ErrNotFound when the item is gone.
func (s *Store) Retry(ctx context.Context, seq int64, next time.Time, lastErr string) error {
	if len(lastErr) > maxErrorLen {
		n := maxErrorLen
		for n > 0 && !utf8.RuneStart(lastErr[n]) {
			n--
		}
		lastErr = lastErr[:n]
	}
	res, err := s.w.ExecContext(ctx,
		`UPDATE outbox SET attempts = attempts + 1, next_attempt_us = ?, last_error = ? WHERE seq = ?`,
		next.UnixMicro(), lastErr, seq)
	if err != nil {
		return fmt.Errorf("store: retry outbox item %d: %w", seq, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: retry outbox item %d: %w", seq, ErrNotFound)
	}
	return nil
}

// OutboxDepth returns the number of undelivered items of each sink. A sink
// that ever had an item stays in the map, at 0 once drained.
func (s *Store) OutboxDepth(ctx context.Context) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT sink, n FROM outbox_depth`)
	if err != nil {
		return nil, fmt.Errorf("store: outbox depth: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var sink string
		var n int
		if err := rows.Scan(&sink, &n); err != nil {
			return nil, fmt.Errorf("store: outbox depth: %w", err)
		}
		out[sink] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: outbox depth: %w", err)
	}
	return out, nil
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/imdsguard/imdsguard/alert"
)

// SaveBatch stores the alerts of one webhook batch in one transaction.
// Each alert is upserted by ID: when one with that ID is stored, the new
// one is folded into it with alert.Merge, so stages already seen (a
// retried batch) change nothing. Every alert that is new or changed gets
// one outbox item per sink, unless an exception suppressed it. SaveBatch returns those alerts as stored,
// after merging, in the order of the batch.
//
// When the items would take the outbox past its bound SaveBatch stores
// nothing and returns ErrOutboxFull. Once it returns nil the batch is on
// disk.
func (s *Store) SaveBatch(ctx context.Context, alerts []*alert.Alert, sinks []string) ([]*alert.Alert, error) {
	for i, a := range alerts {
		if a == nil || a.ID == "" {
			return nil, fmt.Errorf("store: alert %d of the batch has no id", i)
		}
	}
	if len(alerts) == 0 {
		return nil, nil
	}
	sinks = uniq(sinks)
	var out []*alert.Alert
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		at := map[string]int{} // id -> index in out, for an id twice in a batch
		now := s.now().UnixMicro()
		for _, a := range alerts {
			stored, changed, err := s.upsert(ctx, tx, a, now)
			if err != nil {
				return err
			}
			if !changed {
				continue
			}
			// A suppressed alert is kept and listed, never delivered.
			for _, sink := range sinks {
				if stored.Suppressed != nil {
					break
				}
				if _, err := tx.StmtContext(ctx, s.stmt.enqueue).ExecContext(ctx, sink, a.ID, now); err != nil {
					return fmt.Errorf("queueing alert %s for %s: %w", a.ID, sink, err)
				}
			}
			if i, ok := at[a.ID]; ok {
				out[i] = stored
			} else {
				at[a.ID] = len(out)
				out = append(out, stored)
			}
		}
		if len(out) == 0 || len(sinks) == 0 {
			return nil
		}
		var depth int
		if err := tx.StmtContext(ctx, s.stmt.depth).QueryRowContext(ctx).Scan(&depth); err != nil {
			return err
		}
		if depth > s.maxOutbox {
			return ErrOutboxFull
		}
		return nil
	})
	if err == ErrOutboxFull {
		return nil, ErrOutboxFull
	}
	if err != nil {
		return nil, fmt.Errorf("store: saving batch: %w", err)
	}
	return out, nil
}

// upsert stores a, merged into the alert of the same id when there is
// one, and returns the alert as stored and whether anything changed.
func (s *Store) upsert(ctx context.Context, tx *sql.Tx, a *alert.Alert, now int64) (*alert.Alert, bool, error) {
	var doc, events string
	var timeUS int64
	err := tx.StmtContext(ctx, s.stmt.load).QueryRowContext(ctx, a.ID).Scan(&doc, &events, &timeUS)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		c, err := encode(a)
		if err != nil {
			return nil, false, err
		}
		_, err = tx.StmtContext(ctx, s.stmt.insert).ExecContext(ctx,
			a.ID, a.AuditID, c.timeUS, a.Timestamp, stageRank(a.Stage), a.Engine,
			a.CloudTarget, a.Access, a.Namespace, a.User.Username, a.Outcome, suppressedBy(a), now, now, c.doc, c.events)
		if err != nil {
			return nil, false, fmt.Errorf("inserting alert %s: %w", a.ID, err)
		}
		return a, true, nil
	case err != nil:
		return nil, false, fmt.Errorf("loading alert %s: %w", a.ID, err)
	}
	old, err := decode(doc, events, timeUS)
	if err != nil {
		return nil, false, fmt.Errorf("alert %s: %w", a.ID, err)
	}
	if !alert.Merge(old, a) {
		return old, false, nil
	}
	c, err := encode(old)
	if err != nil {
		return nil, false, err
	}
	_, err = tx.StmtContext(ctx, s.stmt.update).ExecContext(ctx,
		c.timeUS, old.Timestamp, old.Outcome, old.CloudTarget, old.Access, suppressedBy(old), now, c.doc, c.events, old.ID)
	if err != nil {
		return nil, false, fmt.Errorf("updating alert %s: %w", a.ID, err)
	}
	return old, true, nil
}

// statements are the write statements of SaveBatch, prepared once on the
// writer's connection.
type statements struct {
	load, insert, update, enqueue, depth *sql.Stmt
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.stmt.load, `SELECT alert, events, time_us FROM alerts WHERE id = ?`},
		{&s.stmt.insert, `INSERT INTO alerts (id, audit_id, time_us, timestamp, stage_rank, engine,
			cloud_target, access, namespace, username, outcome, suppressed_by, created_at, updated_at, alert, events)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.stmt.update, `UPDATE alerts SET time_us = ?, timestamp = ?, outcome = ?, cloud_target = ?, access = ?,
			suppressed_by = ?, updated_at = ?, alert = ?, events = ? WHERE id = ?`},
		{&s.stmt.enqueue, `INSERT INTO outbox (sink, alert_id, created_at) VALUES (?, ?, ?)`},
		{&s.stmt.depth, `SELECT coalesce(sum(n), 0) FROM outbox_depth`},
	} {
		var err error
		if *p.stmt, err = s.w.PrepareContext(ctx, p.sql); err != nil {
			return fmt.Errorf("preparing statements: %w", err)
		}
	}
	return nil
}

// suppressedBy is the exception that suppressed a, "" for none.
func suppressedBy(a *alert.Alert) string {
	if a.Suppressed == nil {
		return ""
	}
	return a.Suppressed.Exception
}

// stageRank orders the stages of one request, as alert.Sort does.
func stageRank(stage string) int {
	switch stage {
	case "RequestReceived":
		return 0
	case "ResponseStarted":
		return 1
	case "ResponseComplete":
		return 2
	case "Panic":
		return 3
	}
	return -1
}

type columns struct {
	doc, events string
	timeUS      int64
}

func encode(a *alert.Alert) (columns, error) {
	doc, err := json.Marshal(a)
	if err != nil {
		return columns{}, fmt.Errorf("encoding alert %s: %w", a.ID, err)
	}
	events, err := json.Marshal(a.Events)
	if err != nil {
		return columns{}, fmt.Errorf("encoding the events of alert %s: %w", a.ID, err)
	}
	return columns{doc: string(doc), events: string(events), timeUS: timeOf(a).UnixMicro()}, nil
}

// timeOf is the alert's time: Time, or Timestamp when Time is not set.
func timeOf(a *alert.Alert) time.Time {
	if a.Time.IsZero() && a.Timestamp != "" {
		if t, err := time.Parse(alert.TimeFormat, a.Timestamp); err == nil {
			return t
		}
		if t, err := time.Parse(time.RFC3339Nano, a.Timestamp); err == nil {
			return t
		}
	}
	return a.Time
}

// decode rebuilds a stored alert, with the fields its JSON leaves out:
// Events from their column, Time from Timestamp (or the time column when
// the timestamp does not parse).
func decode(doc, events string, timeUS int64) (*alert.Alert, error) {
	a := new(alert.Alert)
	if err := json.Unmarshal([]byte(doc), a); err != nil {
		return nil, fmt.Errorf("decoding stored alert: %w", err)
	}
	if err := json.Unmarshal([]byte(events), &a.Events); err != nil {
		return nil, fmt.Errorf("decoding stored events of alert %s: %w", a.ID, err)
	}
	a.Time = timeOf(a)
	if a.Time.IsZero() && timeUS != zeroTimeUS {
		a.Time = time.UnixMicro(timeUS).UTC()
	}
	return a, nil
}

var zeroTimeUS = time.Time{}.UnixMicro()

// Filter selects alerts for List. Zero fields select everything.
type Filter struct {
	// Since and Until bound the alert time: at or after Since, before
	// Until.
	Since, Until time.Time
	CloudTarget  string
	Access       string
	Namespace    string
	User         string // the username
	Outcome      string
	// Suppressed, when set, selects suppressed (true) or unsuppressed
	// (false) alerts.
	Suppressed *bool
	// Limit is the most alerts returned, the earliest first; 0 for all.
	Limit int
}

// List returns the alerts f selects, ordered as alert.Sort orders them: by
// time, then audit ID.
func (s *Store) List(ctx context.Context, f Filter) ([]*alert.Alert, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if !f.Since.IsZero() {
		add("time_us >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		add("time_us < ?", f.Until.UnixMicro())
	}
	for _, c := range []struct{ col, val string }{
		{"cloud_target", f.CloudTarget}, {"access", f.Access}, {"namespace", f.Namespace},
		{"username", f.User}, {"outcome", f.Outcome},
	} {
		if c.val != "" {
			add(c.col+" = ?", c.val)
		}
	}
	if f.Suppressed != nil {
		if *f.Suppressed {
			where = append(where, "suppressed_by != ''")
		} else {
			where = append(where, "suppressed_by = ''")
		}
	}
	q := `SELECT alert, events, time_us FROM alerts`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time_us, audit_id, stage_rank, id"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing alerts: %w", err)
	}
	defer rows.Close()
	var out []*alert.Alert
	for rows.Next() {
		var doc, events string
		var timeUS int64
		if err := rows.Scan(&doc, &events, &timeUS); err != nil {
			return nil, fmt.Errorf("store: listing alerts: %w", err)
		}
		a, err := decode(doc, events, timeUS)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing alerts: %w", err)
	}
	return out, nil
}

// Get returns the alert with the given id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*alert.Alert, error) {
	var doc, events string
	var timeUS int64
	err := s.r.QueryRowContext(ctx, `SELECT alert, events, time_us FROM alerts WHERE id = ?`, id).Scan(&doc, &events, &timeUS)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: alert %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: alert %s: %w", id, err)
	}
	a, err := decode(doc, events, timeUS)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return a, nil
}

func uniq(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/detect"
)

func TestMergeAcrossBatches(t *testing.T) {
	st, _ := openTemp(t)
	ctx := context.Background()
	sinks := []string{"siem", "slack"}
	x := newSession("a")

	first := x.alert(t, received)
	got := save(t, st, sinks, first)
	if len(got) != 1 || got[0].Outcome != alert.OutcomeUnknown {
		t.Fatalf("first batch: %d changed, outcome %v", len(got), got)
	}

	second := x.alert(t, started, complete)
	got = save(t, st, sinks, second)
	if len(got) != 1 {
		t.Fatalf("second batch: %d changed, want 1", len(got))
	}
	// The stored alert is what one fold of all three stages gives.
	want := x.alert(t, received, started, complete)
	for name, a := range map[string]*alert.Alert{"returned": got[0], "stored": mustGet(t, st, want.ID)} {
		if mustJSON(t, a) != mustJSON(t, want) {
			t.Errorf("%s alert\n got %s\nwant %s", name, mustJSON(t, a), mustJSON(t, want))
		}
		if !reflect.DeepEqual(a.Stages, []string{"RequestReceived", "ResponseStarted", "ResponseComplete"}) {
			t.Errorf("%s stages %v", name, a.Stages)
		}
		if a.Outcome != alert.OutcomeAllowed || a.ResponseCode != 200 {
			t.Errorf("%s outcome %s %d, want the latest stage's", name, a.Outcome, a.ResponseCode)
		}
		if len(a.Events) != 3 || !bytes.Equal(a.Events[2], want.Events[2]) {
			t.Errorf("%s has %d events, or the last differs", name, len(a.Events))
		}
		if !a.Time.Equal(t0) {
			t.Errorf("%s time %v, want %v", name, a.Time, t0)
		}
	}
	all, err := st.List(ctx, Filter{})
	if err != nil || len(all) != 1 {
		t.Fatalf("List: %d alerts, %v; want one row per session", len(all), err)
	}
	depth := mustDepth(t, st)
	if !reflect.DeepEqual(depth, map[string]int{"siem": 2, "slack": 2}) {
		t.Fatalf("depth %v, want 2 items per sink", depth)
	}

	// Retried batches change nothing and queue nothing.
	for _, retry := range []*alert.Alert{x.alert(t, started, complete), x.alert(t, received), x.alert(t, complete)} {
		if got := save(t, st, sinks, retry); len(got) != 0 {
			t.Errorf("retried batch %v changed %d alerts", retry.Stages, len(got))
		}
	}
	if d := mustDepth(t, st); !reflect.DeepEqual(d, depth) {
		t.Errorf("retried batches queued items: depth %v, was %v", d, depth)
	}
	if a := mustGet(t, st, want.ID); mustJSON(t, a) != mustJSON(t, want) {
		t.Errorf("retried batches changed the alert: %s", mustJSON(t, a))
	}
}

func TestSameSessionTwiceInOneBatch(t *testing.T) {
	st, _ := openTemp(t)
	x := newSession("a")
	got := save(t, st, []string{"siem"}, x.alert(t, received), x.alert(t, denied))
	if len(got) != 1 {
		t.Fatalf("%d alerts returned, want the session once", len(got))
	}
	if got[0].Outcome != alert.OutcomeDenied || len(got[0].Stages) != 2 {
		t.Errorf("returned %s %v, want the merged alert", got[0].Outcome, got[0].Stages)
	}
	if d := mustDepth(t, st); d["siem"] != 2 {
		t.Errorf("depth %v: want an item for each change", d)
	}
}

func TestAlertRoundTrip(t *testing.T) {
	st, _ := openTemp(t)
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	a := &alert.Alert{
		SchemaVersion: alert.SchemaVersion, ID: "esql-1", Engine: "esql",
		Rule:      alert.RuleRef{ID: "r", Name: "rule", Severity: "high", RiskScore: 73, Version: 2},
		Timestamp: at.Format(alert.TimeFormat), Time: at, AuditID: "aud", Stage: "ResponseComplete", Verb: "get",
		User:      alert.User{Username: "bob", UID: "u1", Groups: []string{"g"}, ImpersonatedUser: "eve", ImpersonatedGroups: []string{"ig"}},
		SourceIPs: []string{"1.2.3.4"}, UserAgent: "kubectl", Namespace: "ns", Pod: "p", Container: "c",
		Command: []string{"sh", "-c", "curl <x> & y"}, ExecutedCommand: "sh -c 'curl <x> & y'",
		CloudTarget: "GCP_METADATA", IsCredentialTheft: "recon", Access: "recon", Outcome: "failed", ResponseCode: 500,
		Indicators: []detect.Indicator{{Kind: "ip", Text: "metadata.google.internal", Canonical: "169.254.169.254", CloudTarget: "GCP_METADATA"}},
		Normalized: "curl", Truncated: true, AnalysisNote: "note",
		Sources: []alert.Source{{File: "f", Line: 3, Stage: "ResponseComplete"}},
		Stages:  []string{"ResponseComplete"},
		Events:  []json.RawMessage{json.RawMessage(`{"kind":"Event","n":1}`), json.RawMessage(`{"kind":"Event","n":2}`)},
	}
	save(t, st, nil, a)
	got := mustGet(t, st, a.ID)
	if !got.Time.Equal(at) {
		t.Errorf("time %v, want %v", got.Time, at)
	}
	got.Time, a.Time = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, a) {
		t.Errorf("round trip\n got %+v\nwant %+v", got, a)
	}
}

func TestListFiltersAndOrder(t *testing.T) {
	st, _ := openTemp(t)
	ctx := context.Background()
	mk := func(audit string, min int, f func(*session)) session {
		x := newSession(audit)
		x.at = t0.Add(time.Duration(min) * time.Minute)
		if f != nil {
			f(&x)
		}
		return x
	}
	sessions := []session{
		mk("e", 4, func(x *session) { x.user = "bob" }),
		mk("b", 1, func(x *session) { x.target = "GCP_METADATA"; x.access = "recon" }),
		mk("d", 3, func(x *session) { x.namespace = "dev" }),
		mk("a", 1, nil), // at the same time as b: the audit id decides
		mk("c", 2, func(x *session) { x.namespace = "dev"; x.user = "bob" }),
	}
	// Stored out of order, two batches, with c and e denied.
	var batches [2][]*alert.Alert
	for i, x := range sessions {
		last := complete
		if x.audit == "c" || x.audit == "e" {
			last = denied
		}
		batches[i%2] = append(batches[i%2], x.alert(t, received, last))
	}
	save(t, st, nil, batches[0]...)
	save(t, st, nil, batches[1]...)

	all, err := st.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(all); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("order %v", got)
	}
	sorted := slices.Clone(all)
	slices.Reverse(sorted)
	alert.Sort(sorted)
	if !slices.Equal(ids(sorted), ids(all)) {
		t.Errorf("alert.Sort orders %v, List %v", ids(sorted), ids(all))
	}
	for _, a := range all {
		if len(a.Events) != 2 || a.Time.IsZero() {
			t.Errorf("%s: %d events, time %v: List must return complete alerts", a.AuditID, len(a.Events), a.Time)
		}
	}

	yes, no := true, false
	cases := []struct {
		name string
		f    Filter
		want []string
	}{
		{"since is inclusive", Filter{Since: t0.Add(2 * time.Minute)}, []string{"c", "d", "e"}},
		{"until is exclusive", Filter{Until: t0.Add(2 * time.Minute)}, []string{"a", "b"}},
		{"since and until", Filter{Since: t0.Add(2 * time.Minute), Until: t0.Add(4 * time.Minute)}, []string{"c", "d"}},
		{"cloud target", Filter{CloudTarget: "GCP_METADATA"}, []string{"b"}},
		{"access", Filter{Access: "credential"}, []string{"a", "c", "d", "e"}},
		{"namespace", Filter{Namespace: "dev"}, []string{"c", "d"}},
		{"user", Filter{User: "bob"}, []string{"c", "e"}},
		{"outcome", Filter{Outcome: alert.OutcomeDenied}, []string{"c", "e"}},
		{"combined", Filter{Namespace: "dev", Outcome: alert.OutcomeAllowed}, []string{"d"}},
		{"suppressed", Filter{Suppressed: &yes}, []string{}},
		{"not suppressed", Filter{Suppressed: &no}, []string{"a", "b", "c", "d", "e"}},
		{"limit", Filter{Limit: 2}, []string{"a", "b"}},
		{"limit after filter", Filter{User: "alice", Limit: 2}, []string{"a", "b"}},
		{"no match", Filter{User: "mallory"}, []string{}},
	}
	for _, c := range cases {
		got, err := st.List(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(ids(got), c.want) {
			t.Errorf("%s: %v, want %v", c.name, ids(got), c.want)
		}
	}
}

func TestGet(t *testing.T) {
	st, _ := openTemp(t)
	a := newSession("a").alert(t, received)
	save(t, st, nil, a)
	if got := mustGet(t, st, a.ID); got.ID != a.ID || got.AuditID != "a" {
		t.Errorf("Get gave %s %s", got.ID, got.AuditID)
	}
	_, err := st.Get(context.Background(), "0123456789abcdef0123456789abcdef")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an unknown id: %v, want ErrNotFound", err)
	}
}

func TestSaveBatchRefusesAlertWithoutID(t *testing.T) {
	st, _ := openTemp(t)
	good := newSession("a").alert(t, received)
	_, err := st.SaveBatch(context.Background(), []*alert.Alert{good, {AuditID: "x"}}, []string{"siem"})
	if err == nil {
		t.Fatal("no error for an alert without id")
	}
	if _, err := st.Get(context.Background(), good.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the rest of a refused batch was stored: %v", err)
	}
}

func TestWritable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Writable(context.Background()); err != nil {
		t.Fatalf("Writable on a fresh store: %v", err)
	}
	st.Close()
	if err := st.Writable(context.Background()); err == nil {
		t.Fatal("Writable on a closed store gave no error")
	}
}

func TestSchema(t *testing.T) {
	st, path := openTemp(t)
	ctx := context.Background()
	var mode string
	if err := st.r.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q, %v; want wal", mode, err)
	}
	var sync, fk, busy int
	if err := st.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous %d, %v; want 2 (FULL)", sync, err)
	}
	if err := st.w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys %d, %v; want 1", fk, err)
	}
	if err := st.r.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil || busy != 5000 {
		t.Errorf("busy_timeout %d, %v; want 5000", busy, err)
	}
	var v int
	if err := st.r.QueryRowContext(ctx, "SELECT version FROM schema_version").Scan(&v); err != nil || v != SchemaVersion {
		t.Errorf("schema version %d, %v; want %d", v, err, SchemaVersion)
	}
	// The outbox cannot point at an alert that is not stored.
	if _, err := st.w.ExecContext(ctx, `INSERT INTO outbox (sink, alert_id, created_at) VALUES ('s', 'nope', 0)`); err == nil {
		t.Error("foreign key not enforced")
	}
	// Reopening an up-to-date store migrates nothing and keeps the data.
	save(t, st, []string{"siem"}, newSession("a").alert(t, received))
	st.Close()
	st2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if all, err := st2.List(ctx, Filter{}); err != nil || len(all) != 1 {
		t.Errorf("after reopening: %d alerts, %v", len(all), err)
	}
	if d := mustDepth(t, st2); d["siem"] != 1 {
		t.Errorf("after reopening: depth %v", d)
	}
}

func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b?c#d%20e")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "alerts.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	save(t, st, nil, newSession("a").alert(t, received))
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("database not at %s: %v", path, err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	content := bytes.Repeat([]byte("this is not a database\n"), 200)
	if err := os.WriteFile(junk, content, 0o644); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	db, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	newer := filepath.Join(dir, "newer.db")
	st, err := Open(newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.w.Exec(`UPDATE schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		path string
		want string
	}{
		{junk, "is not a SQLite database"},
		{foreign, "not an imdsguard alert store"},
		{newer, "schema version 99 is newer"},
		{dir, "is a directory"},
		{filepath.Join(dir, "missing", "alerts.db"), "directory " + filepath.Join(dir, "missing") + " does not exist"},
		{filepath.Join(file, "alerts.db"), file + " is not a directory"},
	}
	for _, c := range cases {
		st, err := Open(c.path)
		if err == nil {
			st.Close()
			t.Errorf("Open(%s) gave no error", c.path)
			continue
		}
		if !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%s): %q, want the path and %q", c.path, err, c.want)
		}
	}
	if b, _ := os.ReadFile(junk); !bytes.Equal(b, content) {
		t.Error("Open changed a file that is not a database")
	}
}

// A second Store on the same file, as imdsguard alerts list opens it while
// the server writes, reads without waiting for the writer.
func TestSecondStoreReadsWhileFirstWrites(t *testing.T) {
	ctx := context.Background()
	w, path := openTemp(t)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a := newSession("a").alert(t, received)

	// Hold a write transaction open in the first store.
	tx, err := w.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.upsert(ctx, tx, a, 1); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second) // well below busy_timeout
	defer cancel()
	start := time.Now()
	all, err := r.List(rctx, Filter{})
	if err != nil {
		t.Fatalf("List while the other store writes: %v", err)
	}
	if len(all) != 0 {
		t.Errorf("read saw an uncommitted alert")
	}
	if _, err := r.Get(rctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get while the other store writes: %v, want ErrNotFound", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("reads waited %v for the writer", d)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, r, a.ID); got.AuditID != "a" {
		t.Errorf("after commit: %s", got.AuditID)
	}

	// Both stores write and read at once: busy_timeout and IMMEDIATE
	// transactions keep SQLITE_BUSY away.
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for i, s := range []*Store{w, r} {
		var batch []*alert.Alert
		for j := range n {
			batch = append(batch, newSession(fmt.Sprintf("s%d-%d", i, j)).alert(t, received))
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for _, a := range batch {
				if _, err := s.SaveBatch(ctx, []*alert.Alert{a}, []string{"siem"}); err != nil {
					errs <- err
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range n {
				if _, err := s.List(ctx, Filter{Limit: 10}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, s := range []*Store{w, r} {
		all, err := s.List(ctx, Filter{})
		if err != nil || len(all) != 1+2*n {
			t.Errorf("%d alerts, %v; want %d", len(all), err, 1+2*n)
		}
	}
}

// Many goroutines save the stages of the same sessions at once, as
// concurrent webhook batches do; every stage lands once.
func TestConcurrentSaveBatch(t *testing.T) {
	st, _ := openTemp(t)
	ctx := context.Background()
	const sessions = 20
	stages := []stage{received, started, complete}
	var wg sync.WaitGroup
	var mu sync.Mutex
	changes := 0
	errs := make(chan error, sessions*len(stages))
	for _, s := range stages {
		for i := range sessions {
			a := newSession(fmt.Sprintf("s%02d", i)).alert(t, s)
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := st.SaveBatch(ctx, []*alert.Alert{a}, []string{"siem"})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				changes += len(got)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, err := st.List(ctx, Filter{})
	if err != nil || len(all) != sessions {
		t.Fatalf("%d alerts, %v", len(all), err)
	}
	for _, a := range all {
		if len(a.Stages) != 3 || a.Outcome != alert.OutcomeAllowed || len(a.Events) != 3 {
			t.Errorf("%s: stages %v, outcome %s, %d events", a.AuditID, a.Stages, a.Outcome, len(a.Events))
		}
	}
	if changes != sessions*len(stages) {
		t.Errorf("%d changes reported, want %d", changes, sessions*len(stages))
	}
	if d := mustDepth(t, st); d["siem"] != changes {
		t.Errorf("depth %v, want one item per change (%d)", d, changes)
	}
}

// mustGet returns the stored alert with id.
func mustGet(t testing.TB, st *Store, id string) *alert.Alert {
	t.Helper()
	a, err := st.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustDepth(t testing.TB, st *Store) map[string]int {
	t.Helper()
	d, err := st.OutboxDepth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

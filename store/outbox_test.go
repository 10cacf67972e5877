package store

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imdsguard/imdsguard/alert"
)

func pending(t *testing.T, st *Store, sink string, now time.Time, limit int) []OutboxItem {
	t.Helper()
	items, err := st.Pending(context.Background(), sink, now, limit)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func itemAlerts(items []OutboxItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Alert.AuditID
	}
	return out
}

func TestOutbox(t *testing.T) {
	st, _ := openTemp(t)
	ctx := context.Background()
	now := time.Now()
	sinks := []string{"siem", "slack"}
	a, b := newSession("a"), newSession("b")
	save(t, st, sinks, a.alert(t, received), b.alert(t, received))
	if d := mustDepth(t, st); !reflect.DeepEqual(d, map[string]int{"siem": 2, "slack": 2}) {
		t.Fatalf("depth %v, want one item per sink per alert", d)
	}
	// A later stage of a changes it: one more item per sink, and every
	// item of a carries the alert as it is now.
	save(t, st, sinks, a.alert(t, denied))
	items := pending(t, st, "siem", now, 10)
	if got := itemAlerts(items); !slices.Equal(got, []string{"a", "b", "a"}) {
		t.Fatalf("pending %v, want a b a (oldest first)", got)
	}
	for i, it := range items {
		if it.Sink != "siem" || it.Attempts != 0 || it.AlertID != it.Alert.ID {
			t.Errorf("item %d: %+v", i, it)
		}
		if i > 0 && it.Seq <= items[i-1].Seq {
			t.Errorf("items not in seq order: %d after %d", it.Seq, items[i-1].Seq)
		}
		if it.Alert.AuditID == "a" && (it.Alert.Outcome != alert.OutcomeDenied || len(it.Alert.Events) != 2 || it.Alert.Time.IsZero()) {
			t.Errorf("item %d has alert a as %s with %d events, want the current, complete alert", i, it.Alert.Outcome, len(it.Alert.Events))
		}
	}
	if got := pending(t, st, "siem", now, 1); len(got) != 1 || got[0].Seq != items[0].Seq {
		t.Errorf("limit 1: %v", itemAlerts(got))
	}
	if got := pending(t, st, "nobody", now, 10); len(got) != 0 {
		t.Errorf("unknown sink has %d items", len(got))
	}

	// Ack removes one item of one sink.
	if err := st.Ack(ctx, items[0].Seq); err != nil {
		t.Fatal(err)
	}
	if err := st.Ack(ctx, items[0].Seq); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Ack: %v, want ErrNotFound", err)
	}
	if d := mustDepth(t, st); !reflect.DeepEqual(d, map[string]int{"siem": 2, "slack": 3}) {
		t.Errorf("depth after Ack %v", d)
	}
	if got := itemAlerts(pending(t, st, "slack", now, 10)); !slices.Equal(got, []string{"a", "b", "a"}) {
		t.Errorf("Ack on siem changed slack: %v", got)
	}

	// Retry backs an item off: not due until next, then due with one more
	// attempt.
	b1 := items[1]
	next := now.Add(time.Minute)
	if err := st.Retry(ctx, b1.Seq, next, "connection refused"); err != nil {
		t.Fatal(err)
	}
	if got := itemAlerts(pending(t, st, "siem", now, 10)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("backed-off item still due: %v", got)
	}
	if got := itemAlerts(pending(t, st, "siem", next.Add(-time.Microsecond), 10)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("backed-off item due before its time: %v", got)
	}
	due := pending(t, st, "siem", next, 10)
	if got := itemAlerts(due); !slices.Equal(got, []string{"b", "a"}) {
		t.Fatalf("at its time: %v, want b again, oldest first", got)
	}
	if due[0].Seq != b1.Seq || due[0].Attempts != 1 {
		t.Errorf("retried item %+v, want seq %d with 1 attempt", due[0], b1.Seq)
	}
	if err := st.Retry(ctx, b1.Seq, next.Add(time.Minute), strings.Repeat("é", 5000)); err != nil {
		t.Fatal(err)
	}
	var lastErr string
	if err := st.r.QueryRow(`SELECT last_error FROM outbox WHERE seq = ?`, b1.Seq).Scan(&lastErr); err != nil {
		t.Fatal(err)
	}
	if len(lastErr) > maxErrorLen || !strings.HasPrefix(lastErr, "éé") || strings.ToValidUTF8(lastErr, "?") != lastErr {
		t.Errorf("long error kept as %d bytes, valid UTF-8 %v", len(lastErr), strings.ToValidUTF8(lastErr, "?") == lastErr)
	}
	if got := pending(t, st, "siem", next.Add(2*time.Minute), 10); got[0].Attempts != 2 {
		t.Errorf("attempts %d after two retries", got[0].Attempts)
	}
	if err := st.Retry(ctx, 9999, next, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Retry of an unknown item: %v, want ErrNotFound", err)
	}

	// Draining a sink leaves it in the depth map at 0.
	for _, it := range pending(t, st, "siem", next.Add(time.Hour), 10) {
		if err := st.Ack(ctx, it.Seq); err != nil {
			t.Fatal(err)
		}
	}
	if d := mustDepth(t, st); !reflect.DeepEqual(d, map[string]int{"siem": 0, "slack": 3}) {
		t.Errorf("depth after draining siem %v", d)
	}
	// Sequence numbers are never reused, so a late Ack cannot hit a new
	// item.
	save(t, st, sinks, newSession("c").alert(t, received))
	c := pending(t, st, "siem", now, 10)
	if len(c) != 1 || c[0].Seq <= items[2].Seq {
		t.Errorf("new item %+v reuses an old seq (last was %d)", c, items[2].Seq)
	}
}

func TestOutboxBound(t *testing.T) {
	st, _ := openTemp(t, WithMaxOutbox(3))
	ctx := context.Background()
	sinks := []string{"siem", "slack"}
	a, b := newSession("a"), newSession("b")
	save(t, st, sinks, a.alert(t, received)) // 2 items

	// A new alert would make 4 items: refused, nothing stored.
	got, err := st.SaveBatch(ctx, []*alert.Alert{b.alert(t, received)}, sinks)
	if err != ErrOutboxFull {
		t.Fatalf("SaveBatch over the bound: %v, %d alerts; want ErrOutboxFull itself", err, len(got))
	}
	if _, err := st.Get(ctx, b.alert(t, received).ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("refused alert was stored: %v", err)
	}
	// A change to a stored alert is refused too, and leaves it as it was.
	if _, err := st.SaveBatch(ctx, []*alert.Alert{a.alert(t, denied)}, sinks); err != ErrOutboxFull {
		t.Fatalf("merge over the bound: %v", err)
	}
	if got := mustGet(t, st, a.alert(t, received).ID); got.Outcome != alert.OutcomeUnknown || len(got.Stages) != 1 {
		t.Errorf("refused merge changed the alert: %s %v", got.Outcome, got.Stages)
	}
	if d := mustDepth(t, st); !reflect.DeepEqual(d, map[string]int{"siem": 1, "slack": 1}) {
		t.Errorf("depth %v after refused batches", d)
	}
	// A batch that queues nothing is taken even when full, and so is a
	// batch with no sinks.
	if got, err := st.SaveBatch(ctx, []*alert.Alert{a.alert(t, received)}, sinks); err != nil || len(got) != 0 {
		t.Errorf("retried batch near the bound: %d, %v", len(got), err)
	}
	if got, err := st.SaveBatch(ctx, []*alert.Alert{b.alert(t, received)}, nil); err != nil || len(got) != 1 {
		t.Errorf("batch without sinks: %d, %v", len(got), err)
	}
	// Once a sink catches up there is room again.
	items := pending(t, st, "siem", time.Now(), 10)
	if err := st.Ack(ctx, items[0].Seq); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveBatch(ctx, []*alert.Alert{newSession("c").alert(t, received)}, sinks); err != nil {
		t.Fatalf("after Ack: %v", err)
	}
	if d := mustDepth(t, st); d["siem"]+d["slack"] != 3 {
		t.Errorf("depth %v, want 3 in all", d)
	}
}

func TestSinksDeduplicated(t *testing.T) {
	st, _ := openTemp(t)
	save(t, st, []string{"siem", "siem"}, newSession("a").alert(t, received))
	if d := mustDepth(t, st); d["siem"] != 1 {
		t.Errorf("depth %v: a sink named twice got two items", d)
	}
}

// A suppressed alert is stored and listed but owes no delivery, until a
// stage judged without the exception arrives.
func TestSuppressedAlertsAreKeptNotQueued(t *testing.T) {
	st, _ := openTemp(t)
	ctx := context.Background()
	sinks := []string{"siem"}
	x := newSession("s")
	sup := &alert.Suppression{Exception: "break-glass", Reason: "on-call"}
	first := x.alert(t, received)
	first.Suppressed = sup
	save(t, st, sinks, first)
	if d := mustDepth(t, st); d["siem"] != 0 {
		t.Fatalf("suppressed alert queued: depth %v", d)
	}
	yes, no := true, false
	got, err := st.List(ctx, Filter{Suppressed: &yes})
	if err != nil || len(got) != 1 || got[0].Suppressed == nil || *got[0].Suppressed != *sup {
		t.Fatalf("List(suppressed) = %v, %v", got, err)
	}
	if got, _ := st.List(ctx, Filter{Suppressed: &no}); len(got) != 0 {
		t.Fatalf("List(unsuppressed) = %d alerts", len(got))
	}
	// Still suppressed: nothing owed.
	later := x.alert(t, started)
	later.Suppressed = sup
	save(t, st, sinks, later)
	if d := mustDepth(t, st); d["siem"] != 0 {
		t.Fatalf("depth %v after a suppressed stage", d)
	}
	// The exception is gone when the last stage arrives: the alert goes out.
	save(t, st, sinks, x.alert(t, complete))
	items := pending(t, st, "siem", time.Now(), 0)
	if len(items) != 1 || items[0].Alert.Suppressed != nil || len(items[0].Alert.Stages) != 3 {
		t.Fatalf("items = %+v", items)
	}
	if err := st.Ack(ctx, items[0].Seq, items[0].Seq+1000); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Ack of a missing item: %v", err)
	}
	if d := mustDepth(t, st); d["siem"] != 0 {
		t.Fatalf("depth %v after Ack", d)
	}
}

package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/imdsguard/imdsguard/alert"
)

// BenchmarkSaveBatch stores batches of new alerts, each queued for one
// sink, and batches that merge a later stage into stored alerts. Every
// batch is one fsync'd commit, which dominates for small batches.
func BenchmarkSaveBatch(b *testing.B) {
	for _, size := range []int{1, 50} {
		tmpl := newSession("tmpl").alert(b, received, started)
		b.Run(fmt.Sprintf("new/alerts=%d", size), func(b *testing.B) {
			st, _ := openTemp(b, WithMaxOutbox(1<<30))
			ctx := context.Background()
			sinks := []string{"siem"}
			batch := make([]*alert.Alert, size)
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				for i := range batch {
					a := *tmpl
					n++
					a.AuditID = fmt.Sprintf("audit-%d", n)
					a.ID = alert.MakeID("bench", a.AuditID)
					batch[i] = &a
				}
				if _, err := st.SaveBatch(ctx, batch, sinks); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/alert")
		})
		b.Run(fmt.Sprintf("merge/alerts=%d", size), func(b *testing.B) {
			st, _ := openTemp(b, WithMaxOutbox(1<<30))
			ctx := context.Background()
			sinks := []string{"siem"}
			first := newSession("tmpl").alert(b, received)
			later := newSession("tmpl").alert(b, started, complete)
			batch := make([]*alert.Alert, size)
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				// Untimed: store the first stage of each session.
				b.StopTimer()
				for i := range batch {
					a := *first
					n++
					a.AuditID = fmt.Sprintf("audit-%d", n)
					a.ID = alert.MakeID("bench", a.AuditID)
					batch[i] = &a
				}
				if _, err := st.SaveBatch(ctx, batch, sinks); err != nil {
					b.Fatal(err)
				}
				for i := range batch {
					a := *later
					a.AuditID, a.ID = batch[i].AuditID, batch[i].ID
					batch[i] = &a
				}
				b.StartTimer()
				changed, err := st.SaveBatch(ctx, batch, sinks)
				if err != nil || len(changed) != size {
					b.Fatalf("%d changed, %v", len(changed), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/alert")
		})
	}
}

// BenchmarkPending takes the first 100 due items of a deep outbox: all
// never tried (a sink catching up), all backed off and due (a sink back
// after an outage), or none due (a sink down).
func BenchmarkPending(b *testing.B) {
	const depth = 100000
	st, _ := openTemp(b, WithMaxOutbox(depth))
	ctx := context.Background()
	tmpl := newSession("tmpl").alert(b, received)
	batch := make([]*alert.Alert, 500)
	for n := 0; n < depth; {
		for i := range batch {
			a := *tmpl
			a.AuditID = fmt.Sprintf("audit-%d", n)
			a.ID = alert.MakeID("bench", a.AuditID)
			batch[i] = &a
			n++
		}
		if _, err := st.SaveBatch(ctx, batch, []string{"siem"}); err != nil {
			b.Fatal(err)
		}
	}
	run := func(b *testing.B) {
		for b.Loop() {
			items, err := st.Pending(ctx, "siem", time.Now(), 100)
			if err != nil || len(items) != 100 {
				b.Fatalf("%d items, %v", len(items), err)
			}
		}
	}
	b.Run("fresh", run)
	if _, err := st.w.Exec(`UPDATE outbox SET attempts = 1, next_attempt_us = seq`); err != nil {
		b.Fatal(err)
	}
	b.Run("retried", run)
	if _, err := st.w.Exec(`UPDATE outbox SET next_attempt_us = ?`, time.Now().Add(time.Hour).UnixMicro()); err != nil {
		b.Fatal(err)
	}
	b.Run("none-due", func(b *testing.B) {
		for b.Loop() {
			items, err := st.Pending(ctx, "siem", time.Now(), 100)
			if err != nil || len(items) != 0 {
				b.Fatalf("%d items, %v", len(items), err)
			}
		}
	})
}

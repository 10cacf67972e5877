package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/imdsguard/imdsguard/auditgen"
	"github.com/imdsguard/imdsguard/auditlog"
)

// BenchmarkReadBody splits where a batch's time goes before the store:
// the reader as serve.process runs it on an EventList body; the same 400
// events as JSON lines (the prefiltered path scan takes); and one
// encoding/json validation pass over the body, the least a full JSON
// check costs.
func BenchmarkReadBody(b *testing.B) {
	p, err := newPool(auditgen.Config{Seed: 1}, 64, 400)
	if err != nil {
		b.Fatal(err)
	}
	lines := make([][]byte, len(p.bodies))
	for i, body := range p.bodies {
		var l struct{ Items []json.RawMessage }
		items := make([][]byte, 0, p.events)
		if err := json.Unmarshal(body, &l); err != nil {
			b.Fatal(err)
		}
		for _, it := range l.Items {
			items = append(items, it)
		}
		lines[i] = append(bytes.Join(items, []byte("\n")), '\n')
	}
	read := func(b *testing.B, bodies [][]byte) {
		b.SetBytes(p.bytes / int64(len(p.bodies)))
		i, n := 0, 0
		for b.Loop() {
			r := auditlog.NewReader(auditlog.Options{OnlyExec: true})
			st := r.Read("request", bytes.NewReader(bodies[i%len(bodies)]), func(*auditlog.Record) { n++ })
			if st.Lines == 0 {
				b.Fatal("nothing read")
			}
			i++
		}
		b.ReportMetric(float64(b.N*p.events)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("eventlist/Read", func(b *testing.B) { read(b, p.bodies) })
	b.Run("jsonlines", func(b *testing.B) { read(b, lines) })
	// What serve runs: the EventList split in place, each item through
	// the prefilter, only candidates decoded.
	b.Run("eventlist/ReadBytes", func(b *testing.B) {
		b.SetBytes(p.bytes / int64(len(p.bodies)))
		i, n := 0, 0
		for b.Loop() {
			auditlog.NewReader(auditlog.Options{OnlyExec: true}).ReadBytes("request", p.bodies[i%len(p.bodies)], func(*auditlog.Record) { n++ })
			i++
		}
		b.ReportMetric(float64(b.N*p.events)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(p.bytes / int64(len(p.bodies)))
		i := 0
		for b.Loop() {
			if !json.Valid(p.bodies[i%len(p.bodies)]) {
				b.Fatal("invalid")
			}
			i++
		}
		b.ReportMetric(float64(b.N*p.events)/b.Elapsed().Seconds(), "events/s")
	})
}

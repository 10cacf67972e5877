package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/imdsguard/imdsguard/auditgen"
)

// pool is a set of webhook bodies cut from one generated audit log, in log
// order, each with the offsets of its audit IDs so that a copy can be given
// fresh IDs cheaply (see body).
type pool struct {
	bodies [][]byte
	// ids[i] holds, for bodies[i], the offset of the first hex digit of
	// every event's auditID value.
	ids    [][]int32
	events int // events per body
	bytes  int64
	stats  auditgen.Stats
	// execEvents counts the events of pods/exec requests.
	execEvents int
	// runID tells this run's audit IDs from another's (see body).
	runID uint32
}

const (
	listHead = `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[`
	listTail = `]}`
	idKey    = `"auditID":"`
)

// newPool generates n bodies of size events each with auditgen: one log
// of n*size events, cut into consecutive batches as the API server's
// webhook batches them, so a long-running request's stages (exec among
// them) may fall in different batches.
func newPool(cfg auditgen.Config, n, size int) (*pool, error) {
	if n <= 0 || size <= 0 {
		return nil, errors.New("batches and batch size must be > 0")
	}
	cfg.Events = n * size
	var log bytes.Buffer
	log.Grow(cfg.Events * 1100)
	st, err := auditgen.Write(&log, cfg)
	if err != nil {
		return nil, err
	}
	p := &pool{events: size, stats: st}
	data := log.Bytes()
	for len(data) > 0 {
		body := make([]byte, 0, len(listHead)+len(listTail)+size*1100)
		body = append(body, listHead...)
		var ids []int32
		k := 0
		for ; k < size && len(data) > 0; k++ {
			line := data
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				line, data = data[:i], data[i+1:]
			} else {
				data = nil
			}
			// auditID is the fourth field the encoder writes; the first
			// occurrence is the event's own.
			i := bytes.Index(line, []byte(idKey))
			if i < 0 || len(line) < i+len(idKey)+8 {
				return nil, fmt.Errorf("generated event without an auditID: %.200s", line)
			}
			if k > 0 {
				body = append(body, ',')
			}
			ids = append(ids, int32(len(body)+i+len(idKey)))
			body = append(body, line...)
			if isPodExec(line) {
				p.execEvents++
			}
		}
		if k < size {
			break // the log ended short; keep whole batches only
		}
		body = append(body, listTail...)
		p.bodies = append(p.bodies, body)
		p.ids = append(p.ids, ids)
		p.bytes += int64(len(body))
	}
	if len(p.bodies) == 0 {
		return nil, errors.New("auditgen wrote less than one batch")
	}
	return p, nil
}

// isPodExec reports whether an event is on pods/exec (objectRef, not
// the body of an access review that names pods/exec).
func isPodExec(line []byte) bool {
	if !bytes.Contains(line, []byte(`"subresource":"exec"`)) {
		return false
	}
	var ev struct {
		ObjectRef *struct{ Resource, Subresource string }
	}
	return json.Unmarshal(line, &ev) == nil && ev.ObjectRef != nil &&
		ev.ObjectRef.Resource == "pods" && ev.ObjectRef.Subresource == "exec"
}

// body copies the k-th body to send into dst: bodies[k % n], whose audit
// IDs start with runID + k/n (the pass over the pool) in 8 hex digits
// instead of their own first 8, unless that is 0. IDs stay unique within a
// pass (the other 24 hex digits are random) and differ between passes and
// between runs with different run IDs, so the server stores new alerts all
// along instead of deduplicating those of an earlier pass or run; the
// stages of one request keep one ID within a pass.
func (p *pool) body(dst []byte, k uint64) []byte {
	n := uint64(len(p.bodies))
	i, pass := k%n, k/n
	dst = append(dst[:0], p.bodies[i]...)
	v := p.runID + uint32(pass)
	if v == 0 {
		return dst
	}
	var hex [8]byte
	const digits = "0123456789abcdef"
	for j := 7; j >= 0; j-- {
		hex[j] = digits[v&0xf]
		v >>= 4
	}
	for _, off := range p.ids[i] {
		copy(dst[off:off+8], hex[:])
	}
	return dst
}

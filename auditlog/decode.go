package auditlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// value handles one JSON object, whatever it holds. In recovery mode
// (resuming inside a damaged document) objects that are not audit events
// are parts of the damaged value and are skipped without a message.
func (f *file) value(raw []byte, line int, recovering bool) {
	// The API server's own lines start this way: no need to classify.
	if f.r.opts.Format == FormatAuto && bytes.HasPrefix(raw, []byte(`{"kind":"Event",`)) {
		f.event(raw, line, time.Time{})
		return
	}
	if f.splitsEventLists() {
		if spans, ok := eventListItems(raw); ok {
			f.items(raw, spans, line)
			return
		}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		f.fail(line, fmt.Errorf("malformed JSON: %v", err))
		return
	}
	switch f.kindOf(top) {
	case FormatESSearch:
		f.searchResponse(top, line)
	case FormatEventList:
		f.eventList(top, line)
	case FormatElastic:
		f.elasticDoc(top, line)
	case FormatEvents:
		f.event(raw, line, time.Time{})
	default:
		if !recovering {
			f.fail(line, errNotAudit)
		}
	}
}

// kindOf classifies a decoded object. A format forced by the user decides
// for line input; documents may still nest other kinds.
func (f *file) kindOf(top map[string]json.RawMessage) Format {
	if hits, ok := top["hits"]; ok && isObject(hits) {
		return FormatESSearch
	}
	if items, ok := top["items"]; ok && isArray(items) {
		return FormatEventList
	}
	if _, ok := top["kubernetes"]; ok {
		return FormatElastic
	}
	for k := range top {
		if strings.HasPrefix(k, "kubernetes.audit") {
			return FormatElastic
		}
	}
	if f.r.opts.Format == FormatElastic {
		return FormatAuto // an Elastic document without kubernetes.audit
	}
	for _, k := range []string{"auditID", "requestURI", "stage", "verb", "objectRef"} {
		if _, ok := top[k]; ok {
			return FormatEvents
		}
	}
	return FormatAuto
}

func isObject(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

func isArray(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '['
}

// event decodes one audit event with the official audit.k8s.io/v1 type.
func (f *file) event(raw []byte, line int, docTime time.Time) {
	if f.r.opts.OnlyExec {
		// A light decode first: an event that is not on an exec
		// subresource cannot alert, whatever "exec" its body mentions.
		var probe struct {
			ObjectRef *struct {
				Subresource string `json:"subresource"`
			} `json:"objectRef"`
		}
		if json.Unmarshal(raw, &probe) == nil && (probe.ObjectRef == nil || probe.ObjectRef.Subresource != "exec") {
			f.stats.Events++
			return
		}
	}
	rec := &Record{Raw: json.RawMessage(raw), File: f.name, Line: line}
	if err := json.Unmarshal(raw, &rec.Event); err != nil {
		f.fail(line, fmt.Errorf("audit event does not decode: %v", err))
		return
	}
	f.stats.Events++
	switch {
	case !rec.Event.RequestReceivedTimestamp.IsZero():
		rec.Time = rec.Event.RequestReceivedTimestamp.Time
	case !rec.Event.StageTimestamp.IsZero():
		rec.Time = rec.Event.StageTimestamp.Time
	default:
		rec.Time = docTime
	}
	f.emit(rec)
}

func (f *file) eventList(top map[string]json.RawMessage, line int) {
	var items []json.RawMessage
	if err := json.Unmarshal(top["items"], &items); err != nil {
		f.fail(line, fmt.Errorf("EventList items: %v", err))
		return
	}
	for _, it := range items {
		f.listItem(it, line)
	}
}

// splitsEventLists says whether EventLists are split and prefiltered item
// by item (eventListItems) rather than decoded whole.
func (f *file) splitsEventLists() bool {
	return !f.r.opts.NoPrefilter && (f.r.opts.Format == FormatAuto || f.r.opts.Format == FormatEventList)
}

// items reads the EventList items at spans of doc, which starts on line
// (the line its items are reported at, as when it is decoded whole): only
// those the prefilter passes are decoded.
func (f *file) items(doc []byte, spans [][2]int, line int) {
	for _, sp := range spans {
		if it := doc[sp[0]:sp[1]]; MayBeExec(it) {
			f.listItem(it, line)
		}
	}
}

// listItem reads one element of an EventList: an audit event, or an
// Elastic document holding one.
func (f *file) listItem(it []byte, line int) {
	if !isObject(it) {
		f.fail(line, fmt.Errorf("EventList item is not an object"))
		return
	}
	if !bytes.HasPrefix(it, []byte(`{"kind":"Event",`)) {
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(it, &inner); err == nil && f.kindOf(inner) == FormatElastic {
			f.elasticDoc(inner, line)
			return
		}
	}
	f.event(it, line, time.Time{})
}

func (f *file) searchResponse(top map[string]json.RawMessage, line int) {
	var resp struct {
		Hits struct {
			Hits []struct {
				Source json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(mustMarshal(top), &resp); err != nil {
		f.fail(line, fmt.Errorf("search response: %v", err))
		return
	}
	for i, h := range resp.Hits.Hits {
		if !isObject(h.Source) {
			f.fail(line, fmt.Errorf("search hit %d has no _source object", i))
			continue
		}
		var src map[string]json.RawMessage
		if err := json.Unmarshal(h.Source, &src); err != nil {
			f.fail(line, fmt.Errorf("search hit %d: %v", i, err))
			continue
		}
		switch f.kindOf(src) {
		case FormatElastic:
			f.elasticDoc(src, line)
		case FormatEvents:
			f.event(h.Source, line, time.Time{})
		default:
			f.fail(line, fmt.Errorf("search hit %d: %w", i, errNotAudit))
		}
	}
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// elasticDoc rebuilds the audit event stored under kubernetes.audit.
func (f *file) elasticDoc(top map[string]json.RawMessage, line int) {
	audit, err := elasticAudit(top)
	if err == errNoAudit {
		// Other Kubernetes logs share the kubernetes.* fields.
		f.stats.Skipped++
		return
	}
	if err != nil {
		f.fail(line, err)
		return
	}
	var docTime time.Time
	if ts, ok := top["@timestamp"]; ok {
		var s string
		if json.Unmarshal(ts, &s) == nil {
			docTime, _ = time.Parse(time.RFC3339Nano, s)
		}
	}
	f.event(audit, line, docTime)
}

var errNoAudit = fmt.Errorf("Elastic document has no kubernetes.audit object")

// elasticAudit gathers kubernetes.audit from an Elastic document whose keys
// may be nested ({"kubernetes":{"audit":{...}}}), dotted
// ("kubernetes.audit.objectRef.subresource") or any mix of the two.
func elasticAudit(top map[string]json.RawMessage) ([]byte, error) {
	doc := map[string]any{}
	for k, v := range top {
		if k != "kubernetes" && !strings.HasPrefix(k, "kubernetes.") {
			continue
		}
		val, err := decodeAny(v)
		if err != nil {
			return nil, fmt.Errorf("Elastic document field %q: %v", k, err)
		}
		insertFlat(doc, strings.Split(k, "."), val)
	}
	k8s, _ := doc["kubernetes"].(map[string]any)
	audit, _ := k8s["audit"].(map[string]any)
	if audit == nil {
		return nil, errNoAudit
	}
	return json.Marshal(unflattenAudit(audit))
}

func decodeAny(b json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// insertFlat stores v at path in m, merging objects that meet. Only the
// path is split on dots; keys inside v are kept as they are.
func insertFlat(m map[string]any, path []string, v any) {
	for i, p := range path {
		if i == len(path)-1 {
			old, oldIsMap := m[p].(map[string]any)
			nv, newIsMap := v.(map[string]any)
			if oldIsMap && newIsMap {
				mergeMaps(old, nv)
				return
			}
			m[p] = v
			return
		}
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
}

func mergeMaps(dst, src map[string]any) {
	for k, v := range src {
		d, dIsMap := dst[k].(map[string]any)
		s, sIsMap := v.(map[string]any)
		if dIsMap && sIsMap {
			mergeMaps(d, s)
			continue
		}
		dst[k] = v
	}
}

// mapFields are event fields whose keys are free text (they may contain
// dots, as annotation keys do) and must not be split.
var mapFields = map[string]bool{"annotations": true, "extra": true}

// unflattenAudit turns dotted keys inside the audit object into nested
// objects, except under maps with free-form keys.
func unflattenAudit(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		parts := strings.Split(k, ".")
		// Keep the key of a free-form map whole: annotations.a.b/c -> [annotations, a.b/c].
		for i := 0; i < len(parts)-1; i++ {
			if mapFields[parts[i]] {
				parts = append(parts[:i+1], strings.Join(parts[i+1:], "."))
				break
			}
		}
		if sub, ok := v.(map[string]any); ok && !mapFields[parts[len(parts)-1]] {
			v = unflattenAudit(sub)
		}
		insertFlat(out, parts, v)
	}
	return out
}

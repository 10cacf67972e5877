package sink

import (
	"context"
	"errors"
	"fmt"

	"github.com/imdsguard/imdsguard/alert"
)

// Sink sends alerts somewhere.
type Sink interface {
	// Name identifies the sink in the outbox, metrics and logs; it must
	// stay the same across restarts for owed alerts to find it.
	Name() string
	// Deliver sends the alerts in order. Nil means all were accepted; a
	// *PartialError says how many of the first ones were.
	Deliver(ctx context.Context, alerts []*alert.Alert) error
}

// PartialError reports a delivery that stopped after the first Delivered
// alerts were accepted.
type PartialError struct {
	Delivered int
	Err       error
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("%d delivered, then: %v", e.Delivered, e.Err)
}

func (e *PartialError) Unwrap() error { return e.Err }

// Delivered returns how many alerts of a batch a sink accepted, given the
// error Deliver returned for n alerts.
func Delivered(err error, n int) int {
	if err == nil {
		return n
	}
	var p *PartialError
	if errors.As(err, &p) {
		return min(max(p.Delivered, 0), n)
	}
	return 0
}

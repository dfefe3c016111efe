package revocation

import (
	"context"
	"runtime"
	"time"
)

// Background refreshes are paced, as nginx paces its cache loader
// (proxy_cache_path loader_threshold / loader_sleep): the walk of a big
// CRL works for backgroundSlice, then sleeps, so that it uses at most
// backgroundDuty of a processor. Without pacing, refreshing a
// million-entry CRL took a whole core for half a second and the
// handshakes sharing it waited (issue 9: p99 handshake latency during a
// background refresh). The refresh finishes a few times later instead,
// long before the current CRL runs out: it starts at 80% of its validity.
// Fetches someone waits for (the first one for a URL, or one after a CRL
// expired) are not paced.
const (
	backgroundDuty  = 0.25
	backgroundSlice = time.Millisecond
)

// pacer spreads one parse's CPU work. A nil *pacer only yields the
// processor, so that other goroutines take turns with the parse instead
// of waiting for the scheduler's 10-20 ms preemption.
type pacer struct {
	duty       float64
	sliceStart time.Time
}

func newPacer(duty float64) *pacer { return &pacer{duty: duty, sliceStart: time.Now()} }

// yield is called between small units of work (yieldEntries entries, one
// hashChunk).
func (p *pacer) yield() {
	if p == nil {
		runtime.Gosched()
		return
	}
	worked := time.Since(p.sliceStart)
	if worked < backgroundSlice {
		runtime.Gosched()
		return
	}
	time.Sleep(time.Duration(float64(worked) * (1 - p.duty) / p.duty))
	p.sliceStart = time.Now()
}

type backgroundKey struct{}

// withBackgroundPacing marks ctx as a background refresh: the CRLs it
// fetches are parsed paced.
func withBackgroundPacing(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// pacerFor returns the pacer for a parse under ctx: paced for background
// refreshes, nil (yield only) otherwise.
func pacerFor(ctx context.Context) *pacer {
	if bg, _ := ctx.Value(backgroundKey{}).(bool); bg {
		return newPacer(backgroundDuty)
	}
	return nil
}

// Package gctune gives the garbage collector a minimum headroom.
//
// Go starts a collection when the heap has grown by GOGC percent of the
// live heap, and never before 4 MiB. A gateway whose live heap is a few
// MiB therefore collects every few thousand requests, and every cycle
// scans the same globals and goroutine stacks again: on the keep-alive
// benchmark that was about 4% of certgate's CPU per request
// (docs/benchmarks.md). A Tuner raises GOGC after each collection while
// the live heap is small, so that the next one starts no sooner than a
// fixed amount of allocation (the headroom) later. Once the live heap
// is about as large as the headroom (a big CRL is loaded, say) GOGC is
// back at 100 and the heap is bounded as Go bounds it by default.
//
// This is the headroom setting JVMs call a minimum young generation, and
// the "GC tuner" large Go services run; Go's own documentation suggests
// raising GOGC when memory is plentiful and GC CPU is not.
package gctune

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// DefaultHeadroom is how much a small heap may grow between collections:
// 16 MiB costs little next to a gateway's TLS buffers and makes the
// collector's share of a busy core small.
const DefaultHeadroom = 16 << 20

// basePercent is GOGC's default, which the Tuner never goes below.
const basePercent = 100

// minHeap is the runtime's minimum heap goal at GOGC=100; it scales with
// GOGC (runtime/mgcpacer.go, heapMinimum).
const minHeap = 4 << 20

// Heap is what the last collection measured: live heap bytes, and the
// goroutine stacks and globals it scanned. The runtime's next heap goal
// is live + (live + stacks + globals) * GOGC/100, and at least 4 MiB *
// GOGC/100.
type Heap struct {
	Live, Stacks, Globals uint64
}

// Percent is the GOGC value whose heap goal for h is about h.Live +
// headroom, and never below GOGC's default of 100. Both terms of the
// goal grow with GOGC, so the smaller of the two percents that reach
// live + headroom is the one that does.
func Percent(h Heap, headroom uint64) int {
	p := uint64(math.MaxInt32)
	if scanned := h.Live + h.Stacks + h.Globals; scanned > 0 {
		p = headroom * 100 / scanned
	}
	p = min(p, (h.Live+headroom)*100/minHeap)
	return int(max(p, basePercent))
}

// A Tuner adjusts GOGC after every collection until Stop.
type Tuner struct {
	headroom uint64

	mu      sync.Mutex
	stopped bool
	percent int // last set
	sample  []metrics.Sample
}

// Start returns a running Tuner for headroom bytes (DefaultHeadroom when
// zero), or nil when the GOGC environment variable is set: an operator's
// explicit choice wins, and GOGC=100 turns the tuning off. (An empty
// GOGC is the runtime's default, so it does not count.)
func Start(headroom uint64) *Tuner {
	if os.Getenv("GOGC") != "" {
		return nil
	}
	if headroom == 0 {
		headroom = DefaultHeadroom
	}
	t := &Tuner{headroom: headroom, percent: basePercent,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}}
	t.adjust()
	t.arm()
	return t
}

// Stop stops tuning and puts GOGC back to 100. A nil Tuner is a no-op.
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	t.percent = basePercent
	debug.SetGCPercent(basePercent)
}

// GCPercent returns the GOGC value the Tuner last set (100 for nil).
func (t *Tuner) GCPercent() int {
	if t == nil {
		return basePercent
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.percent
}

// arm registers a cleanup on a fresh object nothing refers to: the next
// collection finds it unreachable and runs collected, which arms again.
// So the Tuner runs once per cycle, right after it, with no goroutine or
// timer of its own.
func (t *Tuner) arm() {
	// 32 bytes without pointers: not a tiny allocation, whose cleanups may
	// never run.
	runtime.AddCleanup(new([32]byte), (*Tuner).collected, t)
}

func (t *Tuner) collected() {
	if t.adjust() {
		t.arm()
	}
}

// adjust sets GOGC for the live heap the last collection measured; it
// reports false once the Tuner is stopped.
func (t *Tuner) adjust() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	metrics.Read(t.sample)
	var v [3]uint64
	for i, s := range t.sample {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	if p := Percent(Heap{Live: v[0], Stacks: v[1], Globals: v[2]}, t.headroom); p != t.percent {
		t.percent = p
		debug.SetGCPercent(p)
	}
	return true
}

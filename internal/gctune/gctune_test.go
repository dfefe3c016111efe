package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

const mib = 1 << 20

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		heap     Heap
		headroom uint64
		want     int
	}{
		// Before the first collection nothing is known: the runtime's
		// minimum goal (4 MiB at GOGC=100) gives the headroom.
		{name: "nothing measured", heap: Heap{}, headroom: 16 * mib, want: 400},
		// 2 MiB live: the minimum-goal term, 4 MiB x 4.5 = 18 MiB, is the
		// one that reaches live + 16 MiB first.
		{name: "small heap", heap: Heap{Live: 2 * mib, Stacks: mib / 4, Globals: mib / 4}, headroom: 16 * mib, want: 450},
		// 10 MiB live: the proportional term, 10 + 10.5 x 1.52 = 26 MiB.
		{name: "medium heap", heap: Heap{Live: 10 * mib, Globals: mib / 2}, headroom: 16 * mib, want: 152},
		{name: "heap as large as the headroom", heap: Heap{Live: 16 * mib}, headroom: 16 * mib, want: 100},
		{name: "big CRL loaded", heap: Heap{Live: 120 * mib, Stacks: mib, Globals: mib}, headroom: 16 * mib, want: 100},
		{name: "no headroom asked", heap: Heap{Live: 2 * mib}, headroom: 0, want: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Percent(tc.heap, tc.headroom)
			if got != tc.want {
				t.Fatalf("Percent(%+v, %d MiB) = %d, want %d", tc.heap, tc.headroom/mib, got, tc.want)
			}
			// The goal the runtime derives from the percent (mgcpacer.go).
			h := tc.heap
			goal := max(minHeap*uint64(got)/100, h.Live+(h.Live+h.Stacks+h.Globals)*uint64(got)/100)
			if got > basePercent && goal < h.Live+tc.headroom*99/100 {
				t.Errorf("GOGC=%d: heap goal %d MiB leaves less than %d MiB of headroom over %d MiB live", got, goal/mib, tc.headroom/mib, h.Live/mib)
			}
		})
	}
}

// runtimePercent is GOGC as the runtime has it.
func runtimePercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// waitPercent collects until the Tuner has set want (cleanups run on
// their own goroutine, after the cycle), or fails after a few seconds.
func waitPercent(t *testing.T, tu *Tuner, ok func(int) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok(tu.GCPercent()) || runtimePercent() != tu.GCPercent() {
		if time.Now().After(deadline) {
			t.Fatalf("after collections: Tuner has GOGC=%d, runtime %d; want %s", tu.GCPercent(), runtimePercent(), what)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

var keep []byte

func TestTunerFollowsLiveHeap(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(basePercent)
	tu := Start(8 * mib)
	if tu == nil {
		t.Fatal("Start returned nil with GOGC unset")
	}
	// The test binary's heap is small: GOGC goes up.
	waitPercent(t, tu, func(p int) bool { return p > basePercent }, "above 100 for a small heap")

	// 64 MiB live is far more than 8 MiB of headroom: back to 100.
	keep = make([]byte, 64*mib)
	waitPercent(t, tu, func(p int) bool { return p == basePercent }, "100 with 64 MiB live")

	keep = nil
	waitPercent(t, tu, func(p int) bool { return p > basePercent }, "above 100 once the 64 MiB are garbage")

	tu.Stop()
	if got := runtimePercent(); got != basePercent {
		t.Fatalf("after Stop the runtime has GOGC=%d, want 100", got)
	}
	// No cleanup re-arms after Stop: collections leave GOGC alone.
	debug.SetGCPercent(123)
	for range 3 {
		runtime.GC()
	}
	time.Sleep(50 * time.Millisecond)
	if got := runtimePercent(); got != 123 {
		t.Fatalf("a stopped Tuner changed GOGC to %d", got)
	}
}

func TestExplicitGOGCWins(t *testing.T) {
	for _, v := range []string{"100", "50", "off"} {
		t.Setenv("GOGC", v)
		if tu := Start(0); tu != nil {
			tu.Stop()
			t.Fatalf("GOGC=%s: Start returned a Tuner; an explicit GOGC must turn tuning off", v)
		}
	}
	var nilTuner *Tuner
	nilTuner.Stop() // no-op
	if p := nilTuner.GCPercent(); p != basePercent {
		t.Fatalf("nil Tuner GCPercent = %d, want 100", p)
	}
}

package revocation

import (
	"testing"
	"time"
)

// TestScheduleRespectsMaxAge: with a short max_age and a long-lived CRL,
// the background refresh must be due before the CRL becomes too old to
// use, or the first request after max_age waits for a fetch.
func TestScheduleRespectsMaxAge(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		maxAge time.Duration
		next   time.Duration // nextUpdate after thisUpdate
		due    time.Duration // refresh must be due no later than fetch + due
	}{
		{"max_age 1m, CRL valid 7 days", time.Minute, 7 * 24 * time.Hour, time.Minute},
		{"max_age 5m, CRL valid 30 days", 5 * time.Minute, 30 * 24 * time.Hour, 5 * time.Minute},
		{"no max_age, CRL valid 1 day", 0, 24 * time.Hour, 24 * time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := &Engine{opts: Options{MaxAge: c.maxAge}}
			st := &crlState{crl: &CRL{ThisUpdate: now, NextUpdate: now.Add(c.next)}, fetchedAt: now}
			ent := &crlEntry{url: "http://ca.test/x.crl"}
			e.scheduleCRL(ent, st, now)
			at := time.Unix(0, ent.nextRefresh.Load())
			if !at.After(now) {
				t.Fatalf("refresh scheduled at %v, not after the fetch at %v", at, now)
			}
			if limit := now.Add(c.due); at.After(limit) {
				t.Fatalf("refresh scheduled at %v, after the CRL stops being usable at %v", at, limit)
			}
		})
	}
}

package echo

import (
	"net/http"
	"sync/atomic"
	"time"
)

// httpDate is the Date header value for t, formatted once per second and
// shared, as nginx caches its time strings. net/http formats the Date of
// every response that has none; on the echo's keep-alive path that was
// about 2% of the CPU per request.
//
// The returned slice has len == cap, so an append copies it instead of
// changing the shared value; callers must not change its element.
func httpDate(t time.Time) []string {
	sec := t.Unix()
	if d := httpDateCache.Load(); d != nil && d.sec == sec {
		return d.value
	}
	d := &cachedDate{sec: sec, value: []string{t.UTC().Format(http.TimeFormat)}}
	httpDateCache.Store(d)
	return d.value
}

type cachedDate struct {
	sec   int64
	value []string
}

var httpDateCache atomic.Pointer[cachedDate]

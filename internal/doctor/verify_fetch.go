package doctor

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/certgate/certgate/internal/revocation"
)

// progress prints one line per network fetch as it starts and as it ends,
// so that `verify --urlfetch` is not silent for the seconds a slow CDP
// takes. Fetches run concurrently, so each line names its URL. A nil
// *progress prints nothing.
type progress struct {
	mu sync.Mutex
	w  io.Writer
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		return nil
	}
	return &progress{w: w}
}

func (p *progress) start(kind, url string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "fetch %-12s %s ...\n", kind, url)
}

func (p *progress) done(kind, url string, ok bool, d time.Duration) {
	if p == nil {
		return
	}
	verdict := "ok"
	if !ok {
		verdict = "FAILED"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "fetch %-12s %s %s (%s)\n", kind, url, verdict, roundDuration(d))
}

// onFetch is p.done as a revocation OnFetch callback, nil for a nil p
// (site.Options.OnFetch, which site.Build sets after Options.Revocation).
func (p *progress) onFetch() func(kind, url string, ok bool, d time.Duration) {
	if p == nil {
		return nil
	}
	return p.done
}

// hook wires p into the revocation engine's fetch callbacks.
func (p *progress) hook(ro *revocation.Options) {
	if p == nil {
		return
	}
	ro.OnFetchStart = p.start
	ro.OnFetch = p.done
}

// maxReachFetches bounds the reachability checks running at once.
const maxReachFetches = 4

// reachability fetches, concurrently, every CRL URL that the engine
// answered from its cache without contacting it, and returns what each
// gave (kind "reachability"). With --urlfetch the admin asked for the
// network, like certutil -urlfetch: an "ok (cache)" for a distribution
// point that is down today would hide that the gateway will answer
// CRYPT_E_REVOCATION_OFFLINE once the cached copy expires.
func reachability(ctx context.Context, f *revocation.Fetcher, p *progress, results []revocation.Result) map[string]VerifyFetch {
	var urls []string
	for _, r := range results {
		contacted := map[string]bool{}
		for _, a := range r.Attempts {
			if a.Kind != "cache" {
				contacted[a.Source] = true
			}
		}
		for _, a := range r.Attempts {
			if a.Kind == "cache" && !contacted[a.Source] && !slices.Contains(urls, a.Source) && isHTTPURL(a.Source) {
				urls = append(urls, a.Source)
			}
		}
	}
	out := make(map[string]VerifyFetch, len(urls))
	if len(urls) == 0 || f == nil {
		return out
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxReachFetches)
	for _, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p.start("reachability", u)
			start := time.Now()
			body, err := f.Fetch(ctx, u)
			d := time.Since(start)
			p.done("reachability", u, err == nil, d)
			vf := VerifyFetch{Kind: "reachability", OK: err == nil, duration: d, DurationMS: ms(d)}
			if err == nil {
				vf.Detail = fmt.Sprintf("reachable now (%d bytes); the verdict used the cached copy", len(body))
			} else {
				vf.Detail = fmt.Sprintf("unreachable now: %v; the verdict used the cached copy, and the gateway answers 403.13 CRYPT_E_REVOCATION_OFFLINE once it expires unless the URL comes back", err)
			}
			mu.Lock()
			out[u] = vf
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func isHTTPURL(s string) bool {
	return len(s) > 7 && (s[:7] == "http://" || (len(s) > 8 && s[:8] == "https://"))
}

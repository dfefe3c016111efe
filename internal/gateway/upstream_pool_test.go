package gateway

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestUpstreamConnectionsPooled: sixteen keep-alive clients with a
// request in flight each, round after round, are served over sixteen
// upstream connections, reused every round. With net/http's default of two
// idle connections per host, fourteen were closed after each round and
// reopened for the next.
func TestUpstreamConnectionsPooled(t *testing.T) {
	p := newTestPKI(t)
	const clients, requests = 16, 5
	var conns atomic.Int64
	// The upstream answers a round only once all sixteen requests are in:
	// every round needs sixteen upstream connections at once.
	var mu sync.Mutex
	arrived, release := 0, make(chan struct{})
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		ch := release
		if arrived == clients {
			close(release)
			arrived, release = 0, make(chan struct{})
		}
		mu.Unlock()
		select {
		case <-ch:
			io.WriteString(w, "ok")
		case <-time.After(10 * time.Second):
			http.Error(w, "round incomplete", http.StatusServiceUnavailable)
		}
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	g := startGateway(t, p, fmt.Sprintf(siteYAML, up.URL))

	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		c := newClient(p, g.addr, "a.example.test", nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.CloseIdleConnections()
			for range requests {
				resp, err := c.Get("https://a.example.test/")
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != "ok" {
					errs <- fmt.Errorf("status %d body %q", resp.StatusCode, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// A connection goes back to the pool a moment after its response has
	// been copied, so a client's next request can occasionally beat it and
	// dial: allow half as many again. The default pool opened 60-70.
	if n, limit := conns.Load(), int64(clients+clients/2); n > limit {
		t.Errorf("%d requests from %d clients opened %d upstream connections, want at most %d", clients*requests, clients, n, limit)
	}
}

// TestUpstreamEncodingPassedThrough: the upstream sees the client's
// Accept-Encoding, or none, never one the gateway added, and the client
// gets the upstream's encoding untouched.
func TestUpstreamEncodingPassedThrough(t *testing.T) {
	p := newTestPKI(t)
	up := newCountingUpstream(t)
	g := startGateway(t, p, fmt.Sprintf(siteYAML, up.URL))
	for _, ae := range []string{"", "br"} {
		h := http.Header{}
		if ae != "" {
			h.Set("Accept-Encoding", ae)
		}
		res := g.do(t, request{sni: "a.example.test", path: "/", cert: p.alice, header: h})
		if res.status != 200 {
			t.Fatalf("Accept-Encoding %q: status %d", ae, res.status)
		}
		up.mu.Lock()
		got := up.headers[len(up.headers)-1].Get("Accept-Encoding")
		up.mu.Unlock()
		if got != ae {
			t.Errorf("client sent Accept-Encoding %q, upstream saw %q", ae, got)
		}
	}
}

// TestRetiredSnapshotClosesIdleUpstreamConnections: after a reload
// retires a snapshot, the upstream connections its pool kept idle are
// closed, not left open for the pool's idle timeout.
func TestRetiredSnapshotClosesIdleUpstreamConnections(t *testing.T) {
	p := newTestPKI(t)
	var opened, closed atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			opened.Add(1)
		case http.StateClosed:
			closed.Add(1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	yaml := fmt.Sprintf(siteYAML, up.URL)
	g := startGateway(t, p, yaml)
	if res := g.do(t, request{sni: "a.example.test", cert: p.alice}); res.status != 200 {
		t.Fatalf("status %d", res.status)
	}
	if opened.Load() != 1 || closed.Load() != 0 {
		t.Fatalf("after one request: %d upstream connections opened, %d closed; want 1, 0", opened.Load(), closed.Load())
	}
	next, err := Build(loadConfig(t, g.dir, yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(next.Close)
	g.srv.Swap(next).Close()
	for deadline := time.Now().Add(10 * time.Second); closed.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the retired snapshot's idle upstream connection is still open")
		}
	}
}

package revocation

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// TestHostileDistributionPoints: slow, huge and redirecting distribution
// points, and the host allow list. Each yields Unknown with a reason, in
// bounded time and memory.
func TestHostileDistributionPoints(t *testing.T) {
	tests := []struct {
		name      string
		handler   func(f *fixture) http.HandlerFunc
		opts      func(o *Options)
		wantErr   error
		wantMsg   string
		wantFetch int
	}{
		{
			name: "slow (timeout)",
			handler: func(f *fixture) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					<-r.Context().Done() // never answers; the client gives up
				}
			},
			opts:    func(o *Options) { o.Timeout = 100 * time.Millisecond },
			wantErr: ErrTimeout, wantMsg: "timeout after 100ms", wantFetch: 1,
		},
		{
			name: "slow body (timeout while reading)",
			handler: func(f *fixture) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Write([]byte{0x30, 0x82})
					w.(http.Flusher).Flush()
					<-r.Context().Done()
				}
			},
			opts:    func(o *Options) { o.Timeout = 100 * time.Millisecond },
			wantErr: ErrTimeout, wantMsg: "reading the body", wantFetch: 1,
		},
		{
			name: "huge, streamed",
			handler: func(f *fixture) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					chunk := make([]byte, 64<<10)
					for i := 0; i < 64; i++ { // 4 MiB at most: bounded even if the client misbehaved
						if _, err := w.Write(chunk); err != nil {
							return
						}
					}
				}
			},
			opts:    func(o *Options) { o.MaxBytes = 100 << 10 },
			wantErr: ErrTooLarge, wantMsg: "more than 102400 bytes", wantFetch: 1,
		},
		{
			name: "huge Content-Length",
			handler: func(f *fixture) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "10000000000")
					w.WriteHeader(http.StatusOK)
				}
			},
			opts:    func(o *Options) { o.MaxBytes = 1 << 20 },
			wantErr: ErrTooLarge, wantMsg: "Content-Length 10000000000", wantFetch: 1,
		},
		{
			name: "redirect to another scheme",
			handler: func(f *fixture) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, "ftp://127.0.0.1/sub.crl", http.StatusFound)
				}
			},
			wantErr: ErrUnsupportedScheme, wantMsg: "redirect from http", wantFetch: 1,
		},
		{
			name: "redirect within http is followed",
			handler: func(f *fixture) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, "/moved.crl", http.StatusFound)
				}
			},
			wantErr: nil, wantFetch: 2,
		},
		{
			name: "host not in the allow list",
			handler: func(f *fixture) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {}
			},
			opts:    func(o *Options) { o.AllowHosts = []string{"pki.example.com", "*.example.org"} },
			wantErr: ErrHostNotAllowed, wantMsg: "host not in allow list", wantFetch: 0,
		},
		{
			name: "host in the allow list",
			handler: func(f *fixture) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { w.Write(f.sub.CRL(t, crlAt(f.at, 1))) }
			},
			opts:    func(o *Options) { o.AllowHosts = []string{"pki.example.com", "127.0.0.1"} },
			wantErr: nil, wantFetch: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.cdp.handle("/sub.crl", tc.handler(f))
			f.cdp.set("/moved.crl", f.sub.CRL(t, crlAt(f.at, 1)))
			o := f.opts()
			if tc.opts != nil {
				tc.opts(&o)
			}
			e, log := newEngine(t, o)
			res := e.Check(context.Background(), f.leaf(t), f.sub.Cert, f.at)
			t.Logf("%v: %s%s", res.Status, res.Reason, attemptsString(res.Attempts))
			if tc.wantErr == nil {
				if res.Status != Good {
					t.Fatalf("Status = %v (%s), want good", res.Status, res.Reason)
				}
			} else {
				if res.Status != Unknown || !errors.Is(res.Err, tc.wantErr) {
					t.Fatalf("Status %v Err %v, want unknown with %v", res.Status, res.Err, tc.wantErr)
				}
				if !strings.Contains(res.Reason, tc.wantMsg) || !strings.Contains(res.Reason, f.cdp.URL("/sub.crl")) {
					t.Errorf("Reason = %q, want it to contain %q and the URL", res.Reason, tc.wantMsg)
				}
				if !strings.Contains(log.String(), f.cdp.URL("/sub.crl")) && tc.wantFetch > 0 {
					t.Errorf("the failure was not logged with its URL:\n%s", log)
				}
			}
			if got := f.cdp.total(); got != tc.wantFetch {
				t.Errorf("requests = %d, want %d", got, tc.wantFetch)
			}
		})
	}
}

// TestFailureBackoff: a failed distribution point is not retried on every
// request: for failureBackoff the failure is reported from memory.
func TestFailureBackoff(t *testing.T) {
	f := newFixture(t)
	e, _ := newEngine(t, f.opts())
	leaf := f.leaf(t) // /sub.crl answers 404
	steps := []struct {
		advance   time.Duration
		wantFetch int
		wantMsg   string
	}{
		{0, 1, "404"},
		{10 * time.Second, 1, "next try after"},
		{failureBackoff, 2, "404"},
	}
	for _, s := range steps {
		f.clk.Set(f.clk.Now().Add(s.advance))
		res := e.Check(context.Background(), leaf, f.sub.Cert, f.clk.Now())
		if res.Status != Unknown || !strings.Contains(res.Reason, s.wantMsg) {
			t.Errorf("after %v: %v %q, want unknown containing %q", s.advance, res.Status, res.Reason, s.wantMsg)
		}
		if got := f.cdp.count("/sub.crl"); got != s.wantFetch {
			t.Errorf("after %v: fetches = %d, want %d", s.advance, got, s.wantFetch)
		}
	}
	// Once the CRL is there, the next try after the backoff succeeds.
	f.cdp.set("/sub.crl", f.sub.CRL(t, crlAt(f.clk.Now(), 1)))
	f.clk.Set(f.clk.Now().Add(failureBackoff))
	if res := e.Check(context.Background(), leaf, f.sub.Cert, f.clk.Now()); res.Status != Good {
		t.Errorf("after recovery: %v %s", res.Status, res.Reason)
	}
}

// TestOptionsValidation: invalid options are refused with the field name.
func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		wantMsg string
	}{
		{"prefer", Options{Prefer: "ldap"}, "prefer"},
		{"timeout", Options{Timeout: -1}, "timeout"},
		{"max bytes", Options{MaxBytes: -1}, "max_bytes"},
		{"allow hosts", Options{AllowHosts: []string{"http://x/"}}, "allow_hosts[0]"},
		{"missing local CRL", Options{LocalCRLs: []string{"/nonexistent/x.crl"}}, "/nonexistent/x.crl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("New = %v, want an error naming %q", err, tc.wantMsg)
			}
		})
	}
	if _, err := ParseMode("sometimes"); !errors.Is(err, ErrConfig) {
		t.Errorf("ParseMode(sometimes) = %v, want ErrConfig", err)
	}
}

// TestReadBody: bodies with and without a Content-Length, across several
// pieces, at and past the limit, and cut short.
func TestReadBody(t *testing.T) {
	big := make([]byte, 3*maxBodyChunk+12345)
	for i := range big {
		big[i] = byte(i * 7)
	}
	errCut := errors.New("connection reset")
	// A DER SEQUENCE of 200,000 content bytes (5-byte header).
	der := append([]byte{0x30, 0x83, 0x03, 0x0d, 0x40}, big[:200000]...)
	tests := []struct {
		name          string
		r             io.Reader
		contentLength int64
		limit         int64
		want          []byte
		wantErr       error
	}{
		{"empty", bytes.NewReader(nil), -1, 100, nil, nil},
		{"known length", bytes.NewReader(big[:5000]), 5000, 10000, big[:5000], nil},
		{"unknown, one piece", bytes.NewReader(big[:5000]), -1, 10000, big[:5000], nil},
		{"unknown, many pieces", bytes.NewReader(big), -1, int64(len(big)), big, nil},
		{"unknown, at the limit", bytes.NewReader(big[:firstBodyChunk*3]), -1, firstBodyChunk * 3, big[:firstBodyChunk*3], nil},
		{"unknown, past the limit", bytes.NewReader(big), -1, int64(len(big)) - 1, nil, ErrTooLarge},
		{"known, shorter than announced", bytes.NewReader(big[:10]), 20, 100, big[:10], io.ErrUnexpectedEOF},
		{"unknown, cut short", io.MultiReader(bytes.NewReader(big[:maxBodyChunk+5]), iotest.ErrReader(errCut)), -1, int64(len(big)), big[:maxBodyChunk+5], errCut},
		{"unknown, DER sized", bytes.NewReader(der), -1, int64(len(der)), der, nil},
		{"unknown, DER then more", bytes.NewReader(append(der[:len(der):len(der)], "trailing"...)), -1, int64(len(der)) + 100, append(der[:len(der):len(der)], "trailing"...), nil},
		{"unknown, DER cut short", bytes.NewReader(der[:len(der)-7]), -1, int64(len(der)), der[:len(der)-7], nil},
		{"unknown, DER cut by an error", io.MultiReader(bytes.NewReader(der[:3*firstBodyChunk]), iotest.ErrReader(errCut)), -1, int64(len(der)), der[:3*firstBodyChunk], errCut},
		{"unknown, DER larger than the limit", bytes.NewReader(der), -1, int64(len(der)) - 1, nil, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readBody(tt.r, tt.contentLength, tt.limit)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != ErrTooLarge && !bytes.Equal(got, tt.want) {
				t.Errorf("read %d bytes, want %d (equal: %v)", len(got), len(tt.want), bytes.Equal(got, tt.want))
			}
		})
	}
}

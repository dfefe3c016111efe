package revocation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// fetcher performs the HTTP requests for CRLs and OCSP. The URLs come from
// client-supplied certificates (even if the chain verified, a CA may have
// put anything there), so every request is bounded: http and https only,
// optional host allow list (also for redirects), no redirect to another
// scheme, a timeout covering the wait for a slot, the connection and the
// whole body, a response size limit, and a cap on concurrent fetches.
type fetcher struct {
	client   *http.Client
	sem      chan struct{}
	timeout  time.Duration
	maxBytes int64
	allow    []string
}

func newFetcher(o Options) *fetcher {
	f := &fetcher{
		sem:      make(chan struct{}, o.MaxConcurrent),
		timeout:  o.Timeout,
		maxBytes: o.MaxBytes,
		allow:    o.AllowHosts,
	}
	var c http.Client
	if o.HTTPClient != nil {
		c = *o.HTTPClient // a copy: the caller's client is not modified
	} else {
		proxy := http.ProxyFromEnvironment
		if o.FetchProxy != "" {
			// Validated by Options.withDefaults.
			if u, err := url.Parse(o.FetchProxy); err == nil {
				proxy = http.ProxyURL(u)
			}
		}
		c.Transport = &http.Transport{
			Proxy:                 proxy,
			DialContext:           (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   o.Timeout,
			ResponseHeaderTimeout: o.Timeout,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   2,
			ForceAttemptHTTP2:     true,
		}
	}
	inner := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("stopped after 5 redirects")
		}
		if req.URL.Scheme != via[0].URL.Scheme {
			return fmt.Errorf("%w: redirect from %s to %q refused", ErrUnsupportedScheme, via[0].URL.Scheme, req.URL.Redacted())
		}
		if err := f.hostAllowed(req.URL); err != nil {
			return err
		}
		if inner != nil {
			return inner(req, via)
		}
		return nil
	}
	f.client = &c
	return f
}

// checkURL parses u and applies the scheme and host rules.
func (f *fetcher) checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse url %q: %w", raw, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		scheme := u.Scheme
		if scheme == "" {
			scheme = "(none)"
		}
		return nil, fmt.Errorf("%w %s: only http and https are fetched", ErrUnsupportedScheme, scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("parse url %q: no host", raw)
	}
	if err := f.hostAllowed(u); err != nil {
		return nil, err
	}
	return u, nil
}

func (f *fetcher) hostAllowed(u *url.URL) error {
	if len(f.allow) == 0 {
		return nil
	}
	host := strings.ToLower(u.Hostname())
	for _, a := range f.allow {
		a = strings.ToLower(strings.TrimSpace(a))
		switch {
		case strings.HasPrefix(a, "*."):
			if strings.HasSuffix(host, a[1:]) {
				return nil
			}
		case strings.Contains(a, ":") && !strings.HasPrefix(a, "["):
			if strings.ToLower(u.Host) == a {
				return nil
			}
		default:
			if host == strings.Trim(a, "[]") {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %s", ErrHostNotAllowed, u.Host)
}

// validators are the HTTP cache validators of a fetched CRL (RFC 9110
// section 8.8): sent back on the next fetch (If-None-Match,
// If-Modified-Since) so that an unchanged CRL is answered 304 Not
// Modified instead of downloaded again, by the CA's server or by a shared
// caching proxy (Options.FetchProxy).
type validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

func (v validators) empty() bool { return v.ETag == "" && v.LastModified == "" }

// get fetches u (GET, or POST with body) and returns the body. ctx should
// carry the fetch timeout; errors name what failed but not the URL (the
// caller's Attempt does).
func (f *fetcher) get(ctx context.Context, u *url.URL, body []byte, contentType string) ([]byte, error) {
	b, _, _, err := f.fetch(ctx, u, body, contentType, validators{})
	return b, err
}

// getConditional is a GET that sends the validators of the copy the
// caller holds: notModified reports a 304 (no body), got are the
// validators of the response.
func (f *fetcher) getConditional(ctx context.Context, u *url.URL, have validators) (b []byte, got validators, notModified bool, err error) {
	return f.fetch(ctx, u, nil, "", have)
}

func (f *fetcher) fetch(ctx context.Context, u *url.URL, body []byte, contentType string, have validators) ([]byte, validators, bool, error) {
	var none validators
	select {
	case f.sem <- struct{}{}:
		defer func() { <-f.sem }()
	case <-ctx.Done():
		return nil, none, false, f.ctxErr(ctx, "waiting for a fetch slot")
	}
	method := http.MethodGet
	var rd io.Reader
	if body != nil {
		method, rd = http.MethodPost, bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, none, false, fmt.Errorf("build request: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "certgate-revocation")
	if have.ETag != "" {
		req.Header.Set("If-None-Match", have.ETag)
	}
	if have.LastModified != "" {
		req.Header.Set("If-Modified-Since", have.LastModified)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return nil, none, false, f.ctxErr(ctx, "")
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, none, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && !have.empty() {
		return nil, have, true, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, none, false, fmt.Errorf("%w %s", ErrHTTPStatus, resp.Status)
	}
	if resp.ContentLength > f.maxBytes {
		return nil, none, false, fmt.Errorf("%w: Content-Length %d exceeds the limit of %d bytes", ErrTooLarge, resp.ContentLength, f.maxBytes)
	}
	b, err := readBody(resp.Body, resp.ContentLength, f.maxBytes)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, none, false, err
		}
		if ctx.Err() != nil || isTimeout(err) {
			return nil, none, false, f.ctxErr(ctx, fmt.Sprintf("reading the body (%d bytes received)", len(b)))
		}
		return nil, none, false, fmt.Errorf("read body: %w", err)
	}
	return b, validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}, false, nil
}

// firstBodyChunk and maxBodyChunk bound the pieces readBody collects a
// body of unknown length in: small for the usual few-KB CRL or OCSP
// response, doubling up to 1 MiB for a big CRL.
const (
	firstBodyChunk = 16 << 10
	maxBodyChunk   = 1 << 20
)

// readBody reads a response body of at most limit bytes. With a
// Content-Length the buffer is allocated once. Without one (chunked
// transfer) it collects pieces of up to 1 MiB and joins them at the end, rather
// than growing one buffer: for a 35 MB CRL, doubling copied 64 MB in
// single-call memmoves of up to 32 MB, each a stretch the scheduler
// cannot preempt, on the background refresher while handshakes wait. On
// error it returns what was read, for the message.
func readBody(r io.Reader, contentLength, limit int64) ([]byte, error) {
	r = io.LimitReader(r, limit+1)
	if contentLength >= 0 && contentLength <= limit {
		b := make([]byte, contentLength)
		n, err := io.ReadFull(r, b)
		if err != nil {
			return b[:n], err
		}
		// Bytes past Content-Length would be a protocol error that
		// net/http reports itself; nothing more is read.
		return b, nil
	}
	var chunks [][]byte
	total, size := 0, firstBodyChunk
	for {
		c := make([]byte, size)
		size = min(2*size, maxBodyChunk)
		n, err := io.ReadFull(r, c)
		if n > 0 {
			chunks = append(chunks, c[:n])
			total += n
		}
		if int64(total) > limit {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return joinChunks(chunks, total), err
		}
		if len(chunks) == 1 {
			// A CRL or OCSP response is one DER element whose header
			// gives its size: read the rest straight into a buffer of
			// that size instead of joining pieces.
			if b, done, err := readDERRest(r, chunks[0], limit); done || err != nil {
				return b, err
			} else if b != nil {
				chunks, total = [][]byte{b}, len(b)
			}
		}
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	return joinChunks(chunks, total), nil
}

// readDERRest continues a body that starts with first, when first holds
// the header of a DER element of at most limit bytes: it reads the rest of
// the element into one buffer of the element's size. done means the body
// ended there (the usual case); otherwise the returned bytes are the start
// of a longer body, for the caller to go on collecting. A body that ends
// early is returned as it is, for the parser to reject. b is nil when
// first does not start with a usable DER header.
func readDERRest(r io.Reader, first []byte, limit int64) (b []byte, done bool, err error) {
	size, ok := derElementSize(first)
	if !ok || size <= int64(len(first)) || size > limit {
		return nil, false, nil
	}
	b = make([]byte, size)
	copy(b, first)
	n, err := io.ReadFull(r, b[len(first):])
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return b[:len(first)+n], true, nil
	}
	if err != nil {
		return b[:len(first)+n], true, err
	}
	var probe [1]byte
	if m, _ := io.ReadFull(r, probe[:]); m == 0 {
		return b, true, nil
	}
	return append(b, probe[0]), false, nil
}

// derElementSize returns the total size (header and content) of the DER
// element b starts with, from its tag and definite length.
func derElementSize(b []byte) (int64, bool) {
	if len(b) < 2 || b[0]&0x1f == 0x1f {
		return 0, false
	}
	l := int64(b[1])
	if l < 0x80 {
		return 2 + l, true
	}
	n := int(l & 0x7f)
	if n == 0 || n > 4 || len(b) < 2+n {
		return 0, false
	}
	l = 0
	for _, c := range b[2 : 2+n] {
		l = l<<8 | int64(c)
	}
	return int64(2+n) + l, true
}

func joinChunks(chunks [][]byte, total int) []byte {
	b := make([]byte, 0, total)
	for _, c := range chunks {
		b = append(b, c...)
	}
	return b
}

func (f *fetcher) ctxErr(ctx context.Context, while string) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("cancelled %s: %w", while, ctx.Err())
	}
	if while != "" {
		return fmt.Errorf("%w after %s %s", ErrTimeout, f.timeout, while)
	}
	return fmt.Errorf("%w after %s", ErrTimeout, f.timeout)
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

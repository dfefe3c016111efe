package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/internal/events"
)

// stapler keeps an OCSP response for a site's server certificate and
// serves the certificate with it (RFC 6066 section 8, status_request), so
// that clients checking revocation do not each ask the CA's responder. It
// fetches in the background: a responder that is down only means no
// staple, never a failed handshake or a slow start.
type stapler struct {
	cert   atomic.Pointer[tls.Certificate]
	leaf   *x509.Certificate
	issuer *x509.Certificate
	url    string
	client *http.Client
	logger *slog.Logger
	site   string
	now    func() time.Time
}

// maxOCSPResponse bounds a responder's answer; real ones are a few KB.
const maxOCSPResponse = 64 << 10

// newStapler returns nil when the certificate names no OCSP responder or
// its issuer is not in the served chain (the request needs the issuer's
// name and key hash).
func newStapler(site string, cert tls.Certificate, logger *slog.Logger) *stapler {
	if len(cert.Certificate) < 2 || cert.Leaf == nil || len(cert.Leaf.OCSPServer) == 0 {
		return nil
	}
	issuer, err := x509.ParseCertificate(cert.Certificate[1])
	if err != nil || cert.Leaf.CheckSignatureFrom(issuer) != nil {
		return nil
	}
	s := &stapler{
		leaf: cert.Leaf, issuer: issuer, url: cert.Leaf.OCSPServer[0], logger: logger, site: site, now: time.Now,
		client: &http.Client{Timeout: 10 * time.Second},
	}
	c := cert
	s.cert.Store(&c)
	return s
}

// get is the site's tls.Config.GetCertificate.
func (s *stapler) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.cert.Load(), nil }

// run fetches until ctx ends: again at half the response's validity, or
// after a backoff when the fetch failed.
func (s *stapler) run(ctx context.Context) {
	backoff := time.Minute
	for {
		wait := backoff
		resp, err := s.fetch(ctx)
		if err == nil {
			c := *s.cert.Load()
			c.OCSPStaple = resp.Raw
			s.cert.Store(&c)
			backoff = time.Minute
			wait = resp.NextUpdate.Sub(s.now()) / 2
			if resp.NextUpdate.IsZero() {
				wait = time.Hour
			}
			wait = min(max(wait, time.Minute), 24*time.Hour)
		} else {
			if ctx.Err() != nil {
				return
			}
			if c := s.cert.Load(); c.OCSPStaple != nil {
				if r, perr := ocsp.ParseResponse(c.OCSPStaple, s.issuer); perr != nil || (!r.NextUpdate.IsZero() && !s.now().Before(r.NextUpdate)) {
					// An expired staple is worse than none: clients
					// that check it fail the handshake.
					c2 := *c
					c2.OCSPStaple = nil
					s.cert.Store(&c2)
				}
			}
			events.Log(s.logger, slog.LevelWarn, events.EventOCSPStapleFailed, "OCSP stapling of the server certificate failed; retrying",
				slog.String("site", s.site), slog.String("url", s.url), slog.String("err", err.Error()), slog.Duration("retry_in", backoff))
			backoff = min(2*backoff, 30*time.Minute)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// fetch asks the responder and accepts only a signed, current "good"
// answer for this certificate.
func (s *stapler) fetch(ctx context.Context) (*ocsp.Response, error) {
	req, err := ocsp.CreateRequest(s.leaf, s.issuer, nil)
	if err != nil {
		return nil, fmt.Errorf("create OCSP request: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(req))
	if err != nil {
		return nil, fmt.Errorf("OCSP %q: %w", s.url, err)
	}
	hr.Header.Set("Content-Type", "application/ocsp-request")
	res, err := s.client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("OCSP %q: %w", s.url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("OCSP %q: status %s", s.url, res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxOCSPResponse+1))
	if err != nil {
		return nil, fmt.Errorf("OCSP %q: %w", s.url, err)
	}
	if len(body) > maxOCSPResponse {
		return nil, fmt.Errorf("OCSP %q: response larger than %d bytes", s.url, maxOCSPResponse)
	}
	resp, err := ocsp.ParseResponseForCert(body, s.leaf, s.issuer)
	if err != nil {
		return nil, fmt.Errorf("OCSP %q: %w", s.url, err)
	}
	now := s.now()
	switch {
	case resp.Status == ocsp.Revoked:
		return nil, fmt.Errorf("OCSP %q: the server certificate is revoked (since %s)", s.url, resp.RevokedAt.UTC().Format(time.RFC3339))
	case resp.Status != ocsp.Good:
		return nil, fmt.Errorf("OCSP %q: status unknown", s.url)
	case !resp.NextUpdate.IsZero() && !now.Before(resp.NextUpdate):
		return nil, fmt.Errorf("OCSP %q: %w: nextUpdate %s has passed", s.url, errStaleOCSP, resp.NextUpdate.UTC().Format(time.RFC3339))
	}
	return resp, nil
}

var errStaleOCSP = errors.New("stale response")

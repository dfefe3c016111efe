package site

import (
	"crypto/x509"
	"fmt"
	"log/slog"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/issuerlist"
	"github.com/certgate/certgate/internal/verify"
)

// IssuerList is a site's effective list of acceptable CA names, the CTL
// sent in the CertificateRequest. It is computed from its own source (the
// trust roots by default, or issuer_list.source) and is never merged with
// the trust roots. `certgate check`, `probe` and `lint` print it; the
// gateway sends Pool.
type IssuerList struct {
	// Send is false for `send: false`: no names are sent, Pool is nil.
	Send      bool
	WarnBytes int
	MaxBytes  int
	// Result holds Kept and Dropped (configured order), Bytes (the encoded
	// size sent: sum of 2 + len(DER subject)) and TotalBytes (the size
	// before truncation).
	issuerlist.Result
	// Duplicates are certificates repeated in the source (same DER), which
	// are sent once.
	Duplicates []*x509.Certificate

	pool *x509.CertPool
}

// NewIssuerList computes the list sent for source (the CA certificates of
// issuer_list.source, or the trust roots) under the issuer_list settings c:
// duplicates removed, truncated at max_bytes.
func NewIssuerList(source []*x509.Certificate, c config.IssuerList) *IssuerList {
	l := &IssuerList{Send: c.Send == nil || *c.Send, WarnBytes: config.DefaultIssuerListWarnBytes, MaxBytes: config.MaxIssuerListBytes}
	if c.WarnBytes != nil {
		l.WarnBytes = *c.WarnBytes
	}
	if c.MaxBytes != nil {
		l.MaxBytes = *c.MaxBytes
	}
	// x509.CertPool.AddCert silently skips a certificate it already holds,
	// which would make the wire list differ from Kept; drop exact
	// duplicates first so that what is counted is what is sent.
	seen := map[string]bool{}
	unique := make([]*x509.Certificate, 0, len(source))
	for _, c := range source {
		if seen[string(c.Raw)] {
			l.Duplicates = append(l.Duplicates, c)
			continue
		}
		seen[string(c.Raw)] = true
		unique = append(unique, c)
	}
	l.Result = issuerlist.Truncate(unique, l.MaxBytes)
	if l.Send {
		// crypto/tls sends ClientCAs.Subjects() as certificate_authorities
		// (handshake_server.go, handshake_server_tls13.go), and
		// CertPool.Subjects returns the names in insertion order, so adding
		// Kept in order fixes the order on the wire. The pool is only used
		// for its names: crypto/tls never verifies with it (ClientAuth is
		// RequestClientCert).
		l.pool = x509.NewCertPool()
		for _, c := range l.Kept {
			l.pool.AddCert(c)
		}
	}
	return l
}

// Pool is the tls.Config.ClientCAs value: exactly Kept, in order, or nil
// when the list is not sent. A nil ClientCAs makes crypto/tls send no CA
// names rather than a misleading hint.
func (l *IssuerList) Pool() *x509.CertPool { return l.pool }

// Names returns the DER subjects sent on the wire, in order; nil when the
// list is not sent.
func (l *IssuerList) Names() [][]byte {
	if !l.Send {
		return nil
	}
	return l.Result.Names()
}

// OverWarn reports whether the sent list is larger than WarnBytes.
func (l *IssuerList) OverWarn() bool { return l.Send && l.Bytes > l.WarnBytes }

// Truncated reports whether CAs were dropped to fit MaxBytes.
func (l *IssuerList) Truncated() bool { return l.Send && len(l.Dropped) > 0 }

// log logs the list's findings (issuer_list_large, issuer_list_truncated
// naming every dropped CA) and returns them as text, one per dropped CA.
func (l *IssuerList) log(log *slog.Logger, field string) []string {
	if !l.Send {
		return nil
	}
	var out []string
	if l.OverWarn() {
		msg := fmt.Sprintf("issuer list is %d bytes, more than warn_bytes %d: some clients and middleboxes fail on a CertificateRequest this large", l.Bytes, l.WarnBytes)
		events.IssuerListLarge(log, l.Bytes, l.WarnBytes, len(l.Kept), slog.String("field", field))
		out = append(out, msg)
	}
	for i, c := range l.Dropped {
		// Numbered from 1, as check, lint and probe number certificates
		// (roots.pem#115 is the 115th): "CA 114" from 0 sent people to
		// the wrong certificate.
		pos := len(l.Kept) + i + 1
		msg := fmt.Sprintf("issuer list truncated at max_bytes %d: CA #%d of %d %q (sha256 %s) is not sent; browsers will not offer certificates that chain only to it",
			l.MaxBytes, pos, len(l.Kept)+len(l.Dropped), c.Subject.String(), verify.Fingerprint(c))
		out = append(out, msg)
	}
	events.IssuerListTruncated(log, l.MaxBytes, l.Bytes, l.TotalBytes, len(l.Kept), l.Dropped, slog.String("field", field))
	return out
}

package gateway

import (
	"context"
	"crypto/x509"

	"github.com/certgate/certgate/internal/site"
	"github.com/certgate/certgate/internal/verify"
)

// Identity is what the gateway established about the client of a request.
// The handler puts it in the request context before calling the upstream
// (IdentityFrom); the echo handler renders it and header forwarding reads
// it.
type Identity struct {
	RequestID string
	Site      *Site
	Location  *Location
	// Presented is the chain the client sent, leaf first, as received: NOT
	// verified unless Verified. Nil on ignore locations, where the
	// certificate is not looked at.
	Presented []*x509.Certificate
	// Outcome is the verification outcome on accept and require locations.
	Outcome *verify.Outcome
	// Verified: the certificate is valid and identifies the client. Only
	// then may it be mapped or forwarded.
	Verified bool
	// User and Groups are set by certificate mapping (issue 4), which runs
	// in Server.ServeHTTP after the location policy let a verified
	// certificate through. Empty means anonymous or not mapped.
	User   string
	Groups []string
}

// Chain returns the verified chain, leaf first and trust anchor last, or nil.
func (id *Identity) Chain() []*x509.Certificate {
	if !id.Verified || id.Outcome == nil {
		return nil
	}
	return id.Outcome.Chain
}

// Cert returns the verified leaf, or nil.
func (id *Identity) Cert() *x509.Certificate {
	if c := id.Chain(); len(c) > 0 {
		return c[0]
	}
	return nil
}

// Downgraded reports whether a certificate was presented, failed, and the
// request went on anonymously (accept location without reject_invalid).
func (id *Identity) Downgraded() bool {
	return !id.Verified && id.Outcome != nil && !id.Outcome.OK() && !site.NoCertificate(id.Outcome)
}

type identityKey struct{}

// IdentityFrom returns the Identity of a request passed to an upstream
// handler, or nil outside the gateway.
func IdentityFrom(ctx context.Context) *Identity {
	id, _ := ctx.Value(identityKey{}).(*Identity)
	return id
}

func withIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

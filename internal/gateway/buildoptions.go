package gateway

import (
	"crypto/x509"
	"log/slog"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/revocation"
)

// BuildOptions are the injected edges of BuildWith.
type BuildOptions struct {
	// OnFetch is called after every CRL or OCSP fetch of the snapshot's
	// revocation engines (revocation.Options.OnFetch), for the fetch
	// counters and histograms. It must not block.
	OnFetch func(kind, url string, ok bool, d time.Duration)
}

// newRevocation builds a site's revocation engine as
// revocation.NewFromConfig does, plus the injected callbacks.
func (bo BuildOptions) newRevocation(cfg config.Revocation, logger *slog.Logger, issuers []*x509.Certificate) (*revocation.Engine, error) {
	o, err := revocation.OptionsFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	o.Logger, o.Issuers, o.OnFetch = logger, issuers, bo.OnFetch
	return revocation.New(o)
}

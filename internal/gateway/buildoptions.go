package gateway

import "time"

// BuildOptions are the injected edges of BuildWith.
type BuildOptions struct {
	// OnFetch is called after every CRL or OCSP fetch of the snapshot's
	// revocation engines (revocation.Options.OnFetch), for the fetch
	// counters and histograms. It must not block.
	OnFetch func(kind, url string, ok bool, d time.Duration)
}

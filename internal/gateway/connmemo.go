package gateway

import (
	"crypto/x509"
	"slices"
	"sync"

	"github.com/certgate/certgate/internal/forward"
	"github.com/certgate/certgate/internal/mapping"
)

// mappingMemo remembers a connection's certificate mapping. Mapping is a
// pure function of the verified chain and the site's Mapper (internal/
// mapping), and both are fixed for a connection's lifetime (the chain is
// the connection's verification outcome, the Mapper its snapshot's), so
// a keep-alive connection maps once instead of on every request, where it
// was the largest cost after the echo body (docs/benchmarks.md).
type mappingMemo struct {
	mu     sync.Mutex
	mapper *mapping.Mapper
	leaf   *x509.Certificate
	n      int
	res    mapping.Result
}

// mapping returns m.Map(chain), from the memo when it was computed for
// the same Mapper and chain on this connection. cs may be nil (outside a
// gateway connection): then it just maps.
func (cs *connState) mapping(m *mapping.Mapper, chain []*x509.Certificate) mapping.Result {
	if cs == nil || len(chain) == 0 {
		return m.Map(chain)
	}
	mm := &cs.mapMemo
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.mapper != m || mm.leaf != chain[0] || mm.n != len(chain) {
		mm.mapper, mm.leaf, mm.n, mm.res = m, chain[0], len(chain), m.Map(chain)
	}
	return mm.res
}

// forwardMemo remembers the identity headers a connection's requests send
// upstream (forward.Headers): the certificate chain, and so the base64 of
// Client-Cert and Client-Cert-Chain, is the same for every request of a
// connection, and so are the mapped user and groups unless a location
// changes them. The key is what Encode reads, so a different site, chain,
// user or groups encodes afresh.
type forwardMemo struct {
	mu     sync.Mutex
	site   *Site
	leaf   *x509.Certificate
	n      int
	user   string
	groups []string
	h      *forward.Headers
}

// forwardHeaders returns forward.Encode(gs.Forward, id), from the memo
// when it was encoded for the same site and identity on this connection.
// cs may be nil (outside a gateway connection): then it just encodes.
func (cs *connState) forwardHeaders(gs *Site, id forward.Identity) *forward.Headers {
	if cs == nil {
		return forward.Encode(gs.Forward, id)
	}
	var leaf *x509.Certificate
	if len(id.Chain) > 0 {
		leaf = id.Chain[0]
	}
	fm := &cs.fwdMemo
	fm.mu.Lock()
	defer fm.mu.Unlock()
	if fm.h == nil || fm.site != gs || fm.leaf != leaf || fm.n != len(id.Chain) || fm.user != id.User || !slices.Equal(fm.groups, id.Groups) {
		fm.site, fm.leaf, fm.n, fm.user, fm.groups = gs, leaf, len(id.Chain), id.User, id.Groups
		fm.h = forward.Encode(gs.Forward, id)
	}
	return fm.h
}

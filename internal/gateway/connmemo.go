package gateway

import (
	"crypto/x509"
	"sync"

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

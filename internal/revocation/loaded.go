package revocation

import (
	"sort"
	"time"
)

// LoadedCRL describes one CRL an Engine holds, for the countdown gauge
// certgate_crl_next_update_seconds and the crl_near_next_update event.
type LoadedCRL struct {
	// Source is the local file (with "#n" for the n-th CRL of a bundle) or
	// the distribution point URL it was fetched from.
	Source string
	Issuer string
	// Local: read from revocation.crls (replaced only by a reload), as
	// opposed to fetched and refreshed by the Engine itself.
	Local      bool
	NextUpdate time.Time // zero when the CRL has none
	// CRL is the parsed CRL itself (shared, immutable but for its
	// signature memo), for `certgate check` and `lint` to report on what
	// the engine holds rather than parse the file a second time.
	CRL *CRL
}

// LoadedCRLs lists the local CRLs and the fetched CRLs in the cache,
// sorted by source. It takes the cache lock briefly; call it at scrape or
// check time, not per request.
func (e *Engine) LoadedCRLs() []LoadedCRL {
	var out []LoadedCRL
	for _, ls := range e.local { // immutable after New
		for _, l := range ls {
			out = append(out, LoadedCRL{Source: l.path, Issuer: l.crl.Issuer.String(), Local: true, NextUpdate: l.crl.NextUpdate, CRL: l.crl})
		}
	}
	e.mu.RLock()
	for u, ent := range e.crls {
		if st := ent.state.Load(); st != nil {
			out = append(out, LoadedCRL{Source: u, Issuer: st.crl.Issuer.String(), NextUpdate: st.crl.NextUpdate, CRL: st.crl})
		}
	}
	e.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

package verify

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultChainCacheSize is the number of verified chains a Verifier
// remembers when Options.ChainCacheSize is 0. An entry holds no client
// certificate (see cachedPath), about 100 bytes plus the path length, so
// the default costs well under a megabyte.
const DefaultChainCacheSize = 4096

// chainCache remembers, per presented chain, the path that verified, so
// that a returning client skips chain building and the signature checks:
// the expensive part of a verification (two ECDSA verifications for a
// leaf and an intermediate, about 250 µs on the bench machine, against a
// few µs for everything else).
//
// Only what cannot change while the Verifier exists is remembered: that
// these exact certificates (the key is the SHA-256 of their DER) chain
// with valid signatures to the Verifier's anchors along this path. The
// rest of the evaluation runs on every call (evaluate with
// sigsVerified): validity at the given time, CA and usage rules, name
// constraints and policies, and revocation, so an expired certificate or a
// newly published revocation takes effect at once. A config reload builds
// a new Verifier and so a new, empty cache.
//
// Verify uses an entry only when the path is still accepted; otherwise it
// verifies from scratch, so the outcome is always the one an uncached
// verification gives (TestChainCacheSameOutcome).
type chainCache struct {
	max int

	mu sync.Mutex
	m  map[[sha256.Size]byte]cachedPath

	hits, misses atomic.Uint64
}

// cachedPath is a verified path as references: an index into the
// presented chain (which hashed to the entry's key, so index i is the
// same certificate on every hit) or a certificate of the Verifier (an
// anchor or a configured intermediate). Rebuilding the path from the
// caller's own certificates keeps Outcome.Chain identical to an uncached
// verification's, and keeps client certificates out of the cache.
type cachedPath []pathRef

type pathRef struct {
	presented int               // index in the presented chain, or -1
	own       *x509.Certificate // the Verifier's certificate when presented < 0
}

// ChainCacheStats counts lookups of the verified-chain cache.
type ChainCacheStats struct {
	// Hits skipped chain building and signature checks.
	Hits uint64
	// Misses verified from scratch: first sight of a chain, an evicted
	// one, or a cached path no longer accepted (expired, revoked...).
	Misses uint64
	// Entries is the number of chains remembered.
	Entries int
}

func newChainCache(size int) *chainCache {
	switch {
	case size < 0:
		return nil
	case size == 0:
		size = DefaultChainCacheSize
	}
	return &chainCache{max: size, m: make(map[[sha256.Size]byte]cachedPath)}
}

// chainKey hashes the DER of the presented certificates, each prefixed by
// its length so that two different lists cannot run together into the
// same bytes.
func chainKey(presented []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	var n [4]byte
	for _, c := range presented {
		var raw []byte
		if c != nil {
			raw = c.Raw
		}
		binary.BigEndian.PutUint32(n[:], uint32(len(raw)))
		h.Write(n[:])
		h.Write(raw)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// fromCache returns the outcome of a chain whose path is cached and still
// accepted at time at, with signatures and chain building skipped; nil
// means "verify from scratch": not cached, or no longer accepted (expired,
// revoked, revocation unavailable, canceled), in which case only a full
// verification gives the exact outcome (another candidate path may be
// accepted, or decide which failure ranks first).
func (v *Verifier) fromCache(ctx context.Context, key [sha256.Size]byte, presented []*x509.Certificate, at time.Time) *Outcome {
	c := v.cache
	if path := c.lookup(key, presented); path != nil {
		if o, _ := v.evaluate(ctx, path, presented, at, true); o.OK() {
			c.hits.Add(1)
			return o
		}
	}
	c.misses.Add(1)
	return nil
}

// lookup returns the cached path for presented, rebuilt from presented's
// certificates, or nil.
func (c *chainCache) lookup(key [sha256.Size]byte, presented []*x509.Certificate) []*x509.Certificate {
	c.mu.Lock()
	refs, ok := c.m[key]
	c.mu.Unlock()
	if !ok {
		return nil
	}
	path := make([]*x509.Certificate, len(refs))
	for i, r := range refs {
		if r.presented < 0 {
			path[i] = r.own
			continue
		}
		if r.presented >= len(presented) || presented[r.presented] == nil {
			return nil // cannot happen for a list with the same hash
		}
		path[i] = presented[r.presented]
	}
	return path
}

// store remembers path, accepted for presented. When the cache is full a
// random entry is evicted (Go map iteration starts at a random bucket):
// no bookkeeping on the hit path, and a client cycling through more chains
// than the cache holds cannot flush everyone else's entries in order, as
// it would with LRU.
func (c *chainCache) store(key [sha256.Size]byte, presented, path []*x509.Certificate) {
	// Rebuild exactly what the builder picks: the leaf is presented[0];
	// the last certificate is always one of the Verifier's anchors (even
	// when the client sent the same certificate); an intermediate is the
	// presented one when the client sent it (the builder prefers it over
	// a configured copy), else a configured intermediate.
	last := len(path) - 1
	refs := make(cachedPath, len(path))
	for i, p := range path {
		refs[i] = pathRef{presented: -1, own: p}
		switch {
		case i == 0:
			refs[i] = pathRef{presented: 0}
		case i < last:
			for j, q := range presented {
				if q == p {
					refs[i] = pathRef{presented: j}
					break
				}
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[key] = refs
}

// ChainCacheStats reports the verified-chain cache's counters; all zero
// when the cache is disabled (Options.ChainCacheSize < 0).
func (v *Verifier) ChainCacheStats() ChainCacheStats {
	c := v.cache
	if c == nil {
		return ChainCacheStats{}
	}
	c.mu.Lock()
	n := len(c.m)
	c.mu.Unlock()
	return ChainCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Entries: n}
}

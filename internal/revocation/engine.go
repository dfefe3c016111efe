package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/certgate/certgate/internal/dname"
	"github.com/certgate/certgate/internal/events"
)

// Engine is the revocation Checker: CRLs (local files, distribution points,
// delta CRLs) and OCSP, with an in-memory cache shared by all requests, an
// optional on-disk cache, and a background refresher.
//
// Its URLs come from client certificates, so it must only be asked about
// chains whose signatures already verify to a trusted anchor (the verifier
// calls Check for each non-anchor element after path validation): a
// stranger's self-made certificate must not make the gateway fetch
// anything.
//
// It reports; it does not decide: Unknown is returned with the reason, and
// the verification policy (on_unavailable) decides whether that denies.
type Engine struct {
	// gen counts installs of revocation data (Generation).
	gen atomic.Uint64

	opts  Options
	log   *slog.Logger
	now   func() time.Time
	fetch *fetcher
	sf    singleflight.Group
	disk  *diskCache

	// local CRLs by dname.Key of the issuer name (RFC 5280 7.1 matching);
	// immutable after New.
	local map[string][]*localCRL
	// keyMu guards nameKeys, a cache of dname.Key by raw name: the key
	// allocates, and Check looks it up on every handshake.
	keyMu    sync.RWMutex
	nameKeys map[string]string

	mu    sync.RWMutex
	crls  map[string]*crlEntry  // by URL
	ocsps map[string]*ocspEntry // by ocspKey

	dpMu    sync.RWMutex
	dpCache map[string][]distPoint // by raw extension value

	// Background refresh.
	pollEvery time.Duration
	startOnce sync.Once
	closeOnce sync.Once
	closed    atomic.Bool
	cancel    context.CancelFunc
	done      chan struct{}
}

var _ Checker = (*Engine)(nil)

// localCRL is a CRL read from Options.LocalCRLs.
type localCRL struct {
	crl  *CRL
	path string // file, with "#n" for the n-th CRL of a PEM bundle
	// detail and good are the Attempt detail and Good reason, built once:
	// Check runs on every handshake.
	detail, good string
	warned       atomic.Bool // the first rejection at check time is logged
}

// crlEntry is one CRL URL in the cache. state is swapped atomically by
// fetches, so a Check reads either the old or the new CRL, never a mix.
type crlEntry struct {
	url         string
	delta       atomic.Bool // last asked for as a delta CRL (for OnFetch)
	state       atomic.Pointer[crlState]
	issuer      atomic.Pointer[x509.Certificate] // verifies background refreshes
	lastUsed    atomic.Int64                     // Unix nanoseconds (Engine clock)
	nextRefresh atomic.Int64                     // Unix nanoseconds; 0: not scheduled
	failure     atomic.Pointer[fetchFailure]
}

type crlState struct {
	crl          *CRL
	fetchedAt    time.Time
	fromDisk     bool
	detail, good string // for cache hits, built once
	// valid are the HTTP validators of the fetched CRL, sent on the next
	// fetch so that an unchanged CRL costs a 304, not a download.
	valid validators
}

func newCRLState(c *CRL, url string, fetchedAt time.Time, fromDisk bool) *crlState {
	from := "fetched"
	if fromDisk {
		from = "loaded from the disk cache,"
	}
	return &crlState{
		crl: c, fetchedAt: fetchedAt, fromDisk: fromDisk,
		detail: fmt.Sprintf("verified %s (%s %s)", c.describe(), from, fetchedAt.UTC().Format(time.RFC3339)),
		good:   fmt.Sprintf("not revoked according to CRL %q", url),
	}
}

// fetchFailure is remembered for a short time so that a dead or hostile
// distribution point costs one timeout per failureBackoff, not one per
// request.
type fetchFailure struct {
	at  time.Time
	err error
}

const (
	// failureBackoff: how long a failed fetch is reported from memory
	// before the URL is tried again on the request path.
	failureBackoff = 30 * time.Second
	// thisUpdateSkew tolerates a clock slightly behind the CA's.
	thisUpdateSkew = 5 * time.Minute
	// noNextUpdateTTL: how long a CRL without nextUpdate (or an OCSP
	// response without one) is used before it is refetched.
	noNextUpdateTTL = time.Hour
	// idleTTL: cache entries not used for this long are dropped instead
	// of refreshed (the client whose chain named them is gone).
	idleTTL = 24 * time.Hour
	// refreshAt is the fraction of a CRL's validity window after which
	// the background refresher fetches a new one.
	refreshAt = 0.8
	// maxDPCache bounds the parsed-distribution-point cache.
	maxDPCache = 4096
)

// New builds an Engine: it loads the local CRLs (failing with an error that
// names the file) and the on-disk cache. It starts nothing; call Start for
// background refresh and Close to stop it.
func New(o Options) (*Engine, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Engine{
		opts:      o,
		log:       o.Logger,
		now:       o.Now,
		fetch:     newFetcher(o),
		local:     map[string][]*localCRL{},
		nameKeys:  map[string]string{},
		crls:      map[string]*crlEntry{},
		ocsps:     map[string]*ocspEntry{},
		dpCache:   map[string][]distPoint{},
		pollEvery: time.Second,
	}
	if o.Mode == Off {
		return e, nil
	}
	for _, p := range o.LocalCRLs {
		if err := e.loadLocal(p); err != nil {
			return nil, err
		}
	}
	if o.CacheDir != "" {
		e.disk = &diskCache{dir: o.CacheDir}
		e.loadDisk()
	}
	return e, nil
}

// loadLocal reads a CRL file, or the CRL files of a directory.
func (e *Engine) loadLocal(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("load crl %q: %w", path, err)
	}
	files := []string{path}
	if st.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return fmt.Errorf("load crl directory %q: %w", path, err)
		}
		files = files[:0]
		for _, de := range ents {
			name := strings.ToLower(de.Name())
			if de.IsDir() || strings.HasPrefix(name, ".") {
				continue
			}
			if strings.HasSuffix(name, ".crl") || strings.HasSuffix(name, ".pem") || strings.HasSuffix(name, ".der") {
				files = append(files, filepath.Join(path, de.Name()))
			}
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("load crl %q: %w", f, err)
		}
		ders, err := crlBlocks(data)
		if err != nil {
			return fmt.Errorf("load crl %q: %w", f, err)
		}
		for i, der := range ders {
			name := f
			if len(ders) > 1 {
				name = fmt.Sprintf("%s#%d", f, i+1)
			}
			c, err := parseCRL(der, nil, nil)
			if err != nil {
				return fmt.Errorf("load crl %q: %w", name, err)
			}
			if c.unusable != nil {
				// Well formed but not usable (RFC 5280 5.2/5.3): a CA
				// publishing a CRL with a new critical extension must not
				// stop the gateway from starting. The certificates it
				// would cover get Unknown with this reason.
				events.SourceFailed(e.log, events.EventCRLUnusable, "ignoring CRL", name, c.unusable, slog.String("issuer", c.Issuer.String()))
			} else {
				e.verifyAtLoad(c, name)
			}
			if !c.NextUpdate.IsZero() && e.now().After(c.NextUpdate) {
				events.SourceFailed(e.log, events.EventCRLUnusable, "local CRL is past its next update; it will only be used to check times before that",
					name, nil, slog.String("issuer", c.Issuer.String()), slog.Time("next_update", c.NextUpdate.UTC()))
			}
			k := dname.Key(c.RawIssuer)
			e.local[k] = append(e.local[k], &localCRL{crl: c, path: name,
				detail: "verified " + c.describe(), good: fmt.Sprintf("not revoked according to CRL %q", name)})
		}
	}
	return nil
}

// crlBlocks splits a file into CRL DERs: one DER CRL, or every X509 CRL
// block of a PEM file (a bundle such as nginx's ssl_crl).
func crlBlocks(data []byte) ([][]byte, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		return [][]byte{data}, nil
	}
	var out [][]byte
	rest := trimmed
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type == "X509 CRL" || blk.Type == "CRL" {
			out = append(out, blk.Bytes)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no X509 CRL PEM block", ErrMalformedCRL)
	}
	return out, nil
}

// verifyAtLoad checks a local or cached CRL against Options.Issuers, so a
// big CRL's signature is not verified on the first request and a CRL that
// no configured CA signed is reported now.
func (e *Engine) verifyAtLoad(c *CRL, name string) {
	var errs []error
	tried := false
	for _, is := range e.opts.Issuers {
		if is == nil || !dname.Equal(is.RawSubject, c.RawIssuer) {
			continue
		}
		tried = true
		err := c.CheckSignatureFrom(is)
		if err == nil {
			return
		}
		errs = append(errs, err)
	}
	if tried {
		// It may still be signed by a separate CRL-signing certificate
		// that only a chain check can validate (RFC 5280 6.3.3 (f)).
		events.SourceFailed(e.log, events.EventCRLUnusable, "CRL not signed by the configured CA of its issuer name", name,
			errors.Join(errs...), slog.String("issuer", c.Issuer.String()))
	}
}

// loadDisk loads the on-disk cache. Problems are logged: the cache is an
// optimisation and must not stop the gateway.
func (e *Engine) loadDisk() {
	items, errs := e.disk.loadAll()
	for _, err := range errs {
		events.SourceFailed(e.log, events.EventRevocationCache, "ignoring revocation cache item", e.opts.CacheDir, err)
	}
	for _, it := range items {
		switch it.meta.Kind {
		case "crl":
			c, err := ParseCRL(it.der, nil)
			if err != nil {
				events.SourceFailed(e.log, events.EventRevocationCache, "ignoring cached CRL", it.path, err, slog.String("url", it.meta.Key))
				continue
			}
			e.verifyAtLoad(c, it.path)
			ent := e.crlEntry(it.meta.Key)
			st := newCRLState(c, it.meta.Key, it.meta.FetchedAt, true)
			st.valid = it.meta.Validators
			ent.state.Store(st)
			e.gen.Add(1)
		case "ocsp":
			ent := e.ocspEntryFor(it.meta.Key)
			ent.pending.Store(&pendingOCSP{der: it.der, source: it.meta.Source, fetchedAt: it.meta.FetchedAt})
		}
	}
}

// localsFor returns the local CRLs whose issuer name matches rawName.
func (e *Engine) localsFor(rawName []byte) []*localCRL {
	if len(e.local) == 0 {
		return nil
	}
	e.keyMu.RLock()
	k, ok := e.nameKeys[string(rawName)]
	e.keyMu.RUnlock()
	if !ok {
		k = dname.Key(rawName)
		e.keyMu.Lock()
		if len(e.nameKeys) >= maxDPCache {
			clear(e.nameKeys)
		}
		e.nameKeys[string(rawName)] = k
		e.keyMu.Unlock()
	}
	return e.local[k]
}

// localsForNames returns the local CRLs issued by any directoryName of a
// GeneralNames (a distribution point's cRLIssuer).
func (e *Engine) localsForNames(names [][]byte) []*localCRL {
	var out []*localCRL
	for _, n := range names {
		if inner, ok := directoryNameInner(n); ok {
			out = append(out, e.localsFor(inner)...)
		}
	}
	return out
}

// crlEntry returns the cache entry for url, creating it.
func (e *Engine) crlEntry(url string) *crlEntry {
	e.mu.RLock()
	ent := e.crls[url]
	e.mu.RUnlock()
	if ent != nil {
		return ent
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if ent = e.crls[url]; ent == nil {
		ent = &crlEntry{url: url}
		e.crls[url] = ent
	}
	return ent
}

// Start runs the background refresher until ctx ends or Close is called:
// cached CRLs and OCSP responses are refetched before they expire (at 80%
// of their validity window, or of MaxAge), so that in steady state no
// request waits on a fetch. A failed refresh keeps the current answer. It
// does nothing in CacheOnly or Off mode.
func (e *Engine) Start(ctx context.Context) {
	if e.opts.Mode != Online || e.closed.Load() {
		return
	}
	e.startOnce.Do(func() {
		ctx, e.cancel = context.WithCancel(ctx)
		e.done = make(chan struct{})
		go e.refreshLoop(ctx)
	})
}

// Close stops the background refresher and waits for it.
func (e *Engine) Close() {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		e.startOnce.Do(func() {}) // a later Start does nothing
		if e.cancel != nil {
			e.cancel()
			<-e.done
		}
	})
}

func (e *Engine) refreshLoop(ctx context.Context) {
	defer close(e.done)
	t := time.NewTicker(e.pollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.refreshDue(ctx)
		}
	}
}

// refreshDue refetches every cache entry whose refresh time has come and
// waits for those fetches. It returns how many it started.
func (e *Engine) refreshDue(ctx context.Context) int {
	now := e.now()
	var due []func()
	e.mu.Lock()
	for url, ent := range e.crls {
		if last := ent.lastUsed.Load(); last != 0 && now.Sub(time.Unix(0, last)) > idleTTL {
			delete(e.crls, url)
			continue
		}
		nr := ent.nextRefresh.Load()
		if nr == 0 || now.UnixNano() < nr || ent.issuer.Load() == nil {
			continue
		}
		due = append(due, func() { e.refreshCRL(ctx, ent) })
	}
	for key, ent := range e.ocsps {
		if last := ent.lastUsed.Load(); last != 0 && now.Sub(time.Unix(0, last)) > idleTTL {
			delete(e.ocsps, key)
			continue
		}
		nr := ent.nextRefresh.Load()
		if nr == 0 || now.UnixNano() < nr || ent.subject.Load() == nil {
			continue
		}
		due = append(due, func() { e.refreshOCSP(ctx, ent) })
	}
	e.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range due {
		wg.Go(f)
	}
	wg.Wait()
	return len(due)
}

func (e *Engine) refreshCRL(ctx context.Context, ent *crlEntry) {
	issuer := ent.issuer.Load()
	st, err := e.fetchCRL(withBackgroundPacing(ctx), ent, issuer, false)
	if err != nil {
		events.SourceFailed(e.log, events.EventCRLRefreshFailed, "background CRL refresh failed; keeping the current CRL", ent.url, err)
		return
	}
	e.log.Debug("refreshed CRL", "url", ent.url, "crl", st.crl.describe())
}

// scheduleCRL sets when the background refresher fetches the URL again:
// at 80% of the CRL's validity window (or of MaxAge, if sooner), but never
// sooner than a short gap after now, so a CA that publishes late is not
// polled in a loop.
func (e *Engine) scheduleCRL(ent *crlEntry, st *crlState, now time.Time) {
	c := st.crl
	var at time.Time
	if c.NextUpdate.IsZero() {
		at = st.fetchedAt.Add(time.Duration(refreshAt * float64(noNextUpdateTTL)))
	} else {
		at = c.ThisUpdate.Add(time.Duration(refreshAt * float64(c.NextUpdate.Sub(c.ThisUpdate))))
	}
	if e.opts.MaxAge > 0 {
		if m := st.fetchedAt.Add(time.Duration(refreshAt * float64(e.opts.MaxAge))); m.Before(at) {
			at = m
		}
	}
	// The retry floor is measured against the moment the CRL stops being
	// usable, which max_age can bring well before nextUpdate: measured
	// against nextUpdate alone, a 5-minute floor would push the refresh past
	// a short max_age and make a request wait for the fetch.
	expiry := c.NextUpdate
	if e.opts.MaxAge > 0 {
		if m := st.fetchedAt.Add(e.opts.MaxAge); expiry.IsZero() || m.Before(expiry) {
			expiry = m
		}
	}
	if floor := now.Add(retryGap(expiry, now)); at.Before(floor) {
		at = floor
	}
	ent.nextRefresh.Store(at.UnixNano())
}

// retryGap is a tenth of the time left before expiry, within [5s, 5m].
func retryGap(expiry, now time.Time) time.Duration {
	g := 5 * time.Minute
	if !expiry.IsZero() {
		g = expiry.Sub(now) / 10
	}
	return min(max(g, 5*time.Second), 5*time.Minute)
}

// CachedURLs lists the CRL URLs in memory, for diagnostics.
func (e *Engine) CachedURLs() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]string, 0, len(e.crls))
	for u, ent := range e.crls {
		if ent.state.Load() != nil {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

// Generation changes whenever the engine installs revocation data: a CRL
// or delta CRL fetched (or confirmed unchanged), an OCSP response, the
// disk cache read at start. A caller that remembers an answer (the
// gateway's per-connection outcome) checks again when it moved, so a
// revocation published after a connection was verified takes effect on
// its next request.
func (e *Engine) Generation() uint64 { return e.gen.Load() }

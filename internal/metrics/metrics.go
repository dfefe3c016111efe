package metrics

import (
	"crypto/x509"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/certgate/certgate/internal/substatus"
)

// Options configures New.
type Options struct {
	// Version is exported as certgate_build_info{version}.
	Version string
	// Now is the clock for the countdown gauges; default time.Now.
	Now func() time.Time
	// NoRuntime leaves out the Go runtime and process collectors (tests
	// that compare whole scrapes).
	NoRuntime bool
}

// Metrics is every certgate collector, registered on its own registry.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	// requestCounters caches requests' children by site and sub-status:
	// WithLabelValues formats and hashes three labels under a lock, which
	// showed on the keep-alive path. Series are never deleted, so a cached
	// child stays the one the registry exports.
	requestCounters   sync.Map // requestKey -> prometheus.Counter
	refused           *prometheus.CounterVec
	handshakes        *prometheus.CounterVec
	handshakeFailures *prometheus.CounterVec
	verify            prometheus.Histogram
	revFetches        *prometheus.CounterVec
	revFetchDur       *prometheus.HistogramVec
	logDropped        prometheus.Counter
	reloads           *prometheus.CounterVec
	chainRefused      *prometheus.CounterVec
	connsOpen         prometheus.Gauge
	connsRefused      *prometheus.CounterVec
	timeouts          *prometheus.CounterVec
	deadlines         *deadlines
	dirs              *dirCollector
}

// ConnLimits and TimeoutKinds are the label values of
// connections_refused_total and client_timeouts_total (the gateway's
// Limit* and Kind* constants).
var (
	ConnLimits   = []string{"max_connections", "max_connections_per_ip"}
	TimeoutKinds = []string{"read_body", "write"}
)

// ChainRefusalReasons are the label values of chain_refusals_total: the
// bounds of internal/verify (verify.Refusals).
var ChainRefusalReasons = []string{"chain_too_long", "key_too_large", "signature_budget"}

// Revocation fetch and reload outcomes.
const (
	OutcomeOK    = "ok"
	OutcomeError = "error"
)

// Kinds of certificate on the expiry gauge.
const (
	KindServer = "server"
	KindCA     = "ca"
)

// verifyBuckets spans a cached verification (tens of µs) to one that waits
// for a slow CRL distribution point (seconds).
var verifyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// fetchBuckets spans a LAN CDP to the default 5 s fetch timeout and beyond.
var fetchBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New builds the collectors and registers them on a fresh registry.
func New(opts Options) *Metrics {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: nameRequests, Help: helpRequests,
		}, []string{labelSite, labelStatus, labelSubstatus}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: nameRefused, Help: helpRefused,
		}, []string{labelSite, labelReason}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: nameHandshakes, Help: helpHandshakes,
		}, []string{labelSite}),
		handshakeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: nameHandshakeFail, Help: helpHandshakeFail,
		}, []string{labelReason}),
		verify: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: nameVerify, Help: helpVerify, Buckets: verifyBuckets,
		}),
		revFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: nameRevFetches, Help: helpRevFetches,
		}, []string{labelKind, labelOutcome}),
		revFetchDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: nameRevFetchDur, Help: helpRevFetchDur, Buckets: fetchBuckets,
		}, []string{labelKind}),
		logDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: nameLogDropped, Help: helpLogDropped,
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: nameReloads, Help: helpReloads,
		}, []string{labelOutcome}),
		chainRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: nameChainRefused, Help: helpChainRefused,
		}, []string{labelReason}),
		connsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: nameConnsOpen, Help: helpConnsOpen,
		}),
		connsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: nameConnsRefused, Help: helpConnsRefused,
		}, []string{labelReason}),
		timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: nameTimeouts, Help: helpTimeouts,
		}, []string{labelKind}),
		deadlines: newDeadlines(opts.Now),
		dirs:      newDirCollector(),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: nameBuildInfo, Help: helpBuildInfo,
	}, []string{labelVersion})
	build.WithLabelValues(opts.Version).Set(1)

	m.reg.MustRegister(m.requests, m.refused, m.handshakes, m.handshakeFailures, m.verify,
		m.revFetches, m.revFetchDur, m.logDropped, m.reloads, m.chainRefused, m.connsOpen, m.connsRefused, m.timeouts, m.deadlines, m.dirs, build)
	// Zero series for the failure reasons and reload outcomes, so that
	// rate() and alerts see 0 rather than "no data" before the first event.
	for _, r := range handshakeReasons {
		m.handshakeFailures.WithLabelValues(r)
	}
	m.reloads.WithLabelValues(OutcomeOK)
	m.reloads.WithLabelValues(OutcomeError)
	for _, r := range ChainRefusalReasons {
		m.chainRefused.WithLabelValues(r)
	}
	for _, r := range ConnLimits {
		m.connsRefused.WithLabelValues(r)
	}
	for _, k := range TimeoutKinds {
		m.timeouts.WithLabelValues(k)
	}
	if !opts.NoRuntime {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Registry returns the registry, for tests and for embedding other collectors.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the registry in the Prometheus exposition formats (/metrics).
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A collector error must not hide every other metric.
		ErrorHandling: promhttp.ContinueOnError,
	})
}

type requestKey struct {
	site string
	sub  substatus.Sub
}

// Request counts one answered request.
func (m *Metrics) Request(site string, s substatus.Sub) {
	if m == nil {
		return
	}
	k := requestKey{site, s}
	if c, ok := m.requestCounters.Load(k); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	c := m.requests.WithLabelValues(site, strconv.Itoa(s.Status), strconv.Itoa(s.Sub))
	m.requestCounters.Store(k, c)
	c.Inc()
}

// RequestRefused counts one request refused before a location decided it.
// reason is a fixed vocabulary chosen by the gateway (never client text),
// so the series stay bounded.
func (m *Metrics) RequestRefused(site, reason string) {
	if m == nil {
		return
	}
	m.refused.WithLabelValues(site, reason).Inc()
}

// Handshake counts one completed TLS handshake for site.
func (m *Metrics) Handshake(site string) {
	if m == nil {
		return
	}
	m.handshakes.WithLabelValues(site).Inc()
}

// HandshakeFailure counts one failed handshake; reason should come from
// HandshakeReason, and any other value is counted as "other" so that a
// caller cannot grow the series without bound.
func (m *Metrics) HandshakeFailure(reason string) {
	if m == nil {
		return
	}
	if !knownReason(reason) {
		reason = ReasonOther
	}
	m.handshakeFailures.WithLabelValues(reason).Inc()
}

// ObserveVerify records the duration of one chain verification.
func (m *Metrics) ObserveVerify(d time.Duration) {
	if m == nil {
		return
	}
	m.verify.Observe(d.Seconds())
}

// RevocationFetch records one CRL or OCSP fetch (kind "crl", "delta-crl"
// or "ocsp"); its signature is revocation.Options.OnFetch. The URL is not
// a label: client certificates choose it, so it would let clients create
// series without bound.
func (m *Metrics) RevocationFetch(kind, _ string, ok bool, d time.Duration) {
	if m == nil {
		return
	}
	outcome := OutcomeOK
	if !ok {
		outcome = OutcomeError
	}
	m.revFetches.WithLabelValues(kind, outcome).Inc()
	m.revFetchDur.WithLabelValues(kind).Observe(d.Seconds())
}

// ChainRefused counts one presented chain refused by a hostile-input
// bound; reason is one of ChainRefusalReasons (anything else is ignored,
// so that a caller cannot grow the series without bound).
func (m *Metrics) ChainRefused(reason string) {
	if m == nil || !slices.Contains(ChainRefusalReasons, reason) {
		return
	}
	m.chainRefused.WithLabelValues(reason).Inc()
}

// Connection counts a connection opening (refused names the limit it
// exceeded, or "") or closing.
func (m *Metrics) Connection(open bool, refused string) {
	if m == nil {
		return
	}
	if !open {
		m.connsOpen.Dec()
		return
	}
	m.connsOpen.Inc()
	if slices.Contains(ConnLimits, refused) {
		m.connsRefused.WithLabelValues(refused).Inc()
	}
}

// ClientTimeout counts one slow client cut off; kind is one of
// TimeoutKinds (anything else is ignored).
func (m *Metrics) ClientTimeout(kind string) {
	if m == nil || !slices.Contains(TimeoutKinds, kind) {
		return
	}
	m.timeouts.WithLabelValues(kind).Inc()
}

// AccessLogDropped counts one dropped access log line; it fits
// accesslog.Options.OnDrop.
func (m *Metrics) AccessLogDropped() {
	if m == nil {
		return
	}
	m.logDropped.Inc()
}

// Reload counts one configuration reload.
func (m *Metrics) Reload(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.reloads.WithLabelValues(OutcomeOK).Inc()
	} else {
		m.reloads.WithLabelValues(OutcomeError).Inc()
	}
}

// CRLDeadline is one loaded CRL on the crl_next_update_seconds gauge.
type CRLDeadline struct {
	Source     string // URL or file
	NextUpdate time.Time
}

// SetCRLSource installs the function listing the loaded CRLs; it is called
// at every scrape, so the gauge follows reloads and background refreshes
// without anyone pushing updates. A source listed twice (two sites using
// one CRL) is exported once, with the earliest nextUpdate; CRLs without
// nextUpdate are left out.
func (m *Metrics) SetCRLSource(fn func() []CRLDeadline) {
	if m == nil {
		return
	}
	m.deadlines.mu.Lock()
	m.deadlines.crls = fn
	m.deadlines.mu.Unlock()
}

// CertExpiry is one certificate watched by cert_expiry_seconds.
type CertExpiry struct {
	Kind string // KindServer or KindCA
	Site string
	Cert *x509.Certificate
}

// SetCertExpiries replaces the whole set of watched certificates; call it
// after every successful (re)load so that removed certificates disappear.
func (m *Metrics) SetCertExpiries(certs []CertExpiry) {
	if m == nil {
		return
	}
	m.deadlines.setCerts(certs)
}

// deadlines is a collector of countdown gauges computed at scrape time.
type deadlines struct {
	now        func() time.Time
	crlDesc    *prometheus.Desc
	expiryDesc *prometheus.Desc

	mu    sync.Mutex
	crls  func() []CRLDeadline
	certs []certDeadline
}

type certDeadline struct {
	kind, site, subject string
	notAfter            time.Time
}

func newDeadlines(now func() time.Time) *deadlines {
	return &deadlines{
		now: now,
		crlDesc: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", nameCRLNext), helpCRLNext,
			[]string{labelSource}, nil),
		expiryDesc: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", nameCertExpiry), helpCertExpiry,
			[]string{labelKind, labelSite, labelSubject}, nil),
	}
}

// validUTF8 keeps a label value exposable: the registry refuses invalid
// UTF-8, and a CRL URL or subject comes from a certificate.
func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func (d *deadlines) setCerts(certs []CertExpiry) {
	out := make([]certDeadline, 0, len(certs))
	seen := map[certDeadline]bool{}
	for _, c := range certs {
		if c.Cert == nil {
			continue
		}
		cd := certDeadline{kind: c.Kind, site: validUTF8(c.Site), subject: validUTF8(c.Cert.Subject.String()), notAfter: c.Cert.NotAfter}
		// Two certificates with one subject (a renewed CA next to the old
		// one) would collide on the labels: keep the one expiring first,
		// the one an alert must fire for.
		key := cd
		key.notAfter = time.Time{}
		if seen[key] {
			for i := range out {
				if out[i].kind == cd.kind && out[i].site == cd.site && out[i].subject == cd.subject && cd.notAfter.Before(out[i].notAfter) {
					out[i].notAfter = cd.notAfter
				}
			}
			continue
		}
		seen[key] = true
		out = append(out, cd)
	}
	d.mu.Lock()
	d.certs = out
	d.mu.Unlock()
}

func (d *deadlines) Describe(ch chan<- *prometheus.Desc) {
	ch <- d.crlDesc
	ch <- d.expiryDesc
}

func (d *deadlines) Collect(ch chan<- prometheus.Metric) {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.crls != nil {
		earliest := map[string]time.Time{}
		for _, c := range d.crls() {
			if c.NextUpdate.IsZero() {
				continue
			}
			src := validUTF8(c.Source)
			if t, ok := earliest[src]; !ok || c.NextUpdate.Before(t) {
				earliest[src] = c.NextUpdate
			}
		}
		for src, next := range earliest {
			ch <- prometheus.MustNewConstMetric(d.crlDesc, prometheus.GaugeValue, next.Sub(now).Seconds(), src)
		}
	}
	for _, c := range d.certs {
		ch <- prometheus.MustNewConstMetric(d.expiryDesc, prometheus.GaugeValue, c.notAfter.Sub(now).Seconds(), c.kind, c.site, c.subject)
	}
}

// DirectoryStats are the counters of one site's directory.
type DirectoryStats struct {
	Site                                                 string
	Found, NotFound, Unavailable, CacheHits, Stale, Weak uint64
	Seconds                                              float64
}

// SetDirectorySource installs the function listing the sites' directory
// counters, called at every scrape (so reloads are followed).
func (m *Metrics) SetDirectorySource(fn func() []DirectoryStats) {
	if m == nil {
		return
	}
	m.dirs.mu.Lock()
	m.dirs.src = fn
	m.dirs.mu.Unlock()
}

type dirCollector struct {
	lookups, seconds, weak *prometheus.Desc
	mu                     sync.Mutex
	src                    func() []DirectoryStats
}

func newDirCollector() *dirCollector {
	return &dirCollector{
		lookups: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", nameDirLookups), helpDirLookups, []string{labelSite, labelOutcome}, nil),
		seconds: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", nameDirSeconds), helpDirSeconds, []string{labelSite}, nil),
		weak:    prometheus.NewDesc(prometheus.BuildFQName(namespace, "", nameDirWeak), helpDirWeak, []string{labelSite}, nil),
	}
}

func (d *dirCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- d.lookups
	ch <- d.seconds
	ch <- d.weak
}

func (d *dirCollector) Collect(ch chan<- prometheus.Metric) {
	d.mu.Lock()
	src := d.src
	d.mu.Unlock()
	if src == nil {
		return
	}
	for _, s := range src() {
		site := validUTF8(s.Site)
		for _, o := range []struct {
			name string
			v    uint64
		}{{"found", s.Found}, {"not_found", s.NotFound}, {"unavailable", s.Unavailable}, {"cache_hit", s.CacheHits}, {"stale", s.Stale}} {
			ch <- prometheus.MustNewConstMetric(d.lookups, prometheus.CounterValue, float64(o.v), site, o.name)
		}
		ch <- prometheus.MustNewConstMetric(d.seconds, prometheus.CounterValue, s.Seconds, site)
		ch <- prometheus.MustNewConstMetric(d.weak, prometheus.CounterValue, float64(s.Weak), site)
	}
}

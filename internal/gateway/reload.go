package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/metrics"
	"github.com/certgate/certgate/internal/site"
)

// Reloader rebuilds everything from the config file and swaps it in: a
// new Snapshot (config, server certificates, trust, issuer lists, CRL
// files, mapping) and the access log writers, then the expiry gauges. A
// failed build changes nothing: the old snapshot keeps serving and the
// error names the file and field. Reloads are serialised.
type Reloader struct {
	ctx      context.Context
	path     string
	srv      *Server
	obs      *Observer
	metrics  *metrics.Metrics
	logger   *slog.Logger
	now      func() time.Time
	logsOpts AccessLogOptions
	build    BuildOptions

	mu sync.Mutex
}

// ReloaderOptions configure NewReloader.
type ReloaderOptions struct {
	// Context bounds the background work (CRL refresh) of the snapshots a
	// reload starts; default context.Background().
	Context context.Context
	// Path is the config file, read again on every reload.
	Path     string
	Server   *Server
	Observer *Observer
	Metrics  *metrics.Metrics
	Logger   *slog.Logger
	// Now is the clock for expiry warnings; default time.Now.
	Now func() time.Time
	// AccessLogs configures writers opened by a reload.
	AccessLogs AccessLogOptions
	// Build configures the snapshots a reload builds.
	Build BuildOptions
}

// NewReloader returns a Reloader for the server's current snapshot. It
// publishes that snapshot's certificate expiries and CRL deadlines to the
// metrics right away, and logs those that are close.
func NewReloader(o ReloaderOptions) *Reloader {
	r := &Reloader{ctx: o.Context, path: o.Path, srv: o.Server, obs: o.Observer, metrics: o.Metrics,
		logger: o.Logger, now: o.Now, logsOpts: o.AccessLogs, build: o.Build}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.ctx == nil {
		r.ctx = context.Background()
	}
	r.metrics.SetCRLSource(r.CRLDeadlines)
	r.metrics.SetDirectorySource(r.DirectoryStats)
	r.published(r.srv.Snapshot())
	return r
}

// setContext bounds the background work of the snapshots later reloads
// start (Service.Serve gives its own context).
func (r *Reloader) setContext(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ctx = ctx
}

// Reload reads the config file again and swaps in what it describes, or
// returns why it cannot, leaving the running configuration untouched.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	err := r.reload()
	r.metrics.Reload(err == nil)
	if err != nil {
		events.Log(r.logger, slog.LevelError, events.EventReloadFailed, "reload refused; the previous configuration keeps serving",
			slog.String("config", r.path), slog.String("err", err.Error()))
		return err
	}
	r.logger.Info("configuration reloaded", "config", r.path, "duration", time.Since(start))
	return nil
}

func (r *Reloader) reload() error {
	cfg, err := config.Load(r.path)
	if err != nil {
		return fmt.Errorf("reload %s: %w", r.path, err)
	}
	old := r.srv.Snapshot()
	snap, err := BuildWith(cfg, r.logger, r.build)
	if err != nil {
		return fmt.Errorf("reload %s: %w", r.path, err)
	}
	var prevLogs, logs *AccessLogs
	if r.obs != nil {
		prevLogs = r.obs.AccessLogs()
		if logs, err = OpenAccessLogs(cfg, prevLogs, r.logsOpts); err != nil {
			snap.Close()
			return fmt.Errorf("reload %s: %w", r.path, err)
		}
	}
	r.notApplied(old.Config, cfg)
	// Applied, but said out loud: a config cut short or a typo that
	// opens paths up must not go unnoticed.
	for _, w := range site.Weakened(siteList(old), siteList(snap)) {
		if w.Removed {
			events.Log(r.logger, slog.LevelWarn, events.EventPolicyLowered, "reload removes a site",
				slog.String("site", w.Site), slog.Bool("removed", true))
			continue
		}
		events.Log(r.logger, slog.LevelWarn, events.EventPolicyLowered, "reload lowers the certificate policy of a location",
			slog.String("site", w.Site), slog.String("path", w.Path), slog.String("from", w.From), slog.String("to", w.To))
	}

	// From here on nothing can fail: start the new snapshot's CRL
	// refresh, swap, then retire the old snapshot's background work (its
	// connections keep working, see Snapshot.Close) and old writers.
	snap.Start(r.ctx)
	r.srv.Swap(snap)
	old.Close()
	if r.obs != nil {
		r.obs.SetAccessLogs(logs)
		if err := prevLogs.CloseUnused(logs); err != nil {
			events.Log(r.logger, slog.LevelWarn, events.EventAccessLogCloseFailed, "close access log after reload", slog.String("err", err.Error()))
		}
	}
	r.published(snap)
	return nil
}

// notApplied warns about settings a reload cannot change: the listeners
// and the event log are set up once per process.
func (r *Reloader) notApplied(old, cfg *config.Config) {
	warn := func(field, was, now string) {
		if was != now {
			events.Log(r.logger, slog.LevelWarn, events.EventRestartRequired, "setting changed but needs a restart to apply",
				slog.String("field", field), slog.String("running", was), slog.String("configured", now))
		}
	}
	warn("listen", old.Listen, cfg.Listen)
	warn("admin.listen", old.Admin.Listen, cfg.Admin.Listen)
	warn("admin.pprof", strconv.FormatBool(old.Admin.Pprof), strconv.FormatBool(cfg.Admin.Pprof))
	warn("log.format", old.Log.Format, cfg.Log.Format)
	warn("log.level", old.Log.Level, cfg.Log.Level)
	warn("log.file", old.Log.File, cfg.Log.File)
	warn("timeouts.read_header", old.Timeouts.ReadHeader.String(), cfg.Timeouts.ReadHeader.String())
	warn("timeouts.idle", old.Timeouts.Idle.String(), cfg.Timeouts.Idle.String())
	warn("reload.watch", strconv.FormatBool(old.Reload.Watch), strconv.FormatBool(cfg.Reload.Watch))
	warn("reuse_port", strconv.FormatBool(old.ReusePort), strconv.FormatBool(cfg.ReusePort))
}

// CRLWarning is how close to nextUpdate a local CRL file is logged
// (crl_near_next_update): the same week `certgate lint` warns at
// (doctor.CRLExpiryWarning), time to notice a CA that stopped publishing.
const CRLWarning = 7 * 24 * time.Hour

// published updates the expiry gauges for snap and logs what is close to
// expiry.
func (r *Reloader) published(snap *Snapshot) {
	var certs []metrics.CertExpiry
	for _, s := range snap.Sites {
		if leaf := s.ServerCertificate(); leaf != nil {
			certs = append(certs, metrics.CertExpiry{Kind: metrics.KindServer, Site: s.Name, Cert: leaf})
		}
		for _, ca := range s.TrustedCAs() {
			certs = append(certs, metrics.CertExpiry{Kind: metrics.KindCA, Site: s.Name, Cert: ca})
		}
	}
	r.metrics.SetCertExpiries(certs)
	r.checkDeadlines(snap)
}

// CheckDeadlines logs the server certificates and trusted CAs of the
// running configuration that expire within ExpiryWarning
// (cert_near_expiry), and the local CRL files within CRLWarning of their
// nextUpdate (crl_near_next_update). Fetched CRLs are not listed: the
// revocation engine refreshes them and logs its own failures.
func (r *Reloader) CheckDeadlines() { r.checkDeadlines(r.srv.Snapshot()) }

func (r *Reloader) checkDeadlines(snap *Snapshot) {
	now := r.now()
	for _, s := range snap.Sites {
		if leaf := s.ServerCertificate(); leaf != nil && leaf.NotAfter.Sub(now) <= ExpiryWarning {
			events.CertNearExpiry(r.logger, metrics.KindServer, s.Name, leaf, now)
		}
		for _, ca := range s.TrustedCAs() {
			if ca.NotAfter.Sub(now) <= ExpiryWarning {
				events.CertNearExpiry(r.logger, metrics.KindCA, s.Name, ca, now)
			}
		}
		if s.Revocation == nil {
			continue
		}
		for _, c := range s.Revocation.LoadedCRLs() {
			if c.Local && !c.NextUpdate.IsZero() && c.NextUpdate.Sub(now) <= CRLWarning {
				events.CRLNearNextUpdate(r.logger, c.Source, c.NextUpdate, now,
					slog.String("site", s.Name), slog.String("issuer", c.Issuer))
			}
		}
	}
}

// CRLDeadlines lists the CRLs loaded by the running configuration's
// revocation engines (local files and fetched ones), for
// metrics.Metrics.SetCRLSource.
func (r *Reloader) CRLDeadlines() []metrics.CRLDeadline {
	var out []metrics.CRLDeadline
	for _, s := range r.srv.Snapshot().Sites {
		if s.Revocation == nil {
			continue
		}
		for _, c := range s.Revocation.LoadedCRLs() {
			out = append(out, metrics.CRLDeadline{Source: c.Source, NextUpdate: c.NextUpdate})
		}
	}
	return out
}

// DirectoryStats lists the counters of the running configuration's
// directories (mapping.directory), for metrics.Metrics.SetDirectorySource.
func (r *Reloader) DirectoryStats() []metrics.DirectoryStats {
	var out []metrics.DirectoryStats
	for _, s := range r.srv.Snapshot().Sites {
		if s.Mapper == nil {
			continue
		}
		st, ok := s.Mapper.DirectoryStats()
		if !ok {
			continue
		}
		out = append(out, metrics.DirectoryStats{Site: s.Name, Found: st.Found, NotFound: st.NotFound, Unavailable: st.Errors,
			CacheHits: st.CacheHits, Stale: st.StaleServed, Weak: st.WeakUsed, Seconds: float64(st.LatencyNanos) / 1e9})
	}
	return out
}

// WatchDeadlines runs CheckDeadlines every interval until ctx is done, so
// that a long-running gateway keeps warning as a deadline approaches.
func (r *Reloader) WatchDeadlines(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.CheckDeadlines()
		}
	}
}

// Watch reloads on every value received from signals (SIGHUP, wired by
// `certgate serve`) until ctx is done. Errors are logged by Reload.
func (r *Reloader) Watch(ctx context.Context, signals <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-signals:
			r.logger.Info("reloading configuration", "signal", sig.String())
			_ = r.Reload()
		}
	}
}

// siteList is the site.Site of each site of snap.
func siteList(snap *Snapshot) []*site.Site {
	out := make([]*site.Site, len(snap.Sites))
	for i, s := range snap.Sites {
		out[i] = s.Site
	}
	return out
}

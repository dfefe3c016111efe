package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/metrics"
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
}

// NewReloader returns a Reloader for the server's current snapshot. It
// publishes that snapshot's certificate expiries right away.
func NewReloader(o ReloaderOptions) *Reloader {
	r := &Reloader{ctx: o.Context, path: o.Path, srv: o.Server, obs: o.Observer, metrics: o.Metrics,
		logger: o.Logger, now: o.Now, logsOpts: o.AccessLogs}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.ctx == nil {
		r.ctx = context.Background()
	}
	r.published(r.srv.Snapshot())
	return r
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
		r.logger.Error("reload refused; the previous configuration keeps serving", "config", r.path, "err", err.Error())
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
	snap, err := Build(cfg, r.logger)
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

	// From here on nothing can fail: start the new snapshot's CRL
	// refresh, swap, then retire the old snapshot's background work (its
	// connections keep working, see Snapshot.Close) and old writers.
	snap.Start(r.ctx)
	r.srv.Swap(snap)
	old.Close()
	if r.obs != nil {
		r.obs.SetAccessLogs(logs)
		if err := prevLogs.CloseUnused(logs); err != nil {
			r.logger.Warn("close access log after reload", "err", err.Error())
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
			r.logger.Warn("setting changed but needs a restart to apply", "field", field, "running", was, "configured", now)
		}
	}
	warn("listen", old.Listen, cfg.Listen)
	warn("admin.listen", old.Admin.Listen, cfg.Admin.Listen)
	warn("log.format", old.Log.Format, cfg.Log.Format)
	warn("log.level", old.Log.Level, cfg.Log.Level)
	warn("log.file", old.Log.File, cfg.Log.File)
	warn("timeouts.read_header", old.Timeouts.ReadHeader.String(), cfg.Timeouts.ReadHeader.String())
	warn("timeouts.idle", old.Timeouts.Idle.String(), cfg.Timeouts.Idle.String())
}

// published updates the expiry gauges for snap and logs what is close to
// expiry.
func (r *Reloader) published(snap *Snapshot) {
	now := r.now()
	var certs []metrics.CertExpiry
	for _, s := range snap.Sites {
		if leaf := s.ServerCertificate(); leaf != nil {
			certs = append(certs, metrics.CertExpiry{Kind: metrics.KindServer, Site: s.Name, Cert: leaf})
			if leaf.NotAfter.Sub(now) <= ExpiryWarning {
				events.CertNearExpiry(r.logger, metrics.KindServer, s.Name, leaf, now)
			}
		}
		for _, ca := range s.TrustedCAs() {
			certs = append(certs, metrics.CertExpiry{Kind: metrics.KindCA, Site: s.Name, Cert: ca})
			if ca.NotAfter.Sub(now) <= ExpiryWarning {
				events.CertNearExpiry(r.logger, metrics.KindCA, s.Name, ca, now)
			}
		}
	}
	r.metrics.SetCertExpiries(certs)
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

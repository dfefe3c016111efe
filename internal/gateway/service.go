package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/metrics"
)

// ServiceOptions are the injected edges of a Service. The zero value is
// `certgate serve`: the event log as cfg.log describes it on stderr,
// fresh metrics, cfg.listen and cfg.admin.listen.
type ServiceOptions struct {
	// Logger receives the event log; nil builds it from cfg.log
	// (NewLogger) writing to Stderr.
	Logger *slog.Logger
	// Stderr is where the configured event log goes when log.file is
	// unset; default os.Stderr. Ignored when Logger is set.
	Stderr io.Writer
	// Version is the #Software of the access log and certgate_build_info.
	Version string
	// Metrics receives the gateway's metrics; nil creates a registry with
	// the Go runtime collectors.
	Metrics *metrics.Metrics
	// Listener, when set, is served instead of listening on cfg.listen
	// (`certgate demo` picks a free port itself; `certgate serve` passes
	// a socket-activated one). The Service closes it.
	Listener net.Listener
	// AdminListener, when set, is the admin listener instead of
	// cfg.admin.listen (socket activation). The Service closes it.
	AdminListener net.Listener
	// Now is the clock for certificate verification and expiry warnings;
	// default time.Now.
	Now func() time.Time
	// Hooks are called after the access log and metrics hooks (tests wait
	// on them).
	Hooks Hooks
	// Reload receives the signals that reload the config (SIGHUP, wired
	// by `certgate serve`); nil reloads only through Reload and POST
	// /reload.
	Reload <-chan os.Signal
	// DeadlineInterval is how often expiring certificates and CRL files
	// are logged again after start and every reload; default one hour.
	DeadlineInterval time.Duration
}

// Service is a gateway wired as `certgate serve` runs it: the event log,
// the snapshot, the access log writers and metrics (Observer), the
// Server, the Reloader and the admin listener (metrics, health, reload).
// `certgate serve`, `certgate demo` and the tests run this one wiring.
type Service struct {
	cfg      *config.Config
	logger   *slog.Logger
	closeLog func() error
	metrics  *metrics.Metrics
	obs      *Observer
	srv      *Server
	reloader *Reloader
	ln       net.Listener
	admin    *http.Server
	adminLn  net.Listener
	signals  <-chan os.Signal
	every    time.Duration
	version  string

	// serving decides /readyz: true while the gateway serves, false
	// before and once shutdown starts, so that a load balancer stops
	// sending new clients while requests drain.
	serving atomic.Bool

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc
	done    chan struct{}
	err     error
}

// NewService builds everything cfg describes (every file it names is
// loaded, as at a reload) and opens the listeners; nothing is served
// before Serve. cfg must come from config.Load or config.Parse. On error
// everything opened so far is closed again.
func NewService(cfg *config.Config, o ServiceOptions) (_ *Service, err error) {
	s := &Service{cfg: cfg, logger: o.Logger, closeLog: func() error { return nil }, metrics: o.Metrics,
		ln: o.Listener, adminLn: o.AdminListener, signals: o.Reload, every: o.DeadlineInterval, version: o.Version, done: make(chan struct{})}
	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()
	if s.ln != nil {
		cleanup = append(cleanup, func() { s.ln.Close() })
	}
	if s.adminLn != nil {
		cleanup = append(cleanup, func() { s.adminLn.Close() })
	}
	if s.logger == nil {
		stderr := o.Stderr
		if stderr == nil {
			stderr = os.Stderr
		}
		if s.logger, s.closeLog, err = NewLogger(cfg, stderr); err != nil {
			return nil, err
		}
		cleanup = append(cleanup, func() { _ = s.closeLog() })
	}
	if s.metrics == nil {
		s.metrics = metrics.New(metrics.Options{Version: o.Version})
	}
	if s.every <= 0 {
		s.every = time.Hour
	}
	build := BuildOptions{OnFetch: s.metrics.RevocationFetch}
	snap, err := BuildWith(cfg, s.logger, build) // logs load-time warnings itself
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, snap.Close)
	logOpts := AccessLogOptions{Version: o.Version, Logger: s.logger, OnDrop: s.metrics.AccessLogDropped}
	logs, err := OpenAccessLogs(cfg, nil, logOpts)
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { _ = logs.Close() })
	if s.ln == nil {
		if s.ln, err = listenTCP(cfg.Listen, cfg.ReusePort); err != nil {
			return nil, cfg.FieldErr("listen", err)
		}
		cleanup = append(cleanup, func() { s.ln.Close() })
	}
	s.obs = NewObserver(s.metrics, logs, s.logger)
	s.srv = NewServer(snap, s.logger, Options{Now: o.Now, Hooks: chainHooks(s.obs.Hooks(), o.Hooks)})
	s.reloader = NewReloader(ReloaderOptions{Path: cfg.Path, Server: s.srv, Observer: s.obs,
		Metrics: s.metrics, Logger: s.logger, Now: o.Now, AccessLogs: logOpts, Build: build})
	if s.adminLn != nil || cfg.Admin.Listen != config.AdminOff {
		if s.adminLn == nil {
			if s.adminLn, err = listenTCP(cfg.Admin.Listen, cfg.ReusePort); err != nil {
				return nil, cfg.FieldErr("admin.listen", err)
			}
			cleanup = append(cleanup, func() { s.adminLn.Close() })
		}
		token, err := readAdminToken(cfg.Admin.TokenFile)
		if err != nil {
			return nil, cfg.FieldErr("admin.token_file", err)
		}
		s.admin = &http.Server{
			Handler: NewAdminHandler(AdminOptions{Metrics: s.metrics, Reload: s.Reload, Pprof: cfg.Admin.Pprof, Token: token, Ready: func() error {
				if !s.serving.Load() {
					return errors.New("not serving (starting or shutting down)")
				}
				return nil
			}}),
			ReadHeaderTimeout: cfg.Timeouts.ReadHeader,
			ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
		}
	}
	return s, nil
}

// chainHooks returns hooks calling a's, then b's.
func chainHooks(a, b Hooks) Hooks {
	h := a
	if b.Request != nil {
		h.Request = func(ev *RequestEvent) { call(a.Request, ev); b.Request(ev) }
	}
	if b.Handshake != nil {
		h.Handshake = func(ev *HandshakeEvent) { call(a.Handshake, ev); b.Handshake(ev) }
	}
	if b.Verify != nil {
		h.Verify = func(ev *VerifyEvent) { call(a.Verify, ev); b.Verify(ev) }
	}
	if b.Conn != nil {
		h.Conn = func(ev *ConnEvent) { call(a.Conn, ev); b.Conn(ev) }
	}
	if b.Timeout != nil {
		h.Timeout = func(kind string) { call(a.Timeout, kind); b.Timeout(kind) }
	}
	return h
}

func call[E any](f func(E), ev E) {
	if f != nil {
		f(ev)
	}
}

// Addr is the gateway's listening address.
func (s *Service) Addr() net.Addr { return s.ln.Addr() }

// AdminAddr is the admin listener's address, or nil when admin.listen is
// off.
func (s *Service) AdminAddr() net.Addr {
	if s.adminLn == nil {
		return nil
	}
	return s.adminLn.Addr()
}

// Server is the HTTPS server; Server().Snapshot() is the configuration in
// use.
func (s *Service) Server() *Server { return s.srv }

// Logger is the event log.
func (s *Service) Logger() *slog.Logger { return s.logger }

// AccessLogs are the access log writers in use.
func (s *Service) AccessLogs() *AccessLogs { return s.obs.AccessLogs() }

// Reload reads the config file again and swaps in what it describes, or
// returns why it cannot, leaving the running configuration untouched
// (Reloader.Reload).
func (s *Service) Reload() error { return s.reloader.Reload() }

// Serve starts the snapshot's background work (CRL refresh), the admin
// listener, the reload and deadline watchers, and serves until ctx is done
// or Shutdown is called. Then it stops accepting, lets the requests in
// flight finish within timeouts.shutdown, and closes the snapshot, the
// access logs (drained), the admin listener (last, so that /metrics stays
// scrapable while requests drain) and the event log file. It returns nil
// after a clean stop. A Service serves once.
func (s *Service) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("serve: the service was already started or shut down")
	}
	s.started = true
	ctx, s.stop = context.WithCancel(ctx)
	s.mu.Unlock()
	defer close(s.done)
	s.err = s.serve(ctx)
	return s.err
}

func (s *Service) serve(ctx context.Context) (err error) {
	defer s.stop()
	defer func() {
		if cerr := s.closeLog(); err == nil && cerr != nil {
			err = fmt.Errorf("close log file: %w", cerr)
		}
	}()
	// Whatever snapshot is current at exit is closed, and every access
	// log drained, after the last request finished.
	defer func() {
		if err := s.obs.AccessLogs().Close(); err != nil {
			events.Log(s.logger, slog.LevelError, events.EventAccessLogCloseFailed, "close access log", slog.String("err", err.Error()))
		}
	}()
	defer func() { s.srv.Snapshot().Close() }()
	if s.admin != nil {
		// Last to go: /metrics stays scrapable while requests drain.
		defer s.admin.Close()
	}

	s.srv.Snapshot().Start(ctx)
	s.reloader.setContext(ctx) // the CRL refresh of reloaded snapshots stops with the service
	if s.admin != nil {
		go serveAdmin(s.logger, s.admin, s.adminLn)
		s.logger.Info("admin listener", "listen", s.adminLn.Addr().String(), "paths", "/metrics /healthz /readyz POST /reload")
	}
	if s.signals != nil {
		go s.reloader.Watch(ctx, s.signals)
	}
	if s.cfg.Reload.Watch {
		if err := s.reloader.WatchFiles(ctx, s.cfg.Reload.Debounce); err != nil {
			// Not fatal: SIGHUP and POST /reload still work.
			events.Log(s.logger, slog.LevelError, events.EventReloadWatchFailed, "watch config files: reload on change is off",
				slog.String("err", err.Error()))
		}
	}
	// Expiring certificates and CRL files are logged at start, on every
	// reload and then hourly.
	go s.reloader.WatchDeadlines(ctx, s.every)

	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(s.ln) }()
	// Ready while serving: Build has loaded every configured CRL file and
	// the disk cache before the listener opened, so a site's required
	// CRLs are there.
	s.serving.Store(true)
	snap := s.srv.Snapshot()
	sites := make([]string, len(snap.Sites))
	for i, site := range snap.Sites {
		sites[i] = site.Name
	}
	s.logger.Info("certgate serving", "listen", s.ln.Addr().String(), "config", s.cfg.Path, "sites", sites, "default_site", snap.Default.Name, "version", s.version)

	select {
	case err := <-served:
		s.serving.Store(false)
		return fmt.Errorf("serve %s: %w", s.ln.Addr(), err)
	case <-ctx.Done():
	}
	s.serving.Store(false)
	grace := s.cfg.Timeouts.Shutdown
	s.logger.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("shut down: requests still running after %v: %w", grace, err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", s.ln.Addr(), err)
	}
	s.logger.Info("stopped")
	return nil
}

// Shutdown stops a Service started with Serve as the end of its context
// does, and waits until Serve has returned (its error is returned) or ctx
// ends. On a Service that never served it closes what NewService opened.
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.started {
		s.started = true
		s.mu.Unlock()
		return s.closeUnstarted()
	}
	s.stop()
	s.mu.Unlock()
	select {
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeUnstarted releases what NewService opened.
func (s *Service) closeUnstarted() error {
	s.ln.Close()
	if s.adminLn != nil {
		s.adminLn.Close()
	}
	s.srv.Snapshot().Close()
	return errors.Join(s.obs.AccessLogs().Close(), s.closeLog())
}

// serveAdmin serves the admin listener until it is shut down; any other
// end is logged as admin_listener_failed, since /metrics and /readyz are
// then gone while requests are still served.
func serveAdmin(logger *slog.Logger, admin *http.Server, ln net.Listener) {
	if err := admin.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		events.Log(logger, slog.LevelError, events.EventAdminListenerFailed, "admin listener stopped",
			slog.String("listen", ln.Addr().String()), slog.String("err", err.Error()))
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/gctune"
	"github.com/certgate/certgate/internal/metrics"
)

func newServeCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTPS gateway",
		Long: `Run the HTTPS reverse proxy described by the config file: sites chosen by SNI,
client certificates verified per connection, location policies (ignore, accept,
require) enforced per request, IIS-style 403 sub-statuses for refused requests.

SIGTERM or SIGINT stops accepting connections and lets requests in flight finish
within timeouts.shutdown, then flushes the access logs. SIGHUP (or POST /reload on
the admin listener) reloads the config, certificates, trust, issuer lists, CRL files
and mapping atomically; an invalid config is logged with its field and the running
one keeps serving. The admin listener (admin.listen, default 127.0.0.1:9443) serves
/metrics, /healthz and /readyz. A config error at startup is reported with its file,
line and field path, and serve exits with status 2. See docs/operations.md.`,
		Example: `  certgate serve -c certgate.yaml
  certgate serve --config /etc/certgate/certgate.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return runServe(ctx, configPath)
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "certgate.yaml", "config file")
	return cmd
}

// runServe serves until ctx is done, then shuts down gracefully. SIGHUP
// and POST /reload on the admin listener reload the config (see
// gateway.Reloader); the admin listener also serves /metrics, /healthz and
// /readyz.
func runServe(ctx context.Context, configPath string) error {
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	logger, closeLog, err := gateway.NewLogger(cfg, os.Stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	version := buildVersion()
	m := metrics.New(metrics.Options{Version: version})
	build := gateway.BuildOptions{OnFetch: m.RevocationFetch}
	snap, err := gateway.BuildWith(cfg, logger, build) // logs load-time warnings itself
	if err != nil {
		return err
	}
	logOpts := gateway.AccessLogOptions{Version: version, Logger: logger, OnDrop: m.AccessLogDropped}
	logs, err := gateway.OpenAccessLogs(cfg, nil, logOpts)
	if err != nil {
		snap.Close()
		return err
	}
	obs := gateway.NewObserver(m, logs, logger)
	// Whatever snapshot is current at exit is closed, and every access
	// log drained, after the last request finished.
	defer func() {
		if err := obs.AccessLogs().Close(); err != nil {
			events.Log(logger, slog.LevelError, events.EventAccessLogCloseFailed, "close access log", slog.String("err", err.Error()))
		}
	}()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		snap.Close()
		return cfg.FieldErr("listen", err)
	}
	snap.Start(ctx)
	// GC headroom (internal/gctune): with a small live heap Go collects
	// every 4 MiB of allocation; GOGC in the environment turns this off.
	if gc := gctune.Start(gctune.DefaultHeadroom); gc != nil {
		defer gc.Stop()
		logger.Debug("garbage collector headroom", "mib", gctune.DefaultHeadroom>>20)
	}
	srv := gateway.NewServer(snap, logger, gateway.Options{Hooks: obs.Hooks()})
	defer func() { srv.Snapshot().Close() }()
	reloader := gateway.NewReloader(gateway.ReloaderOptions{Context: ctx, Path: cfg.Path, Server: srv,
		Observer: obs, Metrics: m, Logger: logger, AccessLogs: logOpts, Build: build})

	// Ready while serving: Build has loaded every configured CRL file and
	// the disk cache before the listener opens, so a site's required CRLs
	// are there; not ready again once shutdown starts, so that a load
	// balancer stops sending new clients while requests drain.
	var serving atomic.Bool
	var admin *http.Server
	if cfg.Admin.Listen != config.AdminOff {
		aln, err := net.Listen("tcp", cfg.Admin.Listen)
		if err != nil {
			ln.Close()
			return cfg.FieldErr("admin.listen", err)
		}
		admin = &http.Server{
			Handler: gateway.NewAdminHandler(gateway.AdminOptions{Metrics: m, Reload: reloader.Reload, Pprof: cfg.Admin.Pprof, Ready: func() error {
				if !serving.Load() {
					return errors.New("not serving (starting or shutting down)")
				}
				return nil
			}}),
			ReadHeaderTimeout: cfg.Timeouts.ReadHeader,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		}
		go serveAdmin(logger, admin, aln)
		logger.Info("admin listener", "listen", aln.Addr().String(), "paths", "/metrics /healthz /readyz POST /reload")
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go reloader.Watch(ctx, hup)
	// Expiring certificates and CRL files are logged at start, on every
	// reload and then hourly.
	go reloader.WatchDeadlines(ctx, time.Hour)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	serving.Store(true)
	sites := make([]string, len(snap.Sites))
	for i, s := range snap.Sites {
		sites[i] = s.Name
	}
	logger.Info("certgate serving", "listen", ln.Addr().String(), "config", cfg.Path, "sites", sites, "default_site", snap.Default.Name, "version", version)

	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	serving.Store(false)
	logger.Info("shutting down", "grace", cfg.Timeouts.Shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Timeouts.Shutdown)
	defer cancel()
	if admin != nil {
		// Last to go: /metrics stays scrapable while requests drain.
		defer admin.Close()
	}
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down: requests still running after %v: %w", cfg.Timeouts.Shutdown, err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	logger.Info("stopped")
	return nil
}

// buildVersion is the module version of this binary, for #Software in the
// access log and certgate_build_info; "dev" for a local build.
// serveAdmin serves the admin listener until it is shut down; any other
// end is logged (admin_listener_failed): metrics and reload are gone while
// the gateway keeps serving.
func serveAdmin(logger *slog.Logger, admin *http.Server, ln net.Listener) {
	if err := admin.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		events.Log(logger, slog.LevelError, events.EventAdminListenerFailed, "admin listener stopped",
			slog.String("listen", ln.Addr().String()), slog.String("err", err.Error()))
	}
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

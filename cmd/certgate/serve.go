package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/gctune"
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
// gateway.Service); the admin listener also serves /metrics, /healthz and
// /readyz.
func runServe(ctx context.Context, configPath string) error {
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// Under systemd socket activation the sockets come from the service
	// manager and outlive this process (zero-downtime restarts, see
	// docs/operations.md); listen and admin.listen are then not opened.
	act, err := gateway.SystemdListeners()
	if err != nil {
		return err
	}
	svc, err := gateway.NewService(cfg, gateway.ServiceOptions{Version: buildVersion(), Reload: hup,
		Listener: act.HTTPS, AdminListener: act.Admin})
	if err != nil {
		return err
	}
	// GC headroom (internal/gctune): with a small live heap Go collects
	// every 4 MiB of allocation; GOGC in the environment turns this off.
	if gc := gctune.Start(gctune.DefaultHeadroom); gc != nil {
		defer gc.Stop()
		svc.Logger().Debug("garbage collector headroom", "mib", gctune.DefaultHeadroom>>20)
	}
	return svc.Serve(ctx)
}

// buildVersion is the module version of this binary, for #Software in the
// access log and certgate_build_info; "dev" for a local build.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

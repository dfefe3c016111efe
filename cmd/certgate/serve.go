package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/gateway"
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
within timeouts.shutdown. A config error is reported with its file, line and
field path, and serve exits with status 2.`,
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

// runServe serves until ctx is done, then shuts down gracefully.
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
	snap, err := gateway.Build(cfg, logger) // logs load-time warnings itself
	if err != nil {
		return err
	}
	snap.Start(ctx)
	defer snap.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return cfg.FieldErr("listen", err)
	}
	srv := gateway.NewServer(snap, logger, gateway.Options{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	sites := make([]string, len(snap.Sites))
	for i, s := range snap.Sites {
		sites[i] = s.Name
	}
	logger.Info("certgate serving", "listen", ln.Addr().String(), "config", cfg.Path, "sites", sites, "default_site", snap.Default.Name)

	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", cfg.Timeouts.Shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Timeouts.Shutdown)
	defer cancel()
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

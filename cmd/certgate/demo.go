package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/demo"
	"github.com/certgate/certgate/internal/gateway"
)

func newDemoCmd() *cobra.Command {
	var (
		dir    string
		listen string
		check  bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate a PKI, start the gateway on 127.0.0.1 and show every client-certificate outcome",
		Long: `Generate a PKI (root, issuing CAs, a server certificate and one client
certificate per failure class), write a certgate.yaml for it, start the
gateway on 127.0.0.1 with the built-in echo upstream and a local CRL
distribution point, and print a ready-to-paste curl command per case with the
answer to expect (200, 403.7, 403.13, 403.16, 403.17).

With --check, run every case over real TLS, print expected vs got, and exit 1
on any mismatch.`,
		Example: `  certgate demo
  certgate demo --check
  certgate demo --dir ./demo-pki --listen 127.0.0.1:9443`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return runDemo(ctx, cmd.OutOrStdout(), dir, listen, check)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the generated PKI and config (default: a new temporary directory)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8443", "gateway address; a busy port falls back to a free one")
	cmd.Flags().BoolVar(&check, "check", false, "run every case, print expected vs got, exit 1 on a mismatch")
	return cmd
}

func runDemo(ctx context.Context, out io.Writer, dir, listen string, check bool) error {
	// keepDir: a temporary directory of --check is removed on exit unless a
	// case failed, when its event log is what the user reads next.
	tmpDir, keepDir := "", false
	if dir == "" {
		tmp, err := os.MkdirTemp("", "certgate-demo-")
		if err != nil {
			return err
		}
		dir = tmp
		if check {
			tmpDir = tmp
			defer func() {
				if !keepDir {
					os.RemoveAll(tmpDir)
				}
			}()
		}
	}
	ln, err := listenLoopback(listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	// The CRL distribution point must be known before the certificates that
	// name it are issued.
	cdpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: listen for the CRL distribution point: %w", err)
	}
	defer cdpLn.Close()
	deadAddr, err := unusedAddr()
	if err != nil {
		return err
	}
	// The application behind the "app" site: it shows what an upstream
	// receives from certgate.
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: listen for the demo application: %w", err)
	}
	app := &http.Server{Handler: demo.BackendHandler(), ReadHeaderTimeout: 5 * time.Second}
	go app.Serve(appLn)
	defer app.Close()
	env, err := demo.Generate(dir, demo.Options{Listen: ln.Addr().String(), CDPAddr: cdpLn.Addr().String(), DeadCDPAddr: deadAddr,
		UpstreamURL: "http://" + appLn.Addr().String()})
	if err != nil {
		return err
	}
	cdp := &http.Server{Handler: demo.CRLHandler(env.CRLDir), ReadHeaderTimeout: 5 * time.Second}
	go cdp.Serve(cdpLn)
	defer cdp.Close()

	cfg, err := config.Load(env.ConfigPath)
	if err != nil {
		return err
	}
	// With --check the event log goes to a file so the table stays readable.
	logDst := io.Writer(os.Stderr)
	logPath := filepath.Join(dir, "certgate.log")
	if check {
		f, err := os.Create(logPath)
		if err != nil {
			return err
		}
		defer f.Close()
		logDst = f
	}
	logger := slog.New(slog.NewTextHandler(logDst, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// The same wiring as `certgate serve`, on the listener chosen above.
	svc, err := gateway.NewService(cfg, gateway.ServiceOptions{Logger: logger, Version: buildVersion(), Listener: ln})
	if err != nil {
		return err
	}
	sctx, stopService := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- svc.Serve(sctx) }()
	defer func() {
		stopService()
		<-served
	}()

	addr := ln.Addr().String()
	fmt.Fprintf(out, "certgate demo: PKI and config in %s\n", dir)
	fmt.Fprintf(out, "gateway: https://localhost:%s (config %s), CRL distribution point: http://%s/\n\n", portOnly(addr), env.ConfigPath, env.CDPAddr)
	if check {
		results := env.Check(ctx, addr)
		bad := demo.WriteTable(out, results)
		writeUpstreamReceived(out, results)
		// Name the event log only where it will still be: a temporary
		// directory is removed on exit when every case passed.
		where := "event log: " + logPath
		if tmpDir != "" && bad == 0 {
			where = "event log removed with the temporary directory; use --dir DIR to keep it"
		}
		keepDir = bad > 0
		fmt.Fprintf(out, "\n%d cases, %d passed, %d failed (%s)\n", len(results), len(results)-bad, bad, where)
		if bad > 0 {
			return &exitError{code: 1, err: fmt.Errorf("demo: %d case(s) did not get the expected answer", bad)}
		}
		return nil
	}
	writeUpstreamReceived(out, env.Check(ctx, addr, demo.SpoofCase()))
	for _, c := range env.CurlCommands(addr) {
		fmt.Fprintln(out, c)
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "Browsers: import %s (password %q) and trust %s.\n", filepath.Join(dir, "clients", "alice.p12"), demo.P12Password, env.RootPEM)
	fmt.Fprintln(out, "Serving until Ctrl-C. The event log below explains every rejection.")
	select {
	case <-ctx.Done():
		return nil
	case err := <-served:
		served <- err // for the deferred stop
		return err
	}
}

// listenLoopback listens on addr, or on a free port of the same host when
// addr is taken, so that `certgate demo` works next to another instance.
func listenLoopback(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil {
		return nil, fmt.Errorf("demo: --listen %q: %w", addr, splitErr)
	}
	ln, err2 := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err2 != nil {
		return nil, fmt.Errorf("demo: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// unusedAddr returns a loopback address where nothing listens: the
// unreachable CRL distribution point.
func unusedAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

func portOnly(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return p
}

// writeUpstreamReceived shows the identity headers the application behind
// certgate received, for the cases that went through the "app" site.
func writeUpstreamReceived(out io.Writer, results []demo.Result) {
	for _, r := range results {
		if r.Received == nil {
			continue
		}
		fmt.Fprintf(out, "\nWhat the application behind certgate received for %q (the client also sent forged X-Remote-User, X-Remote-Groups and Client-Cert headers):\n", r.Case.Client)
		names := make([]string, 0, len(r.Received))
		for name := range r.Received {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			for _, v := range r.Received[name] {
				if len(v) > 72 {
					v = v[:69] + "..."
				}
				fmt.Fprintf(out, "  %s: %s\n", name, v)
			}
		}
	}
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/doctor"
	"github.com/certgate/certgate/internal/gateway"
	"github.com/certgate/certgate/internal/revocation"
)

func newCheckCmd() *cobra.Command {
	var (
		configPath     string
		asJSON, strict bool
		noLint         bool
	)
	cmd := &cobra.Command{
		Use:   "check -c certgate.yaml",
		Short: "Validate a config without serving it, and show each site's issuer list",
		Long: `Check loads the config exactly as serve and reload do (YAML, defaults, validation,
server certificates and keys, trust stores, issuer lists, CRL files, mapping) without
listening, then prints for each site the effective issuer list sent to clients:
how many CAs, how many bytes, and which CAs were dropped to fit max_bytes.
It then lints each site's trust store (see certgate lint).

Exit codes: 0 the config would serve (warnings and lint findings are printed);
1 with --strict when lint reports an error; 2 the config would not serve, with every
problem named by file, line and field.`,
		Example: `  certgate check -c /etc/certgate/certgate.yaml
  certgate check -c certgate.yaml --json
  certgate check -c certgate.yaml --strict    # CI: fail on lint errors too`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCheck(cmd.OutOrStdout(), configPath, asJSON, strict, noLint)
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "certgate.yaml", "config file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit 1 when lint reports an error")
	cmd.Flags().BoolVar(&noLint, "no-lint", false, "skip linting the trust stores")
	return cmd
}

func runCheck(out io.Writer, configPath string, asJSON, strict, noLint bool) error {
	cfg, err := config.LoadPartial(configPath)
	if err != nil {
		if cfg != nil {
			// The files the config names are checked too, so that
			// one run lists every problem.
			err = errors.Join(err, gateway.CheckFiles(cfg))
		}
		return err
	}
	// Build logs its findings; check reports them in the output instead.
	snap, err := gateway.Build(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer snap.Close()
	now := time.Now()
	report := gateway.Check(snap, now)
	var lint []*doctor.LintReport
	if !noLint {
		// Lint reads the CRLs the build loaded (each site's revocation
		// engine) instead of parsing them again.
		engines := func(name string) *revocation.Engine {
			if s := snap.Site(name); s != nil {
				return s.Revocation
			}
			return nil
		}
		for i := range cfg.Sites {
			// A site that never asks for a certificate has no trust
			// store worth linting.
			name := cfg.Sites[i].Name
			if s := snap.Site(name); s != nil && !s.RequestsCert {
				continue
			}
			r, err := doctor.LintSites(cfg, name, now, engines)
			if err != nil {
				return err
			}
			lint = append(lint, r...)
		}
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			*gateway.CheckReport
			Lint []*doctor.LintReport `json:"lint,omitempty"`
		}{report, lint}); err != nil {
			return err
		}
	} else {
		if err := report.WriteText(out); err != nil {
			return err
		}
		for _, r := range lint {
			fmt.Fprintln(out)
			if err := r.WriteText(out); err != nil {
				return err
			}
		}
	}
	lintErrors := 0
	for _, r := range lint {
		lintErrors += r.Errors()
	}
	if strict && lintErrors > 0 {
		return &exitError{code: 1, err: fmt.Errorf("check %s: lint reported %d error(s)", cfg.Path, lintErrors)}
	}
	return nil
}

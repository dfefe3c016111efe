package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/mapping/report"
)

func newMapCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "map",
		Short: "Show how a site maps client certificates to users, and test a certificate",
		Long: `Map explains a site's certificate-to-user mapping (the mapping: block):
"map test" shows which rule maps a certificate and what the gateway answers,
"map list" prints the effective rules in evaluation order.

Rules are evaluated as the gateway does: one_to_one (exact SHA-256
fingerprint), then many_to_one in order (first match wins, a deny rule stops
with 403.12), then upn (the certificate's UPN, optionally its email).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newMapTestCmd(), newMapListCmd())
	return cmd
}

func newMapTestCmd() *cobra.Command {
	var (
		cfgPath, site, at string
		asJSON            bool
	)
	cmd := &cobra.Command{
		Use:   "test -c certgate.yaml [--site NAME] CERT.pem",
		Short: "Map one certificate: user, groups, deciding rule and the gateway's answer",
		Long: `Test verifies CERT.pem (PEM or DER; the leaf first, optionally followed by
the intermediates the client sends) with the site's trust roots, runs the
site's mapping rules on the verified chain and prints the user, the groups,
the rule that decided, every rule considered and why, and the answer the
gateway gives (200, 403.12 mapper denied, or the verification failure), plus
403.100 for locations whose allow_users / allow_groups exclude the user.
Revocation is checked by the site's engine from its local CRLs and disk
cache only: map test never uses the network (certgate verify --urlfetch
does).

--site may be left out when the config has one site.

Exit codes: 0 mapped to a user and allowed, 1 denied, unmapped or not
verified, 2 usage or unreadable input.`,
		Example: `  certgate map test -c certgate.yaml --site intranet alice.pem
  certgate map test -c certgate.yaml --site intranet --json alice.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfgPath == "" {
				return errors.New("map test: -c certgate.yaml is required")
			}
			when, err := parseAt(at)
			if err != nil {
				return err
			}
			cfg, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			t, err := report.RunTest(cmd.Context(), cfg, site, args[0], when)
			if err != nil {
				return err
			}
			if asJSON {
				err = writeJSON(cmd.OutOrStdout(), t)
			} else {
				err = t.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if !t.OK() {
				return findings("certificate is %s (%s)", outcomeWord(t), t.Decision.Status)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "certgate.yaml")
	cmd.Flags().StringVar(&site, "site", "", "site name (default: the only site)")
	cmd.Flags().StringVar(&at, "at", "", "verify at this time (RFC 3339 or 2006-01-02) instead of now")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func outcomeWord(t *report.Test) string {
	switch {
	case !t.Verification.OK:
		return "not verified"
	case t.Result.Denied:
		return "denied by " + t.Result.Rule
	case !t.Result.Mapped():
		return "unmapped"
	}
	return "refused"
}

func newMapListCmd() *cobra.Command {
	var (
		cfgPath, site string
		asJSON        bool
	)
	cmd := &cobra.Command{
		Use:   "list -c certgate.yaml [--site NAME]",
		Short: "Print a site's effective mapping rules in evaluation order",
		Long: `List prints the mapping rules of a site as the gateway evaluates them:
criteria (all must hold), the user or template and groups, deny rules, UPN
mapping, and the locations with allow_users / allow_groups.

Exit codes: 0 listed, 2 usage or invalid config.`,
		Example: `  certgate map list -c certgate.yaml --site intranet
  certgate map list -c certgate.yaml --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" {
				return errors.New("map list: -c certgate.yaml is required")
			}
			cfg, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			l, err := report.RunList(cfg, site)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), l)
			}
			return l.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "certgate.yaml")
	cmd.Flags().StringVar(&site, "site", "", "site name (default: the only site)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

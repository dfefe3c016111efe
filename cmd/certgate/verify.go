package main

import (
	"errors"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/doctor"
)

func newVerifyCmd() *cobra.Command {
	var (
		o                   doctor.VerifyOptions
		crlAlias            []string
		at, cfgPath, purpos string
		asJSON              bool
		timeout             time.Duration
	)
	var progress bool
	cmd := &cobra.Command{
		Use:   "verify CERT [--roots F]... [--intermediates F]... [--crl F]... [--urlfetch] | -c certgate.yaml --site NAME",
		Short: "Verify a client certificate with the gateway's engine and say what the gateway would answer",
		Long: `Verify is the certutil -verify -urlfetch of certgate. CERT is a PEM or DER
file (the leaf first, then the intermediates the client presents) or a PKCS#12
file (.p12/.pfx, with --password) as browsers and Windows export it. It builds
the chain with the gateway's verification engine and prints, first line
alone, the verdict (200, or the sub-status such as 403.13), then the Win32
code, the failing element and the reason, every chain element (subject,
issuer, serial, validity, key, KU, EKU, SHA-256, where it came from), every
CDP, delta CDP, OCSP and AIA caIssuers URL with what was fetched from it and
how long it took, the revocation status of each element, and warnings.

Trust is explicit (--roots, --intermediates, --crl, --purpose, --peer-name,
the RFC 5280 6.1.1 policy inputs --policy, --require-explicit-policy,
--inhibit-policy-mapping and --inhibit-any-policy, and --max-depth) or a
site's (-c certgate.yaml --site NAME: the verifier the gateway builds for
the site, its issuer list, revocation settings, policy inputs and mapping;
the server certificate and key are not read).

The network is used only with --urlfetch: missing intermediates are then
fetched from AIA caIssuers URLs (http/https, --timeout, size limit; DER, PEM
or PKCS#7) and revocation defaults to online. Without it revocation is
cache-only (--crl files; a site's local CRLs and disk cache). --revocation
online|cache-only|off overrides either default.

Exit codes: 0 accepted (200), 1 rejected, 2 usage or unreadable input.`,
		Example: `  certgate verify alice.pem --roots root.pem --intermediates issuing.pem --crl issuing.crl
  certgate verify alice.pem --roots root.pem --urlfetch --at 2030-06-01T00:00:00Z
  certgate verify alice.pfx --password secret --roots root.pem
  certgate verify ee.pem --roots ta.pem --intermediates ca.pem --crl ca.crl --policy 2.16.840.1.101.3.2.1.48.1 --require-explicit-policy
  certgate verify server.pem --roots root.pem --purpose server --peer-name www.example.test --revocation off
  certgate verify alice.pem -c /etc/certgate/certgate.yaml --site intranet --urlfetch --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			when, err := parseAt(at)
			if err != nil {
				return err
			}
			o.CertFile, o.At, o.Timeout = args[0], when, timeout
			o.CRLs = append(o.CRLs, crlAlias...)
			if cmd.Flags().Changed("purpose") {
				o.Purpose = purpos
			}
			if cfgPath != "" {
				if o.Config, err = config.Load(cfgPath); err != nil {
					return err
				}
			} else if o.Site != "" {
				return errors.New("verify: --site needs -c certgate.yaml")
			}
			// One line per fetch on stderr: on a terminal by default (a
			// slow CDP otherwise looks like a hang), or with --progress.
			if progress || (!cmd.Flags().Changed("progress") && isTerminal(os.Stderr)) {
				o.Progress = cmd.ErrOrStderr()
			}
			r, err := doctor.Verify(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				err = writeJSON(cmd.OutOrStdout(), r)
			} else {
				err = r.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if !r.Accepted {
				return findings("verify %s: %s", args[0], r.Verdict)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Roots, "roots", nil, "trusted roots: PEM/DER file or directory (repeatable)")
	f.StringArrayVar(&o.Intermediates, "intermediates", nil, "intermediates the server holds (trust.intermediates): PEM/DER file or directory (repeatable)")
	f.StringArrayVar(&o.CRLs, "crl", nil, "CRL file or directory, PEM or DER (repeatable)")
	f.StringArrayVar(&crlAlias, "crls", nil, "same as --crl")
	f.StringVar(&at, "at", "", "verify at this time (RFC 3339 or YYYY-MM-DD; default now)")
	f.BoolVar(&o.URLFetch, "urlfetch", false, "use the network: fetch missing intermediates (AIA) and check revocation online")
	f.StringVar(&purpos, "purpose", doctor.PurposeClient, "client (EKU clientAuth) or server (EKU serverAuth, --peer-name)")
	f.StringVar(&o.PeerName, "peer-name", "", "with --purpose server: the host name the leaf must be valid for")
	f.StringVar(&o.Profile, "profile", "", "standard (default: RFC 5280 profile nits are warnings) or strict (they are 403.16), as client_auth.profile")
	f.StringArrayVar(&o.Policies, "policy", nil, "RFC 5280 user-initial-policy-set: a policy OID or anyPolicy (repeatable; default anyPolicy)")
	f.BoolVar(&o.RequireExplicitPolicy, "require-explicit-policy", false, "RFC 5280 initial-explicit-policy: the chain must be valid for one of the --policy OIDs")
	f.BoolVar(&o.InhibitPolicyMapping, "inhibit-policy-mapping", false, "RFC 5280 initial-policy-mapping-inhibit")
	f.BoolVar(&o.InhibitAnyPolicy, "inhibit-any-policy", false, "RFC 5280 initial-any-policy-inhibit")
	f.IntVar(&o.MaxDepth, "max-depth", 0, "most certificates below the trust anchor, leaf included (default 10)")
	f.StringVar(&o.Revocation, "revocation", "", "online, cache-only or off (default: cache-only, online with --urlfetch, or the site's)")
	f.StringVarP(&cfgPath, "config", "c", "", "use the trust, issuer list, revocation and mapping of a site of this certgate.yaml")
	f.StringVar(&o.Site, "site", "", "with -c: the site (default: the only site)")
	f.DurationVar(&timeout, "timeout", 0, "limit for each fetch (default 5s, or the site's revocation.timeout)")
	f.StringVar(&o.Password, "password", "", "password of a .p12/.pfx CERT")
	f.BoolVar(&progress, "progress", false, "print each network fetch to stderr as it starts and ends (default: when stderr is a terminal)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// isTerminal reports whether f is a character device (a terminal), without
// a dependency for it.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

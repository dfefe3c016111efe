package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certgate/certgate/internal/doctor"
)

func newSelectCmd() *cobra.Command {
	var (
		srv               serverFlags
		from, namesFile   string
		stores            []string
		password, browser string
		at                string
		asJSON            bool
	)
	cmd := &cobra.Command{
		Use:   "select (--from URL | --ca-names FILE) --store PATH...",
		Short: "Simulate which client certificates a browser would offer, and why not",
		Long: `Select simulates a browser's client-certificate selection (Chromium, Firefox,
legacy IE; rules in docs/doctor.md) over a store: PEM certificate+key files
(one file with both, or cert.pem next to cert.key), PKCS#12 files (.p12/.pfx,
--password) and directories of them. The acceptable CA names come from a
live server (--from URL, probed like certgate probe) or from a file
(--ca-names: CA certificates, or the output of certgate probe --json).

For every certificate it prints whether it would be offered and every
reason it would not: no private key; expired or not yet valid; Key Usage
without digitalSignature; EKU without clientAuth; no chain through the
store's CA certificates to an acceptable CA name; no signature scheme the
server accepts.

Exit codes: 0 at least one certificate offered, 1 none offered,
2 usage or unreadable input.`,
		Example: `  certgate select --from https://intranet.example.test/ --store alice.p12 --password secret
  certgate probe https://intranet.example.test/ --json > names.json
  certgate select --ca-names names.json --store ~/certs/ --browser firefox`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (from == "") == (namesFile == "") {
				return errors.New("select: give exactly one of --from URL or --ca-names FILE")
			}
			if len(stores) == 0 {
				return errors.New("select: --store PATH is required")
			}
			if !validBrowser(browser) {
				return fmt.Errorf("select: --browser %q: want one of %s", browser, strings.Join(doctor.Browsers, ", "))
			}
			when, err := parseAt(at)
			if err != nil {
				return err
			}
			store, err := doctor.LoadStore(stores, password)
			if err != nil {
				return err
			}
			var opts doctor.SelectOptions
			if from != "" {
				po, err := srv.options(from)
				if err != nil {
					return err
				}
				r, err := doctor.Probe(cmd.Context(), po)
				if err != nil {
					return err
				}
				if !r.CertificateRequested {
					return fmt.Errorf("select --from %s: the server requested no client certificate, so no browser offers one", from)
				}
				opts = r.SelectOptions(browser, when)
			} else {
				data, err := os.ReadFile(namesFile)
				if err != nil {
					return fmt.Errorf("read ca names: %w", err)
				}
				names, err := doctor.ParseCANames(data, namesFile)
				if err != nil {
					return err
				}
				opts = doctor.SelectOptions{CANames: names, Browser: browser, At: when}
			}
			rep, err := doctor.Select(store, opts)
			if err != nil {
				return err
			}
			rep.Source = from + namesFile
			if asJSON {
				err = writeJSON(cmd.OutOrStdout(), rep)
			} else {
				err = rep.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if rep.Offered == 0 {
				return findings("select: no certificate would be offered")
			}
			return nil
		},
	}
	srv.register(cmd)
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "probe this https URL for the acceptable CA names")
	f.StringVar(&namesFile, "ca-names", "", "file of acceptable CA names: CA certificates (PEM/DER) or certgate probe --json output")
	f.StringArrayVar(&stores, "store", nil, "client store: PEM/DER/PKCS#12 file or directory (repeatable)")
	f.StringVar(&password, "password", "", "password of PKCS#12 files in the store")
	f.StringVar(&browser, "browser", doctor.BrowserChromium, "selection rules: chromium, firefox or ie")
	f.StringVar(&at, "at", "", "simulate at this time (RFC 3339 or YYYY-MM-DD; default now)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func validBrowser(b string) bool {
	for _, x := range doctor.Browsers {
		if x == b {
			return true
		}
	}
	return false
}

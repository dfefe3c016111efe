package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/doctor"
)

func newLintCmd() *cobra.Command {
	var (
		roots, inters, issuers, crls []string
		maxBytes, warnBytes          int
		at                           string
		asJSON, noList               bool
		cfgPath, site, password      string
	)
	cmd := &cobra.Command{
		Use:   "lint [ROOTS...] [--roots F] [--intermediates F] [--crl F] | -c certgate.yaml",
		Short: "Find trust-store, issuer-list and CRL problems that make client certificates fail",
		Long: `Lint checks a client-certificate trust configuration: the files given
(positional arguments are trusted roots, like --roots), or every site of a
config with -c. It reports, with the certificate's subject and SHA-256:

  not-a-ca, root-not-self-signed (KB 2802568), ca-expired, ca-not-yet-valid,
  ca-eku-excludes-clientauth, weak-signature (SHA-1/MD5), weak-rsa-key (<2048),
  intermediate-chains-to-no-root, ca-revoked (by a given CRL: 403.13),
  duplicate-subject, issuer-list-schannel-truncation (event 36885),
  issuer-list-over-warn-bytes, issuer-list-truncated (max_bytes),
  issuer-list-names-untrusted-ca, root-not-in-issuer-list (403.7),
  crl-expired, crl-expiring (within 7 days), crl-issuer-unknown, crl-bad-signature,
  weak-directory-mapping, directory-without-strong-methods (KB5014754)

Whether a chain verifies is decided by the gateway's own verifier and
revocation engine, so lint and the gateway give the same answer.

Exit codes: 0 no findings, 1 findings, 2 usage or unreadable input.`,
		Example: `  certgate lint roots.pem --intermediates intermediates.pem --crl ca.crl
  certgate lint --roots /etc/certgate/roots/ --max-bytes 12288
  certgate lint -c certgate.yaml --site intranet --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			when, err := parseAt(at)
			if err != nil {
				return err
			}
			var reports []*doctor.LintReport
			if cfgPath != "" {
				if len(args)+len(roots)+len(inters)+len(issuers)+len(crls) > 0 {
					return errors.New("lint: give either -c certgate.yaml or files, not both")
				}
				cfg, err := config.Load(cfgPath)
				if err != nil {
					return err
				}
				if reports, err = doctor.LintConfig(cfg, site, when); err != nil {
					return err
				}
			} else {
				if site != "" {
					return errors.New("lint: --site needs -c certgate.yaml")
				}
				in := doctor.LintInput{At: when, MaxBytes: maxBytes, WarnBytes: warnBytes, SendIssuerList: !noList}
				rootPaths := append(append([]string(nil), args...), roots...)
				if len(rootPaths)+len(inters)+len(issuers)+len(crls) == 0 {
					return errors.New("lint: nothing to lint: give trust-store files or directories, or -c certgate.yaml")
				}
				if in.Roots, err = loadOptional(password, rootPaths); err != nil {
					return err
				}
				if in.Intermediates, err = loadOptional(password, inters); err != nil {
					return err
				}
				if len(issuers) > 0 {
					if in.IssuerList, err = doctor.LoadCertsWithPFX(password, issuers...); err != nil {
						return err
					}
				}
				if len(crls) > 0 {
					issuers := append(append([]doctor.Cert(nil), in.Roots...), in.Intermediates...)
					crlList, engine, err := doctor.LoadCRLs(issuers, crls...)
					if err != nil {
						return err
					}
					in.CRLs, in.Revocation = crlList, engine
				}
				reports = []*doctor.LintReport{doctor.Lint(in)}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				err = writeJSON(out, reports)
			} else {
				for i, r := range reports {
					if i > 0 {
						fmt.Fprintln(out)
					}
					if err = r.WriteText(out); err != nil {
						break
					}
				}
			}
			if err != nil {
				return err
			}
			n := 0
			for _, r := range reports {
				n += len(r.Findings)
			}
			if n > 0 {
				return findings("lint: %d finding(s)", n)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&roots, "roots", nil, "trusted roots: PEM/DER file or directory (repeatable)")
	f.StringArrayVar(&inters, "intermediates", nil, "trusted intermediates: PEM/DER file or directory (repeatable)")
	f.StringArrayVar(&issuers, "issuer-list", nil, "CAs sent in the CertificateRequest, if not the roots (issuer_list.source; repeatable)")
	f.StringArrayVar(&crls, "crl", nil, "CRL file or directory, PEM or DER (repeatable)")
	f.IntVar(&maxBytes, "max-bytes", 0, fmt.Sprintf("issuer_list.max_bytes (default %d)", config.MaxIssuerListBytes))
	f.IntVar(&warnBytes, "warn-bytes", 0, fmt.Sprintf("issuer_list.warn_bytes (default %d)", config.DefaultIssuerListWarnBytes))
	f.BoolVar(&noList, "no-issuer-list", false, "the server sends no CA names (issuer_list.send: false): skip size checks")
	f.StringVar(&at, "at", "", "check validity at this time (RFC 3339 or YYYY-MM-DD; default now)")
	f.BoolVar(&asJSON, "json", false, "print JSON (an array with one report per site)")
	f.StringVarP(&cfgPath, "config", "c", "", "lint every site of this certgate.yaml")
	f.StringVar(&site, "site", "", "with -c: lint only this site")
	f.StringVar(&password, "password", "", "password of .p12/.pfx files (a Windows certificate store export)")
	return cmd
}

func loadOptional(password string, paths []string) ([]doctor.Cert, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	return doctor.LoadCertsWithPFX(password, paths...)
}

// parseAt parses --at: RFC 3339, or a date meaning midnight UTC. Empty
// means now. Shared by the doctor commands.
func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("parse --at %q: want RFC 3339 (2030-01-02T15:04:05Z) or a date (2030-01-02)", s)
}

package main

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/certgate/certgate/internal/directory"
	"github.com/certgate/certgate/internal/pki"
)

func newPKICmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pki",
		Short: "Development CA: create roots, intermediates, server and client certificates, CRLs",
		Long: `pki is a small development certificate authority. Everything lives in one
directory (--dir) as NAME.pem (certificate), NAME.key (PKCS#8 key, mode 0600),
NAME-chain.pem (certificate + intermediates, no root) and, on request,
NAME.p12 (PKCS#12 for browsers). CAs are referred to by NAME with --ca.

Keys are unencrypted: this is for tests and demos, not for production.`,
		Example: `  certgate pki init --dir pki
  certgate pki issue intermediate --dir pki --ca root --name sub1 --cn "Sub CA 1"
  certgate pki issue server --dir pki --ca sub1 --name server --host localhost --host 127.0.0.1
  certgate pki issue client --dir pki --ca sub1 --name alice --cn alice --upn alice@corp.test --p12 --password test
  certgate pki crl --dir pki --ca sub1 --revoke alice --out pki/sub1.crl`,
	}
	issue := &cobra.Command{
		Use:   "issue",
		Short: "Issue an intermediate CA, a server or a client certificate",
	}
	issue.AddCommand(newPKIIntermediateCmd(), newPKIServerCmd(), newPKIClientCmd())
	cmd.AddCommand(newPKIInitCmd(), issue, newPKICRLCmd(), newPKITicketKeyCmd())
	return cmd
}

// storeFlags are the flags every pki subcommand shares.
type storeFlags struct {
	dir   string
	force bool
}

func (f *storeFlags) add(fs *pflag.FlagSet, force bool) {
	fs.StringVar(&f.dir, "dir", "", "PKI directory (required)")
	if force {
		fs.BoolVar(&f.force, "force", false, "overwrite existing files")
	}
}

func (f *storeFlags) store() (pki.Store, error) {
	if f.dir == "" {
		return pki.Store{}, fmt.Errorf("flag --dir: required (the PKI directory)")
	}
	return pki.Store{Dir: f.dir, Force: f.force}, nil
}

// certFlags are the certificate-content flags shared by init and issue.
type certFlags struct {
	keyType       string
	org, ou, c    []string
	validity      pki.ValidityFlags
	ku, eku       string
	crl, deltaCRL []string
	ocsp, aia     []string
	serial        string
}

func (f *certFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.keyType, "key-type", string(pki.KeyECDSAP256), "key type: "+joinKeyTypes())
	fs.StringSliceVar(&f.org, "o", nil, "subject organization (repeatable)")
	fs.StringSliceVar(&f.ou, "ou", nil, "subject organizational unit (repeatable)")
	fs.StringSliceVar(&f.c, "country", nil, "subject country (repeatable)")
	fs.StringVar(&f.validity.NotBefore, "not-before", "", "start of validity, RFC 3339 (default: now-1h)")
	fs.StringVar(&f.validity.NotAfter, "not-after", "", "end of validity, RFC 3339 (default: 1 year, 10 years for CAs)")
	fs.IntVar(&f.validity.Days, "days", 0, "validity in days from --not-before or now (instead of --not-after)")
	fs.StringVar(&f.ku, "ku", "", "exact Key Usage, comma-separated (digitalSignature,keyEncipherment,...) or none to omit the extension")
	fs.StringVar(&f.eku, "eku", "", "exact Extended Key Usage, comma-separated (clientAuth,serverAuth,any,smartcardLogon, dotted OIDs) or none to omit the extension")
	fs.StringArrayVar(&f.crl, "crl-url", nil, "CRL distribution point URL (repeatable)")
	fs.StringArrayVar(&f.deltaCRL, "delta-crl-url", nil, "Freshest CRL (delta CRL) distribution point URL (repeatable)")
	fs.StringArrayVar(&f.ocsp, "ocsp-url", nil, "AIA OCSP responder URL (repeatable)")
	fs.StringArrayVar(&f.aia, "aia-url", nil, "AIA CA issuers URL (repeatable)")
	fs.StringVar(&f.serial, "serial", "", "serial number, decimal or 0x-hex (default: random 128-bit)")
}

func joinKeyTypes() string {
	s := make([]string, len(pki.KeyTypes))
	for i, k := range pki.KeyTypes {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func (f *certFlags) options(cn string) ([]pki.Option, error) {
	kt, err := pki.ParseKeyType(f.keyType)
	if err != nil {
		return nil, fmt.Errorf("flag --key-type: %w", err)
	}
	opts := []pki.Option{pki.WithKeyType(kt)}
	if len(f.org)+len(f.ou)+len(f.c) > 0 {
		opts = append(opts, pki.WithSubject(pkix.Name{CommonName: cn, Organization: f.org, OrganizationalUnit: f.ou, Country: f.c}))
	}
	v, err := f.validity.Option(time.Now())
	if err != nil {
		return nil, err
	}
	if v != nil {
		opts = append(opts, v)
	}
	if f.ku != "" {
		ku, err := pki.ParseKeyUsage(f.ku)
		if err != nil {
			return nil, fmt.Errorf("flag --ku: %w", err)
		}
		opts = append(opts, pki.WithKeyUsage(ku))
	}
	if f.eku != "" {
		ekus, unknown, err := pki.ParseExtKeyUsage(f.eku)
		if err != nil {
			return nil, fmt.Errorf("flag --eku: %w", err)
		}
		opts = append(opts, pki.WithExtKeyUsage(ekus...))
		if len(unknown) > 0 {
			opts = append(opts, pki.WithUnknownExtKeyUsage(unknown...))
		}
	}
	if f.serial != "" {
		n, err := pki.ParseSerial(f.serial)
		if err != nil {
			return nil, fmt.Errorf("flag --serial: %w", err)
		}
		opts = append(opts, pki.WithSerial(n))
	}
	return append(opts,
		pki.WithCRLDistributionPoints(f.crl...),
		pki.WithFreshestCRL(f.deltaCRL...),
		pki.WithOCSPServer(f.ocsp...),
		pki.WithIssuingCertificateURL(f.aia...),
	), nil
}

// leafFlags are the SAN and PKCS#12 flags of server and client certificates.
type leafFlags struct {
	dns, ip, email, upn, uri []string
	sid                      string
	p12, p12Root             bool
	password                 string
}

func (f *leafFlags) add(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.dns, "dns", nil, "DNS name SAN (repeatable)")
	fs.StringArrayVar(&f.ip, "ip", nil, "IP address SAN (repeatable)")
	fs.StringArrayVar(&f.email, "email", nil, "email (rfc822Name) SAN (repeatable)")
	fs.StringArrayVar(&f.upn, "upn", nil, "Microsoft UPN otherName SAN, e.g. alice@corp.example (repeatable)")
	fs.StringArrayVar(&f.uri, "uri", nil, "URI SAN, e.g. spiffe://example/alice (repeatable)")
	fs.StringVar(&f.sid, "sid", "", "account SID for the KB5014754 SID extension (1.3.6.1.4.1.311.25.2), e.g. S-1-5-21-1-2-3-1104: the strong mapping AD prefers")
	fs.BoolVar(&f.p12, "p12", false, "also write NAME.p12 (PKCS#12 with key and chain) for browsers")
	fs.StringVar(&f.password, "password", "", "PKCS#12 password (required with --p12)")
	fs.BoolVar(&f.p12Root, "p12-root", false, "include the root certificate in the PKCS#12 file")
}

func (f *leafFlags) options() ([]pki.Option, *pki.P12Options, error) {
	opts := []pki.Option{pki.WithDNS(f.dns...), pki.WithEmail(f.email...), pki.WithURI(f.uri...)}
	for _, s := range f.ip {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, nil, fmt.Errorf("flag --ip: %q is not an IP address", s)
		}
		opts = append(opts, pki.WithIP(ip))
	}
	for _, u := range f.upn {
		opts = append(opts, pki.WithUPN(u))
	}
	if f.sid != "" {
		if _, err := directory.ParseSID(f.sid); err != nil {
			return nil, nil, fmt.Errorf("flag --sid: %w", err)
		}
		opts = append(opts, pki.WithSID(f.sid))
	}
	if !f.p12 {
		if f.password != "" || f.p12Root {
			return nil, nil, fmt.Errorf("flags --password/--p12-root: only meaningful with --p12")
		}
		return opts, nil, nil
	}
	if f.password == "" {
		return nil, nil, fmt.Errorf("flag --password: required with --p12 (Windows and browsers refuse empty PKCS#12 passwords inconsistently)")
	}
	return opts, &pki.P12Options{Password: f.password, IncludeRoot: f.p12Root}, nil
}

func printWritten(w io.Writer, ws []pki.Written) {
	for _, x := range ws {
		fmt.Fprintf(w, "wrote %s: %s\n", x.Path, x.What)
	}
}

func newPKIInitCmd() *cobra.Command {
	var (
		sf   storeFlags
		cf   certFlags
		name string
		cn   string
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a root CA in --dir (NAME.pem, NAME.key)",
		Example: `  certgate pki init --dir pki
  certgate pki init --dir pki --name root2 --cn "Other Root" --key-type rsa-3072`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := sf.store()
			if err != nil {
				return err
			}
			opts, err := cf.options(cn)
			if err != nil {
				return err
			}
			_, w, err := st.Init(name, cn, opts...)
			printWritten(cmd.OutOrStdout(), w)
			return err
		},
	}
	sf.add(cmd.Flags(), true)
	cf.add(cmd.Flags())
	cmd.Flags().StringVar(&name, "name", "root", "base name of the files")
	cmd.Flags().StringVar(&cn, "cn", "certgate Dev Root", "subject common name")
	return cmd
}

func newPKIIntermediateCmd() *cobra.Command {
	var (
		sf       storeFlags
		cf       certFlags
		ca, name string
		cn       string
		pathLen  int
	)
	cmd := &cobra.Command{
		Use:     "intermediate",
		Short:   "Issue an intermediate CA from --ca (any depth)",
		Example: `  certgate pki issue intermediate --dir pki --ca root --name sub1 --cn "Sub CA 1" --path-len 0`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := sf.store()
			if err != nil {
				return err
			}
			if cn == "" {
				cn = name
			}
			opts, err := cf.options(cn)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("path-len") {
				opts = append(opts, pki.WithMaxPathLen(pathLen))
			}
			_, w, err := st.IssueIntermediate(ca, name, cn, opts...)
			printWritten(cmd.OutOrStdout(), w)
			return err
		},
	}
	sf.add(cmd.Flags(), true)
	cf.add(cmd.Flags())
	cmd.Flags().StringVar(&ca, "ca", "root", "name of the issuing CA in --dir")
	cmd.Flags().StringVar(&name, "name", "", "base name of the files (required)")
	cmd.Flags().StringVar(&cn, "cn", "", "subject common name (default: --name)")
	cmd.Flags().IntVar(&pathLen, "path-len", -1, "basicConstraints pathLenConstraint (-1: none)")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newPKIServerCmd() *cobra.Command {
	var (
		sf       storeFlags
		cf       certFlags
		lf       leafFlags
		ca, name string
		cn       string
		hosts    []string
	)
	cmd := &cobra.Command{
		Use:     "server",
		Short:   "Issue a TLS server certificate (EKU serverAuth) from --ca",
		Example: `  certgate pki issue server --dir pki --ca sub1 --name server --host localhost --host 127.0.0.1`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := sf.store()
			if err != nil {
				return err
			}
			if len(hosts) == 0 && len(lf.dns) == 0 && len(lf.ip) == 0 {
				return fmt.Errorf("flag --host: at least one host name or IP is required")
			}
			if cn == "" {
				cn = name
				if len(hosts) > 0 {
					cn = hosts[0]
				}
			}
			opts, err := cf.options(cn)
			if err != nil {
				return err
			}
			lopts, p12, err := lf.options()
			if err != nil {
				return err
			}
			_, w, err := st.IssueServer(ca, name, cn, hosts, p12, append(opts, lopts...)...)
			printWritten(cmd.OutOrStdout(), w)
			return err
		},
	}
	sf.add(cmd.Flags(), true)
	cf.add(cmd.Flags())
	lf.add(cmd.Flags())
	cmd.Flags().StringVar(&ca, "ca", "root", "name of the issuing CA in --dir")
	cmd.Flags().StringVar(&name, "name", "server", "base name of the files")
	cmd.Flags().StringVar(&cn, "cn", "", "subject common name (default: the first --host)")
	cmd.Flags().StringArrayVar(&hosts, "host", nil, "DNS name or IP address (repeatable; IPs become IP SANs)")
	return cmd
}

func newPKIClientCmd() *cobra.Command {
	var (
		sf       storeFlags
		cf       certFlags
		lf       leafFlags
		ca, name string
		cn       string
	)
	cmd := &cobra.Command{
		Use:   "client",
		Short: "Issue a client certificate (KU digitalSignature, EKU clientAuth) from --ca",
		Example: `  certgate pki issue client --dir pki --ca sub1 --name alice --cn alice --email alice@example.test
  certgate pki issue client --dir pki --ca sub1 --name bob --upn bob@corp.test --p12 --password test
  certgate pki issue client --dir pki --ca sub1 --name old --not-after 2020-01-01T00:00:00Z --not-before 2019-01-01T00:00:00Z
  certgate pki issue client --dir pki --ca sub1 --name srvonly --eku serverAuth --ku keyEncipherment`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := sf.store()
			if err != nil {
				return err
			}
			if cn == "" {
				cn = name
			}
			opts, err := cf.options(cn)
			if err != nil {
				return err
			}
			lopts, p12, err := lf.options()
			if err != nil {
				return err
			}
			_, w, err := st.IssueClient(ca, name, cn, p12, append(opts, lopts...)...)
			printWritten(cmd.OutOrStdout(), w)
			return err
		},
	}
	sf.add(cmd.Flags(), true)
	cf.add(cmd.Flags())
	lf.add(cmd.Flags())
	cmd.Flags().StringVar(&ca, "ca", "root", "name of the issuing CA in --dir")
	cmd.Flags().StringVar(&name, "name", "", "base name of the files (required)")
	cmd.Flags().StringVar(&cn, "cn", "", "subject common name (default: --name)")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newPKICRLCmd() *cobra.Command {
	var (
		sf         storeFlags
		req        pki.CRLRequest
		reason     string
		nextUpdate time.Duration
		deltaBase  int64
	)
	cmd := &cobra.Command{
		Use:   "crl",
		Short: "Issue a CRL from --ca revoking certificates by file, name or serial",
		Long: `crl writes a CRL signed by --ca. Each --revoke is a PEM certificate file,
the NAME of a certificate in --dir, or a serial number (decimal, 0x-hex or
colon-separated hex). The CRL number increases on every run (recorded in
DIR/CA.crlnumber) unless --number is given. --out ending in .pem writes PEM,
anything else DER (what CRL distribution points serve).`,
		Example: `  certgate pki crl --dir pki --ca sub1 --revoke alice --revoke 0x1f2e --out pki/sub1.crl
  certgate pki crl --dir pki --ca sub1 --next-update -1h --out pki/stale.crl      # already expired
  certgate pki crl --dir pki --ca sub1 --delta-base 4 --revoke bob --out pki/sub1-delta.crl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := sf.store()
			if err != nil {
				return err
			}
			if req.Reason, err = pki.ParseReason(reason); err != nil {
				return fmt.Errorf("flag --reason: %w", err)
			}
			if cmd.Flags().Changed("next-update") {
				now := time.Now().Truncate(time.Second)
				req.Options.NextUpdate = now.Add(nextUpdate)
				req.Options.ThisUpdate = now.Add(-time.Hour)
				if !req.Options.ThisUpdate.Before(req.Options.NextUpdate) {
					// A stale CRL for tests: keep thisUpdate before nextUpdate.
					req.Options.ThisUpdate = req.Options.NextUpdate.Add(-24 * time.Hour)
				}
			}
			if cmd.Flags().Changed("delta-base") {
				req.Options.Delta, req.Options.BaseNumber = true, deltaBase
			}
			if req.Options.Number < 0 {
				return fmt.Errorf("flag --number: %d is negative", req.Options.Number)
			}
			_, w, err := st.CRL(req)
			printWritten(cmd.OutOrStdout(), w)
			return err
		},
	}
	sf.add(cmd.Flags(), false) // CRLs are always rewritten
	cmd.Flags().StringVar(&req.CA, "ca", "root", "name of the issuing CA in --dir")
	cmd.Flags().StringArrayVar(&req.Revoke, "revoke", nil, "certificate file, NAME in --dir, or serial to revoke (repeatable)")
	cmd.Flags().StringVar(&reason, "reason", "unspecified", "reason code for every entry (keyCompromise, superseded, certificateHold...)")
	cmd.Flags().DurationVar(&nextUpdate, "next-update", 24*time.Hour, "nextUpdate relative to now (negative for an expired CRL)")
	cmd.Flags().Int64Var(&req.Options.Number, "number", 0, "CRL number (default: previous + 1)")
	cmd.Flags().Int64Var(&deltaBase, "delta-base", 0, "make a delta CRL for this base CRL number")
	cmd.Flags().StringVar(&req.Out, "out", "", "output file (default DIR/CA.crl)")
	return cmd
}

// ticketKeySize is nginx's long ssl_session_ticket_key size, which the
// gateway's session_tickets.keys also reads.
const ticketKeySize = 80

func newPKITicketKeyCmd() *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "ticket-key",
		Short: "Write a TLS session-ticket key file (80 random bytes) for session_tickets.keys",
		Long: `ticket-key writes 80 random bytes, readable by the owner only: a key file for
session_tickets.keys (the same format as nginx's ssl_session_ticket_key). Give
every instance the same files so that a client resumes its TLS session on any
of them. To rotate: write a new key, list it first and the previous one second,
reload every instance, and drop the old key after the ticket lifetime (7 days).`,
		Example: `  certgate pki ticket-key -o /etc/certgate/tickets/current.key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("flag -o: name the key file to write")
			}
			key := make([]byte, ticketKeySize)
			_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(out, flags, 0o600)
			if err != nil {
				if errors.Is(err, fs.ErrExist) {
					return fmt.Errorf("write ticket key: %s exists (use --force to replace it)", out)
				}
				return fmt.Errorf("write ticket key: %w", err)
			}
			if _, err := f.Write(key); err != nil {
				f.Close()
				return fmt.Errorf("write ticket key %s: %w", out, err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("write ticket key %s: %w", out, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes)\n", out, ticketKeySize)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "key file to write (mode 0600)")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing file")
	return cmd
}

package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/certgate/certgate/internal/doctor"
)

// serverFlags are the flags probe and select --from share to reach a server.
type serverFlags struct {
	serverName string
	connectTo  string
	caFile     string
	insecure   bool
	timeout    time.Duration
	tls12      bool
}

func (s *serverFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.serverName, "servername", "", "TLS server name (SNI) and name to verify (default: the URL's host)")
	f.StringVar(&s.connectTo, "connect-to", "", "dial HOST:PORT instead of the URL's host and port, like curl --connect-to (the URL's host stays the SNI and Host)")
	f.StringVar(&s.caFile, "ca", "", "PEM file of CAs that verify the server (default: system roots)")
	f.BoolVar(&s.insecure, "insecure", false, "do not verify the server certificate (CA names are shown either way)")
	f.DurationVar(&s.timeout, "timeout", doctor.DefaultProbeTimeout, "limit for each of dial, handshake and response")
	f.BoolVar(&s.tls12, "tls12", false, "offer at most TLS 1.2 (to see the TLS 1.2 CertificateRequest)")
}

func (s *serverFlags) options(url string) (doctor.ProbeOptions, error) {
	o := doctor.ProbeOptions{URL: url, ServerName: s.serverName, ConnectTo: s.connectTo, Insecure: s.insecure, Timeout: s.timeout}
	if s.tls12 {
		o.MaxVersion = tls.VersionTLS12
	}
	if s.caFile != "" {
		if s.insecure {
			return o, errors.New("probe: give --ca or --insecure, not both")
		}
		certs, err := doctor.LoadCerts(s.caFile)
		if err != nil {
			return o, err
		}
		o.RootCAs = x509.NewCertPool()
		for _, c := range certs {
			o.RootCAs.AddCert(c.Certificate)
		}
	}
	return o, nil
}

func newProbeCmd() *cobra.Command {
	var (
		srv                            serverFlags
		certFile, keyFile, p12, passwd string
		stores                         []string
		browser, at                    string
		asJSON, get                    bool
	)
	cmd := &cobra.Command{
		Use:   "probe URL",
		Short: "Show whether a server requests a client certificate and which CA names it accepts",
		Long: `Probe connects to URL like openssl s_client -prexit: it prints whether the
server requests a client certificate, the acceptable CA names in order, their
count and encoded size against Schannel's 12288 bytes and the 16384-byte
warning limit, the TLS version and cipher. Both TLS 1.3 and TLS 1.2 carry the
names (certificate_authorities); use --tls12 to see the TLS 1.2 request.

With a client certificate (--cert/--key or --p12) it sends GET on the URL's
path and reports the status and, from certgate's problem+json or an IIS
error page, the sub-status. The certificate is sent only to a server that
verifies (--ca FILE) or with --insecure. --store runs select against the
names the server sent.

Exit codes: 0 answered (2xx, or no request sent), 1 rejected, untrusted
server or failed handshake, 2 usage error or no connection.`,
		Example: `  certgate probe https://intranet.example.test/
  certgate probe https://intranet.example.test:8443/app --connect-to 127.0.0.1:8443 --ca server-ca.pem --p12 alice.p12 --password secret
  certgate probe https://127.0.0.1:8443/app --servername intranet.example.test --ca server-ca.pem --p12 alice.p12 --password secret
  certgate probe https://127.0.0.1:8443/ --insecure --store ~/certs/ --password secret`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := srv.options(args[0])
			if err != nil {
				return err
			}
			o.Get = get
			if o.ClientCert, err = doctor.LoadIdentity(certFile, keyFile, p12, passwd); err != nil {
				return err
			}
			var store *doctor.Store
			if len(stores) > 0 {
				if store, err = doctor.LoadStore(stores, passwd); err != nil {
					return err
				}
			}
			when, err := parseAt(at)
			if err != nil {
				return err
			}
			r, err := doctor.Probe(cmd.Context(), o)
			if err != nil {
				return err
			}
			if store != nil && r.CertificateRequested {
				if r.Select, err = doctor.Select(store, r.SelectOptions(browser, when)); err != nil {
					return err
				}
				r.Select.Source = args[0]
			}
			if asJSON {
				err = writeJSON(cmd.OutOrStdout(), r)
			} else {
				err = r.WriteText(cmd.OutOrStdout())
				if store != nil && !r.CertificateRequested {
					fmt.Fprintln(cmd.OutOrStdout(), "\n--store: the server requested no certificate, so a browser offers none.")
				}
			}
			if err != nil {
				return err
			}
			if r.Rejected() {
				return findings("probe %s: rejected or not trusted", args[0])
			}
			return nil
		},
	}
	srv.register(cmd)
	f := cmd.Flags()
	f.StringVar(&certFile, "cert", "", "client certificate PEM (with its intermediates)")
	f.StringVar(&keyFile, "key", "", "client key PEM (default: --cert with a .key extension)")
	f.StringVar(&p12, "p12", "", "client certificate and key as PKCS#12")
	f.StringVar(&passwd, "password", "", "password of --p12 and of PKCS#12 files in --store")
	f.StringArrayVar(&stores, "store", nil, "also simulate browser selection over this store (file or directory; repeatable)")
	f.StringVar(&browser, "browser", doctor.BrowserChromium, "with --store: chromium, firefox or ie")
	f.StringVar(&at, "at", "", "with --store: simulate at this time (RFC 3339 or YYYY-MM-DD; default now)")
	f.BoolVar(&get, "get", false, "send GET even without a client certificate")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

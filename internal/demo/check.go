package demo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/certgate/certgate/internal/substatus"
)

// Result is what one case got.
type Result struct {
	Case Case
	Got  substatus.Sub
	Code string // code name from the problem+json body, "" on success
	User string // mapped user reported by the echo upstream
	Err  error
}

// OK reports whether the case got what it expected.
func (r Result) OK() bool {
	return r.Err == nil && r.Got == r.Case.Want && (r.Case.WantUser == "" || r.Case.WantUser == r.User)
}

// Check runs every case against a gateway listening at addr (127.0.0.1:port),
// each over a new TLS connection with its own client certificate.
func (e *Env) Check(ctx context.Context, addr string) []Result {
	out := make([]Result, 0, len(e.Cases))
	for _, c := range e.Cases {
		out = append(out, e.run(ctx, addr, c))
	}
	return out
}

func (e *Env) run(ctx context.Context, addr string, c Case) Result {
	r := Result{Case: c}
	roots := x509.NewCertPool()
	pemData, err := os.ReadFile(e.RootPEM)
	if err != nil {
		r.Err = err
		return r
	}
	roots.AppendCertsFromPEM(pemData)
	tc := &tls.Config{RootCAs: roots, ServerName: c.Host, MinVersion: tls.VersionTLS12}
	if c.Client != "" {
		chain, key, _ := e.ClientCert(c.Client)
		kp, err := tls.LoadX509KeyPair(chain, key)
		if err != nil {
			r.Err = fmt.Errorf("load client %s: %w", c.Client, err)
			return r
		}
		// Present the certificate whatever CA names the server sends, as
		// curl does: the demo is about the server's verdict.
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &kp, nil }
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	client := &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   tc,
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+net.JoinHostPort(c.Host, portOf(addr))+c.Path, nil)
	if err != nil {
		r.Err = err
		return r
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		r.Err = err
		return r
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		r.Err = err
		return r
	}
	r.Got = substatus.Sub{Status: resp.StatusCode}
	var doc struct {
		Substatus string `json:"substatus"`
		CodeName  string `json:"code_name"`
		Identity  struct {
			User string `json:"user"`
		} `json:"identity"`
	}
	if err := json.Unmarshal(body, &doc); err == nil {
		if doc.Substatus != "" {
			if s, err := substatus.ParseSub(doc.Substatus); err == nil {
				r.Got = s
			}
		}
		r.Code = doc.CodeName
		r.User = doc.Identity.User
	}
	return r
}

func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "443"
	}
	return port
}

// CurlCommands returns one ready-to-paste curl line per case.
func (e *Env) CurlCommands(addr string) []string {
	port := portOf(addr)
	var out []string
	for _, c := range e.Cases {
		var b strings.Builder
		fmt.Fprintf(&b, "# %s: expect %s (%s)\n", c.Name, c.Want, c.Why)
		fmt.Fprintf(&b, "curl -sS --cacert %s --resolve %s:%s:127.0.0.1", e.RootPEM, c.Host, port)
		if c.Client != "" {
			chain, key, _ := e.ClientCert(c.Client)
			fmt.Fprintf(&b, " --cert %s --key %s", chain, key)
		}
		fmt.Fprintf(&b, " -H 'Accept: application/json' https://%s:%s%s", c.Host, port, c.Path)
		out = append(out, b.String())
	}
	return out
}

// WriteTable prints expected vs got and returns the number of mismatches.
func WriteTable(w io.Writer, results []Result) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tCLIENT CERT\tEXPECTED\tGOT\tCODE\tRESULT")
	bad := 0
	for _, r := range results {
		verdict := "ok"
		got := r.Got.String()
		if r.Err != nil {
			got = "error: " + r.Err.Error()
		}
		if !r.OK() {
			verdict = "MISMATCH"
			bad++
		}
		client := r.Case.Client
		if client == "" {
			client = "(none)"
		}
		code := r.Code
		if code == "" {
			code = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Case.Name, client, r.Case.Want, got, code, verdict)
	}
	tw.Flush()
	return bad
}

// CRLHandler serves the demo CRLs from dir: GET /NAME.crl.
func CRLHandler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := filepath.Base(r.URL.Path)
		if !strings.HasSuffix(name, ".crl") || name != strings.TrimPrefix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(data)
	})
}

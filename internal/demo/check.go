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
	User string // mapped user reported by the upstream
	// Received is what the demo application behind the "app" site got:
	// the identity headers certgate forwarded.
	Received map[string][]string
	Err      error
}

// OK reports whether the case got what it expected.
func (r Result) OK() bool {
	return r.Err == nil && r.Got == r.Case.Want && (r.Case.WantUser == "" || r.Case.WantUser == r.User)
}

// SpoofCase is the case that shows what the upstream receives.
func SpoofCase() Case {
	for _, c := range Cases() {
		if c.SpoofIdentity {
			return c
		}
	}
	panic("demo: no spoof case")
}

// Check runs the given cases (default: every case) against a gateway listening at addr (127.0.0.1:port),
// each over a new TLS connection with its own client certificate.
func (e *Env) Check(ctx context.Context, addr string, cases ...Case) []Result {
	if len(cases) == 0 {
		cases = e.Cases
	}
	out := make([]Result, 0, len(cases))
	for _, c := range cases {
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
	if c.SpoofIdentity {
		// A client pretending to be someone else: certgate must drop these.
		req.Header.Set("X-Remote-User", "administrator")
		req.Header.Add("x-remote-user", "root")
		req.Header.Set("Client-Cert", ":Zm9yZ2Vk:")
		req.Header.Set("X-Remote-Groups", "admins")
	}
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
		// The echo handler reports the identity it was given...
		Client struct {
			User string `json:"user"`
		} `json:"client"`
		// ... and the demo application the headers it received.
		Received map[string][]string `json:"upstream_received"`
	}
	if err := json.Unmarshal(body, &doc); err == nil {
		if doc.Substatus != "" {
			if s, err := substatus.ParseSub(doc.Substatus); err == nil {
				r.Got = s
			}
		}
		r.Code = doc.CodeName
		r.User = doc.Client.User
		if doc.Received != nil {
			r.Received = doc.Received
			r.User = strings.Join(doc.Received["X-Remote-User"], ",")
		}
	}
	if c.SpoofIdentity && r.Received != nil {
		if err := checkNotSpoofed(r.Received); err != nil {
			r.Err = err
		}
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

// BackendHandler is the demo application behind certgate's "app" site: it
// answers with the identity headers it received, so the demo can show (and
// check) what an upstream learns about the client.
func BackendHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received := map[string][]string{}
		for _, name := range []string{"X-Remote-User", "X-Remote-Groups", "Client-Cert", "Client-Cert-Chain", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"} {
			if v := r.Header.Values(name); len(v) > 0 {
				received[name] = v
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"upstream_received": received})
	})
}

// checkNotSpoofed verifies that none of the identity headers the client
// forged arrived: exactly one user, and a Client-Cert that is not the
// client's ":Zm9yZ2Vk:" (base64 "forged").
func checkNotSpoofed(received map[string][]string) error {
	if u := received["X-Remote-User"]; len(u) != 1 || u[0] == "administrator" || u[0] == "root" {
		return fmt.Errorf("upstream received X-Remote-User %q: the client's spoofed header got through", u)
	}
	for _, v := range received["Client-Cert"] {
		if strings.Contains(v, "Zm9yZ2Vk") {
			return fmt.Errorf("upstream received the client's forged Client-Cert %q", v)
		}
	}
	for _, v := range received["X-Remote-Groups"] {
		if strings.Contains(v, "admins") {
			return fmt.Errorf("upstream received the client's forged X-Remote-Groups %q", v)
		}
	}
	return nil
}

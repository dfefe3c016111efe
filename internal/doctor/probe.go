package doctor

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/issuerlist"
	"github.com/certgate/certgate/internal/substatus"
)

// DefaultProbeTimeout bounds each phase of a probe: dial, handshake, and
// the request/response exchange.
const DefaultProbeTimeout = 10 * time.Second

// maxProbeBody is how much of the response body probe reads: enough for an
// IIS error page or a problem+json document.
const maxProbeBody = 64 << 10

// ProbeOptions configures Probe.
type ProbeOptions struct {
	// URL is https://host[:port][/path].
	URL string
	// ServerName is the SNI, the name the server certificate must match
	// and the request's Host; default the URL's host (no SNI is sent for an
	// IP address).
	ServerName string
	// ConnectTo is the HOST:PORT to dial instead of the URL's, like curl's
	// --connect-to: the URL's host is still the SNI and the Host header.
	ConnectTo string
	// ClientCert is sent when the server asks; nil sends none.
	ClientCert *tls.Certificate
	// RootCAs verifies the server; nil uses the system roots.
	RootCAs *x509.CertPool
	// Insecure skips server verification (the CA names are reported either
	// way; a client certificate is only sent to a verified server).
	Insecure bool
	// Timeout bounds each phase; 0 means DefaultProbeTimeout.
	Timeout time.Duration
	// Get sends a GET request even without a client certificate.
	Get bool
	// MaxVersion caps the TLS version (tls.VersionTLS12 to see the TLS 1.2
	// CertificateRequest); 0 means TLS 1.3.
	MaxVersion uint16
}

// ProbeLimits are the size limits the encoded CA-name list is compared to.
type ProbeLimits struct {
	SchannelBytes int `json:"schannel_bytes"`
	WarnBytes     int `json:"warn_bytes"`
	MaxBytes      int `json:"max_bytes"`
}

// ProbeResponse is what the server answered to the GET.
type ProbeResponse struct {
	Status     int    `json:"status"`
	StatusText string `json:"status_text"`
	// SubStatus and Code come from certgate's problem+json (substatus,
	// code) or from an IIS error page; empty when the answer has neither.
	SubStatus string `json:"substatus,omitempty"`
	Code      string `json:"code,omitempty"`
	// From says where SubStatus was found: "problem+json", "header" or
	// "html".
	From  string `json:"from,omitempty"`
	Title string `json:"title,omitempty"`
	// Element and Reason are certgate's detailed reason, present for
	// loopback clients or sites with detailed_errors.
	Element string `json:"element,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Error is set when the request failed after the handshake (the
	// server closed the connection with a TLS alert, a timeout).
	Error string `json:"error,omitempty"`
}

// ProbeReport is the result of Probe.
type ProbeReport struct {
	URL         string `json:"url"`
	Address     string `json:"address"`
	ServerName  string `json:"server_name,omitempty"`
	TLSVersion  string `json:"tls_version,omitempty"`
	CipherSuite string `json:"cipher_suite,omitempty"`
	// HandshakeError is set when the handshake failed after the server's
	// CertificateRequest (for example TLS 1.2 with a required certificate
	// that was not sent).
	HandshakeError string   `json:"handshake_error,omitempty"`
	ServerCert     *CertRef `json:"server_cert,omitempty"`
	ServerTrusted  bool     `json:"server_trusted"`
	// ServerError says why the server certificate did not verify.
	ServerError string `json:"server_error,omitempty"`

	CertificateRequested bool        `json:"certificate_requested"`
	CANames              []CAName    `json:"ca_names"`
	CACount              int         `json:"ca_count"`
	CABytes              int         `json:"ca_bytes"`
	Limits               ProbeLimits `json:"limits"`
	SignatureSchemes     []string    `json:"signature_schemes,omitempty"`

	// ClientCert is the certificate sent, nil when none was.
	ClientCert *CertRef `json:"client_cert,omitempty"`
	// ClientCertNote explains why a configured certificate was not sent, or
	// that a browser would not have offered it here.
	ClientCertNote string `json:"client_cert_note,omitempty"`

	Response *ProbeResponse `json:"response,omitempty"`
	// Select is the selection simulated against the names received (--store).
	Select *SelectReport `json:"select,omitempty"`

	request *tls.CertificateRequestInfo
}

// SelectOptions returns the options that simulate selection against what
// this server asked for.
func (r *ProbeReport) SelectOptions(browser string, at time.Time) SelectOptions {
	o := SelectOptions{Browser: browser, At: at}
	if r.request != nil {
		o.CANames = r.request.AcceptableCAs
		o.Version = r.request.Version
		o.SignatureSchemes = r.request.SignatureSchemes
	}
	return o
}

// Rejected reports whether the probe ended in a refusal a person should
// look at: an untrusted server, a failed handshake or a non-2xx answer.
func (r *ProbeReport) Rejected() bool {
	if r.HandshakeError != "" || (!r.ServerTrusted && r.ServerError != "") {
		return true
	}
	return r.Response != nil && (r.Response.Error != "" || r.Response.Status < 200 || r.Response.Status > 299)
}

// Probe connects to o.URL, records whether and how the server asks for a
// client certificate, and, with a client certificate (or o.Get), sends a
// GET and reports the answer. Every phase has a deadline. It returns an
// error only when nothing could be learned (bad URL, dial or early
// handshake failure).
func Probe(ctx context.Context, o ProbeOptions) (*ProbeReport, error) {
	u, err := url.Parse(o.URL)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return nil, fmt.Errorf("probe %q: %w: want https://host[:port][/path]", o.URL, ErrURL)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	name := o.ServerName
	if name == "" {
		name = u.Hostname()
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	if o.ConnectTo != "" {
		h, p, err := net.SplitHostPort(o.ConnectTo)
		if err != nil || h == "" || p == "" {
			return nil, fmt.Errorf("probe --connect-to %q: %w: want HOST:PORT", o.ConnectTo, ErrURL)
		}
		addr = o.ConnectTo
	}
	r := &ProbeReport{
		URL: o.URL, Address: addr, ServerName: name,
		CANames: []CAName{},
		Limits: ProbeLimits{SchannelBytes: issuerlist.SchannelBytes, WarnBytes: config.DefaultIssuerListWarnBytes,
			MaxBytes: config.MaxIssuerListBytes},
	}

	maxVersion := o.MaxVersion
	if maxVersion == 0 {
		maxVersion = tls.VersionTLS13
	}
	cfg := &tls.Config{
		ServerName: name,
		MinVersion: tls.VersionTLS12,
		MaxVersion: maxVersion,
		// Verification is done in VerifyPeerCertificate so that an untrusted
		// server still shows its CA names; the result decides whether the
		// client certificate is sent. No session cache: a resumed session
		// would skip the CertificateRequest this command is about.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			r.verifyServer(raw, name, o.RootCAs, o.Insecure)
			return nil
		},
		GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			r.capture(cri)
			if o.ClientCert == nil {
				return &tls.Certificate{}, nil
			}
			if !r.ServerTrusted && !o.Insecure {
				r.ClientCertNote = "not sent: the server certificate is not trusted (use --ca FILE or --insecure)"
				return &tls.Certificate{}, nil
			}
			if err := cri.SupportsCertificate(o.ClientCert); err != nil {
				r.ClientCertNote = fmt.Sprintf("sent anyway, but a browser would not offer it here: %v", err)
			}
			if leaf := certfile.Leaf(o.ClientCert); leaf != nil {
				ref := refOf(leaf, "")
				r.ClientCert = &ref
			}
			return o.ClientCert, nil
		},
	}

	dialCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(dialCtx, "tcp", r.Address)
	if err != nil {
		return nil, fmt.Errorf("probe %s: dial %s: %w", o.URL, r.Address, err)
	}
	defer raw.Close()
	conn := tls.Client(raw, cfg)
	hsCtx, cancelHS := context.WithTimeout(ctx, timeout)
	defer cancelHS()
	if err := conn.HandshakeContext(hsCtx); err != nil {
		if r.request == nil && r.ServerCert == nil {
			return nil, fmt.Errorf("probe %s: tls handshake with %s: %w", o.URL, r.Address, err)
		}
		r.HandshakeError = err.Error()
		return r, nil
	}
	st := conn.ConnectionState()
	r.TLSVersion = tls.VersionName(st.Version)
	r.CipherSuite = tls.CipherSuiteName(st.CipherSuite)
	if o.ClientCert != nil || o.Get {
		if !r.ServerTrusted && !o.Insecure {
			return r, nil // never send a request (or a certificate) to an unverified server
		}
		r.Response = request(ctx, conn, u, hostHeader(u, name), timeout)
	}
	return r, nil
}

func (r *ProbeReport) capture(cri *tls.CertificateRequestInfo) {
	r.request = cri
	r.CertificateRequested = true
	r.CANames = CANameList(cri.AcceptableCAs)
	r.CACount = len(cri.AcceptableCAs)
	r.CABytes = issuerlist.EncodedSize(cri.AcceptableCAs)
	for _, s := range cri.SignatureSchemes {
		r.SignatureSchemes = append(r.SignatureSchemes, s.String())
	}
}

func (r *ProbeReport) verifyServer(raw [][]byte, name string, roots *x509.CertPool, insecure bool) {
	certs := make([]*x509.Certificate, 0, len(raw))
	for _, der := range raw {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			r.ServerError = fmt.Sprintf("parse server certificate: %v", err)
			return
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		r.ServerError = "the server sent no certificate"
		return
	}
	ref := refOf(certs[0], "")
	r.ServerCert = &ref
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name})
	switch {
	case err == nil:
		r.ServerTrusted = true
	case insecure:
		r.ServerError = "" // not checked on request
	default:
		r.ServerError = err.Error()
	}
}

// hostHeader is the Host a browser sends for u when it reaches the server
// by the name it verified: the server name, with the URL's explicit port.
// A gateway that routes by SNI answers 421 when Host names another site,
// so sending the URL's IP address after SNI rootb.example.test would test
// nothing but that.
func hostHeader(u *url.URL, name string) string {
	if name == "" || name == u.Hostname() {
		return u.Host
	}
	if p := u.Port(); p != "" {
		return net.JoinHostPort(name, p)
	}
	return name
}

// request sends one GET over conn and reads the head of the answer.
func request(ctx context.Context, conn *tls.Conn, u *url.URL, host string, timeout time.Duration) *ProbeResponse {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return &ProbeResponse{Error: fmt.Sprintf("set deadline: %v", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return &ProbeResponse{Error: fmt.Sprintf("build request: %v", err)}
	}
	req.Host = host
	req.Header.Set("User-Agent", "certgate-probe")
	// Ask for problem+json first: certgate then puts substatus and code in
	// fields instead of a page.
	req.Header.Set("Accept", "application/problem+json, application/json;q=0.9, text/html;q=0.8, */*;q=0.1")
	req.Close = true
	if err := req.Write(conn); err != nil {
		return &ProbeResponse{Error: fmt.Sprintf("send request: %v", err)}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return &ProbeResponse{Error: fmt.Sprintf("read response: %v", err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	pr := &ProbeResponse{Status: resp.StatusCode, StatusText: http.StatusText(resp.StatusCode)}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		pr.Error = fmt.Sprintf("read body: %v", err)
	}
	parseAnswer(pr, resp.Header, body)
	return pr
}

var (
	titleRE   = regexp.MustCompile(`(?is)<title>\s*(.*?)\s*</title>`)
	subRE     = regexp.MustCompile(`\b([1-5][0-9]{2})\.([0-9]{1,3})\b`)
	headingRE = regexp.MustCompile(`HTTP Error ([1-5][0-9]{2}\.[0-9]{1,3})`)
	hresultRE = regexp.MustCompile(`\b0x8[0-9a-fA-F]{7}\b`)
)

// parseAnswer extracts the sub-status from certgate's problem+json
// (RFC 9457 with "substatus" and "code" members), its X-Certgate-Substatus
// header, or an IIS-style error page ("HTTP Error 403.16 - Forbidden" in
// the title or heading).
func parseAnswer(pr *ProbeResponse, h http.Header, body []byte) {
	defer func() {
		if pr.SubStatus == "" {
			if s, err := substatus.ParseSub(h.Get(substatus.HeaderSubstatus)); err == nil {
				pr.SubStatus, pr.From = s.String(), "header"
			}
		}
		if pr.Code == "" && h.Get(substatus.HeaderCode) != "" {
			pr.Code = codeFromJSON(h.Get(substatus.HeaderCode))
		}
	}()
	if strings.Contains(strings.ToLower(h.Get("Content-Type")), "json") {
		var doc map[string]any
		if json.Unmarshal(body, &doc) == nil {
			pr.Title, _ = doc["title"].(string)
			pr.Element, _ = doc["element"].(string)
			pr.Reason, _ = doc["reason"].(string)
			if sub := subFromJSON(doc["substatus"], pr.Status); sub != "" {
				pr.SubStatus, pr.From = sub, "problem+json"
			}
			pr.Code = codeFromJSON(doc["code"])
			return
		}
	}
	if m := titleRE.FindSubmatch(body); m != nil {
		pr.Title = strings.Join(strings.Fields(string(m[1])), " ")
	}
	if m := headingRE.FindSubmatch(body); m != nil {
		pr.SubStatus, pr.From = string(m[1]), "html"
	} else if m := subRE.FindStringSubmatch(pr.Title); m != nil && m[1] == strconv.Itoa(pr.Status) {
		pr.SubStatus, pr.From = m[1]+"."+m[2], "html"
	}
	if pr.SubStatus != "" {
		if m := hresultRE.Find(body); m != nil {
			if c, err := substatus.ParseCode(string(m)); err == nil {
				pr.Code = c.Name()
			}
		}
	}
}

// subFromJSON accepts "403.16", "16" or 16.
func subFromJSON(v any, status int) string {
	switch x := v.(type) {
	case string:
		if strings.Contains(x, ".") {
			if s, err := substatus.ParseSub(x); err == nil {
				return s.String()
			}
			return ""
		}
		if n, err := strconv.Atoi(x); err == nil {
			// certgate writes "421" for a status without sub-status (Sub
			// renders so); a bare number below 100 is a sub-status alone.
			if n >= 100 {
				return substatus.Sub{Status: n}.String()
			}
			return substatus.Sub{Status: status, Sub: n}.String()
		}
	case float64:
		if x == float64(int(x)) {
			if x >= 100 {
				return substatus.Sub{Status: int(x)}.String()
			}
			return substatus.Sub{Status: status, Sub: int(x)}.String()
		}
		if s, err := substatus.ParseSub(strconv.FormatFloat(x, 'f', -1, 64)); err == nil {
			return s.String()
		}
	}
	return ""
}

// codeFromJSON accepts a symbolic, hex or decimal code, as a string or a
// number, and returns its symbolic name.
func codeFromJSON(v any) string {
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case float64:
		text = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return ""
	}
	c, err := substatus.ParseCode(text)
	if err != nil {
		return text
	}
	return c.Name()
}

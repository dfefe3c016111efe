package forward

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/url"
	"strconv"
	"strings"
)

// SSLHeaders names the nginx/Apache-style client certificate headers
// (nginx $ssl_client_verify, $ssl_client_s_dn, $ssl_client_i_dn,
// $ssl_client_serial, $ssl_client_escaped_cert; Apache SSL_CLIENT_*). An
// empty name sends nothing for that item.
type SSLHeaders struct {
	Verify, SubjectDN, IssuerDN, Serial, SHA256, Cert string
}

// Default names of SSLHeaders, the ones nginx setups conventionally use
// (proxy_set_header X-SSL-Client-Verify $ssl_client_verify ...). They are
// stripped from every client request, configured or not.
var DefaultSSLHeaders = SSLHeaders{
	Verify:    "X-SSL-Client-Verify",
	SubjectDN: "X-SSL-Client-S-DN",
	IssuerDN:  "X-SSL-Client-I-DN",
	Serial:    "X-SSL-Client-Serial",
	SHA256:    "X-SSL-Client-SHA256",
	Cert:      "X-SSL-Client-Cert",
}

// HeaderXFCC is Envoy's X-Forwarded-Client-Cert.
const HeaderXFCC = "X-Forwarded-Client-Cert"

func (s *SSLHeaders) names() []string {
	if s == nil {
		return nil
	}
	return []string{s.Verify, s.SubjectDN, s.IssuerDN, s.Serial, s.SHA256, s.Cert}
}

// addSSLHeaders sets the SSLHeaders values for leaf (nil: no verified
// certificate, "NONE" as nginx says).
func addSSLHeaders(add func(name, v string), s *SSLHeaders, leaf *x509.Certificate) {
	if leaf == nil {
		if s.Verify != "" {
			add(s.Verify, "NONE")
		}
		return
	}
	for _, h := range []struct{ name, value string }{
		{s.Verify, "SUCCESS"},
		// RFC 2253/4514 order, as nginx writes $ssl_client_s_dn since 1.11.6.
		{s.SubjectDN, leaf.Subject.String()},
		{s.IssuerDN, leaf.Issuer.String()},
		{s.Serial, strings.ToUpper(leaf.SerialNumber.Text(16))},
		{s.SHA256, sha256Hex(leaf.Raw)},
		{s.Cert, escapedPEM(leaf)},
	} {
		if h.name != "" {
			add(h.name, h.value)
		}
	}
}

func sha256Hex(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// escapedPEM is the URL-encoded PEM nginx sends as $ssl_client_escaped_cert
// (a header value cannot hold the PEM's line breaks).
func escapedPEM(c *x509.Certificate) string {
	return url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
}

// xfccValue is one X-Forwarded-Client-Cert element as Envoy writes it with
// forward_client_cert_details SANITIZE_SET and set_current_client_cert_details
// {subject, cert, chain, dns, uri}: Hash, Cert, Chain, Subject, URI and DNS
// key=value pairs separated by ';', values with ',', ';' or '=' quoted.
// chain is leaf first, without the trust anchor.
func xfccValue(chain []*x509.Certificate) string {
	leaf := chain[0]
	var b strings.Builder
	b.WriteString("Hash=" + sha256Hex(leaf.Raw))
	b.WriteString(";Cert=" + strconv.Quote(escapedPEM(leaf)))
	var all strings.Builder
	for _, c := range chain {
		all.WriteString(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	b.WriteString(";Chain=" + strconv.Quote(url.QueryEscape(all.String())))
	b.WriteString(";Subject=" + xfccQuote(leaf.Subject.String()))
	for _, u := range leaf.URIs {
		b.WriteString(";URI=" + xfccQuote(u.String()))
	}
	for _, d := range leaf.DNSNames {
		b.WriteString(";DNS=" + xfccQuote(d))
	}
	return b.String()
}

// xfccQuote quotes v when it holds a separator, escaping '"' and '\' as
// Envoy's parser expects.
func xfccQuote(v string) string {
	if !strings.ContainsAny(v, ",;=\"\\ ") {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

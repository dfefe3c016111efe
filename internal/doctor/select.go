package doctor

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// Browsers whose client-certificate selection Select simulates. The rules
// and their sources are in docs/doctor.md.
const (
	BrowserChromium = "chromium"
	BrowserFirefox  = "firefox"
	BrowserIE       = "ie"
)

// Browsers lists the accepted --browser values, default first.
var Browsers = []string{BrowserChromium, BrowserFirefox, BrowserIE}

// Reasons a certificate is not offered (the "code" JSON field). The codes
// are the catalogue's (substatus.OfferRules), which the gateway's
// diagnostics page explains to the person at the browser.
const (
	ReasonNoKey       = substatus.OfferNoKey
	ReasonExpired     = substatus.OfferExpired
	ReasonNotYetValid = substatus.OfferNotYetValid
	ReasonKeyUsage    = substatus.OfferKeyUsage
	ReasonEKU         = substatus.OfferEKU
	ReasonIssuer      = substatus.OfferIssuer
	ReasonSignature   = substatus.OfferSignature
	ReasonCACert      = "ca-certificate"
)

// Reason is one cause for a certificate not being offered, or (in
// Warnings) a problem the browser does not filter on but the server will.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Candidate is one certificate of the store and the browser's verdict.
type Candidate struct {
	Cert    CertRef  `json:"cert"`
	HasKey  bool     `json:"has_key"`
	Offered bool     `json:"offered"`
	Reasons []Reason `json:"reasons"`
	// Warnings: shown by this browser although the server will reject it.
	Warnings []Reason `json:"warnings,omitempty"`
	// Chain is the path found through the store, leaf first.
	Chain []CertRef `json:"chain,omitempty"`
	// Matched is the acceptable CA name the chain reached.
	Matched string `json:"matched,omitempty"`
}

// CAName is one acceptable CA name as the server sent it.
type CAName struct {
	DN  string `json:"dn"`
	DER string `json:"der"` // base64 of the DER DistinguishedName
}

// CANameList renders DER names for reports.
func CANameList(names [][]byte) []CAName {
	out := make([]CAName, len(names))
	for i, n := range names {
		out[i] = CAName{DN: DNString(n), DER: base64.StdEncoding.EncodeToString(n)}
	}
	return out
}

// SelectOptions is the server's certificate request and the browser.
type SelectOptions struct {
	// CANames are the DER DistinguishedNames the server sent; empty means
	// the server sent none, so any CA is acceptable.
	CANames [][]byte
	// Version and SignatureSchemes are the negotiated TLS version and the
	// server's signature_algorithms; zero values assume TLS 1.3 and the
	// schemes Go's server sends.
	Version          uint16
	SignatureSchemes []tls.SignatureScheme
	Browser          string
	At               time.Time
}

// SelectReport is the result of Select.
type SelectReport struct {
	Browser    string      `json:"browser"`
	At         time.Time   `json:"at"`
	CANames    []CAName    `json:"ca_names"`
	AnyCA      bool        `json:"any_ca"`
	TLSVersion string      `json:"tls_version"`
	Candidates []Candidate `json:"certificates"`
	// ChainCerts are CA certificates of the store without a key, used only
	// to build chains.
	ChainCerts []CertRef `json:"chain_certificates"`
	Offered    int       `json:"offered"`
	Warnings   []string  `json:"store_warnings,omitempty"`
	// Source says where CANames came from (a URL or a file).
	Source string `json:"source,omitempty"`
}

// defaultSchemes is what Go's TLS server sends in signature_algorithms,
// the assumption when the names come from a file rather than a handshake.
var defaultSchemes = []tls.SignatureScheme{
	tls.ECDSAWithP256AndSHA256, tls.Ed25519, tls.PSSWithSHA256, tls.PSSWithSHA384, tls.PSSWithSHA512,
	tls.PKCS1WithSHA256, tls.PKCS1WithSHA384, tls.PKCS1WithSHA512,
	tls.ECDSAWithP384AndSHA384, tls.ECDSAWithP521AndSHA512,
}

// Select simulates the browser's client-certificate selection over the
// store: for every certificate, whether it would be offered and every
// reason it would not. It is pure.
func Select(store *Store, o SelectOptions) (*SelectReport, error) {
	switch o.Browser {
	case "":
		o.Browser = BrowserChromium
	case BrowserChromium, BrowserFirefox, BrowserIE:
	default:
		return nil, fmt.Errorf("select: %w: browser %q (want one of %s)", ErrBadInput, o.Browser, strings.Join(Browsers, ", "))
	}
	if o.Version == 0 {
		o.Version = tls.VersionTLS13
	}
	if len(o.SignatureSchemes) == 0 {
		o.SignatureSchemes = defaultSchemes
	}
	r := &SelectReport{
		Browser: o.Browser, At: o.At.UTC(), CANames: CANameList(o.CANames), AnyCA: len(o.CANames) == 0,
		TLSVersion: tls.VersionName(o.Version), Candidates: []Candidate{}, ChainCerts: []CertRef{},
		Warnings: store.Warnings,
	}
	s := &selector{store: store, o: o}
	for _, sc := range store.Certs {
		// A key-less CA certificate is chain material, not an identity:
		// browsers never list it in the picker.
		if sc.Key == nil && sc.BasicConstraintsValid && sc.IsCA {
			r.ChainCerts = append(r.ChainCerts, refOf(sc.Certificate, sc.Source))
			continue
		}
		c := s.evaluate(sc)
		if c.Offered {
			r.Offered++
		}
		r.Candidates = append(r.Candidates, c)
	}
	return r, nil
}

type selector struct {
	store *Store
	o     SelectOptions
}

func (s *selector) evaluate(sc StoreCert) Candidate {
	c := Candidate{Cert: refOf(sc.Certificate, sc.Source), HasKey: sc.Key != nil, Reasons: []Reason{}}
	not := func(code, format string, args ...any) {
		c.Reasons = append(c.Reasons, Reason{code, fmt.Sprintf(format, args...)})
	}
	warn := func(code, format string, args ...any) {
		c.Warnings = append(c.Warnings, Reason{code, fmt.Sprintf(format, args...)})
	}
	b := s.o.Browser

	if sc.Key == nil {
		not(ReasonNoKey, "The store has no private key for it: browsers list only certificates whose key they hold.")
	}
	if sc.IsCA && sc.BasicConstraintsValid {
		warn(ReasonCACert, "Is a CA certificate (basicConstraints CA:TRUE): Firefox tries it only after end-entity paths fail, and certgate rejects a CA certificate as a client leaf (CERT_E_ROLE, 403.16).")
	}
	if expired, notYet := validity(sc.Certificate, s.o.At); expired || notYet {
		code, msg := ReasonExpired, fmt.Sprintf("Expired on %s", day(sc.NotAfter))
		if notYet {
			code, msg = ReasonNotYetValid, fmt.Sprintf("Not valid before %s", day(sc.NotBefore))
		}
		if b == BrowserIE {
			warn(code, "%s: legacy IE/Schannel still lists it, and the server rejects it with 403.17.", msg)
		} else {
			not(code, "%s: %s offers only certificates within their validity period.", msg, browserName(b))
		}
	}
	if sc.KeyUsage != 0 && sc.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		if b == BrowserIE {
			warn(ReasonKeyUsage, "Key Usage is present without digitalSignature: IE lists it, but it cannot sign the handshake and the server rejects it with 403.16 CERT_E_WRONG_USAGE.")
		} else {
			not(ReasonKeyUsage, "Key Usage is present without digitalSignature, so the key may not sign the TLS handshake: %s filters it out.", browserName(b))
		}
	}
	if !verify.EKUAllows(sc.Certificate, x509.ExtKeyUsageClientAuth) {
		not(ReasonEKU, "Extended Key Usage is %s, without clientAuth or anyExtendedKeyUsage: %s filters it out.", verify.EKUNames(sc.Certificate), browserName(b))
	}
	chain, matched, ok := s.match(sc.Certificate)
	c.Chain = make([]CertRef, len(chain))
	for i, x := range chain {
		c.Chain[i] = refOf(x, s.source(x))
	}
	if !ok {
		not(ReasonIssuer, "%s", s.issuerReason(chain))
	} else if matched != nil {
		c.Matched = DNString(matched)
	}
	if sc.Key != nil {
		// crypto/tls's own test: can this key sign with a scheme the server
		// accepts, at this TLS version? (CA names are matched above, per
		// browser, so they are left out of the request info here.)
		tc := &tls.Certificate{PrivateKey: sc.Key, Leaf: sc.Certificate}
		for _, x := range chain {
			tc.Certificate = append(tc.Certificate, x.Raw)
		}
		cri := &tls.CertificateRequestInfo{SignatureSchemes: s.o.SignatureSchemes, Version: s.o.Version}
		if err := cri.SupportsCertificate(tc); err != nil {
			not(ReasonSignature, "The key cannot sign with any signature scheme the server accepts in %s: %v.", tls.VersionName(s.o.Version), err)
		}
	}
	c.Offered = len(c.Reasons) == 0
	return c
}

func browserName(b string) string {
	switch b {
	case BrowserFirefox:
		return "Firefox"
	case BrowserIE:
		return "IE"
	}
	return "Chromium"
}

func (s *selector) source(c *x509.Certificate) string {
	for _, sc := range s.store.Certs {
		if sc.Certificate == c {
			return sc.Source
		}
	}
	return ""
}

func (s *selector) acceptable(name []byte) bool {
	for _, n := range s.o.CANames {
		if bytes.Equal(n, name) {
			return true
		}
	}
	return false
}

// match looks for a path from leaf through CA certificates of the store on
// which some certificate's issuer name (Chromium, IE) or issuer or subject
// name (Firefox's mozilla::pkix trust domain) is an acceptable CA name.
// Names are compared as DER bytes, as all three browsers do. Signatures are
// not checked: browsers filter by name and leave verification to the
// server. Firefox builds the path with mozilla::pkix, which also refuses
// intermediates outside their validity period.
// It returns the longest path explored when nothing matched, for the report.
func (s *selector) match(leaf *x509.Certificate) (path []*x509.Certificate, matched []byte, ok bool) {
	var best []*x509.Certificate
	var walk func(p []*x509.Certificate) bool
	walk = func(p []*x509.Certificate) bool {
		c := p[len(p)-1]
		if len(p) > len(best) {
			best = append([]*x509.Certificate(nil), p...)
		}
		if len(s.o.CANames) > 0 {
			if s.acceptable(c.RawIssuer) {
				path, matched = append([]*x509.Certificate(nil), p...), c.RawIssuer
				return true
			}
			if s.o.Browser == BrowserFirefox && s.acceptable(c.RawSubject) {
				path, matched = append([]*x509.Certificate(nil), p...), c.RawSubject
				return true
			}
		}
		if bytes.Equal(c.RawIssuer, c.RawSubject) || len(p) >= 10 {
			return false
		}
		for _, sc := range s.store.Certs {
			x := sc.Certificate
			if !bytes.Equal(x.RawSubject, c.RawIssuer) || contains(p, x) {
				continue
			}
			if s.o.Browser == BrowserFirefox {
				if expired, notYet := validity(x, s.o.At); expired || notYet {
					continue
				}
			}
			if walk(append(p, x)) {
				return true
			}
		}
		return false
	}
	found := walk([]*x509.Certificate{leaf})
	if len(s.o.CANames) == 0 {
		// Any CA is acceptable; report the chain the browser would send.
		return best, nil, true
	}
	if found {
		return path, matched, true
	}
	return best, nil, false
}

func contains(p []*x509.Certificate, x *x509.Certificate) bool {
	for _, c := range p {
		if c == x {
			return true
		}
	}
	return false
}

func (s *selector) issuerReason(chain []*x509.Certificate) string {
	top := chain[len(chain)-1]
	var names []string
	for i, c := range chain {
		if i > 0 && bytes.Equal(c.RawIssuer, c.RawSubject) {
			break // a self-signed root names itself: nothing new to compare
		}
		names = append(names, dnString(c.Issuer.String()))
	}
	msg := fmt.Sprintf("No issuer on its chain through the store (%s) is among the %d CA name(s) the server accepts.", strings.Join(names, "; "), len(s.o.CANames))
	if !bytes.Equal(top.RawIssuer, top.RawSubject) {
		msg += fmt.Sprintf(" The store has no certificate for %s; if the server lists a CA above it, import that intermediate (browsers build the chain only from what they hold).", dnString(top.Issuer.String()))
	}
	if s.o.Browser == BrowserFirefox {
		msg += " Expired intermediates are skipped."
	}
	return msg
}

// ParseCANames reads acceptable CA names from a file: PEM or DER
// certificates (their subjects), or the JSON that `certgate probe --json`
// writes (its ca_names[].der). A JSON list that is empty means the server
// sent no names.
func ParseCANames(data []byte, name string) ([][]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		var probe struct {
			CANames *[]CAName `json:"ca_names"`
		}
		if trimmed[0] == '[' {
			var list []CAName
			if err := json.Unmarshal(trimmed, &list); err != nil {
				return nil, fmt.Errorf("read ca names %s: %w: %v", name, ErrBadInput, err)
			}
			probe.CANames = &list
		} else if err := json.Unmarshal(trimmed, &probe); err != nil {
			return nil, fmt.Errorf("read ca names %s: %w: %v", name, ErrBadInput, err)
		}
		if probe.CANames == nil {
			return nil, fmt.Errorf("read ca names %s: %w: JSON without ca_names (use certgate probe --json output)", name, ErrBadInput)
		}
		out := [][]byte{}
		for i, n := range *probe.CANames {
			der, err := base64.StdEncoding.DecodeString(n.DER)
			if err != nil || len(der) == 0 {
				return nil, fmt.Errorf("read ca names %s: %w: ca_names[%d].der is not base64 DER", name, ErrBadInput, i)
			}
			out = append(out, der)
		}
		return out, nil
	}
	certs, found, err := parseCerts(data, name)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("read ca names %s: %w (want CA certificates in PEM/DER, or certgate probe --json output)", name, ErrNoCertificates)
	}
	out := make([][]byte, len(certs))
	for i, c := range certs {
		out[i] = c.RawSubject
	}
	return out, nil
}

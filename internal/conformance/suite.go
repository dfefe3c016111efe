package conformance

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/verify"
)

// ErrSuite is wrapped by every error about the suite file itself.
var ErrSuite = errors.New("invalid conformance suite")

// AnyPolicy is the spelling of anyPolicy (2.5.29.32.0) in the suite's
// policy inputs.
const AnyPolicy = "anyPolicy"

// Suite is a file of test cases ({"version":1,"testcases":[...]}).
type Suite struct {
	Version   int     `json:"version"`
	TestCases []*Case `json:"testcases"`
}

// Case is one test case in the x509-limbo shape, as PKITS was converted.
type Case struct {
	ID                     string    `json:"id"`
	Description            string    `json:"description"`
	TrustedCerts           []string  `json:"trusted_certs"`
	UntrustedIntermediates []string  `json:"untrusted_intermediates"`
	PeerCertificate        string    `json:"peer_certificate"`
	CRLs                   []string  `json:"crls"`
	ValidationTime         time.Time `json:"validation_time"`
	ExpectedResult         string    `json:"expected_result"` // SUCCESS or FAILURE
	PKITS                  *Inputs   `json:"pkits"`
}

// Inputs are the RFC 5280 section 6.1.1 inputs PKITS runs a case with, and
// the expected user-constrained policy set.
type Inputs struct {
	TestNumber                  string   `json:"test_number"`
	InitialPolicySet            []string `json:"initial_policy_set"`
	InitialExplicitPolicy       bool     `json:"initial_explicit_policy"`
	InitialPolicyMappingInhibit bool     `json:"initial_policy_mapping_inhibit"`
	InitialInhibitAnyPolicy     bool     `json:"initial_inhibit_any_policy"`
	UserConstrainedPolicySet    []string `json:"user_constrained_policy_set"`
}

// Load reads and decodes a suite file. It checks the shape, not the
// certificates: a case whose PEM does not parse is reported by Parse.
func Load(path string) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read suite %q: %w", path, err)
	}
	var s Suite
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode suite %q: %w: %w", path, ErrSuite, err)
	}
	if s.Version != 1 {
		return nil, fmt.Errorf("decode suite %q: %w: version %d, want 1", path, ErrSuite, s.Version)
	}
	for i, c := range s.TestCases {
		switch {
		case c == nil || c.ID == "":
			return nil, fmt.Errorf("decode suite %q: %w: testcases[%d] has no id", path, ErrSuite, i)
		case c.ExpectedResult != "SUCCESS" && c.ExpectedResult != "FAILURE":
			return nil, fmt.Errorf("decode suite %q: %w: testcases[%d] (%s): expected_result %q", path, ErrSuite, i, c.ID, c.ExpectedResult)
		case c.ValidationTime.IsZero():
			return nil, fmt.Errorf("decode suite %q: %w: testcases[%d] (%s): no validation_time", path, ErrSuite, i, c.ID)
		}
	}
	return &s, nil
}

// WantAccept reports whether the suite expects the peer certificate to be
// accepted.
func (c *Case) WantAccept() bool { return c.ExpectedResult == "SUCCESS" }

// Section is the PKITS section of the case ("4.4" for test 4.4.1), or the
// middle part of its id when it has no test number.
func (c *Case) Section() string {
	if c.PKITS != nil {
		// "4.10.1.2" (a subpart) is in section "4.10" too.
		if parts := strings.SplitN(c.PKITS.TestNumber, ".", 3); len(parts) == 3 {
			return parts[0] + "." + parts[1]
		}
	}
	return c.Group()
}

// Group is the middle part of the id: "BasicCertificateRevocationTests"
// for "pkits::BasicCertificateRevocationTests::MissingCRLTest1".
func (c *Case) Group() string {
	parts := strings.Split(c.ID, "::")
	if len(parts) >= 3 {
		return parts[1]
	}
	return c.ID
}

// DefaultPolicyInputs reports whether the case runs with the RFC 5280
// defaults: initial-policy-set {anyPolicy} and all three flags false.
func (c *Case) DefaultPolicyInputs() bool {
	in := c.PKITS
	if in == nil {
		return true
	}
	anyOnly := len(in.InitialPolicySet) == 0 || slices.Equal(in.InitialPolicySet, []string{AnyPolicy})
	return anyOnly && !in.InitialExplicitPolicy && !in.InitialPolicyMappingInhibit && !in.InitialInhibitAnyPolicy
}

// Parsed holds a case's decoded inputs.
type Parsed struct {
	Roots         []*x509.Certificate
	Intermediates []*x509.Certificate
	// Peer is nil when the peer certificate does not parse; PeerDER is
	// always set, so that the engine can reject it as the gateway would.
	Peer    *x509.Certificate
	PeerDER []byte
	PeerErr error
	// CRLs are DER.
	CRLs [][]byte
	// DSA: some certificate of the case has a DSA key or signature.
	DSA bool
}

// All returns every parsed certificate of the case, peer first.
func (p *Parsed) All() []*x509.Certificate {
	var out []*x509.Certificate
	if p.Peer != nil {
		out = append(out, p.Peer)
	}
	out = append(out, p.Intermediates...)
	return append(out, p.Roots...)
}

func isDSA(der []byte, c *x509.Certificate) bool {
	if c != nil {
		return c.PublicKeyAlgorithm == x509.DSA || c.SignatureAlgorithm == x509.DSAWithSHA1 || c.SignatureAlgorithm == x509.DSAWithSHA256
	}
	return certfile.IsDSA(der)
}

// Parse decodes the PEM inputs of a case with verify.ParseCertificate,
// the parser the engine uses. Trust anchors and intermediates that do not
// parse are an error (certgate refuses such trust configuration) unless
// they are DSA certificates, which mark the case DSA.
func (c *Case) Parse() (*Parsed, error) {
	var p Parsed
	var err error
	if p.Roots, err = p.parseCerts(c.TrustedCerts); err != nil {
		return nil, fmt.Errorf("parse case %s: trusted_certs: %w", c.ID, err)
	}
	if p.Intermediates, err = p.parseCerts(c.UntrustedIntermediates); err != nil {
		return nil, fmt.Errorf("parse case %s: untrusted_intermediates: %w", c.ID, err)
	}
	ders, err := pemBlocks(c.PeerCertificate, "CERTIFICATE")
	if err != nil {
		return nil, fmt.Errorf("parse case %s: peer_certificate: %w", c.ID, err)
	}
	if len(ders) != 1 {
		return nil, fmt.Errorf("parse case %s: peer_certificate: %w: want one certificate, got %d", c.ID, ErrSuite, len(ders))
	}
	p.PeerDER = ders[0]
	p.Peer, p.PeerErr = verify.ParseCertificate(p.PeerDER)
	if isDSA(p.PeerDER, p.Peer) {
		p.DSA = true
	}
	for i, s := range c.CRLs {
		der, err := pemBlocks(s, "X509 CRL")
		if err != nil {
			return nil, fmt.Errorf("parse case %s: crls[%d]: %w", c.ID, i, err)
		}
		p.CRLs = append(p.CRLs, der...)
	}
	return &p, nil
}

func (p *Parsed) parseCerts(pems []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for i, s := range pems {
		ders, err := pemBlocks(s, "CERTIFICATE")
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		for _, der := range ders {
			c, err := verify.ParseCertificate(der)
			if isDSA(der, c) {
				p.DSA = true
			}
			if err != nil {
				if p.DSA {
					continue
				}
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func pemBlocks(s, typ string) ([][]byte, error) {
	var out [][]byte
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != typ {
			return nil, fmt.Errorf("%w: PEM block %q, want %q", ErrSuite, b.Type, typ)
		}
		out = append(out, b.Bytes)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no PEM %q block", ErrSuite, typ)
	}
	return out, nil
}

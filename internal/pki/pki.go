package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// CA is a certificate authority: its certificate, its key and its issuer.
// Key may be nil for a CA loaded without its key (a parent read from a
// bundle); such a CA can be a chain element but cannot sign.
type CA struct {
	Cert   *x509.Certificate
	Key    crypto.Signer
	Parent *CA // nil for a root (or for a CA whose issuer is unknown)
}

// Leaf is an end-entity certificate with its key and issuing CA (nil for a
// self-signed leaf).
type Leaf struct {
	Cert   *x509.Certificate
	Key    crypto.Signer
	Issuer *CA
}

// kind selects the defaults applied before the options.
type kind int

const (
	kindRoot kind = iota
	kindIntermediate
	kindClient
	kindServer
	kindCustom
	kindSelfSignedLeaf
)

// GenerateKey creates a key of the given type ("" means ECDSA P-256).
func GenerateKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case "", KeyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case KeyRSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case KeyRSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case KeyRSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	case KeyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("generate key: %w %q (want one of %v)", ErrUnknownKeyType, kt, KeyTypes)
}

// randomSerial returns a positive serial of at most 128 bits.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	// Zero is not a valid serial (RFC 5280 section 4.1.2.2: positive).
	return n.Add(n, big.NewInt(1)), nil
}

// NewRoot creates a self-signed root CA: CA:TRUE, Key Usage
// keyCertSign|cRLSign, valid now-1h .. now+10y by default.
func NewRoot(cn string, opts ...Option) (*CA, error) {
	cert, key, err := create(&x509.Certificate{Subject: pkix.Name{CommonName: cn}}, kindRoot, collect(opts), nil)
	if err != nil {
		return nil, fmt.Errorf("create root %q: %w", cn, err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// NewIntermediate creates a CA signed by ca.
func (ca *CA) NewIntermediate(cn string, opts ...Option) (*CA, error) {
	cert, key, err := create(&x509.Certificate{Subject: pkix.Name{CommonName: cn}}, kindIntermediate, collect(opts), ca)
	if err != nil {
		return nil, fmt.Errorf("create intermediate %q: %w", cn, err)
	}
	return &CA{Cert: cert, Key: key, Parent: ca}, nil
}

// IssueClient issues a client certificate: Key Usage digitalSignature, EKU
// clientAuth, CA:FALSE.
func (ca *CA) IssueClient(cn string, opts ...Option) (*Leaf, error) {
	cert, key, err := create(&x509.Certificate{Subject: pkix.Name{CommonName: cn}}, kindClient, collect(opts), ca)
	if err != nil {
		return nil, fmt.Errorf("issue client %q: %w", cn, err)
	}
	return &Leaf{Cert: cert, Key: key, Issuer: ca}, nil
}

// IssueServer issues a TLS server certificate. Each host becomes an
// iPAddress SAN if it parses as an IP, a dNSName SAN otherwise. Key Usage is
// digitalSignature (plus keyEncipherment for RSA keys, for RSA key exchange),
// EKU serverAuth.
func (ca *CA) IssueServer(cn string, hosts []string, opts ...Option) (*Leaf, error) {
	base := &x509.Certificate{Subject: pkix.Name{CommonName: cn}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			base.IPAddresses = append(base.IPAddresses, ip)
		} else {
			base.DNSNames = append(base.DNSNames, h)
		}
	}
	cert, key, err := create(base, kindServer, collect(opts), ca)
	if err != nil {
		return nil, fmt.Errorf("issue server %q: %w", cn, err)
	}
	return &Leaf{Cert: cert, Key: key, Issuer: ca}, nil
}

// Issue issues a certificate from a caller-built template. Fields the
// template leaves zero get defaults (serial, validity); nothing else is
// added unless an Option says so, and Options override template fields.
// The template is not modified. If tmpl.IsCA, use the result's Cert and Key
// to build a CA value.
func (ca *CA) Issue(tmpl *x509.Certificate, opts ...Option) (*Leaf, error) {
	if tmpl == nil {
		return nil, fmt.Errorf("issue certificate: %w: nil template", ErrInvalidOption)
	}
	base := *tmpl
	cert, key, err := create(&base, kindCustom, collect(opts), ca)
	if err != nil {
		return nil, fmt.Errorf("issue certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return &Leaf{Cert: cert, Key: key, Issuer: ca}, nil
}

// NewSelfSignedLeaf creates a self-signed, non-CA client certificate (Key
// Usage digitalSignature, EKU clientAuth): the "untrusted root" case.
func NewSelfSignedLeaf(cn string, opts ...Option) (*Leaf, error) {
	cert, key, err := create(&x509.Certificate{Subject: pkix.Name{CommonName: cn}}, kindSelfSignedLeaf, collect(opts), nil)
	if err != nil {
		return nil, fmt.Errorf("create self-signed leaf %q: %w", cn, err)
	}
	return &Leaf{Cert: cert, Key: key}, nil
}

// create applies defaults for k, then options, then signs with parent (nil
// means self-signed).
func create(t *x509.Certificate, k kind, o *options, parent *CA) (*x509.Certificate, crypto.Signer, error) {
	if err := errors.Join(o.errs...); err != nil {
		return nil, nil, err
	}
	if parent != nil {
		if parent.Cert == nil {
			return nil, nil, fmt.Errorf("%w: issuer has no certificate", ErrNotCA)
		}
		if parent.Key == nil {
			return nil, nil, fmt.Errorf("sign with %q: %w", parent.Cert.Subject.CommonName, ErrNoKey)
		}
	}

	key := o.key
	if key == nil {
		var err error
		if key, err = GenerateKey(o.keyType); err != nil {
			return nil, nil, err
		}
	}
	_, isRSA := key.Public().(*rsa.PublicKey)

	// Defaults by kind. Second precision because certificates carry no more,
	// so callers comparing NotBefore/NotAfter see what they asked for.
	now := time.Now().Truncate(time.Second)
	switch k {
	case kindRoot, kindIntermediate:
		t.IsCA, t.BasicConstraintsValid = true, true
		t.MaxPathLen = -1
		t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		t.NotBefore, t.NotAfter = now.Add(-time.Hour), now.AddDate(10, 0, 0)
	case kindClient, kindSelfSignedLeaf:
		t.BasicConstraintsValid = true
		t.KeyUsage = x509.KeyUsageDigitalSignature
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	case kindServer:
		t.BasicConstraintsValid = true
		t.KeyUsage = x509.KeyUsageDigitalSignature
		if isRSA {
			t.KeyUsage |= x509.KeyUsageKeyEncipherment
		}
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	if t.NotBefore.IsZero() {
		t.NotBefore = now.Add(-time.Hour)
	}
	if t.NotAfter.IsZero() {
		t.NotAfter = now.AddDate(1, 0, 0)
	}

	// Options.
	if o.validitySet {
		t.NotBefore, t.NotAfter = o.notBefore, o.notAfter
	}
	if t.NotAfter.Before(t.NotBefore) {
		return nil, nil, fmt.Errorf("%w: validity notAfter %s is before notBefore %s",
			ErrInvalidOption, t.NotAfter.Format(time.RFC3339), t.NotBefore.Format(time.RFC3339))
	}
	if o.subject != nil {
		t.Subject = *o.subject
	}
	if o.serial != nil {
		t.SerialNumber = o.serial
	}
	if t.SerialNumber == nil {
		s, err := randomSerial()
		if err != nil {
			return nil, nil, err
		}
		t.SerialNumber = s
	}
	if o.keyUsageSet {
		t.KeyUsage = o.keyUsage
	}
	if o.ekuSet {
		t.ExtKeyUsage = o.extKeyUsage
		t.UnknownExtKeyUsage = o.unknownEKU
	}
	t.DNSNames = append(t.DNSNames, o.dns...)
	t.IPAddresses = append(t.IPAddresses, o.ips...)
	t.EmailAddresses = append(t.EmailAddresses, o.emails...)
	t.URIs = append(t.URIs, o.uris...)
	t.CRLDistributionPoints = append(t.CRLDistributionPoints, o.crlDPs...)
	t.OCSPServer = append(t.OCSPServer, o.ocsp...)
	t.IssuingCertificateURL = append(t.IssuingCertificateURL, o.aia...)
	if o.maxPathLenSet {
		if !t.IsCA {
			return nil, nil, fmt.Errorf("%w: max path length applies only to CA certificates", ErrInvalidOption)
		}
		if o.maxPathLen < -1 {
			return nil, nil, fmt.Errorf("%w: max path length %d (want -1 for unset, or >= 0)", ErrInvalidOption, o.maxPathLen)
		}
		t.MaxPathLen = o.maxPathLen
		t.MaxPathLenZero = o.maxPathLen == 0
	}
	if o.sigAlg != x509.UnknownSignatureAlgorithm {
		t.SignatureAlgorithm = o.sigAlg
	}

	// Hand-encoded extensions. Caller-supplied ExtraExtensions win: they
	// are appended last and a generated extension with the same OID is
	// dropped, mirroring crypto/x509's own precedence.
	var gen []extensionValue
	if len(o.upns) > 0 {
		der, err := marshalSAN(sanNames{upns: o.upns, dns: t.DNSNames, emails: t.EmailAddresses, ips: t.IPAddresses, uris: t.URIs})
		if err != nil {
			return nil, nil, err
		}
		// RFC 5280 section 4.2.1.6: SAN is critical when the subject is empty.
		gen = append(gen, extensionValue{OIDSubjectAltName, len(t.Subject.ToRDNSequence()) == 0, der})
	}
	if len(o.freshest) > 0 {
		der, err := marshalDistributionPoints(o.freshest)
		if err != nil {
			return nil, nil, fmt.Errorf("encode freshest crl: %w", err)
		}
		gen = append(gen, extensionValue{OIDFreshestCRL, false, der})
	}
	extra := append([]pkix.Extension(nil), t.ExtraExtensions...)
	extra = append(extra, o.extra...)
	for _, g := range gen {
		if !hasExtension(extra, g.id) {
			t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: g.id, Critical: g.critical, Value: g.value})
		}
	}
	t.ExtraExtensions = append(t.ExtraExtensions, o.extra...)

	// Signing.
	signerCert, signerKey := t, key // self-signed
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Key
	}
	if o.signedBy != nil {
		// crypto/x509 refuses a key that does not match the parent's public
		// key; a copy without PublicKey keeps issuer name and AKI but skips
		// that check, which is exactly the forged-signature case.
		c := *signerCert
		c.PublicKey = nil
		signerCert, signerKey = &c, o.signedBy
	}
	der, err := x509.CreateCertificate(rand.Reader, t, signerCert, key.Public(), signerKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse created certificate: %w", err)
	}
	return cert, key, nil
}

type extensionValue struct {
	id       []int
	critical bool
	value    []byte
}

func hasExtension(exts []pkix.Extension, id []int) bool {
	for _, e := range exts {
		if e.Id.Equal(id) {
			return true
		}
	}
	return false
}

// Chain returns ca, its parent, ..., up to the top CA known (normally the root).
func (ca *CA) Chain() []*x509.Certificate {
	var out []*x509.Certificate
	// The depth bound protects against a hand-built cyclic Parent link.
	for c, n := ca, 0; c != nil && n < 64; c, n = c.Parent, n+1 {
		out = append(out, c.Cert)
	}
	return out
}

// Root returns the top of ca's chain.
func (ca *CA) Root() *CA {
	c := ca
	for n := 0; c.Parent != nil && n < 64; n++ {
		c = c.Parent
	}
	return c
}

// IsSelfSigned reports whether c names itself as issuer and its signature
// verifies with its own key.
func IsSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// Chain returns the leaf followed by its intermediates, without the root:
// what a client sends in its Certificate message. The top CA is left out
// only when it is self-signed, so a chain ending at a CA whose issuer is
// unknown still includes that CA.
func (l *Leaf) Chain() []*x509.Certificate {
	out := []*x509.Certificate{l.Cert}
	if l.Issuer == nil {
		return out
	}
	cas := l.Issuer.Chain()
	if last := cas[len(cas)-1]; IsSelfSigned(last) {
		cas = cas[:len(cas)-1]
	}
	return append(out, cas...)
}

// TLSCertificate returns the leaf and its intermediates with the key, ready
// for tls.Config.Certificates or GetClientCertificate.
func (l *Leaf) TLSCertificate() tls.Certificate {
	chain := l.Chain()
	tc := tls.Certificate{PrivateKey: l.Key, Leaf: l.Cert}
	for _, c := range chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc
}

// Fingerprint returns the SHA-256 of the certificate DER, lowercase hex
// without separators (the form certgate logs).
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

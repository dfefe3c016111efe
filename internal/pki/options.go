package pki

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"time"
)

// KeyType names a key algorithm and size.
type KeyType string

// Supported key types. The zero value means KeyECDSAP256.
const (
	KeyECDSAP256 KeyType = "ecdsa-p256"
	KeyECDSAP384 KeyType = "ecdsa-p384"
	KeyRSA2048   KeyType = "rsa-2048"
	KeyRSA3072   KeyType = "rsa-3072"
	KeyRSA4096   KeyType = "rsa-4096"
	KeyEd25519   KeyType = "ed25519"
)

// KeyTypes lists the accepted KeyType values, default first (for usage text).
var KeyTypes = []KeyType{KeyECDSAP256, KeyECDSAP384, KeyRSA2048, KeyRSA3072, KeyRSA4096, KeyEd25519}

// Option changes one aspect of a certificate being created. Options apply in
// order; later options override earlier ones for single-valued fields and
// append for lists (SANs, URLs, extensions).
type Option func(*options)

// options is the accumulated result of a list of Options. The *Set flags
// distinguish "not given, use the default" from "explicitly set to the zero
// value", which matters for KU/EKU: tests need certificates with the
// extension absent, not just empty.
type options struct {
	keyType KeyType
	key     crypto.Signer

	notBefore, notAfter time.Time
	validitySet         bool

	subject *pkix.Name
	serial  *big.Int

	keyUsage    x509.KeyUsage
	keyUsageSet bool

	extKeyUsage []x509.ExtKeyUsage
	unknownEKU  []asn1.ObjectIdentifier
	ekuSet      bool

	dns    []string
	ips    []net.IP
	emails []string
	uris   []*url.URL
	upns   []string

	crlDPs   []string
	freshest []string
	ocsp     []string
	aia      []string

	maxPathLen    int
	maxPathLenSet bool

	sigAlg   x509.SignatureAlgorithm
	extra    []pkix.Extension
	signedBy crypto.Signer

	// errs collects option-level problems (unparseable URI...) so that the
	// Option signature stays error-free and the constructor reports them.
	errs []error
}

func collect(opts []Option) *options {
	o := &options{}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	return o
}

// WithKeyType selects the key algorithm for a newly generated key. Ignored
// when WithKey supplies a key.
func WithKeyType(kt KeyType) Option { return func(o *options) { o.keyType = kt } }

// WithKey reuses an existing key instead of generating one: a "renewed"
// certificate, two certificates with the same key, a duplicate subject.
func WithKey(k crypto.Signer) Option { return func(o *options) { o.key = k } }

// WithValidity sets the exact validity window. The defaults are
// now-1h .. now+1y for leaves and now-1h .. now+10y for CAs; the hour of
// back-dating absorbs clock skew between test machines and the verifier.
func WithValidity(notBefore, notAfter time.Time) Option {
	return func(o *options) {
		o.notBefore, o.notAfter, o.validitySet = notBefore, notAfter, true
	}
}

// WithSubject replaces the default subject (CN only) with a full name.
func WithSubject(n pkix.Name) Option { return func(o *options) { o.subject = &n } }

// WithSerial sets the serial number. The default is a random positive
// 128-bit integer.
func WithSerial(s *big.Int) Option {
	return func(o *options) { o.serial = new(big.Int).Set(s) }
}

// WithKeyUsage sets the exact Key Usage bits. 0 omits the Key Usage
// extension altogether (which RFC 5280 permits and verifiers must accept).
func WithKeyUsage(ku x509.KeyUsage) Option {
	return func(o *options) { o.keyUsage, o.keyUsageSet = ku, true }
}

// WithExtKeyUsage sets the exact EKU list, replacing the default. With no
// arguments the EKU extension is omitted.
func WithExtKeyUsage(ekus ...x509.ExtKeyUsage) Option {
	return func(o *options) {
		o.extKeyUsage, o.ekuSet = append([]x509.ExtKeyUsage(nil), ekus...), true
	}
}

// WithUnknownExtKeyUsage adds EKU OIDs that crypto/x509 has no constant for
// (smart-card logon 1.3.6.1.4.1.311.20.2.2...). Like WithExtKeyUsage it makes
// the EKU list explicit: the kind's default EKU is dropped unless also given
// with WithExtKeyUsage.
func WithUnknownExtKeyUsage(oids ...asn1.ObjectIdentifier) Option {
	return func(o *options) {
		o.unknownEKU = append(o.unknownEKU, oids...)
		o.ekuSet = true
	}
}

// WithDNS adds dNSName SANs.
func WithDNS(names ...string) Option {
	return func(o *options) { o.dns = append(o.dns, names...) }
}

// WithIP adds iPAddress SANs.
func WithIP(ips ...net.IP) Option {
	return func(o *options) { o.ips = append(o.ips, ips...) }
}

// WithEmail adds rfc822Name SANs.
func WithEmail(addrs ...string) Option {
	return func(o *options) { o.emails = append(o.emails, addrs...) }
}

// WithURI adds uniformResourceIdentifier SANs given as strings (for example
// SPIFFE IDs). A string that does not parse makes the constructor fail.
func WithURI(uris ...string) Option {
	return func(o *options) {
		for _, s := range uris {
			u, err := url.Parse(s)
			if err != nil {
				o.errs = append(o.errs, fmt.Errorf("%w: uri SAN %q: %v", ErrInvalidOption, s, err))
				continue
			}
			o.uris = append(o.uris, u)
		}
	}
}

// WithUPN adds a Microsoft User Principal Name SAN: otherName
// 1.3.6.1.4.1.311.20.2.3 with a UTF8String value, which is what Active
// Directory certificate mapping reads.
func WithUPN(upn string) Option {
	return func(o *options) { o.upns = append(o.upns, upn) }
}

// WithSID adds the KB5014754 SID extension (szOID_NTDS_CA_SECURITY_EXT,
// 1.3.6.1.4.1.311.25.2, non-critical) naming the account's objectSid
// ("S-1-5-21-..."), as an updated Windows enterprise CA does: the strong
// mapping domain controllers prefer.
func WithSID(sid string) Option {
	return func(o *options) {
		v, err := MarshalSIDExtension(sid)
		if err != nil {
			o.errs = append(o.errs, fmt.Errorf("%w: %v", ErrInvalidOption, err))
			return
		}
		o.extra = append(o.extra, pkix.Extension{Id: OIDNTDSCASecurityExt, Value: v})
	}
}

// WithCRLDistributionPoints adds CRL distribution point URLs (2.5.29.31).
func WithCRLDistributionPoints(urls ...string) Option {
	return func(o *options) { o.crlDPs = append(o.crlDPs, urls...) }
}

// WithFreshestCRL adds delta-CRL distribution point URLs: the Freshest CRL
// extension 2.5.29.46 (RFC 5280 section 4.2.1.15), which crypto/x509 does
// not generate itself.
func WithFreshestCRL(urls ...string) Option {
	return func(o *options) { o.freshest = append(o.freshest, urls...) }
}

// WithOCSPServer adds AIA id-ad-ocsp URLs.
func WithOCSPServer(urls ...string) Option {
	return func(o *options) { o.ocsp = append(o.ocsp, urls...) }
}

// WithIssuingCertificateURL adds AIA id-ad-caIssuers URLs (where a client
// or the doctor can fetch a missing intermediate).
func WithIssuingCertificateURL(urls ...string) Option {
	return func(o *options) { o.aia = append(o.aia, urls...) }
}

// WithMaxPathLen sets the basicConstraints pathLenConstraint of a CA; -1
// leaves it unset (the default). Using it on a leaf is an error.
func WithMaxPathLen(n int) Option {
	return func(o *options) { o.maxPathLen, o.maxPathLenSet = n, true }
}

// WithSignatureAlgorithm chooses the signature algorithm used by the
// issuer. crypto/x509 still signs SHA1WithRSA and ECDSAWithSHA1 (it only
// refuses to verify them in chains), so lint tests can build SHA-1
// certificates; MD5 is refused by crypto/x509 and so by this package.
func WithSignatureAlgorithm(alg x509.SignatureAlgorithm) Option {
	return func(o *options) { o.sigAlg = alg }
}

// WithExtraExtensions adds raw extensions. An extension whose OID the
// package would also generate (SAN, for example) replaces the generated one,
// as in crypto/x509.
func WithExtraExtensions(exts ...pkix.Extension) Option {
	return func(o *options) { o.extra = append(o.extra, exts...) }
}

// WithSignedBy signs the certificate with this key instead of the issuer's
// key while still naming the issuer (issuer DN and authority key ID). The
// result fails signature verification against the real issuer: the
// TRUST_E_CERT_SIGNATURE test case.
func WithSignedBy(k crypto.Signer) Option { return func(o *options) { o.signedBy = k } }

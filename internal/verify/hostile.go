package verify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/certgate/certgate/internal/dname"
	"github.com/certgate/certgate/internal/substatus"
)

// A presented chain is hostile input: the client chooses how many
// certificates it sends, which names and key identifiers they claim and
// how large their keys are, and every candidate issuer costs a signature
// check. A client sending its leaf and 40 fake intermediates that all name
// the real issuing CA, each with an RSA-8192 key and a junk signature, cost
// 80 valid handshakes' worth of CPU per connection. The bounds here keep a
// hostile chain within a small multiple of a valid one
// (BenchmarkHandshakeHostileChain, docs/benchmarks.md):
//
//   - at most Options.MaxPresented certificates (ErrChainTooLong);
//   - no presented RSA key above Options.MaxRSABits (ErrKeyTooLarge),
//     checked before any signature;
//   - candidate issuers ordered by cheap checks (key identifier, key type,
//     CA flag, validity: candidateRank) so that the right one is tried
//     first;
//   - one signature check per (certificate, issuer key) pair, however many
//     certificates carry that key (sigChecks);
//   - failed signature checks, weighted by key size, limited to
//     Options.SignatureBudget per verification (ErrSignatureBudget).
//
// Each refusal is a 403.16 CERT_E_CHAINING outcome; the gateway counts
// them in certgate_chain_refusals_total by Refusal.

// Refusal names the bound a refused chain hit, for metrics; "" when the
// outcome is not such a refusal.
func Refusal(o *Outcome) string {
	if o == nil || o.Err == nil {
		return ""
	}
	switch {
	case errors.Is(o.Err, ErrChainTooLong):
		return RefusalChainTooLong
	case errors.Is(o.Err, ErrKeyTooLarge):
		return RefusalKeyTooLarge
	case errors.Is(o.Err, ErrSignatureBudget):
		return RefusalSignatureBudget
	}
	return ""
}

// Refusal reasons, the label values of certgate_chain_refusals_total.
const (
	RefusalChainTooLong    = "chain_too_long"
	RefusalKeyTooLarge     = "key_too_large"
	RefusalSignatureBudget = "signature_budget"
)

// Refusals lists every Refusal value.
var Refusals = []string{RefusalChainTooLong, RefusalKeyTooLarge, RefusalSignatureBudget}

// tooLong refuses a presented chain of n certificates.
func (v *Verifier) tooLong(n int, leaf *x509.Certificate) *Outcome {
	reason := fmt.Sprintf("the client presented %d certificates; certgate builds chains from at most %d (client_auth.max_chain_length): a client needs to send only its certificate and the intermediates above it", n, v.opts.MaxPresented)
	o := &Outcome{Sub: substatus.CertUntrusted, Code: substatus.CertEChaining, Reason: reason,
		Err: fmt.Errorf("%w: %s", ErrChainTooLong, reason)}
	if leaf != nil {
		o.Element = &Element{Index: 0, Role: RoleLeaf, Cert: leaf}
		o.Chain = []*x509.Certificate{leaf}
	}
	return o
}

// oversizedKey refuses a presented chain with an RSA key larger than
// MaxRSABits, unless that certificate is one of the verifier's own.
func (v *Verifier) oversizedKey(presented []*x509.Certificate) *Outcome {
	for i, c := range presented {
		pub, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok || pub.N == nil || pub.N.BitLen() <= v.opts.MaxRSABits {
			continue
		}
		if v.anchorRaw[string(c.Raw)] || v.isIntermediate(c) {
			continue // the operator's own CA: trusted input
		}
		role := RoleIntermediate
		if i == 0 {
			role = RoleLeaf
		}
		reason := fmt.Sprintf("%s (certificate %d of the presented chain) has a %d-bit RSA key; this site accepts client keys of at most %d bits (client_auth.max_rsa_bits)",
			describe(c), i, pub.N.BitLen(), v.opts.MaxRSABits)
		return &Outcome{Sub: substatus.CertUntrusted, Code: substatus.CertEChaining, Reason: reason,
			Element: &Element{Index: i, Role: role, Cert: c}, Chain: []*x509.Certificate{presented[0]},
			Err: fmt.Errorf("%w: %s", ErrKeyTooLarge, reason)}
	}
	return nil
}

func (v *Verifier) isIntermediate(c *x509.Certificate) bool {
	for _, o := range v.intermediates[dname.Key(c.RawSubject)] {
		if bytes.Equal(o.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// budgetExhausted is the outcome of a verification that ran out of
// signature checks.
func (v *Verifier) budgetExhausted(presented []*x509.Certificate, sigs *sigChecks) *Outcome {
	reason := fmt.Sprintf("the %d presented certificates offer more candidate issuers whose signatures do not verify than certgate checks (a budget of %d P-256-equivalent checks): a valid chain spends none of it, so this chain is refused without further checks",
		len(presented), sigs.limit)
	return &Outcome{Sub: substatus.CertUntrusted, Code: substatus.CertEChaining, Reason: reason,
		Element: &Element{Index: 0, Role: RoleLeaf, Cert: presented[0]}, Chain: []*x509.Certificate{presented[0]},
		Err: fmt.Errorf("%w: %s", ErrSignatureBudget, reason)}
}

// sigChecks counts and memoises the signature checks of one verification.
//
// The memo is keyed by the issuer's key, not the issuer certificate, so
// that many certificates carrying one key cost one check. Only checks that
// FAIL are charged to the budget, weighted by the key's cost (keyCost): a
// certificate's signature verifies under one key only, so checks that
// succeed number at most two per presented certificate (its link and its
// self-signed test), a number the length cap bounds; it is the candidates
// that do not verify (fake issuers) that a hostile client can multiply.
// A valid chain spends nothing of the budget. A nil *sigChecks checks
// without a budget (PathOf: configured input).
type sigChecks struct {
	limit, used int
	exhausted   bool
	memo        map[sigPair]error
}

type sigPair struct {
	child  *x509.Certificate
	parent string // RawSubjectPublicKeyInfo
}

func newSigChecks(limit int) *sigChecks {
	return &sigChecks{limit: limit, memo: make(map[sigPair]error, 4)}
}

// check is checkSignature(child, parent) within the budget. Once the
// failed checks have cost more than the limit (the last one overshoots
// by at most its own cost), every further check fails with
// ErrSignatureBudget. A pair whose key type cannot have produced the
// signature fails without public-key arithmetic and costs nothing.
func (s *sigChecks) check(child, parent *x509.Certificate) error {
	if s == nil || !keyFits(child.SignatureAlgorithm, parent.PublicKey) {
		return checkSignature(child, parent)
	}
	if s.exhausted {
		return ErrSignatureBudget
	}
	k := sigPair{child, string(parent.RawSubjectPublicKeyInfo)}
	if err, ok := s.memo[k]; ok {
		return err
	}
	err := checkSignature(child, parent)
	s.memo[k] = err
	if err != nil {
		s.used += keyCost(parent.PublicKey)
		if s.used > s.limit {
			s.exhausted = true
		}
	}
	return err
}

// keyCost is the CPU cost of one signature check with pub, in ECDSA P-256
// verifications, as measured with Go 1.26 on amd64
// (BenchmarkSignatureCheck): an RSA public operation grows with the square
// of the modulus, and crypto/rsa has assembly only up to 2048 bits, so a
// 4096-bit check costs about 9 times a 2048-bit one.
func keyCost(pub any) int {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		switch {
		case bits <= 2048:
			return 1
		case bits <= 3072:
			return 3
		case bits <= 4096:
			return 5
		}
		n := (bits + 4095) / 4096
		return 5 * n * n
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return 1
		case 384:
			return 3
		}
		return 6
	}
	return 1
}

// keyFits reports whether a key of pub's type can verify a signature of
// algorithm alg.
func keyFits(alg x509.SignatureAlgorithm, pub any) bool {
	switch pub.(type) {
	case *rsa.PublicKey:
		switch alg {
		case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
			x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
			return true
		}
	case *ecdsa.PublicKey:
		switch alg {
		case x509.ECDSAWithSHA1, x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512:
			return true
		}
	case ed25519.PublicKey:
		return alg == x509.PureEd25519
	}
	return false
}

// candidateRank orders candidate issuers of cur, lowest first, by checks
// that cost no signature: a key identifier that contradicts cur's
// authority key identifier (RFC 5280 4.2.1.1), a key that cannot have made
// cur's signature, a certificate that may not issue certificates, and one
// outside its validity at time at. Only the order changes: every
// candidate is still explored, so outcomes are those of an unordered
// search, but a valid path is found, and accepted, first.
func candidateRank(cur, c *x509.Certificate, at time.Time) int {
	r := 0
	if len(cur.AuthorityKeyId) > 0 && len(c.SubjectKeyId) > 0 && !bytes.Equal(cur.AuthorityKeyId, c.SubjectKeyId) {
		r += 8
	}
	if !keyFits(cur.SignatureAlgorithm, c.PublicKey) {
		r += 4
	}
	if !c.BasicConstraintsValid || !c.IsCA || (c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0) {
		r += 2
	}
	if !at.IsZero() && (at.Before(c.NotBefore) || at.After(c.NotAfter)) {
		r++
	}
	return r
}

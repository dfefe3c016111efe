package mapping

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/dname"
)

// issuerSet is upn.issuers compiled: the CA certificates whose direct
// leaves may map by UPN, the equivalent of Active Directory's NTAuth store.
type issuerSet struct {
	// certs are the exact certificates given by fingerprint.
	certs map[[32]byte]bool
	// keys are the CAs given as files, by SHA-256 of the public key, with
	// their subjects: a leaf's issuing CA matches when it has the same key
	// and (RFC 5280 7.1) the same name, so a CA certificate re-issued with
	// the same name and key, which signs the same leaves, still matches.
	keys map[[32]byte][][]byte
}

func (s issuerSet) has(ca *x509.Certificate) bool {
	if s.certs[sha256.Sum256(ca.Raw)] {
		return true
	}
	for _, subj := range s.keys[sha256.Sum256(ca.RawSubjectPublicKeyInfo)] {
		if dname.Equal(subj, ca.RawSubject) {
			return true
		}
	}
	return false
}

func sha256Of(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// compileIssuers reads upn.issuers: each entry is a SHA-256 fingerprint
// or else a certificate file (resolved against baseDir). UPN mapping
// without issuers is refused: it would let every trusted CA name any
// account.
func compileIssuers(u UPN, baseDir string, fail func(string, error)) issuerSet {
	s := issuerSet{certs: map[[32]byte]bool{}, keys: map[[32]byte][][]byte{}}
	if u.Enabled && len(u.Issuers) == 0 {
		fail("upn.issuers", ErrNoUPNIssuers)
	}
	for i, e := range u.Issuers {
		p := "upn.issuers[" + strconv.Itoa(i) + "]"
		if IsFingerprint(e) {
			fp, err := ParseFingerprint(e)
			if err != nil {
				fail(p, err)
				continue
			}
			s.certs[fp] = true
			continue
		}
		certs, err := certfile.LoadCertificates(resolve(baseDir, e))
		if err != nil {
			fail(p, fmt.Errorf("%w: %w", ErrCertFile, err))
			continue
		}
		for _, c := range certs {
			if !c.IsCA {
				fail(p, fmt.Errorf("%q holds %q, which is not a CA certificate; upn.issuers lists the CAs that issue UPN certificates", e, c.Subject.String()))
				continue
			}
			k := sha256.Sum256(c.RawSubjectPublicKeyInfo)
			s.keys[k] = append(s.keys[k], c.RawSubject)
		}
	}
	return s
}

// ErrNoUPNIssuers is returned by Compile for UPN mapping without issuers.
var ErrNoUPNIssuers = errors.New("UPN mapping needs issuers: the CA certificates (files or SHA-256 fingerprints) whose certificates may map by UPN, like Active Directory's NTAuth store; without them any trusted CA, a partner's sub-CA say, could issue a certificate with anyone's UPN")

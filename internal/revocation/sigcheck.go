package revocation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
)

// hashChunk is how much of a signed message one hash Write covers. Hash
// implementations are assembly, and the Go scheduler cannot preempt a
// goroutine inside assembly: a single Write over a 35 MB CRL runs for
// tens of milliseconds without a preemption point, and a garbage
// collection that needs to stop the world waits for it with every other
// goroutine (every handshake in flight) stopped. 256 KiB takes well under
// a millisecond; between chunks the hashing goroutine also yields, so
// that it takes turns with handshakes instead of 10-20 ms time slices.
const hashChunk = 256 << 10

// checkSignatureChunked is issuer.CheckSignature(algo, signed, sig) with
// the message hashed in preemptible chunks. Algorithms and keys it does not
// handle itself (SHA-1 and MD5, which crypto/x509 refuses, Ed25519, a key
// of the wrong type) go to CheckSignature, so the verdicts and errors are
// crypto/x509's.
func checkSignatureChunked(issuer *x509.Certificate, algo x509.SignatureAlgorithm, signed, sig []byte, p *pacer) error {
	h, pss := prehashOf(algo)
	if h == 0 {
		return issuer.CheckSignature(algo, signed, sig)
	}
	isECDSA := algo == x509.ECDSAWithSHA256 || algo == x509.ECDSAWithSHA384 || algo == x509.ECDSAWithSHA512
	switch pub := issuer.PublicKey.(type) {
	case *rsa.PublicKey:
		if isECDSA {
			break
		}
		digest := chunkedDigest(h, signed, p)
		if pss {
			return rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.VerifyPKCS1v15(pub, h, digest, sig)
	case *ecdsa.PublicKey:
		if !isECDSA {
			break
		}
		if !ecdsa.VerifyASN1(pub, chunkedDigest(h, signed, p), sig) {
			return errECDSAVerification
		}
		return nil
	}
	return issuer.CheckSignature(algo, signed, sig)
}

// prehashOf returns the hash of a signature algorithm that signs a digest,
// and whether it is RSA-PSS; 0 for the algorithms left to crypto/x509.
func prehashOf(algo x509.SignatureAlgorithm) (h crypto.Hash, pss bool) {
	switch algo {
	case x509.SHA256WithRSA, x509.ECDSAWithSHA256:
		return crypto.SHA256, false
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384:
		return crypto.SHA384, false
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512:
		return crypto.SHA512, false
	case x509.SHA256WithRSAPSS:
		return crypto.SHA256, true
	case x509.SHA384WithRSAPSS:
		return crypto.SHA384, true
	case x509.SHA512WithRSAPSS:
		return crypto.SHA512, true
	}
	return 0, false
}

func chunkedDigest(h crypto.Hash, msg []byte, p *pacer) []byte {
	w := h.New()
	for len(msg) > 0 {
		n := min(len(msg), hashChunk)
		w.Write(msg[:n])
		msg = msg[n:]
		if len(msg) > 0 {
			p.yield()
		}
	}
	return w.Sum(nil)
}

// errECDSAVerification is crypto/x509's text for a bad ECDSA signature.
var errECDSAVerification = errors.New("x509: ECDSA verification failure")

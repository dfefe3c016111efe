package revocation

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"

	"github.com/certgate/certgate/internal/pki"
)

// TestCheckSignatureChunkedAgreesWithX509: the chunked check gives
// crypto/x509's verdict for every algorithm and key type, on a message
// several chunks long, untouched and with one bit flipped.
func TestCheckSignatureChunkedAgreesWithX509(t *testing.T) {
	msg := make([]byte, 3*hashChunk+17)
	if _, err := rand.Read(msg); err != nil {
		t.Fatal(err)
	}
	// The digest to sign comes from prehashOf; were it wrong, crypto/x509's
	// own verdict on the good signature would say so.
	sign := func(t *testing.T, key crypto.Signer, algo x509.SignatureAlgorithm) []byte {
		h, pss := prehashOf(algo)
		if h == 0 { // Ed25519 signs the message itself
			sig, err := key.Sign(rand.Reader, msg, crypto.Hash(0))
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}
		var opts crypto.SignerOpts = h
		if pss {
			opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
		}
		d := h.New()
		d.Write(msg)
		sig, err := key.Sign(rand.Reader, d.Sum(nil), opts)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	tests := []struct {
		key   pki.KeyType
		algos []x509.SignatureAlgorithm
	}{
		{pki.KeyECDSAP256, []x509.SignatureAlgorithm{x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512}},
		{pki.KeyECDSAP384, []x509.SignatureAlgorithm{x509.ECDSAWithSHA384}},
		{pki.KeyRSA2048, []x509.SignatureAlgorithm{x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA, x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS}},
		{pki.KeyEd25519, []x509.SignatureAlgorithm{x509.PureEd25519}},
	}
	for _, tt := range tests {
		ca, err := pki.NewRoot("sigcheck "+string(tt.key), pki.WithKeyType(tt.key))
		if err != nil {
			t.Fatal(err)
		}
		for _, algo := range tt.algos {
			t.Run(string(tt.key)+"/"+algo.String(), func(t *testing.T) {
				sig := sign(t, ca.Key, algo)
				tampered := append([]byte(nil), msg...)
				tampered[2*hashChunk+5] ^= 1
				type sigCase struct {
					name string
					msg  []byte
					algo x509.SignatureAlgorithm
					ok   bool
				}
				cases := []sigCase{
					{"good", msg, algo, true},
					{"tampered", tampered, algo, false},
					{"SHA-1 refused", msg, x509.SHA1WithRSA, false},
				}
				if algo == x509.ECDSAWithSHA256 {
					cases = append(cases, sigCase{"RSA algorithm with an ECDSA key", msg, x509.SHA256WithRSA, false})
				}
				for _, c := range cases {
					got := checkSignatureChunked(ca.Cert, c.algo, c.msg, sig, nil)
					want := ca.Cert.CheckSignature(c.algo, c.msg, sig)
					if (got == nil) != c.ok || (want == nil) != c.ok {
						t.Errorf("%s: chunked = %v, crypto/x509 = %v, want ok %v", c.name, got, want, c.ok)
					}
				}
			})
		}
	}
}

package revocation

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/pki/pkitest"
)

// resignCRL rewrites the crlExtensions of a CRL with edit and signs the
// result again with key: crypto/x509 cannot create a CRL without a CRL
// number, nor one whose number is critical.
func resignCRL(t *testing.T, der []byte, key crypto.Signer, edit func(exts [][]byte) [][]byte) []byte {
	t.Helper()
	in := cryptobyte.String(der)
	var crl, tbs, sigAlg cryptobyte.String
	if !in.ReadASN1(&crl, cbasn1.SEQUENCE) || !crl.ReadASN1(&tbs, cbasn1.SEQUENCE) || !crl.ReadASN1Element(&sigAlg, cbasn1.SEQUENCE) {
		t.Fatal("resign: not a CRL")
	}
	var fields [][]byte
	var exts [][]byte
	for !tbs.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !tbs.ReadAnyASN1Element(&el, &tag) {
			t.Fatal("resign: TBS")
		}
		if tag != cbasn1.Tag(0).Constructed().ContextSpecific() {
			fields = append(fields, el)
			continue
		}
		var outer, seq cryptobyte.String
		if !el.ReadASN1(&outer, tag) || !outer.ReadASN1(&seq, cbasn1.SEQUENCE) {
			t.Fatal("resign: extensions")
		}
		for !seq.Empty() {
			var e cryptobyte.String
			if !seq.ReadASN1Element(&e, cbasn1.SEQUENCE) {
				t.Fatal("resign: extension")
			}
			exts = append(exts, e)
		}
	}
	exts = edit(exts)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, f := range fields {
			b.AddBytes(f)
		}
		if len(exts) > 0 {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, e := range exts {
						b.AddBytes(e)
					}
				})
			})
		}
	})
	newTBS := b.BytesOrPanic()
	digest := sha256.Sum256(newTBS)
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(newTBS)
		b.AddBytes(sigAlg)
		b.AddASN1BitString(sig)
	})
	return out.BytesOrPanic()
}

// crlNumberExt is the DER of a CRL number extension (2.5.29.20) with
// value 1, critical or not.
func crlNumberExt(critical bool) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier([]int{2, 5, 29, 20})
		if critical {
			b.AddASN1Boolean(true)
		}
		b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) { b.AddASN1Int64(1) })
	})
	return b.BytesOrPanic()
}

// TestCRLNumberRequired: RFC 5280 5.2.3 makes the CRL number mandatory
// and non-critical. A CRL without one, or with a critical one, parses but
// is not used (a CRL that cannot be ordered could be an old one replayed).
func TestCRLNumberRequired(t *testing.T) {
	ca := pkitest.NewRoot(t, "number root", pki.WithKeyType(pki.KeyECDSAP256))
	good := ca.CRL(t, pki.CRLOptions{})
	// oidCRLNumber's content octets: 2.5.29.20.
	isNumber := func(e []byte) bool {
		s := cryptobyte.String(e)
		var seq, o cryptobyte.String
		return s.ReadASN1(&seq, cbasn1.SEQUENCE) && seq.ReadASN1(&o, cbasn1.OBJECT_IDENTIFIER) && string(o) == "\x55\x1d\x14"
	}
	without := func(exts [][]byte) [][]byte {
		var out [][]byte
		for _, e := range exts {
			if !isNumber(e) {
				out = append(out, e)
			}
		}
		return out
	}
	critical := func(exts [][]byte) [][]byte { return append(without(exts), crlNumberExt(true)) }
	same := func(exts [][]byte) [][]byte { return append(without(exts), crlNumberExt(false)) }

	tests := []struct {
		name    string
		der     []byte
		wantErr error
	}{
		{"re-signed with a non-critical number", resignCRL(t, good, ca.Key, same), nil},
		{"no CRL number", resignCRL(t, good, ca.Key, without), ErrCRLNumber},
		{"critical CRL number", resignCRL(t, good, ca.Key, critical), ErrCRLNumber},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCRL(tc.der, ca.Cert)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParseCRL: %v, want %v", err, tc.wantErr)
			}
		})
	}
}

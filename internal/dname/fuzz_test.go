package dname

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

// FuzzParse: names come from certificates nobody has verified yet. Parse,
// Key and Equal never panic; Equal is reflexive and symmetric and agrees
// with Key; a name that parses has the key of its parsed form.
func FuzzParse(f *testing.F) {
	for _, n := range []pkix.Name{{CommonName: "alice", Organization: []string{"Corp"}}, {CommonName: "  ALICE  "}, {}} {
		der, _ := asn1.Marshal(n.ToRDNSequence())
		f.Add(der, der)
	}
	f.Add([]byte{0x30, 0x03, 0x31, 0x01, 0x00}, []byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		n, ok := Parse(a)
		if ok && n.Key() != Key(a) {
			t.Fatal("Key differs from the parsed name's key")
		}
		if !Equal(a, a) {
			t.Fatal("Equal is not reflexive")
		}
		if Equal(a, b) != Equal(b, a) {
			t.Fatal("Equal is not symmetric")
		}
		if Equal(a, b) != (Key(a) == Key(b)) {
			t.Fatal("Equal disagrees with Key")
		}
	})
}

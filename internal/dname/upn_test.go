package dname

import (
	"encoding/asn1"
	"strings"
	"testing"
	"unicode/utf8"
)

// otherName builds the content of an otherName (type-id, [0] EXPLICIT value).
func otherName(t testing.TB, oid asn1.ObjectIdentifier, value []byte) []byte {
	t.Helper()
	o, err := asn1.Marshal(oid)
	if err != nil {
		t.Fatal(err)
	}
	w, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: value})
	if err != nil {
		t.Fatal(err)
	}
	return append(o, w...)
}

func utf8String(t testing.TB, s string) []byte {
	t.Helper()
	b, err := asn1.MarshalWithParams(s, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOtherNameUPN(t *testing.T) {
	ia5, _ := asn1.MarshalWithParams("a@corp.test", "ia5")
	tests := []struct {
		name    string
		content []byte
		upn     string
		isUPN   bool
		err     string
	}{
		{"upn", otherName(t, OIDUPN, utf8String(t, "alice@corp.test")), "alice@corp.test", true, ""},
		{"constraint form", otherName(t, OIDUPN, utf8String(t, "@corp.test")), "@corp.test", true, ""},
		{"other type", otherName(t, asn1.ObjectIdentifier{1, 2, 3}, utf8String(t, "x")), "", false, ""},
		{"ia5 value", otherName(t, OIDUPN, ia5), "", true, "not a UTF8String"},
		{"trailing bytes", append(otherName(t, OIDUPN, utf8String(t, "a")), 0), "", true, "explicitly tagged"},
		{"invalid utf-8", otherName(t, OIDUPN, []byte{0x0c, 2, 0xff, 0xfe}), "", true, "UTF-8"},
		{"no type-id", []byte{0x04, 0}, "", false, "type-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upn, isUPN, err := OtherNameUPN(tt.content)
			if upn != tt.upn || isUPN != tt.isUPN || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("OtherNameUPN = %q, %v, %v; want %q, %v, error with %q", upn, isUPN, err, tt.upn, tt.isUPN, tt.err)
			}
		})
	}
}

// FuzzOtherNameUPN: otherName content from an unverified certificate never
// panics, and a UPN that parses is valid UTF-8.
func FuzzOtherNameUPN(f *testing.F) {
	f.Add(otherName(f, OIDUPN, utf8String(f, "alice@corp.test")))
	f.Add(otherName(f, asn1.ObjectIdentifier{1, 2, 3}, utf8String(f, "x")))
	f.Add([]byte{0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03, 0xa0, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		upn, isUPN, err := OtherNameUPN(data)
		if err != nil && upn != "" {
			t.Errorf("error %v with a UPN %q", err, upn)
		}
		if err == nil && isUPN && !utf8.ValidString(upn) {
			t.Errorf("parsed UPN %q is not valid UTF-8", upn)
		}
	})
}

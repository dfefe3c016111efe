package dname

import (
	"encoding/asn1"
	"testing"
	"unicode/utf16"
)

// ASN.1 attribute types used below.
var (
	oidC  = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidDC = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
)

// av is one attribute value with an explicit ASN.1 string tag, so that the
// tests control the encoding crypto/x509 would otherwise choose.
type av struct {
	oid asn1.ObjectIdentifier
	tag int
	val string
}

func enc(v av) asn1.RawValue {
	b := []byte(v.val)
	if v.tag == tagBMPString {
		b = nil
		for _, u := range utf16.Encode([]rune(v.val)) {
			b = append(b, byte(u>>8), byte(u))
		}
	}
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: v.tag, Bytes: b}
}

type attr struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// name encodes RDNs (each a set of values) as a DER Name.
func name(t *testing.T, rdns ...[]av) []byte {
	t.Helper()
	var seq [][]attr
	for _, r := range rdns {
		var set []attr
		for _, v := range r {
			set = append(set, attr{v.oid, enc(v)})
		}
		seq = append(seq, set)
	}
	var outer []asn1.RawValue
	for _, set := range seq {
		der, err := asn1.MarshalWithParams(set, "set")
		if err != nil {
			t.Fatal(err)
		}
		outer = append(outer, asn1.RawValue{FullBytes: der})
	}
	der, err := asn1.Marshal(outer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func one(v av) []av { return []av{v} }

const ps, utf, ia5, bmp = tagPrintableString, tagUTF8String, tagIA5String, tagBMPString

func TestEqual(t *testing.T) {
	goodCA := func(cn string, tag int) []byte {
		return name(t, one(av{oidC, ps, "US"}), one(av{oidO, ps, "Test Certificates 2011"}), one(av{oidCN, tag, cn}))
	}
	cases := []struct {
		name string
		a, b []byte
		want bool
	}{
		{"identical", goodCA("Good CA", ps), goodCA("Good CA", ps), true},
		{"case differs (PKITS 4.3.5)", goodCA("Good CA", ps), goodCA("GOOD CA", ps), true},
		{"inner spaces collapse (PKITS 4.3.3)", goodCA("Good CA", ps), goodCA("Good     CA", ps), true},
		{"leading and trailing spaces (PKITS 4.3.4)", goodCA("Good CA", ps), goodCA("   Good CA  ", ps), true},
		{"PrintableString vs UTF8String (PKITS 4.3.10)", goodCA("Good CA", ps), goodCA("Good CA", utf), true},
		{"UTF8String case-insensitive (PKITS 4.3.11)", goodCA("good ca", utf), goodCA("GOOD CA", utf), true},
		{"BMPString vs UTF8String", goodCA("Good CA", bmp), goodCA("good ca", utf), true},
		{"non-ASCII folding", goodCA("ÉCOLE", utf), goodCA("école", utf), true},
		{"different value", goodCA("Good CA", ps), goodCA("Bad CA", ps), false},
		{"space is significant inside", goodCA("Good CA", ps), goodCA("GoodCA", ps), false},
		{"IA5String is not a directory string", goodCA("Good CA", ia5), goodCA("Good CA", ps), false},
		{"IA5String compares without case", name(t, one(av{oidDC, ia5, "Example"})), name(t, one(av{oidDC, ia5, "example"})), true},
		{"different attribute type", name(t, one(av{oidO, ps, "X"})), name(t, one(av{oidOU, ps, "X"})), false},
		{"RDN order matters", name(t, one(av{oidC, ps, "US"}), one(av{oidO, ps, "X"})), name(t, one(av{oidO, ps, "X"}), one(av{oidC, ps, "US"})), false},
		{"multi-valued RDN order does not", name(t, []av{{oidO, ps, "X"}, {oidOU, ps, "Y"}}), name(t, []av{{oidOU, ps, "y"}, {oidO, ps, "x"}}), true},
		{"prefix is not equal", name(t, one(av{oidC, ps, "US"})), name(t, one(av{oidC, ps, "US"}), one(av{oidO, ps, "X"})), false},
		{"malformed compares by bytes", []byte{0x30, 0x03, 0x01}, []byte{0x30, 0x03, 0x02}, false},
		{"malformed equal bytes", []byte{0x30, 0x03, 0x01}, []byte{0x30, 0x03, 0x01}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Equal(c.a, c.b); got != c.want {
				t.Errorf("Equal = %t, want %t", got, c.want)
			}
			if got := Key(c.a) == Key(c.b); got != c.want {
				t.Errorf("Key(a) == Key(b) is %t, want %t", got, c.want)
			}
		})
	}
}

func TestWithin(t *testing.T) {
	base := name(t, one(av{oidC, ps, "US"}), one(av{oidO, ps, "Test Certificates 2011"}), one(av{oidOU, ps, "permittedSubtree1"}))
	cases := []struct {
		name string
		der  []byte
		want bool
	}{
		{"below the base", name(t, one(av{oidC, ps, "US"}), one(av{oidO, ps, "Test Certificates 2011"}), one(av{oidOU, ps, "permittedSubtree1"}), one(av{oidCN, ps, "EE"})), true},
		{"the base itself", base, true},
		{"below, other case and string type", name(t, one(av{oidC, ps, "us"}), one(av{oidO, utf, "test  certificates 2011"}), one(av{oidOU, utf, "PERMITTEDSUBTREE1"}), one(av{oidCN, ps, "EE"})), true},
		{"sibling subtree", name(t, one(av{oidC, ps, "US"}), one(av{oidO, ps, "Test Certificates 2011"}), one(av{oidOU, ps, "permittedSubtree2"}), one(av{oidCN, ps, "EE"})), false},
		{"above the base", name(t, one(av{oidC, ps, "US"}), one(av{oidO, ps, "Test Certificates 2011"})), false},
	}
	b, ok := Parse(base)
	if !ok {
		t.Fatal("base does not parse")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, ok := Parse(c.der)
			if !ok {
				t.Fatal("name does not parse")
			}
			if got := n.Within(b); got != c.want {
				t.Errorf("Within = %t, want %t (name %s, base %s)", got, c.want, n, b)
			}
		})
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	for _, der := range [][]byte{nil, {0x30}, {0x30, 0x02, 0x31, 0x00}, {0x31, 0x00}, append(name(t, one(av{oidC, ps, "US"})), 0)} {
		if _, ok := Parse(der); ok {
			t.Errorf("Parse(%x) succeeded", der)
		}
	}
}

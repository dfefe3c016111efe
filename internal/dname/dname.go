package dname

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ASN.1 universal tags of the string types.
const (
	tagUTF8String      = 12
	tagPrintableString = 19
	tagIA5String       = 22
	tagUniversalString = 28
	tagBMPString       = 30
)

// atv is one AttributeTypeAndValue with its value normalised.
type atv struct {
	oid   string // DER of the attribute type
	class byte   // 'd' directory string, 'i' IA5String, 'r' raw TLV
	value string
}

type rdn []atv

// Name is a parsed distinguished name: its RDNs, first (most significant)
// first, each with normalised values. It is empty for an empty subject.
type Name []rdn

// Parse reads a DER Name. ok is false when the bytes are not a well-formed
// Name.
func Parse(der []byte) (rdns Name, ok bool) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, false
	}
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) || set.Empty() {
			return nil, false
		}
		var r rdn
		for !set.Empty() {
			var pair, oid cryptobyte.String
			var val cryptobyte.String
			var tag cbasn1.Tag
			if !set.ReadASN1(&pair, cbasn1.SEQUENCE) ||
				!pair.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) ||
				!pair.ReadAnyASN1Element(&val, &tag) || !pair.Empty() {
				return nil, false
			}
			a := atv{oid: string(oid)}
			var content cryptobyte.String
			var t cbasn1.Tag
			raw := val
			if !raw.ReadAnyASN1(&content, &t) {
				return nil, false
			}
			switch int(tag) {
			case tagUTF8String, tagPrintableString:
				if !utf8.Valid(content) {
					return nil, false
				}
				a.class, a.value = 'd', prepString(string(content))
			case tagBMPString:
				s, ok := decodeBMP(content)
				if !ok {
					return nil, false
				}
				a.class, a.value = 'd', prepString(s)
			case tagUniversalString:
				s, ok := decodeUniversal(content)
				if !ok {
					return nil, false
				}
				a.class, a.value = 'd', prepString(s)
			case tagIA5String:
				a.class, a.value = 'i', prepString(string(content))
			default:
				a.class, a.value = 'r', string(val)
			}
			r = append(r, a)
		}
		// An RDN is a set: order its values so that equal sets compare
		// equal however they were encoded.
		slices.SortFunc(r, func(x, y atv) int {
			if c := strings.Compare(x.oid, y.oid); c != 0 {
				return c
			}
			if x.class != y.class {
				return int(x.class) - int(y.class)
			}
			return strings.Compare(x.value, y.value)
		})
		rdns = append(rdns, r)
	}
	return rdns, true
}

// prepString applies case folding and insignificant space handling
// (RFC 4518 sections 2.3 and 2.6.1, without NFKC).
func prepString(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldRune maps a rune to a canonical case: the smallest rune of its
// simple case-folding orbit, so that every member of an orbit (k, K and
// the Kelvin sign) maps to the same rune.
func foldRune(r rune) rune {
	min := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < min {
			min = f
		}
	}
	return min
}

func decodeBMP(b []byte) (string, bool) {
	if len(b)%2 != 0 {
		return "", false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u)), true
}

func decodeUniversal(b []byte) (string, bool) {
	if len(b)%4 != 0 {
		return "", false
	}
	var sb strings.Builder
	for i := 0; i < len(b); i += 4 {
		r := rune(uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3]))
		if !utf8.ValidRune(r) {
			return "", false
		}
		sb.WriteRune(r)
	}
	return sb.String(), true
}

// Key is a canonical form of a DER Name: two names have the same key
// exactly when they match under RFC 5280 section 7.1. A malformed name's
// key is its bytes, distinct from every well-formed name's key. Use it to
// index certificates or CRLs by name.
func Key(der []byte) string {
	n, ok := Parse(der)
	if !ok {
		return "\x00raw" + string(der)
	}
	return n.Key()
}

// Key is the canonical form of a parsed name (see the function Key).
func (n Name) Key() string {
	rdns := n
	var b strings.Builder
	b.WriteString("\x01")
	for _, r := range rdns {
		b.WriteString("{")
		for _, a := range r {
			writeLenPrefixed(&b, a.oid)
			b.WriteByte(a.class)
			writeLenPrefixed(&b, a.value)
		}
		b.WriteString("}")
	}
	return b.String()
}

func writeLenPrefixed(b *strings.Builder, s string) {
	n := len(s)
	b.WriteByte(byte(n >> 24))
	b.WriteByte(byte(n >> 16))
	b.WriteByte(byte(n >> 8))
	b.WriteByte(byte(n))
	b.WriteString(s)
}

// Equal reports whether two DER-encoded distinguished names match under
// RFC 5280 section 7.1 (see the package comment).
func Equal(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	return Key(a) == Key(b)
}

// Within reports whether n lies within the directoryName subtree base:
// base's RDNs are a prefix of n's (RFC 5280 4.2.1.10, compared as 7.1
// says).
func (n Name) Within(base Name) bool {
	if len(base) > len(n) {
		return false
	}
	for i := range base {
		if !slices.Equal(n[i], base[i]) {
			return false
		}
	}
	return true
}

// String renders the normalised name (case-folded values) in RFC 4514
// order, most specific RDN first, for messages.
func (n Name) String() string {
	rdns := n
	var parts []string
	for i := len(rdns) - 1; i >= 0; i-- {
		var vals []string
		for _, a := range rdns[i] {
			var oid asn1.ObjectIdentifier
			name := "?"
			if len(a.oid) < 128 {
				if _, err := asn1.Unmarshal(append([]byte{0x06, byte(len(a.oid))}, a.oid...), &oid); err == nil {
					name = attrName(oid)
				}
			}
			v := a.value
			if a.class == 'r' {
				v = fmt.Sprintf("#%x", a.value)
			}
			vals = append(vals, name+"="+v)
		}
		parts = append(parts, strings.Join(vals, "+"))
	}
	return strings.Join(parts, ",")
}

func attrName(oid asn1.ObjectIdentifier) string {
	names := map[string]string{"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
		"2.5.4.11": "OU", "2.5.4.5": "SERIALNUMBER", "2.5.4.9": "STREET", "2.5.4.17": "POSTALCODE",
		"0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID", "1.2.840.113549.1.9.1": "emailAddress"}
	if n, ok := names[oid.String()]; ok {
		return n
	}
	return oid.String()
}

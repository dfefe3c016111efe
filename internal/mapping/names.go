package mapping

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file holds the vocabulary of mapping rules that config validation
// shares with the engine: DN attribute names, fingerprints and the names
// that may be forwarded as a user or group. internal/config calls these
// functions, so a rule that validates is a rule that runs.

// DNAttributes are the attribute names a DNMatch accepts, in the order
// certgate lists them.
var DNAttributes = []string{"CN", "O", "OU", "C", "L", "ST", "E", "DC", "serialNumber"}

// CanonicalDNAttribute returns the canonical spelling of a DN attribute name
// given in any case ("ou" -> "OU"). "emailAddress" is accepted for E, as
// OpenSSL names it.
func CanonicalDNAttribute(name string) (string, bool) {
	name = strings.TrimSpace(name)
	if strings.EqualFold(name, "emailAddress") {
		return "E", true
	}
	for _, a := range DNAttributes {
		if strings.EqualFold(a, name) {
			return a, true
		}
	}
	return "", false
}

// ParseFingerprint decodes a SHA-256 certificate fingerprint written as hex,
// optionally with colons or spaces between bytes and an openssl
// "sha256 Fingerprint=" prefix.
func ParseFingerprint(s string) ([32]byte, error) {
	var out [32]byte
	v := strings.TrimSpace(s)
	if i := strings.LastIndexByte(v, '='); i >= 0 {
		v = v[i+1:]
	}
	v = strings.Map(func(r rune) rune {
		if r == ':' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, v)
	b, err := hex.DecodeString(v)
	if err != nil {
		return out, fmt.Errorf("parse fingerprint %q: not hex", s)
	}
	switch len(b) {
	case 32:
	case 20:
		return out, fmt.Errorf("parse fingerprint %q: this is a SHA-1 fingerprint; give the SHA-256 one (openssl x509 -noout -fingerprint -sha256 -in CERT.pem)", s)
	default:
		return out, fmt.Errorf("parse fingerprint %q: want 32 bytes (64 hex digits) of SHA-256, got %d bytes", s, len(b))
	}
	copy(out[:], b)
	return out, nil
}

// maxIdentityName bounds user and group names: they travel in a request
// header to the upstream on every request.
const maxIdentityName = 256

// CheckUserName reports whether s can be forwarded as a user name:
// non-empty, at most 256 bytes of valid UTF-8, no leading or trailing white
// space and no control characters, which would let a certificate field
// split or forge headers.
func CheckUserName(s string) error { return checkName(s, false) }

// CheckGroupName is CheckUserName for group names, which additionally may
// not hold commas: the groups header is a comma-separated list.
func CheckGroupName(s string) error { return checkName(s, true) }

func checkName(s string, group bool) error {
	switch {
	case s == "":
		return errors.New("empty name")
	case len(s) > maxIdentityName:
		return fmt.Errorf("longer than %d bytes", maxIdentityName)
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	case strings.TrimSpace(s) != s:
		return errors.New("leading or trailing white space")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("control character %U", r)
		}
		if group && r == ',' {
			return errors.New("comma (the groups header separates names with commas)")
		}
	}
	return nil
}

// IsFingerprint reports whether s is written as a certificate fingerprint
// (hex digits, at least 40 once colons and spaces are removed, optionally
// after an openssl "sha256 Fingerprint=" prefix) rather than a file name:
// upn.issuers accepts both. A SHA-1 fingerprint counts, so that
// ParseFingerprint can say it is the wrong hash instead of "no such file".
func IsFingerprint(s string) bool {
	v := strings.TrimSpace(s)
	if i := strings.LastIndexByte(v, '='); i >= 0 {
		v = v[i+1:]
	}
	n := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == ':' || c == ' ' || c == '\t':
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			n++
		default:
			return false
		}
	}
	return n >= 40
}

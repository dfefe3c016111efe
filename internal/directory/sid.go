package directory

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	// oidNTDSCASecurityExt is szOID_NTDS_CA_SECURITY_EXT (KB5014754).
	oidNTDSCASecurityExt = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 25, 2}
	// oidNTDSObjectSID is szOID_NTDS_OBJECTSID, the otherName inside it.
	oidNTDSObjectSID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 25, 2, 1}
)

// CertificateSID returns the account SID ("S-1-5-21-...") a Windows CA
// wrote into c's SID extension, "" when c has none. The extension is
// SEQUENCE { [0] { szOID_NTDS_OBJECTSID, [0] EXPLICIT OCTET STRING sid } };
// anything else is an error, not "no SID": a certificate whose SID cannot
// be read must not be mapped by another method to an account whose SID it
// might contradict.
func CertificateSID(c *x509.Certificate) (string, error) {
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidNTDSCASecurityExt) {
			continue
		}
		sid, err := parseSIDExtension(e.Value)
		if err != nil {
			return "", fmt.Errorf("read SID extension %v: %w", oidNTDSCASecurityExt, err)
		}
		return sid, nil
	}
	return "", nil
}

func parseSIDExtension(der []byte) (string, error) {
	in := cryptobyte.String(der)
	var seq, on, wrapped, value cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return "", fmt.Errorf("not a SEQUENCE")
	}
	for !seq.Empty() {
		if !seq.ReadASN1(&on, cbasn1.Tag(0).ContextSpecific().Constructed()) {
			return "", fmt.Errorf("entry is not an otherName")
		}
		if !on.ReadASN1ObjectIdentifier(&oid) {
			return "", fmt.Errorf("otherName without a type-id")
		}
		if !oid.Equal(oidNTDSObjectSID) {
			continue
		}
		if !on.ReadASN1(&wrapped, cbasn1.Tag(0).ContextSpecific().Constructed()) || !on.Empty() ||
			!wrapped.ReadASN1(&value, cbasn1.OCTET_STRING) || !wrapped.Empty() {
			return "", fmt.Errorf("objectSid value is not an OCTET STRING explicitly tagged [0]")
		}
		if _, err := ParseSID(string(value)); err != nil {
			return "", err
		}
		return string(value), nil
	}
	return "", fmt.Errorf("no szOID_NTDS_OBJECTSID entry")
}

// ParseSID converts a SID in string form ("S-1-5-21-1-2-3-1104") to the
// binary form Active Directory stores in objectSid (MS-DTYP 2.4.2.2):
// revision, sub-authority count, 48-bit big-endian identifier authority,
// then little-endian 32-bit sub-authorities.
func ParseSID(s string) ([]byte, error) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || parts[0] != "S" || len(parts)-3 > 15 {
		return nil, fmt.Errorf("parse SID %q: want S-1-<authority>-<sub-authority>... with at most 15 sub-authorities", s)
	}
	rev, err := strconv.ParseUint(parts[1], 10, 8)
	if err != nil || rev != 1 {
		return nil, fmt.Errorf("parse SID %q: revision must be 1", s)
	}
	auth, err := strconv.ParseUint(parts[2], 10, 48)
	if err != nil {
		return nil, fmt.Errorf("parse SID %q: bad identifier authority", s)
	}
	subs := parts[3:]
	out := make([]byte, 8, 8+4*len(subs))
	out[0], out[1] = 1, byte(len(subs))
	for i := 0; i < 6; i++ {
		out[2+i] = byte(auth >> (8 * (5 - i)))
	}
	for _, p := range subs {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parse SID %q: bad sub-authority %q", s, p)
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(v))
	}
	return out, nil
}

// FormatSID is the inverse of ParseSID; a malformed binary SID gives "".
func FormatSID(b []byte) string {
	if len(b) < 8 || b[0] != 1 || len(b) != 8+4*int(b[1]) {
		return ""
	}
	var auth uint64
	for i := 0; i < 6; i++ {
		auth = auth<<8 | uint64(b[2+i])
	}
	var sb strings.Builder
	sb.WriteString("S-1-")
	sb.WriteString(strconv.FormatUint(auth, 10))
	for i := 8; i < len(b); i += 4 {
		sb.WriteByte('-')
		sb.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[i:])), 10))
	}
	return sb.String()
}

// escapeBinary writes every byte as \xx, the RFC 4515 filter form that
// matches an octet-string attribute such as objectSid.
func escapeBinary(b []byte) string {
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b))
	for _, c := range b {
		out = append(out, '\\', hexd[c>>4], hexd[c&15])
	}
	return string(out)
}

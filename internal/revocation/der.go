package revocation

import (
	"bytes"
	"crypto/x509"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DER encodings of the OIDs this package recognises, compared as bytes so
// that walking a million CRL entries never allocates an ObjectIdentifier.
var (
	oidAuthorityKeyID    = []byte{0x55, 0x1d, 0x23}          // 2.5.29.35
	oidCRLNumber         = []byte{0x55, 0x1d, 0x14}          // 2.5.29.20
	oidDeltaCRLIndicator = []byte{0x55, 0x1d, 0x1b}          // 2.5.29.27
	oidIssuingDP         = []byte{0x55, 0x1d, 0x1c}          // 2.5.29.28
	oidFreshestCRL       = []byte{0x55, 0x1d, 0x2e}          // 2.5.29.46
	oidIssuerAltName     = []byte{0x55, 0x1d, 0x12}          // 2.5.29.18
	oidExpiredCertsOnCRL = []byte{0x55, 0x1d, 0x3c}          // 2.5.29.60
	oidReasonCode        = []byte{0x55, 0x1d, 0x15}          // 2.5.29.21
	oidHoldInstruction   = []byte{0x55, 0x1d, 0x17}          // 2.5.29.23
	oidInvalidityDate    = []byte{0x55, 0x1d, 0x18}          // 2.5.29.24
	oidCertificateIssuer = []byte{0x55, 0x1d, 0x1d}          // 2.5.29.29
	oidAIA               = []byte{0x2b, 6, 1, 5, 5, 7, 1, 1} // 1.3.6.1.5.5.7.1.1
)

// oidString renders a DER OID for error messages (cold path).
func oidString(der []byte) string {
	var b []byte
	var v uint64
	first := true
	for _, c := range der {
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 != 0 {
			continue
		}
		if first {
			first = false
			switch {
			case v < 40:
				b = append(b, '0', '.')
			case v < 80:
				b = append(b, '1', '.')
				v -= 40
			default:
				b = append(b, '2', '.')
				v -= 80
			}
			b = appendUint(b, v)
		} else {
			b = append(b, '.')
			b = appendUint(b, v)
		}
		v = 0
	}
	return string(b)
}

func appendUint(b []byte, v uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// normalizeSerial returns the minimal two's-complement encoding of a DER
// INTEGER's content. DER already requires it, but some CAs pad serials with
// a leading zero; comparing normalized bytes makes "00 7f" and "7f" the same
// serial, as big.Int comparison would, without allocating.
func normalizeSerial(b []byte) []byte {
	for len(b) > 1 {
		if b[0] == 0x00 && b[1]&0x80 == 0 || b[0] == 0xff && b[1]&0x80 != 0 {
			b = b[1:]
			continue
		}
		break
	}
	return b
}

// certSerial returns the normalized content bytes of the certificate's
// serial number, read from RawTBSCertificate so that no big.Int is
// converted (zero allocations on the request path). ok is false only for a
// certificate crypto/x509 could not have parsed.
func certSerial(c *x509.Certificate) (serial []byte, ok bool) {
	s := cryptobyte.String(c.RawTBSCertificate)
	var tbs cryptobyte.String
	if !s.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, false
	}
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, false
	}
	var v cryptobyte.String
	if !tbs.ReadASN1(&v, cbasn1.INTEGER) || len(v) == 0 {
		return nil, false
	}
	return normalizeSerial(v), true
}

// isCA reports whether c is a CA certificate for CRL scope purposes
// (RFC 5280 section 6.3.3 (b)(2)(ii)/(iii) use the basicConstraints cA flag).
func isCA(c *x509.Certificate) bool { return c.BasicConstraintsValid && c.IsCA }

// parseDERTime parses the content of a UTCTime or GeneralizedTime in the
// forms RFC 5280 section 4.1.2.5 requires (YYMMDDHHMMSSZ and
// YYYYMMDDHHMMSSZ) into Unix seconds, without allocating. Other forms fall
// back to the general, slower parser.
func parseDERTime(tag cbasn1.Tag, v []byte) (int64, bool) {
	var year, i int
	switch {
	case tag == cbasn1.UTCTime && len(v) == 13:
		yy, ok := digits2(v[0], v[1])
		if !ok {
			return 0, false
		}
		// RFC 5280 4.1.2.5.1: YY >= 50 is 19YY, otherwise 20YY.
		if yy >= 50 {
			year = 1900 + yy
		} else {
			year = 2000 + yy
		}
		i = 2
	case tag == cbasn1.GeneralizedTime && len(v) == 15:
		hi, ok1 := digits2(v[0], v[1])
		lo, ok2 := digits2(v[2], v[3])
		if !ok1 || !ok2 {
			return 0, false
		}
		year = hi*100 + lo
		i = 4
	default:
		return parseTimeSlow(tag, v)
	}
	if v[len(v)-1] != 'Z' {
		return parseTimeSlow(tag, v)
	}
	month, ok1 := digits2(v[i], v[i+1])
	day, ok2 := digits2(v[i+2], v[i+3])
	hour, ok3 := digits2(v[i+4], v[i+5])
	minute, ok4 := digits2(v[i+6], v[i+7])
	sec, ok5 := digits2(v[i+8], v[i+9])
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	return daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec), true
}

func digits2(a, b byte) (int, bool) {
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return 0, false
	}
	return int(a-'0')*10 + int(b-'0'), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is Howard Hinnant's algorithm: days since 1970-01-01 of a
// proleptic Gregorian date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// parseTimeSlow accepts what cryptobyte (and so crypto/x509) accepts for
// times that are not in the strict RFC 5280 form.
func parseTimeSlow(tag cbasn1.Tag, v []byte) (int64, bool) {
	var b cryptobyte.Builder
	b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes(v) })
	der, err := b.Bytes()
	if err != nil {
		return 0, false
	}
	s := cryptobyte.String(der)
	var t time.Time
	switch tag {
	case cbasn1.UTCTime:
		if !s.ReadASN1UTCTime(&t) {
			return 0, false
		}
	case cbasn1.GeneralizedTime:
		if !s.ReadASN1GeneralizedTime(&t) {
			return 0, false
		}
	default:
		return 0, false
	}
	return t.Unix(), true
}

func hasOID(oid []byte, want []byte) bool { return bytes.Equal(oid, want) }

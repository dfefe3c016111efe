package accesslog

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Field is one column of a configurable access log (access_log.fields).
type Field uint8

// The fields: IIS's W3C names, and certgate's x-cert-* fields describing
// the client certificate (W3C extended log format section "Fields": x-
// prefixes application-specific fields).
const (
	FieldDate Field = iota + 1
	FieldTime
	FieldSiteName
	FieldComputerName
	FieldServerIP
	FieldMethod
	FieldURIStem
	FieldURIQuery
	FieldServerPort
	FieldUsername
	FieldClientIP
	FieldVersion
	FieldUserAgent
	FieldReferer
	FieldHost
	FieldStatus
	FieldSubStatus
	FieldWin32
	FieldBytesSent
	FieldBytesReceived
	FieldTimeTaken
	FieldCertSubject
	FieldCertIssuer
	FieldCertSerial
	FieldCertSHA256
	FieldCertResult
	numFields
)

var fieldNames = [numFields]string{
	FieldDate: "date", FieldTime: "time", FieldSiteName: "s-sitename", FieldComputerName: "s-computername",
	FieldServerIP: "s-ip", FieldMethod: "cs-method", FieldURIStem: "cs-uri-stem", FieldURIQuery: "cs-uri-query",
	FieldServerPort: "s-port", FieldUsername: "cs-username", FieldClientIP: "c-ip", FieldVersion: "cs-version",
	FieldUserAgent: "cs(User-Agent)", FieldReferer: "cs(Referer)", FieldHost: "cs-host", FieldStatus: "sc-status",
	FieldSubStatus: "sc-substatus", FieldWin32: "sc-win32-status", FieldBytesSent: "sc-bytes", FieldBytesReceived: "cs-bytes",
	FieldTimeTaken: "time-taken", FieldCertSubject: "x-cert-subject", FieldCertIssuer: "x-cert-issuer",
	FieldCertSerial: "x-cert-serial", FieldCertSHA256: "x-cert-sha256", FieldCertResult: "x-cert-result",
}

// String is the field's name in #Fields and in JSON lines.
func (f Field) String() string {
	if f > 0 && f < numFields {
		return fieldNames[f]
	}
	return "field(" + strconv.Itoa(int(f)) + ")"
}

// FieldNames lists every field name, in the order above.
func FieldNames() []string { return append([]string(nil), fieldNames[1:]...) }

// DefaultFields is Fields (the layout certgate always wrote) as a list.
var DefaultFields = mustFields(strings.Fields(Fields))

func mustFields(names []string) []Field {
	fs, err := ParseFields(names)
	if err != nil {
		panic(err)
	}
	return fs
}

// ParseFields maps field names (case-insensitive, as IIS and log
// analysers treat them) to Fields. An unknown or repeated name is an
// error that lists the known ones.
func ParseFields(names []string) ([]Field, error) {
	out := make([]Field, 0, len(names))
	seen := map[Field]bool{}
	for _, n := range names {
		var f Field
		for i := Field(1); i < numFields; i++ {
			if strings.EqualFold(fieldNames[i], n) {
				f = i
			}
		}
		if f == 0 {
			return nil, fmt.Errorf("unknown field %q; known: %s", n, strings.Join(FieldNames(), " "))
		}
		if seen[f] {
			return nil, fmt.Errorf("field %q listed twice", n)
		}
		seen[f] = true
		out = append(out, f)
	}
	return out, nil
}

// AppendFields appends e as one W3C line with the given fields.
func AppendFields(dst []byte, fields []Field, e *Entry) []byte {
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendW3C(dst, f, e)
	}
	return append(dst, '\n')
}

func appendW3C(dst []byte, f Field, e *Entry) []byte {
	switch f {
	case FieldDate:
		return appendDate(dst, e.Time.UTC())
	case FieldTime:
		return appendClock(dst, e.Time.UTC())
	case FieldServerIP:
		return appendAddr(dst, e.ServerIP)
	case FieldClientIP:
		return appendAddr(dst, e.ClientIP)
	case FieldServerPort:
		if e.ServerPort > 0 {
			return strconv.AppendInt(dst, int64(e.ServerPort), 10)
		}
		return append(dst, '-')
	case FieldStatus:
		return strconv.AppendInt(dst, int64(e.Status), 10)
	case FieldSubStatus:
		return strconv.AppendInt(dst, int64(e.SubStatus), 10)
	case FieldWin32:
		return strconv.AppendUint(dst, uint64(e.Win32.W3C()), 10)
	case FieldTimeTaken:
		return strconv.AppendInt(dst, max(e.TimeTaken.Milliseconds(), 0), 10)
	case FieldBytesSent, FieldBytesReceived:
		n := e.BytesSent
		if f == FieldBytesReceived {
			n = e.BytesReceived
		}
		if n < 0 {
			return append(dst, '-')
		}
		return strconv.AppendInt(dst, n, 10)
	}
	return appendField(dst, stringField(f, e))
}

// stringField returns the text fields of e.
func stringField(f Field, e *Entry) string {
	switch f {
	case FieldSiteName:
		return e.SiteName
	case FieldComputerName:
		return e.ComputerName
	case FieldMethod:
		return e.Method
	case FieldURIStem:
		return e.URIStem
	case FieldURIQuery:
		return e.URIQuery
	case FieldUsername:
		return e.Username
	case FieldVersion:
		return e.Version
	case FieldUserAgent:
		return e.UserAgent
	case FieldReferer:
		return e.Referer
	case FieldHost:
		return e.Host
	case FieldCertSubject:
		return e.CertSubject
	case FieldCertIssuer:
		return e.CertIssuer
	case FieldCertSerial:
		return e.CertSerial
	case FieldCertSHA256:
		return e.CertSHA256
	case FieldCertResult:
		return e.CertResult
	}
	return ""
}

// AppendJSON appends e as one JSON object on one line (JSON lines), keyed
// by the field names; empty text fields and unknown addresses are left
// out. Times are one "date"/"time" pair in UTC as in the W3C layout, plus
// nothing else, so that both formats carry the same information.
func AppendJSON(dst []byte, fields []Field, e *Entry) []byte {
	dst = append(dst, '{')
	first := true
	key := func(f Field) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, f.String())
		dst = append(dst, ':')
	}
	for _, f := range fields {
		switch f {
		case FieldDate, FieldTime:
			key(f)
			dst = append(dst, '"')
			if f == FieldDate {
				dst = appendDate(dst, e.Time.UTC())
			} else {
				dst = appendClock(dst, e.Time.UTC())
			}
			dst = append(dst, '"')
		case FieldServerIP, FieldClientIP:
			a := e.ServerIP
			if f == FieldClientIP {
				a = e.ClientIP
			}
			if !a.IsValid() {
				continue
			}
			key(f)
			dst = append(dst, '"')
			dst = a.Unmap().AppendTo(dst)
			dst = append(dst, '"')
		case FieldServerPort, FieldStatus, FieldSubStatus, FieldWin32, FieldTimeTaken, FieldBytesSent, FieldBytesReceived:
			v := appendW3C(nil, f, e)
			if string(v) == "-" {
				continue
			}
			key(f)
			dst = append(dst, v...)
		default:
			s := stringField(f, e)
			if s == "" {
				continue
			}
			key(f)
			dst = appendJSONString(dst, s)
		}
	}
	return append(dst, '}', '\n')
}

// appendJSONString writes s as a JSON string; invalid UTF-8 becomes
// U+FFFD and every control character is escaped, so a line stays a line.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, `\ufffd`...)
		case r == 0x2028 || r == 0x2029 || (r >= 0x80 && r <= 0x9f):
			dst = append(dst, '\\', 'u')
			dst = append(dst, fmt.Sprintf("%04x", r)...)
		default:
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

package accesslog

import (
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/certgate/certgate/internal/substatus"
)

// Fields is the #Fields directive certgate writes: IIS's default field set
// plus sc-substatus and sc-win32-status, the two that explain a 403.
const Fields = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"

// Entry is one request, in the order of Fields.
type Entry struct {
	// Time is when the response completed (IIS logs the end of the
	// request). The zero value means "now" on the Writer's clock.
	Time       time.Time
	ServerIP   netip.Addr
	Method     string
	URIStem    string // the decoded path, as IIS logs cs-uri-stem
	URIQuery   string // the raw query, without '?'
	ServerPort int
	// Username is the mapped user; empty for anonymous requests.
	Username  string
	ClientIP  netip.Addr
	UserAgent string
	Referer   string
	Status    int
	SubStatus int
	Win32     substatus.Code
	TimeTaken time.Duration

	// The fields below are written only when access_log.fields names them.
	SiteName     string
	ComputerName string // set by the Writer
	Version      string // HTTP/1.1, HTTP/2.0
	Host         string
	// BytesSent is the response body size; BytesReceived the request
	// body size when known (Content-Length). -1 writes "-".
	BytesSent, BytesReceived int64
	// The client certificate (the leaf presented), and the verification
	// result: "ok", or the sub-status and code of the failure.
	CertSubject, CertIssuer, CertSerial, CertSHA256, CertResult string
}

// SetSub fills Status and SubStatus from a catalogue sub-status.
func (e *Entry) SetSub(s substatus.Sub) {
	e.Status, e.SubStatus = s.Status, s.Sub
}

// AppendLine appends e as one W3C line, with its trailing newline, to dst.
// It does not allocate when dst has room: the writer goroutine reuses one
// buffer for every line.
func AppendLine(dst []byte, e *Entry) []byte {
	dst = appendDateTime(dst, e.Time)
	dst = append(dst, ' ')
	dst = appendAddr(dst, e.ServerIP)
	dst = append(dst, ' ')
	dst = appendField(dst, e.Method)
	dst = append(dst, ' ')
	dst = appendField(dst, e.URIStem)
	dst = append(dst, ' ')
	dst = appendField(dst, e.URIQuery)
	dst = append(dst, ' ')
	if e.ServerPort > 0 {
		dst = strconv.AppendInt(dst, int64(e.ServerPort), 10)
	} else {
		dst = append(dst, '-')
	}
	dst = append(dst, ' ')
	dst = appendField(dst, e.Username)
	dst = append(dst, ' ')
	dst = appendAddr(dst, e.ClientIP)
	dst = append(dst, ' ')
	dst = appendField(dst, e.UserAgent)
	dst = append(dst, ' ')
	dst = appendField(dst, e.Referer)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(e.SubStatus), 10)
	dst = append(dst, ' ')
	// IIS writes the HRESULT as an unsigned decimal (2148204809), the form
	// admins paste into searches, and for some outcomes a plainer Win32
	// error than the one certgate decided with (403.7 is "403 7 5"):
	// Code.W3C writes what IIS would, so IIS log tooling reads it unchanged.
	dst = strconv.AppendUint(dst, uint64(e.Win32.W3C()), 10)
	dst = append(dst, ' ')
	ms := e.TimeTaken.Milliseconds()
	if ms < 0 {
		ms = 0
	}
	dst = strconv.AppendInt(dst, ms, 10)
	return append(dst, '\n')
}

// dateTimeText is the "2006-01-02 15:04:05" text of one second.
type dateTimeText struct {
	unix int64
	text []byte
}

// lastDateTime caches the text of the last second formatted: every line of
// a busy second has the same date and time fields, and formatting them was
// 40% of AppendLine.
var lastDateTime atomic.Pointer[dateTimeText]

// appendDateTime writes t in UTC as "2006-01-02 15:04:05".
func appendDateTime(dst []byte, t time.Time) []byte {
	sec := t.Unix()
	if c := lastDateTime.Load(); c != nil && c.unix == sec {
		return append(dst, c.text...)
	}
	u := t.UTC()
	text := appendDate(make([]byte, 0, 19), u)
	text = append(text, ' ')
	text = appendClock(text, u)
	lastDateTime.Store(&dateTimeText{unix: sec, text: text})
	return append(dst, text...)
}

// appendDate writes 2006-01-02 without time.AppendFormat's layout parsing.
func appendDate(dst []byte, t time.Time) []byte {
	y, m, d := t.Date()
	dst = appendPad(dst, y, 4)
	dst = append(dst, '-')
	dst = appendPad(dst, int(m), 2)
	dst = append(dst, '-')
	return appendPad(dst, d, 2)
}

// appendClock writes 15:04:05.
func appendClock(dst []byte, t time.Time) []byte {
	h, mi, s := t.Clock()
	dst = appendPad(dst, h, 2)
	dst = append(dst, ':')
	dst = appendPad(dst, mi, 2)
	dst = append(dst, ':')
	return appendPad(dst, s, 2)
}

// appendPad writes a non-negative v zero-padded to width digits.
func appendPad(dst []byte, v, width int) []byte {
	var b [8]byte
	i := len(b)
	for v > 0 || i > len(b)-width {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if i == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

func appendAddr(dst []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(dst, '-')
	}
	// A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; IIS
	// logs them as a.b.c.d, and so do log analysers' GeoIP lookups.
	return a.Unmap().AppendTo(dst)
}

const hexDigits = "0123456789ABCDEF"

// appendField writes s as IIS does: "-" when empty, spaces as '+'. Bytes
// that would split the field or the line, or confuse a UTF-8 reader
// (control characters, DEL, invalid UTF-8), are written as %XX so that one
// request is always exactly one line of the same field count, whatever the
// client sent in its User-Agent or Referer.
func appendField(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, '-')
	}
	if plainField(s) {
		return append(dst, s...) // the common case, in one copy
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			dst = append(dst, '+')
			i++
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&0xf])
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&0xf])
				i++
				continue
			}
			// C1 controls (U+0080..U+009F) and the Unicode line and
			// paragraph separators end a line in some readers.
			if (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 {
				for j := 0; j < n; j++ {
					b := s[i+j]
					dst = append(dst, '%', hexDigits[b>>4], hexDigits[b&0xf])
				}
			} else {
				dst = append(dst, s[i:i+n]...)
			}
			i += n
		}
	}
	return dst
}

// plainField reports whether s is printable ASCII without spaces, which
// appendField writes unchanged.
func plainField(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// appendHeader writes the directive block that starts a file or a reopen:
// "#Software: certgate <version>".
func appendHeader(dst []byte, version string, now time.Time, fields []Field) []byte {
	now = now.UTC()
	dst = append(dst, "#Software: certgate "...)
	dst = appendField(dst, version)
	dst = append(dst, "\n#Version: 1.0\n#Date: "...)
	dst = appendDate(dst, now)
	dst = append(dst, ' ')
	dst = appendClock(dst, now)
	dst = append(dst, "\n#Fields: "...)
	if fields == nil {
		dst = append(dst, Fields...)
	} else {
		for i, f := range fields {
			if i > 0 {
				dst = append(dst, ' ')
			}
			dst = append(dst, f.String()...)
		}
	}
	return append(dst, '\n')
}

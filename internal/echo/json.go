package echo

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The echo handler answers every request of the keep-alive benchmark
// (../shared/bench, docs/benchmarks.md): encoding/json's reflection and
// its indent pass were half of certgate's CPU per request there. These
// functions write the same bytes as json.MarshalIndent(resp, "", "  ")
// (TestEchoJSONMatchesEncodingJSON) by hand, in one pass, into one buffer.

// appendJSON appends the echo response as json.MarshalIndent(r, "", "  ")
// encodes it. ok is false for input MarshalIndent would refuse (a
// not_after year outside 0-9999, which crypto/x509 cannot produce); the
// caller then uses encoding/json and reports its error.
func (r *Response) appendJSON(b []byte) (_ []byte, ok bool) {
	b = r.appendHead(b)
	return r.appendTail(b)
}

// appendHead appends the members that describe the request, from the
// opening brace to "headers".
func (r *Response) appendHead(b []byte) []byte {
	return r.appendRequest(r.appendRequestID(b))
}

// appendRequestID opens the response with the one member that differs on
// every request.
func (r *Response) appendRequestID(b []byte) []byte {
	b = append(b, '{')
	b = jsonKey(b, 1, "request_id", true)
	return jsonString(b, r.RequestID)
}

// appendRequest appends "site" to "headers": the same for consecutive
// identical requests of a connection (Conn.appendHead remembers them).
func (r *Response) appendRequest(b []byte) []byte {
	b = jsonKey(b, 1, "site", false)
	b = jsonString(b, r.Site)
	b = jsonKey(b, 1, "method", false)
	b = jsonString(b, r.Method)
	b = jsonKey(b, 1, "path", false)
	b = jsonString(b, r.Path)
	b = jsonKey(b, 1, "query", false)
	b = jsonString(b, r.Query)
	b = jsonKey(b, 1, "host", false)
	b = jsonString(b, r.Host)
	b = jsonKey(b, 1, "headers", false)
	return jsonHeaders(b, 1, r.Headers)
}

// appendTail appends the members that stay the same on a connection for a
// given location and identity ("tls", "client", "location") and the
// closing brace; Conn.appendTail remembers them.
func (r *Response) appendTail(b []byte) (_ []byte, ok bool) {
	if na := r.Client.NotAfter; na != nil && (na.Year() < 0 || na.Year() > 9999) {
		return b, false
	}
	b = jsonKey(b, 1, "tls", false)
	b = append(b, '{')
	b = jsonKey(b, 2, "version", true)
	b = jsonString(b, r.TLS.Version)
	b = jsonKey(b, 2, "cipher", false)
	b = jsonString(b, r.TLS.Cipher)
	b = jsonKey(b, 2, "sni", false)
	b = jsonString(b, r.TLS.SNI)
	if r.TLS.ALPN != "" {
		b = jsonKey(b, 2, "alpn", false)
		b = jsonString(b, r.TLS.ALPN)
	}
	b = jsonKey(b, 2, "resumed", false)
	b = strconv.AppendBool(b, r.TLS.Resumed)
	b = jsonClose(b, 1, '}')

	b = jsonKey(b, 1, "client", false)
	b = r.Client.appendJSON(b, 1)

	b = jsonKey(b, 1, "location", false)
	b = append(b, '{')
	b = jsonKey(b, 2, "path", true)
	b = jsonString(b, r.Location.Path)
	b = jsonKey(b, 2, "policy", false)
	b = jsonString(b, r.Location.Policy)
	b = jsonClose(b, 1, '}')
	return jsonClose(b, 0, '}'), true
}

func (c *Client) appendJSON(b []byte, depth int) []byte {
	in := depth + 1
	b = append(b, '{')
	b = jsonKey(b, in, "presented", true)
	b = strconv.AppendBool(b, c.Presented)
	b = jsonKey(b, in, "verified", false)
	b = strconv.AppendBool(b, c.Verified)
	for _, f := range [...]struct{ k, v string }{{"subject", c.Subject}, {"issuer", c.Issuer}, {"serial", c.Serial}, {"sha256", c.SHA256}} {
		if f.v != "" {
			b = jsonKey(b, in, f.k, false)
			b = jsonString(b, f.v)
		}
	}
	if c.NotAfter != nil {
		b = jsonKey(b, in, "not_after", false)
		b = append(b, '"')
		b = c.NotAfter.AppendFormat(b, time.RFC3339Nano) // as time.Time.MarshalJSON
		b = append(b, '"')
	}
	if len(c.Chain) > 0 {
		b = jsonKey(b, in, "chain", false)
		b = jsonStrings(b, in, c.Chain)
	}
	if c.User != "" {
		b = jsonKey(b, in, "user", false)
		b = jsonString(b, c.User)
	}
	if len(c.Groups) > 0 {
		b = jsonKey(b, in, "groups", false)
		b = jsonStrings(b, in, c.Groups)
	}
	if o := c.Outcome; o != nil {
		oi := in + 1
		b = jsonKey(b, in, "outcome", false)
		b = append(b, '{')
		b = jsonKey(b, oi, "substatus", true)
		b = jsonString(b, o.Substatus)
		b = jsonKey(b, oi, "code", false)
		b = strconv.AppendUint(b, uint64(o.Code), 10)
		b = jsonKey(b, oi, "code_name", false)
		b = jsonString(b, o.CodeName)
		b = jsonKey(b, oi, "code_hex", false)
		b = jsonString(b, o.CodeHex)
		if o.Element != "" {
			b = jsonKey(b, oi, "element", false)
			b = jsonString(b, o.Element)
		}
		b = jsonKey(b, oi, "reason", false)
		b = jsonString(b, o.Reason)
		b = jsonClose(b, in, '}')
	}
	return jsonClose(b, depth, '}')
}

// jsonHeaders encodes a header map: keys sorted, as encoding/json does;
// nil is null.
func jsonHeaders(b []byte, depth int, h map[string][]string) []byte {
	if h == nil {
		return append(b, "null"...)
	}
	if len(h) == 0 {
		return append(b, "{}"...)
	}
	var stack [32]string
	keys := stack[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		b = jsonKeyRaw(b, depth+1, k, i == 0)
		b = jsonStrings(b, depth+1, h[k])
	}
	return jsonClose(b, depth, '}')
}

// jsonStrings encodes a string slice: nil is null, empty is [].
func jsonStrings(b []byte, depth int, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	if len(ss) == 0 {
		return append(b, "[]"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonNewline(b, depth+1)
		b = jsonString(b, s)
	}
	return jsonClose(b, depth, ']')
}

// jsonKey starts a member of an object at depth: the comma after the
// previous one, newline, indent, "name": and a space. Names here are
// plain ASCII field tags and need no escaping.
func jsonKey(b []byte, depth int, name string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = jsonNewline(b, depth)
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':', ' ')
}

// jsonKeyRaw is jsonKey for a name from the request (a header name).
func jsonKeyRaw(b []byte, depth int, name string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = jsonNewline(b, depth)
	b = jsonString(b, name)
	return append(b, ':', ' ')
}

func jsonClose(b []byte, depth int, c byte) []byte {
	b = jsonNewline(b, depth)
	return append(b, c)
}

func jsonNewline(b []byte, depth int) []byte {
	b = append(b, '\n')
	for range depth {
		b = append(b, ' ', ' ')
	}
	return b
}

// jsonString quotes s exactly as encoding/json does with its default HTML
// escaping: ", \ and control characters escaped (\b \f \n \r \t by name),
// <, > and & as \u003c \u003e \u0026, invalid UTF-8 as \ufffd, and U+2028
// and U+2029 as \u2028 and \u2029.
func jsonString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonSafe marks the ASCII bytes jsonString copies as they are
// (encoding/json's htmlSafeSet): not a control character, ", \, <, > or &.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\\<>&` {
		t[c] = false
	}
	return t
}()

package gateway

// sameHeaderName reports whether two header names are the same for an
// upstream: ASCII case-insensitive, with '_' and '-' equal (CGI-style
// backends read X_Remote_User as X-Remote-User). It is
// normalizeHeaderName(k) == normalizeHeaderName(n) without allocating;
// names with non-ASCII bytes (net/http never lets them through, but a
// config could hold one) take that slower path. An empty n matches
// nothing.
func sameHeaderName(k, n string) bool {
	if n == "" {
		return false
	}
	if len(k) != len(n) {
		if isASCII(k) && isASCII(n) {
			return false
		}
		return normalizeHeaderName(k) == normalizeHeaderName(n)
	}
	for i := 0; i < len(k); i++ {
		a, b := k[i], n[i]
		if a >= 0x80 || b >= 0x80 {
			return normalizeHeaderName(k) == normalizeHeaderName(n)
		}
		if a == b {
			continue
		}
		if foldHeaderByte(a) != foldHeaderByte(b) {
			return false
		}
	}
	return true
}

func foldHeaderByte(c byte) byte {
	switch {
	case c == '_':
		return '-'
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

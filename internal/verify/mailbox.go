package verify

import "strings"

// mailbox is an rfc822Name split into its parts: the local part with any
// quoting removed, and the domain.
type mailbox struct{ local, domain string }

// parseMailbox reads an rfc822Name as the "Mailbox" of RFC 5321 4.1.2,
// which RFC 5280 4.2.1.6 says it is: a dot-string or quoted-string local
// part, exactly one unquoted "@", and a domain. It accepts what
// crypto/x509's parser for name constraints accepts (a backslash escape
// outside quotes, a space inside them) and nothing with a second unquoted
// "@": "a@b@example.com" is not a mailbox in example.com, and reading it
// as one (split at the last "@") would let it pass an example.com
// constraint.
func parseMailbox(in string) (mailbox, bool) {
	var local strings.Builder
	if in == "" {
		return mailbox{}, false
	}
	if in[0] == '"' {
		in = in[1:]
		for {
			if in == "" {
				return mailbox{}, false
			}
			c := in[0]
			in = in[1:]
			if c == '"' {
				break
			}
			if c == '\\' {
				// quoted-pair: any 7-bit character but NUL, CR, LF.
				if in == "" || in[0] == 0 || in[0] == '\r' || in[0] == '\n' || in[0] > 127 {
					return mailbox{}, false
				}
				local.WriteByte(in[0])
				in = in[1:]
				continue
			}
			// qtext: printable 7-bit ASCII but '"' and '\', plus space.
			if c < 32 || c > 126 {
				return mailbox{}, false
			}
			local.WriteByte(c)
		}
	} else {
	atoms:
		for in != "" {
			c := in[0]
			switch {
			case c == '\\':
				if len(in) < 2 {
					return mailbox{}, false
				}
				local.WriteByte(in[1])
				in = in[2:]
			case isAtext(c) || c == '.':
				local.WriteByte(c)
				in = in[1:]
			default:
				break atoms
			}
		}
		l := local.String()
		// RFC 5321 4.1.2 Dot-string: no leading, trailing or double period.
		if l == "" || l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
			return mailbox{}, false
		}
	}
	if in == "" || in[0] != '@' {
		return mailbox{}, false
	}
	domain := in[1:]
	if !validDomain(domain) || strings.ContainsRune(domain, '@') {
		return mailbox{}, false
	}
	return mailbox{local: local.String(), domain: domain}, true
}

// isAtext is RFC 5322 3.2.3 atext.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

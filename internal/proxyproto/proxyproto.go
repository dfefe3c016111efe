package proxyproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Header is a parsed PROXY header.
type Header struct {
	// Version is 1 (text) or 2 (binary).
	Version int
	// Local is true when the proxy speaks for itself (v2 LOCAL, v1
	// UNKNOWN): a health check, with no client address; Source and
	// Destination are then zero, and the connection's own addresses apply.
	Local bool
	// Source is the client's address, Destination the address the client
	// connected to on the proxy.
	Source, Destination netip.AddrPort
}

// MaxHeaderLen bounds a version 2 header with its TLVs. The specification
// allows 16+65535 bytes; proxies send addresses and a few TLVs (AWS, Azure
// and GCP add at most a few hundred bytes), and a receiver only has to
// take 216 (section 2.2).
const MaxHeaderLen = 4096

// v1MaxLen is the longest v1 line, CRLF included (section 2.1).
const v1MaxLen = 107

var (
	// ErrNoHeader: the connection does not start with a PROXY header.
	ErrNoHeader = errors.New("no PROXY protocol header")
	// ErrMalformed: the header does not follow the specification.
	ErrMalformed = errors.New("malformed PROXY protocol header")
)

var (
	v1Prefix = []byte("PROXY ")
	v2Sig    = []byte("\r\n\r\n\x00\r\nQUIT\n")
)

// Read reads one PROXY header from br, which must be positioned at the
// start of the connection and must buffer at least MaxHeaderLen+16 bytes
// (bufio.NewReaderSize). Only the header is consumed.
func Read(br *bufio.Reader) (Header, error) {
	first, err := br.Peek(1)
	if err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrNoHeader, err)
	}
	switch first[0] {
	case 'P':
		return readV1(br)
	case '\r':
		return readV2(br)
	}
	return Header{}, fmt.Errorf("%w: first byte 0x%02x", ErrNoHeader, first[0])
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// readV1 parses "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n" or
// "PROXY UNKNOWN[ anything]\r\n".
func readV1(br *bufio.Reader) (Header, error) {
	// Peek byte by byte up to the CRLF: never more than the line, which
	// is at most v1MaxLen bytes.
	var line []byte
	for n := len(v1Prefix); ; n++ {
		if n > v1MaxLen {
			return Header{}, malformed("v1 line longer than %d bytes", v1MaxLen)
		}
		b, err := br.Peek(n)
		if err != nil {
			if len(b) >= len(v1Prefix) && !bytes.Equal(b[:len(v1Prefix)], v1Prefix) {
				return Header{}, fmt.Errorf("%w: %q", ErrNoHeader, b)
			}
			return Header{}, malformed("v1 line: %v", err)
		}
		if n == len(v1Prefix) && !bytes.Equal(b, v1Prefix) {
			return Header{}, fmt.Errorf("%w: starts with %q", ErrNoHeader, b)
		}
		if b[n-1] == '\n' {
			if n < 2 || b[n-2] != '\r' {
				return Header{}, malformed("v1 line ends in a bare LF")
			}
			line = b[len(v1Prefix) : n-2]
			break
		}
	}
	h, err := parseV1(string(line))
	if err != nil {
		return Header{}, err
	}
	_, _ = br.Discard(len(v1Prefix) + len(line) + 2)
	return h, nil
}

func parseV1(line string) (Header, error) {
	h := Header{Version: 1}
	if line == "UNKNOWN" || strings.HasPrefix(line, "UNKNOWN ") {
		// The receiver must ignore what follows UNKNOWN (section 2.1).
		h.Local = true
		return h, nil
	}
	f := strings.Split(line, " ")
	if len(f) != 5 {
		return Header{}, malformed("v1: want 5 fields after PROXY, got %d in %q", len(f), line)
	}
	var is4 bool
	switch f[0] {
	case "TCP4":
		is4 = true
	case "TCP6":
	default:
		return Header{}, malformed("v1: unknown protocol %q", f[0])
	}
	var addrs [2]netip.Addr
	for i := range addrs {
		a, err := netip.ParseAddr(f[1+i])
		// TCP4 takes dotted quads only, TCP6 IPv6 text only (no zone;
		// an IPv4-mapped form is IPv6 text and accepted as such).
		if err != nil || a.Zone() != "" || a.Is4() != is4 {
			return Header{}, malformed("v1: %q is not an %s address", f[1+i], f[0])
		}
		addrs[i] = a
	}
	var ports [2]uint16
	for i := range ports {
		p, err := parsePort(f[3+i])
		if err != nil {
			return Header{}, err
		}
		ports[i] = p
	}
	h.Source = netip.AddrPortFrom(addrs[0], ports[0])
	h.Destination = netip.AddrPortFrom(addrs[1], ports[1])
	return h, nil
}

// parsePort accepts a decimal 0-65535 without sign or leading zeros.
func parsePort(s string) (uint16, error) {
	if s == "" || len(s) > 5 || (len(s) > 1 && s[0] == '0') || strings.TrimLeft(s, "0123456789") != "" {
		return 0, malformed("v1: bad port %q", s)
	}
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, malformed("v1: bad port %q", s)
	}
	return uint16(p), nil
}

// readV2 parses the binary header (section 2.2).
func readV2(br *bufio.Reader) (Header, error) {
	hdr, err := br.Peek(16)
	if err != nil {
		if !bytes.HasPrefix(v2Sig, hdr) && !bytes.HasPrefix(hdr, v2Sig) {
			return Header{}, fmt.Errorf("%w: %q", ErrNoHeader, hdr)
		}
		return Header{}, malformed("v2 header: %v", err)
	}
	if !bytes.Equal(hdr[:12], v2Sig) {
		return Header{}, fmt.Errorf("%w: bad v2 signature", ErrNoHeader)
	}
	verCmd, fam := hdr[12], hdr[13]
	n := int(binary.BigEndian.Uint16(hdr[14:16]))
	if verCmd>>4 != 2 {
		return Header{}, malformed("v2: version %d", verCmd>>4)
	}
	if 16+n > MaxHeaderLen {
		return Header{}, malformed("v2: header of %d bytes, more than %d", 16+n, MaxHeaderLen)
	}
	full, err := br.Peek(16 + n)
	if err != nil {
		return Header{}, malformed("v2: %d address bytes announced: %v", n, err)
	}
	body := full[16:]
	h := Header{Version: 2}
	switch verCmd & 0x0f {
	case 0x0: // LOCAL: addresses, if any, are to be ignored
		h.Local = true
	case 0x1: // PROXY
		switch fam {
		case 0x11: // TCP over IPv4
			if len(body) < 12 {
				return Header{}, malformed("v2: TCP4 needs 12 address bytes, got %d", len(body))
			}
			h.Source = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:10]))
			h.Destination = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[4:8])), binary.BigEndian.Uint16(body[10:12]))
		case 0x21: // TCP over IPv6
			if len(body) < 36 {
				return Header{}, malformed("v2: TCP6 needs 36 address bytes, got %d", len(body))
			}
			h.Source = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])), binary.BigEndian.Uint16(body[32:34]))
			h.Destination = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[16:32])), binary.BigEndian.Uint16(body[34:36]))
		default:
			// UNSPEC, UDP and unix sockets cannot carry a TLS client of
			// this listener: refuse rather than guess an address.
			return Header{}, malformed("v2: address family/protocol 0x%02x is not TCP", fam)
		}
	default:
		return Header{}, malformed("v2: unknown command 0x%x", verCmd&0x0f)
	}
	_, _ = br.Discard(16 + n)
	return h, nil
}

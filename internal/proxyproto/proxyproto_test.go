package proxyproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
)

// v2 builds a version 2 header: command, family byte, address bytes.
func v2(cmd, fam byte, addr []byte) []byte {
	b := append([]byte(nil), v2Sig...)
	b = append(b, 0x20|cmd, fam)
	b = binary.BigEndian.AppendUint16(b, uint16(len(addr)))
	return append(b, addr...)
}

func tcp4Addrs() []byte {
	return []byte{192, 0, 2, 1, 198, 51, 100, 7, 0xdc, 0x04, 0x01, 0xbb} // 56324 -> 443
}

func tcp6Addrs() []byte {
	src := netip.MustParseAddr("2001:db8::1").As16()
	dst := netip.MustParseAddr("2001:db8::2").As16()
	b := append(src[:], dst[:]...)
	return append(b, 0x30, 0x39, 0x20, 0xfb) // 12345 -> 8443
}

func TestRead(t *testing.T) {
	// rest is what a client sends after the header: its TLS ClientHello.
	const rest = "\x16\x03\x01\x00\x05hello"
	withTLV := append(tcp4Addrs(), 0x04, 0x00, 0x03, 'a', 'b', 'c') // a NOOP TLV
	cases := []struct {
		name string
		in   []byte
		want Header
		err  error
	}{
		{"v1 tcp4", []byte("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n"), Header{Version: 1,
			Source: netip.MustParseAddrPort("192.0.2.1:56324"), Destination: netip.MustParseAddrPort("198.51.100.7:443")}, nil},
		{"v1 tcp6", []byte("PROXY TCP6 2001:db8::1 2001:db8::2 12345 8443\r\n"), Header{Version: 1,
			Source: netip.MustParseAddrPort("[2001:db8::1]:12345"), Destination: netip.MustParseAddrPort("[2001:db8::2]:8443")}, nil},
		{"v1 unknown", []byte("PROXY UNKNOWN\r\n"), Header{Version: 1, Local: true}, nil},
		{"v1 unknown with addresses", []byte("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"), Header{Version: 1, Local: true}, nil},
		{"v1 longest", []byte("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"), Header{Version: 1,
			Source: netip.MustParseAddrPort("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"), Destination: netip.MustParseAddrPort("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535")}, nil},
		{"v2 tcp4", v2(1, 0x11, tcp4Addrs()), Header{Version: 2,
			Source: netip.MustParseAddrPort("192.0.2.1:56324"), Destination: netip.MustParseAddrPort("198.51.100.7:443")}, nil},
		{"v2 tcp6", v2(1, 0x21, tcp6Addrs()), Header{Version: 2,
			Source: netip.MustParseAddrPort("[2001:db8::1]:12345"), Destination: netip.MustParseAddrPort("[2001:db8::2]:8443")}, nil},
		{"v2 tcp4 with TLV", v2(1, 0x11, withTLV), Header{Version: 2,
			Source: netip.MustParseAddrPort("192.0.2.1:56324"), Destination: netip.MustParseAddrPort("198.51.100.7:443")}, nil},
		{"v2 local", v2(0, 0x00, nil), Header{Version: 2, Local: true}, nil},
		{"v2 local with addresses ignored", v2(0, 0x11, tcp4Addrs()), Header{Version: 2, Local: true}, nil},

		{"plain TLS", []byte(rest), Header{}, ErrNoHeader},
		{"empty", nil, Header{}, ErrNoHeader},
		{"HTTP request", []byte("GET / HTTP/1.1\r\n\r\n"), Header{}, ErrNoHeader},
		{"PROXYX", []byte("PROXYX TCP4\r\n"), Header{}, ErrNoHeader},
		{"v1 bare LF", []byte("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\n"), Header{}, ErrMalformed},
		{"v1 no line end", []byte("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443"), Header{}, ErrMalformed},
		{"v1 too long", []byte("PROXY TCP4 " + strings.Repeat("1", 120) + "\r\n"), Header{}, ErrMalformed},
		{"v1 double space", []byte("PROXY TCP4 192.0.2.1  198.51.100.7 56324 443\r\n"), Header{}, ErrMalformed},
		{"v1 tcp4 with v6 address", []byte("PROXY TCP4 2001:db8::1 198.51.100.7 56324 443\r\n"), Header{}, ErrMalformed},
		{"v1 tcp6 with v4 address", []byte("PROXY TCP6 192.0.2.1 2001:db8::2 56324 443\r\n"), Header{}, ErrMalformed},
		{"v1 zone", []byte("PROXY TCP6 fe80::1%eth0 2001:db8::2 56324 443\r\n"), Header{}, ErrMalformed},
		{"v1 port too big", []byte("PROXY TCP4 192.0.2.1 198.51.100.7 65536 443\r\n"), Header{}, ErrMalformed},
		{"v1 port leading zero", []byte("PROXY TCP4 192.0.2.1 198.51.100.7 0443 443\r\n"), Header{}, ErrMalformed},
		{"v1 port sign", []byte("PROXY TCP4 192.0.2.1 198.51.100.7 +443 443\r\n"), Header{}, ErrMalformed},
		{"v1 udp", []byte("PROXY UDP4 192.0.2.1 198.51.100.7 1 2\r\n"), Header{}, ErrMalformed},
		{"v1 extra field", []byte("PROXY TCP4 192.0.2.1 198.51.100.7 1 2 3\r\n"), Header{}, ErrMalformed},
		{"v1 nul", []byte("PROXY TCP4 192.0.2.1\x00 198.51.100.7 1 2\r\n"), Header{}, ErrMalformed},
		{"v2 version 1", func() []byte { b := v2(1, 0x11, tcp4Addrs()); b[12] = 0x11; return b }(), Header{}, ErrMalformed},
		{"v2 unknown command", v2(2, 0x11, tcp4Addrs()), Header{}, ErrMalformed},
		{"v2 udp", v2(1, 0x12, tcp4Addrs()), Header{}, ErrMalformed},
		{"v2 unix", v2(1, 0x31, make([]byte, 216)), Header{}, ErrMalformed},
		{"v2 unspec proxy", v2(1, 0x00, nil), Header{}, ErrMalformed},
		{"v2 short tcp4", v2(1, 0x11, tcp4Addrs()[:11]), Header{}, ErrMalformed},
		{"v2 short tcp6", v2(1, 0x21, tcp6Addrs()[:35]), Header{}, ErrMalformed},
		{"v2 truncated", v2(1, 0x11, tcp4Addrs())[:20], Header{}, ErrMalformed},
		{"v2 huge length", func() []byte { b := v2(1, 0x11, tcp4Addrs()); b[14], b[15] = 0xff, 0xff; return b }(), Header{}, ErrMalformed},
		{"v2 bad signature", func() []byte { b := v2(1, 0x11, tcp4Addrs()); b[5] = 'x'; return b }(), Header{}, ErrNoHeader},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := append(append([]byte(nil), c.in...), rest...)
			if c.err != nil {
				in = c.in // nothing after a broken header
			}
			br := bufio.NewReaderSize(bytes.NewReader(in), MaxHeaderLen+16)
			h, err := Read(br)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v (header %+v)", err, c.err, h)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h != c.want {
				t.Errorf("header = %+v, want %+v", h, c.want)
			}
			// Exactly the header was consumed: the TLS bytes follow intact.
			after, _ := io.ReadAll(br)
			if string(after) != rest {
				t.Errorf("after the header: %q, want %q", after, rest)
			}
		})
	}
}

// FuzzRead: no input makes Read panic, read past MaxHeaderLen, or return
// a header without a client address unless it says Local.
func FuzzRead(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n\x16\x03\x01"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(v2(1, 0x11, tcp4Addrs()))
	f.Add(v2(1, 0x21, tcp6Addrs()))
	f.Add(v2(0, 0x00, nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		const marker = "\x16TLS-AFTER"
		br := bufio.NewReaderSize(bytes.NewReader(append(append([]byte(nil), in...), marker...)), MaxHeaderLen+16)
		h, err := Read(br)
		if err != nil {
			if !errors.Is(err, ErrNoHeader) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if h.Version != 1 && h.Version != 2 {
			t.Fatalf("version %d", h.Version)
		}
		if !h.Local && (!h.Source.IsValid() || !h.Destination.IsValid()) {
			t.Fatalf("accepted header without addresses: %+v", h)
		}
		rest, _ := io.ReadAll(br)
		consumed := len(in) + len(marker) - len(rest)
		// The header's own length field says where it ends, which may be
		// inside the bytes that follow in this test; never further than
		// MaxHeaderLen.
		if consumed > MaxHeaderLen || consumed <= 0 {
			t.Fatalf("consumed %d bytes of %q", consumed, in)
		}
	})
}

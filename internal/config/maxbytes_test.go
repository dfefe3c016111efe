package config_test

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/pki"
)

// dnOfSize returns a DER Name of exactly size bytes (size >= 32).
func dnOfSize(t *testing.T, size int, tag string) []byte {
	t.Helper()
	n := size - 16
	for range 8 {
		cn := tag + strings.Repeat("x", max(n-len(tag), 0))
		der, err := asn1.Marshal(pkix.Name{CommonName: cn}.ToRDNSequence())
		if err != nil {
			t.Fatal(err)
		}
		if len(der) == size {
			return der
		}
		n += size - len(der)
	}
	t.Fatalf("cannot build a %d-byte name", size)
	return nil
}

// namesTotalling returns DER names whose encoded list size, sum(2 + len),
// is exactly total.
func namesTotalling(t *testing.T, total int) [][]byte {
	t.Helper()
	const chunk = 4000
	var names [][]byte
	for i := 0; total-(2+chunk) >= 2+1000; i++ {
		names = append(names, dnOfSize(t, chunk, "ca"+strconv.Itoa(i)+"-"))
		total -= 2 + chunk
	}
	return append(names, dnOfSize(t, total-2, "last-"))
}

// handshake runs a TLS handshake over 127.0.0.1 where the server requests
// a client certificate with the given CA names, and returns the names the
// client received and the handshake errors of both sides.
func handshake(t *testing.T, server tls.Certificate, roots *x509.CertPool, version uint16, names [][]byte) ([][]byte, error) {
	t.Helper()
	pool := x509.NewCertPool()
	for _, dn := range names {
		// The pool only contributes Subjects() to the CertificateRequest;
		// Raw keeps the entries distinct.
		pool.AddCert(&x509.Certificate{Raw: dn, RawSubject: dn})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		sconn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer sconn.Close()
		srv := tls.Server(sconn, &tls.Config{
			Certificates: []tls.Certificate{server},
			ClientAuth:   tls.RequestClientCert,
			ClientCAs:    pool,
			MinVersion:   version,
			MaxVersion:   version,
		})
		done <- srv.Handshake()
	}()
	cconn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	cli := tls.Client(cconn, &tls.Config{
		RootCAs:    roots,
		ServerName: "gw.example.test",
		MinVersion: version,
		MaxVersion: version,
		GetClientCertificate: func(info *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			got = info.AcceptableCAs
			return &tls.Certificate{}, nil
		},
	})
	cerr := cli.Handshake()
	// Closing unblocks the server if the client gave up mid-handshake.
	cconn.Close()
	return got, errors.Join(cerr, <-done)
}

// TestMaxIssuerListBytesFitsCertificateRequest checks the arithmetic behind
// the default max_bytes against Go's TLS stack: a list of exactly
// MaxIssuerListBytes reaches a Go client intact in TLS 1.2 and 1.3, while the
// naive 2^16-1 breaks the handshake in both.
func TestMaxIssuerListBytesFitsCertificateRequest(t *testing.T) {
	root, err := pki.NewRoot("Test Root")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := root.IssueServer("gw.example.test", []string{"gw.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	server := leaf.TLSCertificate()

	tests := []struct {
		name    string
		version uint16
		total   int
		wantErr string // "" for success
	}{
		{"TLS 1.2 at MaxIssuerListBytes", tls.VersionTLS12, config.MaxIssuerListBytes, ""},
		{"TLS 1.3 at MaxIssuerListBytes", tls.VersionTLS13, config.MaxIssuerListBytes, ""},
		// The Go client refuses the message.
		{"TLS 1.2 at 2^16-1", tls.VersionTLS12, 1<<16 - 1, "exceeds maximum of 65536 bytes"},
		// The Go server cannot encode the extensions block.
		{"TLS 1.3 at 2^16-1", tls.VersionTLS13, 1<<16 - 1, "length prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := namesTotalling(t, tt.total)
			size := 0
			for _, n := range names {
				size += 2 + len(n)
			}
			if size != tt.total {
				t.Fatalf("test names total %d bytes, want %d", size, tt.total)
			}
			got, err := handshake(t, server, roots, tt.version, names)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatal("handshake succeeded; if Go's TLS limits grew, revisit MaxIssuerListBytes")
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("handshake error %q, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if len(got) != len(names) {
				t.Fatalf("client received %d CA names, want %d", len(got), len(names))
			}
		})
	}
}

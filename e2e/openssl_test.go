package e2e

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	caNamesHeader = "Acceptable client certificate CA names"
	noCANames     = "No client certificate CA names sent"
	// requestedSigalgs is printed only when the server sent a
	// CertificateRequest.
	requestedSigalgs = "Requested Signature Algorithms:"
)

// sClient runs `openssl s_client -prexit` against the gateway and returns
// its stdout. host "" sends no SNI (the default site). Names are printed
// as RFC 2253, the format of Go's pkix.Name.String(), so the expected
// names come from the certificates themselves.
func sClient(t *testing.T, g *gateway, host, stdin string, extra ...string) string {
	t.Helper()
	args := []string{"s_client", "-connect", "127.0.0.1:" + strconv.Itoa(g.port),
		"-CAfile", g.pki.cert("rootA"), "-nameopt", "RFC2253", "-prexit"}
	if host == "" {
		args = append(args, "-noservername")
	} else {
		args = append(args, "-servername", host)
	}
	args = append(args, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, errOut, err := runClient(ctx, nil, stdin, "openssl", args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// sentCANames returns the CA names of the first "Acceptable client
// certificate CA names" block (-prexit prints the session twice), nil when
// OpenSSL reports that none were sent, and fails when it says neither.
func sentCANames(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		switch strings.TrimSpace(l) {
		case noCANames:
			return nil
		case caNamesHeader:
			var names []string
			for _, n := range lines[i+1:] {
				n = strings.TrimSpace(n)
				// The block ends at "Requested Signature Algorithms: ..."
				// or "Client Certificate Types: ...": names never
				// contain ": " in RFC 2253 form, and always "=".
				if n == "" || strings.Contains(n, ": ") || !strings.Contains(n, "=") {
					break
				}
				names = append(names, n)
			}
			return names
		}
	}
	t.Fatalf("openssl printed neither %q nor %q:\n%s", caNamesHeader, noCANames, out)
	return nil
}

func TestOpenSSL(t *testing.T) {
	t.Parallel()
	needTools(t, "openssl")
	p := sharedPKI(t)

	// Truncation: a max_bytes that holds the first keep list roots and
	// not one more, computed the way the CertificateRequest encodes them
	// (2 length bytes + DER subject each).
	const keep = 6
	var listNames, listSubjects []string
	maxBytes := 0
	for i := range listRoots {
		c := p.parse(t, listRoot(i))
		listNames = append(listNames, listRoot(i))
		listSubjects = append(listSubjects, c.Subject.String())
		if i < keep {
			maxBytes += 2 + len(c.RawSubject)
		}
	}
	nextSize := 2 + len(p.parse(t, listRoot(keep)).RawSubject)
	maxBytes += nextSize - 1

	subjects := func(names ...string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = p.parse(t, n).Subject.String()
		}
		return out
	}

	// Orders that are neither sorted nor the trust order, so that a list
	// sent sorted, deduplicated by a map, or merged with the roots shows.
	defaultOrder := []string{"list07", "rootA", "list02"}
	explicitOrder := []string{"list05", "rootB", "rootA", "list01"}
	g := startGateway(t,
		site{name: "main", host: hostMain, isDef: true, roots: defaultOrder},
		site{name: "ordered", host: hostOrdered, roots: []string{"rootA"}, source: explicitOrder},
		site{name: "nosend", host: hostNoSend, roots: []string{"rootA"}, noSend: true},
		site{name: "truncated", host: hostTruncated, roots: []string{"rootA"}, source: listNames, maxSize: maxBytes},
	)

	tests := []struct {
		name  string
		host  string
		extra []string
		want  []string // nil: OpenSSL must report that no names were sent
	}{
		{name: "default source is the trust roots, in order", host: "", want: subjects(defaultOrder...)},
		{name: "default site by SNI", host: hostMain, want: subjects(defaultOrder...)},
		{name: "explicit source replaces the roots, in order", host: hostOrdered, want: subjects(explicitOrder...)},
		{name: "explicit source TLS 1.2", host: hostOrdered, extra: []string{"-tls1_2"}, want: subjects(explicitOrder...)},
		{name: "send false", host: hostNoSend, want: nil},
		{name: "send false TLS 1.2", host: hostNoSend, extra: []string{"-tls1_2"}, want: nil},
		{name: "truncated at max_bytes", host: hostTruncated, want: listSubjects[:keep]},
		{name: "truncated at max_bytes TLS 1.2", host: hostTruncated, extra: []string{"-tls1_2"}, want: listSubjects[:keep]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := sClient(t, g, tc.host, "", tc.extra...)
			// OpenSSL prints "No client certificate CA names sent" also
			// when no certificate was requested at all; this line is
			// printed only for a CertificateRequest.
			if !strings.Contains(out, requestedSigalgs) {
				t.Errorf("no CertificateRequest: openssl did not print %q:\n%s", requestedSigalgs, out)
			}
			got := sentCANames(t, out)
			if !slices.Equal(got, tc.want) {
				t.Errorf("CA names sent:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}

	// send: false hides the names, it does not stop asking for a
	// certificate: OpenSSL sends one and the require location accepts it.
	t.Run("send false still requests a certificate", func(t *testing.T) {
		t.Parallel()
		req := "GET " + pathRequire + " HTTP/1.1\r\nHost: " + hostNoSend + "\r\nConnection: close\r\n\r\n"
		out := sClient(t, g, hostNoSend, req, "-quiet", "-ign_eof",
			"-cert", p.cert("alice"), "-key", p.key("alice"))
		if !strings.Contains(out, "HTTP/1.1 200") || !strings.Contains(out, `"verified": true`) {
			t.Errorf("want 200 with a verified client from the echo upstream, got:\n%s", out)
		}
	})

	// The truncation is visible: the gateway names every CA it dropped.
	t.Run("dropped CAs are logged", func(t *testing.T) {
		log := g.log.String()
		for _, s := range listSubjects[keep:] {
			if !strings.Contains(log, s) {
				t.Errorf("log does not name dropped CA %q:\n%s", s, log)
			}
		}
		for _, line := range strings.Split(log, "\n") {
			if !strings.Contains(line, "truncated") {
				continue
			}
			for _, s := range listSubjects[:keep] {
				if strings.Contains(line, s) {
					t.Errorf("log names kept CA %q as dropped: %s", s, line)
				}
			}
		}
	})
}

package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSharedTicketKeysOpenSSL: two `certgate serve` processes with the
// same session_tickets.keys (written by `certgate pki ticket-key`): a TLS
// 1.3 session OpenSSL saved from instance A is reused on instance B
// ("Reused" in s_client's output), a process with other keys does a full
// handshake ("New"), and the session never resumes on another site of
// the same instance.
func TestSharedTicketKeysOpenSSL(t *testing.T) {
	needTools(t, "openssl")
	bin := certgateBin(t)
	keyDir := t.TempDir()
	key := func(name string) string {
		path := filepath.Join(keyDir, name)
		if out, err := exec.Command(bin, "pki", "ticket-key", "-o", path).CombinedOutput(); err != nil {
			t.Fatalf("certgate pki ticket-key: %v\n%s", err, out)
		}
		return path
	}
	shared, other := key("shared.key"), key("other.key")
	header := func(k string) string { return "session_tickets: {keys: [" + strconv.Quote(k) + "]}\n" }
	sites := []site{
		{name: "main", host: hostMain, isDef: true, roots: []string{"rootA"}},
		{name: "ordered", host: hostOrdered, roots: []string{"rootA"}},
	}
	instA := startGatewayWith(t, header(shared), sites...)
	instB := startGatewayWith(t, header(shared), sites...)
	instC := startGatewayWith(t, header(other), sites...)
	p := instA.pki
	sess := filepath.Join(t.TempDir(), "session.pem")

	// s_client prints "New," or "Reused," for the session; a request is
	// sent so that the TLS 1.3 ticket arrives before the session is saved.
	connect := func(g *gateway, host string, sessArg ...string) string {
		args := []string{"s_client", "-connect", "127.0.0.1:" + strconv.Itoa(g.port), "-servername", host,
			"-CAfile", p.cert("rootA"), "-cert", p.cert("alice"), "-key", p.key("alice"), "-tls1_3", "-ign_eof"}
		args = append(args, sessArg...)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, errOut, err := runClient(ctx, nil, "GET / HTTP/1.0\r\nHost: "+host+"\r\n\r\n", "openssl", args...)
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s\n%s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}
	reused := func(out string) bool { return strings.Contains(out, "Reused, TLSv1.3") }

	out := connect(instA, hostMain, "-sess_out", sess)
	if reused(out) || !strings.Contains(out, "HTTP/1.0 200") && !strings.Contains(out, "HTTP/1.1 200") {
		t.Fatalf("instance A, first connection: want a new session and 200:\n%s", out)
	}
	if out := connect(instB, hostMain, "-sess_in", sess); !reused(out) || !strings.Contains(out, " 200 ") {
		t.Errorf("instance B with the same keys: session not reused (or not 200):\n%s", out)
	}
	if out := connect(instC, hostMain, "-sess_in", sess); reused(out) {
		t.Errorf("instance C with other keys reused the session:\n%s", out)
	}
	if out := connect(instB, hostOrdered, "-sess_in", sess); reused(out) {
		t.Errorf("the session of site main was reused on site ordered:\n%s", out)
	}
}

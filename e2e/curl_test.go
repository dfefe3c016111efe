package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/substatus"
)

// echoBody is the part of the echo upstream's JSON the tests read.
type echoBody struct {
	Site string `json:"site"`
	Path string `json:"path"`
	TLS  struct {
		Version string `json:"version"`
	} `json:"tls"`
	Client struct {
		Presented bool   `json:"presented"`
		Verified  bool   `json:"verified"`
		Subject   string `json:"subject"`
		Issuer    string `json:"issuer"`
		Outcome   *struct {
			Substatus string `json:"substatus"`
			Code      uint32 `json:"code"`
			CodeName  string `json:"code_name"`
		} `json:"outcome"`
	} `json:"client"`
	Location struct {
		Path   string `json:"path"`
		Policy string `json:"policy"`
	} `json:"location"`
}

// problemBody is the RFC 9457 problem+json body of a refusal.
type problemBody struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Substatus string `json:"substatus"`
	Code      uint32 `json:"code"`
	CodeName  string `json:"code_name"`
	CodeHex   string `json:"code_hex"`
}

// curlResult is what curl received.
type curlResult struct {
	status int
	header http.Header
	body   []byte
}

// curlReq is one curl request to the gateway.
type curlReq struct {
	cert  string   // PKI entry sent with --cert/--key; "" for none
	chain []string // PKI entries sent after the leaf (curl sends the whole --cert file)
	host  string   // resolved to 127.0.0.1 and sent as SNI; "" for 127.0.0.1, no SNI
	path  string
	extra []string // more curl flags
}

// curlGet fetches r with curl, trusting rootA for the server.
func curlGet(t *testing.T, g *gateway, r curlReq) curlResult {
	t.Helper()
	dir := t.TempDir()
	bodyF, headF := filepath.Join(dir, "body"), filepath.Join(dir, "headers")
	args := []string{"-sS", "--max-time", "20", "--cacert", g.pki.cert("rootA"),
		"-o", bodyF, "-D", headF, "-w", "%{http_code}"}
	if r.cert != "" {
		certF := g.pki.cert(r.cert)
		if len(r.chain) > 0 {
			certF = filepath.Join(dir, "chain.pem")
			var pemBytes []byte
			for _, n := range append([]string{r.cert}, r.chain...) {
				b, err := os.ReadFile(g.pki.cert(n))
				if err != nil {
					t.Fatal(err)
				}
				pemBytes = append(pemBytes, b...)
			}
			if err := os.WriteFile(certF, pemBytes, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		args = append(args, "--cert", certF, "--key", g.pki.key(r.cert))
	}
	if r.host != "" {
		args = append(args, "--resolve", r.host+":"+strconv.Itoa(g.port)+":127.0.0.1")
	}
	args = append(args, r.extra...)
	args = append(args, g.url(r.host, r.path))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, errOut, err := runClient(ctx, nil, "", "curl", args...)
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	code, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("curl printed %q, want an HTTP status code", out)
	}
	body, err := os.ReadFile(bodyF)
	if err != nil {
		t.Fatal(err)
	}
	return curlResult{status: code, header: readHeaders(t, headF), body: body}
}

// readHeaders parses curl's -D file (HTTP/1.1 or HTTP/2 status line, then
// header lines).
func readHeaders(t *testing.T, file string) http.Header {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := textproto.NewReader(bufio.NewReader(f))
	if _, err := r.ReadLine(); err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	h, err := r.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		t.Fatalf("read headers %s: %v", file, err)
	}
	return http.Header(h)
}

var titleRE = regexp.MustCompile(`(?s)<title>(.*?)</title>`)

// htmlTitle returns the unescaped <title> of a page, "" if it has none.
func htmlTitle(page []byte) string {
	m := titleRE.FindSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(strings.TrimSpace(string(m[1])))
}

func TestCurl(t *testing.T) {
	t.Parallel()
	needTools(t, "curl")
	g := startGateway(t,
		site{name: "main", host: hostMain, isDef: true, roots: []string{"rootA"}},
		// The seed scenario: rootA is trusted but the list names only
		// rootB. curl ignores the list, so it shows that the list does
		// not restrict what the gateway accepts.
		site{name: "ctlb", host: hostCTLB, roots: []string{"rootA"}, source: []string{"rootB"}},
	)
	aliceSubject := g.pki.parse(t, "alice").Subject.String()

	tls12 := []string{"--tls-max", "1.2"}
	type refusal struct {
		sub  substatus.Sub
		code substatus.Code
	}
	tests := []struct {
		name string
		req  curlReq
		// Exactly one of refuse and echo applies.
		refuse *refusal
		echo   echoWant
	}{
		{name: "valid", req: curlReq{cert: "alice", path: pathRequire}, echo: echoWant{policy: "require", presented: true, verified: true, subject: aliceSubject}},
		{name: "valid TLS 1.2", req: curlReq{cert: "alice", path: pathRequire, extra: tls12}, echo: echoWant{policy: "require", presented: true, verified: true, subject: aliceSubject, tls: "TLS 1.2"}},
		{name: "none on require", req: curlReq{path: pathRequire}, refuse: &refusal{substatus.CertRequired, substatus.SecENoCredentials}},
		{name: "none on ignore", req: curlReq{path: pathPublic}, echo: echoWant{policy: "ignore"}},
		{name: "expired", req: curlReq{cert: "expired", path: pathRequire}, refuse: &refusal{substatus.CertTimeInvalid, substatus.CertEExpired}},
		// curl sends only the leaf: the gateway cannot even find the
		// issuer (CERT_E_CHAINING). With the root in the --cert file the
		// chain is complete and ends in a root it does not trust.
		{name: "untrusted issuer", req: curlReq{cert: "mallory", path: pathRequire}, refuse: &refusal{substatus.CertUntrusted, substatus.CertEChaining}},
		{name: "untrusted issuer TLS 1.2", req: curlReq{cert: "mallory", path: pathRequire, extra: tls12}, refuse: &refusal{substatus.CertUntrusted, substatus.CertEChaining}},
		{name: "untrusted root sent", req: curlReq{cert: "mallory", chain: []string{"rootB"}, path: pathRequire}, refuse: &refusal{substatus.CertUntrusted, substatus.CertEUntrustedRoot}},
		{name: "EKU serverAuth only", req: curlReq{cert: "srvonly", path: pathRequire}, refuse: &refusal{substatus.CertUntrusted, substatus.CertEWrongUsage}},
		{name: "KU keyEncipherment only", req: curlReq{cert: "kuke", path: pathRequire}, refuse: &refusal{substatus.CertUntrusted, substatus.CertEWrongUsage}},
		// accept: an invalid certificate is not used; the request goes on
		// anonymously with the failure recorded (IIS SslNegotiateCert).
		{name: "untrusted on accept", req: curlReq{cert: "mallory", path: pathAccept}, echo: echoWant{policy: "accept", presented: true, outcome: substatus.CertUntrusted}},
		{name: "valid on accept", req: curlReq{cert: "alice", path: pathAccept}, echo: echoWant{policy: "accept", presented: true, verified: true, subject: aliceSubject}},
		{name: "root left out of the list, curl still sends", req: curlReq{cert: "alice", host: hostCTLB, path: pathRequire}, echo: echoWant{site: "ctlb", policy: "require", presented: true, verified: true, subject: aliceSubject}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.refuse == nil {
				r := curlGet(t, g, tc.req)
				checkEcho(t, r, tc.echo)
				return
			}
			want := *tc.refuse
			heading := substatus.Must(want.sub).Heading()

			page := curlGet(t, g, tc.req)
			if page.status != want.sub.Status {
				t.Fatalf("HTML: status %d, want %d; body:\n%s", page.status, want.sub.Status, page.body)
			}
			if got := page.header.Get("X-Certgate-Substatus"); got != want.sub.String() {
				t.Errorf("HTML: X-Certgate-Substatus %q, want %q", got, want.sub)
			}
			if ct := page.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("HTML: Content-Type %q, want text/html", ct)
			}
			if got := htmlTitle(page.body); got != heading {
				t.Errorf("HTML: title %q, want %q", got, heading)
			}

			jreq := tc.req
			jreq.extra = append([]string{"-H", "Accept: application/json"}, jreq.extra...)
			js := curlGet(t, g, jreq)
			if js.status != want.sub.Status {
				t.Fatalf("JSON: status %d, want %d; body:\n%s", js.status, want.sub.Status, js.body)
			}
			if ct := js.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("JSON: Content-Type %q, want application/problem+json", ct)
			}
			var p problemBody
			if err := json.Unmarshal(js.body, &p); err != nil {
				t.Fatalf("JSON: %v in body:\n%s", err, js.body)
			}
			if p.Substatus != want.sub.String() || p.Status != want.sub.Status {
				t.Errorf("JSON: substatus %q status %d, want %q %d", p.Substatus, p.Status, want.sub, want.sub.Status)
			}
			if p.Code != uint32(want.code) || p.CodeName != want.code.Name() || p.CodeHex != want.code.Hex() {
				t.Errorf("JSON: code %d %s %s, want %d %s %s", p.Code, p.CodeName, p.CodeHex, uint32(want.code), want.code.Name(), want.code.Hex())
			}
			if p.Title == "" || p.Type == "" {
				t.Errorf("JSON: RFC 9457 type %q and title %q must be set", p.Type, p.Title)
			}
		})
	}

	// The page title is the IIS one, spelled out once here as the issue
	// states it, so that a catalogue change that breaks the IIS wording is
	// caught end to end.
	t.Run("IIS title 403.16", func(t *testing.T) {
		t.Parallel()
		r := curlGet(t, g, curlReq{cert: "mallory", path: pathRequire})
		const want = "HTTP Error 403.16 - Forbidden: Client certificate is untrusted or invalid"
		if got := htmlTitle(r.body); got != want {
			t.Errorf("title %q, want %q", got, want)
		}
	})
}

// echoWant is what the echo upstream must report for a request that got
// through.
type echoWant struct {
	site                string // default "main"
	policy              string // location.policy
	presented, verified bool
	subject             string        // client.subject, checked when set
	outcome             substatus.Sub // client.outcome.substatus on accept; zero: none
	tls                 string        // tls.version, checked when set
}

// checkEcho asserts a 200 from the echo upstream with the expected
// identity.
func checkEcho(t *testing.T, r curlResult, w echoWant) {
	t.Helper()
	if w.site == "" {
		w.site = "main"
	}
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200; substatus %q; body:\n%s", r.status, r.header.Get("X-Certgate-Substatus"), r.body)
	}
	var e echoBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("echo body: %v\n%s", err, r.body)
	}
	if e.Site != w.site {
		t.Errorf("site %q, want %q", e.Site, w.site)
	}
	if w.tls != "" && e.TLS.Version != w.tls {
		t.Errorf("tls.version %q, want %q", e.TLS.Version, w.tls)
	}
	if e.Location.Policy != w.policy {
		t.Errorf("location.policy %q, want %q", e.Location.Policy, w.policy)
	}
	if e.Client.Presented != w.presented || e.Client.Verified != w.verified {
		t.Errorf("client presented=%v verified=%v, want %v %v; body:\n%s", e.Client.Presented, e.Client.Verified, w.presented, w.verified, r.body)
	}
	if w.subject != "" && e.Client.Subject != w.subject {
		t.Errorf("client.subject %q, want %q", e.Client.Subject, w.subject)
	}
	switch {
	case w.outcome.IsZero() && e.Client.Outcome != nil:
		t.Errorf("client.outcome %+v, want none", *e.Client.Outcome)
	case !w.outcome.IsZero() && (e.Client.Outcome == nil || e.Client.Outcome.Substatus != w.outcome.String()):
		t.Errorf("client.outcome %+v, want substatus %s; body:\n%s", e.Client.Outcome, w.outcome, r.body)
	}
}

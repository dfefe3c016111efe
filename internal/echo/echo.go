package echo

import (
	"crypto/x509"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/certgate/certgate/internal/verify"
)

// Response is the body of an echo answer.
type Response struct {
	RequestID string `json:"request_id"`
	Site      string `json:"site"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	Query     string `json:"query"`
	Host      string `json:"host"`
	// Headers as the upstream would receive them (client-supplied identity
	// headers removed), keys sorted by encoding/json.
	Headers  map[string][]string `json:"headers"`
	TLS      TLS                 `json:"tls"`
	Client   Client              `json:"client"`
	Location Location            `json:"location"`
}

// TLS describes the connection.
type TLS struct {
	Version string `json:"version"`
	Cipher  string `json:"cipher"`
	SNI     string `json:"sni"`
	ALPN    string `json:"alpn,omitempty"`
	Resumed bool   `json:"resumed"`
}

// Client describes the client certificate and identity.
type Client struct {
	// Presented: the client sent a certificate (always false on ignore
	// locations, where it is not looked at).
	Presented bool `json:"presented"`
	// Verified: valid, and used as the client's identity.
	Verified bool `json:"verified"`
	// Subject...Chain describe the leaf the client presented (verified or
	// not: the outcome says which).
	Subject  string     `json:"subject,omitempty"`
	Issuer   string     `json:"issuer,omitempty"`
	Serial   string     `json:"serial,omitempty"`
	SHA256   string     `json:"sha256,omitempty"`
	NotAfter *time.Time `json:"not_after,omitempty"`
	// Chain is the verified chain (leaf to anchor) when verified, else the
	// presented one, as subjects.
	Chain []string `json:"chain,omitempty"`
	// User and Groups come from certificate mapping.
	User   string   `json:"user,omitempty"`
	Groups []string `json:"groups,omitempty"`
	// Outcome is set when a certificate was presented, failed, and the
	// request went on anonymously (accept location).
	Outcome *Outcome `json:"outcome,omitempty"`
}

// Outcome is a failed verification outcome.
type Outcome struct {
	Substatus string `json:"substatus"`
	Code      uint32 `json:"code"`
	CodeName  string `json:"code_name"`
	CodeHex   string `json:"code_hex"`
	Element   string `json:"element,omitempty"`
	Reason    string `json:"reason"`
}

// Location is the location rule that applied.
type Location struct {
	Path   string `json:"path"`
	Policy string `json:"policy"`
}

// Identity is what the gateway established about the client of a request,
// as the echo renders it. The gateway fills one per request from its own
// identity; the pointers (Presented, Outcome) are the connection's and
// let Conn recognise a request like the previous one.
type Identity struct {
	RequestID string
	Site      string
	Location  Location
	// Presented is the chain the client sent, leaf first; nil on ignore
	// locations.
	Presented []*x509.Certificate
	// Outcome is the connection's verification outcome on accept and
	// require locations; its Chain is the verified chain when Verified.
	Outcome *verify.Outcome
	// Verified: the certificate is valid and identifies the client.
	Verified bool
	// Downgraded: a certificate was presented, failed, and the request
	// went on anonymously (accept location without reject_invalid).
	Downgraded bool
	// User and Groups are the result of certificate mapping.
	User   string
	Groups []string
}

// chain returns the verified chain, or nil.
func (id *Identity) chain() []*x509.Certificate {
	if !id.Verified || id.Outcome == nil {
		return nil
	}
	return id.Outcome.Chain
}

var (
	contentType = []string{"application/json"}
	// buffers recycles response bodies: a keep-alive request otherwise
	// allocates its 1 KB body, most of the garbage the echo path makes.
	buffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}
)

// Serve answers r for the client id. c is the connection's memo (nil
// outside a gateway connection: everything is then computed per
// request). headers are the request headers as the upstream would
// receive them: the caller has removed client-supplied identity headers.
// The caller sets its own response headers (the request ID) before.
func Serve(w http.ResponseWriter, r *http.Request, id *Identity, c *Conn, headers http.Header) {
	ec := c.init(r.TLS)
	resp := Response{
		RequestID: id.RequestID,
		Site:      id.Site,
		Method:    r.Method,
		Path:      r.URL.Path,
		Query:     r.URL.RawQuery,
		Host:      r.Host,
		Headers:   headers,
	}
	// The hand-written encoder writes what json.MarshalIndent does, and
	// the connection's memo (conn.go) keeps the parts that do not change
	// between its requests: several times faster.
	bp := buffers.Get().(*[]byte)
	defer func() { *bp = (*bp)[:0]; buffers.Put(bp) }()
	b, ok := ec.appendTail(ec.appendHead(*bp, &resp), id, r.TLS)
	if !ok {
		resp.TLS, resp.Client, resp.Location = ec.tlsOf(r.TLS), client(id, ec), id.Location
		var err error
		if b, err = json.MarshalIndent(resp, "", "  "); err != nil {
			http.Error(w, "echo: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	// Canonical keys assigned directly: Header.Set would canonicalise and
	// allocate each time. The shared values have len == cap, so an append
	// by anyone copies rather than changing them. Every header costs
	// net/http a clone, a sort and a write per response (about 1.5% of a
	// keep-alive request each), so there is no Cache-Control: browsers do
	// not reuse a response without a lifetime or Last-Modified (the base
	// of their heuristic one, RFC 9111 section 4.2.2), and no shared cache
	// sits inside the client's TLS connection to the gateway.
	h := w.Header()
	h["Content-Type"], h["Date"] = contentType, httpDate(time.Now())
	b = append(b, '\n')
	if ok {
		*bp = b // keep a grown buffer for the next response
	}
	_, _ = w.Write(b) // net/http copies it: the buffer is free on return
}

// client describes the client; ec (nil outside a gateway connection)
// remembers the certificate texts for the connection.
func client(id *Identity, ec *Conn) Client {
	c := Client{Presented: len(id.Presented) > 0, Verified: id.Verified, User: id.User, Groups: id.Groups}
	if !c.Presented {
		return c
	}
	leaf := id.Presented[0]
	na := leaf.NotAfter.UTC()
	c.Subject, c.NotAfter = ec.subject(leaf), &na
	c.Issuer, c.Serial, c.SHA256 = ec.leafText(leaf)
	chain := id.Presented
	if id.Verified {
		chain = id.chain()
	}
	c.Chain = ec.subjects(chain)
	if id.Downgraded && id.Outcome != nil {
		o := id.Outcome
		c.Outcome = &Outcome{Substatus: o.Sub.String(), Code: uint32(o.Code), CodeName: o.Code.Name(), CodeHex: o.Code.Hex(), Reason: o.Reason}
		if o.Element != nil {
			c.Outcome.Element = o.Element.String()
		}
	}
	return c
}

// serialHex renders a serial number as colon-free upper-case hex, as
// certutil and the Windows certificate dialog show it.
func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return ""
	}
	return strings.ToUpper(c.SerialNumber.Text(16))
}

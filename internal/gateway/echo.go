package gateway

import (
	"encoding/json"
	"net/http"
	"time"
)

// echoHandler is the built-in upstream (`upstream: echo`): it answers with
// JSON describing the request as an upstream behind certgate would receive
// it, and the client identity. The demo and the tests read it.
type echoHandler struct{}

// EchoResponse is the body of the echo handler.
type EchoResponse struct {
	RequestID string `json:"request_id"`
	Site      string `json:"site"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	Query     string `json:"query"`
	Host      string `json:"host"`
	// Headers as the upstream would receive them (client-supplied identity
	// headers removed), keys sorted by encoding/json.
	Headers  map[string][]string `json:"headers"`
	TLS      EchoTLS             `json:"tls"`
	Client   EchoClient          `json:"client"`
	Location EchoLocation        `json:"location"`
}

// EchoTLS describes the connection.
type EchoTLS struct {
	Version string `json:"version"`
	Cipher  string `json:"cipher"`
	SNI     string `json:"sni"`
	ALPN    string `json:"alpn,omitempty"`
	Resumed bool   `json:"resumed"`
}

// EchoClient describes the client certificate and identity.
type EchoClient struct {
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
	Outcome *EchoOutcome `json:"outcome,omitempty"`
}

// EchoOutcome is a failed verification outcome.
type EchoOutcome struct {
	Substatus string `json:"substatus"`
	Code      uint32 `json:"code"`
	CodeName  string `json:"code_name"`
	CodeHex   string `json:"code_hex"`
	Element   string `json:"element,omitempty"`
	Reason    string `json:"reason"`
}

// EchoLocation is the location rule that applied.
type EchoLocation struct {
	Path   string `json:"path"`
	Policy string `json:"policy"`
}

func (e echoHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	if id == nil {
		http.Error(w, "echo: no gateway identity in the request context", http.StatusInternalServerError)
		return
	}
	// Outside Server.ServeHTTP nothing has removed client-supplied identity
	// headers yet: the body shows what a proxied upstream would receive.
	e.serve(w, r, id, connFrom(r.Context()), upstreamHeaders(r.Header.Clone(), id.Site), []string{id.RequestID})
}

// serve answers r for the client id on connection cs (nil outside a
// gateway connection). Server.ServeHTTP calls it directly, with the
// request's headers already stripped of client-supplied identity headers
// (stripSpoofable) and the X-Request-Id value in storage of its own.
func (echoHandler) serve(w http.ResponseWriter, r *http.Request, id *Identity, cs *connState, headers http.Header, requestIDValue []string) {
	ec := echoCache(cs, r.TLS)
	resp := EchoResponse{
		RequestID: id.RequestID,
		Site:      id.Site.Name,
		Method:    r.Method,
		Path:      r.URL.Path,
		Query:     r.URL.RawQuery,
		Host:      r.Host,
		Headers:   headers,
	}
	// The hand-written encoder writes what json.MarshalIndent does, and
	// the connection's memo (echo_conn.go) keeps the parts that do not
	// change between its requests: several times faster.
	bp := echoBuffers.Get().(*[]byte)
	defer func() { *bp = (*bp)[:0]; echoBuffers.Put(bp) }()
	b, ok := ec.appendTail(ec.appendHead(*bp, &resp), id, r.TLS)
	if !ok {
		resp.TLS, resp.Client, resp.Location = ec.tlsOf(r.TLS), echoClient(id, ec), echoLocation(id.Location)
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
	h["Content-Type"], h[HeaderRequestID], h["Date"] = echoContentType, requestIDValue, httpDate(time.Now())
	b = append(b, '\n')
	if ok {
		*bp = b // keep a grown buffer for the next response
	}
	_, _ = w.Write(b) // net/http copies it: the buffer is free on return
}

// echoClient describes the client; ec (nil outside a gateway connection)
// remembers the certificate texts for the connection.
func echoClient(id *Identity, ec *echoConn) EchoClient {
	c := EchoClient{Presented: len(id.Presented) > 0, Verified: id.Verified, User: id.User, Groups: id.Groups}
	if !c.Presented {
		return c
	}
	leaf := id.Presented[0]
	na := leaf.NotAfter.UTC()
	c.Subject, c.NotAfter = ec.subject(leaf), &na
	c.Issuer, c.Serial, c.SHA256 = ec.leafText(leaf)
	chain := id.Presented
	if id.Verified {
		chain = id.Chain()
	}
	c.Chain = ec.subjects(chain)
	if id.Downgraded() {
		o := id.Outcome
		c.Outcome = &EchoOutcome{Substatus: o.Sub.String(), Code: uint32(o.Code), CodeName: o.Code.Name(), CodeHex: o.Code.Hex(), Reason: o.Reason}
		if o.Element != nil {
			c.Outcome.Element = o.Element.String()
		}
	}
	return c
}

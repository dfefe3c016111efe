package gateway

import (
	"bytes"
	"encoding/json"
	"html/template"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/site"
	"github.com/certgate/certgate/internal/substatus"
)

// problem is a response the gateway writes itself. Its client-facing text
// comes from the substatus catalogue; Reason and Element may name CAs,
// files and sites, so they are shown only when Detailed.
type problem struct {
	Sub       substatus.Sub
	Code      substatus.Code
	Element   string
	Reason    string
	RequestID string
	// Detailed: the client is on loopback or the site has detailed_errors
	// (IIS errorMode DetailedLocalOnly / Detailed).
	Detailed bool
	// Diagnostics is the path of the site's self-service page, linked from
	// 403 pages when the site has one.
	Diagnostics string
}

// problemFromDenial is the page of a refusal decided by site.Decide.
func problemFromDenial(d *site.Denial, detailed bool) problem {
	p := problem{Sub: d.Sub, Code: d.Code, Reason: d.Reason, Detailed: detailed}
	if d.Element != nil {
		p.Element = d.Element.String()
	}
	return p
}

// Response headers on every response the gateway writes itself, spelled
// once in internal/substatus (which `certgate probe` reads them with).
const (
	HeaderSubstatus = substatus.HeaderSubstatus // "403.16"
	HeaderCode      = substatus.HeaderCode      // "0x800B0109"
	HeaderRequestID = substatus.HeaderRequestID
)

// problemTypeBase + "403.16" is the RFC 9457 "type" URI: the error catalogue
// entry for the sub-status.
const problemTypeBase = "https://github.com/certgate/certgate/blob/main/docs/errors.md#"

// problemJSON is the application/problem+json body (RFC 9457). Members
// beyond type, title, status and detail are extensions (section 3.2).
type problemJSON struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Substatus string `json:"substatus"`
	// Code is the decimal Win32-style code, as IIS logs sc-win32-status.
	Code      uint32 `json:"code,omitempty"`
	CodeName  string `json:"code_name,omitempty"`
	CodeHex   string `json:"code_hex,omitempty"`
	RequestID string `json:"request_id"`
	Element   string `json:"element,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Diagnostics is the self-service page that says why (a path on this
	// site), when the site has one.
	Diagnostics string `json:"diagnostics,omitempty"`
}

// writeProblem writes p as HTML, or as problem+json when the client's
// Accept header prefers JSON.
func writeProblem(w http.ResponseWriter, r *http.Request, p problem) {
	entry := substatus.Must(p.Sub)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(HeaderRequestID, p.RequestID)
	h.Set(HeaderSubstatus, p.Sub.String())
	if p.Code != substatus.NoError {
		h.Set(HeaderCode, p.Code.Hex())
	}
	if p.Sub == substatus.MisdirectedRequest && r.ProtoMajor == 1 {
		// The client has to retry on a new connection with the right
		// server name; closing this one makes that obvious.
		h.Set("Connection", "close")
	}

	var body []byte
	if prefersJSON(r.Header.Values("Accept")) {
		h.Set("Content-Type", "application/problem+json")
		body = renderJSON(entry, p)
	} else {
		h.Set("Content-Type", "text/html; charset=utf-8")
		body = renderHTML(entry, p)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(p.Sub.Status)
	_, _ = w.Write(body)
}

func renderJSON(entry substatus.Entry, p problem) []byte {
	j := problemJSON{
		Type:        problemTypeBase + p.Sub.String(),
		Title:       entry.Title,
		Status:      p.Sub.Status,
		Detail:      entry.ClientAdvice,
		Substatus:   p.Sub.String(),
		RequestID:   p.RequestID,
		Diagnostics: p.Diagnostics,
	}
	if p.Code != substatus.NoError {
		j.Code, j.CodeName, j.CodeHex = uint32(p.Code), p.Code.Name(), p.Code.Hex()
	}
	if p.Detailed {
		j.Element, j.Reason = p.Element, p.Reason
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		panic(err) // strings and numbers only: cannot fail
	}
	return append(b, '\n')
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Heading}}</title>
<style>
body{margin:0;font:14px/1.5 "Segoe UI",system-ui,sans-serif;background:#fff;color:#222}
#header{background:#555;color:#fff;padding:6px 2%}
#header h1{margin:0;font-size:1.6em;font-weight:normal}
main{padding:0 2%}
h2{font-size:1.3em;color:#c00;margin:1em 0 .5em}
h3{font-size:1.05em;margin:1.5em 0 .3em}
table{border-collapse:collapse}
th{text-align:left;vertical-align:top;padding:2px 1em 2px 0;white-space:nowrap}
td{padding:2px 0;word-break:break-word}
.id{color:#666;font-size:.9em;margin-top:2em}
</style>
</head>
<body>
<div id="header"><h1>Server Error</h1></div>
<main>
<h2>{{.Heading}}</h2>
<p>{{.Advice}}</p>
{{- if .Detailed}}
<h3>Detailed error information</h3>
<table>
<tr><th>Reason</th><td>{{.Reason}}</td></tr>
{{- with .Element}}
<tr><th>Failing certificate</th><td>{{.}}</td></tr>
{{- end}}
{{- if .Code}}
<tr><th>Error code</th><td>{{.Code.Name}} ({{.Code.Hex}}, {{.Code.Decimal}})</td></tr>
{{- end}}
</table>
{{- end}}
{{- with .Diagnostics}}
<p><a id="why" href="{{.}}">Why was I refused?</a></p>
{{- end}}
<p class="id">Request ID: {{.RequestID}}</p>
</main>
</body>
</html>
`))

func renderHTML(entry substatus.Entry, p problem) []byte {
	var b bytes.Buffer
	err := pageTemplate.Execute(&b, struct {
		problem
		Heading, Advice string
	}{p, entry.Heading(), entry.ClientAdvice})
	if err != nil {
		panic(err) // a fixed template over plain fields: a bug, caught by tests
	}
	return b.Bytes()
}

// prefersJSON reports whether an Accept header (all its values) gives JSON
// a higher quality than HTML (RFC 9110 section 12.5.1). JSON is
// application/problem+json or application/json; ties, including "*/*" and
// no Accept header, go to HTML, which is what a browser gets from IIS.
func prefersJSON(accept []string) bool {
	if len(accept) == 0 {
		return false
	}
	ranges := parseAccept(strings.Join(accept, ","))
	qJSON := max(ranges.quality("application", "problem+json"), ranges.quality("application", "json"))
	qHTML := ranges.quality("text", "html")
	return qJSON > qHTML
}

type mediaRange struct {
	typ, sub string
	q        float64
}

type acceptRanges []mediaRange

func parseAccept(header string) acceptRanges {
	var out acceptRanges
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue // a malformed range counts for nothing
		}
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok || typ == "" || sub == "" || typ == "*" && sub != "*" {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		out = append(out, mediaRange{typ: typ, sub: sub, q: q})
	}
	return out
}

// quality returns the q-value the most specific matching range gives
// typ/sub (type/sub beats type/* beats */*), or 0 when none matches.
func (a acceptRanges) quality(typ, sub string) float64 {
	best, spec := 0.0, -1
	for _, m := range a {
		var s int
		switch {
		case m.typ == typ && m.sub == sub:
			s = 2
		case m.typ == typ && m.sub == "*":
			s = 1
		case m.typ == "*" && m.sub == "*":
			s = 0
		default:
			continue
		}
		if s > spec || s == spec && m.q > best {
			best, spec = m.q, s
		}
	}
	return best
}

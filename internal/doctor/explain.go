package doctor

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/accesslog"
	"github.com/certgate/certgate/internal/substatus"
)

// DefaultFields is the #Fields order certgate's access log writes; Explain
// uses it for a log line that is not preceded by its own #Fields directive.
var DefaultFields = strings.Fields(accesslog.Fields)

// Kinds of thing Explain understands.
const (
	KindSubStatus = "substatus"
	KindCode      = "code"
	KindEvent     = "event"
	KindLogLine   = "log"
	// KindProfileRule is an RFC 5280 profile rule (substatus.ProfileRules),
	// as named in verify and lint warnings.
	KindProfileRule = "profile-rule"
)

// SubRef describes a sub-status in an explanation.
type SubRef struct {
	Text      string `json:"text"` // "403.16"
	Status    int    `json:"status"`
	SubStatus int    `json:"substatus"`
	Heading   string `json:"heading"`
}

// CodeRef describes a Win32-style code in an explanation.
type CodeRef struct {
	Name    string `json:"name"`
	Hex     string `json:"hex"`
	Decimal string `json:"decimal"`
	Signed  string `json:"signed"`
	Message string `json:"message,omitempty"`
	// Sub is the sub-status certgate answers with when this code is the reason.
	Sub string `json:"substatus,omitempty"`
	// Logged is the sc-win32-status value of a log line when it differs
	// from the code it stands for (IIS logs 403.7 with 5).
	Logged string `json:"logged,omitempty"`
}

// EventRef describes a Windows event in an explanation.
type EventRef struct {
	ID      int    `json:"id"`
	Source  string `json:"source"`
	Level   string `json:"level"`
	Message string `json:"message"`
}

// LogRequest is the request a W3C log line describes, with IIS field
// encoding ('+' for spaces, '-' for empty) undone.
type LogRequest struct {
	Fields map[string]string `json:"fields"`
}

// Explanation is the answer of `certgate explain` for one thing.
type Explanation struct {
	Input string `json:"input"`
	Kind  string `json:"kind"`
	// Sub, Code and Event are set when the thing is, or names, one of them.
	Sub   *SubRef   `json:"substatus,omitempty"`
	Code  *CodeRef  `json:"code,omitempty"`
	Event *EventRef `json:"event,omitempty"`
	// Request is set for a log line.
	Request *LogRequest `json:"request,omitempty"`
	// Meaning says what the thing means in one or two sentences.
	Meaning string `json:"meaning"`
	// ClientAdvice is what the person at the browser is told.
	ClientAdvice string `json:"client_advice,omitempty"`
	// RelatedCodes lists, for a sub-status, the codes logged with it.
	RelatedCodes []CodeRef `json:"related_codes,omitempty"`
	// Causes are ordered most frequent first.
	Causes    []string `json:"causes"`
	NextSteps []string `json:"next_steps"`
}

// ExplainOptions configures Explain.
type ExplainOptions struct {
	// Fields is the #Fields order for log lines that do not carry their own
	// directive; nil means DefaultFields.
	Fields []string
}

var subPattern = regexp.MustCompile(`^[1-5][0-9]{2}(\.[0-9]+)?$`)

// Explain explains thing: a sub-status ("403.16"), a Win32 code in decimal,
// signed decimal, hex or symbolic form, a Windows event ID ("36885"), or W3C
// log text (one or more lines, optionally with #Fields directives). Log
// text yields one Explanation per request line; everything else yields one.
// Every sentence comes from internal/substatus.
func Explain(thing string, opts ExplainOptions) ([]*Explanation, error) {
	t := strings.TrimSpace(thing)
	if t == "" {
		return nil, fmt.Errorf("explain %q: %w", thing, ErrUnknownThing)
	}
	if isLogText(t) {
		fields := opts.Fields
		if len(fields) == 0 {
			fields = DefaultFields
		}
		return explainLog(t, fields)
	}
	var e *Explanation
	var err error
	switch {
	case subPattern.MatchString(t):
		e, err = explainSub(t)
	default:
		if ev, ok := substatus.ParseEvent(t); ok {
			e = explainEvent(t, ev)
			break
		}
		if r, ok := substatus.LookupProfileRule(t); ok {
			e = explainProfileRule(t, r)
			break
		}
		var c substatus.Code
		c, err = substatus.ParseCode(t)
		if err != nil {
			return nil, fmt.Errorf("explain %q: %w (want e.g. 403.16, 2148204809, 0x800B0109, CERT_E_UNTRUSTEDROOT, 36885, a profile rule such as serial-too-long, or a quoted W3C log line)", thing, ErrUnknownThing)
		}
		e, err = explainCode(t, c)
	}
	if err != nil {
		return nil, err
	}
	return []*Explanation{e}, nil
}

// isLogText reports whether t looks like W3C log text rather than a single
// token: a directive, several lines, or several space-separated fields.
func isLogText(t string) bool {
	return strings.HasPrefix(t, "#") || strings.ContainsAny(t, "\n") || len(strings.Fields(t)) >= 3
}

func subRef(s substatus.Sub) *SubRef {
	return &SubRef{Text: s.String(), Status: s.Status, SubStatus: s.Sub, Heading: substatus.Must(s).Heading()}
}

func codeRef(c substatus.Code) *CodeRef {
	r := &CodeRef{Name: c.Name(), Hex: c.Hex(), Decimal: c.Decimal(), Signed: c.Signed()}
	if i, ok := c.Info(); ok {
		r.Message = i.Message
		r.Sub = i.Sub.String()
	} else if _, msg, ok := substatus.Win32Name(c); ok {
		r.Message = msg
	}
	return r
}

func explainSub(input string) (*Explanation, error) {
	s, err := substatus.ParseSub(input)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	// Statuses certgate does not answer with itself (401.2, 404.3...) are
	// still explained by their IIS title: they are in IIS logs an admin
	// pastes, and probe prints whatever status a server sent.
	entry, _, ok := substatus.Describe(s)
	if !ok {
		return nil, fmt.Errorf("explain %q: sub-status %s %w (known: %s, and the IIS sub-statuses)", input, s, ErrNotCatalogued, knownSubs())
	}
	e := &Explanation{
		Input: input, Kind: KindSubStatus, Sub: subRef(s),
		Meaning:      entry.Heading(),
		ClientAdvice: entry.ClientAdvice,
		Causes:       entry.Causes,
		NextSteps:    entry.NextSteps,
	}
	for _, ci := range substatus.CodesFor(s) {
		e.RelatedCodes = append(e.RelatedCodes, *codeRef(ci.Code))
	}
	return e, nil
}

func knownSubs() string {
	var out []string
	for _, s := range substatus.Subs() {
		out = append(out, s.String())
	}
	return strings.Join(out, ", ")
}

func explainCode(input string, c substatus.Code) (*Explanation, error) {
	info, ok := c.Info()
	if !ok {
		return nil, fmt.Errorf("explain %q: code %s (%s, signed %s) %w", input, c.Hex(), c.Decimal(), c.Signed(), ErrNotCatalogued)
	}
	d := c.Details()
	return &Explanation{
		Input: input, Kind: KindCode, Code: codeRef(c), Sub: subRef(info.Sub),
		Meaning:   info.Message,
		Causes:    d.Causes,
		NextSteps: d.NextSteps,
	}, nil
}

func explainEvent(input string, ev substatus.Event) *Explanation {
	e := &Explanation{
		Input: input, Kind: KindEvent,
		Event:     &EventRef{ID: ev.ID, Source: ev.Source, Level: ev.Level, Message: ev.Message},
		Meaning:   ev.Meaning,
		Causes:    ev.Causes,
		NextSteps: ev.NextSteps,
	}
	if !ev.Related.IsZero() {
		e.Sub = subRef(ev.Related)
	}
	return e
}

// explainLog explains every request line of W3C log text. A #Fields
// directive switches the field order for the lines after it, as in a log
// file; other directives are skipped.
func explainLog(text string, fields []string) ([]*Explanation, error) {
	var out []*Explanation
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "#Fields:"); ok {
			fields = strings.Fields(rest)
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		e, err := explainLogLine(line, fields)
		if err != nil {
			return nil, fmt.Errorf("explain log line %d: %w", n+1, err)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("explain: %w: only directives, no request line", ErrLogLine)
	}
	return out, nil
}

func explainLogLine(line string, fields []string) (*Explanation, error) {
	values := strings.Fields(line)
	if len(values) != len(fields) {
		return nil, fmt.Errorf("%w: %d values for %d #Fields (%s); pass the log's own #Fields line with --fields or in the input",
			ErrLogLine, len(values), len(fields), strings.Join(fields, " "))
	}
	req := &LogRequest{Fields: make(map[string]string, len(fields))}
	for i, f := range fields {
		req.Fields[f] = decodeW3C(values[i])
	}
	status, err := intField(req.Fields, "sc-status", true)
	if err != nil {
		return nil, err
	}
	sub, err := intField(req.Fields, "sc-substatus", false)
	if err != nil {
		return nil, err
	}
	s := substatus.Sub{Status: status, Sub: sub}
	entry := substatus.Must(s)
	e := &Explanation{
		Input: line, Kind: KindLogLine, Request: req, Sub: subRef(s),
		Meaning:      entry.Heading(),
		ClientAdvice: entry.ClientAdvice,
		Causes:       entry.Causes,
		NextSteps:    entry.NextSteps,
	}
	if w := req.Fields["sc-win32-status"]; w != "" {
		logged, err := substatus.ParseCode(w)
		if err != nil {
			return nil, fmt.Errorf("%w: sc-win32-status %q: %v", ErrLogLine, w, err)
		}
		if logged != substatus.NoError {
			// The catalogue reads the logged pair: IIS's "403 7 5" is
			// SEC_E_NO_CREDENTIALS, and a code's own causes beat the
			// sub-status's.
			adv := substatus.ForLog(s, logged)
			e.Code = codeRef(adv.Code)
			if adv.Code != logged {
				e.Code.Logged = logged.Decimal()
			}
			if adv.Message != "" {
				e.Meaning = entry.Heading() + ". " + adv.Message
			}
			e.Causes, e.NextSteps = adv.Causes, adv.NextSteps
		}
	}
	return e, nil
}

func intField(f map[string]string, name string, required bool) (int, error) {
	v, ok := f[name]
	if !ok || v == "" {
		if required {
			return 0, fmt.Errorf("%w: no %s field", ErrLogLine, name)
		}
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q is not a number", ErrLogLine, name, v)
	}
	return n, nil
}

// decodeW3C undoes IIS field encoding: "-" is empty, '+' is a space, %XX a
// byte (certgate escapes control characters that way).
func decodeW3C(v string) string {
	if v == "-" {
		return ""
	}
	v = strings.ReplaceAll(v, "+", " ")
	if !strings.Contains(v, "%") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) {
			if n, err := strconv.ParseUint(v[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// sortedFields returns the field names of r in DefaultFields order first,
// then any others alphabetically, so that text output is stable.
func (r *LogRequest) sortedFields() []string {
	rank := make(map[string]int, len(DefaultFields))
	for i, f := range DefaultFields {
		rank[f] = i
	}
	names := make([]string, 0, len(r.Fields))
	for f := range r.Fields {
		names = append(names, f)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, iok := rank[names[i]]
		rj, jok := rank[names[j]]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		}
		return names[i] < names[j]
	})
	return names
}

// explainProfileRule explains an RFC 5280 profile rule: what it requires,
// and what breaking it costs under each profile.
func explainProfileRule(input string, r substatus.ProfileRule) *Explanation {
	return &Explanation{
		Input: input, Kind: KindProfileRule,
		Sub:     subRef(substatus.CertUntrusted),
		Code:    codeRef(substatus.CertEMalformed),
		Meaning: fmt.Sprintf("RFC 5280 profile rule %s (%s): %s.", r.Name, r.Section, r.Rule),
		Causes: []string{
			"the CA that issued the certificate does not follow the RFC 5280 profile on this point",
			"with client_auth.profile: standard (the default) the certificate is accepted and the rule is named in the warnings of certgate verify and lint; with profile: strict it is refused with 403.16 CERT_E_MALFORMED",
		},
		NextSteps: []string{
			r.Fix,
			"until then, keep client_auth.profile: standard (certgate verify --profile standard) to accept such certificates with a warning",
		},
	}
}

package verify

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"

	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/revocation"
	"github.com/certgate/certgate/internal/substatus"
)

// Role is a certificate's place in a chain.
type Role int

const (
	RoleLeaf Role = iota
	RoleIntermediate
	RoleRoot // the trust anchor (self-signed or not)
)

func (r Role) String() string {
	switch r {
	case RoleLeaf:
		return "leaf"
	case RoleIntermediate:
		return "intermediate"
	case RoleRoot:
		return "root"
	}
	return "unknown"
}

// Element names one certificate of a chain: index 0 is the leaf, the last
// index the trust anchor. Intermediates are numbered from the leaf up
// ("intermediate 1" issued the leaf).
type Element struct {
	Index int
	Role  Role
	Cert  *x509.Certificate
}

// String renders `intermediate 1 "CN=Sub CA,O=Example"`.
func (e Element) String() string {
	name := "?"
	if e.Cert != nil {
		name = e.Cert.Subject.String()
		if name == "" {
			name = "(empty subject)"
		}
	}
	switch e.Role {
	case RoleIntermediate:
		return fmt.Sprintf("intermediate %d %q", e.Index, name)
	default:
		return fmt.Sprintf("%s %q", e.Role, name)
	}
}

// Outcome is the typed result of verifying a presented chain. The zero value
// is not meaningful: use Verifier.Verify.
type Outcome struct {
	// Sub is substatus.OK when the certificate is accepted.
	Sub  substatus.Sub
	Code substatus.Code
	// Element is the chain element that failed; nil on success or when no
	// single certificate is to blame (403.7).
	Element *Element
	// Reason is one sentence an operator can act on; it may name CAs and
	// files, so it is shown to remote clients only with detailed errors.
	Reason string
	// Chain is the chain the decision is about, leaf first, anchor last when
	// one was reached. On failure it is the most promising candidate.
	Chain []*x509.Certificate
	// Revocation holds the status of each checked element (same indexes as
	// Chain; the anchor's entry is NotChecked). Nil when the chain did not
	// verify far enough to check revocation.
	Revocation []revocation.Result
	// Warnings are non-fatal findings (revocation allowed while unavailable,
	// anchor not self-signed...). They are logged loudly by the gateway.
	Warnings []string
	// Err is the internal cause, for logs.
	Err error
}

// OK reports whether the certificate is accepted.
func (o *Outcome) OK() bool { return o.Sub == substatus.OK }

// Leaf returns the leaf certificate, or nil.
func (o *Outcome) Leaf() *x509.Certificate {
	if len(o.Chain) == 0 {
		return nil
	}
	return o.Chain[0]
}

// Error makes a rejected Outcome usable as an error:
// "403.16 CERT_E_UNTRUSTEDROOT (0x800B0109): leaf "CN=alice": ...".
func (o *Outcome) Error() string {
	var b strings.Builder
	b.WriteString(o.Sub.String())
	if o.Code != substatus.NoError {
		b.WriteString(" ")
		b.WriteString(o.Code.String())
	}
	b.WriteString(": ")
	if o.Element != nil {
		b.WriteString(o.Element.String())
		b.WriteString(": ")
	}
	b.WriteString(o.Reason)
	return b.String()
}

// Unwrap returns the internal cause.
func (o *Outcome) Unwrap() error { return o.Err }

// ErrorCode returns the Win32-style code (events.Outcome); NoError for a
// nil outcome.
func (o *Outcome) ErrorCode() substatus.Code {
	if o == nil {
		return substatus.NoError
	}
	return o.Code
}

// LogAttrs returns the attributes of the result for the event log
// (events.Outcome): sub-status, code (name, hex and decimal as in
// sc-win32-status), the failing chain element, the reason, the internal
// cause, the leaf and any warnings. None for a nil outcome.
func (o *Outcome) LogAttrs() []slog.Attr {
	if o == nil {
		return nil
	}
	a := []slog.Attr{
		slog.String("substatus", o.Sub.String()),
		slog.String("code", o.Code.Name()),
		slog.String("code_hex", o.Code.Hex()),
		slog.String("win32", o.Code.Decimal()),
		slog.String("reason", o.Reason),
	}
	if e := o.Element; e != nil {
		a = append(a, slog.Group("element",
			slog.Int("index", e.Index),
			slog.String("role", e.Role.String()),
			slog.String("name", e.String()),
		))
		if e.Cert != nil && e.Index != 0 {
			a = append(a, events.Cert("element_cert", e.Cert))
		}
	}
	if leaf := o.Leaf(); leaf != nil {
		a = append(a, events.Cert("cert", leaf))
	}
	if o.Err != nil {
		a = append(a, slog.String("err", o.Err.Error()))
	}
	if len(o.Warnings) > 0 {
		a = append(a, slog.Any("warnings", o.Warnings))
	}
	return a
}

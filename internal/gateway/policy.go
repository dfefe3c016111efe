package gateway

import (
	"errors"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/verify"
)

// decision is what a location's policy makes of a connection's certificate.
type decision struct {
	// Deny is the outcome to answer with (403.x); nil lets the request through.
	Deny *verify.Outcome
	// UseCert: the verified certificate identifies the client (and may be
	// mapped and forwarded). False means the request is anonymous.
	UseCert bool
	// Downgraded is the failed outcome of an invalid certificate on an
	// accept location: the request goes on anonymously and the failure is
	// recorded (IIS SslNegotiateCert behaviour: the certificate is not used).
	Downgraded *verify.Outcome
}

// decide applies a location policy to a connection's verification outcome.
// It is pure. outcome is nil for ignore locations (nothing is verified) and
// otherwise never nil: verify.NoCertificate() when the client sent none.
func decide(loc *Location, outcome *verify.Outcome) decision {
	switch loc.Policy {
	case config.ClientCertIgnore:
		// The certificate, if any, is neither checked nor forwarded.
		return decision{}
	case config.ClientCertAccept:
		switch {
		case outcome == nil:
			return decision{}
		case outcome.OK():
			return decision{UseCert: true}
		case noCertificate(outcome):
			return decision{}
		case loc.RejectInvalid:
			return decision{Deny: outcome}
		default:
			return decision{Downgraded: outcome}
		}
	default: // require, and any unknown policy: fail closed
		switch {
		case outcome == nil:
			return decision{Deny: verify.NoCertificate()}
		case outcome.OK():
			return decision{UseCert: true}
		default:
			return decision{Deny: outcome}
		}
	}
}

// noCertificate reports whether an outcome says the client sent no
// certificate (403.7), as opposed to sending a bad one.
func noCertificate(o *verify.Outcome) bool {
	return errors.Is(o.Err, verify.ErrNoCertificate)
}

package gateway

import (
	"errors"

	"github.com/certgate/certgate/internal/site"
)

// Sentinels; match with errors.Is.
var (
	// ErrNoSites: the config has no site to serve (site.ErrNoSites).
	ErrNoSites = site.ErrNoSites
	// ErrNoConnState: a request arrived on a connection the gateway did not
	// accept itself (a bug); it is answered with 500, never let through.
	ErrNoConnState = errors.New("request on a connection without gateway state")
	// ErrBadTicketKey: a session_tickets.keys file is not 48 or 80 bytes.
	ErrBadTicketKey = errors.New("bad session ticket key file")
)
